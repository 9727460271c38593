import { descendantActivities, type ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import { scheduleMetrics } from "../schedule/metrics.js";
import type { Schedule } from "../schedule/types.js";
import type { JobShopObjective } from "../solver/types.js";
import { reoptimize } from "./deliberative-repair.js";
import { balanceJobs, type ManagedJob, type PlannerCapacity } from "./manager.js";
import { activityPrecedences, compare, jobIdsOf, jobOf } from "./model-view.js";
import type { ProblemAdjustment } from "./problem-adjustment.js";
import { moveJobToPlanner } from "./problem-adjustment.js";
import type { ResourceInterval, ResourceSlot } from "./types.js";

/**
 * Several planners (CAMPS: the manager "load-balances jobs among planner agents"; a planner may
 * "subcontract jobs to other planner agents").
 *
 * Design. In a job shop most jobs visit most machines, so cells of disjoint resources would
 * rarely hold a whole job. Planners therefore own *jobs*, not machines:
 * - the manager gives each job to one planner (`balanceJobs`: longest job first, to the capable
 *   planner with the least load), so every job has exactly one planner;
 * - a planner's cell is the set of resources its jobs may request (every capable resource of
 *   each of its operations). Cells may overlap: a scheduler agent serves requests from more
 *   than one planner and keeps one schedule;
 * - planners commit in turn (`planAcrossPlanners`), lowest id first: each plans its own jobs
 *   around the resource time the planners before it already committed, which it sees as a
 *   calendar of busy intervals; so no two planners ever claim the same resource time;
 * - problem adjustment: a job its planner cannot bring in by its due date may move to another
 *   planner (`proposeJobMoves`) — one that commits earlier sees an emptier calendar — and the
 *   move stands only if the whole plan improves (`planWithJobMoves`) and the loads stay within
 *   the balance bound.
 * Load balance bound: with equal capacities and every planner capable, longest-processing-time
 * first keeps max load - min load <= the work of the largest job (the planner that ends on top
 * was the least loaded when it took its last job); moves are only made within that bound.
 * Everything here is pure: the seed and the clock are arguments.
 */

export interface JobPlanner {
  readonly jobId: string;
  readonly plannerId: string;
}

export interface PlannerCell {
  readonly id: string;
  /** Resources the planner may request: every capable resource of its jobs' operations. */
  readonly resources: readonly string[];
  /** Its jobs, in model order. */
  readonly jobs: readonly string[];
  /** Work of its jobs, in ticks (planned durations). */
  readonly loadTicks: Ticks;
}

/** Planner ids `P1`..`Pn`: P1 is the default planner (the only one when n is 1). */
export function plannerIds(count: number): string[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`planners: expected a whole number at least 1, got ${count}`);
  return Array.from({ length: count }, (_, k) => `P${k + 1}`);
}

const workOf = (job: ManagedJob): Ticks =>
  job.operations.reduce((s, op) => s + op.durationTicks, 0);

/** The largest job's work: the bound on max load - min load that balancing keeps. */
export function balanceBoundTicks(jobs: readonly ManagedJob[]): Ticks {
  return jobs.reduce((m, j) => Math.max(m, workOf(j)), 0);
}

/** Each planner's cell, jobs and load under an assignment (planners in id order). */
export function plannerCells(
  jobs: readonly ManagedJob[],
  assignments: readonly JobPlanner[],
  planners: readonly string[],
): PlannerCell[] {
  const plannerOf = new Map(assignments.map((a) => [a.jobId, a.plannerId]));
  return [...planners].sort(compare).map((id) => {
    const mine = jobs.filter((j) => plannerOf.get(j.id) === id);
    const resources = new Set(mine.flatMap((j) => j.operations.flatMap((op) => op.resourceIds)));
    return {
      id,
      resources: [...resources].sort(compare),
      jobs: mine.map((j) => j.id),
      loadTicks: mine.reduce((s, j) => s + workOf(j), 0),
    };
  });
}

/**
 * New jobs (a rush order) join the planners: balanced against the load each already has.
 * Jobs that already have a planner keep it.
 */
export function admitJobs(
  jobs: readonly ManagedJob[],
  assignments: readonly JobPlanner[],
  planners: readonly PlannerCapacity[],
): { assignments: JobPlanner[]; admitted: JobPlanner[]; unassigned: string[] } {
  const known = new Set(assignments.map((a) => a.jobId));
  const cells = plannerCells(
    jobs,
    assignments,
    planners.map((p) => p.id),
  );
  const loadOf = new Map(cells.map((c) => [c.id, c.loadTicks]));
  const balance = balanceJobs(
    jobs.filter((j) => !known.has(j.id)),
    planners.map((p) => ({ ...p, loadTicks: (p.loadTicks ?? 0) + (loadOf.get(p.id) ?? 0) })),
  );
  return {
    assignments: [...assignments, ...balance.assignments],
    admitted: [...balance.assignments],
    unassigned: balance.unassigned.map((u) => u.jobId),
  };
}

/**
 * Jobs bound together by links between them (one waits for another, or a network task's
 * enables), as groups in model order: a group goes to one planner, since a planner plans its
 * jobs before it knows the later planners' ones and could not honour a link to them.
 */
export function linkedJobGroups(index: ModelIndex): string[][] {
  const jobIds = jobIdsOf(index);
  const parent = new Map(jobIds.map((j) => [j, j]));
  const find = (j: string): string => {
    let r = j;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const { predecessors } = activityPrecedences(index);
  for (const [to, froms] of predecessors)
    for (const from of froms) {
      const a = jobOf(index, to);
      const b = jobOf(index, from);
      if (a === undefined || b === undefined || a === b) continue;
      const [ra, rb] = [find(a), find(b)];
      if (ra !== rb) parent.set(rb, ra);
    }
  const groups = new Map<string, string[]>();
  for (const j of jobIds) groups.set(find(j), [...(groups.get(find(j)) ?? []), j]);
  return [...groups.values()];
}

/**
 * The manager's balance with linked jobs kept together: each group is balanced as one job
 * (its operations together), then every job of it gets the group's planner.
 */
export function balanceJobGroups(
  jobs: readonly ManagedJob[],
  groups: readonly (readonly string[])[],
  planners: readonly PlannerCapacity[],
): { assignments: JobPlanner[]; unassigned: string[] } {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const grouped = groups
    .map((g) => g.filter((id) => byId.has(id)))
    .filter((g) => g.length > 0)
    .map((g) => ({
      id: g[0]!,
      members: g,
      operations: g.flatMap((id) => byId.get(id)!.operations),
    }));
  const balance = balanceJobs(grouped, planners);
  const plannerOf = new Map(balance.assignments.map((a) => [a.jobId, a.plannerId]));
  const assignments: JobPlanner[] = [];
  const unassigned: string[] = [];
  for (const g of grouped) {
    const p = plannerOf.get(g.id);
    for (const id of g.members)
      if (p === undefined) unassigned.push(id);
      else assignments.push({ jobId: id, plannerId: p });
  }
  return { assignments, unassigned };
}

export interface JobLateness {
  readonly jobId: string;
  readonly weightedTardiness: number;
}

/**
 * Problem adjustment between planners: for each late job (most weighted tardiness first, each
 * job at most once), a move to the other capable planner that commits earliest, provided the
 * loads after the move still differ by at most `boundTicks`. Only candidates: the caller
 * re-plans and keeps a move only if the plan improves.
 */
export function proposeJobMoves(input: {
  readonly jobs: readonly ManagedJob[];
  readonly assignments: readonly JobPlanner[];
  readonly planners: readonly PlannerCapacity[];
  readonly lateness: readonly JobLateness[];
  readonly boundTicks: Ticks;
  /** Jobs already moved: not moved again, so moves cannot ping-pong. */
  readonly alreadyMoved?: readonly string[];
  /** Jobs that may not move (linked to another job, whose planner they must share). */
  readonly pinned?: readonly string[];
}): Extract<ProblemAdjustment, { kind: "move-job" }>[] {
  const moved = new Set([...(input.alreadyMoved ?? []), ...(input.pinned ?? [])]);
  const byId = new Map(input.jobs.map((j) => [j.id, j]));
  const plannerOf = new Map(input.assignments.map((a) => [a.jobId, a.plannerId]));
  const cells = plannerCells(
    input.jobs,
    input.assignments,
    input.planners.map((p) => p.id),
  );
  const load = new Map(cells.map((c) => [c.id, c.loadTicks]));
  const late = input.lateness
    .filter((l) => l.weightedTardiness > 0 && !moved.has(l.jobId) && byId.has(l.jobId))
    .sort((a, b) => b.weightedTardiness - a.weightedTardiness || compare(a.jobId, b.jobId));
  const ordered = [...input.planners].sort((a, b) => compare(a.id, b.id));
  const out: Extract<ProblemAdjustment, { kind: "move-job" }>[] = [];
  for (const l of late) {
    const job = byId.get(l.jobId)!;
    const from = plannerOf.get(l.jobId);
    if (from === undefined) continue;
    const w = workOf(job);
    for (const p of ordered) {
      if (p.id === from || !canRun(p, job)) continue;
      const after = new Map(load);
      after.set(from, (after.get(from) ?? 0) - w);
      after.set(p.id, (after.get(p.id) ?? 0) + w);
      const values = [...after.values()];
      if (Math.max(...values) - Math.min(...values) > input.boundTicks) continue;
      out.push({
        kind: "move-job",
        jobId: l.jobId,
        toPlannerId: p.id,
        reason: `${from} plans ${l.jobId} with weighted tardiness ${l.weightedTardiness}`,
      });
      break;
    }
  }
  return out;
}

function canRun(planner: PlannerCapacity, job: ManagedJob): boolean {
  const own = planner.resourceIds;
  return (
    own === undefined || job.operations.every((op) => op.resourceIds.some((r) => own.includes(r)))
  );
}

export interface PlanAcrossOptions {
  readonly nowTicks: Ticks;
  readonly objective: JobShopObjective;
  readonly seed: number;
  readonly maxIterations: number;
  readonly unavailable?: readonly ResourceInterval[];
  /** Slots already committed (started or done): kept as they are. */
  readonly frozen?: readonly ResourceSlot[];
  readonly cancelled?: readonly string[];
  readonly version?: number;
}

/** A planner could not plan its jobs (the solver's reason). */
export interface PlanAcrossError {
  readonly plannerId: string;
  readonly reason: string;
}

/**
 * Each planner in turn (id order) plans its own jobs with the deliberative solver around the
 * calendar of resource time the planners before it committed (their slots, frozen); the jobs of
 * the planners after it are not yet its concern. The last plan holds every planner's slots:
 * one schedule per resource.
 */
export function planAcrossPlanners(
  index: ModelIndex,
  assignments: readonly JobPlanner[],
  options: PlanAcrossOptions,
): Result<Schedule, PlanAcrossError> {
  const planners = [...new Set(assignments.map((a) => a.plannerId))].sort(compare);
  if (planners.length === 0) return err({ plannerId: "", reason: "there is no planner" });
  const activitiesOf = new Map<string, string[]>();
  for (const a of assignments)
    activitiesOf.set(a.plannerId, [
      ...(activitiesOf.get(a.plannerId) ?? []),
      ...descendantActivities(index, a.jobId),
    ]);
  const cancelled = options.cancelled ?? [];
  let committed: ResourceSlot[] = [...(options.frozen ?? [])];
  let schedule: Schedule | undefined;
  for (const [k, plannerId] of planners.entries()) {
    const later = planners.slice(k + 1).flatMap((p) => activitiesOf.get(p) ?? []);
    const solved = reoptimize(index, {
      nowTicks: options.nowTicks,
      frozen: committed,
      ...(options.unavailable ? { unavailable: options.unavailable } : {}),
      cancelled: [...cancelled, ...later],
      objective: options.objective,
      seed: options.seed,
      maxIterations: options.maxIterations,
      version: options.version ?? 1,
    });
    if (!solved.ok) return err({ plannerId, reason: solved.error.reason });
    schedule = solved.value.schedule;
    committed = schedule.resources.flatMap((r) =>
      r.activities.map((a) => ({
        activityId: a.activityId,
        resourceId: r.resourceId,
        startTicks: a.startTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
    );
  }
  return ok(schedule!);
}

/** A move-job adjustment tried on the plan, and whether it stood. */
export interface JobMove {
  readonly jobId: string;
  readonly fromPlannerId: string;
  readonly toPlannerId: string;
  readonly reason: string;
  readonly accepted: boolean;
  /** The plan's value (the objective, as the quality gate counts it) before and with the move. */
  readonly valueBefore: number;
  readonly valueAfter: number;
}

export interface MultiPlan {
  readonly schedule: Schedule;
  readonly assignments: readonly JobPlanner[];
  readonly moves: readonly JobMove[];
}

/** How a plan is valued: makespan, or TWT with makespan as a tie-break (as the quality gate). */
export function planValue(
  index: ModelIndex,
  schedule: Schedule,
  objective: JobShopObjective,
): number {
  const m = scheduleMetrics(index, schedule);
  return objective === "makespan"
    ? m.makespanTicks
    : m.totalWeightedTardiness + m.makespanTicks / 1000;
}

/**
 * The manager's balance, the planners' plans in turn, then problem adjustment between planners:
 * up to `maxMoves` late jobs are tried on another planner (`proposeJobMoves`), each kept only if
 * the re-planned whole is better. Deterministic for a seed.
 */
export function planWithJobMoves(
  index: ModelIndex,
  input: {
    readonly jobs: readonly ManagedJob[];
    readonly planners: readonly PlannerCapacity[];
    readonly assignments: readonly JobPlanner[];
    readonly maxMoves?: number;
    /** Jobs that may not move (see `proposeJobMoves`). */
    readonly pinned?: readonly string[];
  },
  options: PlanAcrossOptions,
): Result<MultiPlan, PlanAcrossError> {
  const first = planAcrossPlanners(index, input.assignments, options);
  if (!first.ok) return first;
  let schedule = first.value;
  let assignments: readonly JobPlanner[] = input.assignments;
  let value = planValue(index, schedule, options.objective);
  const bound = balanceBoundTicks(input.jobs);
  const moves: JobMove[] = [];
  const tried: string[] = [];
  for (let round = 0; round < (input.maxMoves ?? 2); round++) {
    const lateness = scheduleMetrics(index, schedule).jobs.map((j) => ({
      jobId: j.jobId,
      weightedTardiness: j.weightedTardiness,
    }));
    const [move] = proposeJobMoves({
      jobs: input.jobs,
      assignments,
      planners: input.planners,
      lateness,
      boundTicks: bound,
      alreadyMoved: tried,
      ...(input.pinned ? { pinned: input.pinned } : {}),
    });
    if (!move) break;
    tried.push(move.jobId);
    const from = assignments.find((a) => a.jobId === move.jobId)!.plannerId;
    const moved = moveJobToPlanner(assignments, move.jobId, move.toPlannerId);
    if (!moved.ok) break;
    const replanned = planAcrossPlanners(index, moved.value, options);
    const after = replanned.ok ? planValue(index, replanned.value, options.objective) : value;
    const accepted = replanned.ok && after < value;
    moves.push({
      jobId: move.jobId,
      fromPlannerId: from,
      toPlannerId: move.toPlannerId,
      reason: move.reason,
      accepted,
      valueBefore: value,
      valueAfter: after,
    });
    if (accepted && replanned.ok) {
      schedule = replanned.value;
      assignments = moved.value;
      value = after;
    }
  }
  return ok({ schedule, assignments, moves });
}
