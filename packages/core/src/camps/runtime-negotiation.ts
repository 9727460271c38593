import type { TaskModel, Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { compare } from "./model-view.js";
import {
  type RepairLoopState,
  type RepairRequest,
  type RepairStep,
  startRepairLoop,
} from "./repair-loop.js";
import type { Assignment, LocalSchedule, ResourceInterval, ResourceSlot, Slot } from "./types.js";

/**
 * Negotiated repair at run time (issue 15 item 3): the CAMPS repair loop's intra-agent and
 * inter-agent constraint adjustment, run on the schedule in force. The planner integrates what
 * it knows (the installed schedule, with what ran or runs where it really is and nothing
 * unstarted before now); each conflict becomes constraints for the agent that must move (an
 * earliest start a delayed predecessor imposes); each agent asked revises its own schedule with
 * its local scheduler and proposes; rounds go on until no hard conflict is left, or the round
 * limit or damping ends them. The loop's problem adjustment is not run here: a negotiation that
 * does not converge ends in the loop's `deliberative` step, which the caller takes as "not
 * settled here" and hands to the next level. Driven like the initial plan's loop
 * (`receiveLocalSchedule`, `giveUpWaiting`, `nextRepairStep`).
 */

/** Rounds of a run-time negotiation before it hands over. */
export const DEFAULT_NEGOTIATION_ROUNDS = 12;
/**
 * Rounds without fewer hard conflicts before a phase hands over. A delay travels one agent per
 * round along its jobs and sequences, the count of conflicts staying the same as it goes: that is
 * progress, not stagnation. A phase stuck for real repeats an integration (the loop's cycle rule)
 * and hands over at once; so only the round limit bounds the rest.
 */
export const DEFAULT_NEGOTIATION_PATIENCE = DEFAULT_NEGOTIATION_ROUNDS;

export interface RuntimeNegotiationInput {
  /** The planner's model in force. */
  readonly model: TaskModel;
  /** The schedule in force (its agents' local schedules). */
  readonly schedule: Schedule;
  /** What ran or surely runs, where it really is (`frozenSlots`): it does not move. */
  readonly frozen: readonly ResourceSlot[];
  readonly nowTicks: Ticks;
  /** Activities done (of `frozen`): their times stand whatever an agent's answer says. Default: all of `frozen`. */
  readonly done?: ReadonlySet<string>;
  /** The agents that may be asked (online); the others' slots stand as they are. */
  readonly agents: readonly string[];
  /** The highest schedule version issued so far: every request goes above it. */
  readonly version: number;
  /** Agents to ask first whatever the integration says (their own repair fell short). */
  readonly ask?: readonly string[];
  readonly unavailable?: readonly ResourceInterval[];
  readonly cancelled?: readonly string[];
  readonly maxRounds?: number;
  readonly patience?: number;
}

/**
 * Starts a run-time negotiation. The agents in `ask` (one whose own repair fell short: the
 * planner does not know what it did) and those with unstarted work planned into time their
 * resource is unavailable are asked first, with no new constraint, to revise and propose:
 * send `requests`, then drive. Without first requests, `nextRepairStep` asks the agents its
 * integration of the schedule in force shows in conflict.
 */
export function startRuntimeNegotiation(input: RuntimeNegotiationInput): {
  state: RepairLoopState;
  requests: RepairRequest[];
} {
  const now = input.nowTicks;
  const frozen = new Map(input.frozen.map((f) => [f.activityId, f]));
  const cancelled = new Set(input.cancelled ?? []);
  const slots = new Map<string, Slot[]>();
  const assignments: Assignment[] = [];
  const place = (resourceId: string, slot: Slot) => {
    slots.set(resourceId, [...(slots.get(resourceId) ?? []), slot]);
    assignments.push({
      activityId: slot.activityId,
      resourceId,
      // Desirability: where it stands now. Operations only move as far as constraints force.
      window: { earliestTicks: slot.startTicks, latestTicks: slot.startTicks },
      durationTicks: slot.durationTicks,
    });
  };
  for (const r of input.schedule.resources) {
    if (!slots.has(r.resourceId)) slots.set(r.resourceId, []);
    for (const a of r.activities) {
      if (cancelled.has(a.activityId) || frozen.has(a.activityId)) continue;
      // What has not started cannot start before now: the agent owning it will say when.
      place(r.resourceId, {
        activityId: a.activityId,
        startTicks: Math.max(now, a.startTicks ?? now),
        durationTicks: a.durationTicks ?? 0,
      });
    }
  }
  for (const f of frozen.values())
    place(f.resourceId, {
      activityId: f.activityId,
      startTicks: f.startTicks,
      durationTicks: f.durationTicks,
    });
  const proposals: Record<string, LocalSchedule> = {};
  for (const [resourceId, list] of [...slots.entries()].sort(([a], [b]) => compare(a, b)))
    proposals[resourceId] = {
      resourceId,
      version: input.version,
      slots: [...list].sort(
        (a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId),
      ),
    };
  const askable = new Set(input.agents);
  const down = (resourceId: string, slot: Slot) =>
    (input.unavailable ?? []).some(
      (u) =>
        u.resourceId === resourceId &&
        u.fromTicks < slot.startTicks + Math.max(1, slot.durationTicks) &&
        slot.startTicks < u.untilTicks,
    );
  const first = Object.keys(proposals).filter(
    (r) =>
      askable.has(r) &&
      ((input.ask ?? []).includes(r) ||
        proposals[r]!.slots.some((x) => !frozen.has(x.activityId) && down(r, x))),
  );
  const loop = startRepairLoop({
    model: input.model,
    assignments,
    version: input.version,
    unavailable: input.unavailable ?? [],
    options: {
      maxRounds: input.maxRounds ?? DEFAULT_NEGOTIATION_ROUNDS,
      patience: input.patience ?? DEFAULT_NEGOTIATION_PATIENCE,
      maxProblemAdjustments: 0,
    },
  });
  const versions: Record<string, number> = Object.fromEntries(
    Object.keys(proposals)
      .filter((r) => askable.has(r))
      .map((r) => [r, first.includes(r) ? input.version + 1 : input.version]),
  );
  const requests: RepairRequest[] = first.map((resourceId) => ({
    kind: "revise",
    resourceId,
    version: input.version + 1,
    constraints: [],
  }));
  const state: RepairLoopState = {
    ...loop,
    versions,
    proposals,
    awaiting: first,
    // Unscheduled work (a rush order's, not placed yet) is the next level's, not a conflict here.
    requireAll: false,
    // Delays run down every chain in one round; bounds only grow; a consistent forecast settles.
    propagate: true,
    // Completions are the planner's record; what runs, its agent knows best (an overrun).
    frozen: input.frozen.filter((f) => input.done?.has(f.activityId) ?? true),
  };
  return { state, requests };
}

/** The agents a negotiation asked at least once (their version moved past its start). */
export function negotiationAgents(state: RepairLoopState, startVersion: number): string[] {
  return Object.entries(state.versions)
    .filter(([, v]) => v > startVersion)
    .map(([r]) => r)
    .sort(compare);
}

/** Whether a step ends a run-time negotiation: settled (`done`) or handed over (`deliberative`). */
export function negotiationEnded(step: RepairStep): "settled" | "handed-over" | undefined {
  if (step.kind === "done") return "settled";
  if (step.kind === "deliberative" || step.kind === "problem-adjustment") return "handed-over";
  return undefined;
}
