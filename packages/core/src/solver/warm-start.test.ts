import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { JobShopInstance } from "../model/jobshop.js";
import { solveJobShop } from "./index.js";
import { toProblem } from "./problem.js";
import { warmSequences } from "./warm-start.js";

/** la01 (10 x 5) with due dates at 1.3 x each job's work and weights 4/2/1. */
function la01(): JobShopInstance {
  const url = new URL("../../../../data/jobshop/la01.txt", import.meta.url);
  const rows = readFileSync(url, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/).map(Number));
  const [jobs, machines] = rows[0]!;
  return {
    name: "la01-due",
    machineIds: Array.from({ length: machines! }, (_, m) => `m${m}`),
    jobs: Array.from({ length: jobs! }, (_, j) => {
      const row = rows[j + 1]!;
      const operations = Array.from({ length: machines! }, (_, k) => ({
        id: `j${j}.o${k}`,
        machine: row[2 * k]!,
        durationTicks: row[2 * k + 1]!,
      }));
      const work = operations.reduce((s, o) => s + o.durationTicks, 0);
      return {
        id: `j${j}`,
        operations,
        releaseTicks: 0,
        dueTicks: Math.floor(1.3 * work),
        weight: [4, 2, 1][j % 3]!,
      };
    }),
  };
}

/** Each operation's start, by id. */
function startsOf(instance: JobShopInstance, starts: readonly (readonly number[])[]) {
  const out = new Map<string, number>();
  instance.jobs.forEach((job, j) => {
    job.operations.forEach((op, k) => {
      out.set(op.id, starts[j]![k]!);
    });
  });
  return out;
}

/** Operations whose machine predecessor differs between two solutions' sequences. */
function resequenced(
  a: readonly (readonly (readonly [number, number])[])[],
  b: readonly (readonly (readonly [number, number])[])[],
): number {
  const prev = (s: typeof a) => {
    const out = new Map<string, string>();
    for (const seq of s)
      seq.forEach(([j, k], i) => {
        out.set(`${j}/${k}`, i > 0 ? `${seq[i - 1]![0]}/${seq[i - 1]![1]}` : "");
      });
    return out;
  };
  const pa = prev(a);
  const pb = prev(b);
  let n = 0;
  for (const [id, p] of pa) if (pb.get(id) !== p) n++;
  return n;
}

describe("the solver's warm start", () => {
  const instance = la01();
  const base = solveJobShop(instance, { objective: "twt", seed: 1, maxIterations: 3000 });
  const schedule = startsOf(instance, base.starts);

  it("begins from the schedule it is given: no search keeps its sequences and its value", () => {
    const warm = solveJobShop(instance, {
      objective: "twt",
      seed: 2,
      maxIterations: 0,
      warmStart: schedule,
    });
    expect(warm.warm).toBe(true);
    expect(warm.initialValue).toBe(base.value);
    expect(warm.value).toBe(base.value);
    expect(resequenced(warm.sequences, base.sequences)).toBe(0);
    // From scratch, the dispatch rules' best is another schedule, worse than the searched one.
    const cold = solveJobShop(instance, { objective: "twt", seed: 2, maxIterations: 0 });
    expect(cold.warm).toBeUndefined();
    expect(cold.value).toBeGreaterThan(base.value);
  });

  it("improves a poor schedule it starts from, and the churn weight keeps it closer", () => {
    // A poor schedule in force: the dispatch start of the 'lpt' rule, as starts.
    const lpt = solveJobShop(
      { ...instance, jobs: [...instance.jobs].reverse() },
      { objective: "twt", seed: 1, maxIterations: 0 },
    );
    const reversed = { ...instance, jobs: [...instance.jobs].reverse() };
    const poor = startsOf(reversed, lpt.starts);
    const free = solveJobShop(instance, {
      objective: "twt",
      seed: 3,
      maxIterations: 400,
      warmStart: poor,
    });
    const charged = solveJobShop(instance, {
      objective: "twt",
      seed: 3,
      maxIterations: 400,
      warmStart: poor,
      churnWeight: 200,
    });
    expect(free.value).toBeLessThan(free.initialValue);
    expect(charged.initialValue).toBe(free.initialValue);
    const start = solveJobShop(instance, {
      objective: "twt",
      seed: 3,
      maxIterations: 0,
      warmStart: poor,
    });
    const churnFree = resequenced(free.sequences, start.sequences);
    const churnCharged = resequenced(charged.sequences, start.sequences);
    expect(churnFree).toBeGreaterThan(0);
    expect(churnCharged).toBeLessThan(churnFree);
  });

  it("with iterations from scratch as well, keeps whichever start ends better", () => {
    // The poor start of the previous test's kind: a reversed-order dispatch schedule.
    const reversed = { ...instance, jobs: [...instance.jobs].reverse() };
    const poor = startsOf(
      reversed,
      solveJobShop(reversed, { objective: "twt", seed: 1, maxIterations: 0 }).starts,
    );
    const options = { objective: "twt" as const, seed: 4, maxIterations: 300, warmStart: poor };
    const both = solveJobShop(instance, { ...options, coldIterations: 300 });
    const warmOnly = solveJobShop(instance, options);
    const coldOnly = solveJobShop(instance, { objective: "twt", seed: 4, maxIterations: 300 });
    expect(both.iterations).toBeLessThanOrEqual(600);
    expect(both.value).toBe(Math.min(warmOnly.value, coldOnly.value));
  });

  it("places work the schedule does not know at the earliest its job allows, and refuses cycles", () => {
    const problem = toProblem(instance);
    const partial = new Map([...schedule].filter(([id]) => !id.startsWith("j0.")));
    const seq = warmSequences(problem, partial);
    expect(seq).toBeDefined();
    // j0.o0 is first on its machine: its key is its release, 0.
    const m = instance.jobs[0]!.operations[0]!.machine;
    const first = problem.machineLoad.slice(0, m).reduce((s, x) => s + x, 0);
    expect(seq![first]).toBe(0);
    // Starts that run a job backwards make a cycle with its order: no warm start.
    const backwards = new Map(schedule);
    backwards.set("j1.o0", 10_000);
    expect(warmSequences(problem, backwards)).toBeUndefined();
  });
});
