import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBroker, type RunningBroker } from "@consort/broker";
import { Coordinator, type CoordinatorEvent } from "@consort/coordinator";
import { parseScenario, type TaskModel } from "@consort/core";
import { type AnyMessage, type Body, type MessageType, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, stopAll } from "./processes.js";

// On the wall clock every answer the coordinator waits on has a timeout and a next step: a
// negotiation goes on without a proposal that does not come, an install nobody accepts is sent
// again, and an agent back online gets again the completions it was waiting on. The coordinator
// runs in this process against a real broker; the agents are plain MQTT clients that answer, or
// do not, as each test needs.
const SITE = "timeouts";
const REPLY_TIMEOUT_MS = 400;
let broker: RunningBroker;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  broker = await createBroker({ host: "127.0.0.1", port: 0, site: SITE, anonymous: true });
});
const dir = mkdtempSync(join(tmpdir(), "consort-chaos-timeouts-"));
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await broker.close();
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function model(yaml: string): TaskModel {
  const parsed = parseScenario(yaml, "cell.yaml");
  if (!parsed.ok) throw new Error(parsed.error.map((e) => e.message).join("; "));
  return parsed.value.model;
}

const until = async (what: string, condition: () => boolean, ms = 5000) => {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

interface FakeAgent {
  readonly got: AnyMessage[];
  descriptor(status: "online" | "offline"): Promise<void>;
  close(): Promise<void>;
}

/**
 * An agent reduced to its answers: proposes each assignment at the start of its window (if
 * `propose`), and accepts the n-th install it receives when `accept(n)` says so.
 */
async function fakeAgent(
  id: string,
  behaviour: { propose: boolean; accept: (n: number) => boolean },
  got: AnyMessage[] = [],
  firstSeq = 0,
): Promise<FakeAgent> {
  const t = await MqttTransport.connect({ url: broker.url, clientId: id, username: id });
  let seq = firstSeq;
  let installs = 0;
  const send = <T extends MessageType>(topic: string, type: T, body: Body<T>, retain = false) =>
    t.publish(topic, makeMessage(type, id, body, { seq: seq++, at: Date.now() }) as AnyMessage, {
      retain,
    });
  t.onMessage((m) => {
    got.push(m);
    if (m.type === "assign" && behaviour.propose)
      void send(topics.agentOut(SITE, id), "propose", {
        scheduleVersion: m.body.scheduleVersion,
        slots: m.body.slots.map((s) => ({
          activityId: s.activityId,
          startTicks: s.window?.earliestTicks ?? s.startTicks ?? 0,
          durationTicks: s.durationTicks ?? 0,
        })),
      });
    if (m.type === "install" && behaviour.accept(++installs))
      void send(topics.agentOut(SITE, id), "accept", {
        ref: m.id,
        scheduleVersion: m.body.scheduleVersion,
      });
  });
  await t.subscribe(topics.agentIn(SITE, id));
  return {
    got,
    descriptor: async (status) => {
      await send(
        topics.agentState(SITE, id),
        "descriptor",
        { agentId: id, resourceId: id, status, epoch: 1, software: "test" },
        true,
      );
    },
    close: () => t.close(),
  };
}

let coordinators = 0;

async function startCoordinator(m: TaskModel, extra: { agentLeaseMs?: number } = {}) {
  const transport = await MqttTransport.connect({
    url: broker.url,
    // A client id of its own: the previous test's coordinator may still be leaving.
    clientId: `coordinator@${++coordinators}`,
    username: "coordinator",
  });
  const lines: string[] = [];
  const events: CoordinatorEvent[] = [];
  const coordinator = new Coordinator(
    m,
    transport,
    {
      site: SITE,
      coordinatorId: "coordinator",
      objective: "makespan",
      seed: 1,
      repairIterations: 50,
      lockstep: false,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      notify: (line) => lines.push(line),
      ...extra,
    },
    pino({ level: process.env.DEBUG_COORD ? "debug" : "silent" }, pino.destination(2)),
  );
  coordinator.onEvent((e) => events.push(e));
  await coordinator.start();
  closers.push(async () => {
    coordinator.stopLease();
    await transport.close();
  });
  return { coordinator, lines, events };
}

const installs = (agent: FakeAgent) =>
  agent.got.filter((m): m is Extract<AnyMessage, { type: "install" }> => m.type === "install");

describe("chaos: every wait of the coordinator has a timeout and a next step", () => {
  it("a negotiation goes on without a proposal that never comes", async () => {
    const m1 = await fakeAgent("m1", { propose: true, accept: () => true });
    const m2 = await fakeAgent("m2", { propose: false, accept: () => true });
    closers.push(m1.close, m2.close);
    const { coordinator, lines } = await startCoordinator(
      model(
        [
          "name: cell",
          "resources: [{ id: m1 }, { id: m2 }]",
          "jobs:",
          "  - { id: a, operations: [{ resource: m1, duration: 3 }] }",
          "  - { id: b, operations: [{ resource: m2, duration: 3 }] }",
          "",
        ].join("\n"),
      ),
    );
    const planned = Date.now();
    coordinator.plan();
    await until("an install on the silent agent", () => installs(m2).length > 0).catch((e) => {
      throw new Error(
        `${e.message}: ${lines.join(" | ")}; m1 got ${m1.got.map((m) => m.type)}, m2 got ${m2.got.map((m) => m.type)}`,
      );
    });
    const waited = Date.now() - planned;
    console.log(`silent agent: installed after ${waited} ms; ${lines.join(" | ")}`);
    expect(waited).toBeGreaterThanOrEqual(REPLY_TIMEOUT_MS - 50);
    expect(lines.join("\n")).toMatch(/no proposal from m2 within 400 ms: negotiating without it/);
    expect(installs(m1)).toHaveLength(1);
    expect(installs(m2)[0]!.body.slots.map((s) => s.activityId)).toEqual(["b.o0"]);
  });

  it("an install nobody accepts is sent again, and the repair completes once it is accepted", async () => {
    const m3 = await fakeAgent("m3", { propose: true, accept: () => true });
    // m4's first accept is lost: it accepts only the second install it receives.
    const m4 = await fakeAgent("m4", { propose: true, accept: (n) => n >= 2 });
    closers.push(m3.close, m4.close);
    const { coordinator, events } = await startCoordinator(
      model(
        [
          "name: cell",
          "resources: [{ id: m3 }, { id: m4 }]",
          "jobs:",
          "  - { id: a, operations: [{ resource: m3, duration: 3 }, { resource: m4, duration: 3 }] }",
          "",
        ].join("\n"),
      ),
    );
    coordinator.plan();
    await until("the repair to complete", () => events.some((e) => e.kind === "repaired"));
    const sent = installs(m4);
    const version = sent[0]!.body.scheduleVersion;
    console.log(
      `install v${version}: ${sent.length} sends to the agent whose accept was lost, ${sent[1]!.at - sent[0]!.at} ms apart`,
    );
    expect(sent.length).toBe(2);
    expect(sent[1]!.body).toEqual(sent[0]!.body);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(REPLY_TIMEOUT_MS - 50);
    expect(installs(m3)).toHaveLength(1);
  });

  it("an agent back online gets again the completions it waits on (a forward lost meanwhile)", async () => {
    const m5 = await fakeAgent("m5", { propose: true, accept: () => true });
    let m6 = await fakeAgent("m6", { propose: true, accept: () => true });
    closers.push(m5.close, () => m6.close());
    await m5.descriptor("online");
    await m6.descriptor("online");
    const { coordinator, events } = await startCoordinator(
      model(
        [
          "name: cell",
          "resources: [{ id: m5 }, { id: m6 }]",
          "jobs:",
          "  - { id: a, operations: [{ resource: m5, duration: 3 }, { resource: m6, duration: 3 }] }",
          "",
        ].join("\n"),
      ),
      { agentLeaseMs: 60_000 },
    );
    coordinator.plan();
    await until("the plan", () => events.some((e) => e.kind === "repaired"));
    // m6 goes away (clean session: what is sent to it meanwhile is lost), m5 completes a.o0.
    await m6.descriptor("offline");
    await m6.close();
    const out = await MqttTransport.connect({ url: broker.url, clientId: "m5@x", username: "m5" });
    closers.push(() => out.close());
    await out.publish(
      topics.agentOut(SITE, "m5"),
      makeMessage(
        "inform",
        "m5",
        {
          event: "completed",
          activityId: "a.o0",
          atTicks: 3,
          startTicks: 0,
          quality: 1,
          scheduleVersion: installs(m5)[0]!.body.scheduleVersion,
        },
        { seq: 100, at: Date.now() },
      ) as AnyMessage,
    );
    await until("the completion recorded", () => coordinator.record.executed.has("a.o0"));
    // Back, in a new connection: it says online and gets the schedule in force and a.o0's news.
    const got: AnyMessage[] = [];
    m6 = await fakeAgent("m6", { propose: true, accept: () => true }, got, 100);
    await m6.descriptor("online");
    await until("the schedule in force and the enabler's completion", () =>
      got.some((m) => m.type === "inform" && m.body.activityId === "a.o0"),
    );
    console.log(`back online, m6 got: ${got.map((m) => m.type).join(", ")}`);
    expect(got.some((m) => m.type === "install")).toBe(true);
  });
});

describe("chaos: stopping while the broker does not answer", () => {
  it("a frozen broker (SIGSTOP) does not hold up SIGTERM of the coordinator or an agent", async () => {
    writeFileSync(
      join(dir, "cell.yaml"),
      "name: cell\nresources: [{ id: m1 }]\njobs:\n  - { id: a, operations: [{ resource: m1, duration: 100 }] }\n",
    );
    const b = start(["broker", "--port", "0", "--site", "cell", "--anonymous"]);
    await until("the broker", () => /mqtt:\/\/127\.0\.0\.1:\d+/.test(b.output()), 15_000);
    const url = /(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(b.output())![1]!;
    const epochMs = Date.now() + 2000;
    writeFileSync(
      join(dir, "m1.yaml"),
      [
        "agentId: m1",
        "site: cell",
        `broker: ${url}`,
        `journal: ${join(dir, "m1.journal")}`,
        "clock: wall",
        `epochMs: ${epochMs}`,
        "tickMs: 100",
        "logLevel: warn",
        "simulation: { trialKey: 7, disruptions: [] }",
        "",
      ].join("\n"),
    );
    const agent = start(["agent", "--config", join(dir, "m1.yaml")]);
    await until("the agent online", () => /online at/.test(agent.output()), 15_000);
    const coordinator = start([
      "coordinator",
      ...["--scenario", join(dir, "cell.yaml"), "--broker", url, "--site", "cell"],
      ...["--epoch-ms", String(epochMs), "--tick-ms", "100", "--wait-agents", "20"],
      ...["--journal", join(dir, "coordinator.journal")],
    ]);
    await until(
      "the plan installed",
      () => /schedule installed on every affected agent/.test(coordinator.output()),
      20_000,
    );
    b.child.kill("SIGSTOP");
    for (const [name, p] of [
      ["coordinator", coordinator],
      ["agent", agent],
    ] as const) {
      const stopping = Date.now();
      p.child.kill("SIGTERM");
      const code = await Promise.race([
        p.exited,
        new Promise<"hung">((r) => setTimeout(() => r("hung"), 8000)),
      ]);
      console.log(`${name}: exit ${code} ${Date.now() - stopping} ms after SIGTERM, broker frozen`);
      expect(code, p.output()).toBe(0);
    }
    expect(agent.output()).toMatch(/did not acknowledge the offline descriptor within 1500 ms/);
    b.child.kill("SIGCONT");
    b.child.kill("SIGTERM");
  }, 60_000);
});

describe("chaos: an agent holding its work after a spell out of contact", () => {
  it("says online again each lease until the coordinator's install comes, then resumes", async () => {
    const LEASE_MS = 1000;
    const b = start(["broker", "--port", "0", "--site", "hold", "--anonymous"]);
    await until("the broker", () => /mqtt:\/\/127\.0\.0\.1:\d+/.test(b.output()), 15_000);
    const url = /(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(b.output())![1]!;
    writeFileSync(
      join(dir, "h1.yaml"),
      [
        "agentId: h1",
        "site: hold",
        `broker: ${url}`,
        `journal: ${join(dir, "h1.journal")}`,
        "clock: wall",
        `epochMs: ${Date.now()}`,
        "tickMs: 100",
        `leaseMs: ${LEASE_MS}`,
        "logLevel: warn",
        "simulation: { trialKey: 7, disruptions: [] }",
        "",
      ].join("\n"),
    );
    const watcher = await MqttTransport.connect({
      url,
      clientId: "coordinator@watch",
      username: "coordinator",
    });
    closers.push(() => watcher.close());
    const online: number[] = [];
    watcher.onMessage((m, _topic, _bytes, retained) => {
      if (!retained && m.type === "descriptor" && m.body.status === "online")
        online.push(Date.now());
    });
    await watcher.subscribe(topics.agentState("hold", "h1"));
    const agent = start(["agent", "--config", join(dir, "h1.yaml")]);
    await until("the agent online", () => /online at/.test(agent.output()), 15_000);
    // Out of contact past its lease (frozen), then back: no coordinator answers.
    agent.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    agent.child.kill("SIGCONT");
    await until("it holds", () => /holding unstarted work/.test(agent.output()), 5000);
    const back = online.length;
    await new Promise((r) => setTimeout(r, 3.5 * LEASE_MS));
    const repeats = online.length - back;
    console.log(`holding, no coordinator: ${repeats} online announcements in ${3.5 * LEASE_MS} ms`);
    expect(repeats).toBeGreaterThanOrEqual(3);
    // The coordinator's install ends the hold: the announcements stop.
    await watcher.publish(
      topics.agentIn("hold", "h1"),
      makeMessage(
        "install",
        "coordinator",
        { scheduleVersion: 1, slots: [] },
        { seq: 0, epoch: 1, at: Date.now(), to: "h1" },
      ) as AnyMessage,
    );
    await new Promise((r) => setTimeout(r, 500));
    const settled = online.length;
    await new Promise((r) => setTimeout(r, 2.5 * LEASE_MS));
    expect(online.length).toBe(settled);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    b.child.kill("SIGTERM");
  }, 60_000);
});
