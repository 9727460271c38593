import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyMessage, type Body, type MessageType, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CampsSnapshot } from "../journal.js";
import type { SchedulerAgent } from "./agent.js";
import { session, startAedes } from "./test-support/session.js";

// A long-lived agent's journal is compacted into one snapshot record; restarted from it, the agent
// is in the state a replay of every record would have given it.

let broker: Awaited<ReturnType<typeof startAedes>>;
const dir = mkdtempSync(join(tmpdir(), "consort-compaction-"));

beforeAll(async () => {
  broker = await startAedes();
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The agent's journalled state, as a compaction would write it. */
const stateOf = (agent: SchedulerAgent): CampsSnapshot =>
  (agent as unknown as { journalSnapshot(): CampsSnapshot }).journalSnapshot();

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { t: string; id?: string });

async function until(check: () => boolean): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 5000) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const activity = (id: string) => ({
  kind: "activity" as const,
  id,
  resources: ["m1"],
  duration: [{ value: 2, probability: 1 }],
  quality: [{ value: 1, probability: 1 }],
});

describe("the CAMPS agent's journal compaction", () => {
  it("restores the same state as the whole journal, and a crash mid-compaction loses nothing", async () => {
    const journal = join(dir, "m1.journal");
    const whole = join(dir, "m1.whole.journal");
    const coordinator = await MqttTransport.connect({
      url: broker.url,
      clientId: "coordinator",
      username: "coordinator",
    });
    let seq = 0;
    const a = await session(
      broker.url,
      journal,
      { sync: false, compaction: { records: 6, bytes: 1 << 20 } },
      whole,
    );
    /** A command to m1, once it is on the (uncompacted) journal. */
    const command = async <T extends MessageType>(type: T, body: Body<T>) => {
      const message = makeMessage(type, "coordinator", body, { seq: seq++, at: 0, epoch: 1 });
      await coordinator.publish(topics.agentIn("plant", "m1"), message as AnyMessage);
      await until(() => lines(whole).some((r) => r.t === "command" && r.id === message.id));
      await a.agent.flush();
    };
    await command("assign", {
      scheduleVersion: 1,
      view: {
        agentId: "m1",
        root: "root",
        own: ["a1", "a2", "a3"],
        nodes: [
          { kind: "task", id: "root", qaf: "sum", children: ["a1", "a2", "a3"] },
          activity("a1"),
          activity("a2"),
          activity("a3"),
        ],
        links: [],
      },
      slots: ["a1", "a2", "a3"].map((activityId, i) => ({
        activityId,
        window: { earliestTicks: 4 * i, latestTicks: 4 * i + 10 },
        durationTicks: 2,
      })),
    });
    await command("install", {
      scheduleVersion: 1,
      slots: ["a1", "a2", "a3"].map((activityId, i) => ({
        activityId,
        startTicks: 4 * i,
        durationTicks: 2,
      })),
    });
    a.resource.complete("a1", 2);
    a.resource.fail("a2", "device-fault: 4");
    await a.agent.flush();
    await command("inform", {
      event: "completed",
      activityId: "z9",
      atTicks: 1,
      scheduleVersion: 1,
    });
    await command("cfp", {
      callId: "c1",
      activity: { ...activity("b1"), resources: ["m1", "m2"] },
      window: { earliestTicks: 0, latestTicks: 10 },
      durationTicks: 2,
      weight: 1,
      deadline: 5,
      scheduleVersion: 1,
    });
    await command("award", {
      callId: "c1",
      activityId: "b1",
      startTicks: 3,
      durationTicks: 2,
      leaseTicks: 5,
      scheduleVersion: 1,
    });
    await new Promise((r) => setImmediate(r));
    expect(a.journal.compactions).toBeGreaterThanOrEqual(2);
    const live = stateOf(a.agent);
    // What was done is all there: the sequence with b1 taken on, a1 done, a2's failure counted.
    expect(live.slots.map((s) => s.activityId).sort()).toEqual(["a1", "a2", "a3", "b1"]);
    expect(live.finished.map(([id]) => id)).toEqual(["a1"]);
    expect(live.failures).toEqual([["a2", 1]]);
    expect(live.remoteDone).toEqual(["z9"]);
    expect(live.calls.map(([id]) => id)).toEqual(["c1"]);
    await a.close();
    await coordinator.close();

    const compacted = lines(journal);
    expect(compacted[0]?.t).toBe("snapshot");
    expect(compacted.filter((r) => r.t === "snapshot")).toHaveLength(1);
    expect(compacted.length).toBeLessThan(lines(whole).length / 3);

    // A crash in the middle of the next compaction: its temp file half written, not renamed.
    const crashed = join(dir, "crashed.journal");
    copyFileSync(journal, crashed);
    writeFileSync(`${crashed}.next`, readFileSync(journal, "utf8").slice(0, 200));

    const restored = async (path: string) => {
      const s = await session(broker.url, path);
      await s.agent.flush();
      const state = stateOf(s.agent);
      await s.close();
      return state;
    };
    const fromCompacted = await restored(journal);
    const fromWhole = await restored(whole);
    const fromCrashed = await restored(crashed);
    expect(fromCompacted).toEqual(fromWhole);
    expect(fromCrashed).toEqual(fromWhole);
    // And it is the state the agent had (one session later: its epoch, its online descriptor).
    expect({ ...fromCompacted, epoch: live.epoch, seq: live.seq, outbox: live.outbox }).toEqual(
      live,
    );
    expect(fromCompacted.epoch).toBe(live.epoch + 1);
  });
});
