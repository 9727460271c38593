import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import { checkSchedule } from "../schedule/check.js";
import { scheduleFromJobShop } from "../schedule/from-jobshop.js";
import { scheduleMetrics } from "../schedule/metrics.js";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { solveJobShop } from "./solve.js";

// The solver's answers are checked by the independent feasibility checker and metrics, not by
// the solver's own bookkeeping.
describe("every schedule the solver returns passes the feasibility checker", () => {
  for (const objective of ["makespan", "twt"] as const) {
    it(`objective ${objective}`, () => {
      fc.assert(
        fc.property(
          jobShopArbitrary({ maxJobs: 7, maxMachines: 5 }),
          fc.nat(1000),
          (instance, seed) => {
            const solution = solveJobShop(instance, { objective, seed, maxIterations: 300 });
            const indexed = indexModel(jobShopToModel(instance));
            if (!indexed.ok) throw new Error("generated model is invalid");
            const schedule = scheduleFromJobShop(instance, solution.starts);
            expect(checkSchedule(indexed.value, schedule, { requireAll: true })).toEqual([]);
            const metrics = scheduleMetrics(indexed.value, schedule);
            expect(solution.value).toBe(
              objective === "makespan" ? metrics.makespanTicks : metrics.totalWeightedTardiness,
            );
            expect(solution.value).toBeGreaterThanOrEqual(solution.lowerBound);
            expect(solution.value).toBeLessThanOrEqual(solution.initialValue);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
