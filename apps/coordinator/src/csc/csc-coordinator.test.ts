import {
  type ActivityNode,
  fixed,
  indexModel,
  type ModelIndex,
  type ModelNode,
} from "@consort/core";
import { type AnyMessage, topics } from "@consort/protocol";
import { makeMessage } from "@consort/protocol/mqtt";
import { describe, expect, it } from "vitest";
import { CscCoordinator, type CscTransport } from "./csc-coordinator.js";
import { cscOutcome } from "./outcome.js";

const act = (id: string, owner: string, duration: number, quality: number, extra = {}) =>
  ({
    kind: "activity",
    id,
    resources: [owner],
    duration: fixed(duration),
    quality: fixed(quality),
    ...extra,
  }) as ActivityNode;

function build(nodes: ModelNode[]): ModelIndex {
  const owners = new Set<string>();
  for (const n of nodes) if (n.kind === "activity") for (const r of n.resources) owners.add(r);
  const r = indexModel({
    name: "t",
    resources: [...owners].map((id) => ({ id })),
    nodes,
    root: "root",
    links: [],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** A transport that keeps what is published, in order (the coordinator's port, in memory). */
class Recorder implements CscTransport {
  readonly published: { topic: string; message: AnyMessage }[] = [];
  readonly stats = { sent: new Map(), received: new Map() };
  async publish(topic: string, message: AnyMessage): Promise<number> {
    this.published.push({ topic, message });
    return 10;
  }
}

const index = build([
  { kind: "task", id: "root", qaf: "sum", children: ["a1", "b1"], deadlineTicks: 6 },
  act("a1", "a", 2, 5),
  act("b1", "b", 3, 4),
]);
const initial = {
  version: 1 as const,
  resources: [
    { resourceId: "a", activities: [{ activityId: "a1", startTicks: 0 }] },
    { resourceId: "b", activities: [{ activityId: "b1", startTicks: 0 }] },
  ],
};
const site = "s";
const step = (agent: string, body: Record<string, unknown>) =>
  [
    makeMessage("csc-step", agent, { trial: 0, sent: [], types: [], bytes: 0, ...body } as never, {
      seq: Math.floor(Math.random() * 1e9),
      at: 0,
    }),
    topics.agentOut(site, agent),
  ] as const;

describe("CscCoordinator on the wall clock", () => {
  it("sends every agent its setup before the first tick, ticks without expect, and refuses a second start", async () => {
    const t = new Recorder();
    const csc = new CscCoordinator(index, initial, t, { site, seqBase: 1000 });
    expect(csc.agents("consort")).toEqual(["a", "b"]);
    // Ticks go only to agents whose descriptor says they are online.
    for (const agentId of ["a", "b"])
      csc.receive(
        makeMessage(
          "descriptor",
          agentId,
          { agentId, resourceId: agentId, status: "online", epoch: 1, software: "test" },
          { seq: 0, at: 0 },
        ),
        topics.agentState(site, agentId),
      );
    const run = csc.run("consort", 0, 7, {
      clock: { kind: "wall", tickMs: 20 },
      onTick: (tick) => {
        if (tick === 0) {
          csc.receive(...step("a", { tick: 0, start: "a1" }));
          csc.receive(...step("b", { tick: 0, start: "b1" }));
        }
        // An agent that restarted and answers its old tick again: the device will not start
        // what it already started once.
        if (tick === 3) csc.receive(...step("a", { tick: 0, start: "a1" }));
      },
    });
    const r = await run;
    const toA = t.published.filter((p) => p.topic === topics.agentIn(site, "a"));
    expect(toA[0]?.message.type).toBe("csc-setup");
    expect(toA[0]?.message.seq).toBe(1001);
    const ticks = toA.filter((p) => p.message.type === "csc-tick");
    expect(ticks.length).toBe(r.ticks);
    expect(ticks.every((p) => (p.message.body as { expect?: number }).expect === undefined)).toBe(
      true,
    );
    expect(r.refused).toEqual([
      { agentId: "a", tick: 3, reason: 'world: "a1" was already started once' },
    ]);
    expect(r.lateAnswers).toBe(1);
    expect(r.rootQuality).toBe(9);
    const o = cscOutcome(index, r.executed, r.aborted, r.ticks, r.world.finished(r.ticks));
    expect(o).toMatchObject({ activities: 2, completed: 2, feasible: true });
    expect(o.breakdown).toEqual({ succeeded: 2, failed: 0, aborted: 0, skipped: 0, open: 0 });
  });
});

describe("cscOutcome", () => {
  const idx = build([
    { kind: "task", id: "root", qaf: "max", children: ["p", "q", "r"] },
    act("p", "a", 2, 5, { releaseTicks: 2, deadlineTicks: 10 }),
    act("q", "a", 2, 5),
    act("r", "b", 2, 5, { deadlineTicks: 4 }),
  ]);

  it("flags a method run twice, a start before its release, and an overlap on one agent", () => {
    const o = cscOutcome(
      idx,
      [
        { activityId: "p", startTicks: 1, endTicks: 3, quality: 5 },
        { activityId: "q", startTicks: 2, endTicks: 4, quality: 0 },
        { activityId: "q", startTicks: 5, endTicks: 7, quality: 5 },
      ],
      [],
      8,
      true,
    );
    expect(o.feasible).toBe(false);
    expect(o.violations).toEqual([
      "p started at 1, before its release 2",
      "q ran 2 times",
      "q started at 2 on a while p ran until 3",
    ]);
  });

  it("sorts methods into succeeded, failed, aborted, skipped and still open", () => {
    const runs = [
      { activityId: "p", startTicks: 2, endTicks: 4, quality: 5 },
      { activityId: "q", startTicks: 4, endTicks: 5, quality: 0 },
    ];
    // Cut short at tick 5: r (deadline 4) can no longer run, nothing else is open.
    expect(cscOutcome(idx, runs, ["q"], 5, false)).toMatchObject({
      completed: 3,
      breakdown: { succeeded: 1, failed: 0, aborted: 1, skipped: 1, open: 0 },
      feasible: true,
    });
    // At tick 1, r could still run.
    expect(cscOutcome(idx, [], [], 1, false).breakdown).toEqual({
      succeeded: 0,
      failed: 0,
      aborted: 0,
      skipped: 0,
      open: 3,
    });
  });
});
