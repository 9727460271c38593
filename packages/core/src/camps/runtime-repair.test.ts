import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { checkSchedule } from "../schedule/check.js";
import type { Schedule } from "../schedule/types.js";
import { gateCentralRepair, pinHorizon, retimeInOrder, scheduleChurn } from "./runtime-repair.js";

const activity = (id: string, resources: string[], value: number) => ({
  kind: "activity" as const,
  id,
  resources,
  duration: [{ value, probability: 1 }],
  quality: [{ value: 1, probability: 1 }],
});
// Job a: a.o0 on m1 (4), a.o1 on m2 (3). Job b: b.o0 on m2 (2). Job c: c.o0 on m1 (2).
const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m1" }, { id: "m2" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a", "b", "c"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0", "a.o1"] },
    { kind: "task", id: "b", qaf: "min", children: ["b.o0"] },
    { kind: "task", id: "c", qaf: "min", children: ["c.o0"] },
    activity("a.o0", ["m1"], 4),
    activity("a.o1", ["m2"], 3),
    activity("b.o0", ["m2"], 2),
    activity("c.o0", ["m1"], 2),
  ],
  links: [{ kind: "enables", from: "a.o0", to: "a.o1" }],
};
const r = indexModel(model);
if (!r.ok) throw new Error("bad model");
const index = r.value;
const plan: Schedule = {
  version: 1,
  resources: [
    {
      resourceId: "m1",
      activities: [
        { activityId: "a.o0", startTicks: 0, durationTicks: 4 },
        { activityId: "c.o0", startTicks: 4, durationTicks: 2 },
      ],
    },
    {
      resourceId: "m2",
      activities: [
        { activityId: "a.o1", startTicks: 4, durationTicks: 3 },
        { activityId: "b.o0", startTicks: 7, durationTicks: 2 },
      ],
    },
  ],
};
const startOf = (s: Schedule, id: string) =>
  s.resources.flatMap((x) => x.activities).find((a) => a.activityId === id)?.startTicks;

describe("negotiated repair at run time: each agent keeps its order, delays propagate", () => {
  it("an overrun of a.o0 (ends at 6) pushes its successor on m2 and what follows it, nothing else earlier", () => {
    const out = retimeInOrder(index, plan, {
      nowTicks: 6,
      frozen: [{ activityId: "a.o0", resourceId: "m1", startTicks: 0, durationTicks: 6 }],
      unavailable: [],
    });
    expect(startOf(out, "c.o0")).toBe(6);
    expect(startOf(out, "a.o1")).toBe(6);
    expect(startOf(out, "b.o0")).toBe(9);
    expect(checkSchedule(index, out, { requireAll: true })).toEqual([]);
  });

  it("works around unavailable time and never moves an operation earlier", () => {
    const out = retimeInOrder(index, plan, {
      nowTicks: 0,
      frozen: [],
      unavailable: [{ resourceId: "m2", fromTicks: 3, untilTicks: 8 }],
    });
    expect(startOf(out, "a.o1")).toBe(8);
    expect(startOf(out, "b.o0")).toBe(11);
    expect(startOf(out, "a.o0")).toBe(0);
  });
});

describe("churn", () => {
  it("counts operations moved, resequenced and reassigned, done ones aside", () => {
    const after: Schedule = {
      version: 2,
      resources: [
        {
          resourceId: "m1",
          activities: [
            { activityId: "a.o0", startTicks: 0, durationTicks: 4 },
            { activityId: "c.o0", startTicks: 4, durationTicks: 2 },
          ],
        },
        {
          resourceId: "m2",
          activities: [
            { activityId: "b.o0", startTicks: 4, durationTicks: 2 },
            { activityId: "a.o1", startTicks: 6, durationTicks: 3 },
          ],
        },
      ],
    };
    expect(scheduleChurn(plan, after)).toEqual({ moved: 2, resequenced: 2, reassigned: 0 });
    expect(scheduleChurn(plan, plan)).toEqual({ moved: 0, resequenced: 0, reassigned: 0 });
    expect(scheduleChurn(plan, after, new Set(["b.o0", "a.o1"]))).toEqual({
      moved: 0,
      resequenced: 0,
      reassigned: 0,
    });
  });
});

describe("the run-time quality gate", () => {
  const none = { moved: 0, resequenced: 0, reassigned: 0 };
  it("keeps the distributed plan unless the central one beats it by the threshold after churn", () => {
    // 100 vs 90: 10% better, above a 5% threshold...
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 90, churn: none },
        threshold: 0.05,
      }).keep,
    ).toBe("central");
    // ...but not once its 8 moves (weight 1 each) are charged.
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 90, churn: { moved: 4, resequenced: 4, reassigned: 0 } },
        threshold: 0.05,
      }).keep,
    ).toBe("distributed");
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 96, churn: none },
        threshold: 0.05,
      }).keep,
    ).toBe("distributed");
  });
});

describe("the central re-solve's frozen horizon", () => {
  it("pins what starts before the horizon when its predecessors are pinned too", () => {
    const pins = pinHorizon(index, plan, [], 5).map((p) => p.activityId);
    // a.o0 (0) and a.o1 (4, after a.o0) and c.o0 (4) start before 5; b.o0 (7) does not.
    expect(pins.sort()).toEqual(["a.o0", "a.o1", "c.o0"]);
    // a.o1 cannot be pinned while a.o0 is not (a job's prefix only).
    const late: Schedule = {
      version: 1,
      resources: [
        { resourceId: "m1", activities: [{ activityId: "a.o0", startTicks: 6, durationTicks: 4 }] },
        { resourceId: "m2", activities: [{ activityId: "a.o1", startTicks: 2, durationTicks: 3 }] },
      ],
    };
    expect(pinHorizon(index, late, [], 5)).toEqual([]);
  });
});
