import type { Ticks } from "../model/types.js";
import { compare } from "./model-view.js";
import {
  addBusy,
  type Busy,
  earliestFit,
  feasibleStarts,
  gaps,
  mergeIntervals,
} from "./timeline.js";
import type { Assignment, Interval, Slot, StartConstraint, UnmetWindow } from "./types.js";

/**
 * The scheduler agent's own schedule (CAMPS "CAMPS Problem Solving Process"): given the
 * planner's time-interval constraints, it "determines which reservation to assign to the
 * operations so that they don't overlap", with a greedy or a least-constraining heuristic.
 */
export type LocalHeuristic = "greedy" | "least-constraining";

export interface LocalScheduleInput {
  readonly resourceId: string;
  readonly assignments: readonly Assignment[];
  readonly nowTicks: Ticks;
  readonly heuristic: LocalHeuristic;
  /** When the resource cannot work; no reservation meets these. */
  readonly unavailable?: readonly Interval[];
  /** Slots already started or completed: kept exactly, and nothing else overlaps them. */
  readonly fixed?: readonly Slot[];
  /** Extra bounds from the planner (inter-agent) or from conflict reports (intra-agent). */
  readonly constraints?: readonly StartConstraint[];
}

export interface LocalScheduleResult {
  /** Fixed and placed slots in start order; never overlapping, never in unavailable time. */
  readonly slots: readonly Slot[];
  /** Windows the schedule could not honour (see `UnmetWindow`). */
  readonly unmet: readonly UnmetWindow[];
}

/**
 * Builds a local schedule. Every assigned operation of this resource is placed (a job-shop
 * schedule needs all of them); one that cannot start by its latest start is placed anyway, as
 * early as it can, and reported in `unmet`. No reservation starts before now, except fixed ones.
 * - greedy: operations in order of local preference (earliest latest start, then earliest
 *   earliest start, then id), each at its earliest fit (`placeGreedy`);
 * - least-constraining: the most constrained operation first, at the reservation that leaves
 *   the other operations the most choice (`placeLeastConstraining`).
 */
export function buildLocalSchedule(input: LocalScheduleInput): LocalScheduleResult {
  const fixed = input.fixed ?? [];
  const { operations, unmet } = pendingOperations(input, new Set(fixed.map((s) => s.activityId)));
  const busy = busyOf(input.unavailable ?? [], fixed);
  const placed =
    input.heuristic === "greedy"
      ? placeGreedy(operations, busy)
      : placeLeastConstraining(operations, busy);
  return {
    slots: sortSlots([...fixed, ...placed]),
    unmet: [...unmet, ...unmetOf(operations, placed)],
  };
}

/** An operation to place, with its bounds: `earliestTicks` is hard, `latestTicks` desired. */
export interface PendingOperation {
  readonly activityId: string;
  readonly durationTicks: Ticks;
  readonly earliestTicks: Ticks;
  readonly latestTicks: Ticks;
}

/**
 * The operations this agent must place: its own assignments not already fixed, with the
 * window narrowed by the constraints and by now. Assignments for another resource and repeats
 * are reported, not placed.
 */
export function pendingOperations(
  input: {
    readonly resourceId: string;
    readonly assignments: readonly Assignment[];
    readonly nowTicks: Ticks;
    readonly constraints?: readonly StartConstraint[];
  },
  fixedIds: ReadonlySet<string>,
  notBefore: ReadonlyMap<string, Ticks> = new Map(),
): { operations: PendingOperation[]; unmet: UnmetWindow[] } {
  const operations: PendingOperation[] = [];
  const unmet: UnmetWindow[] = [];
  const seen = new Set<string>();
  const bounds = constraintBounds(input.constraints ?? []);
  for (const a of input.assignments) {
    if (a.resourceId !== input.resourceId) {
      unmet.push({
        activityId: a.activityId,
        reason: "other-resource",
        detail: `${a.activityId} is assigned to ${a.resourceId}, not ${input.resourceId}`,
      });
      continue;
    }
    if (seen.has(a.activityId)) {
      unmet.push({
        activityId: a.activityId,
        reason: "duplicate",
        detail: `${a.activityId} is assigned more than once`,
      });
      continue;
    }
    seen.add(a.activityId);
    if (fixedIds.has(a.activityId)) continue;
    if (!(a.durationTicks >= 0))
      throw new RangeError(`buildLocalSchedule: ${a.activityId} has duration ${a.durationTicks}`);
    const b = bounds.get(a.activityId);
    operations.push({
      activityId: a.activityId,
      durationTicks: a.durationTicks,
      earliestTicks: Math.max(
        input.nowTicks,
        a.window.earliestTicks,
        b?.earliest ?? Number.NEGATIVE_INFINITY,
        notBefore.get(a.activityId) ?? Number.NEGATIVE_INFINITY,
      ),
      latestTicks: Math.min(a.window.latestTicks, b?.latest ?? Number.POSITIVE_INFINITY),
    });
  }
  return { operations, unmet };
}

/** The tightest bounds per activity over a set of constraints. */
export function constraintBounds(
  constraints: readonly StartConstraint[],
): Map<string, { earliest: Ticks | undefined; latest: Ticks | undefined }> {
  const out = new Map<string, { earliest: Ticks | undefined; latest: Ticks | undefined }>();
  for (const c of constraints) {
    const b = out.get(c.activityId) ?? { earliest: undefined, latest: undefined };
    if (c.earliestStartTicks !== undefined)
      b.earliest = Math.max(b.earliest ?? Number.NEGATIVE_INFINITY, c.earliestStartTicks);
    if (c.latestStartTicks !== undefined)
      b.latest = Math.min(b.latest ?? Number.POSITIVE_INFINITY, c.latestStartTicks);
    out.set(c.activityId, b);
  }
  return out;
}

/**
 * A standing constraint set with new constraints added: an agent keeps the constraints it was
 * given (CAMPS: "by adding or deleting constraints of the agent, search space of the agent can
 * be controlled"), one entry per activity with the tightest bounds.
 */
export function mergeConstraints(
  standing: readonly StartConstraint[],
  added: readonly StartConstraint[],
): StartConstraint[] {
  const bounds = constraintBounds([...standing, ...added]);
  const reasons = new Map<string, string>();
  for (const c of [...standing, ...added]) if (c.reason) reasons.set(c.activityId, c.reason);
  return [...bounds.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([activityId, b]) => ({
      activityId,
      ...(b.earliest !== undefined ? { earliestStartTicks: b.earliest } : {}),
      ...(b.latest !== undefined ? { latestStartTicks: b.latest } : {}),
      ...(reasons.has(activityId) ? { reason: reasons.get(activityId)! } : {}),
    }));
}

/** Busy time of a resource: its unavailable intervals and its fixed slots. */
export function busyOf(unavailable: readonly Interval[], fixed: readonly Slot[]): Interval[] {
  return mergeIntervals([
    ...unavailable,
    ...fixed.map((s) => ({ fromTicks: s.startTicks, untilTicks: s.startTicks + s.durationTicks })),
  ]);
}

const byPreference = (a: PendingOperation, b: PendingOperation) =>
  a.latestTicks - b.latestTicks ||
  a.earliestTicks - b.earliestTicks ||
  compare(a.activityId, b.activityId);

/** Greedy: by local preference (earliest latest start first), each at its earliest fit. */
export function placeGreedy(operations: readonly PendingOperation[], busy: Busy): Slot[] {
  let timeline: Busy = busy;
  const out: Slot[] = [];
  for (const op of [...operations].sort(byPreference)) {
    const start = earliestFit(timeline, op.earliestTicks, op.durationTicks);
    out.push({ activityId: op.activityId, startTicks: start, durationTicks: op.durationTicks });
    timeline = addBusy(timeline, { fromTicks: start, untilTicks: start + op.durationTicks });
  }
  return out;
}

/**
 * Keeps a given order and shifts right only as far as needed: each operation starts at its
 * earliest fit after the previous one ends. The least disruptive revision of a sequence.
 */
export function placeInOrder(operations: readonly PendingOperation[], busy: Busy): Slot[] {
  let timeline: Busy = busy;
  let previousEnd = Number.NEGATIVE_INFINITY;
  const out: Slot[] = [];
  for (const op of operations) {
    const start = earliestFit(timeline, Math.max(op.earliestTicks, previousEnd), op.durationTicks);
    out.push({ activityId: op.activityId, startTicks: start, durationTicks: op.durationTicks });
    previousEnd = start + op.durationTicks;
    timeline = addBusy(timeline, { fromTicks: start, untilTicks: previousEnd });
  }
  return out;
}

/**
 * Least-constraining (CAMPS: "selects the reservation that is the least likely to prevent other
 * operations ... from being scheduled"). Repeatedly take the operation with the fewest feasible
 * starts left in its window (most constrained first, so it is not starved), and among its
 * candidate reservations (each free gap's first and last start within the window) choose the
 * one that leaves the others the most feasible starts: first the fewest operations left with
 * none, then the smallest total loss, then the earliest start. Operations with no feasible start
 * left go last, in preference order, at their earliest fit (they are reported late).
 */
export function placeLeastConstraining(
  operations: readonly PendingOperation[],
  busy: Busy,
): Slot[] {
  let timeline: Busy = busy;
  let left = [...operations].sort(byPreference);
  const out: Slot[] = [];
  const choice = (op: PendingOperation, t: Busy) =>
    feasibleStarts(t, op.earliestTicks, op.latestTicks, op.durationTicks);
  while (left.length > 0) {
    const measures = new Map(left.map((op) => [op.activityId, choice(op, timeline)]));
    let pick: PendingOperation | undefined;
    for (const op of left) {
      const m = measures.get(op.activityId)!;
      if (m === 0) continue;
      if (!pick || m < measures.get(pick.activityId)!) pick = op;
    }
    if (!pick) break;
    const others = left.filter((op) => op !== pick);
    let best: { start: Ticks; starved: number; loss: number } | undefined;
    for (const start of candidateStarts(pick, timeline)) {
      const end = start + pick.durationTicks;
      const after = addBusy(timeline, { fromTicks: start, untilTicks: end });
      let starved = 0;
      let loss = 0;
      for (const o of others) {
        if (o.earliestTicks >= end || o.latestTicks + o.durationTicks <= start) continue;
        const before = measures.get(o.activityId)!;
        const now = choice(o, after);
        loss += before - now;
        if (before > 0 && now === 0) starved++;
      }
      if (
        !best ||
        starved < best.starved ||
        (starved === best.starved &&
          (loss < best.loss || (loss === best.loss && start < best.start)))
      )
        best = { start, starved, loss };
    }
    const start = best!.start;
    out.push({ activityId: pick.activityId, startTicks: start, durationTicks: pick.durationTicks });
    timeline = addBusy(timeline, { fromTicks: start, untilTicks: start + pick.durationTicks });
    left = others;
  }
  return [...out, ...placeGreedy(left, timeline)];
}

/** Each free gap's first and last feasible start inside the operation's window. */
function candidateStarts(op: PendingOperation, busy: Busy): Ticks[] {
  const d = op.durationTicks;
  const out: Ticks[] = [];
  for (const g of gaps(busy, op.earliestTicks, op.latestTicks + Math.max(d, 1))) {
    const first = g.fromTicks;
    const last = Math.min(op.latestTicks, g.untilTicks - Math.max(d, 1));
    if (last < first) continue;
    out.push(first);
    if (last !== first) out.push(last);
  }
  return out;
}

/** The windows a placement misses: an empty window, or a start after the latest start. */
export function unmetOf(
  operations: readonly PendingOperation[],
  slots: readonly Slot[],
): UnmetWindow[] {
  const startOf = new Map(slots.map((s) => [s.activityId, s.startTicks]));
  const out: UnmetWindow[] = [];
  for (const op of [...operations].sort((a, b) => compare(a.activityId, b.activityId))) {
    const start = startOf.get(op.activityId);
    if (start === undefined) continue;
    if (op.latestTicks < op.earliestTicks)
      out.push({
        activityId: op.activityId,
        reason: "empty-window",
        detail: `${op.activityId} must start at or after ${op.earliestTicks} and by ${op.latestTicks}; placed at ${start}`,
      });
    else if (start > op.latestTicks)
      out.push({
        activityId: op.activityId,
        reason: "late",
        detail: `${op.activityId} starts at ${start}, after its latest start ${op.latestTicks}`,
      });
  }
  return out;
}

/** Slots in start order (ties by id), the order a resource runs them. */
export function sortSlots(slots: readonly Slot[]): Slot[] {
  return [...slots].sort(
    (a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId),
  );
}
