import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EnvironmentEvent, SimulatedClock } from "@consort/core/agent";
import { MqttTransport } from "@consort/protocol/mqtt";
import { Aedes } from "aedes";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Journal } from "../journal.js";
import { SchedulerAgent } from "./agent.js";

let aedes: Aedes;
let server: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), "consort-escalation-"));

beforeAll(async () => {
  aedes = await Aedes.createBroker();
  server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A resource whose device news the test makes up: only `failed` events here. */
function device() {
  const listeners = new Set<(e: EnvironmentEvent) => void>();
  return {
    subscribe(l: (e: EnvironmentEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start() {},
    resume() {},
    abort() {},
    learn() {},
    realizedDuration: () => undefined,
    brokenAt: () => undefined,
    fail(activityId: string, reason: string) {
      for (const l of listeners)
        l({ kind: "failed", activityId, resourceId: "m1", atTicks: 0, reason });
    },
  };
}

/** An agent session on a journal file: its own transport, clock and made-up device. */
async function session(journalPath: string) {
  const transport = await MqttTransport.connect({ url, clientId: "m1", username: "m1" });
  const journal = Journal.open(journalPath, { sync: false });
  const resource = device();
  const agent = new SchedulerAgent(
    { agentId: "m1", site: "plant", resourceId: "m1" },
    {
      transport,
      journal,
      clock: new SimulatedClock(0),
      resource,
      logger: pino({ level: "silent" }),
    },
    "greedy",
  );
  await agent.start();
  return {
    resource,
    agent,
    close: async () => {
      await agent.stop();
      await transport.close();
      journal.close();
    },
  };
}

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
