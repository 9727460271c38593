import type { JobShopInstance, JobShopJob, JobShopOperation } from "../model/jobshop.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import { checkSchedule } from "../schedule/check.js";
import type { Violation } from "../schedule/constraints/violation.js";
import type { Schedule } from "../schedule/types.js";
import { solveJobShop } from "../solver/index.js";
import type { JobShopObjective } from "../solver/types.js";
import { sortSlots } from "./local-scheduler.js";
import {
  activityPrecedences,
  compare,
  jobIdsOf,
  jobOf,
  jobWeight,
  plannedDurationOf,
} from "./model-view.js";
import { addBusy, type Busy, earliestFit, mergeIntervals } from "./timeline.js";
import type { ResourceInterval, ResourceSlot, Slot } from "./types.js";

/**
 * Deliberative repair (DESIGN.md: the coordinator's "deliberative repair step"): when the agents'
 * negotiation does not converge, re-solve the remaining problem centrally with the reference
 * solver, keeping what has started or finished.
 */
export interface ReoptimizeOptions {
  readonly nowTicks: Ticks;
  /** Slots already started or done: kept exactly as given. */
  readonly frozen?: readonly ResourceSlot[];
  /** When resources cannot work. Intervals must end (finite `untilTicks`). */
  readonly unavailable?: readonly ResourceInterval[];
  readonly objective: JobShopObjective;
  readonly seed: number;
  /** Local-search iterations of the solver. Default 10,000. */
  readonly maxIterations?: number;
  /** Resource per activity where it is not the preferred one (operations moved to alternatives). */
  readonly resourceOf?: Readonly<Record<string, string>>;
  /** Activities deliberately left out (cancelled). */
  readonly cancelled?: readonly string[];
  /** Version of the new schedule. Default 1. */
  readonly version?: number;
  /**
   * Warm start (run-time repair): the schedule in force, whose machine sequences the solver
   * improves instead of building one from scratch. Operations it does not place (new work) join
   * at the earliest their job allows.
   */
  readonly warmStart?: Schedule;
  /** With `warmStart`: objective charged per operation the solver resequences. Default 0. */
  readonly churnWeight?: number;
  /**
   * With `warmStart`: also search this many iterations from scratch and keep the better, churn
   * charged (the solver's `coldIterations`). Default 0.
   */
  readonly coldIterations?: number;
}

/** Why a model cannot be re-solved this way; each says what to do instead. */
export type ReoptimizeError =
  /** A frozen operation follows an unfrozen one in its job: freeze the earlier ones too. */
  | { readonly kind: "frozen-not-prefix"; readonly activityId: string; readonly reason: string }
  /** A frozen slot names no activity of the model: drop it or fix the id. */
  | { readonly kind: "unknown-frozen"; readonly activityId: string; readonly reason: string }
  /** A resource is unavailable for ever: move its operations (problem adjustment) first. */
  | {
      readonly kind: "unbounded-unavailability";
      readonly resourceId: string;
      readonly reason: string;
    };

export interface Reoptimized {
  readonly schedule: Schedule;
  /** What the checker still finds (requireAll, cancelled activities excepted): deadlines it could not meet. */
  readonly violations: readonly Violation[];
  /** The solver's objective value on the remaining problem, before the unavailability shift. */
  readonly solverValue: number;
  readonly iterations: number;
}

const DEFAULT_ITERATIONS = 10_000;

/**
 * Re-solves the remaining operations with `solveJobShop`:
 * - the model is read as jobs by `planningJobs`: a child of the root whose activities form one
 *   chain is a job; the activities of any other child (a C-TAEMS task network) are each a
 *   one-operation job with their window (release; deadline as due date);
 * - each job's remaining operations (after its frozen prefix, cancelled ones left out) form a
 *   job whose release is max(now, end of its last frozen operation, its release); frozen slots
 *   are copied exactly;
 * - the solver has no machine unavailability, so every busy interval of a machine (unavailable
 *   time and frozen slots) after now is given to it as a one-operation blocker job released at
 *   the interval's start. The solver may still sequence a real operation across an interval
 *   (it can delay a blocker), so its machine sequences are then re-timed by a right shift: in
 *   an order that respects job and machine sequences, each operation starts at the earliest
 *   time after its job predecessor, its machine predecessor and its release at which it fits
 *   between busy intervals. The result keeps the solver's sequences, never overlaps a busy
 *   interval, and satisfies precedence; only the objective may be worse than the solver's.
 * - links between jobs (a network's enables, a job's `after`) are unknown to the solver: each
 *   job's release is raised to the earliest its predecessors can end, due dates are carried
 *   back to the jobs they wait for (`dueThroughLinks`), and the right shift honours the links
 *   as precedences, giving up a solver machine order that contradicts them.
 */
export function reoptimize(
  index: ModelIndex,
  options: ReoptimizeOptions,
): Result<Reoptimized, ReoptimizeError> {
  const now = options.nowTicks;
  const cancelled = new Set(options.cancelled ?? []);
  const frozen = new Map<string, ResourceSlot>();
  for (const f of options.frozen ?? []) {
    if (index.nodes.get(f.activityId)?.kind !== "activity")
      return err({
        kind: "unknown-frozen",
        activityId: f.activityId,
        reason: `frozen slot ${f.activityId} is not an activity of the model`,
      });
    frozen.set(f.activityId, f);
  }
  const chains = planningJobs(index);
  const machineIds = index.model.resources.map((r) => r.id);
  const machineOf = new Map(machineIds.map((id, m) => [id, m]));
  const resourceOf = (a: ActivityNode) => options.resourceOf?.[a.id] ?? a.resources[0]!;
  const jobOfActivity = new Map<string, string>();
  for (const { jobId, chain } of chains) for (const a of chain) jobOfActivity.set(a.id, jobId);
  const { predecessors } = activityPrecedences(index);
  // Predecessors in another job: the solver cannot see them, so they bound releases here and
  // become precedences of the right shift.
  const crossPredecessors = (id: string): string[] =>
    (predecessors.get(id) ?? []).filter(
      (p) => !cancelled.has(p) && jobOfActivity.get(p) !== jobOfActivity.get(id),
    );
  const earliestEnd = new Map<string, Ticks>();
  const endBound = (id: string): Ticks => {
    const known = earliestEnd.get(id);
    if (known !== undefined) return known;
    const f = frozen.get(id);
    let end: Ticks;
    if (f) end = f.startTicks + f.durationTicks;
    else {
      let start = Math.max(now, effectiveRelease(index, id));
      for (const p of predecessors.get(id) ?? [])
        if (!cancelled.has(p)) start = Math.max(start, endBound(p));
      end = start + plannedDurationOf(index.nodes.get(id) as ActivityNode);
    }
    earliestEnd.set(id, end);
    return end;
  };

  const jobs: JobShopJob[] = [];
  for (const { jobId, chain, single } of chains) {
    const live = chain.filter((a) => !cancelled.has(a.id));
    let prefix = 0;
    while (prefix < live.length && frozen.has(live[prefix]!.id)) prefix++;
    const stray = live.slice(prefix).find((a) => frozen.has(a.id));
    if (stray)
      return err({
        kind: "frozen-not-prefix",
        activityId: stray.id,
        reason: `${stray.id} is frozen but an earlier operation of ${jobId} is not`,
      });
    const remaining = live.slice(prefix);
    if (remaining.length === 0) continue;
    let release = now;
    for (const a of live.slice(0, prefix)) {
      const f = frozen.get(a.id)!;
      release = Math.max(release, f.startTicks + f.durationTicks);
    }
    let before = 0;
    const operations: JobShopOperation[] = remaining.map((a) => {
      const d = plannedDurationOf(a);
      release = Math.max(release, effectiveRelease(index, a.id) - before);
      for (const p of crossPredecessors(a.id)) release = Math.max(release, endBound(p) - before);
      before += d;
      return { id: a.id, machine: machineOf.get(resourceOf(a)) ?? 0, durationTicks: d };
    });
    // A network activity's job is itself: its deadline is the due date the solver aims at.
    const due = single
      ? (() => {
          const deadline = effectiveDeadline(index, jobId);
          return deadline === undefined ? undefined : { dueTicks: deadline };
        })()
      : index.nodes.get(jobId)?.due;
    jobs.push({
      id: jobId,
      operations,
      releaseTicks: release,
      ...(due ? { dueTicks: due.dueTicks } : {}),
      weight: jobWeight(index, single ? jobOf(index, jobId) : jobId),
    });
  }
  const links: [string, string][] = [];
  for (const job of jobs)
    for (const op of job.operations)
      for (const p of crossPredecessors(op.id)) if (!frozen.has(p)) links.push([p, op.id]);
  if (links.length > 0) jobs.splice(0, jobs.length, ...dueThroughLinks(jobs, links));

  const busy: Busy[] = machineIds.map(() => []);
  const intervals = [
    ...(options.unavailable ?? []),
    ...[...frozen.values()].map((f) => ({
      resourceId: f.resourceId,
      fromTicks: f.startTicks,
      untilTicks: f.startTicks + f.durationTicks,
    })),
  ];
  for (const u of intervals) {
    const m = machineOf.get(u.resourceId);
    if (m === undefined) continue;
    if (!Number.isFinite(u.untilTicks))
      return err({
        kind: "unbounded-unavailability",
        resourceId: u.resourceId,
        reason: `${u.resourceId} is unavailable from ${u.fromTicks} for ever`,
      });
    busy[m] = mergeIntervals([...busy[m]!, u]);
  }

  let solverValue = 0;
  let iterations = 0;
  const placed: (Slot & { resourceId: string })[] = [];
  if (jobs.length > 0) {
    const blockers: JobShopJob[] = [];
    busy.forEach((list, m) => {
      for (const b of list) {
        const from = Math.max(b.fromTicks, now);
        if (b.untilTicks <= from) continue;
        blockers.push({
          id: `#blocked:${machineIds[m]}:${from}`,
          operations: [
            {
              id: `#blocked:${machineIds[m]}:${from}`,
              machine: m,
              durationTicks: b.untilTicks - from,
            },
          ],
          releaseTicks: from,
          weight: 0,
        });
      }
    });
    const instance: JobShopInstance = {
      name: `${index.model.name} (remaining)`,
      machineIds,
      jobs: [...jobs, ...blockers],
    };
    const solution = solveJobShop(instance, {
      objective: options.objective,
      seed: options.seed,
      maxIterations: options.maxIterations ?? DEFAULT_ITERATIONS,
      ...(options.warmStart
        ? {
            warmStart: warmStarts(options.warmStart, jobs),
            ...(options.churnWeight !== undefined ? { churnWeight: options.churnWeight } : {}),
            ...(options.coldIterations !== undefined
              ? { coldIterations: options.coldIterations }
              : {}),
          }
        : {}),
    });
    solverValue = solution.value;
    iterations = solution.iterations;
    placed.push(
      ...rightShiftDecode(instance, jobs.length, solution.starts, solution.sequences, busy, links),
    );
  }

  const byResource = new Map<string, Slot[]>(machineIds.map((id) => [id, []]));
  for (const f of frozen.values()) {
    const list = byResource.get(f.resourceId) ?? [];
    list.push({
      activityId: f.activityId,
      startTicks: f.startTicks,
      durationTicks: f.durationTicks,
    });
    byResource.set(f.resourceId, list);
  }
  for (const p of placed) byResource.get(p.resourceId)!.push(p);
  const schedule: Schedule = {
    version: options.version ?? 1,
    resources: [...byResource.entries()].map(([resourceId, slots]) => ({
      resourceId,
      activities: sortSlots(slots).map((s) => ({
        activityId: s.activityId,
        startTicks: s.startTicks,
        durationTicks: s.durationTicks,
      })),
    })),
  };
  const violations = checkSchedule(index, schedule, { requireAll: true }).filter(
    (v) => !(v.kind === "unscheduled" && cancelled.has(v.activityId)),
  );
  return ok({ schedule, violations, solverValue, iterations });
}

/** The warm start's start of each operation the solver places (by id). */
function warmStarts(schedule: Schedule, jobs: readonly JobShopJob[]): Map<string, Ticks> {
  const placed = new Set(jobs.flatMap((j) => j.operations.map((o) => o.id)));
  const out = new Map<string, Ticks>();
  for (const r of schedule.resources)
    for (const a of r.activities)
      if (placed.has(a.activityId) && a.startTicks !== undefined)
        out.set(a.activityId, a.startTicks);
  return out;
}

/**
 * Due dates carried back along links between jobs, which the solver cannot see: an operation
 * that another job waits for must end early enough for that job to meet its due date, so its
 * own job's due date becomes at most that latest end plus the work after it in the job, with
 * the largest weight of the jobs it holds up.
 */
function dueThroughLinks(
  jobs: readonly JobShopJob[],
  links: readonly (readonly [string, string])[],
): JobShopJob[] {
  const jobOfOp = new Map<string, JobShopJob>();
  const after = new Map<string, Ticks>();
  const duration = new Map<string, Ticks>();
  for (const job of jobs) {
    let rest = 0;
    for (let k = job.operations.length - 1; k >= 0; k--) {
      const op = job.operations[k]!;
      jobOfOp.set(op.id, job);
      after.set(op.id, rest);
      duration.set(op.id, op.durationTicks);
      rest += op.durationTicks;
    }
  }
  const successors = new Map<string, string[]>();
  for (const [from, to] of links) successors.set(from, [...(successors.get(from) ?? []), to]);
  // Per operation: the latest end that keeps the jobs after it on time, and the largest
  // tardiness weight among those jobs (what lateness there would cost).
  const latest = new Map<string, { end: Ticks; weight: number }>();
  const latestEnd = (id: string): { end: Ticks; weight: number } => {
    const known = latest.get(id);
    if (known !== undefined) return known;
    const job = jobOfOp.get(id);
    let end = (job?.dueTicks ?? Number.POSITIVE_INFINITY) - after.get(id)!;
    let weight = job?.weight ?? 0;
    for (const s of successors.get(id) ?? []) {
      const next = latestEnd(s);
      end = Math.min(end, next.end - duration.get(s)!);
      weight = Math.max(weight, next.weight);
    }
    const out = { end, weight };
    latest.set(id, out);
    return out;
  };
  return jobs.map((job) => {
    const own = job.dueTicks ?? Number.POSITIVE_INFINITY;
    let due = own;
    let weight = job.weight;
    for (const op of job.operations) {
      if (!successors.has(op.id)) continue;
      const bound = latestEnd(op.id);
      due = Math.min(due, bound.end + after.get(op.id)!);
      weight = Math.max(weight, bound.weight);
    }
    return due === own ? job : { ...job, dueTicks: due, weight };
  });
}

/**
 * Re-times the solver's machine sequences around busy intervals (see `reoptimize`). Operations
 * are taken in a topological order of job and machine sequences and `links` (precedences
 * between jobs, by operation id), earliest solver start first. Only the first `realJobs` jobs
 * are placed; the blockers after them only shaped the sequences. When the solver's machine
 * order contradicts the links (a cycle), the earliest waiting operation whose job and link
 * predecessors are placed goes next regardless of its machine predecessor: it is fitted into
 * the machine's free time like any other, so the result stays feasible.
 */
function rightShiftDecode(
  instance: JobShopInstance,
  realJobs: number,
  starts: readonly (readonly Ticks[])[],
  sequences: readonly (readonly (readonly [number, number])[])[],
  busy: readonly Busy[],
  links: readonly (readonly [string, string])[] = [],
): (Slot & { resourceId: string })[] {
  const key = (j: number, k: number) => `${j}:${k}`;
  const machinePrev = new Map<string, string>();
  const waiting = new Map<string, number>();
  const followers = new Map<string, string[]>();
  /** Job and link predecessors: the precedences that must hold whatever the machine order. */
  const hardPrev = new Map<string, string[]>();
  const addEdge = (from: string, to: string) => {
    waiting.set(to, (waiting.get(to) ?? 0) + 1);
    followers.set(from, [...(followers.get(from) ?? []), to]);
  };
  const addHard = (from: string, to: string) => {
    addEdge(from, to);
    hardPrev.set(to, [...(hardPrev.get(to) ?? []), from]);
  };
  const keyOf = new Map<string, string>();
  for (let j = 0; j < realJobs; j++) {
    const ops = instance.jobs[j]!.operations;
    for (let k = 0; k < ops.length; k++) {
      keyOf.set(ops[k]!.id, key(j, k));
      waiting.set(key(j, k), waiting.get(key(j, k)) ?? 0);
      if (k > 0) addHard(key(j, k - 1), key(j, k));
    }
  }
  for (const [from, to] of links) {
    const f = keyOf.get(from);
    const t = keyOf.get(to);
    if (f !== undefined && t !== undefined) addHard(f, t);
  }
  for (const seq of sequences) {
    const real = seq.filter(([j]) => j < realJobs);
    for (let i = 1; i < real.length; i++) {
      const [pj, pk] = real[i - 1]!;
      const [j, k] = real[i]!;
      machinePrev.set(key(j, k), key(pj, pk));
      addEdge(key(pj, pk), key(j, k));
    }
  }
  const end = new Map<string, Ticks>();
  const timelines = busy.map((b) => [...b]);
  const out: (Slot & { resourceId: string })[] = [];
  const startOf = (id: string) => {
    const [j, k] = id.split(":").map(Number) as [number, number];
    return starts[j]?.[k] ?? 0;
  };
  const byStart = (a: string, b: string) => startOf(a) - startOf(b) || compare(a, b);
  const ready = [...waiting.entries()].filter(([, n]) => n === 0).map(([id]) => id);
  while (end.size < waiting.size) {
    if (ready.length === 0) {
      const next = [...waiting.keys()]
        .filter((id) => !end.has(id) && (hardPrev.get(id) ?? []).every((p) => end.has(p)))
        .sort(byStart)[0];
      if (next === undefined) break; // unreachable: job chains and links are acyclic
      ready.push(next);
    }
    ready.sort(byStart);
    const id = ready.shift()!;
    if (end.has(id)) continue;
    const [j, k] = id.split(":").map(Number) as [number, number];
    const job = instance.jobs[j]!;
    const op = job.operations[k]!;
    let t = job.releaseTicks;
    for (const p of hardPrev.get(id) ?? []) t = Math.max(t, end.get(p)!);
    const mp = machinePrev.get(id);
    if (mp !== undefined && end.has(mp)) t = Math.max(t, end.get(mp)!);
    const start = earliestFit(timelines[op.machine]!, t, op.durationTicks);
    timelines[op.machine] = addBusy(timelines[op.machine]!, {
      fromTicks: start,
      untilTicks: start + op.durationTicks,
    });
    end.set(id, start + op.durationTicks);
    out.push({
      activityId: op.id,
      resourceId: instance.machineIds[op.machine]!,
      startTicks: start,
      durationTicks: op.durationTicks,
    });
    for (const f of followers.get(id) ?? []) {
      const n = waiting.get(f)! - 1;
      waiting.set(f, n);
      if (n === 0 && !end.has(f)) ready.push(f);
    }
  }
  return out;
}

/** One job of the deliberative re-solve: its operations in chain order. */
export interface PlanningJob {
  readonly jobId: string;
  readonly chain: readonly ActivityNode[];
  /** A network activity planned as a one-operation job (its id is the job's). */
  readonly single: boolean;
}

/**
 * The jobs that deliberative repair plans (CAMPS reads jobs; DESIGN.md "One task model"): a
 * child of the root whose activities form one chain of precedences is a job; under any other
 * child (a C-TAEMS task network, whose QAFs and enables links are no chain), each activity is a
 * one-operation job. Links between jobs are left to the caller as precedences.
 */
export function planningJobs(index: ModelIndex): PlanningJob[] {
  const { predecessors } = activityPrecedences(index);
  const out: PlanningJob[] = [];
  for (const jobId of jobIdsOf(index)) {
    const activities = index.activities.filter((a) => jobOf(index, a.id) === jobId);
    const order = chainOrder(activities, predecessors);
    if (order) out.push({ jobId, chain: order, single: false });
    else for (const a of activities) out.push({ jobId: a.id, chain: [a], single: true });
  }
  return out;
}
/**
 * The activities in chain order when their precedences (transitively closed or not) make a
 * total order: sorting by number of predecessors inside the job must give each activity all
 * the ones before it.
 */
function chainOrder(
  activities: readonly ActivityNode[],
  predecessors: ReadonlyMap<string, readonly string[]>,
): ActivityNode[] | undefined {
  const ids = new Set(activities.map((a) => a.id));
  const closure = new Map<string, Set<string>>();
  const reach = (id: string): Set<string> => {
    const seen = closure.get(id);
    if (seen) return seen;
    const set = new Set<string>();
    closure.set(id, set);
    for (const p of predecessors.get(id) ?? []) {
      if (!ids.has(p)) continue;
      set.add(p);
      for (const q of reach(p)) set.add(q);
    }
    return set;
  };
  const sorted = [...activities].sort((a, b) => reach(a.id).size - reach(b.id).size);
  for (let i = 0; i < sorted.length; i++) {
    if (reach(sorted[i]!.id).size !== i) return undefined;
    if (i > 0 && !reach(sorted[i]!.id).has(sorted[i - 1]!.id)) return undefined;
  }
  return sorted;
}
