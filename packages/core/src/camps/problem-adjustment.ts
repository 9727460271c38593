import {
  descendantActivities,
  indexModel,
  type ModelIndex,
  type ModelIssue,
} from "../model/model-index.js";
import type { ModelNode, TaskModel, Ticks } from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import type { Conflict } from "./integrate.js";
import { compare, jobOf } from "./model-view.js";
import type { Assignment, Interval, ResourceInterval } from "./types.js";

/**
 * CAMPS repair strategy 3, problem adjustment: "when conflicts are decided unsolvable or cannot
 * be resolved in a reasonable amount of time among scheduler agents, a planner agent ... can
 * relax some constraints or change problem decomposition". The remedies the paper lists, each a
 * function of its own below:
 * - prolong lead time of jobs (allow tardiness)         -> `extendLeadTime`
 * - improve performance of the resource (overtime)      -> `allowOvertime`
 * - cancel jobs                                         -> `cancelJob`
 * - subcontract jobs to other planner agents            -> `moveJobToPlanner`
 * - subcontract some operations to other scheduler agents -> `moveOperationToResource`
 */
export type ProblemAdjustment =
  /** Later due date and/or deadline for a job. */
  | {
      readonly kind: "extend-lead-time";
      readonly jobId: string;
      readonly dueTicks?: Ticks;
      readonly deadlineTicks?: Ticks;
      readonly reason: string;
    }
  /** The resource works over [fromTicks, untilTicks) after all. */
  | {
      readonly kind: "overtime";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
      readonly reason: string;
    }
  /** The job is dropped; its operations leave every schedule. */
  | { readonly kind: "cancel-job"; readonly jobId: string; readonly reason: string }
  /** Another planner takes the job. */
  | {
      readonly kind: "move-job";
      readonly jobId: string;
      readonly toPlannerId: string;
      readonly reason: string;
    }
  /** Another capable scheduler agent takes the operation. */
  | {
      readonly kind: "move-operation";
      readonly activityId: string;
      readonly fromResourceId: string;
      readonly toResourceId: string;
      readonly reason: string;
    };

/** Why an adjustment could not be made; each says what to do instead. */
export type ProblemAdjustmentError =
  /** The job is not a child of the root: check the id. */
  | { readonly kind: "unknown-job"; readonly jobId: string; readonly reason: string }
  /** No such activity: check the id. */
  | { readonly kind: "unknown-activity"; readonly activityId: string; readonly reason: string }
  /** The resource cannot run the operation: choose one of the activity's resources. */
  | {
      readonly kind: "incapable-resource";
      readonly activityId: string;
      readonly resourceId: string;
      readonly reason: string;
    }
  /** The job is the last one; a model needs one: cancel the order instead. */
  | { readonly kind: "last-job"; readonly jobId: string; readonly reason: string }
  /** The adjusted model is not valid (should not happen): report it. */
  | {
      readonly kind: "invalid-model";
      readonly issues: readonly ModelIssue[];
      readonly reason: string;
    };

/**
 * Prolong a job's lead time: its due date and/or deadline move later (never earlier). A job
 * without a due date gets one with weight 1.
 */
export function extendLeadTime(
  model: TaskModel,
  jobId: string,
  extension: { readonly dueTicks?: Ticks; readonly deadlineTicks?: Ticks },
): Result<TaskModel, ProblemAdjustmentError> {
  if (!isJob(model, jobId))
    return err({ kind: "unknown-job", jobId, reason: `${jobId} is not a job of the model` });
  const nodes: ModelNode[] = model.nodes.map((node) => {
    if (node.id !== jobId) return node;
    const due =
      extension.dueTicks === undefined
        ? node.due
        : {
            dueTicks: Math.max(extension.dueTicks, node.due?.dueTicks ?? extension.dueTicks),
            weight: node.due?.weight ?? 1,
          };
    const deadline =
      extension.deadlineTicks === undefined
        ? node.deadlineTicks
        : Math.max(extension.deadlineTicks, node.deadlineTicks ?? extension.deadlineTicks);
    const { due: _due, deadlineTicks: _deadline, ...rest } = node;
    return {
      ...rest,
      ...(due ? { due } : {}),
      ...(deadline !== undefined ? { deadlineTicks: deadline } : {}),
    } as ModelNode;
  });
  return ok({ ...model, nodes });
}

/**
 * Overtime: the resource works over `interval` after all, so that part of its unavailable time
 * is removed (an interval may be cut in two).
 */
export function allowOvertime(
  unavailable: readonly ResourceInterval[],
  resourceId: string,
  interval: Interval,
): ResourceInterval[] {
  const out: ResourceInterval[] = [];
  for (const u of unavailable) {
    if (
      u.resourceId !== resourceId ||
      u.untilTicks <= interval.fromTicks ||
      u.fromTicks >= interval.untilTicks
    ) {
      out.push(u);
      continue;
    }
    if (u.fromTicks < interval.fromTicks)
      out.push({ resourceId, fromTicks: u.fromTicks, untilTicks: interval.fromTicks });
    if (u.untilTicks > interval.untilTicks)
      out.push({ resourceId, fromTicks: interval.untilTicks, untilTicks: u.untilTicks });
  }
  return out;
}

/** Cancels a job: its nodes and every link touching them leave the model. */
export function cancelJob(
  model: TaskModel,
  jobId: string,
): Result<{ model: TaskModel; cancelledActivityIds: string[] }, ProblemAdjustmentError> {
  const indexed = indexModel(model);
  if (!indexed.ok)
    return err({ kind: "invalid-model", issues: indexed.error, reason: "the model is not valid" });
  const index = indexed.value;
  if (!isJob(model, jobId))
    return err({ kind: "unknown-job", jobId, reason: `${jobId} is not a job of the model` });
  const root = index.nodes.get(model.root);
  if (root?.kind === "task" && root.children.length === 1)
    return err({ kind: "last-job", jobId, reason: `${jobId} is the only job left` });
  const removed = new Set<string>();
  const collect = (id: string) => {
    removed.add(id);
    const node = index.nodes.get(id);
    if (node?.kind === "task") node.children.forEach(collect);
  };
  collect(jobId);
  const nodes = model.nodes
    .filter((n) => !removed.has(n.id))
    .map((n) =>
      n.kind === "task" && n.id === model.root
        ? { ...n, children: n.children.filter((c) => c !== jobId) }
        : n,
    );
  return ok({
    model: {
      ...model,
      nodes,
      links: model.links.filter((l) => !removed.has(l.from) && !removed.has(l.to)),
    },
    cancelledActivityIds: descendantActivities(index, jobId).sort(compare),
  });
}

/** Subcontract a job to another planner: its entry in the manager's job -> planner table changes. */
export function moveJobToPlanner(
  jobPlanners: readonly { readonly jobId: string; readonly plannerId: string }[],
  jobId: string,
  toPlannerId: string,
): Result<{ jobId: string; plannerId: string }[], ProblemAdjustmentError> {
  if (!jobPlanners.some((j) => j.jobId === jobId))
    return err({ kind: "unknown-job", jobId, reason: `${jobId} has no planner` });
  return ok(
    jobPlanners.map((j) => (j.jobId === jobId ? { jobId, plannerId: toPlannerId } : { ...j })),
  );
}

/** Subcontract an operation to another scheduler agent able to run it; its window is kept. */
export function moveOperationToResource(
  index: ModelIndex,
  assignments: readonly Assignment[],
  activityId: string,
  toResourceId: string,
): Result<Assignment[], ProblemAdjustmentError> {
  const node = index.nodes.get(activityId);
  if (node?.kind !== "activity" || !assignments.some((a) => a.activityId === activityId))
    return err({
      kind: "unknown-activity",
      activityId,
      reason: `${activityId} is not an assigned activity`,
    });
  if (!node.resources.includes(toResourceId))
    return err({
      kind: "incapable-resource",
      activityId,
      resourceId: toResourceId,
      reason: `${toResourceId} cannot run ${activityId} (only ${node.resources.join(", ")})`,
    });
  return ok(
    assignments.map((a) => (a.activityId === activityId ? { ...a, resourceId: toResourceId } : a)),
  );
}

/**
 * The capable resource, other than the current one, with the least assigned work, if it has
 * less than the current one even after taking the operation.
 */
export function lessLoadedAlternative(
  index: ModelIndex,
  assignments: readonly Assignment[],
  activityId: string,
): string | undefined {
  const node = index.nodes.get(activityId);
  const current = assignments.find((a) => a.activityId === activityId);
  if (node?.kind !== "activity" || !current) return undefined;
  const load = new Map<string, Ticks>();
  for (const a of assignments)
    load.set(a.resourceId, (load.get(a.resourceId) ?? 0) + a.durationTicks);
  const currentLoad = load.get(current.resourceId) ?? 0;
  let best: string | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const r of [...node.resources].sort(compare)) {
    if (r === current.resourceId) continue;
    const l = (load.get(r) ?? 0) + current.durationTicks;
    if (l < currentLoad && l < bestLoad) {
      best = r;
      bestLoad = l;
    }
  }
  return best;
}

export interface ProblemAdjustmentPolicy {
  /** Overtime may remove unavailable time that delays an operation past its deadline. Default true. */
  readonly allowOvertime?: boolean;
  /** Deadlines may be prolonged to the planned end. Default true. */
  readonly allowLeadTimeExtension?: boolean;
  /** Jobs may be cancelled as a last resort for a deadline. Default false. */
  readonly allowCancel?: boolean;
  /** Operations already moved (each is moved at most once, so moves cannot ping-pong). */
  readonly alreadyMoved?: readonly string[];
}

/**
 * Chooses problem adjustments for the hard conflicts the scheduler agents could not resolve:
 * - precedence: move the successor, else the predecessor, to a less loaded capable agent;
 * - deadline: overtime over unavailable time before the deadline on its resource, else move
 *   the operation, else prolong the job's deadline to the planned end, else cancel the job;
 * - anything else (malformed local schedules) is not a problem to adjust: left `unresolved`
 *   (deliberative repair rebuilds the schedule).
 * At most one adjustment per operation, job and resource interval; deterministic.
 */
export function proposeProblemAdjustments(
  index: ModelIndex,
  input: {
    readonly conflicts: readonly Conflict[];
    readonly assignments: readonly Assignment[];
    readonly unavailable: readonly ResourceInterval[];
    readonly policy?: ProblemAdjustmentPolicy;
  },
): { adjustments: ProblemAdjustment[]; unresolved: Conflict[] } {
  const policy = input.policy ?? {};
  const moved = new Set(policy.alreadyMoved ?? []);
  const adjustments: ProblemAdjustment[] = [];
  const unresolved: Conflict[] = [];
  const touchedJobs = new Set<string>();
  const overtimeKeys = new Set<string>();
  const assignmentOf = new Map(input.assignments.map((a) => [a.activityId, a]));
  const tryMove = (activityId: string, why: string): boolean => {
    if (moved.has(activityId)) return false;
    const to = lessLoadedAlternative(index, input.assignments, activityId);
    const from = assignmentOf.get(activityId)?.resourceId;
    if (to === undefined || from === undefined) return false;
    moved.add(activityId);
    adjustments.push({
      kind: "move-operation",
      activityId,
      fromResourceId: from,
      toResourceId: to,
      reason: why,
    });
    return true;
  };
  for (const c of input.conflicts) {
    switch (c.kind) {
      case "precedence": {
        const why = `subcontract to relieve ${c.reason}`;
        if (tryMove(c.activityId, why)) break;
        if (c.predecessorId !== undefined && tryMove(c.predecessorId, why)) break;
        unresolved.push(c);
        break;
      }
      case "deadline": {
        const jobId = jobOf(index, c.activityId);
        if (policy.allowOvertime ?? true) {
          const windowStart = assignmentOf.get(c.activityId)?.window.earliestTicks ?? c.startTicks;
          const blocking = input.unavailable.filter(
            (u) =>
              u.resourceId === c.resourceId &&
              u.untilTicks > windowStart &&
              u.fromTicks < c.deadlineTicks,
          );
          const fresh = blocking.filter(
            (u) => !overtimeKeys.has(`${u.resourceId}@${u.fromTicks}-${u.untilTicks}`),
          );
          if (fresh.length > 0) {
            for (const u of fresh) {
              overtimeKeys.add(`${u.resourceId}@${u.fromTicks}-${u.untilTicks}`);
              adjustments.push({
                kind: "overtime",
                resourceId: u.resourceId,
                fromTicks: Math.max(u.fromTicks, windowStart),
                untilTicks: Math.min(u.untilTicks, c.deadlineTicks),
                reason: `work through unavailable time so ${c.activityId} meets its deadline ${c.deadlineTicks}`,
              });
            }
            break;
          }
          if (blocking.length > 0) break;
        }
        if (tryMove(c.activityId, `subcontract so ${c.activityId} meets its deadline`)) break;
        if (jobId !== undefined && touchedJobs.has(jobId)) break;
        if (jobId !== undefined && (policy.allowLeadTimeExtension ?? true)) {
          touchedJobs.add(jobId);
          adjustments.push({
            kind: "extend-lead-time",
            jobId,
            deadlineTicks: c.endTicks,
            reason: `${c.activityId} cannot end before ${c.endTicks}`,
          });
          break;
        }
        if (jobId !== undefined && policy.allowCancel) {
          touchedJobs.add(jobId);
          adjustments.push({
            kind: "cancel-job",
            jobId,
            reason: `${c.activityId} cannot meet its deadline ${c.deadlineTicks}`,
          });
          break;
        }
        unresolved.push(c);
        break;
      }
      case "window":
      case "due":
        break;
      default:
        unresolved.push(c);
    }
  }
  return { adjustments, unresolved };
}

/**
 * Prolonging lead times for late jobs (soft due-date conflicts): new due date = planned
 * completion. What the planner proposes to the manager once no hard conflict is left.
 */
export function dueDateExtensions(conflicts: readonly Conflict[]): ProblemAdjustment[] {
  return conflicts.flatMap((c) =>
    c.kind === "due"
      ? [
          {
            kind: "extend-lead-time" as const,
            jobId: c.nodeId,
            dueTicks: c.completionTicks,
            reason: `planned to complete at ${c.completionTicks}, ${c.tardinessTicks} after ${c.dueTicks}`,
          },
        ]
      : [],
  );
}

export interface AdjustedProblem {
  readonly model: TaskModel;
  /** The resource of each remaining assigned operation (moves applied). */
  readonly resourceOf: Readonly<Record<string, string>>;
  readonly unavailable: readonly ResourceInterval[];
  readonly cancelledActivityIds: readonly string[];
  readonly jobPlanners: readonly { readonly jobId: string; readonly plannerId: string }[];
}

/** Applies adjustments in order; the first that fails stops it with its error. */
export function applyProblemAdjustments(
  model: TaskModel,
  state: {
    readonly assignments: readonly Assignment[];
    readonly unavailable: readonly ResourceInterval[];
    readonly jobPlanners?: readonly { readonly jobId: string; readonly plannerId: string }[];
  },
  adjustments: readonly ProblemAdjustment[],
): Result<AdjustedProblem, ProblemAdjustmentError> {
  let current = model;
  let assignments: readonly Assignment[] = state.assignments;
  let unavailable: readonly ResourceInterval[] = state.unavailable;
  let jobPlanners = state.jobPlanners ?? [];
  const cancelled: string[] = [];
  for (const adj of adjustments) {
    switch (adj.kind) {
      case "extend-lead-time": {
        const r = extendLeadTime(current, adj.jobId, {
          ...(adj.dueTicks !== undefined ? { dueTicks: adj.dueTicks } : {}),
          ...(adj.deadlineTicks !== undefined ? { deadlineTicks: adj.deadlineTicks } : {}),
        });
        if (!r.ok) return r;
        current = r.value;
        break;
      }
      case "overtime":
        unavailable = allowOvertime(unavailable, adj.resourceId, adj);
        break;
      case "cancel-job": {
        const r = cancelJob(current, adj.jobId);
        if (!r.ok) return r;
        current = r.value.model;
        cancelled.push(...r.value.cancelledActivityIds);
        const gone = new Set(r.value.cancelledActivityIds);
        assignments = assignments.filter((a) => !gone.has(a.activityId));
        break;
      }
      case "move-job": {
        const r = moveJobToPlanner(jobPlanners, adj.jobId, adj.toPlannerId);
        if (!r.ok) return r;
        jobPlanners = r.value;
        break;
      }
      case "move-operation": {
        const indexed = indexModel(current);
        if (!indexed.ok)
          return err({
            kind: "invalid-model",
            issues: indexed.error,
            reason: "the model is not valid",
          });
        const r = moveOperationToResource(
          indexed.value,
          assignments,
          adj.activityId,
          adj.toResourceId,
        );
        if (!r.ok) return r;
        assignments = r.value;
        break;
      }
    }
  }
  const indexed = indexModel(current);
  if (!indexed.ok)
    return err({
      kind: "invalid-model",
      issues: indexed.error,
      reason: "the adjusted model is not valid",
    });
  return ok({
    model: current,
    resourceOf: Object.fromEntries(assignments.map((a) => [a.activityId, a.resourceId])),
    unavailable,
    cancelledActivityIds: cancelled,
    jobPlanners,
  });
}

function isJob(model: TaskModel, jobId: string): boolean {
  const root = model.nodes.find((n) => n.id === model.root);
  return root?.kind === "task" && root.children.includes(jobId);
}
