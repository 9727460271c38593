import { indexModel, type ModelIndex } from "../model/model-index.js";
import type { TaskModel, Ticks } from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import type { Violation } from "../schedule/constraints/violation.js";
import type { Schedule } from "../schedule/types.js";
import type { JobShopObjective } from "../solver/types.js";
import { answerRequest } from "./answer-request.js";
import { type ReoptimizeError, reoptimize } from "./deliberative-repair.js";
import type { Conflict } from "./integrate.js";
import { buildLocalSchedule, type LocalHeuristic } from "./local-scheduler.js";
import { assignOperations } from "./planner-windows.js";
import {
  finishWithSchedule,
  nextRepairStep,
  type RepairLogEntry,
  type RepairLoopOptions,
  receiveLocalSchedule,
  startRepairLoop,
} from "./repair-loop.js";
import type { Assignment, Interval, ResourceInterval, Slot, StartConstraint } from "./types.js";

/**
 * The whole CAMPS cycle in one process, with the scheduler agents as plain objects: planner
 * windows, local schedules, integration, the repair loop and, if it comes to that, deliberative
 * repair. It is the reference for how the coordinator and the edge agents call these functions
 * (each `RepairRequest` kind shows what an agent does with it), and the simulated fleet's engine.
 */
export interface InProcessOptions {
  readonly nowTicks?: Ticks;
  readonly heuristic?: LocalHeuristic;
  readonly unavailable?: readonly ResourceInterval[];
  readonly loop?: RepairLoopOptions;
  /** Deliberative repair's objective; default total weighted tardiness when a job has a due date. */
  readonly objective?: JobShopObjective;
  readonly seed?: number;
  /** Deliberative repair's solver iterations. Default 2,000. */
  readonly maxIterations?: number;
}

export interface InProcessRun {
  readonly schedule: Schedule;
  /** Whether the agents' negotiation converged, or deliberative repair decided. */
  readonly outcome: "negotiated" | "deliberative";
  /** The planner's model at the end (after any problem adjustment). */
  readonly model: TaskModel;
  readonly cancelled: readonly string[];
  readonly softConflicts: readonly Conflict[];
  /** Deliberative repair's remaining checker violations (deadlines it could not meet). */
  readonly violations: readonly Violation[];
  readonly rounds: number;
  /** Requests sent to agents (messages), initial assignments included. */
  readonly requests: number;
  readonly log: readonly RepairLogEntry[];
}

/** A scheduler agent as it runs on its board: its assignments, constraints and schedule. */
interface SimulatedAgent {
  readonly resourceId: string;
  assignments: readonly Assignment[];
  unavailable: readonly Interval[];
  constraints: readonly StartConstraint[];
  slots: readonly Slot[];
}

/** Runs planning and repair to the end for a model; see `InProcessOptions`. */
export function runCampsInProcess(
  index: ModelIndex,
  options: InProcessOptions = {},
): Result<InProcessRun, ReoptimizeError | { kind: "stuck"; reason: string }> {
  const now = options.nowTicks ?? 0;
  const heuristic = options.heuristic ?? "greedy";
  const unavailable = options.unavailable ?? [];
  const assignments = assignOperations(index, { nowTicks: now });
  const agents = new Map<string, SimulatedAgent>();
  for (const r of index.model.resources) {
    const mine = assignments.filter((a) => a.resourceId === r.id);
    const down = unavailable
      .filter((u) => u.resourceId === r.id)
      .map((u) => ({ fromTicks: u.fromTicks, untilTicks: u.untilTicks }));
    const built = buildLocalSchedule({
      resourceId: r.id,
      assignments: mine,
      nowTicks: now,
      heuristic,
      unavailable: down,
    });
    agents.set(r.id, {
      resourceId: r.id,
      assignments: mine,
      unavailable: down,
      constraints: [],
      slots: built.slots,
    });
  }
  let state = startRepairLoop({
    model: index.model,
    assignments,
    version: 1,
    unavailable,
    ...(options.loop ? { options: options.loop } : {}),
  });
  let requests = 0;
  for (const agent of agents.values()) {
    if (!(agent.resourceId in state.versions)) continue;
    requests++;
    state = receiveLocalSchedule(state, {
      resourceId: agent.resourceId,
      version: 1,
      slots: agent.slots,
    }).state;
  }
  for (let guard = 0; guard < 10_000; guard++) {
    const next = nextRepairStep(state, { nowTicks: now });
    state = next.state;
    const step = next.step;
    switch (step.kind) {
      case "wait":
        return err({ kind: "stuck", reason: `waiting for ${step.awaiting.join(", ")}` });
      case "intra-agent":
      case "inter-agent":
      case "problem-adjustment":
        for (const request of step.requests) {
          const agent =
            agents.get(request.resourceId) ??
            ({
              resourceId: request.resourceId,
              assignments: [],
              unavailable: [],
              constraints: [],
              slots: [],
            } satisfies SimulatedAgent);
          agents.set(request.resourceId, agent);
          const answered = answerRequest(agent, request, now, heuristic);
          agent.assignments = answered.assignments;
          agent.unavailable = answered.unavailable;
          agent.constraints = answered.constraints;
          agent.slots = answered.answer.slots;
          requests++;
          state = receiveLocalSchedule(state, answered.answer).state;
        }
        break;
      case "deliberative": {
        const indexed = indexModel(step.model);
        if (!indexed.ok) return err({ kind: "stuck", reason: "the planner's model is not valid" });
        const hasDue = step.model.nodes.some((n) => n.due !== undefined);
        const solved = reoptimize(indexed.value, {
          nowTicks: now,
          frozen: step.frozen,
          unavailable: step.unavailable,
          objective: options.objective ?? (hasDue ? "twt" : "makespan"),
          seed: options.seed ?? 1,
          maxIterations: options.maxIterations ?? 2_000,
          resourceOf: step.resourceOf,
          cancelled: step.cancelled,
        });
        if (!solved.ok) return solved;
        const finished = finishWithSchedule(state, solved.value.schedule);
        state = finished.state;
        requests += finished.installs.length;
        if (finished.step.kind !== "done") throw new Error("finishWithSchedule did not finish");
        return ok({
          schedule: finished.step.schedule,
          outcome: "deliberative",
          model: step.model,
          cancelled: step.cancelled,
          softConflicts: finished.step.softConflicts,
          violations: solved.value.violations,
          rounds: state.round,
          requests,
          log: state.log,
        });
      }
      case "done":
        return ok({
          schedule: step.schedule,
          outcome: "negotiated",
          model: state.model,
          cancelled: state.cancelled,
          softConflicts: step.softConflicts,
          violations: [],
          rounds: state.round,
          requests,
          log: state.log,
        });
    }
  }
  return err({ kind: "stuck", reason: "the repair loop did not end" });
}
