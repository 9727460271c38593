import { describe, expect, it } from "vitest";
import {
  applyJobDates,
  balanceJobs,
  type ManagedJob,
  managedJobsOf,
  releaseAndDueDates,
} from "./manager.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";

const job = (id: string, ops: [string, number][], extra: Partial<ManagedJob> = {}): ManagedJob => ({
  id,
  operations: ops.map(([r, d]) => ({ resourceIds: [r], durationTicks: d })),
  ...extra,
});

describe("releaseAndDueDates", () => {
  it("dates an undated job: release now, due = release + k x work + bottleneck queue", () => {
    const [d] = releaseAndDueDates(
      [
        job("A", [
          ["m1", 3],
          ["m2", 2],
        ]),
      ],
      { m1: 10, m2: 4 },
      {
        nowTicks: 100,
      },
    );
    expect(d).toEqual({
      jobId: "A",
      releaseTicks: 100,
      dueTicks: 100 + 2 * 5 + 10,
      releaseFrom: "manager",
      dueFrom: "manager",
      totalWorkTicks: 5,
      bottleneckResourceId: "m1",
      bottleneckQueueTicks: 10,
      slackTicks: 120 - 100 - 5,
    });
  });

  it("keeps the dates an order fixes", () => {
    const [d] = releaseAndDueDates(
      [job("A", [["m1", 3]], { releaseTicks: 7, dueTicks: 9 })],
      { m1: 50 },
      { nowTicks: 0 },
    );
    expect(d).toMatchObject({
      releaseTicks: 7,
      dueTicks: 9,
      releaseFrom: "order",
      dueFrom: "order",
    });
    expect(d!.slackTicks).toBe(-1);
  });

  it("later jobs of a batch see the work of the earlier ones", () => {
    const dates = releaseAndDueDates(
      [job("A", [["m1", 5]]), job("B", [["m1", 5]])],
      {},
      { nowTicks: 0, flowAllowance: 1 },
    );
    expect(dates.map((d) => d.dueTicks)).toEqual([5, 10]);
  });

  it("workload control holds a release while the first queue is over the norm", () => {
    const [d] = releaseAndDueDates(
      [job("A", [["m1", 5]])],
      { m1: 30 },
      {
        nowTicks: 0,
        releaseNormTicks: 20,
        bottleneckShare: 0,
      },
    );
    expect(d!.releaseTicks).toBe(10);
    expect(d!.dueTicks).toBe(10 + 10);
  });

  it("releases early enough for a fixed due date", () => {
    const [d] = releaseAndDueDates(
      [job("A", [["m1", 5]], { dueTicks: 12 })],
      { m1: 100 },
      {
        nowTicks: 0,
        releaseNormTicks: 0,
      },
    );
    expect(d!.releaseTicks).toBe(7);
  });
});

describe("balanceJobs", () => {
  it("gives the longest jobs first to the least loaded planner", () => {
    const b = balanceJobs(
      [job("A", [["m1", 10]]), job("B", [["m1", 6]]), job("C", [["m1", 5]]), job("D", [["m1", 1]])],
      [{ id: "p1" }, { id: "p2" }],
    );
    expect(b.assignments).toEqual([
      { jobId: "A", plannerId: "p1" },
      { jobId: "B", plannerId: "p2" },
      { jobId: "C", plannerId: "p2" },
      { jobId: "D", plannerId: "p1" },
    ]);
    expect(b.loads).toEqual({ p1: 11, p2: 11 });
  });

  it("counts capacity and existing load", () => {
    const b = balanceJobs(
      [job("A", [["m1", 10]])],
      [
        { id: "p1", loadTicks: 5 },
        { id: "p2", loadTicks: 12, capacity: 4 },
      ],
    );
    expect(b.assignments).toEqual([{ jobId: "A", plannerId: "p2" }]);
  });

  it("reports a job no planner can run", () => {
    const b = balanceJobs([job("A", [["m9", 1]])], [{ id: "p1", resourceIds: ["m1"] }]);
    expect(b.assignments).toEqual([]);
    expect(b.unassigned).toEqual([{ jobId: "A", reason: expect.stringContaining("no planner") }]);
  });
});

describe("model round trip", () => {
  it("reads jobs from a model and writes the dates back", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            [["m2", "m1"], 2],
          ],
        },
        { id: "B", ops: [["m2", 4]], release: 2, due: 20, weight: 3 },
      ]),
    );
    const jobs = managedJobsOf(index);
    expect(jobs[0]).toEqual({
      id: "A",
      operations: [
        { resourceIds: ["m1"], durationTicks: 3 },
        { resourceIds: ["m2", "m1"], durationTicks: 2 },
      ],
    });
    expect(jobs[1]).toMatchObject({ releaseTicks: 2, dueTicks: 20, weight: 3 });
    const dates = releaseAndDueDates(jobs, {}, { nowTicks: 1 });
    const model = applyJobDates(index.model, dates);
    const a = model.nodes.find((n) => n.id === "A")!;
    expect(a.releaseTicks).toBe(1);
    expect(a.due).toEqual({ dueTicks: 1 + 10, weight: 1 });
    const b = model.nodes.find((n) => n.id === "B")!;
    expect(b.due).toEqual({ dueTicks: 20, weight: 3 });
    expect(indexed(model).activities).toHaveLength(3);
  });
});
