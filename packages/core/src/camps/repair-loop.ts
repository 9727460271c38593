import { indexModel, type ModelIndex } from "../model/model-index.js";
import type { TaskModel, Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import {
  type Conflict,
  dueConflicts,
  integrate,
  isHardConflict,
  slotsByActivity,
} from "./integrate.js";
import {
  type ConstraintChange,
  constraintsForAgent,
  interAgentConstraintAdjustment,
} from "./inter-agent-constraint-adjustment.js";
import { intraAgentRequests } from "./intra-agent-constraint-adjustment.js";
import { compare } from "./model-view.js";
import { assignOperations } from "./planner-windows.js";
import {
  applyProblemAdjustments,
  dueDateExtensions,
  type ProblemAdjustment,
  type ProblemAdjustmentPolicy,
  proposeProblemAdjustments,
} from "./problem-adjustment.js";
import { propagatedBounds } from "./runtime-repair.js";
import {
  type Assignment,
  type Interval,
  isStale,
  type LocalSchedule,
  type ResourceInterval,
  type ResourceSlot,
  type StartConstraint,
} from "./types.js";
import { breakWaitForCycles, type WaitEdge, waitForWaves } from "./wait-for.js";

/**
 * The planner's repair loop (CAMPS "Coordination for Repair") as a pure state machine the
 * coordinator drives. After every scheduler agent has sent its local schedule, the planner
 * integrates them and, while hard conflicts remain, asks for repairs in the paper's order:
 *   1. intra-agent constraint adjustment: the affected agents revise their own schedules;
 *   2. inter-agent constraint adjustment: the planner adds constraints between agents;
 *   3. problem adjustment: the planner relaxes the problem or changes the decomposition;
 * and, when that does not converge either, deliberative repair (central re-solve).
 *
 * Damping (the seed article's failure modes):
 * - oscillation: a phase that goes `patience` rounds without improving its best score, or that
 *   sees an integrated schedule it has seen before (a cycle), hands over to the next phase;
 *   inter-agent bounds only tighten and are not moved back within `hysteresisRounds`; the whole
 *   loop stops after `maxRounds`.
 * - coordination deadlock: agents bound by inter-agent constraints wait for each other's new
 *   plans; the waits are a graph, a cycle in it is broken by dropping its lowest-priority edge,
 *   and agents are asked in waves so nobody waits on an agent that waits on it.
 * - stale answers: every request carries the version of the assignment it asks about; an
 *   answer for an older version is rejected (`isStale`).
 *
 * Driving it: `startRepairLoop` after sending the initial assignments; `receiveLocalSchedule`
 * for each answer; `nextRepairStep` whenever no answer is awaited (or after `giveUpWaiting`
 * on a timeout); carry out the step; after a `deliberative` step, `finishWithSchedule`.
 */

export type RepairPhase = "intra-agent" | "inter-agent" | "problem-adjustment";

export interface RepairLoopOptions {
  /** Rounds (integrations with hard conflicts) before deliberative repair. Default 24. */
  readonly maxRounds?: number;
  /** Rounds without improvement before a phase hands over to the next. Default 3. */
  readonly patience?: number;
  /** See `InterAgentInput.hysteresisRounds`. Default 3. */
  readonly hysteresisRounds?: number;
  /** Problem adjustments before deliberative repair. Default 2. */
  readonly maxProblemAdjustments?: number;
  /** What problem adjustment may do (overtime, lead time, cancel). */
  readonly policy?: ProblemAdjustmentPolicy;
}

type ResolvedOptions = Required<Omit<RepairLoopOptions, "policy">> & {
  readonly policy: ProblemAdjustmentPolicy;
};

/** How bad an integration is: hard conflicts, then their size in ticks, then soft cost. */
export interface RepairScore {
  readonly hard: number;
  readonly hardTicks: number;
  readonly soft: number;
}

/** What one scheduler agent is asked; it answers with a `LocalSchedule` of `version`. */
export type RepairRequest =
  /**
   * Intra-agent: add these constraints to the ones you hold and revise your schedule
   * (`intraAgentConstraintAdjustment`).
   */
  | {
      readonly kind: "revise";
      readonly resourceId: string;
      readonly version: number;
      readonly constraints: readonly StartConstraint[];
    }
  /**
   * Inter-agent: these are the planner's standing constraints on your operations; add them to
   * the ones you hold and revise (`intraAgentConstraintAdjustment`).
   */
  | {
      readonly kind: "constrain";
      readonly resourceId: string;
      readonly version: number;
      readonly constraints: readonly StartConstraint[];
    }
  /**
   * Problem adjustment: drop your constraints, take these assignments and this unavailable
   * time, and build a new schedule (`buildLocalSchedule`).
   */
  | {
      readonly kind: "reassign";
      readonly resourceId: string;
      readonly version: number;
      readonly assignments: readonly Assignment[];
      readonly unavailable: readonly Interval[];
    };

export type RepairStep =
  /** Answers are still due from these agents: wait (or `giveUpWaiting` on a timeout). */
  | { readonly kind: "wait"; readonly awaiting: readonly string[] }
  | {
      readonly kind: "intra-agent";
      readonly round: number;
      readonly requests: readonly RepairRequest[];
    }
  | {
      readonly kind: "inter-agent";
      readonly round: number;
      /** 1 for the first agents asked in this round; later waves follow their answers. */
      readonly wave: number;
      readonly requests: readonly RepairRequest[];
      /** Agents that will be asked once the agents they wait for have answered. */
      readonly deferred: readonly string[];
      /** Waits dropped to break a wait-for cycle: the waiter goes ahead with what it knows. */
      readonly brokenWaits: readonly WaitEdge[];
    }
  | {
      readonly kind: "problem-adjustment";
      readonly round: number;
      readonly adjustments: readonly ProblemAdjustment[];
      /** The adjusted model: the planner's model from now on. */
      readonly model: TaskModel;
      readonly requests: readonly RepairRequest[];
    }
  /** Re-solve centrally with `reoptimize`, then call `finishWithSchedule`. */
  | {
      readonly kind: "deliberative";
      readonly round: number;
      readonly reason: string;
      readonly model: TaskModel;
      readonly unavailable: readonly ResourceInterval[];
      /** Resource of each operation (alternatives chosen by the planner). */
      readonly resourceOf: Readonly<Record<string, string>>;
      readonly cancelled: readonly string[];
      /** Slots of the last local schedules that start before now: keep them. */
      readonly frozen: readonly ResourceSlot[];
    }
  /** No hard conflict is left: install `schedule`. Soft conflicts and what would relax them. */
  | {
      readonly kind: "done";
      readonly schedule: Schedule;
      readonly softConflicts: readonly Conflict[];
      readonly suggestions: readonly ProblemAdjustment[];
      readonly deliberative: boolean;
      /**
       * Settled by the planner's forecast of the agents' last plans (each keeping its sequence,
       * delays propagated), not by the agents' own answers: a run-time negotiation's partial settle.
       */
      readonly partial?: boolean;
    };

export interface RepairLogEntry {
  readonly round: number;
  readonly phase: RepairPhase | "deliberative" | "done";
  readonly message: string;
}

export interface RepairLoopState {
  readonly model: TaskModel;
  readonly options: ResolvedOptions;
  readonly phase: RepairPhase;
  readonly round: number;
  readonly assignments: readonly Assignment[];
  readonly unavailable: readonly ResourceInterval[];
  /** The assignment version each agent must answer. */
  readonly versions: Readonly<Record<string, number>>;
  /** The latest accepted local schedule of each agent. */
  readonly proposals: Readonly<Record<string, LocalSchedule>>;
  readonly awaiting: readonly string[];
  /** Inter-agent wave: agents still to be asked in this round, and what they wait for. */
  readonly deferred: readonly string[];
  readonly waits: readonly WaitEdge[];
  readonly wave: number;
  readonly interConstraints: readonly StartConstraint[];
  /** What each agent was last sent of them (a signature), so no change goes unsent. */
  readonly sent: Readonly<Record<string, string>>;
  readonly history: readonly ConstraintChange[];
  readonly best: RepairScore | undefined;
  readonly stagnantRounds: number;
  /** Signatures of the integrated schedules seen in this phase (to detect cycles). */
  readonly seen: readonly string[];
  readonly problemAdjustments: number;
  readonly moved: readonly string[];
  readonly cancelled: readonly string[];
  readonly scheduleVersion: number;
  readonly log: readonly RepairLogEntry[];
  /** Set once the loop has ended (done), or is waiting for the deliberative schedule. */
  readonly final: RepairStep | undefined;
  /** Whether every activity must be scheduled (default true; a run-time negotiation: false). */
  readonly requireAll?: boolean;
  /**
   * A run-time negotiation: each round the planner propagates the delays along the agents' plans
   * (`propagatedBounds`) and asks every agent an operation of which must wait; bounds only grow.
   * At the round limit, or when nothing is left to ask, the forecast of the agents' last plans is
   * taken if it is consistent (a partial settle); only otherwise does the loop hand over.
   */
  readonly propagate?: boolean;
  /** Agents given up on (`giveUpWaiting`) that have not answered since. */
  readonly silent?: readonly string[];
  /**
   * What ran or runs, where it really is: integrated in place of what the agents' answers say of
   * it (an agent's record of its past may be off; the planner's record of completions is not).
   */
  readonly frozen?: readonly ResourceSlot[];
}

/**
 * Starts the loop after the planner sent `assignments` (version `version`) to the agents:
 * every agent with an assignment owes a local schedule of that version.
 */
export function startRepairLoop(input: {
  readonly model: TaskModel;
  readonly assignments: readonly Assignment[];
  readonly version: number;
  readonly unavailable?: readonly ResourceInterval[];
  readonly options?: RepairLoopOptions;
}): RepairLoopState {
  const o = input.options ?? {};
  const agents = [...new Set(input.assignments.map((a) => a.resourceId))].sort(compare);
  return {
    model: input.model,
    options: {
      maxRounds: o.maxRounds ?? 24,
      patience: o.patience ?? 3,
      hysteresisRounds: o.hysteresisRounds ?? 3,
      maxProblemAdjustments: o.maxProblemAdjustments ?? 2,
      policy: o.policy ?? {},
    },
    phase: "intra-agent",
    round: 0,
    assignments: input.assignments,
    unavailable: input.unavailable ?? [],
    versions: Object.fromEntries(agents.map((a) => [a, input.version])),
    proposals: {},
    awaiting: agents,
    deferred: [],
    waits: [],
    wave: 0,
    interConstraints: [],
    sent: {},
    history: [],
    best: undefined,
    stagnantRounds: 0,
    seen: [],
    problemAdjustments: 0,
    moved: [],
    cancelled: [],
    scheduleVersion: input.version,
    log: [],
    final: undefined,
  };
}

/** What became of an answer. */
export type ProposalVerdict =
  | { readonly kind: "accepted" }
  /** It answers an older assignment version: drop it, a newer answer is due. */
  | { readonly kind: "stale"; readonly version: number; readonly current: number }
  /** Its version was never issued to this agent: drop it and log the sender. */
  | { readonly kind: "unknown-version"; readonly version: number; readonly current: number }
  /** No assignment was ever sent to this agent: drop it. */
  | { readonly kind: "unknown-agent"; readonly resourceId: string };

/** Records an agent's local schedule unless it is stale. Idempotent for repeats (QoS 1). */
export function receiveLocalSchedule(
  state: RepairLoopState,
  proposal: LocalSchedule,
): { state: RepairLoopState; verdict: ProposalVerdict } {
  const current = state.versions[proposal.resourceId];
  if (current === undefined)
    return { state, verdict: { kind: "unknown-agent", resourceId: proposal.resourceId } };
  if (isStale(proposal.version, current))
    return { state, verdict: { kind: "stale", version: proposal.version, current } };
  if (proposal.version > current)
    return { state, verdict: { kind: "unknown-version", version: proposal.version, current } };
  return {
    state: {
      ...state,
      proposals: { ...state.proposals, [proposal.resourceId]: proposal },
      awaiting: state.awaiting.filter((r) => r !== proposal.resourceId),
      ...(state.silent ? { silent: state.silent.filter((r) => r !== proposal.resourceId) } : {}),
    },
    verdict: { kind: "accepted" },
  };
}

/** On a timeout: stop waiting; the agents' last accepted schedules stand for them. */
export function giveUpWaiting(state: RepairLoopState): RepairLoopState {
  if (state.awaiting.length === 0) return state;
  return withLog(
    {
      ...state,
      awaiting: [],
      silent: [...new Set([...(state.silent ?? []), ...state.awaiting])].sort(compare),
    },
    state.phase,
    `gave up waiting for ${state.awaiting.join(", ")}`,
  );
}

/** Decides what to do next. Call it when no answer is awaited. */
export function nextRepairStep(
  state: RepairLoopState,
  context: { readonly nowTicks: Ticks },
): { state: RepairLoopState; step: RepairStep } {
  if (state.final) return { state, step: state.final };
  if (state.awaiting.length > 0) return { state, step: { kind: "wait", awaiting: state.awaiting } };
  const indexed = indexModel(state.model);
  if (!indexed.ok) return deliberative(state, context, "the planner's model is not valid");
  const index = indexed.value;
  const integration = integrate(index, withFrozen(state), {
    version: state.scheduleVersion + 1,
    assignments: state.assignments,
    requireAll: state.requireAll ?? true,
  });
  const hard = integration.conflicts.filter(isHardConflict);

  if (state.deferred.length > 0) return nextWave(index, state, integration, hard, context);

  if (hard.length === 0) {
    const soft = integration.conflicts;
    const step: RepairStep = {
      kind: "done",
      schedule: integration.schedule,
      softConflicts: soft,
      suggestions: dueDateExtensions(soft),
      deliberative: false,
    };
    const s = withLog(
      { ...state, scheduleVersion: integration.schedule.version, final: step },
      "done",
      `no hard conflict; ${soft.length} soft`,
    );
    return { state: s, step };
  }

  if (state.propagate) return propagationRound(index, state, integration, hard, context);

  const round = state.round + 1;
  if (round > state.options.maxRounds)
    return deliberative(
      { ...state, round },
      context,
      `no convergence in ${state.options.maxRounds} rounds`,
    );
  const score = scoreOf(integration.conflicts);
  const improved = state.best === undefined || better(score, state.best);
  const signature = signatureOf(integration.schedule);
  const cycling = state.seen.includes(signature);
  let s: RepairLoopState = {
    ...state,
    round,
    best: improved ? score : state.best,
    stagnantRounds: improved ? 0 : state.stagnantRounds + 1,
    seen: [...state.seen, signature],
  };
  if (cycling || s.stagnantRounds >= s.options.patience)
    s = escalate(
      s,
      score,
      cycling
        ? "a schedule seen before came back (oscillation)"
        : `${s.stagnantRounds} rounds without improvement`,
    );
  // Try phases in order from the current one; a phase with nothing to ask hands over.
  for (;;) {
    if (s.phase === "intra-agent") {
      const resourceOf = new Map(s.assignments.map((a) => [a.activityId, a.resourceId]));
      const asks = intraAgentRequests(hard, resourceOf).filter((r) => r.resourceId in s.versions);
      if (asks.length === 0) {
        s = escalate(s, score, "no agent can revise alone");
        continue;
      }
      const versions = { ...s.versions };
      const requests: RepairRequest[] = asks.map((a) => {
        versions[a.resourceId] = (versions[a.resourceId] ?? 0) + 1;
        return {
          kind: "revise",
          resourceId: a.resourceId,
          version: versions[a.resourceId]!,
          constraints: a.constraints,
        };
      });
      s = withLog(
        { ...s, versions, awaiting: requests.map((r) => r.resourceId) },
        "intra-agent",
        `${hard.length} hard conflicts (${conflictSummary(hard)}); asked ${requests.map((r) => r.resourceId).join(", ")}`,
      );
      return { state: s, step: { kind: "intra-agent", round, requests } };
    }
    if (s.phase === "inter-agent") {
      const adj = interAgentConstraintAdjustment(index, {
        conflicts: hard,
        schedule: integration.schedule,
        assignments: s.assignments,
        constraints: s.interConstraints,
        history: s.history,
        round,
        nowTicks: context.nowTicks,
        hysteresisRounds: s.options.hysteresisRounds,
      });
      const agents = unsentAgents(s, adj.constraints);
      if (agents.length === 0) {
        s = escalate(s, score, "no inter-agent constraint left to add");
        continue;
      }
      const { kept, broken } = breakWaitForCycles(
        adj.waitFor.filter((w) => agents.includes(w.waiter) && agents.includes(w.on)),
      );
      const waves = waitForWaves(agents, kept);
      const first = waves[0] ?? [];
      s = {
        ...s,
        interConstraints: adj.constraints,
        history: [...s.history, ...adj.changes],
        deferred: agents.filter((a) => !first.includes(a)),
        waits: kept,
        wave: 1,
      };
      const { state: asked, requests } = constrain(s, first);
      s = withLog(
        asked,
        "inter-agent",
        `${adj.changes.length} constraint changes; wave 1: ${first.join(", ")}` +
          (broken.length > 0 ? `; broke ${broken.length} wait-for cycle edge(s)` : "") +
          (adj.held.length > 0 ? `; held ${adj.held.length} by hysteresis` : ""),
      );
      return {
        state: s,
        step: {
          kind: "inter-agent",
          round,
          wave: 1,
          requests,
          deferred: s.deferred,
          brokenWaits: broken,
        },
      };
    }
    // Problem adjustment.
    if (s.problemAdjustments >= s.options.maxProblemAdjustments)
      return deliberative(
        s,
        context,
        `${s.problemAdjustments} problem adjustments did not converge`,
      );
    const proposal = proposeProblemAdjustments(index, {
      conflicts: hard,
      assignments: s.assignments,
      unavailable: s.unavailable,
      policy: { ...s.options.policy, alreadyMoved: s.moved },
    });
    if (proposal.adjustments.length === 0)
      return deliberative(s, context, "no problem adjustment applies to the conflicts left");
    const applied = applyProblemAdjustments(s.model, s, proposal.adjustments);
    if (!applied.ok) return deliberative(s, context, applied.error.reason);
    const next = indexModel(applied.value.model);
    if (!next.ok) return deliberative(s, context, "the adjusted model is not valid");
    const assignments = assignOperations(next.value, {
      nowTicks: context.nowTicks,
      resourceOf: applied.value.resourceOf,
    });
    const agents = [
      ...new Set([...Object.keys(s.versions), ...assignments.map((a) => a.resourceId)]),
    ].sort(compare);
    const versions: Record<string, number> = { ...s.versions };
    const requests: RepairRequest[] = agents.map((resourceId) => {
      versions[resourceId] = (versions[resourceId] ?? 0) + 1;
      return {
        kind: "reassign",
        resourceId,
        version: versions[resourceId]!,
        assignments: assignments.filter((a) => a.resourceId === resourceId),
        unavailable: applied.value.unavailable
          .filter((u) => u.resourceId === resourceId)
          .map((u) => ({ fromTicks: u.fromTicks, untilTicks: u.untilTicks })),
      };
    });
    const moved = proposal.adjustments.flatMap((a) =>
      a.kind === "move-operation" ? [a.activityId] : [],
    );
    s = withLog(
      {
        ...s,
        model: applied.value.model,
        assignments,
        unavailable: applied.value.unavailable,
        versions,
        awaiting: agents,
        proposals: Object.fromEntries(
          Object.entries(s.proposals).filter(([r]) => agents.includes(r)),
        ),
        phase: "intra-agent",
        interConstraints: [],
        sent: {},
        history: [],
        best: undefined,
        stagnantRounds: 0,
        seen: [],
        problemAdjustments: s.problemAdjustments + 1,
        moved: [...s.moved, ...moved],
        cancelled: [...s.cancelled, ...applied.value.cancelledActivityIds],
      },
      "problem-adjustment",
      proposal.adjustments.map((a) => `${a.kind}: ${a.reason}`).join("; "),
    );
    return {
      state: s,
      step: {
        kind: "problem-adjustment",
        round,
        adjustments: proposal.adjustments,
        model: applied.value.model,
        requests,
      },
    };
  }
}

/**
 * One round of a run-time negotiation (`propagate`): the agents with an operation that must wait
 * for a delay, anywhere down its chain (`propagatedBounds`), or with a conflict of their own
 * (overlap, release) are asked to revise under those bounds. At the round limit, on a repeated
 * integration, or with nobody left to ask, the forecast is taken if it is consistent.
 */
function propagationRound(
  index: ModelIndex,
  state: RepairLoopState,
  integration: { schedule: Schedule; conflicts: readonly Conflict[] },
  hard: readonly Conflict[],
  context: { readonly nowTicks: Ticks },
): { state: RepairLoopState; step: RepairStep } {
  const round = state.round + 1;
  const signature = signatureOf(integration.schedule);
  const score = scoreOf(integration.conflicts);
  let s: RepairLoopState = {
    ...state,
    round,
    best: state.best === undefined || better(score, state.best) ? score : state.best,
    seen: [...state.seen, signature],
  };
  const { forecast, bounds } = propagatedBounds(index, integration.schedule, {
    nowTicks: context.nowTicks,
    unavailable: s.unavailable,
    cancelled: s.cancelled,
    ...(s.frozen ? { frozen: s.frozen } : {}),
  });
  const settle = (why: string) => settleOnForecast(index, s, forecast, integration, context, why);
  if (round > s.options.maxRounds) return settle(`no agreement in ${s.options.maxRounds} rounds`);
  if (state.seen.includes(signature)) return settle("the agents' plans did not change");
  const resourceOf = new Map<string, string>();
  for (const r of integration.schedule.resources)
    for (const a of r.activities) resourceOf.set(a.activityId, r.resourceId);
  for (const a of s.assignments)
    if (!resourceOf.has(a.activityId)) resourceOf.set(a.activityId, a.resourceId);
  const byAgent = new Map<string, StartConstraint[]>();
  for (const ask of intraAgentRequests(hard, resourceOf))
    byAgent.set(ask.resourceId, [...ask.constraints]);
  for (const b of bounds) {
    const r = resourceOf.get(b.activityId);
    if (r !== undefined) byAgent.set(r, [...(byAgent.get(r) ?? []), b]);
  }
  const asks = [...byAgent.entries()]
    .filter(([r]) => r in s.versions)
    .sort(([a], [b]) => compare(a, b));
  if (asks.length === 0) return settle("no agent is left to ask");
  const versions = { ...s.versions };
  const requests: RepairRequest[] = asks.map(([resourceId, constraints]) => {
    versions[resourceId] = (versions[resourceId] ?? 0) + 1;
    return { kind: "revise", resourceId, version: versions[resourceId]!, constraints };
  });
  s = withLog(
    { ...s, versions, awaiting: requests.map((r) => r.resourceId) },
    "intra-agent",
    `${hard.length} hard conflicts (${conflictSummary(hard)}); ${bounds.length} propagated bounds; asked ${requests.map((r) => r.resourceId).join(", ")}`,
  );
  return { state: s, step: { kind: "intra-agent", round, requests } };
}

/**
 * A run-time negotiation's partial settle: the forecast of the agents' last plans (each keeping
 * its sequence, every delay propagated) when it has no hard conflict; else the next level's.
 */
function settleOnForecast(
  index: ModelIndex,
  state: RepairLoopState,
  forecast: Schedule,
  integration: { schedule: Schedule },
  context: { readonly nowTicks: Ticks },
  why: string,
): { state: RepairLoopState; step: RepairStep } {
  const checked = integrate(
    index,
    forecast.resources.map((r) => ({
      resourceId: r.resourceId,
      version: 0,
      slots: r.activities.map((a) => ({
        activityId: a.activityId,
        startTicks: a.startTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
    })),
    { version: integration.schedule.version, requireAll: state.requireAll ?? true },
  );
  // The forecast moves only the work of agents that take part: one not asked (offline) or
  // silent would be handed times it never weighed; the next level decides for it.
  const before = slotsByActivity(integration.schedule);
  const silent = new Set(state.silent ?? []);
  const outside = [
    ...new Set(
      forecast.resources.flatMap((r) =>
        !(r.resourceId in state.versions) || silent.has(r.resourceId)
          ? r.activities
              .filter((a) => before.get(a.activityId)?.startTicks !== a.startTicks)
              .map(() => r.resourceId)
          : [],
      ),
    ),
  ];
  if (outside.length > 0)
    return deliberative(
      state,
      context,
      `${why}; the forecast would move the work of ${outside.join(", ")}, not taking part`,
    );
  const left = checked.conflicts.filter(isHardConflict);
  if (left.length > 0)
    return deliberative(
      state,
      context,
      `${why}; the forecast keeps ${left.length} hard conflicts (${conflictSummary(left)})`,
    );
  const soft = checked.conflicts;
  const step: RepairStep = {
    kind: "done",
    schedule: checked.schedule,
    softConflicts: soft,
    suggestions: dueDateExtensions(soft),
    deliberative: false,
    partial: true,
  };
  return {
    state: withLog(
      { ...state, scheduleVersion: checked.schedule.version, final: step },
      "done",
      `${why}: settled on the forecast of the agents' plans (${soft.length} soft conflicts)`,
    ),
    step,
  };
}

/**
 * Ends the loop with the schedule of deliberative repair (its version becomes the next one), and
 * says what each agent must install: its slots, under a new assignment version.
 */
export function finishWithSchedule(
  state: RepairLoopState,
  schedule: Schedule,
): { state: RepairLoopState; step: RepairStep; installs: LocalSchedule[] } {
  const version = state.scheduleVersion + 1;
  const installed: Schedule = { ...schedule, version };
  const indexed = indexModel(state.model);
  const late = indexed.ok ? dueConflicts(indexed.value, slotsByActivity(installed)) : [];
  const step: RepairStep = {
    kind: "done",
    schedule: installed,
    softConflicts: late,
    suggestions: dueDateExtensions(late),
    deliberative: true,
  };
  const versions: Record<string, number> = { ...state.versions };
  const installs = schedule.resources.map((r) => {
    versions[r.resourceId] = (versions[r.resourceId] ?? 0) + 1;
    return {
      resourceId: r.resourceId,
      version: versions[r.resourceId]!,
      slots: r.activities.map((a) => ({
        activityId: a.activityId,
        startTicks: a.startTicks ?? a.window?.earliestTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
    };
  });
  const s = withLog(
    { ...state, versions, scheduleVersion: version, final: step, awaiting: [] },
    "done",
    "installed the deliberative schedule",
  );
  return { state: s, step, installs };
}

/**
 * The agents' answers as the planner integrates them. With `frozen` (a run-time negotiation):
 * what ran is put where it really ran, and an answer keeps only what is assigned to its agent (an
 * agent that sold work by contract net learns it from the next install, not before).
 */
function withFrozen(state: RepairLoopState): LocalSchedule[] {
  const proposals = Object.values(state.proposals);
  const frozen = state.frozen;
  if (!frozen) return proposals;
  const ids = new Set(frozen.map((f) => f.activityId));
  const owner = new Map(state.assignments.map((a) => [a.activityId, a.resourceId]));
  const out = new Map(
    proposals.map((p) => [
      p.resourceId,
      {
        ...p,
        slots: p.slots.filter(
          (s) =>
            !ids.has(s.activityId) && (owner.get(s.activityId) ?? p.resourceId) === p.resourceId,
        ),
      },
    ]),
  );
  for (const f of frozen) {
    const p = out.get(f.resourceId) ?? { resourceId: f.resourceId, version: 0, slots: [] };
    out.set(f.resourceId, {
      ...p,
      slots: [
        ...p.slots,
        { activityId: f.activityId, startTicks: f.startTicks, durationTicks: f.durationTicks },
      ],
    });
  }
  return [...out.values()];
}

/** Inter-agent continuation: ask the agents whose waits are over, with fresh constraints. */
function nextWave(
  index: ModelIndex,
  state: RepairLoopState,
  integration: { schedule: Schedule; conflicts: readonly Conflict[] },
  hard: readonly Conflict[],
  context: { readonly nowTicks: Ticks },
): { state: RepairLoopState; step: RepairStep } {
  // The predecessors' agents have answered: recompute the constraints from their new plans.
  const adj = interAgentConstraintAdjustment(index, {
    conflicts: hard,
    schedule: integration.schedule,
    assignments: state.assignments,
    constraints: state.interConstraints,
    history: state.history,
    round: state.round,
    nowTicks: context.nowTicks,
    hysteresisRounds: state.options.hysteresisRounds,
  });
  const deferred = new Set(state.deferred);
  const ready = state.deferred.filter(
    (a) => !state.waits.some((w) => w.waiter === a && w.on !== a && deferred.has(w.on)),
  );
  const go = ready.length > 0 ? ready : [...state.deferred].sort(compare).slice(0, 1);
  const wave = state.wave + 1;
  let s: RepairLoopState = {
    ...state,
    interConstraints: adj.constraints,
    history: [...state.history, ...adj.changes],
    deferred: state.deferred.filter((a) => !go.includes(a)),
    wave,
  };
  const { state: asked, requests } = constrain(s, go);
  s = withLog(asked, "inter-agent", `wave ${wave}: ${go.join(", ")}`);
  return {
    state: s,
    step: {
      kind: "inter-agent",
      round: state.round,
      wave,
      requests,
      deferred: s.deferred,
      brokenWaits: [],
    },
  };
}

/** `constrain` requests carrying each agent's full standing inter-agent constraint set. */
function constrain(
  state: RepairLoopState,
  agents: readonly string[],
): { state: RepairLoopState; requests: RepairRequest[] } {
  const versions: Record<string, number> = { ...state.versions };
  const sent: Record<string, string> = { ...state.sent };
  const requests: RepairRequest[] = agents.map((resourceId) => {
    versions[resourceId] = (versions[resourceId] ?? 0) + 1;
    const constraints = constraintsForAgent(state.interConstraints, state.assignments, resourceId);
    sent[resourceId] = JSON.stringify(constraints);
    return { kind: "constrain", resourceId, version: versions[resourceId]!, constraints };
  });
  return { state: { ...state, versions, sent, awaiting: [...agents] }, requests };
}

/** Agents whose standing inter-agent constraints differ from what they were last sent. */
function unsentAgents(state: RepairLoopState, constraints: readonly StartConstraint[]): string[] {
  return Object.keys(state.versions)
    .filter(
      (r) =>
        JSON.stringify(constraintsForAgent(constraints, state.assignments, r)) !==
        (state.sent[r] ?? "[]"),
    )
    .sort(compare);
}

const NEXT_PHASE: Readonly<Record<RepairPhase, RepairPhase>> = {
  "intra-agent": "inter-agent",
  "inter-agent": "problem-adjustment",
  "problem-adjustment": "problem-adjustment",
};

/** Hands over to the next phase, which starts from the current score. */
function escalate(state: RepairLoopState, score: RepairScore, why: string): RepairLoopState {
  const phase = NEXT_PHASE[state.phase];
  return withLog(
    { ...state, phase, best: score, stagnantRounds: 0, seen: state.seen.slice(-1) },
    state.phase,
    `${why}: ${state.phase} -> ${phase}`,
  );
}

function deliberative(
  state: RepairLoopState,
  context: { readonly nowTicks: Ticks },
  reason: string,
): { state: RepairLoopState; step: RepairStep } {
  const frozen: ResourceSlot[] = [];
  for (const p of Object.values(state.proposals))
    for (const slot of p.slots)
      if (slot.startTicks < context.nowTicks) frozen.push({ ...slot, resourceId: p.resourceId });
  const step: RepairStep = {
    kind: "deliberative",
    round: state.round,
    reason,
    model: state.model,
    unavailable: state.unavailable,
    resourceOf: Object.fromEntries(state.assignments.map((a) => [a.activityId, a.resourceId])),
    cancelled: state.cancelled,
    frozen,
  };
  return { state: withLog({ ...state, final: step }, "deliberative", reason), step };
}

function withLog(
  state: RepairLoopState,
  phase: RepairLogEntry["phase"],
  message: string,
): RepairLoopState {
  return { ...state, log: [...state.log, { round: state.round, phase, message }] };
}

/** The score of an integration (see `RepairScore`). */
export function scoreOf(conflicts: readonly Conflict[]): RepairScore {
  let hard = 0;
  let hardTicks = 0;
  let soft = 0;
  for (const c of conflicts) {
    switch (c.kind) {
      case "precedence":
        hard++;
        hardTicks += c.predecessorEndTicks === undefined ? 1 : c.predecessorEndTicks - c.startTicks;
        break;
      case "capacity":
        hard++;
        hardTicks += c.overlapTicks;
        break;
      case "release":
        hard++;
        hardTicks += c.releaseTicks - c.startTicks;
        break;
      case "deadline":
        hard++;
        hardTicks += c.endTicks - c.deadlineTicks;
        break;
      case "assignment":
        hard++;
        hardTicks += 1;
        break;
      case "window":
        soft += Math.abs(c.offsetTicks);
        break;
      case "due":
        soft += c.weightedTardiness;
        break;
    }
  }
  return { hard, hardTicks, soft };
}

/** Whether score a improves on b (hard conflicts first, then their size). */
export function better(a: RepairScore, b: RepairScore): boolean {
  return a.hard < b.hard || (a.hard === b.hard && a.hardTicks < b.hardTicks);
}

function signatureOf(schedule: Schedule): string {
  return schedule.resources
    .map(
      (r) =>
        `${r.resourceId}:${r.activities.map((a) => `${a.activityId}@${a.startTicks}`).join(",")}`,
    )
    .join("|");
}

/** Hard conflicts by kind, with the first few named (for the loop's log). */
export function conflictSummary(conflicts: readonly Conflict[], named = 3): string {
  const counts = new Map<string, number>();
  for (const c of conflicts) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  const first = conflicts.slice(0, named).map((c) => c.reason);
  return [...[...counts].map(([k, n]) => `${k} ${n}`), ...first].join("; ");
}
