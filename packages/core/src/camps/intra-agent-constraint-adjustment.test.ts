import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Conflict } from "./integrate.js";
import {
  intraAgentConstraintAdjustment,
  intraAgentRequests,
} from "./intra-agent-constraint-adjustment.js";
import { localProblems, slot } from "./test-support/fixtures.js";
import type { Assignment } from "./types.js";

const op = (activityId: string, earliest: number, latest: number, d: number): Assignment => ({
  activityId,
  resourceId: "m1",
  window: { earliestTicks: earliest, latestTicks: latest },
  durationTicks: d,
});

describe("intraAgentConstraintAdjustment", () => {
  it("right-shifts an operation to after its predecessor's end, and what follows it", () => {
    const r = intraAgentConstraintAdjustment({
      resourceId: "m1",
      slots: [slot("A", 0, 3), slot("B", 3, 2), slot("C", 10, 2)],
      assignments: [op("A", 0, 20, 3), op("B", 0, 20, 2), op("C", 0, 20, 2)],
      constraints: [{ activityId: "A", earliestStartTicks: 1 }],
      nowTicks: 0,
    });
    expect(r.strategy).toBe("right-shift");
    expect(r.slots).toEqual([slot("A", 1, 3), slot("B", 4, 2), slot("C", 10, 2)]);
    expect(r.moved).toEqual(["A", "B"]);
    expect(r.unmet).toEqual([]);
  });

  it("reorders when that moves the schedule less", () => {
    const r = intraAgentConstraintAdjustment({
      resourceId: "m1",
      slots: [slot("A", 0, 3), slot("B", 3, 2), slot("C", 10, 2)],
      assignments: [op("A", 0, 20, 3), op("B", 0, 20, 2), op("C", 0, 20, 2)],
      constraints: [{ activityId: "A", earliestStartTicks: 4 }],
      nowTicks: 0,
    });
    expect(r.strategy).toBe("greedy");
    expect(r.slots).toEqual([slot("B", 3, 2), slot("A", 5, 3), slot("C", 10, 2)]);
    expect(r.moved).toEqual(["A"]);
  });

  it("reorders within windows when the shift would miss a window, never moving earlier unasked", () => {
    const input = {
      resourceId: "m1",
      slots: [slot("A", 0, 3), slot("B", 3, 2)],
      assignments: [op("A", 0, 20, 3), op("B", 0, 3, 2)],
      constraints: [{ activityId: "A", earliestStartTicks: 2 }],
      nowTicks: 0,
    };
    const r = intraAgentConstraintAdjustment(input);
    expect(r.strategy).not.toBe("right-shift");
    expect(r.slots).toEqual([slot("B", 3, 2), slot("A", 5, 3)]);
    expect(r.unmet).toEqual([]);
    expect(intraAgentConstraintAdjustment({ ...input, allowEarlier: true }).slots).toEqual([
      slot("B", 0, 2),
      slot("A", 2, 3),
    ]);
  });

  it("moves an operation earlier when asked to (a latest bound before its start)", () => {
    const r = intraAgentConstraintAdjustment({
      resourceId: "m1",
      slots: [slot("A", 0, 3), slot("B", 6, 2)],
      assignments: [op("A", 0, 20, 3), op("B", 2, 20, 2)],
      constraints: [{ activityId: "B", latestStartTicks: 4 }],
      nowTicks: 0,
    });
    expect(r.slots).toEqual([slot("B", 2, 2), slot("A", 4, 3)]);
    expect(r.unmet).toEqual([]);
  });

  it("started slots stay put and nothing moves before now", () => {
    const r = intraAgentConstraintAdjustment({
      resourceId: "m1",
      slots: [slot("A", 0, 5), slot("B", 5, 2)],
      assignments: [op("A", 0, 0, 5), op("B", 0, 20, 2)],
      constraints: [
        { activityId: "A", earliestStartTicks: 9 },
        { activityId: "B", earliestStartTicks: 6 },
      ],
      nowTicks: 3,
    });
    expect(r.slots).toEqual([slot("A", 0, 5), slot("B", 6, 2)]);
  });

  it("property: constraints' earliest starts are met, no overlaps, fixed slots kept", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            s: fc.integer({ min: 0, max: 50 }),
            d: fc.integer({ min: 1, max: 8 }),
            spread: fc.integer({ min: 0, max: 30 }),
          }),
          { maxLength: 8 },
        ),
        fc.array(fc.record({ i: fc.nat(), t: fc.integer({ min: 0, max: 70 }) }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 20 }),
        (ops, raises, now) => {
          let t = 0;
          const slots = ops.map((o, i) => {
            const s = slot(`o${i}`, Math.max(t, o.s), o.d);
            t = s.startTicks + s.durationTicks;
            return s;
          });
          const assignments = ops.map((o, i) =>
            op(`o${i}`, Math.min(o.s, slots[i]!.startTicks), slots[i]!.startTicks + o.spread, o.d),
          );
          const constraints =
            ops.length === 0
              ? []
              : raises.map((r) => ({
                  activityId: `o${r.i % ops.length}`,
                  earliestStartTicks: r.t,
                }));
          const r = intraAgentConstraintAdjustment({
            resourceId: "m1",
            slots,
            assignments,
            constraints,
            nowTicks: now,
          });
          const started = slots.filter((s) => s.startTicks < now);
          expect(localProblems(r.slots, { nowTicks: now, fixed: started })).toEqual([]);
          for (const s of started) expect(r.slots).toContainEqual(s);
          expect(r.slots).toHaveLength(slots.length);
          for (const c of constraints) {
            if (started.some((s) => s.activityId === c.activityId)) continue;
            const s = r.slots.find((x) => x.activityId === c.activityId)!;
            expect(s.startTicks).toBeGreaterThanOrEqual(c.earliestStartTicks);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("intraAgentRequests", () => {
  const precedence: Conflict = {
    kind: "precedence",
    activityId: "B.1",
    resourceId: "m2",
    startTicks: 1,
    link: { kind: "enables", from: "A.1", to: "B.1" },
    predecessorId: "A.1",
    predecessorResourceId: "m1",
    predecessorEndTicks: 5,
    crossAgent: true,
    reason: "",
  };
  it("asks the successor's agent to start after the predecessor's end", () => {
    expect(intraAgentRequests([precedence])).toEqual([
      {
        resourceId: "m2",
        constraints: [expect.objectContaining({ activityId: "B.1", earliestStartTicks: 5 })],
      },
    ]);
  });
  it("asks an agent with a malformed schedule to rebuild, and ignores soft conflicts", () => {
    const requests = intraAgentRequests(
      [
        {
          kind: "capacity",
          resourceId: "m3",
          activityIds: ["x", "y"],
          overlapTicks: 1,
          reason: "",
        },
        {
          kind: "assignment",
          violation: { kind: "unscheduled", activityId: "z", reason: "" },
          activityId: "z",
          resourceId: undefined,
          reason: "",
        },
        {
          kind: "due",
          nodeId: "A",
          completionTicks: 9,
          dueTicks: 8,
          tardinessTicks: 1,
          weightedTardiness: 1,
          reason: "",
        },
      ],
      new Map([["z", "m4"]]),
    );
    expect(requests).toEqual([
      { resourceId: "m3", constraints: [] },
      { resourceId: "m4", constraints: [] },
    ]);
  });
});
