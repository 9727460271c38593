import type { JobShopInstance } from "../model/jobshop.js";
import { createRng } from "../random.js";
import { Budget } from "./budget.js";
import { DISPATCH_RULES, describe, dispatchSequences } from "./dispatch.js";
import { Graph } from "./graph.js";
import { makespanLowerBound, type Problem, toProblem, twtLowerBound } from "./problem.js";
import { tabuSearchMakespan } from "./tabu-makespan.js";
import { tabuSearchTwt } from "./tabu-twt.js";
import type { JobShopObjective, JobShopSolution, SolveOptions } from "./types.js";
import { referencePredecessors, resequencedCount, warmSequences } from "./warm-start.js";

/**
 * Local-search iterations when neither `maxIterations` nor `timeLimitMs` is given: a few seconds
 * on a 10 × 10 instance. A total-weighted-tardiness iteration times every move exactly, so it
 * costs more than a makespan one.
 */
export const DEFAULT_ITERATIONS: Readonly<Record<JobShopObjective, number>> = {
  makespan: 300_000,
  twt: 20_000,
};

/**
 * Solves a job shop for the makespan or the total weighted tardiness.
 *
 * The search starts from the best of the dispatch-rule schedules (`dispatchSchedule`, all rules),
 * or from `warmStart`'s sequences when given (a repair improving the schedule in force, with
 * `churnWeight` charged per operation it resequences), and improves it by tabu search on the machine sequences; see `tabuSearchMakespan` and
 * `tabuSearchTwt`. It stops at `maxIterations`, at `timeLimitMs` (read from `now`), or when the
 * value reaches the lower bound; with neither limit it runs `DEFAULT_ITERATIONS`. A seed and an
 * iteration budget reproduce a run exactly.
 *
 * Schedules are semi-active: every operation starts as soon as its job predecessor, its machine
 * predecessor and its job's release allow. Zero durations are allowed. A job without operations
 * completes at its release (for tardiness) and does not count for the makespan.
 */
export function solveJobShop(instance: JobShopInstance, options: SolveOptions): JobShopSolution {
  const { objective } = options;
  if (objective !== "makespan" && objective !== "twt") {
    throw new RangeError(`solveJobShop: unknown objective ${String(objective)}`);
  }
  const problem = toProblem(instance);
  const lowerBound =
    objective === "makespan" ? makespanLowerBound(problem) : twtLowerBound(problem);
  const budget = new Budget(options, DEFAULT_ITERATIONS[objective]);

  const dispatchBest = (): { seq: Int32Array; value: number } => {
    let best: { seq: Int32Array; value: number } | undefined;
    for (const rule of DISPATCH_RULES) {
      const { seq, start } = dispatchSequences(problem, rule);
      const d = describe(problem, seq, start);
      const value = objective === "makespan" ? d.makespan : d.totalWeightedTardiness;
      if (!best || value < best.value) best = { seq, value };
    }
    return best!;
  };
  const warm = options.warmStart ? warmSequences(problem, options.warmStart) : undefined;
  const first = warm
    ? (() => {
        const d = schedule(problem, warm);
        return {
          seq: warm,
          value: objective === "makespan" ? d.makespan : d.totalWeightedTardiness,
        };
      })()
    : dispatchBest();
  const initialValue = first.value;
  const churnWeight = options.churnWeight ?? 0;
  const churn =
    warm && options.warmStart && churnWeight > 0
      ? {
          reference: referencePredecessors(problem, warm, (id) => options.warmStart!.has(id)),
          weight: churnWeight,
        }
      : undefined;
  const search = (
    initial: Int32Array,
    value: number,
    b: Budget,
    charge: typeof churn,
  ): Int32Array => {
    if (value <= lowerBound) b.stop("optimal");
    if (b.exhausted()) return initial;
    const rng = createRng(options.seed);
    return objective === "makespan"
      ? tabuSearchMakespan(problem, initial, lowerBound, rng, b).seq
      : tabuSearchTwt(problem, initial, lowerBound, rng, b, undefined, charge).seq;
  };
  let seq = search(first.seq, first.value, budget, churn);
  let used = budget;
  // A warm start may sit in a poor basin (the schedule in force after a disruption): with
  // `coldIterations`, a search from the dispatch rules' best runs as well, as it would without a
  // warm start, and the better of the two, churn counted, is kept.
  if (warm && (options.coldIterations ?? 0) > 0) {
    const fromCold = new Budget({ ...options, maxIterations: options.coldIterations ?? 0 }, 0);
    const cold = dispatchBest();
    const other = search(cold.seq, cold.value, fromCold, undefined);
    const charged = (x: Int32Array) => {
      const d = schedule(problem, x);
      const v = objective === "makespan" ? d.makespan : d.totalWeightedTardiness;
      if (!churn) return v;
      const g = new Graph(problem);
      g.setSequences(x);
      return v + churn.weight * resequencedCount(churn.reference, g.mPrev);
    };
    if (charged(other) < charged(seq)) {
      seq = other;
      used = fromCold;
    }
    budget.iterations += fromCold.iterations;
  }
  const { starts, sequences, makespan, totalWeightedTardiness } = schedule(problem, seq);
  return {
    objective,
    value: objective === "makespan" ? makespan : totalWeightedTardiness,
    initialValue,
    lowerBound,
    starts,
    sequences,
    iterations: budget.iterations,
    stopReason: used.stopReason ?? "iterations",
    ...(warm ? { warm: true } : {}),
  };
}

/** The semi-active schedule of machine sequences. */
function schedule(problem: Problem, seq: Int32Array) {
  const g = new Graph(problem);
  g.setSequences(seq);
  if (!g.computeHeads()) throw new Error("solveJobShop: the final sequences are cyclic");
  return describe(problem, seq, g.head);
}
