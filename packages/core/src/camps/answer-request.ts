import type { Ticks } from "../model/types.js";
import { intraAgentConstraintAdjustment } from "./intra-agent-constraint-adjustment.js";
import { buildLocalSchedule, type LocalHeuristic, mergeConstraints } from "./local-scheduler.js";
import type { RepairRequest } from "./repair-loop.js";
import type { Assignment, Interval, LocalSchedule, Slot, StartConstraint } from "./types.js";

/** What a scheduler agent does with a request (the edge agent does the same). */
export function answerRequest(
  agent: {
    readonly resourceId: string;
    readonly assignments: readonly Assignment[];
    readonly unavailable: readonly Interval[];
    readonly constraints: readonly StartConstraint[];
    readonly slots: readonly Slot[];
  },
  request: RepairRequest,
  nowTicks: Ticks,
  heuristic: LocalHeuristic,
): {
  assignments: readonly Assignment[];
  unavailable: readonly Interval[];
  constraints: readonly StartConstraint[];
  answer: LocalSchedule;
} {
  if (request.kind === "reassign") {
    const started = agent.slots.filter((s) => s.startTicks < nowTicks);
    const built = buildLocalSchedule({
      resourceId: agent.resourceId,
      assignments: request.assignments,
      nowTicks,
      heuristic,
      unavailable: request.unavailable,
      fixed: started,
    });
    return {
      assignments: request.assignments,
      unavailable: request.unavailable,
      constraints: [],
      answer: { resourceId: agent.resourceId, version: request.version, slots: built.slots },
    };
  }
  const constraints = mergeConstraints(agent.constraints, request.constraints);
  const revised = intraAgentConstraintAdjustment({
    resourceId: agent.resourceId,
    slots: agent.slots,
    assignments: agent.assignments,
    constraints,
    nowTicks,
    unavailable: agent.unavailable,
  });
  return {
    assignments: agent.assignments,
    unavailable: agent.unavailable,
    constraints,
    answer: { resourceId: agent.resourceId, version: request.version, slots: revised.slots },
  };
}
