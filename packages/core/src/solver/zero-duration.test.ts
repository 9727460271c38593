import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseOrLibrary } from "../import/orlib.js";
import { type JobShopInstance, jobShopToModel } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import { checkSchedule } from "../schedule/check.js";
import { scheduleFromJobShop } from "../schedule/from-jobshop.js";
import { solveJobShop } from "./index.js";

const fixture = new URL("../import/fixtures/orlib/ft06-zero.txt", import.meta.url);

function load(): JobShopInstance {
  const parsed = parseOrLibrary(readFileSync(fixture, "utf8"), "ft06-zero.txt");
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

/** Every ordering of `items`. */
function permutations(items: readonly number[]): number[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]),
  );
}

/**
 * The optimal makespan of the disjunctive job shop (a machine runs its operations one after the
 * other, a zero-length one included: it is an instant before or after another, never inside one)
 * by trying every machine order, without the solver's code: each order's
 * semi-active schedule is found by relaxation (a cyclic order never settles and is skipped).
 */
function exhaustiveMakespan(instance: JobShopInstance): number {
  const machines = instance.machineIds.length;
  const jobs = instance.jobs.length;
  const orders = permutations(Array.from({ length: jobs }, (_, j) => j));
  let best = Number.POSITIVE_INFINITY;
  const choice = new Array<number>(machines).fill(0);
  for (;;) {
    const start = instance.jobs.map((job) => job.operations.map(() => 0));
    const opOn = (m: number, j: number) =>
      instance.jobs[j]!.operations.findIndex((o) => o.machine === m);
    let settled = false;
    for (let pass = 0; pass <= jobs * machines; pass++) {
      let changed = false;
      for (let j = 0; j < jobs; j++) {
        const ops = instance.jobs[j]!.operations;
        for (let k = 0; k < ops.length; k++) {
          let earliest = k > 0 ? start[j]![k - 1]! + ops[k - 1]!.durationTicks : 0;
          const order = orders[choice[ops[k]!.machine]!]!;
          const at = order.indexOf(j);
          if (at > 0) {
            const pj = order[at - 1]!;
            const pk = opOn(ops[k]!.machine, pj);
            earliest = Math.max(
              earliest,
              start[pj]![pk]! + instance.jobs[pj]!.operations[pk]!.durationTicks,
            );
          }
          if (earliest > start[j]![k]!) {
            start[j]![k] = earliest;
            changed = true;
          }
        }
      }
      if (!changed) {
        settled = true;
        break;
      }
    }
    if (settled) {
      const makespan = Math.max(
        ...instance.jobs.map((job, j) => {
          const k = job.operations.length - 1;
          return start[j]![k]! + job.operations[k]!.durationTicks;
        }),
      );
      best = Math.min(best, makespan);
    }
    let m = 0;
    while (m < machines && ++choice[m]! === orders.length) choice[m++] = 0;
    if (m === machines) return best;
  }
}

describe("a job shop with zero-length operations", () => {
  it("solves to the optimum found by exhaustive search", () => {
    const instance = load();
    expect(
      instance.jobs.flatMap((j) => j.operations).filter((o) => o.durationTicks === 0),
    ).toHaveLength(4);
    const optimum = exhaustiveMakespan(instance);
    expect(optimum).toBe(28);
    const solution = solveJobShop(instance, {
      objective: "makespan",
      seed: 1,
      maxIterations: 2000,
    });
    expect(solution.value).toBe(optimum);
    const index = indexModel(jobShopToModel(instance));
    if (!index.ok) throw new Error(JSON.stringify(index.error));
    expect(
      checkSchedule(index.value, scheduleFromJobShop(instance, solution.starts), {
        requireAll: true,
      }),
    ).toEqual([]);
    // The schedule is one: a job's operations in order, a machine's operations apart.
    for (const [j, job] of instance.jobs.entries()) {
      for (let k = 1; k < job.operations.length; k++) {
        expect(solution.starts[j]![k]!).toBeGreaterThanOrEqual(
          solution.starts[j]![k - 1]! + job.operations[k - 1]!.durationTicks,
        );
      }
    }
    for (const sequence of solution.sequences) {
      for (let i = 1; i < sequence.length; i++) {
        const [pj, pk] = sequence[i - 1]!;
        const [j, k] = sequence[i]!;
        expect(solution.starts[j]![k]!).toBeGreaterThanOrEqual(
          solution.starts[pj]![pk]! + instance.jobs[pj]!.operations[pk]!.durationTicks,
        );
      }
    }
  });
});
