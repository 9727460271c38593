import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Disruption, repairLocally } from "./local-repair.js";
import { localProblems, slot } from "./test-support/fixtures.js";
import { collides } from "./timeline.js";
import type { Assignment } from "./types.js";

const win = (activityId: string, earliest: number, latest: number, d: number): Assignment => ({
  activityId,
  resourceId: "m1",
  window: { earliestTicks: earliest, latestTicks: latest },
  durationTicks: d,
});
const slots = [slot("A", 0, 3), slot("B", 3, 2), slot("C", 8, 2)];

describe("repairLocally", () => {
  it("a breakdown: shift later within windows, the running operation stays", () => {
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 10, 2), win("C", 8, 9, 2)],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 4, untilTicks: 7 },
    });
    expect(r.slots).toEqual([slot("A", 0, 3), slot("B", 7, 2), slot("C", 9, 2)]);
    expect(r.escalate).toEqual([]);
    expect(r.moved).toEqual(["B", "C"]);
    expect(r.unavailable).toEqual([{ fromTicks: 4, untilTicks: 7 }]);
  });

  it("reorders when shifting would miss a window", () => {
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 10, 2), win("C", 8, 8, 2)],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 4, untilTicks: 7 },
    });
    expect(r.slots).toEqual([slot("A", 0, 3), slot("C", 8, 2), slot("B", 10, 2)]);
    expect(r.escalate).toEqual([]);
  });

  it("a schedule in force keeps its order: what shifting makes late is escalated, not reordered", () => {
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 10, 2), win("C", 8, 8, 2)],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 4, untilTicks: 7 },
      keepOrder: true,
    });
    expect(r.slots).toEqual([slot("A", 0, 3), slot("B", 7, 2), slot("C", 9, 2)]);
    expect(r.escalate).toEqual(["C"]);
  });

  it("a schedule in force: a later operation takes a gap a delay leaves when it fits there whole", () => {
    // B is held to start at 6 (its window); C (1 tick, planned at 5) fits before it, at 5.
    const r = repairLocally({
      slots: [slot("A", 0, 3), slot("B", 3, 2), slot("C", 5, 1)],
      assignments: [win("A", 0, 0, 3), win("B", 6, 10, 2), win("C", 5, 9, 1)],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 3, untilTicks: 4 },
      keepOrder: true,
    });
    expect(r.slots).toEqual([slot("A", 0, 3), slot("C", 5, 1), slot("B", 6, 2)]);
    expect(r.escalate).toEqual([]);
  });

  it("told what started, moves on work planned before now that waits, and escalates it past its window", () => {
    // A overran to 6; B (planned at 3) has not started: it runs from 6, past its latest start 4.
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 4, 2), win("C", 8, 9, 2)],
      nowTicks: 6,
      disruption: { kind: "overrun", activityId: "A", newEndTicks: 6 },
      fixed: ["A"],
      started: [],
      keepOrder: true,
    });
    expect(r.slots).toEqual([slot("A", 0, 6), slot("B", 6, 2), slot("C", 8, 2)]);
    expect(r.moved).toEqual(["B"]);
    expect(r.escalate).toEqual(["B"]);
    // Without it, what is planned before now counts as started and stays (a silent drift).
    const blind = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 4, 2), win("C", 8, 9, 2)],
      nowTicks: 6,
      disruption: { kind: "overrun", activityId: "A", newEndTicks: 6 },
      fixed: ["A"],
      keepOrder: true,
    });
    expect(blind.moved).toEqual([]);
    expect(blind.escalate).toEqual([]);
  });

  it("escalates only what it cannot fix", () => {
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 5, 2), win("C", 8, 20, 2)],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 4, untilTicks: 7 },
    });
    expect(r.escalate).toEqual(["B"]);
    expect(localProblems(r.slots, { unavailable: r.unavailable })).toEqual([]);
  });

  it("an overrun pushes what follows", () => {
    const r = repairLocally({
      slots,
      assignments: [win("A", 0, 0, 3), win("B", 3, 10, 2), win("C", 8, 9, 2)],
      nowTicks: 2,
      disruption: { kind: "overrun", activityId: "A", newEndTicks: 6 },
    });
    expect(r.slots).toEqual([slot("A", 0, 6), slot("B", 6, 2), slot("C", 8, 2)]);
    expect(r.moved).toEqual(["B"]);
  });

  it("reports a running operation the breakdown falls on", () => {
    const r = repairLocally({
      slots,
      assignments: [],
      nowTicks: 1,
      disruption: { kind: "unavailable", fromTicks: 1, untilTicks: 2 },
    });
    expect(r.interrupted).toEqual(["A"]);
    expect(r.slots[0]).toEqual(slot("A", 0, 3));
  });

  it("property: fixed slots never move; others never before now or their committed start; no overlap or unavailable time", () => {
    const disruption: fc.Arbitrary<Disruption> = fc.oneof(
      fc
        .record({ from: fc.integer({ min: 0, max: 60 }), len: fc.integer({ min: 1, max: 20 }) })
        .map(({ from, len }) => ({
          kind: "unavailable" as const,
          fromTicks: from,
          untilTicks: from + len,
        })),
      fc.record({ i: fc.nat(), extra: fc.integer({ min: 0, max: 15 }) }).map(({ i, extra }) => ({
        kind: "overrun" as const,
        activityId: `o${i % 6}`,
        newEndTicks: extra,
      })),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 6 }),
            d: fc.integer({ min: 1, max: 8 }),
            slack: fc.integer({ min: 0, max: 20 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 0, max: 40 }),
        disruption,
        (ops, now, d) => {
          let t = 0;
          const current = ops.map((o, i) => {
            const s = slot(`o${i}`, t + o.gap, o.d);
            t = s.startTicks + s.durationTicks;
            return s;
          });
          const assignments = ops.map((o, i) =>
            win(`o${i}`, current[i]!.startTicks, current[i]!.startTicks + o.slack, o.d),
          );
          // An overrun ends after its start: make newEndTicks relative to it.
          const dis: Disruption =
            d.kind === "overrun"
              ? {
                  ...d,
                  newEndTicks:
                    (current.find((s) => s.activityId === d.activityId)?.startTicks ?? 0) +
                    d.newEndTicks,
                }
              : d;
          const r = repairLocally({ slots: current, assignments, nowTicks: now, disruption: dis });
          const started = current.filter((s) => s.startTicks < now);
          for (const s of started) {
            const after = r.slots.find((x) => x.activityId === s.activityId)!;
            expect(after.startTicks).toBe(s.startTicks);
          }
          const startedAfter = r.slots.filter((s) => s.startTicks < now);
          expect(startedAfter.map((s) => s.activityId).sort()).toEqual(
            started.map((s) => s.activityId).sort(),
          );
          for (const s of r.slots) {
            const before = current.find((x) => x.activityId === s.activityId)!;
            expect(s.startTicks).toBeGreaterThanOrEqual(before.startTicks);
          }
          const movable = r.slots.filter((s) => s.startTicks >= now);
          const fixedSlots = r.slots.filter((s) => s.startTicks < now);
          // Started slots may overlap each other after an overrun (that is the disruption); the rest may not.
          expect(localProblems(movable, { unavailable: r.unavailable, nowTicks: now })).toEqual([]);
          for (const m of movable)
            for (const f of fixedSlots)
              expect(
                collides(m.startTicks, m.durationTicks, {
                  fromTicks: f.startTicks,
                  untilTicks: f.startTicks + f.durationTicks,
                }),
              ).toBe(false);
          expect(r.slots).toHaveLength(current.length);
          for (const id of r.escalate) {
            const s = r.slots.find((x) => x.activityId === id)!;
            const a = assignments.find((x) => x.activityId === id)!;
            expect(s.startTicks).toBeGreaterThan(a.window.latestTicks);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
