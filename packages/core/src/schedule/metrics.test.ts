import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { scheduleMetrics } from "./metrics.js";
import type { Schedule } from "./types.js";

const model: TaskModel = {
  name: "two jobs",
  resources: [{ id: "m1" }, { id: "m2" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["A", "B"] },
    { kind: "task", id: "A", qaf: "min", children: ["a1", "a2"], due: { dueTicks: 6, weight: 2 } },
    {
      kind: "task",
      id: "B",
      qaf: "min",
      children: ["b1"],
      releaseTicks: 1,
      due: { dueTicks: 4, weight: 3 },
    },
    { kind: "activity", id: "a1", resources: ["m1"], duration: fixed(3), quality: fixed(1) },
    { kind: "activity", id: "a2", resources: ["m2"], duration: fixed(2), quality: fixed(1) },
    { kind: "activity", id: "b1", resources: ["m2"], duration: fixed(4), quality: fixed(1) },
  ],
  links: [{ kind: "enables", from: "a1", to: "a2" }],
};
const index = (() => {
  const r = indexModel(model);
  if (!r.ok) throw new Error("bad model");
  return r.value;
})();

describe("scheduleMetrics", () => {
  // m1: a1 [0,3); m2: b1 [1,5), a2 [5,7). a2 waited 2 (ready at 3), b1 waited 0.
  const schedule: Schedule = {
    version: 1,
    resources: [
      { resourceId: "m1", activities: [{ activityId: "a1", startTicks: 0 }] },
      {
        resourceId: "m2",
        activities: [
          { activityId: "b1", startTicks: 1 },
          { activityId: "a2", startTicks: 5 },
        ],
      },
    ],
  };
  const m = scheduleMetrics(index, schedule);
  it("makespan is the last end", () => expect(m.makespanTicks).toBe(7));
  it("total weighted tardiness: A is 1 late x 2, B is 1 late x 3", () =>
    expect(m.totalWeightedTardiness).toBe(5));
  it("lead time from each job's release", () => {
    expect(m.jobs.map((j) => [j.jobId, j.leadTimeTicks])).toEqual([
      ["A", 7],
      ["B", 4],
    ]);
    expect(m.meanLeadTimeTicks).toBe(5.5);
  });
  it("wait counts time after an operation was ready", () => {
    expect(m.totalWaitTicks).toBe(2);
    expect(m.meanWip).toBeCloseTo(2 / 7);
  });
  it("utilization per resource", () => {
    expect(m.utilization).toEqual({ m1: 3 / 7, m2: 6 / 7 });
  });
  it("an empty schedule has zero figures", () => {
    const empty = scheduleMetrics(index, { version: 1, resources: [] });
    expect(empty.makespanTicks).toBe(0);
    expect(empty.totalWeightedTardiness).toBe(0);
    expect(empty.jobs.every((j) => j.completionTicks === undefined)).toBe(true);
  });
});
