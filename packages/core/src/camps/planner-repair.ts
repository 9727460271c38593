import { descendantActivities, type ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import { scheduleMetrics } from "../schedule/metrics.js";
import type { Schedule } from "../schedule/types.js";
import type { JobShopObjective } from "../solver/types.js";
import { reoptimize } from "./deliberative-repair.js";
import { managedJobsOf } from "./manager.js";
import { compare } from "./model-view.js";
import { balanceBoundTicks, planValue } from "./planners.js";
import { moveJobToPlanner } from "./problem-adjustment.js";
import type { ResourceInterval, ResourceSlot } from "./types.js";

/**
 * Several planners at run time (issue 15 items 2 and 3): each planner repairs a disruption
 * within its own cell, and what it cannot settle there goes to problem adjustment (CAMPS: "when
 * conflicts are decided unsolvable [...] a planner agent can relax some constraints or change
 * problem decomposition": subcontract the job to another planner, or prolong its lead time)
 * before any central re-solve.
 *
 * - A planner's cell repair re-plans only its own jobs' unstarted operations (each on the
 *   resource it has), every other planner's slots kept as they are: its calendar of busy time.
 * - A disruption is settled in the cell when none of the planner's jobs ends with more weighted
 *   tardiness than it had in the schedule in force when the disruption came.
 * - Otherwise, problem adjustment: the late job is offered to every other planner able to run
 *   it, each re-planning its own jobs with the newcomer around the rest (`chooseJobMove` takes
 *   the one with the least job tardiness that also makes the whole plan better); failing that,
 *   the planner prolongs the job's lead time to its planned end (the tardiness is accepted, and
 *   the due date stays the client's in every figure).
 * Pure: the seed, the clock and the iteration budget are arguments.
 */

type JobPlanner = { readonly jobId: string; readonly plannerId: string };

export interface CellRepairOptions {
  readonly nowTicks: Ticks;
  readonly objective: JobShopObjective;
  readonly seed: number;
  readonly maxIterations: number;
  /** What has started or is done: kept where it is. */
  readonly frozen: readonly ResourceSlot[];
  readonly unavailable: readonly ResourceInterval[];
  readonly cancelled?: readonly string[];
  readonly version: number;
}

const slotsOf = (schedule: Schedule): ResourceSlot[] =>
  schedule.resources.flatMap((r) =>
    r.activities.map((a) => ({
      activityId: a.activityId,
      resourceId: r.resourceId,
      startTicks: a.startTicks ?? 0,
      durationTicks: a.durationTicks ?? 0,
    })),
  );

/**
 * A planner repairs within its cell: the unstarted operations of `jobIds` are re-planned by the
 * deliberative solver, each on the resource `schedule` gives it, around every other operation
 * of `schedule` (kept as it is). Undefined if the solver finds no plan without violations.
 */
export function repairInCell(
  index: ModelIndex,
  schedule: Schedule,
  jobIds: readonly string[],
  options: CellRepairOptions,
): Schedule | undefined {
  return commitInTurn(index, schedule, [jobIds], options);
}

/**
 * Planners re-commit in turn (`planAcrossPlanners` at run time): each group of jobs, in order,
 * is re-planned around what the groups before it committed and every operation of no group
 * (kept as `schedule` has it); the unstarted operations of the groups after it are not yet in
 * its way. Each operation keeps its resource. Undefined if a group finds no plan.
 */
export function commitInTurn(
  index: ModelIndex,
  schedule: Schedule,
  groups: readonly (readonly string[])[],
  options: CellRepairOptions,
): Schedule | undefined {
  const cancelled = new Set(options.cancelled ?? []);
  const started = new Map(options.frozen.map((f) => [f.activityId, f]));
  const resourceOf: Record<string, string> = {};
  for (const s of slotsOf(schedule)) resourceOf[s.activityId] = s.resourceId;
  const activitiesOf = groups.map(
    (g) => new Set(g.flatMap((j) => descendantActivities(index, j)).filter((a) => !started.has(a))),
  );
  let current = schedule;
  for (const [k, mine] of activitiesOf.entries()) {
    const later = activitiesOf.slice(k + 1).flatMap((g) => [...g]);
    const laterSet = new Set(later);
    // The rest is the calendar: kept where it is, started or not.
    const others = slotsOf(current).filter(
      (s) =>
        !mine.has(s.activityId) &&
        !started.has(s.activityId) &&
        !laterSet.has(s.activityId) &&
        !cancelled.has(s.activityId),
    );
    const solved = reoptimize(index, {
      nowTicks: options.nowTicks,
      frozen: [...started.values(), ...others],
      unavailable: options.unavailable,
      resourceOf,
      cancelled: [...cancelled, ...later],
      objective: options.objective,
      seed: options.seed,
      maxIterations: options.maxIterations,
      version: options.version,
    });
    if (!solved.ok || solved.value.violations.length > 0) return undefined;
    current = solved.value.schedule;
  }
  return current;
}

/** Each job's weighted tardiness in a schedule. */
export function jobTardiness(index: ModelIndex, schedule: Schedule): Map<string, number> {
  return new Map(scheduleMetrics(index, schedule).jobs.map((j) => [j.jobId, j.weightedTardiness]));
}

/** Jobs with more weighted tardiness in `after` than in `before`, the most grown first. */
export function lateningJobs(
  index: ModelIndex,
  before: Schedule,
  after: Schedule,
): { jobId: string; before: number; after: number }[] {
  const b = jobTardiness(index, before);
  return [...jobTardiness(index, after)]
    .filter(([jobId, wt]) => wt > (b.get(jobId) ?? 0))
    .map(([jobId, wt]) => ({ jobId, before: b.get(jobId) ?? 0, after: wt }))
    .sort((x, y) => y.after - y.before - (x.after - x.before) || compare(x.jobId, y.jobId));
}

/** Another planner's offer for a job: the whole plan's value and the job's tardiness with it. */
export interface JobMoveOffer {
  readonly plannerId: string;
  readonly value: number;
  readonly jobWeightedTardiness: number;
}

/**
 * Problem adjustment's choice (CAMPS: subcontract a job to another planner): among the other
 * planners' offers, the one that runs the job with the least weighted tardiness (then the best
 * plan, then the lower id), taken only if the job is less late than where it stays and the
 * whole plan is better than the planner's own repair. Undefined: the job stays.
 */
export function chooseJobMove(input: {
  readonly fromPlannerId: string;
  readonly stay: { readonly value: number; readonly jobWeightedTardiness: number };
  readonly offers: readonly JobMoveOffer[];
}): JobMoveOffer | undefined {
  const better = input.offers
    .filter(
      (o) =>
        o.plannerId !== input.fromPlannerId &&
        o.jobWeightedTardiness < input.stay.jobWeightedTardiness &&
        o.value < input.stay.value,
    )
    .sort(
      (a, b) =>
        a.jobWeightedTardiness - b.jobWeightedTardiness ||
        a.value - b.value ||
        compare(a.plannerId, b.plannerId),
    );
  return better[0];
}

/** A job moved to another planner at run time. */
export interface RuntimeJobMove {
  readonly jobId: string;
  readonly fromPlannerId: string;
  readonly toPlannerId: string;
  /** The plan's value with the planner's own repair, and with the move. */
  readonly valueBefore: number;
  readonly valueAfter: number;
  readonly reason: string;
}

/** A lead time prolonged: the planner accepts the job ending at its planned end. */
export interface LeadTimeExtension {
  readonly jobId: string;
  readonly plannerId: string;
  readonly dueTicks: Ticks;
  readonly reason: string;
}

export interface PlannerRepair {
  readonly schedule: Schedule;
  /**
   * `settled`: nothing got later, or the planners' own repairs (in their cells) settled it;
   * `moved`: a job moved to another planner; `extended`: lead times prolonged.
   */
  readonly outcome: "settled" | "moved" | "extended";
  readonly assignments: readonly JobPlanner[];
  readonly move?: RuntimeJobMove;
  readonly extended: readonly LeadTimeExtension[];
  /** Planners that repaired in their cell (their plan was kept). */
  readonly cellRepairs: readonly string[];
}

/**
 * A disruption past the agents' negotiated repair, with several planners: each planner with a
 * job the disruption made later repairs in its cell (kept if it makes the plan better); a job
 * still later than before goes to problem adjustment — offered to the other planners able to
 * run it (`chooseJobMove`, at most `maxJobs` jobs tried, one move made), else its lead time is
 * prolonged. `before` is the schedule in force when the disruption came; `schedule` the lower
 * levels' repair. Deterministic for a seed.
 */
export function repairAcrossPlanners(
  index: ModelIndex,
  input: {
    readonly before: Schedule;
    readonly schedule: Schedule;
    readonly assignments: readonly JobPlanner[];
    readonly planners: readonly string[];
    /** Jobs that may not move (linked to another job, whose planner they must share). */
    readonly pinned?: readonly string[];
    /**
     * How far apart the planners' loads (ticks of work) may end after a move, unless the move
     * narrows them. Default: the largest job's work, the bound the manager's balance keeps.
     */
    readonly boundTicks?: Ticks;
    /** Resources each planner's cell can use; a job moves only where each operation has one. */
    readonly cells?: Readonly<Record<string, readonly string[]>>;
    readonly maxJobs?: number;
  },
  options: CellRepairOptions,
): PlannerRepair {
  const plannerOf = new Map(input.assignments.map((a) => [a.jobId, a.plannerId]));
  const jobsOf = (p: string, assignments: readonly JobPlanner[]) =>
    assignments.filter((a) => a.plannerId === p).map((a) => a.jobId);
  let schedule = input.schedule;
  let value = planValue(index, schedule, options.objective);
  const cellRepairs: string[] = [];
  const late = lateningJobs(index, input.before, schedule);
  if (late.length === 0)
    return {
      schedule,
      outcome: "settled",
      assignments: input.assignments,
      extended: [],
      cellRepairs,
    };
  const owners = [...new Set(late.flatMap((l) => plannerOf.get(l.jobId) ?? []))].sort(compare);
  for (const p of owners) {
    const repaired = repairInCell(index, schedule, jobsOf(p, input.assignments), options);
    if (!repaired) continue;
    const v = planValue(index, repaired, options.objective);
    if (v < value) {
      schedule = repaired;
      value = v;
      cellRepairs.push(p);
    }
  }
  const still = lateningJobs(index, input.before, schedule);
  if (still.length === 0)
    return {
      schedule,
      outcome: "settled",
      assignments: input.assignments,
      extended: [],
      cellRepairs,
    };

  const pinned = new Set(input.pinned ?? []);
  const canRun = (p: string, jobId: string) => {
    const cell = input.cells?.[p];
    return (
      cell === undefined ||
      descendantActivities(index, jobId).every((id) => {
        const node = index.nodes.get(id);
        return node?.kind !== "activity" || node.resources.some((r) => cell.includes(r));
      })
    );
  };
  const jobs = managedJobsOf(index);
  const work = new Map(
    jobs.map((j) => [j.id, j.operations.reduce((t, op) => t + op.durationTicks, 0)]),
  );
  const bound = input.boundTicks ?? balanceBoundTicks(jobs);
  const spread = (assignments: readonly JobPlanner[]) => {
    const load = new Map(input.planners.map((p) => [p, 0]));
    for (const a of assignments)
      load.set(a.plannerId, (load.get(a.plannerId) ?? 0) + (work.get(a.jobId) ?? 0));
    return Math.max(...load.values()) - Math.min(...load.values());
  };
  const spreadNow = spread(input.assignments);
  const stayWt = jobTardiness(index, schedule);
  for (const l of still.slice(0, input.maxJobs ?? 2)) {
    const from = plannerOf.get(l.jobId);
    if (from === undefined || pinned.has(l.jobId)) continue;
    const offers: (JobMoveOffer & { schedule: Schedule; assignments: JobPlanner[] })[] = [];
    for (const p of [...input.planners].sort(compare)) {
      if (p === from || !canRun(p, l.jobId)) continue;
      const moved = moveJobToPlanner(input.assignments, l.jobId, p);
      // The manager's balance holds: a move may not pull the loads further apart than the bound.
      if (!moved.ok || (spread(moved.value) > bound && spread(moved.value) > spreadNow)) continue;
      // The receiving planner commits the job first; the giving one re-plans around it.
      const offer = commitInTurn(
        index,
        schedule,
        [jobsOf(p, moved.value), jobsOf(from, moved.value)],
        options,
      );
      if (!offer) continue;
      offers.push({
        plannerId: p,
        value: planValue(index, offer, options.objective),
        jobWeightedTardiness: jobTardiness(index, offer).get(l.jobId) ?? 0,
        schedule: offer,
        assignments: moved.value,
      });
    }
    const chosen = chooseJobMove({
      fromPlannerId: from,
      stay: { value, jobWeightedTardiness: stayWt.get(l.jobId) ?? 0 },
      offers,
    });
    if (!chosen) continue;
    const taken = offers.find((o) => o.plannerId === chosen.plannerId)!;
    return {
      schedule: taken.schedule,
      outcome: "moved",
      assignments: taken.assignments,
      move: {
        jobId: l.jobId,
        fromPlannerId: from,
        toPlannerId: chosen.plannerId,
        valueBefore: value,
        valueAfter: chosen.value,
        reason: `${from} could not keep ${l.jobId} at weighted tardiness ${l.before} (${stayWt.get(l.jobId) ?? 0} in its cell); ${chosen.plannerId} runs it at ${chosen.jobWeightedTardiness}`,
      },
      extended: [],
      cellRepairs,
    };
  }
  // No planner runs them better: prolong their lead times to the planned ends.
  const ends = new Map(scheduleMetrics(index, schedule).jobs.map((j) => [j.jobId, j]));
  const extended = still.flatMap((l) => {
    const m = ends.get(l.jobId);
    const p = plannerOf.get(l.jobId);
    if (!m || p === undefined || m.completionTicks === undefined) return [];
    return [
      {
        jobId: l.jobId,
        plannerId: p,
        dueTicks: m.completionTicks,
        reason: `weighted tardiness ${l.before} -> ${stayWt.get(l.jobId) ?? l.after}; no other planner runs it with less`,
      },
    ];
  });
  return { schedule, outcome: "extended", assignments: input.assignments, extended, cellRepairs };
}
