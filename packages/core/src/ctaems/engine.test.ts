import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import { indexModel, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Qaf } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { sampleOutcome } from "../simulation/outcomes.js";
import { act, build, plan, task } from "../test-support/ctaems-networks.js";
import { type CtaemsAgent, SchedulerAgentCsc, type TickInput, type TickOutput } from "./agent.js";
import { CtaemsWorld, type ModelChange, runTrial, viewersOf } from "./engine.js";
import {
  DELIBERATIVE_ADDRESS,
  lastPlannedStart,
  participantsFor,
  runStrategy,
  type Strategy,
  setupsFor,
} from "./experiment.js";
import { generateBackupProblem } from "./generators/backup.js";
import { buildSetups, type CommsPolicy } from "./setup.js";

/** An agent that starts a fixed list of methods at fixed ticks, for probing the world's rules. */
class Scripted implements CtaemsAgent {
  readonly completions: { id: string; quality: number; end: number }[] = [];
  readonly changes: string[] = [];
  constructor(
    readonly id: string,
    private readonly script: Map<number, string>,
  ) {}
  step(input: { tick: number; events: readonly { kind: string }[] }): TickOutput {
    for (const ev of input.events as {
      kind: string;
      activityId?: string;
      quality?: number;
      endTicks?: number;
      nodeId?: string;
    }[]) {
      if (ev.kind === "completed")
        this.completions.push({
          id: ev.activityId ?? "",
          quality: ev.quality ?? 0,
          end: ev.endTicks ?? 0,
        });
      else this.changes.push(ev.nodeId ?? "");
    }
    const start = this.script.get(input.tick);
    return start !== undefined ? { start, messages: [] } : { messages: [] };
  }
}

function runScripted(
  index: ModelIndex,
  scripts: Record<string, [number, string][]>,
  changes: ModelChange[] = [],
  key = 7,
) {
  const agents = Object.entries(scripts).map(([id, s]) => new Scripted(id, new Map(s)));
  const viewers = new Map<string, string[]>();
  for (const n of index.model.nodes) viewers.set(n.id, Object.keys(scripts));
  const world = new CtaemsWorld(index, key, viewers, changes);
  const result = runTrial(world, agents);
  return { result, agents: new Map(agents.map((a) => [a.id, a])) };
}

describe("C-TAEMS execution rules (CSC §2), in the world", () => {
  it("a method earns its sampled quality, drawn from its distributions with the trial key", () => {
    const m = act(
      "m",
      "a",
      [
        { value: 2, probability: 0.5 },
        { value: 4, probability: 0.5 },
      ],
      [
        { value: 0, probability: 0.5 },
        { value: 10, probability: 0.5 },
      ],
    );
    const index = build([task("root", "sum", ["m"]), m]);
    const seen = new Set<string>();
    for (let key = 1; key <= 40; key++) {
      const o = sampleOutcome(m, key);
      const { agents } = runScripted(index, { a: [[0, "m"]] }, [], key);
      const c = agents.get("a")?.completions[0];
      expect(c).toEqual({ id: "m", quality: o.quality, end: o.durationTicks });
      seen.add(`${o.durationTicks}/${o.quality}`);
    }
    // Every combination of the two distributions turns up over 40 keys.
    expect(seen.size).toBe(4);
  });

  it("starting before the release earns zero", () => {
    const index = build([task("root", "sum", ["m"]), act("m", "a", 2, 5, { releaseTicks: 3 })]);
    expect(runScripted(index, { a: [[2, "m"]] }).result.rootQuality).toBe(0);
    expect(runScripted(index, { a: [[3, "m"]] }).result.rootQuality).toBe(5);
  });

  it("ending after the deadline earns zero", () => {
    const index = build([task("root", "sum", ["m"], { deadlineTicks: 6 }), act("m", "a", 4, 5)]);
    expect(runScripted(index, { a: [[2, "m"]] }).result.rootQuality).toBe(5);
    expect(runScripted(index, { a: [[3, "m"]] }).result.rootQuality).toBe(0);
  });

  it("min, max, sum and syncsum accumulate as CSC §2 says", () => {
    const nodes = (qaf: Qaf) => [
      task("root", qaf, ["x", "y"]),
      act("x", "a", 2, 3),
      act("y", "b", 2, 5),
    ];
    const both = { a: [[0, "x"]] as [number, string][], b: [[0, "y"]] as [number, string][] };
    const onlyX = { a: [[0, "x"]] as [number, string][], b: [] as [number, string][] };
    expect(runScripted(build(nodes("min")), both).result.rootQuality).toBe(3);
    expect(runScripted(build(nodes("min")), onlyX).result.rootQuality).toBe(0);
    expect(runScripted(build(nodes("max")), both).result.rootQuality).toBe(5);
    expect(runScripted(build(nodes("sum")), both).result.rootQuality).toBe(8);
    expect(runScripted(build(nodes("syncsum")), both).result.rootQuality).toBe(8);
    // Syncsum counts only the children that start at the earliest start.
    const late = { a: [[0, "x"]] as [number, string][], b: [[1, "y"]] as [number, string][] };
    expect(runScripted(build(nodes("syncsum")), late).result.rootQuality).toBe(3);
  });

  it("a target started before its source accrued fails; after, it earns", () => {
    const nodes = [task("root", "sum", ["s", "t"]), act("s", "a", 3, 2), act("t", "b", 2, 5)];
    const index = build(nodes, [{ kind: "enables", from: "s", to: "t" }]);
    const early = runScripted(index, { a: [[0, "s"]], b: [[2, "t"]] });
    expect(early.agents.get("b")?.completions[0]?.quality).toBe(0);
    expect(early.result.rootQuality).toBe(2);
    const onTime = runScripted(index, { a: [[0, "s"]], b: [[3, "t"]] });
    expect(onTime.agents.get("b")?.completions[0]?.quality).toBe(5);
    expect(onTime.result.rootQuality).toBe(7);
  });

  it("an enables link into a task applies to every descendant", () => {
    const nodes = [
      task("root", "sum", ["s", "T"]),
      act("s", "a", 3, 2),
      task("T", "sum", ["t1", "t2"]),
      act("t1", "b", 1, 5),
      act("t2", "c", 1, 7),
    ];
    const index = build(nodes, [{ kind: "enables", from: "s", to: "T" }]);
    const run = runScripted(index, { a: [[0, "s"]], b: [[3, "t1"]], c: [[1, "t2"]] });
    expect(run.agents.get("b")?.completions[0]?.quality).toBe(5);
    expect(run.agents.get("c")?.completions[0]?.quality).toBe(0);
  });

  it("an unmodeled failure earns zero although the distribution has no failure outcome", () => {
    const index = build([
      task("root", "sum", ["m", "n"]),
      act("m", "a", 2, 5),
      act("n", "a", 2, 4),
    ]);
    const changes: ModelChange[] = [
      { atTicks: 0, nodeId: "m", failActivity: true, announced: false },
    ];
    const run = runScripted(
      index,
      {
        a: [
          [0, "m"],
          [2, "n"],
        ],
      },
      changes,
    );
    expect(run.agents.get("a")?.completions.map((c) => c.quality)).toEqual([0, 4]);
    // Unannounced: the agent heard nothing about it.
    expect(run.agents.get("a")?.changes).toEqual([]);
  });

  it("a distribution changed mid-run is drawn from the method's own stream; announced changes reach the viewers", () => {
    const index = build([task("root", "sum", ["m"]), act("m", "a", 2, 5)]);
    const changes: ModelChange[] = [
      { atTicks: 1, nodeId: "m", duration: fixed(6), quality: fixed(9), announced: true },
    ];
    const run = runScripted(index, { a: [[2, "m"]] }, changes);
    expect(run.agents.get("a")?.completions[0]).toEqual({ id: "m", quality: 9, end: 8 });
    expect(run.agents.get("a")?.changes).toEqual(["m"]);
  });

  it("a moved deadline holds from the tick it moves, announced or not", () => {
    const index = build([task("root", "sum", ["m"]), act("m", "a", 4, 5, { deadlineTicks: 10 })]);
    const silent: ModelChange[] = [{ atTicks: 1, nodeId: "m", deadlineTicks: 5, announced: false }];
    const run = runScripted(index, { a: [[2, "m"]] }, silent);
    expect(run.result.rootQuality).toBe(0);
    expect(run.agents.get("a")?.changes).toEqual([]);
    const moved: ModelChange[] = [{ atTicks: 1, nodeId: "m", releaseTicks: 3, announced: true }];
    expect(runScripted(index, { a: [[2, "m"]] }, moved).result.rootQuality).toBe(0);
  });

  it("a change is the world's own: the model it was given stays as it was", () => {
    const index = build([task("root", "sum", ["m"]), act("m", "a", 4, 5, { deadlineTicks: 10 })]);
    const world = new CtaemsWorld(index, 7, new Map([["m", ["a"]]]), [
      { atTicks: 1, nodeId: "m", deadlineTicks: 5, quality: fixed(2), announced: true },
    ]);
    world.begin(0);
    world.begin(1);
    expect(world.model.nodes.get("m")?.deadlineTicks).toBe(5);
    expect(world.model.activities[0]?.quality).toEqual(fixed(2));
    expect(world.model.model.nodes.find((n) => n.id === "m")?.deadlineTicks).toBe(5);
    expect(index.nodes.get("m")?.deadlineTicks).toBe(10);
    expect(index.activities[0]?.quality).toEqual(fixed(5));
  });

  it("a change that would break the model stops the run, naming the node and what is wrong", () => {
    const index = build([task("root", "sum", ["m"]), act("m", "a", 4, 5, { releaseTicks: 2 })]);
    const world = new CtaemsWorld(index, 7, new Map(), [
      { atTicks: 0, nodeId: "m", deadlineTicks: 1, announced: false },
    ]);
    expect(() => world.begin(0)).toThrow(
      'world: change of "m" breaks the model: deadline 1 is before release 2',
    );
  });
});

describe("agents (CSC §3)", () => {
  const run = (
    index: ModelIndex,
    initial: Schedule,
    s: Strategy,
    key = 1,
    changes: ModelChange[] = [],
  ) => runStrategy(index, initial, s, key, { changes, deliberative: false });

  it("the initial schedule runs as planned", () => {
    const index = build([
      task("root", "sum", ["x", "y"]),
      act("x", "a", 2, 3),
      act("y", "a", 2, 4),
    ]);
    const r = run(
      index,
      plan([
        ["a", "x", 1],
        ["a", "y", 5],
      ]),
      "initial",
    );
    expect(r.executed.map((e) => [e.activityId, e.startTicks])).toEqual([
      ["x", 1],
      ["y", 5],
    ]);
    expect(r.traffic.messages).toBe(0);
  });

  it("window sliding: a method waits for its remote enabler, then starts", () => {
    const index = build(
      [
        task("root", "sum", ["s", "t"]),
        act(
          "s",
          "a",
          [
            { value: 3, probability: 0.5 },
            { value: 6, probability: 0.5 },
          ],
          2,
        ),
        act("t", "b", 2, 5),
      ],
      [{ kind: "enables", from: "s", to: "t" }],
    );
    for (let key = 1; key <= 6; key++) {
      const d = sampleOutcome(index.nodes.get("s") as ActivityNode, key).durationTicks;
      const r = run(
        index,
        plan([
          ["a", "s", 0],
          ["b", "t", 3],
        ]),
        "consort",
        key,
      );
      const t = r.executed.find((e) => e.activityId === "t");
      // It starts only once it has heard that s accrued (one tick of messaging later).
      expect(t?.startTicks).toBe(d + 1);
      expect(r.rootQuality).toBe(7);
    }
  });

  it("window sliding: a method whose enabler failed is dropped", () => {
    const index = build(
      [
        task("root", "sum", ["s", "t", "u"]),
        act("s", "a", 2, 0.0 + 0),
        act("t", "b", 2, 5),
        act("u", "b", 2, 1),
      ],
      [{ kind: "enables", from: "s", to: "t" }],
    );
    const r = run(
      index,
      plan([
        ["a", "s", 0],
        ["b", "t", 3],
      ]),
      "consort",
    );
    expect(r.executed.some((e) => e.activityId === "t")).toBe(false);
    // The freed agent fills the time with what it can still do.
    expect(r.executed.some((e) => e.activityId === "u")).toBe(true);
  });

  it("synchronized starts: the children of a syncsum start together when one is late", () => {
    const index = build([
      task("root", "sum", ["S", "busy"]),
      task("S", "syncsum", ["x", "y"]),
      act("x", "a", 2, 3),
      act("y", "b", 2, 4),
      act(
        "busy",
        "b",
        [
          { value: 3, probability: 0.5 },
          { value: 6, probability: 0.5 },
        ],
        1,
      ),
    ]);
    const initial = plan([
      ["b", "busy", 0],
      ["a", "x", 4],
      ["b", "y", 4],
    ]);
    for (let key = 1; key <= 6; key++) {
      const c = run(index, initial, "consort", key);
      const x = c.executed.find((e) => e.activityId === "x");
      const y = c.executed.find((e) => e.activityId === "y");
      expect(x?.startTicks).toBe(y?.startTicks);
      expect(c.rootQuality).toBe(8);
    }
    // Without messages the late agent breaks the synchronized start in some trials.
    const lost = [1, 2, 3, 4, 5, 6].map((k) => run(index, initial, "bos", k).rootQuality);
    expect(Math.min(...lost)).toBeLessThan(8);
  });

  it("opportunistic scheduler: fills an idle gap with the most critical method that harms nothing", () => {
    const index = build([
      task("root", "sum", ["big", "gap"]),
      task("gap", "max", ["small", "long", "best"]),
      act("big", "a", 3, 10, { deadlineTicks: 8 }),
      act("small", "a", 2, 2),
      act("long", "a", 9, 50),
      act("best", "a", 3, 6),
    ]);
    const r = run(index, plan([["a", "big", 5]]), "consort");
    const order = r.executed.map((e) => [e.activityId, e.startTicks]);
    // "long" would push "big" past its deadline; "best" fits the gap and is worth more than
    // "small". It starts once profiles have had two ticks to settle.
    expect(order[0]).toEqual(["best", 2]);
    expect(order).toContainEqual(["big", 5]);
  });

  it("opportunistic scheduler: a method under a max waits while an alternative is under way, until its last safe start", () => {
    // p fails half the time; b (20 ticks, due by 40) can fill X's gap, and waiting until 20
    // costs it nothing.
    const network = (pDuration: number) =>
      build([
        task("root", "sum", ["X"]),
        task("X", "max", ["p", "b"], { deadlineTicks: 40 }),
        act("p", "a", pDuration, [
          { value: 0, probability: 0.5 },
          { value: 5, probability: 0.5 },
        ]),
        act("b", "b", 20, 4),
      ]);
    const index = network(10);
    const initial = plan([["a", "p", 0]]);
    const p = index.nodes.get("p") as ActivityNode;
    const keys = Array.from({ length: 64 }, (_, k) => k + 1);
    const fails = keys.find((k) => sampleOutcome(p, k).quality === 0) ?? -1;
    const earns = keys.find((k) => sampleOutcome(p, k).quality > 0) ?? -1;
    // p earned: b was never started (before, it started at once and was aborted).
    const earned = run(index, initial, "consort", earns);
    expect(earned.executed.map((e) => e.activityId)).toEqual(["p"]);
    expect(earned.rootQuality).toBe(5);
    // p failed at 10: b starts once that is known, by its last safe start, and fills the gap.
    const failed = run(index, initial, "consort", fails);
    const b = failed.executed.find((e) => e.activityId === "b");
    expect(b?.startTicks).toBeGreaterThanOrEqual(10);
    expect(b?.startTicks).toBeLessThanOrEqual(20);
    expect(failed.rootQuality).toBe(4);
    // p runs past b's last safe start: b goes at 20, without waiting for p's outcome.
    const late = run(network(30), initial, "consort", fails);
    expect(late.executed.find((e) => e.activityId === "b")?.startTicks).toBe(20);
    expect(late.rootQuality).toBe(4);
  });

  it("downgrader: a method that can no longer help the root is not run", () => {
    const index = build([
      task("root", "sum", ["P", "other"]),
      task("P", "min", ["fails", "later"]),
      act("fails", "a", 2, 0),
      act("later", "b", 3, 5),
      act("other", "b", 3, 1, { releaseTicks: 3 }),
    ]);
    const initial = plan([
      ["a", "fails", 0],
      ["b", "later", 4],
    ]);
    const c = run(index, initial, "consort");
    expect(c.executed.some((e) => e.activityId === "later")).toBe(false);
    expect(c.executed.some((e) => e.activityId === "other")).toBe(true);
    // The benchmark cannot know that "fails" failed, so it runs "later" for nothing.
    const b = run(index, initial, "bos");
    expect(b.executed.some((e) => e.activityId === "later")).toBe(true);
  });

  it("every strategy meets the same outcomes on the same key (common random numbers)", () => {
    const dist = [
      { value: 2, probability: 0.3 },
      { value: 5, probability: 0.7 },
    ];
    const index = build([
      task("root", "sum", ["x", "y"]),
      act("x", "a", dist, 3),
      act("y", "b", dist, 4),
    ]);
    const initial = plan([
      ["a", "x", 0],
      ["b", "y", 0],
    ]);
    for (let key = 1; key <= 5; key++) {
      const lengths = (["initial", "bos", "consort"] as Strategy[]).map((s) =>
        run(index, initial, s, key)
          .executed.map((e) => e.endTicks - e.startTicks)
          .join(","),
      );
      expect(new Set(lengths).size).toBe(1);
    }
  });

  it("agents are built from their subjective view only", () => {
    const index = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1", "a2"]),
      task("B", "max", ["b1"]),
      act("a1", "a", 2, 1),
      act("a2", "b", 2, 1),
      act("b1", "b", 2, 1),
    ]);
    const setups = buildSetups(index, plan([]), { mode: "csc" });
    const a = setups.get("a");
    expect(a?.view.nodes.map((n) => n.id).sort()).toEqual(["A", "a1", "root"]);
    expect(a?.sharers).toEqual({ A: ["b"], root: ["b"] });
    expect(new SchedulerAgentCsc(a!).id).toBe("a");
    expect(viewersOf(setups.values()).get("b1")).toEqual(["b"]);
  });
});

describe("communication policies", () => {
  const scenario = generateBackupProblem({ windows: 3, seed: 4, problems: 6, backupAgents: 3 });
  const indexed = indexModel(scenario.model);
  if (!indexed.ok) throw new Error("bad model");
  const index = indexed.value;
  const always: CommsPolicy = { name: "always", broadcast: "always", threshold: 0, silence: false };
  const selective: CommsPolicy = {
    ...always,
    name: "selective",
    broadcast: "selective",
    threshold: 0.05,
  };
  const silent: CommsPolicy = { ...selective, name: "silent", silence: true };

  /** Runs Consort with a policy, recording every message each participant sends. */
  const traced = (
    policy: CommsPolicy,
    key: number,
    departures: { agentId: string; atTicks: number }[] = [],
    on: { index: typeof index; scenario: typeof scenario } = { index, scenario },
  ) => {
    const setups = setupsFor(on.index, on.scenario.initial, "consort", { policy });
    const sent: { tick: number; from: string; to: string; type: string }[] = [];
    const agents = participantsFor(index, setups).map((p) => ({
      id: p.id,
      step: (input: TickInput) => {
        const out = p.step(input);
        for (const m of out.messages)
          sent.push({ tick: input.tick, from: p.id, to: m.to, type: m.body.type });
        return out;
      },
    }));
    const world = new CtaemsWorld(
      on.index,
      key,
      viewersOf(setups.values()),
      [],
      lastPlannedStart(on.scenario.initial),
    );
    const result = runTrial(world, agents, { departures });
    return { result, sent, setups };
  };

  it("selective broadcasting sends a profile only when it moved; always-broadcast sends every one every tick", () => {
    for (const key of [1, 2, 3]) {
      const a = traced(always, key);
      const s = traced(selective, key);
      const reports = (r: typeof a) => r.sent.filter((m) => m.type === "report").length;
      expect(reports(a)).toBeGreaterThan(5 * reports(s));
      // Each agent says something to each sharer at every tick under always-broadcast.
      const ticks = new Set(a.sent.filter((m) => m.type === "report").map((m) => m.tick));
      expect(ticks.size).toBeGreaterThanOrEqual(a.result.ticks - 1);
    }
  });

  it("silence: an escalation is said once, and again only when the node got worse", () => {
    let repeatedWithout = 0;
    for (const key of [1, 2, 3, 4]) {
      const loud = traced(selective, key);
      const quiet = traced(silent, key);
      const escalations = (r: typeof loud) => r.sent.filter((m) => m.type === "escalate");
      expect(escalations(quiet).length).toBeLessThanOrEqual(escalations(loud).length);
      repeatedWithout += escalations(loud).length - escalations(quiet).length;
    }
    expect(repeatedWithout).toBeGreaterThan(0);
  });

  it("cells: members answer installs through their leader, which alone sends summaries; escalations go straight; the next member leads when it leaves", () => {
    const cells: CommsPolicy = { ...silent, name: "cells", cellSize: 3 };
    // A problem whose members do escalate (agents escalate only what can still be repaired).
    const other = generateBackupProblem({ windows: 3, seed: 1, problems: 6, backupAgents: 3 });
    const otherIndexed = indexModel(other.model);
    if (!otherIndexed.ok) throw new Error("bad model");
    const on = { index: otherIndexed.value, scenario: other };
    const base = traced(cells, 3, [], on);
    const cellOf = (agent: string) => base.setups.get(agent)?.cell ?? [];
    const summaries = (r: typeof base) =>
      r.sent.filter((m) => m.to === DELIBERATIVE_ADDRESS && m.type === "summary");
    expect(summaries(base).length).toBeGreaterThan(0);
    for (const m of base.sent.filter((x) => x.to === DELIBERATIVE_ADDRESS))
      expect(["summary", "escalate"]).toContain(m.type);
    for (const m of summaries(base)) expect(cellOf(m.from)[0]).toBe(m.from);
    // An escalation is not delayed by a relay: a tick less for its repair.
    const escalations = base.sent.filter((m) => m.type === "escalate");
    expect(escalations.length).toBeGreaterThan(0);
    for (const m of escalations) expect(m.to).toBe(DELIBERATIVE_ADDRESS);
    // Members' install answers went to their cell's leader instead.
    const answers = base.sent.filter((m) => m.type === "installed");
    expect(answers.length).toBeGreaterThan(0);
    for (const m of answers) expect(m.to).toBe(cellOf(m.from)[0]);

    // The leader of the first busy cell leaves early: its second member takes over.
    const leader = summaries(base)[0]!.from;
    const successor = cellOf(leader)[1]!;
    const after = traced(cells, 3, [{ agentId: leader, atTicks: 1 }], on);
    expect(after.sent.some((m) => m.from === leader && m.tick >= 1)).toBe(false);
    const fromCell = summaries(after).filter((m) => cellOf(m.from).includes(leader));
    expect(fromCell.length).toBeGreaterThan(0);
    for (const m of fromCell) expect(m.from).toBe(successor);
  });

  it("an agent that leaves stops running, loses its messages, and the rest carry on", () => {
    const gone = "backup-0";
    const owner = (id: string) => (index.nodes.get(id) as ActivityNode).resources[0];
    const r = traced(selective, 3, [{ agentId: gone, atTicks: 5 }]);
    const mine = r.result.executed.filter((e) => owner(e.activityId) === gone);
    expect(mine.every((e) => e.startTicks < 5)).toBe(true);
    expect(r.sent.some((m) => m.from === gone && m.tick >= 5)).toBe(false);
    // Its neighbours still wrote to it until they heard it left: those messages were lost.
    expect(r.result.traffic.lost).toBeGreaterThan(0);
    expect(r.result.executed.some((e) => owner(e.activityId) !== gone && e.startTicks > 5)).toBe(
      true,
    );
  });
});
