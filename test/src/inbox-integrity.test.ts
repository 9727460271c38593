import { readFileSync } from "node:fs";
import { createBroker, type RunningBroker } from "@consort/broker";
import { topics } from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentUnderTest, oneActivityAssign, type Started } from "./processes.js";

// A real agent process against a real broker: what reaches its inbox without being its command
// (a copy of another agent's assign, a retained replay) is neither journalled nor acted on.
let broker: RunningBroker;
let agent: Started;
let coordinator: MqttTransport;
let journal: string;
const site = "s";

const assign = (seq: number, to?: string) =>
  makeMessage("assign", "coordinator", oneActivityAssign, {
    seq,
    at: Date.now(),
    epoch: 1,
    ...(to !== undefined ? { to } : {}),
  });

beforeAll(async () => {
  broker = await createBroker({ host: "127.0.0.1", port: 0, site, anonymous: true, users: [] });
  ({ agent, coordinator, journal } = await agentUnderTest({
    broker: broker.url,
    site,
    settings: { connectRetrySeconds: 60 },
    // A retained assign waits on the inbox before the agent subscribes: the broker replays it.
    before: (c) => c.publish(topics.agentIn(site, "m1"), assign(50, "m1"), { retain: true }),
  }));
});
afterAll(async () => {
  if (agent.alive()) agent.child.kill("SIGKILL");
  await coordinator.close().catch(() => {});
  await broker.close().catch(() => {});
});

const records = () =>
  readFileSync(journal, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { t: string; id?: string });
const commands = () => records().filter((r) => r.t === "command");

describe("the agent's inbox", () => {
  it("does not act on a retained replay or on a command addressed to another agent", async () => {
    await coordinator.publish(topics.agentIn(site, "m1"), assign(51, "m2"));
    await new Promise((r) => setTimeout(r, 800));
    expect(commands()).toHaveLength(0);
    expect(agent.child.exitCode).toBeNull();
  });

  it("still acts on its own command", async () => {
    const proposed = new Promise<void>((resolve) =>
      coordinator.onMessage((m) => m.type === "propose" && resolve()),
    );
    await coordinator.publish(topics.agentIn(site, "m1"), assign(52, "m1"));
    await proposed;
    expect(commands().map((c) => c.id)).toEqual(["coordinator:1:52"]);
  });

  it("stops on SIGTERM within 2 s while its broker is unreachable, its journal intact", async () => {
    await coordinator.publishRaw(topics.agentIn(site, "m1"), Buffer.alloc(0), { retain: true });
    await coordinator.close();
    await broker.close();
    await new Promise((r) => setTimeout(r, 300));
    const before = Date.now();
    agent.child.kill("SIGTERM");
    const code = await Promise.race([
      agent.exited,
      new Promise<"alive">((r) => setTimeout(() => r("alive"), 5000)),
    ]);
    expect(code).toBe(0);
    expect(Date.now() - before).toBeLessThan(2500);
    expect(commands().map((c) => c.id)).toEqual(["coordinator:1:52"]);
  });
});
