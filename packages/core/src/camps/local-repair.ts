import type { Ticks } from "../model/types.js";
import { pickRevision } from "./intra-agent-constraint-adjustment.js";
import {
  busyOf,
  type PendingOperation,
  placeGreedy,
  placeInOrder,
  placeLeastConstraining,
  sortSlots,
} from "./local-scheduler.js";
import { compare } from "./model-view.js";
import { placeBackfilling } from "./runtime-repair.js";
import { collides, mergeIntervals } from "./timeline.js";
import type { Assignment, Interval, Slot } from "./types.js";

/**
 * What happened to the agent's resource: it cannot work over [fromTicks, untilTicks)
 * (breakdown, maintenance), or an operation runs longer than planned and now ends at newEndTicks.
 */
export type Disruption =
  | { readonly kind: "unavailable"; readonly fromTicks: Ticks; readonly untilTicks: Ticks }
  | { readonly kind: "overrun"; readonly activityId: string; readonly newEndTicks: Ticks };

export interface LocalRepairInput {
  readonly slots: readonly Slot[];
  /** The planner's assignments: windows of the agent's operations. */
  readonly assignments: readonly Assignment[];
  readonly nowTicks: Ticks;
  readonly disruption: Disruption;
  /** Unavailable time already known (the disruption is added to it). */
  readonly unavailable?: readonly Interval[];
  /** Activities that cannot move besides those that started before now. */
  readonly fixed?: readonly string[];
  /**
   * Keep the order, filling gaps (`placeBackfilling`), instead of trying reorderings too: a
   * schedule in force, whose operations' successors on other agents the agent cannot see.
   */
  readonly keepOrder?: boolean;
  /**
   * What has started (the agent knows). Given, an operation planned before now that has not
   * started is not taken as started: it moves on from now, and is escalated if that is past its
   * window (work held back by an overrun ahead of it is a delay too).
   */
  readonly started?: readonly string[];
}

export interface LocalRepairResult {
  readonly slots: readonly Slot[];
  /** Operations that can no longer start within their windows: for the planner. */
  readonly escalate: readonly string[];
  /** Operations whose start changed. */
  readonly moved: readonly string[];
  /** Started operations the new unavailable time falls on: the agent cannot move them. */
  readonly interrupted: readonly string[];
  /** Known unavailable time, the disruption included. */
  readonly unavailable: readonly Interval[];
}

/**
 * The scheduler agent repairs its own schedule after a disruption, alone (CAMPS repair-based
 * scheduling, at the agent: "repair what it can on its own", DESIGN.md), and escalates only
 * what it cannot fix. Slots that started before now (and listed fixed ones) stay where they
 * are, an overrunning one with its longer duration. Every other slot moves only later, never
 * before now and never before its committed start: the agent cannot see its operations'
 * predecessors on other agents (partial observability), and its committed start is what they
 * were checked against. Three revisions are tried, as in the intra-agent adjustment: keep the
 * order and shift right, or reorder (greedy, least-constraining); the kept one misses the
 * fewest windows, then is least late, then moves least. Operations that now start after their
 * window (or, when they were already late, later than before) are escalated.
 */
export function repairLocally(input: LocalRepairInput): LocalRepairResult {
  const { disruption, nowTicks } = input;
  const fixedIds = new Set(input.fixed ?? []);
  let slots = input.slots;
  if (disruption.kind === "overrun") {
    slots = slots.map((s) =>
      s.activityId === disruption.activityId
        ? { ...s, durationTicks: Math.max(0, disruption.newEndTicks - s.startTicks) }
        : s,
    );
  }
  const unavailable = mergeIntervals([
    ...(input.unavailable ?? []),
    ...(disruption.kind === "unavailable"
      ? [{ fromTicks: disruption.fromTicks, untilTicks: disruption.untilTicks }]
      : []),
  ]);
  const started = input.started ? new Set(input.started) : undefined;
  const isFixed = (s: Slot) =>
    fixedIds.has(s.activityId) || (started ? started.has(s.activityId) : s.startTicks < nowTicks);
  const fixed = slots.filter(isFixed);
  const movable = slots.filter((s) => !isFixed(s));
  const interrupted =
    disruption.kind === "unavailable"
      ? fixed
          .filter((s) => collides(s.startTicks, s.durationTicks, disruption))
          .map((s) => s.activityId)
          .sort(compare)
      : [];
  const windowOf = new Map(input.assignments.map((a) => [a.activityId, a.window]));
  const operations: PendingOperation[] = movable.map((s) => ({
    activityId: s.activityId,
    durationTicks: s.durationTicks,
    earliestTicks: Math.max(nowTicks, s.startTicks, windowOf.get(s.activityId)?.earliestTicks ?? 0),
    latestTicks: Math.max(
      s.startTicks,
      windowOf.get(s.activityId)?.latestTicks ?? Number.POSITIVE_INFINITY,
    ),
  }));
  const busy = busyOf(unavailable, fixed);
  const current = new Map(movable.map((s) => [s.activityId, s.startTicks]));
  const inOrder = [...operations].sort(
    (a, b) =>
      current.get(a.activityId)! - current.get(b.activityId)! ||
      compare(a.activityId, b.activityId),
  );
  const best = input.keepOrder
    ? { placed: placeBackfilling(inOrder, busy) }
    : pickRevision(
        [
          { placed: placeInOrder(inOrder, busy) },
          { placed: placeGreedy(operations, busy) },
          { placed: placeLeastConstraining(operations, busy) },
        ],
        operations,
        current,
      );
  const latest = new Map(operations.map((op) => [op.activityId, op.latestTicks]));
  return {
    slots: sortSlots([...fixed, ...best.placed]),
    escalate: best.placed
      .filter((s) => s.startTicks > (latest.get(s.activityId) ?? Number.POSITIVE_INFINITY))
      .map((s) => s.activityId)
      .sort(compare),
    moved: best.placed
      .filter((s) => current.get(s.activityId) !== s.startTicks)
      .map((s) => s.activityId)
      .sort(compare),
    interrupted,
    unavailable,
  };
}
