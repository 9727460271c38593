import { describe, expect, it } from "vitest";
import { checkSchedule } from "../schedule/check.js";
import type { Schedule } from "../schedule/types.js";
import {
  chooseJobMove,
  lateningJobs,
  repairAcrossPlanners,
  repairInCell,
} from "./planner-repair.js";
import { retimeInOrder } from "./runtime-repair.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";

const at = (resources: Record<string, [string, number, number][]>): Schedule => ({
  version: 1,
  resources: Object.entries(resources).map(([resourceId, acts]) => ({
    resourceId,
    activities: acts.map(([activityId, startTicks, durationTicks]) => ({
      activityId,
      startTicks,
      durationTicks,
    })),
  })),
});

const options = {
  nowTicks: 0,
  objective: "twt" as const,
  seed: 1,
  maxIterations: 200,
  frozen: [],
  version: 2,
};

describe("chooseJobMove", () => {
  const stay = { value: 10, jobWeightedTardiness: 10 };
  it("takes the planner that runs the job with the least tardiness, if the whole plan is better", () => {
    expect(
      chooseJobMove({
        fromPlannerId: "P1",
        stay,
        offers: [
          { plannerId: "P2", value: 8, jobWeightedTardiness: 4 },
          { plannerId: "P3", value: 9, jobWeightedTardiness: 2 },
          { plannerId: "P1", value: 0, jobWeightedTardiness: 0 },
        ],
      }),
    ).toEqual({ plannerId: "P3", value: 9, jobWeightedTardiness: 2 });
  });
  it("keeps the job where it is when no offer is better for it and for the plan", () => {
    expect(
      chooseJobMove({
        fromPlannerId: "P1",
        stay,
        offers: [
          // Less late, but the plan as a whole worse: another job pays for it.
          { plannerId: "P2", value: 12, jobWeightedTardiness: 0 },
          // A better plan, but the job itself no less late.
          { plannerId: "P3", value: 9, jobWeightedTardiness: 10 },
        ],
      }),
    ).toBeUndefined();
    expect(chooseJobMove({ fromPlannerId: "P1", stay, offers: [] })).toBeUndefined();
  });
});

// J1 (weight 5, due 5) waits on m1 behind J2 (slack: due 20): fine until m1 breaks down over
// [0, 2). J1 is P1's, J2 is P2's.
const shop = jobShopModel([
  { id: "J1", ops: [["m1", 2]], due: 5, weight: 5 },
  { id: "J2", ops: [["m1", 3]], due: 20 },
  { id: "J3", ops: [["m2", 2]], due: 20 },
]);
const index = indexed(shop);
const before = at({
  m1: [
    ["J2.1", 0, 3],
    ["J1.1", 3, 2],
  ],
  m2: [["J3.1", 0, 2]],
});
const unavailable = [{ resourceId: "m1", fromTicks: 0, untilTicks: 2 }];
const retimed = retimeInOrder(index, before, { nowTicks: 0, frozen: [], unavailable });
const assignments = [
  { jobId: "J1", plannerId: "P1" },
  { jobId: "J2", plannerId: "P2" },
  { jobId: "J3", plannerId: "P1" },
];

describe("repairInCell", () => {
  it("re-plans only the planner's jobs: the others' slots are its calendar", () => {
    expect(lateningJobs(index, before, retimed)).toEqual([{ jobId: "J1", before: 0, after: 10 }]);
    // P1 cannot put J1 ahead of P2's J2: J1 stays at [5, 7).
    const p1 = repairInCell(index, retimed, ["J1", "J3"], { ...options, unavailable })!;
    const m1 = p1.resources.find((r) => r.resourceId === "m1")!.activities;
    expect(m1.find((a) => a.activityId === "J2.1")?.startTicks).toBe(2);
    expect(m1.find((a) => a.activityId === "J1.1")?.startTicks).toBe(5);
    // P2, holding both, puts the urgent one first.
    const p2 = repairInCell(index, retimed, ["J1", "J2"], { ...options, unavailable })!;
    expect(checkSchedule(index, p2, { requireAll: true })).toEqual([]);
    expect(
      p2.resources.find((r) => r.resourceId === "m1")!.activities.map((a) => a.activityId),
    ).toEqual(["J1.1", "J2.1"]);
  });
});

describe("repairAcrossPlanners", () => {
  it("moves a job its planner cannot settle in its cell to a planner that runs it with less tardiness", () => {
    const r = repairAcrossPlanners(
      index,
      { before, schedule: retimed, assignments, planners: ["P1", "P2"] },
      { ...options, unavailable },
    );
    expect(r.outcome).toBe("moved");
    expect(r.move).toMatchObject({ jobId: "J1", fromPlannerId: "P1", toPlannerId: "P2" });
    expect(r.move!.valueAfter).toBeLessThan(r.move!.valueBefore);
    expect(r.assignments).toContainEqual({ jobId: "J1", plannerId: "P2" });
    expect(lateningJobs(index, before, r.schedule)).toEqual([]);
    expect(checkSchedule(index, r.schedule, { requireAll: true })).toEqual([]);
  });

  it("moves nothing that is pinned, nor to a planner whose cell cannot run it: the lead time is prolonged", () => {
    for (const input of [{ pinned: ["J1"] }, { cells: { P1: ["m1", "m2"], P2: ["m2"] } }]) {
      const r = repairAcrossPlanners(
        index,
        { before, schedule: retimed, assignments, planners: ["P1", "P2"], ...input },
        { ...options, unavailable },
      );
      expect(r.outcome).toBe("extended");
      expect(r.move).toBeUndefined();
      expect(r.assignments).toEqual(assignments);
      expect(r.extended).toEqual([
        expect.objectContaining({ jobId: "J1", plannerId: "P1", dueTicks: 7 }),
      ]);
    }
  });

  it("settles in the cell when the planner's own repair brings the job back, and does nothing when nothing got later", () => {
    // J1 and J2 both P1's: its own repair puts J1 first.
    const mine = assignments.map((a) => ({ ...a, plannerId: "P1" }));
    const r = repairAcrossPlanners(
      index,
      { before, schedule: retimed, assignments: mine, planners: ["P1", "P2"] },
      { ...options, unavailable },
    );
    expect(r.outcome).toBe("settled");
    expect(r.cellRepairs).toEqual(["P1"]);
    expect(lateningJobs(index, before, r.schedule)).toEqual([]);
    const calm = repairAcrossPlanners(
      index,
      { before, schedule: before, assignments, planners: ["P1", "P2"] },
      { ...options, unavailable: [] },
    );
    expect(calm).toMatchObject({ outcome: "settled", schedule: before, cellRepairs: [] });
  });
});
