import { readFileSync } from "node:fs";
import { createBroker, type RunningBroker } from "@consort/broker";
import { topics } from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import fc from "fast-check";
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentUnderTest, oneActivityAssign, type Started } from "./processes.js";

// A real agent process against a real broker; a coordinator-role client throws garbage at every
// topic it may publish on. Nothing may crash, and nothing may change the agent's state.
let broker: RunningBroker;
let agent: Started;
let coordinator: MqttTransport;
let journal: string;
const site = "s";

beforeAll(async () => {
  // The broker lets 1 MiB through, so the agent's own 256 KiB limit is what refuses the large one.
  broker = await createBroker({
    host: "127.0.0.1",
    port: 0,
    site,
    anonymous: true,
    users: [],
    maxPacketBytes: 1024 * 1024,
  });
  ({ agent, coordinator, journal } = await agentUnderTest({ broker: broker.url, site }));
});
afterAll(async () => {
  agent.child.kill("SIGTERM");
  await coordinator.close();
  await broker.close();
});

const commands = () =>
  readFileSync(journal, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.t === "command").length;

describe("random and malformed payloads on every topic", () => {
  it("crash nothing and change nothing", async () => {
    const targets = [
      topics.agentIn(site, "m1"),
      topics.clock(site),
      topics.coordinatorState(site),
      topics.plans(site),
    ];
    const envelope = {
      v: 1,
      id: "coordinator:9",
      type: "assign",
      from: "coordinator",
      seq: 9,
      at: 0,
    };
    const malformed: Buffer[] = [
      ...fc
        .sample(fc.uint8Array({ maxLength: 300 }), { numRuns: 150, seed: 7 })
        .map((b) => Buffer.from(b)),
      Buffer.alloc(0),
      Buffer.from([0x92, 0x01]),
      pack({ ...envelope, body: { scheduleVersion: "one" } }),
      pack({ ...envelope, type: "detonate", body: {} }),
      pack({ ...envelope, v: 9 }),
      pack({ ...envelope, body: { scheduleVersion: 1, view: { agentId: "m1" }, slots: [] } }),
      pack({ ...envelope, type: "clock", body: { nowTicks: -1e18, step: -3 } }),
      pack(JSON.parse(`{"__proto__": {"polluted": true}, "v": 1}`)),
      pack(Array.from({ length: 40 }).reduce<unknown>((inner) => [inner], 0)),
      pack({ ...envelope, body: { blob: "x".repeat(300_000) } }),
    ];
    for (const topic of targets)
      for (const payload of malformed) await coordinator.publishRaw(topic, payload);
    await new Promise((r) => setTimeout(r, 1000));
    expect(agent.child.exitCode).toBeNull();
    expect(agent.stderr()).not.toMatch(/Error|at /);
    expect(commands()).toBe(0);
  });

  it("and a valid command afterwards still works", async () => {
    const proposed = new Promise<string>((resolve) =>
      coordinator.onMessage((m) => m.type === "propose" && resolve(JSON.stringify(m.body.slots))),
    );
    const assign = makeMessage("assign", "coordinator", oneActivityAssign, {
      seq: 100,
      at: Date.now(),
    });
    await coordinator.publish(topics.agentIn(site, "m1"), assign);
    expect(await proposed).toBe(
      JSON.stringify([{ activityId: "a1", startTicks: 2, durationTicks: 3 }]),
    );
    expect(commands()).toBe(1);
  });
});
