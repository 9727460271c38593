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
    /**
     * What has started or run (the agent knows): it stays. Given, every other slot planned
     * before now has not started and is revised from now, not kept where it was.
     */
    readonly fixed?: readonly string[];
    /** Job weights of its operations: a revision then delays the weighted work least. */
    readonly weights?: ReadonlyMap<string, number>;
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
  const fixed = agent.fixed ? new Set(agent.fixed) : undefined;
  const revised = intraAgentConstraintAdjustment({
    resourceId: agent.resourceId,
    slots: fixed
      ? agent.slots.map((s) =>
          fixed.has(s.activityId) || s.startTicks >= nowTicks ? s : { ...s, startTicks: nowTicks },
        )
      : agent.slots,
    ...(fixed ? { fixed: [...fixed] } : {}),
    ...(agent.weights ? { weights: agent.weights } : {}),
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
