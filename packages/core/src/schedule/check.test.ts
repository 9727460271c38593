import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import { jobShopToModel } from "../model/jobshop.js";
import { indexModel, type ModelIndex } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { jobShopArbitrary, listSchedule } from "../test-support/arbitraries.js";
import { checkSchedule } from "./check.js";
import type { ViolationKind } from "./constraints/violation.js";
import { scheduleFromJobShop } from "./from-jobshop.js";
import type { Schedule, ScheduledActivity } from "./types.js";

function indexed(model: TaskModel): ModelIndex {
  const r = indexModel(model);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** Two machines; job A: a1 (m1, 3) -> a2 (m2, 2); job B: b1 (m2, 4) with release 1, deadline 9. */
const model = indexed({
  name: "tiny",
  resources: [{ id: "m1" }, { id: "m2" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["A", "B"] },
    { kind: "task", id: "A", qaf: "min", children: ["a1", "a2"] },
    { kind: "task", id: "B", qaf: "min", children: ["b1"], releaseTicks: 1, deadlineTicks: 9 },
    { kind: "activity", id: "a1", resources: ["m1"], duration: fixed(3), quality: fixed(1) },
    { kind: "activity", id: "a2", resources: ["m2", "m1"], duration: fixed(2), quality: fixed(1) },
    { kind: "activity", id: "b1", resources: ["m2"], duration: fixed(4), quality: fixed(1) },
  ],
  links: [{ kind: "enables", from: "a1", to: "a2" }],
});

const at = (
  activityId: string,
  startTicks: number,
  extra: Partial<ScheduledActivity> = {},
): ScheduledActivity => ({
  activityId,
  startTicks,
  ...extra,
});
const schedule = (m1: ScheduledActivity[], m2: ScheduledActivity[]): Schedule => ({
  version: 1,
  resources: [
    { resourceId: "m1", activities: m1 },
    { resourceId: "m2", activities: m2 },
  ],
});
const kinds = (s: Schedule, requireAll = true) =>
  checkSchedule(model, s, { requireAll }).map((v) => v.kind);

describe("checkSchedule on a hand-built model", () => {
  it("accepts a feasible schedule", () => {
    expect(
      checkSchedule(model, schedule([at("a1", 0)], [at("b1", 1), at("a2", 5)]), {
        requireAll: true,
      }),
    ).toEqual([]);
  });
  it("capacity: two activities overlapping on one resource", () => {
    const v = checkSchedule(model, schedule([at("a1", 0)], [at("b1", 1), at("a2", 3)]));
    expect(v).toContainEqual(
      expect.objectContaining({ kind: "capacity", resourceId: "m2", overlapTicks: 2 }),
    );
  });
  it("capacity: a zero-length activity inside another, not at its edges", () => {
    const m = indexed({
      name: "instant",
      resources: [{ id: "m1" }],
      root: "root",
      nodes: [
        { kind: "task", id: "root", qaf: "sum", children: ["long", "zero"] },
        { kind: "activity", id: "long", resources: ["m1"], duration: fixed(4), quality: fixed(1) },
        { kind: "activity", id: "zero", resources: ["m1"], duration: fixed(0), quality: fixed(1) },
      ],
      links: [],
    });
    const on = (...acts: ScheduledActivity[]): Schedule => ({
      version: 1,
      resources: [{ resourceId: "m1", activities: acts }],
    });
    expect(checkSchedule(m, on(at("long", 0), at("zero", 2)))).toEqual([
      expect.objectContaining({ kind: "capacity", activityIds: ["long", "zero"], overlapTicks: 0 }),
    ]);
    expect(checkSchedule(m, on(at("zero", 0), at("long", 0)))).toEqual([]);
    expect(checkSchedule(m, on(at("long", 0), at("zero", 4)))).toEqual([]);
  });
  it("sequence: listed order contradicts start times", () => {
    expect(kinds(schedule([at("a1", 0)], [at("a2", 5), at("b1", 1)]))).toEqual(["sequence"]);
  });
  it("precedence: a target starting before its enabler ends", () => {
    const v = checkSchedule(model, schedule([at("a1", 0)], [at("a2", 2), at("b1", 4)]));
    expect(v).toEqual([
      expect.objectContaining({
        kind: "precedence",
        activityId: "a2",
        sourceReadyTicks: 3,
        startTicks: 2,
      }),
    ]);
  });
  it("precedence: a target whose enabler is never scheduled", () => {
    const v = checkSchedule(model, schedule([], [at("b1", 1), at("a2", 5)]), { requireAll: false });
    expect(v).toEqual([
      expect.objectContaining({
        kind: "precedence",
        activityId: "a2",
        sourceReadyTicks: undefined,
      }),
    ]);
  });
  it("release: inherited from the job task", () => {
    expect(kinds(schedule([at("a1", 0)], [at("b1", 0), at("a2", 5)]))).toEqual(["release"]);
  });
  it("deadline: inherited from the job task", () => {
    expect(kinds(schedule([at("a1", 0)], [at("a2", 3), at("b1", 6)]))).toEqual(["deadline"]);
  });
  it("start-window: a fixed start outside its own window", () => {
    const s = schedule(
      [at("a1", 0, { window: { earliestTicks: 1, latestTicks: 4 } })],
      [at("b1", 1), at("a2", 5)],
    );
    expect(kinds(s)).toEqual(["start-window"]);
  });
  it("a window alone plans the activity at its earliest start", () => {
    const s = schedule(
      [{ activityId: "a1", window: { earliestTicks: 0, latestTicks: 2 } }],
      [at("b1", 1), at("a2", 5)],
    );
    expect(kinds(s)).toEqual([]);
  });
  it("assignment: unknown, wrong resource, duplicate, unscheduled, no start", () => {
    expect(kinds(schedule([at("a1", 0), at("zz", 9)], [at("b1", 1), at("a2", 5)]))).toEqual([
      "unknown-activity",
    ]);
    expect(kinds(schedule([at("a1", 0), at("b1", 3)], [at("a2", 7)]))).toEqual(["wrong-resource"]);
    expect(kinds(schedule([at("a1", 0), at("a2", 3)], [at("b1", 1)]))).toEqual([]); // alternative resource
    expect(kinds(schedule([at("a1", 0)], [at("b1", 1), at("a2", 5), at("a2", 7)]))).toEqual([
      "duplicate",
    ]);
    expect(kinds(schedule([at("a1", 0)], [at("b1", 1)]))).toEqual(["unscheduled"]);
    expect(kinds(schedule([at("a1", 0)], [at("b1", 1)]), false)).toEqual([]);
    expect(kinds(schedule([at("a1", 0)], [at("b1", 1), { activityId: "a2" }]))).toEqual([
      "no-start",
    ]);
  });
  it("reports every violation, each with a reason", () => {
    const v = checkSchedule(model, schedule([at("a1", 0)], [at("b1", 0), at("a2", 2)]), {
      requireAll: true,
    });
    expect(v.map((x) => x.kind).sort()).toEqual(["capacity", "precedence", "release"]);
    for (const x of v) expect(x.reason).toMatch(/\w+/);
  });
  it("enables into a task binds every activity under it", () => {
    const m = indexed({
      ...model.model,
      links: [{ kind: "enables", from: "A", to: "B" }],
    });
    const v = checkSchedule(m, schedule([at("a1", 0)], [at("a2", 3), at("b1", 5)]));
    expect(v).toEqual([]);
    const early = checkSchedule(m, schedule([at("a1", 0)], [at("b1", 1), at("a2", 5)]));
    expect(early).toEqual([
      expect.objectContaining({ kind: "precedence", activityId: "b1", sourceReadyTicks: 7 }),
    ]);
  });
});

/** Plants one kind of violation into a feasible job-shop schedule; undefined if it cannot. */
function plant(kind: ViolationKind, s: Schedule, pick: number): Schedule | undefined {
  const resources = s.resources.map((r) => ({
    resourceId: r.resourceId,
    activities: [...r.activities],
  }));
  const busy = resources.filter((r) => r.activities.length > 0);
  const r = busy[pick % busy.length]!;
  const i = pick % r.activities.length;
  const e = r.activities[i]!;
  const other = resources.find((x) => x.resourceId !== r.resourceId);
  switch (kind) {
    case "unknown-activity":
      r.activities.push({ activityId: "no-such-op", startTicks: 1_000_000 });
      break;
    case "wrong-resource": {
      if (!other) return undefined;
      r.activities.splice(i, 1);
      other.activities.push({ ...e, startTicks: 1_000_000 });
      break;
    }
    case "duplicate":
      r.activities.push({ ...e, startTicks: 1_000_000 });
      break;
    case "unscheduled":
      r.activities.splice(i, 1);
      break;
    case "no-start": {
      const { startTicks: _, ...rest } = e;
      r.activities[i] = rest;
      break;
    }
    case "capacity": {
      if (r.activities.length < 2) return undefined;
      const j = i === 0 ? 1 : i - 1;
      const a = r.activities[Math.min(i, j)]!;
      const b = r.activities[Math.max(i, j)]!;
      r.activities[Math.max(i, j)] = { ...b, startTicks: a.startTicks! }; // same start, same order
      break;
    }
    case "sequence": {
      if (r.activities.length < 2) return undefined;
      const j = i === 0 ? 1 : i - 1;
      [r.activities[i], r.activities[j]] = [r.activities[j]!, r.activities[i]!];
      break;
    }
    case "precedence": {
      // The second operation of a job, started before the first one ends.
      const match = /^(j\d+)\.o(\d+)$/.exec(e.activityId);
      if (!match || match[2] === "0") return undefined;
      const previousId = `${match[1]}.o${Number(match[2]) - 1}`;
      const previous = resources
        .flatMap((x) => x.activities)
        .find((x) => x.activityId === previousId);
      r.activities[i] = { ...e, startTicks: previous!.startTicks! };
      break;
    }
    case "release":
      r.activities[i] = { ...e, startTicks: -1 };
      break;
    case "deadline":
    case "start-window":
      r.activities[i] = {
        ...e,
        window: { earliestTicks: e.startTicks! + 1, latestTicks: e.startTicks! + 5 },
      };
      if (kind === "deadline") return undefined; // planted through the model below
      break;
  }
  return { version: s.version, resources };
}

describe("checkSchedule finds each kind of violation planted in a random schedule", () => {
  const planted: ViolationKind[] = [
    "unknown-activity",
    "wrong-resource",
    "duplicate",
    "unscheduled",
    "no-start",
    "capacity",
    "sequence",
    "precedence",
    "release",
    "start-window",
  ];
  it("a random list schedule is feasible", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary(),
        fc.array(fc.nat(20), { minLength: 1, maxLength: 40 }),
        (instance, order) => {
          const index = indexed(jobShopToModel(instance));
          const s = scheduleFromJobShop(instance, listSchedule(instance, order));
          expect(checkSchedule(index, s, { requireAll: true })).toEqual([]);
        },
      ),
    );
  });
  for (const kind of planted) {
    it(kind, () => {
      fc.assert(
        fc.property(
          jobShopArbitrary(),
          fc.array(fc.nat(20), { minLength: 1, maxLength: 40 }),
          fc.nat(),
          (instance, order, pick) => {
            const index = indexed(jobShopToModel(instance));
            const feasible = scheduleFromJobShop(instance, listSchedule(instance, order));
            const broken = plant(kind, feasible, pick);
            fc.pre(broken !== undefined);
            const found = checkSchedule(index, broken!, { requireAll: true }).map((v) => v.kind);
            expect(found).toContain(kind);
          },
        ),
      );
    });
  }
  it("deadline", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary(),
        fc.array(fc.nat(20), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        (instance, order, pick) => {
          const starts = listSchedule(instance, order);
          const j = pick % instance.jobs.length;
          const job = instance.jobs[j]!;
          const last = job.operations.length - 1;
          const end = starts[j]![last]! + job.operations[last]!.durationTicks;
          const model = jobShopToModel(instance);
          const tight: TaskModel = {
            ...model,
            nodes: model.nodes.map((n) => (n.id === job.id ? { ...n, deadlineTicks: end - 1 } : n)),
          };
          const found = checkSchedule(indexed(tight), scheduleFromJobShop(instance, starts)).map(
            (v) => v.kind,
          );
          expect(found).toContain("deadline");
        },
      ),
    );
  });
});
