import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { session as sessionOn, startAedes } from "./test-support/session.js";

let broker: Awaited<ReturnType<typeof startAedes>>;
const dir = mkdtempSync(join(tmpdir(), "consort-escalation-"));

beforeAll(async () => {
  broker = await startAedes();
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent session on a journal file: its own transport, clock and made-up device. */
const session = (journalPath: string) => sessionOn(broker.url, journalPath);

/** The escalations in a journal: `failure` messages in the outbox. */
const escalations = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l))
    .filter((r) => r.t === "out" && r.message.type === "failure")
    .map((r) => r.message.body);

describe("a device that fails the same activity again and again", () => {
  it("is retried twice, then escalated to the coordinator as a breakdown, once", async () => {
    const path = join(dir, "live.journal");
    const s = await session(path);
    s.resource.fail("A1", "device-fault: 1");
    s.resource.fail("A1", "device-disconnected: gone");
    s.resource.fail("B1", "device-fault: 9"); // another activity counts on its own
    await s.agent.flush();
    expect(escalations(path)).toEqual([]);
    s.resource.fail("A1", "device-timeout: 3 heartbeats unanswered");
    await s.agent.flush();
    expect(escalations(path)).toEqual([
      {
        cause: "breakdown",
        activityIds: ["A1"],
        fromTicks: 0,
        untilTicks: 1,
        scheduleVersion: 0,
        detail: "3 runs failed in a row, the last: device-timeout: 3 heartbeats unanswered",
      },
    ]);
    // A fresh bound after the escalation.
    s.resource.fail("A1", "device-fault: 1");
    await s.agent.flush();
    expect(escalations(path)).toHaveLength(1);
    await s.close();
  });

  it("counts the failures its journal holds across a restart", async () => {
    const path = join(dir, "restart.journal");
    const first = await session(path);
    first.resource.fail("A1", "device-fault: 1");
    first.resource.fail("A1", "device-fault: 2");
    await first.agent.flush();
    await first.close();
    const second = await session(path);
    expect(escalations(path)).toEqual([]);
    second.resource.fail("A1", "device-fault: 3");
    await second.agent.flush();
    expect(escalations(path).map((b) => b.detail)).toEqual([
      "3 runs failed in a row, the last: device-fault: 3",
    ]);
    await second.close();
  });
});
