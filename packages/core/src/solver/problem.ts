import type { JobShopInstance } from "../model/jobshop.js";
import type { Ticks } from "../model/types.js";
import type { JobShopObjective } from "./types.js";

/**
 * The dense, numbered form of a job shop that the solver's inner loops work on. Operations are
 * numbered job by job: operation k of job j is `jobStart[j] + k`.
 */
export interface Problem {
  readonly instance: JobShopInstance;
  /** Number of operations. */
  readonly n: number;
  readonly jobCount: number;
  readonly machineCount: number;
  /** First operation of each job; `jobStart[jobCount]` is `n`. */
  readonly jobStart: Int32Array;
  /** Per operation: its job, its index within the job, its machine and its duration. */
  readonly job: Int32Array;
  readonly index: Int32Array;
  readonly machine: Int32Array;
  readonly duration: Float64Array;
  /** Per operation: the release of its job (an operation never starts before it). */
  readonly release: Float64Array;
  /** Per operation: its job's predecessor and successor operation, or -1. */
  readonly jobPrev: Int32Array;
  readonly jobNext: Int32Array;
  /** Per machine: how many operations it runs. */
  readonly machineLoad: Int32Array;
  /** Per operation: its rank among the operations of its machine (in job order, fixed). */
  readonly machineRank: Int32Array;
  /** The largest number of operations on one machine. */
  readonly maxMachineOps: number;
  /** Per job: due date (Infinity when the job has none) and weight. */
  readonly due: Float64Array;
  readonly weight: Float64Array;
}

export function toProblem(instance: JobShopInstance): Problem {
  const jobCount = instance.jobs.length;
  const machineCount = instance.machineIds.length;
  const jobStart = new Int32Array(jobCount + 1);
  for (let j = 0; j < jobCount; j++) {
    jobStart[j + 1] = jobStart[j]! + instance.jobs[j]!.operations.length;
  }
  const n = jobStart[jobCount]!;
  const job = new Int32Array(n);
  const index = new Int32Array(n);
  const machine = new Int32Array(n);
  const duration = new Float64Array(n);
  const release = new Float64Array(n);
  const jobPrev = new Int32Array(n);
  const jobNext = new Int32Array(n);
  const machineLoad = new Int32Array(machineCount);
  const machineRank = new Int32Array(n);
  const due = new Float64Array(jobCount);
  const weight = new Float64Array(jobCount);
  instance.jobs.forEach((jb, j) => {
    due[j] = jb.dueTicks ?? Number.POSITIVE_INFINITY;
    weight[j] = jb.weight;
    const first = jobStart[j]!;
    const count = jb.operations.length;
    jb.operations.forEach((op, k) => {
      const o = first + k;
      if (!Number.isInteger(op.machine) || op.machine < 0 || op.machine >= machineCount) {
        throw new RangeError(
          `operation ${op.id} names machine ${op.machine}, which does not exist`,
        );
      }
      if (!(op.durationTicks >= 0)) {
        throw new RangeError(`operation ${op.id} has a negative duration`);
      }
      job[o] = j;
      index[o] = k;
      machine[o] = op.machine;
      duration[o] = op.durationTicks;
      release[o] = jb.releaseTicks;
      jobPrev[o] = k > 0 ? o - 1 : -1;
      jobNext[o] = k < count - 1 ? o + 1 : -1;
      machineRank[o] = machineLoad[op.machine]!;
      machineLoad[op.machine]! += 1;
    });
  });
  let maxMachineOps = 0;
  for (let m = 0; m < machineCount; m++) maxMachineOps = Math.max(maxMachineOps, machineLoad[m]!);
  return {
    instance,
    n,
    jobCount,
    machineCount,
    jobStart,
    job,
    index,
    machine,
    duration,
    release,
    jobPrev,
    jobNext,
    machineLoad,
    machineRank,
    maxMachineOps,
    due,
    weight,
  };
}

/**
 * When each job completes: the end of its last operation, or its release when it has none.
 * `starts[j][k]` is the start of operation k of job j.
 */
export function jobCompletions(
  instance: JobShopInstance,
  starts: readonly (readonly Ticks[])[],
): number[] {
  return instance.jobs.map((job, j) => {
    const k = job.operations.length - 1;
    const last = job.operations[k];
    if (last === undefined) return job.releaseTicks;
    return (starts[j]?.[k] ?? Number.NaN) + last.durationTicks;
  });
}

/** The makespan of a schedule: the latest end of an operation (0 when there is none). */
export function makespanOf(
  instance: JobShopInstance,
  starts: readonly (readonly Ticks[])[],
): number {
  let best = 0;
  instance.jobs.forEach((job, j) => {
    job.operations.forEach((op, k) => {
      best = Math.max(best, (starts[j]?.[k] ?? Number.NaN) + op.durationTicks);
    });
  });
  return best;
}

/**
 * Total weighted tardiness: the sum over jobs with a due date of weight × max(0, completion − due).
 * A job without operations completes at its release.
 */
export function totalWeightedTardinessOf(
  instance: JobShopInstance,
  starts: readonly (readonly Ticks[])[],
): number {
  const completions = jobCompletions(instance, starts);
  let sum = 0;
  instance.jobs.forEach((job, j) => {
    if (job.dueTicks === undefined) return;
    sum += job.weight * Math.max(0, completions[j]! - job.dueTicks);
  });
  return sum;
}

/** The value of a schedule under an objective. */
export function objectiveValue(
  instance: JobShopInstance,
  starts: readonly (readonly Ticks[])[],
  objective: JobShopObjective,
): number {
  return objective === "makespan"
    ? makespanOf(instance, starts)
    : totalWeightedTardinessOf(instance, starts);
}

/**
 * A lower bound on the objective of every feasible schedule.
 *
 * Makespan: the larger of the job bound (release plus total work of a job) and, per machine, the
 * preemptive one-machine bound with heads and tails (Jackson's preemptive schedule), where an
 * operation's head is its job's release plus the work before it and its tail the work after it.
 *
 * Total weighted tardiness: each job completes no earlier than its release plus its total work.
 */
export function jobShopLowerBound(instance: JobShopInstance, objective: JobShopObjective): number {
  const problem = toProblem(instance);
  return objective === "makespan" ? makespanLowerBound(problem) : twtLowerBound(problem);
}

export function twtLowerBound(problem: Problem): number {
  let sum = 0;
  for (let j = 0; j < problem.jobCount; j++) {
    const due = problem.due[j]!;
    if (due === Number.POSITIVE_INFINITY) continue;
    let end = problem.instance.jobs[j]!.releaseTicks;
    for (let o = problem.jobStart[j]!; o < problem.jobStart[j + 1]!; o++)
      end += problem.duration[o]!;
    sum += problem.weight[j]! * Math.max(0, end - due);
  }
  return sum;
}

export function makespanLowerBound(problem: Problem): number {
  const { n, duration, jobStart, release } = problem;
  const head = new Float64Array(n);
  const tail = new Float64Array(n);
  let bound = 0;
  for (let j = 0; j < problem.jobCount; j++) {
    const first = jobStart[j]!;
    const end = jobStart[j + 1]!;
    if (first === end) continue;
    let t = release[first]!;
    for (let o = first; o < end; o++) {
      head[o] = t;
      t += duration[o]!;
    }
    bound = Math.max(bound, t);
    let after = 0;
    for (let o = end - 1; o >= first; o--) {
      tail[o] = after;
      after += duration[o]!;
    }
  }
  const byMachine: number[][] = Array.from({ length: problem.machineCount }, () => []);
  for (let o = 0; o < n; o++) byMachine[problem.machine[o]!]!.push(o);
  for (const ops of byMachine) {
    bound = Math.max(bound, preemptiveOneMachineBound(ops, head, tail, duration));
  }
  return bound;
}

/**
 * Jackson's preemptive schedule for one machine with heads and tails: whenever the machine is
 * free, run the released operation with the longest tail, preempting on each release. The
 * largest completion plus tail is a lower bound on the makespan.
 */
function preemptiveOneMachineBound(
  ops: readonly number[],
  head: Float64Array,
  tail: Float64Array,
  duration: Float64Array,
): number {
  if (ops.length === 0) return 0;
  const byHead = [...ops].sort((a, b) => head[a]! - head[b]!);
  const remaining = new Map<number, number>();
  const ready: number[] = [];
  let next = 0;
  let t = head[byHead[0]!]!;
  let bound = 0;
  while (next < byHead.length || ready.length > 0) {
    while (next < byHead.length && head[byHead[next]!]! <= t) {
      const o = byHead[next++]!;
      ready.push(o);
      remaining.set(o, duration[o]!);
    }
    if (ready.length === 0) {
      t = head[byHead[next]!]!;
      continue;
    }
    let pick = 0;
    for (let i = 1; i < ready.length; i++) {
      if (tail[ready[i]!]! > tail[ready[pick]!]!) pick = i;
    }
    const o = ready[pick]!;
    const left = remaining.get(o)!;
    const nextRelease = next < byHead.length ? head[byHead[next]!]! : Number.POSITIVE_INFINITY;
    const run = Math.min(left, nextRelease - t);
    t += run;
    if (run >= left) {
      bound = Math.max(bound, t + tail[o]!);
      ready[pick] = ready[ready.length - 1]!;
      ready.pop();
    } else {
      remaining.set(o, left - run);
    }
  }
  return bound;
}
