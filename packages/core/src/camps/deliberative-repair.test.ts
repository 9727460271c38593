import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import { jobShopToModel } from "../model/jobshop.js";
import type { ModelNode } from "../model/types.js";
import { evaluateQuality, executionOfSchedule } from "../quality/qaf.js";
import { checkSchedule } from "../schedule/check.js";
import { scheduleMetrics } from "../schedule/metrics.js";
import { jobShopArbitrary, listSchedule } from "../test-support/arbitraries.js";
import { planningJobs, reoptimize } from "./deliberative-repair.js";
import { scheduleChurn } from "./runtime-repair.js";
import { indexed, jobShopModel, mixedModel } from "./test-support/fixtures.js";
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

  it("a link across jobs is a precedence: the job after it waits for its source", () => {
    const crossJob = indexed({
      ...index.model,
      links: [...index.model.links, { kind: "enables", from: "C.1", to: "A.1" }],
    });
    for (const seed of [1, 2, 3]) {
      const r = reoptimize(crossJob, {
        nowTicks: 0,
        objective: "makespan",
        seed,
        maxIterations: 300,
      });
      if (!r.ok) throw new Error(r.error.reason);
      expect(r.value.violations).toEqual([]);
      const at = startsOf(r.value.schedule);
      expect(Number(at["A.1"]!.split("@")[1])).toBeGreaterThanOrEqual(
        Number(at["C.1"]!.split("@")[1]) + 2,
      );
    }
  });

  it("property: random links across jobs hold, whatever machine order the solver chose", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary({ maxJobs: 5, maxMachines: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
        fc.integer(),
        (instance, pairs, seed) => {
          const base = jobShopToModel(instance);
          const ops = instance.jobs.flatMap((job, j) =>
            job.operations.map((o) => ({ j, id: o.id })),
          );
          // Links only from a lower job to a higher one: acyclic, as a model's links must be.
          const links = pairs.flatMap(([a, b]) => {
            const from = ops[a % ops.length]!;
            const to = ops[b % ops.length]!;
            return from.j < to.j ? [{ kind: "enables" as const, from: from.id, to: to.id }] : [];
          });
          const model = indexed({ ...base, links: [...base.links, ...links] });
          const r = reoptimize(model, {
            nowTicks: 0,
            objective: "makespan",
            seed,
            maxIterations: 100,
          });
          if (!r.ok) throw new Error(r.error.reason);
          expect(checkSchedule(model, r.value.schedule, { requireAll: true })).toEqual([]);
        },
      ),
      { numRuns: 60, seed: 11 },
    );
  });
});

describe("reoptimize on a job shop mixed with a C-TAEMS network", () => {
  const mixed = indexed(mixedModel);
  const endOf = (schedule: Parameters<typeof startsOf>[0], id: string) => {
    for (const r of schedule.resources)
      for (const a of r.activities)
        if (a.activityId === id)
          return (a.startTicks ?? 0) + ((a as { durationTicks?: number }).durationTicks ?? 0);
    throw new Error(`${id} is not scheduled`);
  };
  const startOf = (schedule: Parameters<typeof startsOf>[0], id: string) =>
    Number(startsOf(schedule)[id]!.split("@")[1]);

  it("reads chains as jobs and each network activity as a one-operation job", () => {
    expect(planningJobs(mixed).map((j) => [j.jobId, j.chain.map((a) => a.id), j.single])).toEqual([
      ["order-1", ["o1.press", "o1.paint"], false],
      ["order-2", ["o2.press", "o2.paint"], false],
      ["inspect", ["inspect"], true],
      ["service", ["service"], true],
      ["swap", ["swap"], true],
    ]);
  });

  it("plans every activity, with enables and `after` links as precedences and within windows", () => {
    for (const objective of ["makespan", "twt"] as const) {
      for (const seed of [1, 2, 3, 4]) {
        const r = reoptimize(mixed, { nowTicks: 0, objective, seed, maxIterations: 300 });
        if (!r.ok) throw new Error(r.error.reason);
        expect(r.value.violations).toEqual([]);
        const s = r.value.schedule;
        expect(s.resources.flatMap((x) => x.activities)).toHaveLength(7);
        expect(startOf(s, "service")).toBeGreaterThanOrEqual(endOf(s, "inspect"));
        expect(startOf(s, "swap")).toBeGreaterThanOrEqual(endOf(s, "inspect"));
        expect(startOf(s, "o2.press")).toBeGreaterThanOrEqual(endOf(s, "o1.press"));
        expect(endOf(s, "service")).toBeLessThanOrEqual(60);
        // Planned to run as planned, the tree earns everything: 2 orders + 10 + max(8, 5).
        expect(evaluateQuality(mixed, executionOfSchedule(mixed, s)).rootQuality).toBe(20);
      }
    }
  });

  it("re-plans the rest around what has run: frozen network activities and an unavailable press", () => {
    const frozen: ResourceSlot[] = [
      { resourceId: "press", activityId: "o1.press", startTicks: 0, durationTicks: 6 },
      { resourceId: "rover", activityId: "inspect", startTicks: 0, durationTicks: 7 },
    ];
    const unavailable: ResourceInterval[] = [{ resourceId: "press", fromTicks: 8, untilTicks: 15 }];
    const r = reoptimize(mixed, {
      nowTicks: 7,
      frozen,
      unavailable,
      objective: "twt",
      seed: 5,
      maxIterations: 300,
    });
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.violations).toEqual([]);
    const s = r.value.schedule;
    for (const id of ["o2.press", "service", "swap", "o1.paint", "o2.paint"]) {
      expect(startOf(s, id)).toBeGreaterThanOrEqual(7);
      const start = startOf(s, id);
      if (
        s.resources
          .find((x) => x.resourceId === "press")!
          .activities.some((a) => a.activityId === id)
      )
        expect(collides(start, endOf(s, id) - start, unavailable[0]!)).toBe(false);
    }
    expect(startsOf(s)).toMatchObject({ "o1.press": "press@0", inspect: "rover@0" });
  });

  it("carries due dates back along links: the job another job waits for is not left late", () => {
    // order-2 (due 25, weight 3) waits for order-1's pressing, and order-1 has no due date of
    // its own: blind to the link, the solver would press the fillers (due 8 and 16) first.
    const model = indexed({
      ...mixedModel,
      nodes: [
        ...mixedModel.nodes.map(
          (n): ModelNode =>
            n.id === "root" && n.kind === "task"
              ? { ...n, children: [...n.children, "f1", "f2"] }
              : n.id === "order-1"
                ? { kind: "task", id: n.id, qaf: "min", children: ["o1.press", "o1.paint"] }
                : n.id === "order-2"
                  ? { ...n, due: { dueTicks: 25, weight: 3 } }
                  : n,
        ),
        ...(["f1", "f2"] as const).flatMap((id, i): ModelNode[] => [
          {
            kind: "task",
            id,
            qaf: "min",
            children: [`${id}.press`],
            due: { dueTicks: 8 * (i + 1), weight: 1 },
          },
          {
            kind: "activity",
            id: `${id}.press`,
            resources: ["press"],
            duration: fixed(8),
            quality: fixed(1),
          },
        ]),
      ],
    });
    const twt = [1, 2, 3, 4, 5].map((seed) => {
      const r = reoptimize(model, { nowTicks: 0, objective: "twt", seed, maxIterations: 500 });
      if (!r.ok) throw new Error(r.error.reason);
      expect(r.value.violations).toEqual([]);
      return scheduleMetrics(model, r.value.schedule).totalWeightedTardiness;
    });
    // The best: f1, then order-1 and order-2 pressed, then f2 (11 ticks late); blind, 51.
    expect(twt).toEqual([11, 11, 11, 11, 11]);
  });

  it("a network alone (the root is the network's) is planned too", () => {
    const network = indexed({
      ...mixedModel,
      root: "mission",
      nodes: mixedModel.nodes.filter(
        (n) => !["root", "order-1", "order-2"].includes(n.id) && !n.id.startsWith("o"),
      ),
      links: mixedModel.links.filter((l) => l.from === "inspect"),
    });
    const r = reoptimize(network, {
      nowTicks: 0,
      objective: "makespan",
      seed: 1,
      maxIterations: 200,
    });
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.violations).toEqual([]);
    expect(startsOf(r.value.schedule)).toMatchObject({ inspect: "rover@0" });
    expect(r.value.schedule.resources.flatMap((x) => x.activities)).toHaveLength(3);
  });
});

describe("reoptimize warm-started from the schedule in force", () => {
  // A 10 x 5 shop with tight due dates: enough choice that a search from scratch lands elsewhere.
  const shop = indexed(
    jobShopModel(
      Array.from({ length: 10 }, (_, j) => ({
        id: `J${j}`,
        ops: Array.from({ length: 5 }, (_, k) => [
          `m${(j + k * 3) % 5}`,
          1 + ((j * 7 + k * 5) % 9),
        ]) as [string, number][],
        due: 25 + 3 * j,
        weight: [1, 2, 4][j % 3]!,
      })),
    ),
  );
  const twt = (s: Parameters<typeof scheduleMetrics>[1]) =>
    scheduleMetrics(shop, s).totalWeightedTardiness;
  const solve = (extra: Partial<Parameters<typeof reoptimize>[1]>) => {
    const r = reoptimize(shop, { nowTicks: 0, objective: "twt", seed: 1, ...extra });
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.violations).toEqual([]);
    return r.value.schedule;
  };
  // The schedule in force: a dispatch start, not searched.
  const inForce = solve({ maxIterations: 0 });

  it("starts from the schedule in force: without search it keeps every machine's order", () => {
    const kept = solve({ maxIterations: 0, warmStart: inForce, seed: 7 });
    expect(scheduleChurn(inForce, kept).resequenced).toBe(0);
    expect(twt(kept)).toBe(twt(inForce));
  });

  it("improves it, and a churn charge keeps more of its order", () => {
    const free = solve({ maxIterations: 300, warmStart: inForce, churnWeight: 0 });
    const charged = solve({ maxIterations: 300, warmStart: inForce, churnWeight: 50 });
    expect(twt(free)).toBeLessThan(twt(inForce));
    expect(scheduleChurn(inForce, charged).resequenced).toBeLessThan(
      scheduleChurn(inForce, free).resequenced,
    );
    expect(checkSchedule(shop, charged, { requireAll: true })).toEqual([]);
  });
});
