import { describe, expect, it } from "vitest";
import { type Conflict, integrate, isHardConflict } from "./integrate.js";
import { indexed, jobShopModel, slot } from "./test-support/fixtures.js";
import type { Assignment } from "./types.js";

/** A: A.1 (m1, 3) -> A.2 (m2, 2), due 10; B: B.1 (m2, 4) -> B.2 (m2, 1). */
const index = indexed(
  jobShopModel([
    {
      id: "A",
      ops: [
        ["m1", 3],
        ["m2", 2],
      ],
      due: 10,
      weight: 2,
    },
    {
      id: "B",
      ops: [
        ["m2", 4],
        ["m2", 1],
      ],
    },
  ]),
);

const kinds = (conflicts: readonly Conflict[]) => conflicts.map((c) => c.kind).sort();

describe("integrate", () => {
  it("a consistent set of local schedules has no conflict", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 3, slots: [slot("A.1", 0, 3)] },
      {
        resourceId: "m2",
        version: 2,
        slots: [slot("B.2", 4, 1), slot("B.1", 0, 4), slot("A.2", 5, 2)],
      },
    ]);
    expect(r.conflicts).toEqual([]);
    expect(r.schedule.version).toBe(4);
    expect(r.schedule.resources[1]!.activities.map((a) => a.activityId)).toEqual([
      "B.1",
      "B.2",
      "A.2",
    ]);
  });

  it("cross-agent precedence: a successor starts before its predecessor on another agent ends", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 2, 3)] },
      {
        resourceId: "m2",
        version: 1,
        slots: [slot("A.2", 0, 2), slot("B.1", 2, 4), slot("B.2", 6, 1)],
      },
    ]);
    expect(r.conflicts).toEqual([
      expect.objectContaining({
        kind: "precedence",
        activityId: "A.2",
        resourceId: "m2",
        predecessorId: "A.1",
        predecessorResourceId: "m1",
        predecessorEndTicks: 5,
        startTicks: 0,
        crossAgent: true,
      }),
    ]);
  });

  it("same-agent precedence is reported as not cross-agent", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      {
        resourceId: "m2",
        version: 1,
        slots: [slot("B.2", 0, 1), slot("B.1", 1, 4), slot("A.2", 5, 2)],
      },
    ]);
    expect(r.conflicts).toEqual([
      expect.objectContaining({ kind: "precedence", activityId: "B.2", crossAgent: false }),
    ]);
  });

  it("window: a start outside the desirability window, with its offset", () => {
    const assignments: Assignment[] = [
      {
        activityId: "A.1",
        resourceId: "m1",
        window: { earliestTicks: 0, latestTicks: 1 },
        durationTicks: 3,
      },
    ];
    const r = integrate(
      index,
      [
        { resourceId: "m1", version: 1, slots: [slot("A.1", 4, 3)] },
        {
          resourceId: "m2",
          version: 1,
          slots: [slot("B.1", 0, 4), slot("B.2", 4, 1), slot("A.2", 7, 2)],
        },
      ],
      { assignments },
    );
    expect(r.conflicts).toEqual([
      expect.objectContaining({ kind: "window", activityId: "A.1", offsetTicks: 3 }),
    ]);
    expect(r.conflicts.every((c) => !isHardConflict(c))).toBe(true);
  });

  it("due date: a job completing late, with its weighted tardiness", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      {
        resourceId: "m2",
        version: 1,
        slots: [slot("B.1", 0, 4), slot("B.2", 4, 1), slot("A.2", 9, 2)],
      },
    ]);
    expect(r.conflicts).toEqual([
      expect.objectContaining({
        kind: "due",
        nodeId: "A",
        tardinessTicks: 1,
        weightedTardiness: 2,
      }),
    ]);
  });

  it("capacity (defensive): a faulty agent's overlapping reservations", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      {
        resourceId: "m2",
        version: 1,
        slots: [slot("B.1", 0, 4), slot("B.2", 4, 1), slot("A.2", 4, 2)],
      },
    ]);
    expect(kinds(r.conflicts)).toEqual(["capacity"]);
  });

  it("an operation nobody scheduled is an assignment conflict", () => {
    const r = integrate(index, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      { resourceId: "m2", version: 1, slots: [slot("B.1", 0, 4), slot("B.2", 4, 1)] },
    ]);
    expect(r.conflicts).toEqual([
      expect.objectContaining({ kind: "assignment", activityId: "A.2", resourceId: undefined }),
    ]);
  });

  it("the highest version of a resource's local schedules counts; a version can be given", () => {
    const r = integrate(
      index,
      [
        { resourceId: "m1", version: 2, slots: [slot("A.1", 0, 3)] },
        { resourceId: "m1", version: 1, slots: [slot("A.1", 50, 3)] },
        {
          resourceId: "m2",
          version: 1,
          slots: [slot("B.1", 0, 4), slot("B.2", 4, 1), slot("A.2", 5, 2)],
        },
      ],
      { version: 42 },
    );
    expect(r.conflicts).toEqual([]);
    expect(r.schedule.version).toBe(42);
  });
});
