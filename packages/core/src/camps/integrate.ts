import { descendantActivities, type ModelIndex } from "../model/model-index.js";
import type { Link, Ticks } from "../model/types.js";
import { checkSchedule } from "../schedule/check.js";
import type { Violation } from "../schedule/constraints/violation.js";
import type { Schedule, StartWindow } from "../schedule/types.js";
import { sortSlots } from "./local-scheduler.js";
import { compare } from "./model-view.js";
import type { Assignment, LocalSchedule, Slot } from "./types.js";

/**
 * A defect found when the planner integrates the local schedules (CAMPS step 3, "detecting
 * conflicts and defects by integrating local sub-problem solutions"). Each variant says how
 * it is remedied; `isHardConflict` tells the ones that make the schedule infeasible.
 */
export type Conflict =
  /**
   * An operation starts before a predecessor ends. Across agents (`crossAgent`), neither agent
   * sees it alone: shift the successor later (intra-agent), or add an inter-agent constraint.
   */
  | {
      readonly kind: "precedence";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly link: Link;
      /** The predecessor activity whose end binds, and its resource; undefined if unscheduled. */
      readonly predecessorId: string | undefined;
      readonly predecessorResourceId: string | undefined;
      readonly predecessorEndTicks: Ticks | undefined;
      readonly crossAgent: boolean;
      readonly reason: string;
    }
  /** Two reservations overlap on one resource (a faulty local schedule): ask that agent to revise. */
  | {
      readonly kind: "capacity";
      readonly resourceId: string;
      readonly activityIds: readonly [string, string];
      readonly overlapTicks: Ticks;
      readonly reason: string;
    }
  /** Starts before its release: shift it later. */
  | {
      readonly kind: "release";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly releaseTicks: Ticks;
      readonly reason: string;
    }
  /** Ends after its deadline: problem adjustment (overtime, another resource, more lead time). */
  | {
      readonly kind: "deadline";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly endTicks: Ticks;
      readonly deadlineTicks: Ticks;
      readonly reason: string;
    }
  /**
   * The schedule is malformed against the model (unknown, wrong-resource, duplicate,
   * unscheduled, no-start or out-of-order entries): ask the agent to rebuild from its assignments.
   */
  | {
      readonly kind: "assignment";
      readonly violation: Violation;
      readonly activityId: string | undefined;
      readonly resourceId: string | undefined;
      readonly reason: string;
    }
  /** Soft: starts outside the planner's desirability window. Widen it or re-plan. */
  | {
      readonly kind: "window";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly window: StartWindow;
      /** Ticks past the latest start (positive) or before the earliest start (negative). */
      readonly offsetTicks: Ticks;
      readonly reason: string;
    }
  /** Soft: a job (any node with a due date) completes late. Prolong its lead time or re-plan. */
  | {
      readonly kind: "due";
      readonly nodeId: string;
      readonly completionTicks: Ticks;
      readonly dueTicks: Ticks;
      readonly tardinessTicks: Ticks;
      readonly weightedTardiness: number;
      readonly reason: string;
    };

export type ConflictKind = Conflict["kind"];

/** Conflicts that make a schedule infeasible; windows and due dates are desirabilities. */
export function isHardConflict(conflict: Conflict): boolean {
  return conflict.kind !== "window" && conflict.kind !== "due";
}

export interface IntegrateOptions {
  /** Version of the integrated schedule; default one more than the highest local version. */
  readonly version?: number;
  /** The planner's assignments, to report window conflicts. */
  readonly assignments?: readonly Assignment[];
  /** Every activity of the model must be scheduled (a job shop). Default true. */
  readonly requireAll?: boolean;
}

export interface Integration {
  readonly schedule: Schedule;
  readonly conflicts: readonly Conflict[];
}

/**
 * Integrates local schedules into one schedule and lists its conflicts. Feasibility is the
 * checker's (`checkSchedule`); the planner adds what only it knows: which agent each side of a
 * precedence is on, the desirability windows it granted, and the jobs' due dates.
 * When one resource sent several local schedules, the highest version counts.
 */
export function integrate(
  index: ModelIndex,
  localSchedules: readonly LocalSchedule[],
  options: IntegrateOptions = {},
): Integration {
  const latest = new Map<string, LocalSchedule>();
  for (const ls of localSchedules) {
    const seen = latest.get(ls.resourceId);
    if (!seen || ls.version > seen.version) latest.set(ls.resourceId, ls);
  }
  const version = options.version ?? Math.max(0, ...localSchedules.map((ls) => ls.version)) + 1;
  const resources = [...latest.values()]
    .sort((a, b) => compare(a.resourceId, b.resourceId))
    .map((ls) => ({
      resourceId: ls.resourceId,
      activities: sortSlots(ls.slots).map((s) => ({
        activityId: s.activityId,
        startTicks: s.startTicks,
        durationTicks: s.durationTicks,
      })),
    }));
  const schedule: Schedule = { version, resources };
  const placed = slotsByActivity(schedule);
  const violations = checkSchedule(index, schedule, { requireAll: options.requireAll ?? true });
  const conflicts: Conflict[] = [
    ...violations.map((v) => conflictOfViolation(index, placed, v)),
    ...windowConflicts(placed, options.assignments ?? []),
    ...dueConflicts(index, placed),
  ];
  return { schedule, conflicts };
}

/** Where each activity is in a schedule (its first entry). */
export function slotsByActivity(schedule: Schedule): Map<string, Slot & { resourceId: string }> {
  const out = new Map<string, Slot & { resourceId: string }>();
  for (const r of schedule.resources)
    for (const a of r.activities) {
      if (out.has(a.activityId) || a.startTicks === undefined) continue;
      out.set(a.activityId, {
        activityId: a.activityId,
        resourceId: r.resourceId,
        startTicks: a.startTicks,
        durationTicks: a.durationTicks ?? 0,
      });
    }
  return out;
}

/** A checker violation as a conflict, with the agents involved. */
function conflictOfViolation(
  index: ModelIndex,
  placed: ReadonlyMap<string, Slot & { resourceId: string }>,
  v: Violation,
): Conflict {
  switch (v.kind) {
    case "precedence": {
      const target = placed.get(v.activityId);
      const predecessor = bindingPredecessor(index, placed, v.link.from, v.sourceReadyTicks);
      const resourceId = target?.resourceId ?? "";
      return {
        kind: "precedence",
        activityId: v.activityId,
        resourceId,
        startTicks: v.startTicks,
        link: v.link,
        predecessorId: predecessor?.activityId,
        predecessorResourceId: predecessor?.resourceId,
        predecessorEndTicks: v.sourceReadyTicks,
        crossAgent: predecessor !== undefined && predecessor.resourceId !== resourceId,
        reason: v.reason,
      };
    }
    case "capacity":
      return {
        kind: "capacity",
        resourceId: v.resourceId,
        activityIds: v.activityIds,
        overlapTicks: v.overlapTicks,
        reason: v.reason,
      };
    case "release":
      return {
        kind: "release",
        activityId: v.activityId,
        resourceId: placed.get(v.activityId)?.resourceId ?? "",
        startTicks: v.startTicks,
        releaseTicks: v.releaseTicks,
        reason: v.reason,
      };
    case "deadline":
      return {
        kind: "deadline",
        activityId: v.activityId,
        resourceId: placed.get(v.activityId)?.resourceId ?? "",
        startTicks: placed.get(v.activityId)?.startTicks ?? v.endTicks,
        endTicks: v.endTicks,
        deadlineTicks: v.deadlineTicks,
        reason: v.reason,
      };
    case "sequence":
      return {
        kind: "assignment",
        violation: v,
        activityId: v.activityIds[1],
        resourceId: v.resourceId,
        reason: v.reason,
      };
    case "unscheduled":
      return {
        kind: "assignment",
        violation: v,
        activityId: v.activityId,
        resourceId: undefined,
        reason: v.reason,
      };
    default:
      return {
        kind: "assignment",
        violation: v,
        activityId: "activityId" in v ? v.activityId : undefined,
        resourceId: "resourceId" in v ? v.resourceId : undefined,
        reason: v.reason,
      };
  }
}

/** The scheduled activity under a link's source whose end makes it ready (the latest one). */
function bindingPredecessor(
  index: ModelIndex,
  placed: ReadonlyMap<string, Slot & { resourceId: string }>,
  sourceId: string,
  readyTicks: Ticks | undefined,
): (Slot & { resourceId: string }) | undefined {
  const candidates = descendantActivities(index, sourceId).flatMap((id) => {
    const s = placed.get(id);
    return s ? [s] : [];
  });
  return (
    candidates.find((s) => s.startTicks + s.durationTicks === readyTicks) ??
    candidates.sort((a, b) => b.startTicks + b.durationTicks - (a.startTicks + a.durationTicks))[0]
  );
}

/**
 * Window: an operation starts inside the desirability window the planner granted. Rationale:
 * the windows are how the planner keeps agents consistent without talking (CAMPS); a start
 * outside is where integration is likely to break, and what the planner must re-negotiate.
 */
export function windowConflicts(
  placed: ReadonlyMap<string, Slot & { resourceId: string }>,
  assignments: readonly Assignment[],
): Conflict[] {
  const out: Conflict[] = [];
  for (const a of assignments) {
    const s = placed.get(a.activityId);
    if (!s) continue;
    const { earliestTicks, latestTicks } = a.window;
    const offset =
      s.startTicks > latestTicks
        ? s.startTicks - latestTicks
        : s.startTicks < earliestTicks
          ? s.startTicks - earliestTicks
          : 0;
    if (offset === 0) continue;
    out.push({
      kind: "window",
      activityId: a.activityId,
      resourceId: s.resourceId,
      startTicks: s.startTicks,
      window: a.window,
      offsetTicks: offset,
      reason: `${a.activityId} starts at ${s.startTicks}, outside its window [${earliestTicks}, ${latestTicks}]`,
    });
  }
  return out;
}

/**
 * Due date: a job completes by its due date (CAMPS: "a due date, a date on which the job should
 * finish"). Soft: lateness costs its weight per tick. Checked once all the job's operations
 * are scheduled.
 */
export function dueConflicts(
  index: ModelIndex,
  placed: ReadonlyMap<string, Slot & { resourceId: string }>,
): Conflict[] {
  const out: Conflict[] = [];
  for (const node of index.model.nodes) {
    if (!node.due) continue;
    let completion: Ticks | undefined = Number.NEGATIVE_INFINITY;
    for (const id of descendantActivities(index, node.id)) {
      const s = placed.get(id);
      if (!s) {
        completion = undefined;
        break;
      }
      completion = Math.max(completion, s.startTicks + s.durationTicks);
    }
    if (completion === undefined || completion <= node.due.dueTicks) continue;
    const tardiness = completion - node.due.dueTicks;
    out.push({
      kind: "due",
      nodeId: node.id,
      completionTicks: completion,
      dueTicks: node.due.dueTicks,
      tardinessTicks: tardiness,
      weightedTardiness: tardiness * node.due.weight,
      reason: `${node.id} completes at ${completion}, ${tardiness} after its due date ${node.due.dueTicks}`,
    });
  }
  return out;
}
