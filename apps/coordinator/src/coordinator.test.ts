import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TaskModel } from "@consort/core";
import { type AnyMessage, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Coordinator } from "./coordinator.js";
import { compactJournal, FileJournal, MemoryJournal, nextEpoch } from "./journal.js";
import { useLoopbackBroker } from "./test-support/loopback-broker.js";

// A real aedes broker on an ephemeral loopback port; the operator is a plain MQTT client.
const mqtt = useLoopbackBroker();

const until = async (condition: () => boolean, ms = 3000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m1" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0"] },
    {
      kind: "activity",
      id: "a.o0",
      resources: ["m1"],
      duration: [{ value: 2, probability: 1 }],
      quality: [{ value: 1, probability: 1 }],
    },
  ],
  links: [],
};
const logger = pino({ level: "silent" });
const options = {
  site: "s",
  coordinatorId: "coordinator",
  objective: "twt" as const,
  seed: 1,
  repairIterations: 50,
  lockstep: false,
};

describe("the coordinator's order intake and journal", () => {
  it("answers a JSON order on the sender's replies topic, journals it first, and resumes it in a new epoch", async () => {
    const journal = new MemoryJournal();
    const first = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator" });
    const coordinator = new Coordinator(model, first, { ...options, journal }, logger);
    await coordinator.start();
    expect(coordinator.sessionEpoch).toBe(1);

    const operator = await MqttTransport.connect({ url: mqtt.url, clientId: "ops@1" });
    const replies: AnyMessage[] = [];
    operator.onMessage((m) => replies.push(m));
    await operator.subscribe(topics.orderReplies("s", "ops"));
    await operator.subscribe(topics.coordinatorState("s"));
    const order = (orderId: string, jobId: string, resource: string, seq: number) =>
      JSON.stringify({
        v: 1,
        id: `ops:${seq}`,
        type: "order",
        from: "ops",
        seq,
        at: 0,
        body: {
          orderId,
          jobs: [{ id: jobId, operations: [{ resources: [resource], durationTicks: 3 }] }],
        },
      });
    // As `mosquitto_pub -m '{...}'` would send it: JSON, not MessagePack.
    await operator.publishRaw(topics.orders("s"), Buffer.from(order("o1", "rush", "m1", 0)));
    await operator.publishRaw(topics.orders("s"), Buffer.from(order("o2", "bad", "m7", 1)));
    await until(() => replies.filter((m) => m.type === "order-reply").length >= 2);
    const answers = replies.flatMap((m) =>
      m.type === "order-reply" ? [{ corr: m.corr, ...m.body }] : [],
    );
    expect(answers).toEqual([
      { corr: "ops:0", orderId: "o1", accepted: true, jobs: 1 },
      {
        corr: "ops:1",
        orderId: "o2",
        accepted: false,
        reason: 'jobs[0].operations[0].resources: "m7" is not a resource of this site (m1)',
      },
    ]);
    expect(journal.records.map((r) => r.t)).toEqual(["epoch", "order"]);
    expect(coordinator.currentModel.nodes.map((n) => n.id)).toContain("rush.o0");
    expect(coordinator.record.refusedOrders).toHaveLength(1);
    await first.drop();

    // Started again on the same journal: the accepted order is in its model, in epoch 2.
    const second = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator" });
    const again = new Coordinator(model, second, { ...options, journal }, logger);
    await again.start();
    expect(again.sessionEpoch).toBe(2);
    expect(again.resumed).toEqual({ orders: 1, installed: false, done: 0 });
    expect(again.currentModel.nodes.map((n) => n.id)).toContain("rush.o0");
    await until(() =>
      replies.some(
        (m) => m.type === "coordinator-state" && m.body.epoch === 2 && m.id === "coordinator:2:0",
      ),
    );
    // The same order again: the same answer, nothing added.
    await operator.publishRaw(topics.orders("s"), Buffer.from(order("o1", "rush", "m1", 2)));
    await until(() => replies.filter((m) => m.type === "order-reply").length >= 3);
    expect(replies.at(-1)).toMatchObject({
      from: "coordinator",
      epoch: 2,
      body: { accepted: true, reason: "already accepted" },
    });
    expect(journal.records.filter((r) => r.t === "order")).toHaveLength(1);
    await second.drop();

    // A third start compacts the journal (one epoch record, not three) to the same state.
    const third = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator" });
    const compacted = new Coordinator(
      model,
      third,
      { ...options, journal, compactAbove: 0 },
      logger,
    );
    await compacted.start();
    expect(compacted.sessionEpoch).toBe(3);
    expect(journal.records.map((r) => r.t)).toEqual(["epoch", "order", "epoch"]);
    expect(compacted.currentModel).toEqual(again.currentModel);
    await third.close();
    await operator.close();
  });
});

describe("the coordinator's site", () => {
  it("ignores another site's leases and reports (a persistent session's old subscriptions)", async () => {
    const transport = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@site" });
    // A site of its own: the test above left a retained lease on "s".
    const coordinator = new Coordinator(
      model,
      transport,
      { ...options, site: "t", leaseMs: 5000 },
      logger,
    );
    await coordinator.start();
    // What a broker that served site "old" still delivers to this client id.
    await transport.subscribe(topics.coordinatorState("old"));
    await transport.subscribe(topics.filters.allAgentOut("old"));
    const other = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@old" });
    await other.publish(
      topics.coordinatorState("old"),
      makeMessage(
        "coordinator-state",
        "coordinator",
        { coordinatorId: "coordinator", status: "online", epoch: 99 },
        { seq: 0, at: 0, epoch: 99 },
      ),
    );
    await other.publish(
      topics.agentOut("old", "m1"),
      makeMessage(
        "inform",
        "m1",
        { event: "completed", activityId: "a.o0", atTicks: 2, quality: 1, scheduleVersion: 1 },
        { seq: 1, at: 0 },
      ),
    );
    const stepped = await Promise.race([
      coordinator.steppedDown,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
    ]);
    expect(stepped).toBeUndefined();
    expect(coordinator.record.executed.size).toBe(0);
    coordinator.stopLease();
    await other.close();
    await transport.close();
  });
});

describe("a coordinator whose journal another has written to", () => {
  it("steps down without recording or declaring what it can no longer journal", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "consort-deposed-")), "coordinator.journal");
    const transport = await MqttTransport.connect({
      url: mqtt.url,
      clientId: "coordinator@deposed",
    });
    const said: string[] = [];
    const coordinator = new Coordinator(
      model,
      transport,
      { ...options, site: "u", journal: FileJournal.open(path), notify: (l) => said.push(l) },
      logger,
    );
    await coordinator.start();
    // A successor took the journal over (a standby, or this coordinator restarted elsewhere).
    FileJournal.open(path).append({ t: "epoch", epoch: 9 });
    const agent = await MqttTransport.connect({ url: mqtt.url, clientId: "m1@deposed" });
    await agent.publish(
      topics.agentOut("u", "m1"),
      makeMessage(
        "inform",
        "m1",
        { event: "completed", activityId: "a.o0", atTicks: 2, quality: 1, scheduleVersion: 1 },
        { seq: 1, at: 0 },
      ),
    );
    expect(await coordinator.steppedDown).toMatch(/another coordinator has written/);
    await new Promise((r) => setTimeout(r, 100));
    expect(coordinator.record.executed.size).toBe(0);
    expect(said.filter((l) => /all done/.test(l))).toEqual([]);
    coordinator.stopLease();
    await agent.close();
    await transport.close();
  });
});

describe("compactJournal", () => {
  const delta = (orderId: string) => ({ orderId, jobIds: [], nodes: [], links: [] });
  it("keeps the orders, the last schedule, the highest version, each completion once and the last clock", () => {
    const done = {
      t: "done" as const,
      activityId: "a.o0",
      resourceId: "m1",
      startTicks: 0,
      endTicks: 2,
      quality: 1,
    };
    const installed = (version: number) => ({ t: "installed" as const, version, resources: [] });
    expect(
      compactJournal([
        { t: "epoch", epoch: 1 },
        { t: "version", version: 1 },
        installed(2),
        { t: "order", from: "ops", atTicks: 3, delta: delta("o1") },
        done,
        { t: "epoch", epoch: 2 },
        done,
        { t: "clock", nowTicks: 7, step: 3 },
        { t: "version", version: 5 },
        installed(4),
        { t: "clock", nowTicks: 9, step: 4 },
      ]),
    ).toEqual([
      { t: "epoch", epoch: 2 },
      { t: "order", from: "ops", atTicks: 3, delta: delta("o1") },
      { t: "version", version: 5 },
      installed(4),
      done,
      { t: "clock", nowTicks: 9, step: 4 },
    ]);
  });
  it("leaves alone a journal whose adjusted model came before an order", () => {
    const records = [
      { t: "model" as const, model },
      { t: "order" as const, from: "ops", atTicks: 3, delta: delta("o1") },
    ];
    expect(compactJournal(records)).toEqual(records);
  });
});

describe("FileJournal", () => {
  it("replays after a reopen, cuts a torn last line, and names a damaged one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "consort-coord-journal-")), "c.journal");
    const j = FileJournal.open(path);
    j.append({ t: "epoch", epoch: 1 });
    j.append({ t: "version", version: 4 });
    j.close();
    appendFileSync(path, '{"t":"version","vers');
    const again = FileJournal.open(path);
    expect(again.records).toEqual([
      { t: "epoch", epoch: 1 },
      { t: "version", version: 4 },
    ]);
    expect(nextEpoch(again.records)).toBe(2);
    again.close();
    const compacted = FileJournal.open(path);
    compacted.rewrite([{ t: "epoch", epoch: 7 }]);
    compacted.append({ t: "version", version: 9 });
    compacted.close();
    expect(FileJournal.open(path).records).toEqual([
      { t: "epoch", epoch: 7 },
      { t: "version", version: 9 },
    ]);
    appendFileSync(path, 'GARBAGE\n{"t":"epoch","epoch":2}\n');
    expect(() => FileJournal.open(path)).toThrow(/c\.journal:3: not a JSON record/);
  });
});

describe("lock-step time that stops moving", () => {
  it("sends the clock step again, three times at most, when an agent's answer does not come", async () => {
    const transport = await MqttTransport.connect({
      url: mqtt.url,
      clientId: "coordinator-lockstep",
    });
    const coordinator = new Coordinator(
      model,
      transport,
      { ...options, site: "ls", lockstep: true, clockResendMs: 200 },
      logger,
    );
    await coordinator.start();
    // An agent that never answers: its idle reports were lost, say, in a broker restart.
    const agent = await MqttTransport.connect({ url: mqtt.url, clientId: "m1-lockstep" });
    const clocks: AnyMessage[] = [];
    agent.onMessage((m) => {
      if (m.type === "clock") clocks.push(m);
    });
    await agent.subscribe(topics.clock("ls"));
    await agent.publish(
      topics.agentState("ls", "m1"),
      makeMessage(
        "descriptor",
        "m1",
        { agentId: "m1", resourceId: "m1", status: "online", epoch: 1, software: "test" },
        { seq: 0, at: 0 },
      ),
      { retain: true },
    );
    await coordinator.waitForAgents(["m1"], 3000);
    coordinator.plan();
    await until(() => clocks.length >= 4);
    await new Promise((r) => setTimeout(r, 600));
    coordinator.stop();
    // Step 0, first sent and then three times again, each a message of its own.
    expect(clocks.map((m) => (m.type === "clock" ? m.body.step : -1))).toEqual([0, 0, 0, 0]);
    expect(new Set(clocks.map((m) => m.id)).size).toBe(4);
    // The supervisor still sees a fleet that has been silent all along.
    expect(coordinator.idleMs).toBeGreaterThanOrEqual(600);
    await agent.publish(
      topics.agentState("ls", "m1"),
      makeMessage(
        "descriptor",
        "m1",
        { agentId: "m1", resourceId: "m1", status: "offline", epoch: 1, software: "test" },
        { seq: 1, at: 0 },
      ),
      { retain: true },
    );
    await Promise.all([agent.close(), transport.close()]);
  });
});

describe("a coordinator on an empty journal, on a site that remembers a higher epoch", () => {
  const descriptor = (coordinatorEpoch: number, seq: number) =>
    makeMessage(
      "descriptor",
      "m1",
      { agentId: "m1", resourceId: "m1", status: "online", epoch: 1, coordinatorEpoch },
      { seq, at: 0 },
    );

  it("leads above the epoch an agent's descriptor carries, journalled before it is used; once leading, it stays", async () => {
    const agent = await MqttTransport.connect({ url: mqtt.url, clientId: "m1@epochs" });
    await agent.publish(topics.agentState("e", "m1"), descriptor(4, 0), { retain: true });
    const journal = new MemoryJournal();
    const transport = await MqttTransport.connect({
      url: mqtt.url,
      clientId: "coordinator@epochs",
    });
    const coordinator = new Coordinator(
      model,
      transport,
      { ...options, site: "e", journal },
      logger,
    );
    await coordinator.start();
    await coordinator.waitForAgents(["m1"], 5000);
    expect(coordinator.sessionEpoch).toBe(5);
    expect(journal.records.filter((r) => r.t === "epoch").map((r) => r.epoch)).toEqual([1, 5]);
    coordinator.plan();
    // Leading now: a higher epoch heard later (a newer leader's agents) no longer moves it.
    await agent.publish(topics.agentState("e", "m1"), descriptor(9, 1), { retain: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(coordinator.sessionEpoch).toBe(5);
    coordinator.stopLease();
    await agent.close();
    await transport.close();
  });

  it("leads above a gone leader's last state (its will)", async () => {
    const old = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@gone" });
    await old.publish(
      topics.coordinatorState("g"),
      makeMessage(
        "coordinator-state",
        "coordinator",
        { coordinatorId: "coordinator", status: "offline", epoch: 7 },
        { seq: 1, at: 0, epoch: 7 },
      ),
      { retain: true },
    );
    await old.close();
    const transport = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@fresh" });
    const coordinator = new Coordinator(model, transport, { ...options, site: "g" }, logger);
    await coordinator.start();
    const since = Date.now();
    while (coordinator.sessionEpoch === 1 && Date.now() - since < 3000)
      await new Promise((r) => setTimeout(r, 20));
    expect(coordinator.sessionEpoch).toBe(8);
    coordinator.stopLease();
    await transport.close();
  });
});

describe("a coordinator stepping down while it waits for its agents", () => {
  it("stops waiting at once, instead of failing with agents not online after the timeout", async () => {
    const transport = await MqttTransport.connect({
      url: mqtt.url,
      clientId: "coordinator@waiting",
    });
    const coordinator = new Coordinator(model, transport, { ...options, site: "w" }, logger);
    await coordinator.start();
    const waited = Date.now();
    const waiting = coordinator.waitForAgents(["m1"], 5000);
    const other = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@newer" });
    await other.publish(
      topics.coordinatorState("w"),
      makeMessage(
        "coordinator-state",
        "coordinator",
        { coordinatorId: "coordinator", status: "online", epoch: 3 },
        { seq: 0, at: 0, epoch: 3 },
      ),
    );
    expect(await coordinator.steppedDown).toMatch(/leads in epoch 3/);
    await waiting;
    expect(Date.now() - waited).toBeLessThan(2000);
    coordinator.stopLease();
    await other.close();
    await transport.close();
  });
});
