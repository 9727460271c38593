import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JobShopInstance } from "../model/jobshop.js";
import {
  DISPATCH_RULES,
  dispatchSchedule,
  type JobShopObjective,
  type JobShopSolution,
  jobShopLowerBound,
  type SolveProgress,
  solveJobShop,
} from "./index.js";

/** Reads an OR-Library job shop from the shared data folder (comment lines start with `#`). */
function readOrLibrary(name: string): JobShopInstance {
  const url = new URL(`../../../../data/jobshop/${name}.txt`, import.meta.url);
  const rows = readFileSync(url, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/).map(Number));
  const [jobs, machines] = rows[0]!;
  return {
    name,
    machineIds: Array.from({ length: machines! }, (_, m) => `m${m}`),
    jobs: Array.from({ length: jobs! }, (_, j) => {
      const row = rows[j + 1]!;
      return {
        id: `j${j}`,
        operations: Array.from({ length: machines! }, (_, k) => ({
          id: `j${j}.o${k}`,
          machine: row[2 * k]!,
          durationTicks: row[2 * k + 1]!,
        })),
        releaseTicks: 0,
        weight: 1,
      };
    }),
  };
}

/** Due dates at `factor` times each job's work, weights 4/2/1 (Singer & Pinedo's scheme). */
function withDueDates(instance: JobShopInstance, factor: number): JobShopInstance {
  const n = instance.jobs.length;
  return {
    ...instance,
    jobs: instance.jobs.map((job, j) => {
      const work = job.operations.reduce((s, o) => s + o.durationTicks, 0);
      return {
        ...job,
        dueTicks: job.releaseTicks + Math.floor(factor * work),
        weight: j < 0.2 * n ? 4 : j < 0.8 * n ? 2 : 1,
      };
    }),
  };
}

/**
 * Checks a solution without the solver's code: every operation has a start, a job's operations
 * run in order after its release, a machine runs one operation at a time, the sequences list
 * each machine's operations in start order. Returns the objective recomputed from the starts.
 */
function checkSolution(instance: JobShopInstance, solution: JobShopSolution): number {
  const { starts, sequences } = solution;
  expect(starts).toHaveLength(instance.jobs.length);
  const completion: number[] = [];
  instance.jobs.forEach((job, j) => {
    const s = starts[j]!;
    expect(s).toHaveLength(job.operations.length);
    let ready = job.releaseTicks;
    job.operations.forEach((op, k) => {
      expect(Number.isFinite(s[k])).toBe(true);
      expect(s[k]!).toBeGreaterThanOrEqual(ready);
      ready = s[k]! + op.durationTicks;
    });
    completion.push(ready);
  });
  expect(sequences).toHaveLength(instance.machineIds.length);
  instance.machineIds.forEach((_, m) => {
    const expected = instance.jobs
      .flatMap((job, j) => job.operations.map((op, k) => ({ op, j, k })))
      .filter((x) => x.op.machine === m)
      .map((x) => `${x.j}/${x.k}`)
      .sort();
    const seq = sequences[m]!;
    expect(seq.map(([j, k]) => `${j}/${k}`).sort()).toEqual(expected);
    let free = Number.NEGATIVE_INFINITY;
    for (const [j, k] of seq) {
      const start = starts[j]![k]!;
      expect(start).toBeGreaterThanOrEqual(free);
      free = start + instance.jobs[j]!.operations[k]!.durationTicks;
    }
  });
  if (solution.objective === "makespan") {
    let makespan = 0;
    instance.jobs.forEach((job, j) => {
      job.operations.forEach((op, k) => {
        makespan = Math.max(makespan, starts[j]![k]! + op.durationTicks);
      });
    });
    return makespan;
  }
  return instance.jobs.reduce((sum, job, j) => {
    if (job.dueTicks === undefined) return sum;
    return sum + job.weight * Math.max(0, completion[j]! - job.dueTicks);
  }, 0);
}

const solve = (
  instance: JobShopInstance,
  objective: JobShopObjective,
  seed = 1,
  maxIterations = 2000,
) => solveJobShop(instance, { objective, seed, maxIterations });

describe("solveJobShop on benchmark instances", () => {
  it("finds the optimum 55 of ft06", () => {
    const ft06 = readOrLibrary("ft06");
    for (const seed of [1, 2, 3]) {
      const solution = solve(ft06, "makespan", seed, 20_000);
      expect(checkSolution(ft06, solution)).toBe(55);
      expect(solution.value).toBe(55);
      expect(solution.initialValue).toBeGreaterThanOrEqual(55);
      // 55 is above ft06's lower bound, so the search cannot prove it and runs to its budget.
      expect(solution.lowerBound).toBeLessThanOrEqual(55);
    }
  });

  it("proves la01 optimal (666, the lower bound) and stops early", () => {
    const la01 = readOrLibrary("la01");
    const solution = solve(la01, "makespan", 1, 100_000);
    expect(solution.value).toBe(666);
    expect(solution.lowerBound).toBe(666);
    expect(solution.stopReason).toBe("optimal");
    expect(solution.iterations).toBeLessThan(100_000);
    expect(checkSolution(la01, solution)).toBe(666);
  });

  it("improves ft10 well beyond the dispatch rules", () => {
    const ft10 = readOrLibrary("ft10");
    const solution = solve(ft10, "makespan", 1, 20_000);
    expect(checkSolution(ft10, solution)).toBe(solution.value);
    expect(solution.value).toBeLessThan(solution.initialValue);
    expect(solution.value).toBeLessThanOrEqual(975);
    expect(solution.value).toBeGreaterThanOrEqual(930);
    expect(solution.lowerBound).toBeLessThanOrEqual(930);
  });

  it("is deterministic for a seed and an iteration budget", () => {
    const ft10 = readOrLibrary("ft10");
    const a = solve(ft10, "makespan", 7, 5000);
    const b = solve(ft10, "makespan", 7, 5000);
    expect(b).toEqual(a);
    const tardy = withDueDates(ft10, 1.3);
    expect(solve(tardy, "twt", 3, 300)).toEqual(solve(tardy, "twt", 3, 300));
  });

  it("starts from the best dispatch rule", () => {
    const ft10 = readOrLibrary("ft10");
    const best = Math.min(...DISPATCH_RULES.map((r) => dispatchSchedule(ft10, r).makespan));
    expect(solve(ft10, "makespan", 1, 0).initialValue).toBe(best);
    expect(solve(ft10, "makespan", 1, 0).value).toBe(best);
  });

  it("respects release dates", () => {
    const ft06 = readOrLibrary("ft06");
    const released: JobShopInstance = {
      ...ft06,
      jobs: ft06.jobs.map((job, j) => ({ ...job, releaseTicks: 7 * ((j * 5) % 6) })),
    };
    for (const objective of ["makespan", "twt"] as const) {
      const instance = objective === "twt" ? withDueDates(released, 1.5) : released;
      const solution = solve(instance, objective, 2, 3000);
      expect(checkSolution(instance, solution)).toBe(solution.value);
      expect(solution.value).toBeGreaterThanOrEqual(solution.lowerBound);
    }
    // Job 5 is released at 7 * 1 = 7, job 1 at 35: each must start after its release.
    const solution = solve(released, "makespan", 2, 3000);
    expect(solution.starts[1]![0]!).toBeGreaterThanOrEqual(35);
    expect(solution.lowerBound).toBeGreaterThanOrEqual(35 + 47);
  });

  it("improves the total weighted tardiness on the dispatch rules", () => {
    const ft10 = withDueDates(readOrLibrary("ft10"), 1.3);
    const dispatch = Math.min(
      ...DISPATCH_RULES.map((r) => dispatchSchedule(ft10, r).totalWeightedTardiness),
    );
    const solution = solve(ft10, "twt", 1, 1500);
    expect(solution.initialValue).toBe(dispatch);
    expect(checkSolution(ft10, solution)).toBe(solution.value);
    expect(solution.value).toBeLessThan(dispatch);
    expect(solution.lowerBound).toBe(0);
  });
});

describe("solveJobShop options", () => {
  const ft10 = readOrLibrary("ft10");

  it("stops at the time limit, reading the clock it is given", () => {
    let t = 0;
    const solution = solveJobShop(ft10, {
      objective: "makespan",
      seed: 1,
      timeLimitMs: 200,
      now: () => (t += 10),
    });
    expect(solution.stopReason).toBe("time-limit");
    expect(solution.iterations).toBeGreaterThan(0);
    expect(checkSolution(ft10, solution)).toBe(solution.value);
  });

  it("takes whichever limit comes first", () => {
    let t = 0;
    const solution = solveJobShop(ft10, {
      objective: "makespan",
      seed: 1,
      maxIterations: 300,
      timeLimitMs: 1e9,
      now: () => t++,
    });
    expect(solution.stopReason).toBe("iterations");
    expect(solution.iterations).toBe(300);
  });

  it("reports progress every 1,000 iterations", () => {
    const progress: SolveProgress[] = [];
    solveJobShop(ft10, {
      objective: "makespan",
      seed: 1,
      maxIterations: 3500,
      onProgress: (p) => progress.push(p),
    });
    expect(progress.map((p) => p.iterations)).toEqual([1000, 2000, 3000]);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bestValue).toBeLessThanOrEqual(progress[i - 1]!.bestValue);
    }
  });

  it("needs a clock for a time limit", () => {
    expect(() => solveJobShop(ft10, { objective: "makespan", seed: 1, timeLimitMs: 10 })).toThrow(
      /now/,
    );
  });
});

/** Small random job shops: 2–6 jobs on 2–5 machines, durations 1–20, releases and due dates. */
const smallInstance = fc
  .record({ machines: fc.integer({ min: 2, max: 5 }), jobs: fc.integer({ min: 2, max: 6 }) })
  .chain(({ machines, jobs }) =>
    fc
      .array(
        fc.record({
          order: fc.shuffledSubarray(
            Array.from({ length: machines }, (_, m) => m),
            { minLength: 1 },
          ),
          durations: fc.array(fc.integer({ min: 1, max: 20 }), {
            minLength: machines,
            maxLength: machines,
          }),
          release: fc.integer({ min: 0, max: 40 }),
          slack: fc.integer({ min: -20, max: 60 }),
          weight: fc.integer({ min: 1, max: 5 }),
          due: fc.boolean(),
        }),
        { minLength: jobs, maxLength: jobs },
      )
      .map(
        (rows): JobShopInstance => ({
          name: "random",
          machineIds: Array.from({ length: machines }, (_, m) => `m${m}`),
          jobs: rows.map((row, j) => {
            const operations = row.order.map((machine, k) => ({
              id: `j${j}.o${k}`,
              machine,
              durationTicks: row.durations[k]!,
            }));
            const work = operations.reduce((s, o) => s + o.durationTicks, 0);
            return {
              id: `j${j}`,
              operations,
              releaseTicks: row.release,
              ...(row.due ? { dueTicks: Math.max(0, row.release + work + row.slack) } : {}),
              weight: row.weight,
            };
          }),
        }),
      ),
  );

/** Awkward shapes: zero durations, a job visiting a machine twice, empty jobs, idle machines. */
const awkwardInstance = fc
  .record({ machines: fc.integer({ min: 1, max: 4 }), jobs: fc.integer({ min: 1, max: 5 }) })
  .chain(({ machines, jobs }) =>
    fc
      .array(
        fc.record({
          ops: fc.array(
            fc.record({
              machine: fc.integer({ min: 0, max: machines - 1 }),
              duration: fc.integer({ min: 0, max: 6 }),
            }),
            { minLength: 0, maxLength: 6 },
          ),
          release: fc.integer({ min: 0, max: 10 }),
          due: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        }),
        { minLength: jobs, maxLength: jobs },
      )
      .map(
        (rows): JobShopInstance => ({
          name: "awkward",
          machineIds: Array.from({ length: machines }, (_, m) => `m${m}`),
          jobs: rows.map((row, j) => ({
            id: `j${j}`,
            operations: row.ops.map((o, k) => ({
              id: `j${j}.o${k}`,
              machine: o.machine,
              durationTicks: o.duration,
            })),
            releaseTicks: row.release,
            ...(row.due !== undefined ? { dueTicks: row.due } : {}),
            weight: 2,
          })),
        }),
      ),
  );

describe("solveJobShop properties", () => {
  const objective = fc.constantFrom<JobShopObjective>("makespan", "twt");

  it("returns feasible schedules whose value is the objective, above the lower bound", () => {
    fc.assert(
      fc.property(
        smallInstance,
        objective,
        fc.integer(),
        fc.integer({ min: 0, max: 400 }),
        (instance, obj, seed, maxIterations) => {
          const solution = solveJobShop(instance, { objective: obj, seed, maxIterations });
          expect(solution.objective).toBe(obj);
          expect(checkSolution(instance, solution)).toBe(solution.value);
          expect(solution.value).toBeGreaterThanOrEqual(solution.lowerBound);
          expect(solution.value).toBeLessThanOrEqual(solution.initialValue);
          expect(solution.lowerBound).toBe(jobShopLowerBound(instance, obj));
          if (solution.stopReason === "optimal") {
            expect(solution.value).toBe(solution.lowerBound);
          }
          expect(solution.iterations).toBeLessThanOrEqual(maxIterations);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("handles zero durations, repeated machines and empty jobs", () => {
    fc.assert(
      fc.property(awkwardInstance, objective, fc.integer(), (instance, obj, seed) => {
        const solution = solveJobShop(instance, { objective: obj, seed, maxIterations: 200 });
        expect(checkSolution(instance, solution)).toBe(solution.value);
        expect(solution.value).toBeGreaterThanOrEqual(solution.lowerBound);
      }),
      { numRuns: 200 },
    );
  });

  it("gives feasible dispatch schedules for every rule", () => {
    fc.assert(
      fc.property(smallInstance, (instance) => {
        for (const rule of DISPATCH_RULES) {
          const d = dispatchSchedule(instance, rule);
          const asSolution = (objective: JobShopObjective, value: number): JobShopSolution => ({
            objective,
            value,
            initialValue: value,
            lowerBound: 0,
            starts: d.starts,
            sequences: d.sequences,
            iterations: 0,
            stopReason: "iterations",
          });
          expect(checkSolution(instance, asSolution("makespan", d.makespan))).toBe(d.makespan);
          expect(checkSolution(instance, asSolution("twt", d.totalWeightedTardiness))).toBe(
            d.totalWeightedTardiness,
          );
          expect(d.makespan).toBeGreaterThanOrEqual(jobShopLowerBound(instance, "makespan"));
        }
      }),
      { numRuns: 100 },
    );
  });
});
