import type { ModelIndex } from "../model/model-index.js";
import { assignmentViolations } from "./constraints/assignment.js";
import { precedenceViolations } from "./constraints/precedence.js";
import { capacityViolations } from "./constraints/resource-capacity.js";
import type { Violation } from "./constraints/violation.js";
import { startWindowViolations, windowViolations } from "./constraints/windows.js";
import { firstPlanByActivity, resolvePlan } from "./plan.js";
import type { Schedule } from "./types.js";

export interface CheckOptions {
  /**
   * Every activity of the model must be scheduled (true for a job shop). C-TAEMS schedules
   * leave out the methods they do not plan to run, so the default is false.
   */
  readonly requireAll?: boolean;
}

/**
 * Checks a schedule against its model and returns every violation with its reason; an empty list
 * means feasible. Each constraint is its own function in `constraints/`.
 */
export function checkSchedule(
  index: ModelIndex,
  schedule: Schedule,
  options: CheckOptions = {},
): Violation[] {
  const plan = resolvePlan(index, schedule);
  const byActivity = firstPlanByActivity(plan);
  return [
    ...assignmentViolations(index, plan, options.requireAll ?? false),
    ...capacityViolations(plan),
    ...precedenceViolations(index, byActivity),
    ...windowViolations(index, byActivity),
    ...startWindowViolations(plan),
  ];
}
