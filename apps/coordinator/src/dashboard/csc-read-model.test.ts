import {
  type ActivityNode,
  fixed,
  indexModel,
  type ModelIndex,
  type ModelNode,
  type PeerBody,
} from "@consort/core";
import { type AnyMessage, type Body, topics } from "@consort/protocol";
import { makeMessage } from "@consort/protocol/mqtt";
import { describe, expect, it } from "vitest";
import { COORDINATOR_PEER, CscCoordinator, type CscTransport } from "../csc/csc-coordinator.js";
import { renderHtmlReport } from "../report/html.js";
import { CscDashboardReadModel } from "./csc-read-model.js";

const act = (id: string, owner: string, duration: number, quality: number) =>
  ({
    kind: "activity",
    id,
    resources: [owner],
    duration: fixed(duration),
    quality: fixed(quality),
  }) as ActivityNode;

function build(nodes: ModelNode[]): ModelIndex {
  const r = indexModel({
    name: "pair",
    resources: [{ id: "a" }, { id: "b" }],
    nodes,
    root: "root",
    links: [],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

// A primary on a and a backup on b under a max; only the primary is planned.
const index = build([
  { kind: "task", id: "root", qaf: "sum", children: ["A", "c1"], deadlineTicks: 30 },
  { kind: "task", id: "A", qaf: "max", children: ["a1", "a2"] },
  act("a1", "a", 2, 10),
  act("a2", "b", 3, 6),
  act("c1", "b", 1, 1),
]);
const initial = {
  version: 1 as const,
  resources: [
    { resourceId: "a", activities: [{ activityId: "a1", startTicks: 0 }] },
    { resourceId: "b", activities: [{ activityId: "c1", startTicks: 0 }] },
  ],
};
const site = "s";

/**
 * Two scripted agents behind an in-memory transport: a starts its primary at once and, once it
 * ended with nothing, escalates A; b runs c1, and takes and starts what the deliberative
 * scheduler installs on it. Everything else is the real coordinator: its world, its clock
 * master and its deliberative scheduler.
 */
class ScriptedAgents implements CscTransport {
  readonly stats = {
    sent: new Map<string, { messages: number; bytes: number }>(),
    received: new Map<string, { messages: number; bytes: number }>(),
  };
  csc!: CscCoordinator;
  private seq = 0;
  private installFor: { lock: number; activity: string } | undefined;
  private escalated = false;

  async publish(topic: string, message: AnyMessage): Promise<number> {
    const s = this.stats.sent.get(message.type) ?? { messages: 0, bytes: 0 };
    this.stats.sent.set(message.type, { messages: s.messages + 1, bytes: s.bytes + 10 });
    const agent = /agent\/([^/]+)\/in$/.exec(topic)?.[1];
    if (message.type === "csc-peer" && agent === "b") {
      const body = (message.body as Body<"csc-peer">).body as PeerBody;
      if (body.type === "install") this.installFor = { lock: body.lock, activity: body.activity };
    }
    if (message.type === "csc-tick" && agent)
      setImmediate(() => this.step(agent, message.body as Body<"csc-tick">));
    return 10;
  }

  private step(agent: string, tick: Body<"csc-tick">): void {
    const t = tick.tick;
    const answer: Record<string, unknown> = { trial: tick.trial, tick: t, sent: [], types: [] };
    const peer = (body: PeerBody) => {
      this.csc.receive(
        makeMessage(
          "csc-peer",
          agent,
          {
            trial: tick.trial,
            tick: t,
            seq: ++this.seq,
            body: body as Body<"csc-peer">["body"],
          },
          {
            seq: this.seq,
            at: 0,
          },
        ),
        topics.peer(site, agent, COORDINATOR_PEER),
      );
      answer.sent = [{ to: COORDINATOR_PEER, count: 1 }];
      answer.types = [{ type: body.type, count: 1 }];
    };
    if (agent === "a") {
      if (t === 0) answer.start = "a1";
      const failed = tick.events.some((e) => e.kind === "completed" && e.quality === 0);
      if (failed && !this.escalated) {
        this.escalated = true;
        peer({
          type: "escalate",
          node: "A",
          p: 0,
          threshold: 0.5,
          children: [
            { id: "a1", p: 0, v: 0, pp: 0, pv: 0, busy: 0, s: 0, final: true },
            { id: "a2", p: 0, v: 0, pp: 1, pv: 6, busy: 0 },
          ],
        });
      }
    } else {
      if (t === 0) answer.start = "c1";
      if (this.installFor) {
        answer.start = this.installFor.activity;
        peer({ type: "installed", lock: this.installFor.lock, ok: true });
        this.installFor = undefined;
      }
    }
    this.csc.receive(
      makeMessage("csc-step", agent, { bytes: 0, ...answer } as Body<"csc-step">, {
        seq: ++this.seq,
        at: 0,
      }),
      topics.agentOut(site, agent),
    );
  }
}

describe("the dashboard's read model of a C-TAEMS run", () => {
  it("follows root quality, each node's probability and criticality, a fall, an escalation and the install that answered it", async () => {
    const agents = new ScriptedAgents();
    const csc = new CscCoordinator(index, initial, agents, { site });
    agents.csc = csc;
    let clock = 1000;
    const model = new CscDashboardReadModel(csc, site, () => clock);
    let changes = 0;
    model.onChange(() => changes++);

    const before = model.snapshot();
    expect(before.family).toBe("ctaems");
    expect(before.ctaems.tree.map((n) => n.id)).toEqual(["root", "A", "a1", "a2", "c1"]);
    expect(before.ctaems.tree.every((n) => typeof n.p === "number")).toBe(true);
    expect(before.ctaems.tree.find((n) => n.id === "a1")).toMatchObject({ p: 1, criticality: 10 });
    // The backup is not planned: nothing for it yet, but worth 6 to the root were it to run.
    expect(before.ctaems.tree.find((n) => n.id === "a2")).toMatchObject({
      p: 0,
      status: "unplanned",
    });
    expect(before.planned.map((b) => b.activityId).sort()).toEqual(["a1", "c1"]);

    const qualities: number[] = [];
    let awaited: string[] = [];
    csc.onEvent((e) => {
      if (e.kind === "tick") {
        clock += 100;
        qualities.push(model.snapshot().ctaems.rootQuality);
      }
      // A report exported between the install and its answer lists the install as awaited.
      if (e.kind === "scheduler-out" && e.body.type === "install")
        awaited = model.report(0).repairs.map((r) => r.strategy);
    });
    // The primary's outcome: nothing, whatever its distribution says.
    const result = await csc.run("consort", 0, 7, {
      changes: [{ atTicks: 0, nodeId: "a1", failActivity: true, announced: false }],
      maxTicks: 40,
    });
    expect(changes).toBeGreaterThan(0);
    const after = model.snapshot();

    // Root quality so far rose as c1, then the installed backup, ran.
    expect(qualities[0]).toBe(0);
    expect(qualities.at(-1)).toBe(7);
    expect(after.ctaems.rootQuality).toBe(result.rootQuality);
    expect(after.ctaems.history.length).toBe(result.ticks);
    expect(after.ctaems.tree.find((n) => n.id === "A")).toMatchObject({
      status: "succeeded",
      quality: 6,
    });

    const timeline = after.timeline.map((t) => `${t.kind}: ${t.text}`);
    // Which node's probability fell, and why.
    expect(timeline).toContainEqual(
      expect.stringMatching(
        /^disruption: probability fell: A 1\.00\u21920\.00, a1 1\.00\u21920\.00 \(a1 earned nothing\)/,
      ),
    );
    expect(timeline).toContainEqual(
      "escalation: a escalated A: its probability 0.00 fell below 0.50",
    );
    // What was installed where, and that it was taken.
    expect(timeline).toContainEqual(
      expect.stringMatching(
        /^repair: installed a2 on b, to start in \[\d+, \d+\], under A \(lock 1; a escalated A/,
      ),
    );
    expect(timeline).toContainEqual("repair: b took a2");
    expect(after.ctaems).toMatchObject({ escalations: 1, installs: 1, refused: 0 });

    // The Gantt: a1 ran and failed on a, a2 ran on b after the install.
    expect(after.attempts.find((b) => b.activityId === "a1")).toMatchObject({
      resourceId: "a",
      status: "failed",
    });
    expect(after.executed.find((b) => b.activityId === "a2")).toMatchObject({
      resourceId: "b",
      status: "completed",
    });
    expect(after.rates.find((r) => r.type === "csc-tick")?.total).toBeGreaterThan(0);

    // The report for a period: the fall and the install, and the task tree.
    const report = model.report(0);
    expect(report.objectives.quality).toBe(7);
    expect(report.disruptions.map((d) => d.kind)).toEqual(["probability-drop"]);
    expect(report.repairs).toHaveLength(1);
    expect(report.repairs[0]?.strategy).toBe("deliberative: a2 on b");
    expect(awaited).toEqual(["deliberative: a2 on b (no answer yet)"]);
    const html = renderHtmlReport(report);
    expect(html).toMatch(/Task tree \(5 nodes\)/);
    expect(html).toMatch(/probability-drop/);
    // A period before anything failed has neither.
    expect(model.report(0, 1).disruptions).toEqual([]);
    model.close();
  });
});
