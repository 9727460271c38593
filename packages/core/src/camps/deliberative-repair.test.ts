import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { checkSchedule } from "../schedule/check.js";
import { jobShopArbitrary, listSchedule } from "../test-support/arbitraries.js";
import { reoptimize } from "./deliberative-repair.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";
import { collides } from "./timeline.js";
import type { ResourceInterval, ResourceSlot } from "./types.js";

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
        ["m1", 1],
      ],
      release: 1,
    },
    { id: "C", ops: [[["m1", "m2"], 2]] },
  ]),
);
const startsOf = (schedule: {
  resources: readonly {
    resourceId: string;
    activities: readonly { activityId: string; startTicks?: number }[];
  }[];
}) =>
  Object.fromEntries(
    schedule.resources.flatMap((r) =>
      r.activities.map((a) => [a.activityId, `${r.resourceId}@${a.startTicks}`]),
    ),
  );

describe("reoptimize", () => {
  it("re-solves everything when nothing is frozen, and passes the checker", () => {
    const r = reoptimize(index, {
      nowTicks: 0,
      objective: "makespan",
      seed: 1,
      maxIterations: 500,
    });
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.violations).toEqual([]);
    expect(checkSchedule(index, r.value.schedule, { requireAll: true })).toEqual([]);
  });

  it("keeps frozen slots exactly and starts the rest no earlier than now or their job's frozen end", () => {
    const frozen: ResourceSlot[] = [
      { resourceId: "m1", activityId: "A.1", startTicks: 0, durationTicks: 5 },
      { resourceId: "m2", activityId: "B.1", startTicks: 1, durationTicks: 4 },
    ];
    const r = reoptimize(index, {
      nowTicks: 3,
      frozen,
      objective: "twt",
      seed: 1,
      maxIterations: 500,
    });
    if (!r.ok) throw new Error(r.error.reason);
    const s = startsOf(r.value.schedule);
    expect(s["A.1"]).toBe("m1@0");
    expect(s["B.1"]).toBe("m2@1");
    expect(r.value.violations).toEqual([]);
    const at = (id: string) => Number(s[id]!.split("@")[1]);
    expect(at("A.2")).toBeGreaterThanOrEqual(5);
    expect(at("B.2")).toBeGreaterThanOrEqual(5);
    expect(at("C.1")).toBeGreaterThanOrEqual(3);
  });

  it("works around unavailable time and follows moved operations", () => {
    const unavailable: ResourceInterval[] = [{ resourceId: "m1", fromTicks: 1, untilTicks: 6 }];
    const r = reoptimize(index, {
      nowTicks: 0,
      unavailable,
      resourceOf: { "C.1": "m2" },
      objective: "makespan",
      seed: 3,
      maxIterations: 500,
    });
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.violations).toEqual([]);
    for (const res of r.value.schedule.resources)
      for (const a of res.activities)
        for (const u of unavailable.filter((x) => x.resourceId === res.resourceId))
          expect(collides(a.startTicks!, a.durationTicks!, u)).toBe(false);
    expect(startsOf(r.value.schedule)["C.1"]).toMatch(/^m2@/);
  });

  it("leaves cancelled activities out", () => {
    const r = reoptimize(index, {
      nowTicks: 0,
      cancelled: ["C.1"],
      objective: "makespan",
      seed: 1,
      maxIterations: 100,
    });
    if (!r.ok) throw new Error(r.error.reason);
    expect(startsOf(r.value.schedule)["C.1"]).toBeUndefined();
    expect(r.value.violations).toEqual([]);
  });

  it("expected failures are values", () => {
    const base = { nowTicks: 0, objective: "makespan" as const, seed: 1 };
    expect(
      reoptimize(index, {
        ...base,
        frozen: [{ resourceId: "m2", activityId: "A.2", startTicks: 0, durationTicks: 2 }],
      }),
    ).toMatchObject({
      ok: false,
      error: { kind: "frozen-not-prefix", activityId: "A.2" },
    });
    expect(
      reoptimize(index, {
        ...base,
        frozen: [{ resourceId: "m2", activityId: "nope", startTicks: 0, durationTicks: 2 }],
      }),
    ).toMatchObject({
      ok: false,
      error: { kind: "unknown-frozen" },
    });
    expect(
      reoptimize(index, {
        ...base,
        unavailable: [{ resourceId: "m1", fromTicks: 3, untilTicks: Number.POSITIVE_INFINITY }],
      }),
    ).toMatchObject({ ok: false, error: { kind: "unbounded-unavailability" } });
    const crossJob = indexed({
      ...index.model,
      links: [...index.model.links, { kind: "enables", from: "C.1", to: "A.1" }],
    });
    expect(reoptimize(crossJob, base)).toMatchObject({
      ok: false,
      error: { kind: "not-a-job-shop" },
    });
  });

  it("property: frozen slots kept, nothing new before now or in unavailable time, the checker passes", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary({ maxJobs: 5, maxMachines: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 0, max: 60 }),
        fc.array(
          fc.record({
            m: fc.nat(),
            from: fc.integer({ min: 0, max: 120 }),
            len: fc.integer({ min: 1, max: 25 }),
          }),
          { maxLength: 3 },
        ),
        fc.integer(),
        (instance, order, now, downs, seed) => {
          const model = indexed(jobShopToModel(instance));
          const starts = listSchedule(instance, order);
          const frozen: ResourceSlot[] = [];
          instance.jobs.forEach((job, j) => {
            job.operations.forEach((op, k) => {
              const s = starts[j]![k]!;
              if (s < now)
                frozen.push({
                  resourceId: instance.machineIds[op.machine]!,
                  activityId: op.id,
                  startTicks: s,
                  durationTicks: op.durationTicks,
                });
            });
          });
          const unavailable = downs.map((d) => ({
            resourceId: instance.machineIds[d.m % instance.machineIds.length]!,
            fromTicks: d.from,
            untilTicks: d.from + d.len,
          }));
          const r = reoptimize(model, {
            nowTicks: now,
            frozen,
            unavailable,
            objective: "makespan",
            seed,
            maxIterations: 200,
          });
          if (!r.ok) throw new Error(r.error.reason);
          expect(checkSchedule(model, r.value.schedule, { requireAll: true })).toEqual([]);
          const placed = r.value.schedule.resources.flatMap((res) =>
            res.activities.map((a) => ({
              resourceId: res.resourceId,
              activityId: a.activityId,
              startTicks: a.startTicks!,
              durationTicks: a.durationTicks!,
            })),
          );
          for (const f of frozen) expect(placed).toContainEqual(f);
          const frozenIds = new Set(frozen.map((f) => f.activityId));
          for (const p of placed) {
            if (frozenIds.has(p.activityId)) continue;
            expect(p.startTicks).toBeGreaterThanOrEqual(now);
            for (const u of unavailable.filter((x) => x.resourceId === p.resourceId))
              expect(collides(p.startTicks, p.durationTicks, u)).toBe(false);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
