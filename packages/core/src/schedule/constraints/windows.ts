import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../../model/model-index.js";
import type { PlannedActivity } from "../plan.js";
import type { Violation } from "./violation.js";

/**
 * An activity starts no earlier than its release and ends no later than its deadline, its own or
 * any ancestor's (CSC §2: otherwise it earns zero quality).
 */
export function windowViolations(
  index: ModelIndex,
  byActivity: ReadonlyMap<string, PlannedActivity>,
): Violation[] {
  const out: Violation[] = [];
  for (const [activityId, p] of byActivity) {
    if (p.startTicks === undefined || p.endTicks === undefined) continue;
    const release = effectiveRelease(index, activityId);
    if (p.startTicks < release) {
      out.push({
        kind: "release",
        activityId,
        startTicks: p.startTicks,
        releaseTicks: release,
        reason: `${activityId} starts at ${p.startTicks}, before its release ${release}`,
      });
    }
    const deadline = effectiveDeadline(index, activityId);
    if (deadline !== undefined && p.endTicks > deadline) {
      out.push({
        kind: "deadline",
        activityId,
        endTicks: p.endTicks,
        deadlineTicks: deadline,
        reason: `${activityId} ends at ${p.endTicks}, after its deadline ${deadline}`,
      });
    }
  }
  return out;
}

/**
 * A fixed start lies inside the entry's own start window. Rationale: the planner grants a
 * window (CAMPS desirability window, CSC start window); the agent may move only within it.
 */
export function startWindowViolations(plan: readonly PlannedActivity[]): Violation[] {
  const out: Violation[] = [];
  for (const p of plan) {
    const { startTicks, window } = p.entry;
    if (startTicks === undefined || window === undefined) continue;
    if (startTicks < window.earliestTicks || startTicks > window.latestTicks) {
      out.push({
        kind: "start-window",
        activityId: p.activityId,
        startTicks,
        window,
        reason: `${p.activityId} starts at ${startTicks}, outside its window [${window.earliestTicks}, ${window.latestTicks}]`,
      });
    }
  }
  return out;
}
