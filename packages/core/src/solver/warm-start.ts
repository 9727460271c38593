import { Graph } from "./graph.js";
import type { Problem } from "./problem.js";

/**
 * A warm start (run-time repair, issue 15): the machine sequences of a schedule already in
 * force, so the search improves that schedule instead of one built from scratch. Each machine
 * runs its operations in the order of their given starts; an operation without one (new work,
 * a blocker) goes at the earliest its job allows (its release, after its job predecessor's key
 * and duration). Ties keep job order. Returns undefined when the starts contradict the jobs'
 * order (the sequences would make a cycle): the caller starts from scratch then.
 */
export function warmSequences(
  problem: Problem,
  startOf: ReadonlyMap<string, number>,
): Int32Array | undefined {
  const { n, jobCount, jobStart, machineCount, machine, duration, release } = problem;
  const key = new Float64Array(n);
  for (let j = 0; j < jobCount; j++) {
    const ops = problem.instance.jobs[j]!.operations;
    let ready = Number.NEGATIVE_INFINITY;
    for (let o = jobStart[j]!; o < jobStart[j + 1]!; o++) {
      const given = startOf.get(ops[o - jobStart[j]!]!.id);
      key[o] = given ?? Math.max(release[o]!, ready);
      ready = key[o]! + duration[o]!;
    }
  }
  const byMachine: number[][] = Array.from({ length: machineCount }, () => []);
  for (let o = 0; o < n; o++) byMachine[machine[o]!]!.push(o);
  const seq = new Int32Array(n);
  let at = 0;
  for (const ops of byMachine) {
    ops.sort((a, b) => key[a]! - key[b]! || a - b);
    for (const o of ops) seq[at++] = o;
  }
  const g = new Graph(problem);
  g.setSequences(seq);
  return g.computeHeads() ? seq : undefined;
}

/**
 * The machine predecessor of each operation in `seq` (-1 first on its machine), for the
 * operations whose id `counts` (the others -2: not charged for churn).
 */
export function referencePredecessors(
  problem: Problem,
  seq: Int32Array,
  counts: (operationId: string) => boolean,
): Int32Array {
  const g = new Graph(problem);
  g.setSequences(seq);
  const out = Int32Array.from(g.mPrev);
  const { jobStart } = problem;
  for (let j = 0; j < problem.jobCount; j++) {
    const ops = problem.instance.jobs[j]!.operations;
    for (let o = jobStart[j]!; o < jobStart[j + 1]!; o++)
      if (!counts(ops[o - jobStart[j]!]!.id)) out[o] = -2;
  }
  return out;
}

/** Operations whose machine predecessor is no longer their reference one (resequenced). */
export function resequencedCount(reference: Int32Array, mPrev: Int32Array): number {
  let count = 0;
  for (let o = 0; o < reference.length; o++) {
    const r = reference[o]!;
    if (r !== -2 && r !== mPrev[o]) count++;
  }
  return count;
}
