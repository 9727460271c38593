import { describe, expect, it } from "vitest";
import type { Conflict } from "./integrate.js";
import {
  allowOvertime,
  applyProblemAdjustments,
  cancelJob,
  dueDateExtensions,
  extendLeadTime,
  lessLoadedAlternative,
  moveJobToPlanner,
  moveOperationToResource,
  proposeProblemAdjustments,
} from "./problem-adjustment.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";
import type { Assignment } from "./types.js";

const model = jobShopModel([
  {
    id: "A",
    ops: [
      ["m1", 3],
      [["m2", "m3"], 2],
    ],
    due: 10,
    weight: 2,
  },
  { id: "B", ops: [["m2", 4]], deadline: 9 },
]);
const index = indexed(model);
const assignments: Assignment[] = [
  {
    activityId: "A.1",
    resourceId: "m1",
    window: { earliestTicks: 0, latestTicks: 5 },
    durationTicks: 3,
  },
  {
    activityId: "A.2",
    resourceId: "m2",
    window: { earliestTicks: 3, latestTicks: 8 },
    durationTicks: 2,
  },
  {
    activityId: "B.1",
    resourceId: "m2",
    window: { earliestTicks: 0, latestTicks: 5 },
    durationTicks: 4,
  },
];
const node = (m: typeof model, id: string) => m.nodes.find((n) => n.id === id)!;

describe("extendLeadTime (prolong lead time)", () => {
  it("moves the due date and deadline later, never earlier", () => {
    const r = extendLeadTime(model, "A", { dueTicks: 15 });
    expect(r.ok && node(r.value, "A").due).toEqual({ dueTicks: 15, weight: 2 });
    const earlier = extendLeadTime(model, "A", { dueTicks: 5 });
    expect(earlier.ok && node(earlier.value, "A").due?.dueTicks).toBe(10);
    const d = extendLeadTime(model, "B", { deadlineTicks: 12, dueTicks: 12 });
    expect(d.ok && node(d.value, "B")).toMatchObject({
      deadlineTicks: 12,
      due: { dueTicks: 12, weight: 1 },
    });
  });
  it("an unknown job is an error value", () => {
    expect(extendLeadTime(model, "A.1", { dueTicks: 1 })).toMatchObject({
      ok: false,
      error: { kind: "unknown-job" },
    });
  });
});

describe("allowOvertime", () => {
  it("removes the overtime from the unavailable time, cutting an interval in two", () => {
    expect(
      allowOvertime(
        [
          { resourceId: "m1", fromTicks: 10, untilTicks: 20 },
          { resourceId: "m2", fromTicks: 10, untilTicks: 20 },
        ],
        "m1",
        { fromTicks: 12, untilTicks: 15 },
      ),
    ).toEqual([
      { resourceId: "m1", fromTicks: 10, untilTicks: 12 },
      { resourceId: "m1", fromTicks: 15, untilTicks: 20 },
      { resourceId: "m2", fromTicks: 10, untilTicks: 20 },
    ]);
  });
});

describe("cancelJob", () => {
  it("removes the job, its operations and their links", () => {
    const r = cancelJob(model, "A");
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.cancelledActivityIds).toEqual(["A.1", "A.2"]);
    expect(indexed(r.value.model).activities.map((a) => a.id)).toEqual(["B.1"]);
    expect(r.value.model.links).toEqual([]);
  });
  it("refuses to cancel the last job", () => {
    const one = jobShopModel([{ id: "A", ops: [["m1", 1]] }]);
    expect(cancelJob(one, "A")).toMatchObject({ ok: false, error: { kind: "last-job" } });
  });
});

describe("moveJobToPlanner", () => {
  it("changes the job's planner", () => {
    expect(
      moveJobToPlanner(
        [
          { jobId: "A", plannerId: "p1" },
          { jobId: "B", plannerId: "p1" },
        ],
        "B",
        "p2",
      ),
    ).toEqual({
      ok: true,
      value: [
        { jobId: "A", plannerId: "p1" },
        { jobId: "B", plannerId: "p2" },
      ],
    });
    expect(moveJobToPlanner([], "B", "p2").ok).toBe(false);
  });
});

describe("moveOperationToResource", () => {
  it("moves an operation to another capable agent, keeping its window", () => {
    const r = moveOperationToResource(index, assignments, "A.2", "m3");
    expect(r.ok && r.value[1]).toEqual({ ...assignments[1], resourceId: "m3" });
  });
  it("refuses an incapable resource", () => {
    expect(moveOperationToResource(index, assignments, "B.1", "m3")).toMatchObject({
      ok: false,
      error: { kind: "incapable-resource" },
    });
  });
  it("lessLoadedAlternative finds the capable agent with less work", () => {
    expect(lessLoadedAlternative(index, assignments, "A.2")).toBe("m3");
    expect(lessLoadedAlternative(index, assignments, "B.1")).toBeUndefined();
  });
});

describe("proposeProblemAdjustments", () => {
  const deadline: Conflict = {
    kind: "deadline",
    activityId: "B.1",
    resourceId: "m2",
    startTicks: 8,
    endTicks: 12,
    deadlineTicks: 9,
    reason: "late",
  };
  it("overtime first when unavailable time stands before the deadline", () => {
    const r = proposeProblemAdjustments(index, {
      conflicts: [deadline],
      assignments,
      unavailable: [{ resourceId: "m2", fromTicks: 2, untilTicks: 8 }],
    });
    expect(r.adjustments).toEqual([
      expect.objectContaining({ kind: "overtime", resourceId: "m2", fromTicks: 2, untilTicks: 8 }),
    ]);
  });
  it("else prolong the lead time; or cancel when that is not allowed and cancelling is", () => {
    expect(
      proposeProblemAdjustments(index, { conflicts: [deadline], assignments, unavailable: [] })
        .adjustments,
    ).toEqual([
      expect.objectContaining({ kind: "extend-lead-time", jobId: "B", deadlineTicks: 12 }),
    ]);
    expect(
      proposeProblemAdjustments(index, {
        conflicts: [deadline],
        assignments,
        unavailable: [],
        policy: { allowLeadTimeExtension: false, allowCancel: true },
      }).adjustments,
    ).toEqual([expect.objectContaining({ kind: "cancel-job", jobId: "B" })]);
    const none = proposeProblemAdjustments(index, {
      conflicts: [deadline],
      assignments,
      unavailable: [],
      policy: { allowLeadTimeExtension: false },
    });
    expect(none).toEqual({ adjustments: [], unresolved: [deadline] });
  });
  it("precedence: subcontract the successor to a less loaded capable agent, once", () => {
    const precedence: Conflict = {
      kind: "precedence",
      activityId: "A.2",
      resourceId: "m2",
      startTicks: 1,
      link: { kind: "enables", from: "A.1", to: "A.2" },
      predecessorId: "A.1",
      predecessorResourceId: "m1",
      predecessorEndTicks: 3,
      crossAgent: true,
      reason: "early",
    };
    const r = proposeProblemAdjustments(index, {
      conflicts: [precedence],
      assignments,
      unavailable: [],
    });
    expect(r.adjustments).toEqual([
      expect.objectContaining({
        kind: "move-operation",
        activityId: "A.2",
        fromResourceId: "m2",
        toResourceId: "m3",
      }),
    ]);
    const again = proposeProblemAdjustments(index, {
      conflicts: [precedence],
      assignments,
      unavailable: [],
      policy: { alreadyMoved: ["A.2"] },
    });
    expect(again.adjustments).toEqual([]);
    expect(again.unresolved).toEqual([precedence]);
  });
});

describe("applyProblemAdjustments and dueDateExtensions", () => {
  it("applies adjustments in order", () => {
    const r = applyProblemAdjustments(
      model,
      { assignments, unavailable: [{ resourceId: "m2", fromTicks: 0, untilTicks: 10 }] },
      [
        {
          kind: "move-operation",
          activityId: "A.2",
          fromResourceId: "m2",
          toResourceId: "m3",
          reason: "",
        },
        { kind: "overtime", resourceId: "m2", fromTicks: 0, untilTicks: 5, reason: "" },
        { kind: "extend-lead-time", jobId: "B", deadlineTicks: 20, reason: "" },
        { kind: "cancel-job", jobId: "A", reason: "" },
      ],
    );
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.resourceOf).toEqual({ "B.1": "m2" });
    expect(r.value.unavailable).toEqual([{ resourceId: "m2", fromTicks: 5, untilTicks: 10 }]);
    expect(r.value.cancelledActivityIds).toEqual(["A.1", "A.2"]);
    expect(node(r.value.model, "B").deadlineTicks).toBe(20);
  });
  it("proposes new due dates for late jobs", () => {
    expect(
      dueDateExtensions([
        {
          kind: "due",
          nodeId: "A",
          completionTicks: 14,
          dueTicks: 10,
          tardinessTicks: 4,
          weightedTardiness: 8,
          reason: "",
        },
      ]),
    ).toEqual([expect.objectContaining({ kind: "extend-lead-time", jobId: "A", dueTicks: 14 })]);
  });
});
