import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBroker, type RunningBroker } from "@consort/broker";
import { agentProgram } from "@consort/hardware/harness";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oneActivityAssign } from "./processes.js";

// A real agent process against a real broker: what reaches its inbox without being its command
// (a copy of another agent's assign, a retained replay) is neither journalled nor acted on.
let broker: RunningBroker;
let agent: ChildProcess;
let coordinator: MqttTransport;
let journal: string;
let agentExit: Promise<number | null>;
const site = "s";
const stderr: string[] = [];

const assign = (seq: number, to?: string) =>
  makeMessage("assign", "coordinator", oneActivityAssign, {
    seq,
    at: Date.now(),
    epoch: 1,
    ...(to !== undefined ? { to } : {}),
  });

beforeAll(async () => {
  broker = await createBroker({ host: "127.0.0.1", port: 0, site, anonymous: true, users: [] });
  const dir = mkdtempSync(join(tmpdir(), "consort-inbox-"));
  journal = join(dir, "m1.journal");
  const settings = join(dir, "m1.json");
  writeFileSync(
    settings,
    JSON.stringify({
      agentId: "m1",
      site,
      broker: broker.url,
      journal,
      journalSync: false,
      clock: "lockstep",
      logLevel: "warn",
      connectRetrySeconds: 60,
      simulation: { trialKey: 1, disruptions: [] },
    }),
  );
  coordinator = await MqttTransport.connect({
    url: broker.url,
    clientId: "coordinator",
    username: "coordinator",
  });
  // A retained assign waits on the inbox before the agent subscribes: the broker replays it.
  await coordinator.publish(topics.agentIn(site, "m1"), assign(50, "m1"), { retain: true });
  const online = new Promise<void>((resolve) =>
    coordinator.onMessage(
      (m) => m.type === "descriptor" && m.body.status === "online" && resolve(),
    ),
  );
  await coordinator.subscribe(topics.filters.allAgentStates(site));
  await coordinator.subscribe(topics.filters.allAgentOut(site));
  agent = spawn(process.execPath, [agentProgram(), "--config", settings], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  agent.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()));
  agentExit = new Promise((resolve) => agent.once("exit", (code) => resolve(code)));
  await online;
});
afterAll(async () => {
  if (agent.exitCode === null) agent.kill("SIGKILL");
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
    expect(agent.exitCode).toBeNull();
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
    agent.kill("SIGTERM");
    const code = await Promise.race([
      agentExit,
      new Promise<"alive">((r) => setTimeout(() => r("alive"), 5000)),
    ]);
    expect(code).toBe(0);
    expect(Date.now() - before).toBeLessThan(2500);
    expect(commands().map((c) => c.id)).toEqual(["coordinator:1:52"]);
  });
});
