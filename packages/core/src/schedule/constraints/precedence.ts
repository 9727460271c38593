import { descendantActivities, type ModelIndex } from "../../model/model-index.js";
import type { Ticks } from "../../model/types.js";
import { type PlannedActivity, plannedReadyTime } from "../plan.js";
import type { Violation } from "./violation.js";

/**
 * A link's target starts only once its source is ready: for `enables` (CSC §2 NLE) the source
 * has accrued quality; for `precedence` (CAMPS) it has ended. A link into a task binds every
 * activity under it. Rationale: a target that starts early fails (CSC) or breaks the routing of
 * the part (CAMPS).
 */
export function precedenceViolations(
  index: ModelIndex,
  byActivity: ReadonlyMap<string, PlannedActivity>,
): Violation[] {
  const out: Violation[] = [];
  const memo = new Map<string, Ticks | undefined>();
  for (const link of index.model.links) {
    const ready = plannedReadyTime(index, byActivity, link.from, memo);
    for (const targetId of descendantActivities(index, link.to)) {
      const target = byActivity.get(targetId);
      if (target?.startTicks === undefined) continue;
      if (ready !== undefined && target.startTicks >= ready) continue;
      out.push({
        kind: "precedence",
        link,
        activityId: targetId,
        startTicks: target.startTicks,
        sourceReadyTicks: ready,
        reason:
          ready === undefined
            ? `${targetId} starts at ${target.startTicks} but ${link.from} (${link.kind} ${link.to}) is never ready in this schedule`
            : `${targetId} starts at ${target.startTicks}, before ${link.from} is ready at ${ready} (${link.kind} ${link.to})`,
      });
    }
  }
  return out;
}
