import type { JobShopInstance } from "../model/jobshop.js";
import type { Ticks } from "../model/types.js";
import { type Problem, toProblem } from "./problem.js";

/**
 * Priority rules of the dispatch (Giffler–Thompson) schedule generator. Among the operations in
 * conflict on a machine, the rule picks:
 * - `spt` / `lpt`: the shortest / longest operation;
 * - `mwkr` / `lwkr`: the job with the most / least work remaining (this operation included);
 * - `mopnr`: the job with the most operations remaining;
 * - `fcfs`: the job that became ready first;
 * - `edd`: the earliest due date (jobs without one last);
 * - `mdd`: the earliest modified due date, max(due, ready + remaining work);
 * - `atc`: the highest apparent-tardiness-cost index (weight / duration, discounted by slack).
 * Ties go to the lower job index, so every rule is deterministic.
 */
export type DispatchRule =
  | "spt"
  | "lpt"
  | "mwkr"
  | "lwkr"
  | "mopnr"
  | "fcfs"
  | "edd"
  | "mdd"
  | "atc";

export const DISPATCH_RULES: readonly DispatchRule[] = [
  "spt",
  "lpt",
  "mwkr",
  "lwkr",
  "mopnr",
  "fcfs",
  "edd",
  "mdd",
  "atc",
];

/** A dispatch-rule schedule and both of its objective values. */
export interface DispatchResult {
  readonly rule: DispatchRule;
  /** `starts[j][k]`: start of operation k of job j. */
  readonly starts: readonly (readonly Ticks[])[];
  /** `sequences[m]`: operations on machine m in processing order, as [job, operation] pairs. */
  readonly sequences: readonly (readonly (readonly [number, number])[])[];
  readonly makespan: number;
  readonly totalWeightedTardiness: number;
}

/** The ATC look-ahead parameter (slack is scaled by this many mean operation durations). */
const ATC_K = 2;

/**
 * Builds an active schedule with the Giffler–Thompson algorithm: repeatedly take the unscheduled
 * operation that could finish first, and on its machine schedule, by the rule, one of the
 * operations that could start before that finish.
 */
export function dispatchSchedule(instance: JobShopInstance, rule: DispatchRule): DispatchResult {
  const problem = toProblem(instance);
  const { seq, start } = dispatchSequences(problem, rule);
  return {
    rule,
    ...describe(problem, seq, start),
  };
}

/** Per-job starts and per-machine sequences from a flat sequence array and operation starts. */
export function describe(
  problem: Problem,
  seq: Int32Array,
  start: Float64Array,
): Omit<DispatchResult, "rule"> {
  const { instance, jobStart, job, index } = problem;
  const starts = instance.jobs.map((jb, j) =>
    jb.operations.map((_, k) => start[jobStart[j]! + k]!),
  );
  const sequences: (readonly [number, number])[][] = instance.machineIds.map(() => []);
  for (let i = 0; i < seq.length; i++) {
    const o = seq[i]!;
    sequences[problem.machine[o]!]!.push([job[o]!, index[o]!]);
  }
  let makespan = 0;
  let twt = 0;
  for (let j = 0; j < problem.jobCount; j++) {
    const first = jobStart[j]!;
    const last = jobStart[j + 1]! - 1;
    let completion = instance.jobs[j]!.releaseTicks;
    if (last >= first) {
      completion = start[last]! + problem.duration[last]!;
      makespan = Math.max(makespan, completion);
    }
    const due = problem.due[j]!;
    if (completion > due) twt += problem.weight[j]! * (completion - due);
  }
  return { starts, sequences, makespan, totalWeightedTardiness: twt };
}

/**
 * The Giffler–Thompson generator on the dense problem. Returns the machine sequences laid out
 * like `Graph.seq` (machine after machine) and each operation's start.
 */
export function dispatchSequences(
  problem: Problem,
  rule: DispatchRule,
): { seq: Int32Array; start: Float64Array } {
  const { n, jobCount, machineCount, jobStart, machine, duration, release, due, weight } = problem;
  const next = new Int32Array(jobCount);
  const jobReady = new Float64Array(jobCount);
  const machineReady = new Float64Array(machineCount);
  const remainingWork = new Float64Array(jobCount);
  for (let j = 0; j < jobCount; j++) {
    next[j] = jobStart[j]!;
    jobReady[j] = problem.instance.jobs[j]!.releaseTicks;
    for (let o = jobStart[j]!; o < jobStart[j + 1]!; o++) remainingWork[j]! += duration[o]!;
  }
  let meanDuration = 0;
  for (let o = 0; o < n; o++) meanDuration += duration[o]!;
  meanDuration = n > 0 && meanDuration > 0 ? meanDuration / n : 1;

  const mStart = new Int32Array(machineCount + 1);
  for (let m = 0; m < machineCount; m++) mStart[m + 1] = mStart[m]! + problem.machineLoad[m]!;
  const fill = mStart.slice(0, machineCount);
  const seq = new Int32Array(n);
  const start = new Float64Array(n);

  const key = (j: number, o: number, est: number): number => {
    const p = duration[o]!;
    switch (rule) {
      case "spt":
        return p;
      case "lpt":
        return -p;
      case "mwkr":
        return -remainingWork[j]!;
      case "lwkr":
        return remainingWork[j]!;
      case "mopnr":
        return -(jobStart[j + 1]! - o);
      case "fcfs":
        return jobReady[j]!;
      case "edd":
        return due[j]!;
      case "mdd":
        return Math.max(due[j]!, est + remainingWork[j]!);
      case "atc": {
        const d = due[j]!;
        if (d === Number.POSITIVE_INFINITY) return 0;
        const slack = Math.max(0, d - est - remainingWork[j]!);
        return -(weight[j]! / Math.max(p, 1e-9)) * Math.exp(-slack / (ATC_K * meanDuration));
      }
    }
  };

  for (let placed = 0; placed < n; placed++) {
    // The operation that could finish first fixes the machine and the conflict window.
    let bestJob = -1;
    let bestEnd = Number.POSITIVE_INFINITY;
    for (let j = 0; j < jobCount; j++) {
      const o = next[j]!;
      if (o >= jobStart[j + 1]!) continue;
      const est = Math.max(jobReady[j]!, machineReady[machine[o]!]!);
      const end = est + duration[o]!;
      if (end < bestEnd) {
        bestEnd = end;
        bestJob = j;
      }
    }
    const m = machine[next[bestJob]!]!;
    let chosen = -1;
    let chosenKey = Number.POSITIVE_INFINITY;
    for (let j = 0; j < jobCount; j++) {
      const o = next[j]!;
      if (o >= jobStart[j + 1]! || machine[o] !== m) continue;
      const est = Math.max(jobReady[j]!, machineReady[m]!);
      if (!(est < bestEnd || j === bestJob)) continue;
      const k = key(j, o, est);
      if (chosen < 0 || k < chosenKey) {
        chosenKey = k;
        chosen = j;
      }
    }
    const o = next[chosen]!;
    const s = Math.max(jobReady[chosen]!, machineReady[m]!, release[o]!);
    start[o] = s;
    seq[fill[m]!++] = o;
    jobReady[chosen] = s + duration[o]!;
    machineReady[m] = s + duration[o]!;
    remainingWork[chosen]! -= duration[o]!;
    next[chosen]! += 1;
  }
  return { seq, start };
}
