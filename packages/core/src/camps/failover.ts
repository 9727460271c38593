import type { ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { frozenSlots, type ReportedCompletion } from "./execution-monitor.js";
import type { ResourceInterval } from "./types.js";

/**
 * Which work of a lost agent moves elsewhere (issue 12, no stranded work). Pure: times are
 * arguments.
 */

/**
 * A lost agent's work that is moved to other resources: its operations in the installed
 * schedule that are not done, cannot have started (their planned start is still ahead, or a
 * predecessor is not done) and have an alternative resource. What may have started stays with
 * it: moving it could run it twice.
 */
export function operationsToReassign(
  index: ModelIndex,
  installed: Schedule | undefined,
  executed: ReadonlyMap<string, ReportedCompletion>,
  lostResourceId: string,
  nowTicks: Ticks,
): { readonly reassign: readonly string[]; readonly keep: readonly string[] } {
  const mine = installed?.resources.find((r) => r.resourceId === lostResourceId);
  if (!mine) return { reassign: [], keep: [] };
  const mayHaveStarted = new Set(
    frozenSlots(index, installed, executed, [], nowTicks)
      .filter((s) => s.resourceId === lostResourceId && !executed.has(s.activityId))
      .map((s) => s.activityId),
  );
  const alternatives = new Map(index.activities.map((a) => [a.id, a.resources.length > 1]));
  const reassign: string[] = [];
  const keep: string[] = [];
  for (const a of mine.activities) {
    if (executed.has(a.activityId)) continue;
    // Without an alternative resource it can only wait for its agent to come back.
    const movable = !mayHaveStarted.has(a.activityId) && alternatives.get(a.activityId) === true;
    (movable ? reassign : keep).push(a.activityId);
  }
  return { reassign, keep };
}

/**
 * The unavailability that keeps new work off a lost resource: from when what it may still be
 * running ends (planned), for good. The planner's problem adjustment then places its reassigned
 * operations on their alternative resources.
 */
export function lostResourceInterval(
  installed: Schedule | undefined,
  keep: readonly string[],
  lostResourceId: string,
  nowTicks: Ticks,
): ResourceInterval {
  const mine = installed?.resources.find((r) => r.resourceId === lostResourceId);
  let from = nowTicks;
  for (const a of mine?.activities ?? [])
    if (keep.includes(a.activityId))
      from = Math.max(from, (a.startTicks ?? nowTicks) + (a.durationTicks ?? 0));
  return { resourceId: lostResourceId, fromTicks: from, untilTicks: Number.MAX_SAFE_INTEGER };
}
