import { describe, expect, it } from "vitest";
import { checkSchedule } from "../schedule/check.js";
import { balanceJobs, type ManagedJob, managedJobsOf } from "./manager.js";
import {
  admitJobs,
  balanceBoundTicks,
  balanceJobGroups,
  linkedJobGroups,
  planAcrossPlanners,
  plannerCells,
  plannerIds,
  planWithJobMoves,
  proposeJobMoves,
} from "./planners.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";

const job = (id: string, ops: [string, number][]): ManagedJob => ({
  id,
  operations: ops.map(([r, d]) => ({ resourceIds: [r], durationTicks: d })),
});

// Four jobs over three machines: every job visits at least two, so no disjoint cell holds one.
const shop = jobShopModel([
  {
    id: "A",
    ops: [
      ["m1", 4],
      ["m2", 3],
      ["m3", 2],
    ],
    due: 12,
  },
  {
    id: "B",
    ops: [
      ["m2", 5],
      ["m1", 2],
    ],
    due: 10,
  },
  {
    id: "C",
    ops: [
      ["m1", 3],
      ["m3", 4],
    ],
    due: 9,
  },
  {
    id: "D",
    ops: [
      ["m3", 2],
      ["m2", 2],
      ["m1", 1],
    ],
    due: 8,
    weight: 3,
  },
]);
const index = indexed(shop);
const jobs = managedJobsOf(index);
const planners = plannerIds(2).map((id) => ({ id }));
const options = { nowTicks: 0, objective: "twt" as const, seed: 1, maxIterations: 200 };

describe("plannerIds", () => {
  it("names P1..Pn and refuses a count below 1 with one line", () => {
    expect(plannerIds(3)).toEqual(["P1", "P2", "P3"]);
    expect(() => plannerIds(0)).toThrow("planners: expected a whole number at least 1, got 0");
  });
});

describe("plannerCells", () => {
  it("gives each planner the resources its jobs may request; cells overlap", () => {
    const cells = plannerCells(
      jobs,
      [
        { jobId: "A", plannerId: "P1" },
        { jobId: "B", plannerId: "P2" },
        { jobId: "C", plannerId: "P1" },
        { jobId: "D", plannerId: "P2" },
      ],
      ["P2", "P1"],
    );
    expect(cells).toEqual([
      { id: "P1", resources: ["m1", "m2", "m3"], jobs: ["A", "C"], loadTicks: 16 },
      { id: "P2", resources: ["m1", "m2", "m3"], jobs: ["B", "D"], loadTicks: 12 },
    ]);
  });
});

describe("balanceJobs across planners", () => {
  it("keeps max load - min load within the largest job's work", () => {
    const many = Array.from({ length: 9 }, (_, k) =>
      job(`J${k}`, [
        ["m1", 1 + ((k * 7) % 5)],
        ["m2", 2 + ((k * 3) % 4)],
      ]),
    );
    const balance = balanceJobs(many, planners);
    const loads = Object.values(balance.loads);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(balanceBoundTicks(many));
    expect(balance.assignments.map((a) => a.jobId).sort()).toEqual(many.map((j) => j.id).sort());
  });
});

describe("admitJobs", () => {
  it("gives a new job to the less loaded planner and keeps the others where they are", () => {
    const current = [
      { jobId: "A", plannerId: "P1" },
      { jobId: "C", plannerId: "P1" },
      { jobId: "B", plannerId: "P2" },
    ];
    const r = admitJobs(jobs, current, planners);
    expect(r.admitted).toEqual([{ jobId: "D", plannerId: "P2" }]);
    expect(r.assignments.slice(0, 3)).toEqual(current);
  });
});

describe("linked jobs", () => {
  // D waits for B (a job's `after`): they must share a planner, which then plans both.
  const linked = indexed({
    ...shop,
    links: [...shop.links, { kind: "enables", from: "B.2", to: "D.1" }],
  });
  it("are grouped, in model order", () => {
    expect(linkedJobGroups(linked)).toEqual([["A"], ["B", "D"], ["C"]]);
    expect(linkedJobGroups(index)).toEqual([["A"], ["B"], ["C"], ["D"]]);
  });
  it("share a planner, and the plan across planners honours the link", () => {
    const groups = linkedJobGroups(linked);
    const { assignments, unassigned } = balanceJobGroups(managedJobsOf(linked), groups, planners);
    expect(unassigned).toEqual([]);
    const of = new Map(assignments.map((a) => [a.jobId, a.plannerId]));
    expect(of.get("B")).toBe(of.get("D"));
    expect(new Set(of.values()).size).toBe(2);
    const r = planAcrossPlanners(linked, assignments, options);
    if (!r.ok) throw new Error(r.error.reason);
    expect(checkSchedule(linked, r.value, { requireAll: true })).toEqual([]);
  });
  it("are not moved apart", () => {
    const moves = proposeJobMoves({
      jobs,
      assignments: [
        { jobId: "C", plannerId: "P1" },
        { jobId: "A", plannerId: "P2" },
        { jobId: "B", plannerId: "P2" },
        { jobId: "D", plannerId: "P2" },
      ],
      planners,
      lateness: [{ jobId: "D", weightedTardiness: 9 }],
      boundTicks: 99,
      pinned: ["B", "D"],
    });
    expect(moves).toEqual([]);
  });
});

describe("proposeJobMoves", () => {
  const assignments = [
    { jobId: "A", plannerId: "P1" },
    { jobId: "C", plannerId: "P1" },
    { jobId: "B", plannerId: "P2" },
    { jobId: "D", plannerId: "P2" },
  ];
  it("moves the latest job to the other planner when the loads stay within the bound", () => {
    // P1 has C (7), P2 has A, B and D (21): moving D gives 12 and 16, B gives 14 and 14.
    const uneven = [
      { jobId: "C", plannerId: "P1" },
      { jobId: "A", plannerId: "P2" },
      { jobId: "B", plannerId: "P2" },
      { jobId: "D", plannerId: "P2" },
    ];
    const moves = proposeJobMoves({
      jobs,
      assignments: uneven,
      planners,
      lateness: [
        { jobId: "B", weightedTardiness: 2 },
        { jobId: "D", weightedTardiness: 9 },
      ],
      boundTicks: balanceBoundTicks(jobs),
    });
    expect(moves.map((m) => [m.jobId, m.toPlannerId])).toEqual([
      ["D", "P1"],
      ["B", "P1"],
    ]);
  });
  it("does not move a job past the balance bound, nor one already moved", () => {
    const lateness = [{ jobId: "A", weightedTardiness: 5 }];
    // A (9) to P2: loads 7 and 21, 14 apart: over a bound of 9.
    expect(proposeJobMoves({ jobs, assignments, planners, lateness, boundTicks: 9 })).toEqual([]);
    expect(
      proposeJobMoves({
        jobs,
        assignments,
        planners,
        lateness,
        boundTicks: 99,
        alreadyMoved: ["A"],
      }),
    ).toEqual([]);
  });
});

describe("planAcrossPlanners", () => {
  const assignments = balanceJobs(jobs, planners).assignments;
  it("schedules every job once, no two planners on the same resource time", () => {
    const r = planAcrossPlanners(index, assignments, options);
    if (!r.ok) throw new Error(r.error.reason);
    expect(checkSchedule(index, r.value, { requireAll: true })).toEqual([]);
    const ids = r.value.resources.flatMap((res) => res.activities.map((a) => a.activityId));
    expect(ids.sort()).toEqual(index.activities.map((a) => a.id).sort());
  });
  it("the first planner's jobs are planned as if alone; the second plans around them", () => {
    const p2Activities = assignments
      .filter((a) => a.plannerId === "P2")
      .flatMap((a) => index.activities.filter((x) => x.id.startsWith(`${a.jobId}.`)))
      .map((x) => x.id);
    const alone = planAcrossPlanners(
      index,
      assignments.filter((a) => a.plannerId === "P1"),
      { ...options, cancelled: p2Activities },
    );
    const both = planAcrossPlanners(index, assignments, options);
    if (!alone.ok || !both.ok) throw new Error("plan failed");
    const p1 = new Set(
      assignments
        .filter((a) => a.plannerId === "P1")
        .flatMap((a) => index.activities.filter((x) => x.id.startsWith(`${a.jobId}.`))),
    );
    const slotsOf = (s: typeof alone.value) =>
      s.resources.flatMap((r) =>
        r.activities.filter((a) => [...p1].some((x) => x.id === a.activityId)),
      );
    expect(slotsOf(both.value)).toEqual(slotsOf(alone.value));
  });
  it("is deterministic for a seed", () => {
    expect(planAcrossPlanners(index, assignments, options)).toEqual(
      planAcrossPlanners(index, assignments, options),
    );
  });
});

describe("planWithJobMoves", () => {
  it("keeps a move only when the whole plan improves, and every job stays on one planner", () => {
    // Everything on P2 but D: D's planner commits first, so the late jobs may move to P1.
    const assignments = [
      { jobId: "A", plannerId: "P2" },
      { jobId: "B", plannerId: "P2" },
      { jobId: "C", plannerId: "P1" },
      { jobId: "D", plannerId: "P1" },
    ];
    const r = planWithJobMoves(index, { jobs, planners, assignments, maxMoves: 3 }, options);
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.assignments.map((a) => a.jobId).sort()).toEqual(["A", "B", "C", "D"]);
    for (const m of r.value.moves) expect(m.accepted).toBe(m.valueAfter < m.valueBefore);
    expect(checkSchedule(index, r.value.schedule, { requireAll: true })).toEqual([]);
  });
});
