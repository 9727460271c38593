import type { Ticks } from "../model/types.js";
import type { Conflict } from "./integrate.js";
import {
  busyOf,
  type PendingOperation,
  pendingOperations,
  placeGreedy,
  placeInOrder,
  placeLeastConstraining,
  sortSlots,
  unmetOf,
} from "./local-scheduler.js";
import { compare } from "./model-view.js";
import type { Assignment, Interval, Slot, StartConstraint, UnmetWindow } from "./types.js";

/**
 * CAMPS repair strategy 1, intra-agent constraint adjustment: "the simplest way of revising a
 * schedule is to change constraints of a scheduler agent", e.g. adding precedence constraints
 * between its operations. The scheduler agent revises its own schedule to satisfy new
 * constraints, alone: right-shift its operations to start after a predecessor's end, or
 * reorder them within their windows.
 */
export interface IntraAgentInput {
  readonly resourceId: string;
  /** The agent's current local schedule. */
  readonly slots: readonly Slot[];
  readonly assignments: readonly Assignment[];
  /** The new constraints to satisfy (together with any standing ones the agent holds). */
  readonly constraints: readonly StartConstraint[];
  readonly nowTicks: Ticks;
  readonly unavailable?: readonly Interval[];
  /** Activities that cannot move besides those that started before now (started, done). */
  readonly fixed?: readonly string[];
  /**
   * Whether operations may move earlier than they are planned now without being asked to. Off by
   * default: the agent cannot see its operations' predecessors on other agents (partial
   * observability), and its planned starts are what the last integration checked against them;
   * keeping every start from moving earlier makes repair monotone, so it cannot oscillate.
   */
  readonly allowEarlier?: boolean;
  /**
   * Each operation's weight (its job's). Given (a repair of a schedule in force), the revision
   * kept is first the one that delays the work least, weighted, against where it stands now: a
   * reordering that meets more windows by pushing a heavy job back is not taken.
   */
  readonly weights?: ReadonlyMap<string, number>;
}

export type IntraAgentStrategy = "right-shift" | "greedy" | "least-constraining";

export interface IntraAgentResult {
  readonly slots: readonly Slot[];
  readonly unmet: readonly UnmetWindow[];
  /** Activities whose start changed. */
  readonly moved: readonly string[];
  /** Which revision was kept. */
  readonly strategy: IntraAgentStrategy;
}

/**
 * Revises a local schedule to satisfy constraints. Three revisions are tried: keep the current
 * order and shift right only as needed, never earlier than now planned (least disruption), and
 * rebuild by the greedy and by the
 * least-constraining heuristic (reordering within windows). The kept one misses the fewest
 * windows, then is least late in total, then moves the schedule least; ties keep that order.
 * Earliest bounds are hard in all three, so every constraint's earliest start is met; slots that
 * started before now (or are listed fixed) stay where they are, and nothing starts before now.
 */
export function intraAgentConstraintAdjustment(input: IntraAgentInput): IntraAgentResult {
  const fixedIds = new Set(input.fixed ?? []);
  const fixed = input.slots.filter(
    (s) => s.startTicks < input.nowTicks || fixedIds.has(s.activityId),
  );
  const { operations, unmet: assignmentUnmet } = pendingOperations(
    input,
    new Set(fixed.map((s) => s.activityId)),
  );
  const busy = busyOf(input.unavailable ?? [], fixed);
  const current = new Map(input.slots.map((s) => [s.activityId, s.startTicks]));
  // The right shift never moves an operation earlier than it is now; the reorderings may only
  // when allowed, or for an operation asked to start earlier (a latest bound before its start).
  const { operations: shifted } = pendingOperations(
    input,
    new Set(fixed.map((s) => s.activityId)),
    current,
  );
  const askedEarlier = new Set(
    operations
      .filter((op) => op.latestTicks < (current.get(op.activityId) ?? Number.NEGATIVE_INFINITY))
      .map((op) => op.activityId),
  );
  const reordered = input.allowEarlier
    ? operations
    : shifted.map((op) =>
        askedEarlier.has(op.activityId)
          ? operations.find((o) => o.activityId === op.activityId)!
          : op,
      );
  const inCurrentOrder = [...shifted].sort(
    (a, b) =>
      (current.get(a.activityId) ?? Number.POSITIVE_INFINITY) -
        (current.get(b.activityId) ?? Number.POSITIVE_INFINITY) ||
      a.latestTicks - b.latestTicks ||
      compare(a.activityId, b.activityId),
  );
  const candidates: { strategy: IntraAgentStrategy; placed: Slot[] }[] = [
    { strategy: "right-shift", placed: placeInOrder(inCurrentOrder, busy) },
    { strategy: "greedy", placed: placeGreedy(reordered, busy) },
    { strategy: "least-constraining", placed: placeLeastConstraining(reordered, busy) },
  ];
  const best = pickRevision(candidates, operations, current, input.weights);
  const slots = sortSlots([...fixed, ...best.placed]);
  return {
    slots,
    unmet: [...assignmentUnmet, ...unmetOf(operations, best.placed)],
    moved: best.placed
      .filter((s) => current.get(s.activityId) !== s.startTicks)
      .map((s) => s.activityId)
      .sort(compare),
    strategy: best.strategy,
  };
}

/**
 * The revision to keep: fewest missed windows, then least total lateness, then least total
 * displacement from the current schedule; the first of equals.
 */
export function pickRevision<T extends { placed: readonly Slot[] }>(
  candidates: readonly T[],
  operations: readonly PendingOperation[],
  current: ReadonlyMap<string, Ticks>,
  weights?: ReadonlyMap<string, number>,
): T {
  const latest = new Map(operations.map((op) => [op.activityId, op.latestTicks]));
  const score = (placed: readonly Slot[]) => {
    let delay = 0;
    let missed = 0;
    let lateness = 0;
    let displacement = 0;
    for (const s of placed) {
      const was = current.get(s.activityId);
      if (weights && was !== undefined && s.startTicks > was)
        delay += (weights.get(s.activityId) ?? 1) * (s.startTicks - was);
      const l = latest.get(s.activityId) ?? Number.POSITIVE_INFINITY;
      if (s.startTicks > l) {
        missed++;
        lateness += s.startTicks - l;
      }
      const c = current.get(s.activityId);
      displacement += c === undefined ? 0 : Math.abs(s.startTicks - c);
    }
    return [delay, missed, lateness, displacement] as const;
  };
  const before = (a: readonly number[], b: readonly number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
    return false;
  };
  let best = candidates[0]!;
  let bestScore = score(best.placed);
  for (const c of candidates.slice(1)) {
    const sc = score(c.placed);
    if (before(sc, bestScore)) {
      best = c;
      bestScore = sc;
    }
  }
  return best;
}

/** A request to one scheduler agent to revise its schedule, with the constraints to satisfy. */
export interface IntraAgentRequest {
  readonly resourceId: string;
  readonly constraints: readonly StartConstraint[];
}

/**
 * What each affected scheduler agent is asked in the intra-agent step, from the conflicts of an
 * integration: the successor's agent must start it after its predecessor's planned end; an
 * operation started before its release must wait for it; an agent whose schedule is malformed
 * (overlap, missing or misplaced operation) must rebuild. Deadline, window and due-date
 * conflicts are not the agent's to fix alone. `resourceOf` places conflicts that name no resource
 * (an unscheduled operation) on the agent it was assigned to.
 */
export function intraAgentRequests(
  conflicts: readonly Conflict[],
  resourceOf: ReadonlyMap<string, string> = new Map(),
): IntraAgentRequest[] {
  const byResource = new Map<string, StartConstraint[]>();
  const ask = (resourceId: string | undefined, constraint?: StartConstraint) => {
    if (!resourceId) return;
    const list = byResource.get(resourceId) ?? [];
    if (constraint) list.push(constraint);
    byResource.set(resourceId, list);
  };
  for (const c of conflicts) {
    switch (c.kind) {
      case "precedence":
        if (c.predecessorEndTicks !== undefined)
          ask(c.resourceId, {
            activityId: c.activityId,
            earliestStartTicks: c.predecessorEndTicks,
            reason: `${c.predecessorId ?? c.link.from} ends at ${c.predecessorEndTicks}`,
          });
        break;
      case "release":
        ask(c.resourceId, {
          activityId: c.activityId,
          earliestStartTicks: c.releaseTicks,
          reason: `released at ${c.releaseTicks}`,
        });
        break;
      case "capacity":
        ask(c.resourceId);
        break;
      case "assignment":
        ask(c.resourceId ?? (c.activityId ? resourceOf.get(c.activityId) : undefined));
        break;
      case "deadline":
      case "window":
      case "due":
        break;
    }
  }
  return [...byResource.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([resourceId, constraints]) => ({ resourceId, constraints }));
}
