import { describe, expect, it } from "vitest";
import { fixed } from "../../model/distribution.js";
import { indexModel, type ModelIndex } from "../../model/model-index.js";
import type { ActivityNode, Link, ModelNode, Qaf } from "../../model/types.js";
import type { SampledOutcome } from "../../simulation/outcomes.js";
import { buildPosProblem, type MipSolution, type MipSolver, prescientOptimal } from "./index.js";

/** An activity with a known outcome: `[duration, quality]`. */
const act = (
  id: string,
  resource: string,
  [duration, quality]: [number, number],
  extra: Partial<ActivityNode> = {},
): ActivityNode => ({
  kind: "activity",
  id,
  resources: [resource],
  duration: fixed(duration),
  quality: fixed(quality),
  ...extra,
});

/** A root task over `children`, its own window [0, deadline], and the trial's outcomes. */
function network(
  qaf: Qaf,
  children: ModelNode[],
  options: { deadline?: number; links?: Link[]; extra?: ModelNode[] } = {},
): { index: ModelIndex; outcomes: Map<string, SampledOutcome> } {
  const nodes: ModelNode[] = [
    {
      kind: "task",
      id: "root",
      qaf,
      children: children.map((c) => c.id),
      deadlineTicks: options.deadline ?? 10,
    },
    ...children,
    ...(options.extra ?? []),
  ];
  const r = indexModel({
    name: "pos",
    resources: [{ id: "r1" }, { id: "r2" }],
    root: "root",
    nodes,
    links: options.links ?? [],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  const outcomes = new Map<string, SampledOutcome>();
  for (const n of nodes)
    if (n.kind === "activity")
      outcomes.set(n.id, {
        durationTicks: n.duration[0]!.value,
        quality: n.quality[0]!.value,
      });
  return { index: r.value, outcomes };
}

const ones = (...names: string[]): Map<string, number> => new Map(names.map((n) => [n, 1]));

describe("buildPosProblem", () => {
  it("one start variable per feasible start tick, plus the root quality", () => {
    const { index, outcomes } = network("sum", [act("a", "r1", [3, 5]), act("f", "r2", [8, 1])]);
    const p = buildPosProblem(index, outcomes);
    // Within [0, 10], a can start at 0..7 (x0..x7) and f at 0..2 (x8..x10).
    expect(p.variables).toBe(8 + 3 + 1);
    expect(p.upperBound).toBe(6);
    expect(p.lp).toMatch(/^Maximize\n/);
    expect(p.lp).toContain("\nBinary\n");
    expect(p.lp).toMatch(/\nEnd\n$/);
    expect(p.decode(ones("x2", "x10"))).toEqual([
      { activityId: "a", startTicks: 2, endTicks: 5, quality: 5 },
      { activityId: "f", startTicks: 2, endTicks: 10, quality: 1 },
    ]);
    expect(p.decode(new Map())).toEqual([]);
  });

  it("ends every run by the latest release plus the total duration (no idle tick after it)", () => {
    const { index, outcomes } = network("sum", [act("a", "r1", [3, 5], { releaseTicks: 2 })]);
    const p = buildPosProblem(index, outcomes);
    // Only a start at 2 can end by 2 + 3.
    expect(p.variables).toBe(1 + 1);
    expect(p.decode(ones("x0"))).toEqual([
      { activityId: "a", startTicks: 2, endTicks: 5, quality: 5 },
    ]);
  });

  it("gives no variables to zero-quality activities nor to those that cannot fit their window", () => {
    const { index, outcomes } = network("sum", [
      act("a", "r1", [3, 5]),
      act("zero", "r1", [3, 0]),
      act("long", "r1", [12, 4]),
      act("late", "r2", [3, 4], { releaseTicks: 8 }),
    ]);
    const p = buildPosProblem(index, outcomes);
    expect(p.variables).toBe(8 + 1);
    expect(p.upperBound).toBe(5);
  });

  it("starts an enables target no earlier than its source can accrue", () => {
    const { index, outcomes } = network(
      "sum",
      [act("a", "r1", [3, 5]), act("b", "r2", [2, 1]), act("f", "r2", [10, 1])],
      { links: [{ kind: "enables", from: "a", to: "b" }] },
    );
    const p = buildPosProblem(index, outcomes);
    // a: 0..7 (x0..x7); b: 3..8 (x8..x13); f: 0 (x14).
    expect(p.variables).toBe(8 + 6 + 1 + 1);
    expect(p.decode(ones("x0", "x8"))).toEqual([
      { activityId: "a", startTicks: 0, endTicks: 3, quality: 5 },
      { activityId: "b", startTicks: 3, endTicks: 5, quality: 1 },
    ]);
  });

  it("drops the targets of a source that can never accrue, and their tasks", () => {
    const { index, outcomes } = network("min", [act("a", "r1", [3, 0]), act("b", "r2", [2, 1])], {
      links: [{ kind: "enables", from: "a", to: "b" }],
    });
    const p = buildPosProblem(index, outcomes);
    expect(p.variables).toBe(1);
    expect(p.upperBound).toBe(0);
  });

  it("adds capacity rows only between activities of one agent", () => {
    const apart = network("sum", [act("a", "r1", [3, 5]), act("b", "r2", [3, 4])]);
    const together = network("sum", [act("a", "r1", [3, 5]), act("b", "r1", [3, 4])]);
    const p = buildPosProblem(apart.index, apart.outcomes);
    const q = buildPosProblem(together.index, together.outcomes);
    expect(p.variables).toBe(q.variables);
    // Two "runs at most once" rows and the root's sum row.
    expect(p.constraints).toBe(3);
    expect(q.constraints).toBeGreaterThan(3);
  });

  it("supports syncsum over tasks and over activities", () => {
    const { index, outcomes } = network(
      "syncsum",
      [act("a", "r1", [3, 5]), { kind: "task", id: "t", qaf: "max", children: ["b", "c"] }],
      { extra: [act("b", "r2", [2, 1]), act("c", "r2", [4, 2])] },
    );
    const p = buildPosProblem(index, outcomes);
    expect(p.upperBound).toBe(7);
    expect(p.lp).toMatch(/\bv0\b/);
  });

  it("gives runs that earn nothing variables only below a task child of a syncsum", () => {
    const overActivities = network("syncsum", [act("a", "r1", [3, 5]), act("b", "r2", [2, 0])]);
    const p = buildPosProblem(overActivities.index, overActivities.outcomes);
    expect(p.lp).not.toMatch(/\by0\b/);
    const overTask = network(
      "syncsum",
      [act("a", "r1", [3, 5]), { kind: "task", id: "t", qaf: "sum", children: ["b", "c"] }],
      { extra: [act("b", "r2", [2, 0]), act("c", "r2", [2, 1])] },
    );
    const q = buildPosProblem(overTask.index, overTask.outcomes);
    // Runs end by 3 + 2 + 2 = 7: a earns at 0..4 (x0..x4), c at 0..5 (x5..x10); b and c run
    // blank at 0..5 (y0..y11).
    expect(q.lp).toMatch(/\by11\b/);
    expect(q.lp).not.toMatch(/\by12\b/);
    expect(q.decode(ones("x0", "y0", "x8"))).toEqual([
      { activityId: "a", startTicks: 0, endTicks: 3, quality: 5 },
      { activityId: "b", startTicks: 0, endTicks: 2, quality: 0 },
      { activityId: "c", startTicks: 3, endTicks: 5, quality: 1 },
    ]);
  });

  it("needs an outcome for every activity", () => {
    const { index } = network("sum", [act("a", "r1", [3, 5])]);
    expect(() => buildPosProblem(index, new Map())).toThrow(/no sampled outcome for activity "a"/);
  });
});

describe("prescientOptimal (with a stub solver)", () => {
  const { index, outcomes } = network("max", [act("a", "r1", [3, 5]), act("b", "r1", [4, 8])]);
  const stub =
    (solution: Partial<MipSolution>): MipSolver =>
    async () => ({
      status: "optimal",
      objective: 8,
      bound: 8,
      values: new Map(),
      ...solution,
    });
  // Runs end by 3 + 4 = 7: a starts at 0..4 (x0..x4), b at 0..3 (x5..x8).
  const bAt1 = ones("x6");

  it("re-evaluates the decoded schedule", async () => {
    const r = await prescientOptimal(index, outcomes, stub({ values: bAt1, seconds: 0.5 }));
    expect(r).toEqual({
      quality: 8,
      bound: 8,
      gap: 0,
      optimal: true,
      executed: [{ activityId: "b", startTicks: 1, endTicks: 5, quality: 8 }],
      seconds: 0.5,
    });
  });

  it("throws when an optimal objective is not the schedule's quality", async () => {
    await expect(prescientOptimal(index, outcomes, stub({ values: ones("x0") }))).rejects.toThrow(
      /evaluates to root quality 5 but the MIP optimum is 8/,
    );
  });

  it("reports the bound and gap of a solve stopped by the time limit", async () => {
    const r = await prescientOptimal(
      index,
      outcomes,
      stub({ status: "time-limit", objective: 5, bound: 10, values: ones("x0") }),
    );
    // The solver's bound 10 is above the capacity-free bound 8.
    expect(r).toMatchObject({ quality: 5, bound: 8, gap: 3 / 8, optimal: false });
  });

  it("throws on a solver error", async () => {
    await expect(
      prescientOptimal(index, outcomes, stub({ status: "error", message: "boom" })),
    ).rejects.toThrow(/MIP solver reported error: boom/);
  });
});
