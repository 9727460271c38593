import { describe, expect, it } from "vitest";
import { integrate } from "./integrate.js";
import {
  type ConstraintChange,
  type InterAgentInput,
  interAgentConstraintAdjustment,
} from "./inter-agent-constraint-adjustment.js";
import { indexed, jobShopModel, slot } from "./test-support/fixtures.js";
import type { Assignment } from "./types.js";

/** Job A: P (m1, 5) -> S (m2, 3); job B: Q (m2, 2) -> R (m1, 2). */
const index = indexed(
  jobShopModel([
    {
      id: "A",
      ops: [
        ["m1", 5],
        ["m2", 3],
      ],
      weight: 3,
      due: 100,
    },
    {
      id: "B",
      ops: [
        ["m2", 2],
        ["m1", 2],
      ],
    },
  ]),
);
const P = "A.1";
const S = "A.2";

function setup(
  pStart: number,
  sStart: number,
  sWindow: [number, number],
  extra: Partial<InterAgentInput> = {},
) {
  const assignments: Assignment[] = [
    {
      activityId: P,
      resourceId: "m1",
      window: { earliestTicks: 0, latestTicks: 20 },
      durationTicks: 5,
    },
    {
      activityId: S,
      resourceId: "m2",
      window: { earliestTicks: sWindow[0], latestTicks: sWindow[1] },
      durationTicks: 3,
    },
    {
      activityId: "B.1",
      resourceId: "m2",
      window: { earliestTicks: 0, latestTicks: 50 },
      durationTicks: 2,
    },
    {
      activityId: "B.2",
      resourceId: "m1",
      window: { earliestTicks: 2, latestTicks: 50 },
      durationTicks: 2,
    },
  ];
  const { schedule, conflicts } = integrate(index, [
    { resourceId: "m1", version: 1, slots: [slot(P, pStart, 5), slot("B.2", 30, 2)] },
    { resourceId: "m2", version: 1, slots: [slot(S, sStart, 3), slot("B.1", 20, 2)] },
  ]);
  return interAgentConstraintAdjustment(index, {
    conflicts,
    schedule,
    assignments,
    constraints: [],
    history: [],
    round: 1,
    nowTicks: 0,
    ...extra,
  });
}

describe("interAgentConstraintAdjustment", () => {
  it("the successor may not start before the predecessor's planned end", () => {
    const r = setup(0, 2, [2, 10]);
    expect(r.constraints).toEqual([{ activityId: S, earliestStartTicks: 5 }]);
    expect(r.changes).toEqual([
      expect.objectContaining({
        activityId: S,
        bound: "earliest",
        toTicks: 5,
        direction: "later",
        resourceId: "m2",
      }),
    ]);
    expect(r.perAgent).toEqual([
      { resourceId: "m2", constraints: [{ activityId: S, earliestStartTicks: 5 }] },
    ]);
    expect(r.waitFor).toEqual([]);
  });

  it("when the successor's window cannot take it all, the predecessor must end earlier", () => {
    const r = setup(4, 2, [2, 6]);
    expect(r.constraints).toEqual([
      { activityId: P, latestStartTicks: 1 },
      { activityId: S, earliestStartTicks: 6 },
    ]);
    // Each agent waits for the other's new plan: a wait-for cycle for the loop to break.
    expect(r.waitFor).toEqual([
      { waiter: "m2", on: "m1", activityId: S, priority: 3 },
      { waiter: "m1", on: "m2", activityId: P, priority: 3 },
    ]);
  });

  it("a predecessor that cannot start earlier leaves a pure delay of the successor", () => {
    const r = setup(0, 2, [2, 3]);
    expect(r.constraints).toEqual([{ activityId: S, earliestStartTicks: 5 }]);
  });

  it("bounds only tighten", () => {
    const r = setup(0, 2, [2, 10], { constraints: [{ activityId: S, earliestStartTicks: 8 }] });
    expect(r.changes).toEqual([]);
    expect(r.constraints).toEqual([{ activityId: S, earliestStartTicks: 8 }]);
  });

  it("hysteresis: an operation recently moved earlier is not moved later; the other side gives", () => {
    const history: ConstraintChange[] = [
      {
        round: 1,
        activityId: S,
        resourceId: "m2",
        bound: "latest",
        fromTicks: undefined,
        toTicks: 6,
        direction: "earlier",
        reason: "",
      },
    ];
    expect(setup(4, 6, [6, 8], { round: 2 }).constraints).toEqual([
      { activityId: P, latestStartTicks: 3 },
      { activityId: S, earliestStartTicks: 8 },
    ]);
    const r = setup(4, 6, [6, 8], { history, round: 2 });
    expect(r.constraints).toEqual([{ activityId: P, latestStartTicks: 1 }]);
    expect(r.held).toEqual([]);
  });

  it("hysteresis: when neither side may move, the conflict is held", () => {
    const history: ConstraintChange[] = [
      {
        round: 1,
        activityId: S,
        resourceId: "m2",
        bound: "latest",
        fromTicks: undefined,
        toTicks: 6,
        direction: "earlier",
        reason: "",
      },
    ];
    const r = setup(4, 2, [2, 6], { history, round: 2 });
    expect(r.changes).toEqual([]);
    expect(r.held).toEqual([
      expect.objectContaining({ conflict: expect.objectContaining({ activityId: S }) }),
    ]);
    // Past the hysteresis rounds the successor may move again.
    expect(setup(4, 2, [2, 6], { history, round: 5 }).changes).not.toEqual([]);
  });
});
