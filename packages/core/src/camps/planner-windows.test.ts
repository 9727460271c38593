import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { activityPrecedences } from "./model-view.js";
import { assignOperations } from "./planner-windows.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";

const byId = (list: ReturnType<typeof assignOperations>) =>
  Object.fromEntries(list.map((a) => [a.activityId, a]));

describe("assignOperations", () => {
  it("earliest start: release plus the work before it along the job", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            ["m2", 2],
            ["m1", 4],
          ],
          release: 5,
          due: 30,
        },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["A.1"]!.window.earliestTicks).toBe(5);
    expect(a["A.2"]!.window.earliestTicks).toBe(8);
    expect(a["A.3"]!.window.earliestTicks).toBe(10);
  });

  it("latest start: the due date minus the work from it to the end of the job", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            ["m2", 2],
            ["m1", 4],
          ],
          release: 5,
          due: 30,
        },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["A.3"]!.window.latestTicks).toBe(26);
    expect(a["A.2"]!.window.latestTicks).toBe(24);
    expect(a["A.1"]!.window.latestTicks).toBe(21);
  });

  it("a deadline bounds the latest start like a due date", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            ["m2", 2],
          ],
          deadline: 12,
          due: 50,
        },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["A.2"]!.window.latestTicks).toBe(10);
    expect(a["A.1"]!.window.latestTicks).toBe(7);
  });

  it("no earlier than now", () => {
    const index = indexed(jobShopModel([{ id: "A", ops: [["m1", 3]], due: 50 }]));
    expect(assignOperations(index, { nowTicks: 9 })[0]!.window.earliestTicks).toBe(9);
  });

  it("a window is never empty: a job already late gets latest = earliest", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            ["m2", 2],
          ],
          release: 10,
          due: 12,
        },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["A.1"]!.window).toEqual({ earliestTicks: 10, latestTicks: 10 });
    expect(a["A.2"]!.window).toEqual({ earliestTicks: 13, latestTicks: 13 });
  });

  it("without a due date, the other work on the resource widens the window (contention)", () => {
    const index = indexed(
      jobShopModel([
        { id: "A", ops: [["m1", 3]] },
        { id: "B", ops: [["m1", 4]] },
        { id: "C", ops: [["m2", 1]] },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["A.1"]!.window).toEqual({ earliestTicks: 0, latestTicks: 4 });
    expect(a["B.1"]!.window).toEqual({ earliestTicks: 0, latestTicks: 3 });
    expect(a["C.1"]!.window).toEqual({ earliestTicks: 0, latestTicks: 0 });
    expect(byId(assignOperations(index, { contentionFactor: 2 }))["A.1"]!.window.latestTicks).toBe(
      8,
    );
  });

  it("resource: the preferred one unless an alternative is less loaded even after taking it", () => {
    const index = indexed(
      jobShopModel([
        { id: "A", ops: [["m1", 5]] },
        { id: "B", ops: [[["m1", "m2"], 3]] },
        { id: "C", ops: [[["m1", "m2"], 10]] },
      ]),
    );
    const a = byId(assignOperations(index));
    expect(a["B.1"]!.resourceId).toBe("m2");
    expect(a["C.1"]!.resourceId).toBe("m1");
    expect(byId(assignOperations(index, { resourceLoad: { m2: 100 } }))["B.1"]!.resourceId).toBe(
      "m1",
    );
  });

  it("pinned and excluded resources", () => {
    const index = indexed(jobShopModel([{ id: "B", ops: [[["m1", "m2"], 3]] }]));
    expect(assignOperations(index, { resourceOf: { "B.1": "m2" } })[0]!.resourceId).toBe("m2");
    expect(assignOperations(index, { excludeResources: ["m1"] })[0]!.resourceId).toBe("m2");
    expect(assignOperations(index, { resourceOf: { "B.1": "m9" } })[0]!.resourceId).toBe("m1");
  });

  it("only the activities asked for", () => {
    const index = indexed(
      jobShopModel([
        {
          id: "A",
          ops: [
            ["m1", 3],
            ["m2", 2],
          ],
        },
      ]),
    );
    expect(assignOperations(index, { activityIds: ["A.2"] }).map((a) => a.activityId)).toEqual([
      "A.2",
    ]);
  });

  it("property: windows are consistent with precedence and never empty", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary({ maxJobs: 6, maxMachines: 4 }),
        fc.boolean(),
        (instance, now) => {
          const index = indexed(jobShopToModel(instance));
          const list = assignOperations(index, { nowTicks: now ? 7 : 0 });
          const a = byId(list);
          expect(list).toHaveLength(index.activities.length);
          const { predecessors } = activityPrecedences(index);
          for (const x of list) {
            expect(x.window.latestTicks).toBeGreaterThanOrEqual(x.window.earliestTicks);
            for (const p of predecessors.get(x.activityId) ?? []) {
              const pa = a[p]!;
              expect(x.window.earliestTicks).toBeGreaterThanOrEqual(
                pa.window.earliestTicks + pa.durationTicks,
              );
              expect(x.window.latestTicks).toBeGreaterThanOrEqual(
                pa.window.latestTicks + pa.durationTicks,
              );
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
