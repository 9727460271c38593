import type { ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { frozenSlots, type ReportedCompletion } from "./execution-monitor.js";

/**
 * Which work of a lost agent moves elsewhere (issue 12, no stranded work). Pure: times are
 * arguments.
 */

/**
 * A lost agent's work that is moved to other resources: its operations in the installed
 * schedule that are not done, cannot have started (not the first undone one of its sequence, or
 * its planned start is still ahead, or a predecessor is not done) and have an alternative
 * resource. A completion report still in flight when the agent was cut off is the limit: the
 * planner then believes the operation after it has not started. What may have started stays with
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
  // What may be running: of what is not done, only the first in its sequence, if its time has
  // come and its predecessors are done (`frozenSlots`).
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
 * Where each reassigned operation goes: the alternative resource (not the lost one) with the
 * least installed work, ties to the earlier in the operation's list. The deliberative re-solve
 * then times them there; nothing else moves resource.
 */
export function reassignTargets(
  index: ModelIndex,
  installed: Schedule | undefined,
  reassign: readonly string[],
  lostResourceId: string,
): Record<string, string> {
  const load = new Map<string, number>();
  for (const r of installed?.resources ?? [])
    load.set(
      r.resourceId,
      r.activities.reduce((n, a) => n + (a.durationTicks ?? 0), 0),
    );
  const byId = new Map(index.activities.map((a) => [a.id, a]));
  const out: Record<string, string> = {};
  for (const id of reassign) {
    const activity = byId.get(id);
    if (!activity) continue;
    let best: string | undefined;
    for (const r of activity.resources) {
      if (r === lostResourceId) continue;
      if (best === undefined || (load.get(r) ?? 0) < (load.get(best) ?? 0)) best = r;
    }
    if (best === undefined) continue;
    out[id] = best;
    const duration = installed?.resources
      .flatMap((r) => r.activities)
      .find((a) => a.activityId === id)?.durationTicks;
    load.set(best, (load.get(best) ?? 0) + (duration ?? 0));
  }
  return out;
}
