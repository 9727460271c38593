import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { buildLocalSchedule, mergeConstraints } from "./local-scheduler.js";
import { assignOperations } from "./planner-windows.js";
import { indexed, localProblems, slot } from "./test-support/fixtures.js";
import type { Assignment, Interval } from "./types.js";

const op = (
  activityId: string,
  earliest: number,
  latest: number,
  d: number,
  resourceId = "m1",
): Assignment => ({
  activityId,
  resourceId,
  window: { earliestTicks: earliest, latestTicks: latest },
  durationTicks: d,
});

const starts = (r: { slots: readonly { activityId: string; startTicks: number }[] }) =>
  Object.fromEntries(r.slots.map((s) => [s.activityId, s.startTicks]));

describe("buildLocalSchedule", () => {
  it("greedy: earliest latest start first, each at its earliest fit", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 20, 4), op("B", 1, 2, 3)],
      nowTicks: 0,
      heuristic: "greedy",
    });
    expect(starts(r)).toEqual({ A: 4, B: 1 });
    expect(r.unmet).toEqual([]);
  });

  it("never in unavailable time, never before now", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 20, 4), op("B", 0, 20, 3)],
      nowTicks: 2,
      heuristic: "greedy",
      unavailable: [{ fromTicks: 5, untilTicks: 10 }],
    });
    expect(starts(r)).toEqual({ A: 10, B: 2 });
  });

  it("fixed slots stay, even before now, and nothing overlaps them", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 20, 4), op("B", 0, 20, 3)],
      nowTicks: 2,
      heuristic: "greedy",
      fixed: [slot("A", 0, 4)],
    });
    expect(r.slots).toEqual([slot("A", 0, 4), slot("B", 4, 3)]);
  });

  it("constraints narrow the window: earliest is hard, latest is reported when missed", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 20, 4), op("B", 0, 20, 3)],
      nowTicks: 0,
      heuristic: "greedy",
      constraints: [
        { activityId: "A", earliestStartTicks: 6 },
        { activityId: "B", latestStartTicks: 5, earliestStartTicks: 7 },
      ],
    });
    expect(starts(r)).toEqual({ A: 10, B: 7 });
    expect(r.unmet).toEqual([expect.objectContaining({ activityId: "B", reason: "empty-window" })]);
  });

  it("reports an operation placed after its latest start", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 0, 5), op("B", 0, 1, 3)],
      nowTicks: 0,
      heuristic: "greedy",
    });
    expect(starts(r)).toEqual({ A: 0, B: 5 });
    expect(r.unmet).toEqual([expect.objectContaining({ activityId: "B", reason: "late" })]);
  });

  it("reports assignments for another resource and repeats", () => {
    const r = buildLocalSchedule({
      resourceId: "m1",
      assignments: [op("A", 0, 5, 1), op("A", 0, 5, 1), op("X", 0, 5, 1, "m2")],
      nowTicks: 0,
      heuristic: "greedy",
    });
    expect(r.slots.map((s) => s.activityId)).toEqual(["A"]);
    expect(r.unmet.map((u) => u.reason).sort()).toEqual(["duplicate", "other-resource"]);
  });

  it("least-constraining leaves room where greedy starves an operation", () => {
    // X may start in [1, 8]; Y (8 long) must end by 10, when the machine stops.
    const input = {
      resourceId: "m1",
      assignments: [op("X", 1, 8, 2), op("Y", 0, 9, 8)],
      nowTicks: 0,
      unavailable: [{ fromTicks: 10, untilTicks: 20 }],
    };
    const greedy = buildLocalSchedule({ ...input, heuristic: "greedy" });
    expect(greedy.unmet.map((u) => u.activityId)).toEqual(["Y"]);
    const lc = buildLocalSchedule({ ...input, heuristic: "least-constraining" });
    expect(starts(lc)).toEqual({ X: 8, Y: 0 });
    expect(lc.unmet).toEqual([]);
  });

  it("is deterministic: the order of the assignments does not matter", () => {
    const assignments = [op("A", 0, 9, 2), op("B", 0, 9, 2), op("C", 3, 9, 2), op("D", 0, 4, 2)];
    for (const heuristic of ["greedy", "least-constraining"] as const) {
      const a = buildLocalSchedule({ resourceId: "m1", assignments, nowTicks: 0, heuristic });
      const b = buildLocalSchedule({
        resourceId: "m1",
        assignments: [...assignments].reverse(),
        nowTicks: 0,
        heuristic,
      });
      expect(b).toEqual(a);
    }
  });

  it("property: no overlaps, no unavailable time, nothing before now, every operation placed", () => {
    const assignment = fc.record({
      earliest: fc.integer({ min: 0, max: 60 }),
      spread: fc.integer({ min: 0, max: 40 }),
      d: fc.integer({ min: 0, max: 12 }),
    });
    const interval = fc
      .record({ from: fc.integer({ min: 0, max: 80 }), len: fc.integer({ min: 0, max: 15 }) })
      .map(({ from, len }): Interval => ({ fromTicks: from, untilTicks: from + len }));
    fc.assert(
      fc.property(
        fc.array(assignment, { minLength: 0, maxLength: 12 }),
        fc.array(interval, { maxLength: 4 }),
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom("greedy" as const, "least-constraining" as const),
        fc.boolean(),
        (ops, unavailable, now, heuristic, withFixed) => {
          const assignments = ops.map((o, i) =>
            op(`o${i}`, o.earliest, o.earliest + o.spread, o.d),
          );
          const fixed =
            withFixed && assignments[0] ? [slot("o0", 0, assignments[0].durationTicks)] : [];
          const r = buildLocalSchedule({
            resourceId: "m1",
            assignments,
            nowTicks: now,
            heuristic,
            unavailable,
            fixed,
            constraints: mergeConstraints([], [{ activityId: "o1", earliestStartTicks: 33 }]),
          });
          expect(
            localProblems(r.slots, { unavailable, nowTicks: now, fixed }).filter(
              (p) => !p.includes("o0") || !withFixed,
            ),
          ).toEqual([]);
          expect(r.slots.map((s) => s.activityId).sort()).toEqual(
            assignments.map((a) => a.activityId).sort(),
          );
          for (const f of fixed) expect(r.slots).toContainEqual(f);
          const o1 = r.slots.find((s) => s.activityId === "o1");
          if (o1) expect(o1.startTicks).toBeGreaterThanOrEqual(33);
          for (const s of r.slots) {
            const a = assignments.find((x) => x.activityId === s.activityId)!;
            if (fixed.some((f) => f.activityId === s.activityId)) continue;
            expect(s.startTicks).toBeGreaterThanOrEqual(a.window.earliestTicks);
            const late = s.startTicks > a.window.latestTicks;
            if (late) expect(r.unmet.map((u) => u.activityId)).toContain(s.activityId);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("buildLocalSchedule on random job shops", () => {
  it("property: every agent's schedule from the planner's assignments is clean", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary({ maxJobs: 6, maxMachines: 4 }),
        fc.constantFrom("greedy" as const, "least-constraining" as const),
        fc.array(
          fc.record({
            from: fc.integer({ min: 0, max: 80 }),
            len: fc.integer({ min: 1, max: 20 }),
          }),
          { maxLength: 3 },
        ),
        fc.integer({ min: 0, max: 10 }),
        (instance, heuristic, downs, now) => {
          const index = indexed(jobShopToModel(instance));
          const assignments = assignOperations(index, { nowTicks: now });
          const unavailable = downs.map((d) => ({ fromTicks: d.from, untilTicks: d.from + d.len }));
          for (const resourceId of instance.machineIds) {
            const mine = assignments.filter((a) => a.resourceId === resourceId);
            const r = buildLocalSchedule({
              resourceId,
              assignments: mine,
              nowTicks: now,
              heuristic,
              unavailable,
            });
            expect(localProblems(r.slots, { unavailable, nowTicks: now })).toEqual([]);
            expect(r.slots).toHaveLength(mine.length);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("mergeConstraints", () => {
  it("keeps the tightest bounds per activity", () => {
    expect(
      mergeConstraints(
        [{ activityId: "A", earliestStartTicks: 3, latestStartTicks: 10 }],
        [
          { activityId: "A", earliestStartTicks: 5, latestStartTicks: 12 },
          { activityId: "B", latestStartTicks: 1 },
        ],
      ),
    ).toEqual([
      { activityId: "A", earliestStartTicks: 5, latestStartTicks: 10 },
      { activityId: "B", latestStartTicks: 1 },
    ]);
  });
});
