import type { ModelIndex } from "../../model/model-index.js";
import type { PlannedActivity } from "../plan.js";
import type { Violation } from "./violation.js";

/**
 * Each scheduled entry names a known activity, on a resource that can run it, once; and, when
 * the whole model must be scheduled (a job shop), every activity appears.
 * Rationale: an agent can only execute what the model defines, on hardware able to do it.
 */
export function assignmentViolations(
  index: ModelIndex,
  plan: readonly PlannedActivity[],
  requireAll: boolean,
): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<string, string>();
  for (const p of plan) {
    const { activityId, resourceId } = p;
    if (!p.activity) {
      out.push({
        kind: "unknown-activity",
        activityId,
        resourceId,
        reason: `${resourceId} lists "${activityId}", which is not an activity of the model`,
      });
      continue;
    }
    if (!p.activity.resources.includes(resourceId)) {
      out.push({
        kind: "wrong-resource",
        activityId,
        resourceId,
        reason: `${activityId} is on ${resourceId} but can run only on ${p.activity.resources.join(", ")}`,
      });
    }
    const first = seen.get(activityId);
    if (first !== undefined) {
      out.push({
        kind: "duplicate",
        activityId,
        resourceId,
        reason: `${activityId} is scheduled again on ${resourceId} (first on ${first})`,
      });
    } else seen.set(activityId, resourceId);
    if (p.startTicks === undefined) {
      out.push({
        kind: "no-start",
        activityId,
        resourceId,
        reason: `${activityId} on ${resourceId} has no start or start window`,
      });
    }
  }
  if (requireAll) {
    for (const a of index.activities) {
      if (!seen.has(a.id))
        out.push({ kind: "unscheduled", activityId: a.id, reason: `${a.id} is not scheduled` });
    }
  }
  return out;
}
