import {
  type ActivityNode,
  buildPosProblem,
  createRng,
  type ExecutedActivity,
  evaluateQuality,
  fixed,
  indexModel,
  type Link,
  type ModelIndex,
  type ModelNode,
  type PosResult,
  prescientOptimal,
  type Qaf,
  type SampledOutcome,
  type TaskNode,
} from "@consort/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createHighsSolver } from "./highs-solver.js";

const solve = createHighsSolver();

type Outcomes = Map<string, SampledOutcome>;

/** An activity whose outcome is known: it lasts `duration` and yields `quality`. */
const act = (
  id: string,
  agent: string,
  duration: number,
  quality: number,
  extra: Partial<ActivityNode> = {},
): ActivityNode => ({
  kind: "activity",
  id,
  resources: [agent],
  duration: fixed(duration),
  quality: fixed(quality),
  ...extra,
});

const task = (
  id: string,
  qaf: Qaf,
  children: string[],
  extra: Partial<TaskNode> = {},
): TaskNode => ({
  kind: "task",
  id,
  qaf,
  children,
  ...extra,
});

/** Indexes a model rooted at `root` and reads each activity's one-point outcome. */
function trial(
  nodes: ModelNode[],
  links: Link[] = [],
  agents = ["r1", "r2"],
): { index: ModelIndex; outcomes: Outcomes } {
  const r = indexModel({
    name: "pos-test",
    resources: agents.map((id) => ({ id })),
    root: "root",
    nodes,
    links,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  const outcomes: Outcomes = new Map();
  for (const n of nodes)
    if (n.kind === "activity")
      outcomes.set(n.id, { durationTicks: n.duration[0]!.value, quality: n.quality[0]!.value });
  return { index: r.value, outcomes };
}

/** POS of a trial, checking what every POS schedule must satisfy. */
async function pos(t: { index: ModelIndex; outcomes: Outcomes }): Promise<PosResult> {
  const result = await prescientOptimal(t.index, t.outcomes, solve, { timeLimitSeconds: 60 });
  expect(result.optimal).toBe(true);
  expect(result.gap).toBe(0);
  expect(overlaps(t.index, result.executed)).toEqual([]);
  for (const e of result.executed) {
    const o = t.outcomes.get(e.activityId)!;
    expect(e.endTicks - e.startTicks).toBe(o.durationTicks);
    expect(e.quality).toBe(o.quality);
  }
  return result;
}

/** Pairs of runs that overlap on one agent. */
function overlaps(index: ModelIndex, executed: readonly ExecutedActivity[]): string[] {
  const agentOf = (id: string): string | undefined =>
    index.activities.find((a) => a.id === id)?.resources[0];
  const out: string[] = [];
  executed.forEach((p, i) => {
    for (const q of executed.slice(i + 1))
      if (
        agentOf(p.activityId) === agentOf(q.activityId) &&
        p.startTicks < q.endTicks &&
        q.startTicks < p.endTicks
      )
        out.push(`${p.activityId}/${q.activityId}`);
  });
  return out;
}

const startOf = (r: PosResult, id: string): number | undefined =>
  r.executed.find((e) => e.activityId === id)?.startTicks;

/**
 * The best root quality over every schedule: each activity either does not run or starts at a
 * tick of [0, horizon), the runs of one agent never overlapping, scored by `evaluateQuality`.
 * Runs that earn nothing are included: one can still set the start of a task under a syncsum.
 */
function bruteForce(index: ModelIndex, outcomes: Outcomes, horizon: number): number {
  const activities = index.activities;
  const busy = new Map<string, [number, number][]>();
  const chosen: ExecutedActivity[] = [];
  let best = 0;
  const visit = (i: number): void => {
    const a = activities[i];
    if (!a) {
      best = Math.max(best, evaluateQuality(index, chosen).rootQuality);
      return;
    }
    visit(i + 1);
    const o = outcomes.get(a.id)!;
    const agent = a.resources[0]!;
    const intervals = busy.get(agent) ?? [];
    busy.set(agent, intervals);
    for (let s = 0; s < horizon; s++) {
      const e = s + o.durationTicks;
      if (intervals.some(([p, q]) => s < q && p < e)) continue;
      intervals.push([s, e]);
      chosen.push({ activityId: a.id, startTicks: s, endTicks: e, quality: o.quality });
      visit(i + 1);
      intervals.pop();
      chosen.pop();
    }
  };
  visit(0);
  return best;
}

describe("the HiGHS adapter", () => {
  it("solves a MIP and reports its optimum, bound and nonzero values", async () => {
    const lp = [
      "Maximize",
      " obj: 30 chairs + 50 tables",
      "Subject To",
      " carpentry: chairs + 2 tables <= 40",
      " finishing: 2 chairs + tables <= 50",
      " r: spare <= 0",
      "Generals",
      " chairs tables",
      "End",
    ].join("\n");
    const s = await solve(lp, { timeLimitSeconds: 10 });
    expect(s).toMatchObject({ status: "optimal", objective: 1100, bound: 1100 });
    expect(Object.fromEntries(s.values)).toEqual({ chairs: 20, tables: 10 });
    expect(s.seconds).toBeGreaterThanOrEqual(0);
  });

  it("reports infeasibility", async () => {
    const lp = "Maximize\n obj: x\nSubject To\n c1: x >= 2\n c2: x <= 1\nBinary\n x\nEnd\n";
    expect((await solve(lp, { timeLimitSeconds: 10 })).status).toBe("infeasible");
  });

  it("reports a broken model as an error and keeps working", async () => {
    const broken = await solve("Maximize\n obj: x +\nSubject To\n c1: <= <= 2\nEnd\n", {
      timeLimitSeconds: 10,
    });
    expect(broken.status).toBe("error");
    const lp = "Maximize\n obj: x\nSubject To\n c1: x <= 1\nBinary\n x\nEnd\n";
    expect(await solve(lp, { timeLimitSeconds: 10 })).toMatchObject({
      status: "optimal",
      objective: 1,
    });
  });

  it("stops at the time limit with the incumbent and HiGHS's dual bound", async () => {
    // A two-constraint knapsack that takes HiGHS seconds to prove optimal.
    let seed = 1;
    const draw = (): number => {
      seed = (seed * 16807) % 2147483647;
      return (seed % 1000) + 1000;
    };
    const profit: string[] = [];
    const weight: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < 60; i++) {
      profit.push(`+ ${draw()} y${i}`);
      weight.push(`+ ${draw()} y${i}`);
      names.push(`y${i}`);
    }
    const lp = [
      "Maximize",
      ` obj: ${profit.join(" ")}`,
      "Subject To",
      ` c1: ${weight.join(" ")} <= 30017`,
      ` c2: ${profit.join(" ")} <= 31011`,
      "Binary",
      ` ${names.join(" ")}`,
      "End",
    ].join("\n");
    // On a loaded machine the first limit may come before HiGHS has any incumbent: a longer
    // limit is tried then, each still far below the time the proof takes.
    let s = await solve(lp, { timeLimitSeconds: 0.05 });
    for (const limit of [0.2, 0.8]) {
      if (Number.isFinite(s.objective)) break;
      s = await solve(lp, { timeLimitSeconds: limit });
    }
    expect(s.status).toBe("time-limit");
    // The bound may still be the trivial one when the limit comes this early.
    expect(s.objective).toBeLessThanOrEqual(31011);
    // A dual bound is a floating-point figure: at the optimum, within HiGHS's tolerance of it.
    expect(s.bound).toBeGreaterThanOrEqual(31011 - 1e-6);
    expect(Number.isFinite(s.bound)).toBe(true);
    expect(s.values.size).toBeGreaterThan(0);
  });
});

describe("prescientOptimal on HiGHS: small networks", () => {
  it("max over two methods on one agent runs the better one", async () => {
    const r = await pos(
      trial([
        task("root", "max", ["a", "b"], { deadlineTicks: 10 }),
        act("a", "r1", 3, 5),
        act("b", "r1", 3, 8),
      ]),
    );
    expect(r.quality).toBe(8);
    expect(startOf(r, "b")).toBeDefined();
  });

  it("min needs both children, and gets nothing when they do not both fit", async () => {
    const nodes = (deadline: number): ModelNode[] => [
      task("root", "min", ["a", "b"], { deadlineTicks: deadline }),
      act("a", "r1", 3, 5),
      act("b", "r1", 3, 3),
    ];
    const both = await pos(trial(nodes(6)));
    expect(both.quality).toBe(3);
    expect(both.executed.map((e) => e.activityId).sort()).toEqual(["a", "b"]);
    expect((await pos(trial(nodes(5)))).quality).toBe(0);
  });

  it("an enables chain forces the order of its links", async () => {
    const chain = (deadline: number) =>
      trial(
        [
          task("root", "sum", ["a", "b", "c"], { deadlineTicks: deadline }),
          act("a", "r1", 2, 1),
          act("b", "r2", 3, 1),
          act("c", "r1", 2, 1),
        ],
        [
          { kind: "enables", from: "a", to: "b" },
          { kind: "enables", from: "b", to: "c" },
        ],
      );
    const r = await pos(chain(7));
    expect(r.quality).toBe(3);
    expect(startOf(r, "a")).toBe(0);
    expect(startOf(r, "b")).toBe(2);
    expect(startOf(r, "c")).toBe(5);
    expect((await pos(chain(6))).quality).toBe(2);
  });

  it("an enables link into a task holds back every activity below it", async () => {
    const r = await pos(
      trial(
        [
          task("root", "sum", ["a", "t"], { deadlineTicks: 10 }),
          act("a", "r1", 4, 1),
          task("t", "sum", ["b", "c"]),
          act("b", "r2", 2, 2),
          act("c", "r2", 2, 3),
        ],
        [{ kind: "enables", from: "a", to: "t" }],
      ),
    );
    expect(r.quality).toBe(6);
    expect(Math.min(startOf(r, "b")!, startOf(r, "c")!)).toBeGreaterThanOrEqual(4);
  });

  it("a deadline excludes a long method", async () => {
    const nodes = (deadline: number): ModelNode[] => [
      task("root", "max", ["long", "short"], { deadlineTicks: deadline }),
      act("long", "r1", 8, 10),
      act("short", "r1", 3, 4),
    ];
    expect((await pos(trial(nodes(6)))).quality).toBe(4);
    expect((await pos(trial(nodes(8)))).quality).toBe(10);
  });

  it("syncsum counts children on two agents only when they start together", async () => {
    const r = await pos(
      trial([
        task("root", "sum", ["s", "c"], { deadlineTicks: 8 }),
        task("s", "syncsum", ["a", "b"]),
        act("a", "r1", 3, 5, { releaseTicks: 2 }),
        act("b", "r2", 3, 4),
        act("c", "r2", 4, 3, { deadlineTicks: 6 }),
      ]),
    );
    expect(r.quality).toBe(12);
    expect(startOf(r, "a")).toBe(startOf(r, "b"));
    // When no common start exists, the better child alone.
    const apart = await pos(
      trial([
        task("root", "syncsum", ["a", "b"], { deadlineTicks: 10 }),
        act("a", "r1", 3, 5, { releaseTicks: 5 }),
        act("b", "r2", 3, 4, { deadlineTicks: 5 }),
      ]),
    );
    expect(apart.quality).toBe(5);
  });

  it("syncsum over tasks counts the tasks that start at its start", async () => {
    const r = await pos(
      trial([
        task("root", "syncsum", ["t", "u"], { deadlineTicks: 10 }),
        task("t", "sum", ["a", "b"]),
        act("a", "r1", 2, 1),
        act("b", "r1", 2, 2),
        task("u", "max", ["c"]),
        act("c", "r2", 3, 4, { releaseTicks: 1 }),
      ]),
    );
    // t starts with a or b at 1 (the other after it) together with c: 1 + 2 + 4.
    expect(r.quality).toBe(7);
  });

  it("a run that earns nothing can start a task together with the syncsum's other child", async () => {
    // r1 cannot start m1 and m2 together; a zero-quality run of m0 at m2's start starts t.
    const t = trial([
      task("root", "syncsum", ["t", "m2"], { deadlineTicks: 4 }),
      task("t", "sum", ["m0", "m1"]),
      act("m0", "r2", 1, 0),
      act("m1", "r1", 1, 2),
      act("m2", "r1", 1, 5),
    ]);
    const r = await pos(t);
    expect(r.quality).toBe(7);
    expect(startOf(r, "m0")).toBe(startOf(r, "m2"));
    expect(r.quality).toBe(bruteForce(t.index, t.outcomes, 4));
  });

  it("such a run waits for the enablers of the tasks it starts", async () => {
    // z enables t and accrues at 2: m0 may start t no earlier, and m1 runs after m2.
    const nodes = (deadline: number): ModelNode[] => [
      task("root", "sum", ["s", "z"], { deadlineTicks: deadline }),
      task("s", "syncsum", ["t", "m2"]),
      task("t", "sum", ["m0", "m1"]),
      act("m0", "r2", 1, 0),
      act("m1", "r1", 1, 2),
      act("m2", "r1", 1, 5),
      act("z", "r3", 2, 1),
    ];
    const links: Link[] = [{ kind: "enables", from: "z", to: "t" }];
    const agents = ["r1", "r2", "r3"];
    const roomy = trial(nodes(4), links, agents);
    const r = await pos(roomy);
    expect(r.quality).toBe(8);
    expect(startOf(r, "m0")).toBe(2);
    expect(r.quality).toBe(bruteForce(roomy.index, roomy.outcomes, 4));
    const tight = trial(nodes(3), links, agents);
    expect((await pos(tight)).quality).toBe(6);
    expect(bruteForce(tight.index, tight.outcomes, 3)).toBe(6);
  });

  it("a capacity conflict keeps the better of two methods of one agent", async () => {
    const nodes = (agent: string): ModelNode[] => [
      task("root", "sum", ["a", "b"], { deadlineTicks: 6 }),
      act("a", "r1", 4, 5),
      act("b", agent, 4, 3),
    ];
    expect((await pos(trial(nodes("r1")))).quality).toBe(5);
    expect((await pos(trial(nodes("r2")))).quality).toBe(8);
  });

  it("nothing to earn: quality 0 with an empty schedule", async () => {
    const r = await pos(
      trial([task("root", "sum", ["a"], { deadlineTicks: 10 }), act("a", "r1", 3, 0)]),
    );
    expect(r).toMatchObject({ quality: 0, bound: 0, executed: [] });
  });
});

// Random small networks against exhaustive search.
const qafs: Qaf[] = ["min", "max", "sum", "syncsum"];
const optionalTick = (min: number, max: number) =>
  fc.option(fc.integer({ min, max }), { nil: undefined });
const networkArb = fc.record({
  horizon: fc.integer({ min: 4, max: 8 }),
  rootQaf: fc.constantFrom(...qafs),
  tasks: fc.array(
    fc.record({
      qaf: fc.constantFrom(...qafs),
      nested: fc.boolean(),
      release: optionalTick(0, 3),
      length: optionalTick(3, 9),
    }),
    { maxLength: 3 },
  ),
  activities: fc.array(
    fc.record({
      parent: fc.integer({ min: 0, max: 3 }),
      agent: fc.integer({ min: 0, max: 1 }),
      duration: fc.integer({ min: 1, max: 3 }),
      quality: fc.constantFrom(0, 1, 2, 3, 5),
      release: optionalTick(0, 4),
      length: optionalTick(1, 8),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  links: fc.array(fc.tuple(fc.nat(20), fc.nat(20)), { maxLength: 4 }),
});
type Network = typeof networkArb extends fc.Arbitrary<infer T> ? T : never;

/** A node's own window: an optional release, and an optional deadline `length` after it. */
function window(release: number | undefined, length: number | undefined) {
  return {
    ...(release !== undefined ? { releaseTicks: release } : {}),
    ...(length !== undefined ? { deadlineTicks: (release ?? 0) + length } : {}),
  };
}

function buildNetwork(net: Network): { index: ModelIndex; outcomes: Outcomes } {
  const children = new Map<string, string[]>([["root", []]]);
  for (let k = 0; k < net.tasks.length; k++) children.set(`t${k}`, []);
  const parentOfTask = (k: number): string =>
    k >= 1 && net.tasks[k]?.nested ? `t${k - 1}` : "root";
  const activities = net.activities.map((a, i) => {
    const parent = a.parent > 0 && a.parent <= net.tasks.length ? `t${a.parent - 1}` : "root";
    children.get(parent)!.push(`m${i}`);
    return act(`m${i}`, `r${a.agent + 1}`, a.duration, a.quality, window(a.release, a.length));
  });
  // Tasks without children are left out; a nested task k sits under task k - 1.
  const kept = new Set<number>();
  for (let k = net.tasks.length - 1; k >= 0; k--) {
    if (children.get(`t${k}`)!.length === 0) continue;
    kept.add(k);
    children.get(parentOfTask(k))!.push(`t${k}`);
  }
  const tasks = net.tasks.flatMap((t, k) =>
    kept.has(k) ? [task(`t${k}`, t.qaf, children.get(`t${k}`)!, window(t.release, t.length))] : [],
  );
  const nodes: ModelNode[] = [
    task("root", net.rootQaf, children.get("root")!, { deadlineTicks: net.horizon }),
    ...tasks,
    ...activities,
  ];
  // Keep each link that leaves the model valid (no self, tree or cyclic links).
  const ids = nodes.slice(1).map((n) => n.id);
  const links: Link[] = [];
  for (const [f, t] of net.links) {
    const link: Link = { kind: "enables", from: ids[f % ids.length]!, to: ids[t % ids.length]! };
    const ok = indexModel({
      name: "probe",
      resources: [{ id: "r1" }, { id: "r2" }],
      root: "root",
      nodes,
      links: [...links, link],
    }).ok;
    if (ok && link.from !== link.to) links.push(link);
  }
  return trial(nodes, links);
}

describe("prescientOptimal on HiGHS: random networks against exhaustive search", () => {
  it("finds the best root quality of any schedule", async () => {
    await fc.assert(
      fc.asyncProperty(networkArb, async (net) => {
        const t = buildNetwork(net);
        const result = await pos(t);
        expect(result.quality).toBe(bruteForce(t.index, t.outcomes, net.horizon));
        expect(result.quality).toBeLessThanOrEqual(buildPosProblem(t.index, t.outcomes).upperBound);
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * A backup-like network (CSC §5), built here so the test does not depend on the scenario
 * generators: a sum root over `problems` min problems, each over `windows` sum windows
 * [32 w, 32 w + 40] with one max node over a primary method (the problem's own agent, 3..13
 * ticks, success 0.5..1) and three backups (a random agent of 10, 23..25 ticks, released 1..7
 * ticks into the window, success 0.8..0.9). Outcomes are drawn directly.
 */
function backupLike(windows: number, seed: number, problems = 20) {
  const rng = createRng(seed);
  const draw3 = (low: number): number => {
    const u = rng.next();
    return u < 0.25 ? low : u < 0.75 ? low + 1 : low + 2;
  };
  const success = (percent: number): number => (rng.next() * 100 < percent ? 1 : 0);
  const nodes: ModelNode[] = [];
  const problemIds: string[] = [];
  for (let k = 0; k < problems; k++) {
    const problem = `p${k}`;
    problemIds.push(problem);
    const windowIds: string[] = [];
    for (let w = 0; w < windows; w++) {
      const start = 32 * w;
      const id = `${problem}w${w}`;
      windowIds.push(id);
      const methods = [
        act(`${id}/primary`, `primary-${k}`, draw3(7 + rng.int(-4, 4)), success(rng.int(50, 100))),
        ...[1, 2, 3].map((b) =>
          act(`${id}/backup-${b}`, `backup-${rng.int(0, 9)}`, draw3(23), success(rng.int(80, 90)), {
            releaseTicks: start + rng.int(1, 7),
          }),
        ),
      ];
      nodes.push(
        task(id, "sum", [`${id}/any`], { releaseTicks: start, deadlineTicks: start + 40 }),
        task(
          `${id}/any`,
          "max",
          methods.map((m) => m.id),
        ),
        ...methods,
      );
    }
    nodes.push(task(problem, "min", windowIds));
  }
  nodes.push(task("root", "sum", problemIds));
  const agents = [
    ...problemIds.map((_, k) => `primary-${k}`),
    ...Array.from({ length: 10 }, (_, i) => `backup-${i}`),
  ];
  return trial(nodes, [], agents);
}

describe("prescientOptimal on HiGHS: a backup-like network", () => {
  it("solves 20 problems x 10 windows (800 methods) to optimality", async () => {
    const t = backupLike(10, 7);
    const problem = buildPosProblem(t.index, t.outcomes);
    expect(t.index.activities.length).toBe(800);
    const r = await pos(t);
    expect(r.quality).toBeGreaterThan(0);
    expect(r.quality).toBeLessThanOrEqual(problem.upperBound);
  });
});
