import type { ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { type Conflict, slotsByActivity } from "./integrate.js";
import { constraintBounds, mergeConstraints } from "./local-scheduler.js";
import { compare, jobOf, jobWeight } from "./model-view.js";
import type { Assignment, StartConstraint } from "./types.js";
import type { WaitEdge } from "./wait-for.js";

/**
 * CAMPS repair strategy 2, inter-agent constraint adjustment: "when a desirable schedule can't be
 * achieved by intra-agent constraint adjustments, next coordination mechanism for repair is
 * changing constraints among scheduler agents", e.g. "a precedence constraint between
 * operations assigned to different agents". The planner turns each precedence conflict into
 * standing constraints: the successor may not start before the predecessor's planned end,
 * and/or the predecessor should start early enough to end by the successor's planned start.
 * Agents bound this way must wait for each other's plans (see `wait-for.ts`).
 */

/** One bound the planner moved, kept to damp oscillation (see `hysteresisRounds`). */
export interface ConstraintChange {
  readonly round: number;
  readonly activityId: string;
  readonly resourceId: string;
  readonly bound: "earliest" | "latest";
  readonly fromTicks: Ticks | undefined;
  readonly toTicks: Ticks;
  /** Which way the change pushes the operation. */
  readonly direction: "later" | "earlier";
  readonly reason: string;
}

export interface InterAgentInput {
  /** Conflicts of the current integration (only precedence conflicts are acted on). */
  readonly conflicts: readonly Conflict[];
  /** The integrated schedule the conflicts were found in (planned starts and ends). */
  readonly schedule: Schedule;
  readonly assignments: readonly Assignment[];
  /** The inter-agent constraints in force. */
  readonly constraints: readonly StartConstraint[];
  /** Changes made in earlier rounds. */
  readonly history: readonly ConstraintChange[];
  readonly round: number;
  readonly nowTicks: Ticks;
  /**
   * Hysteresis: an operation moved one way by a constraint is not moved the other way within
   * this many rounds (the seed article's oscillation, "agents oscillate endlessly between
   * conflicting plans"). Default 3.
   */
  readonly hysteresisRounds?: number;
}

export interface InterAgentResult {
  /** The updated standing constraints. */
  readonly constraints: readonly StartConstraint[];
  /** The changes of this round (appended to the history by the caller). */
  readonly changes: readonly ConstraintChange[];
  /** The full constraint set of each agent whose set changed: what to send. */
  readonly perAgent: readonly { resourceId: string; constraints: readonly StartConstraint[] }[];
  /** Who must wait for whose new plan before revising (edges between changed agents only). */
  readonly waitFor: readonly WaitEdge[];
  /** Conflicts left alone because acting on them would flip a recent change. */
  readonly held: readonly { readonly conflict: Conflict; readonly reason: string }[];
}

/**
 * For each precedence conflict (successor S starting at sS before predecessor P ends at eP),
 * choose the meeting time m at which P must end and S may start:
 *   m = max(sS, min(eP, latest start of S's window))
 * i.e. delay S as far as its window allows, and ask P to end earlier for the rest, if P can
 * (m - duration(P) is not before P's earliest start); otherwise m = eP, a pure delay of S
 * (precedence is hard, the window is not). Then S.earliest >= m and, when m < eP,
 * P.latest <= m - duration(P). Bounds only tighten (earliest up, latest down). Hysteresis: a
 * side moved the other way within `hysteresisRounds` is not moved; the other side takes the
 * whole change if it can, else the conflict is held.
 */
export function interAgentConstraintAdjustment(
  index: ModelIndex,
  input: InterAgentInput,
): InterAgentResult {
  const hysteresis = input.hysteresisRounds ?? 3;
  const placed = slotsByActivity(input.schedule);
  const assignment = new Map(input.assignments.map((a) => [a.activityId, a]));
  const resourceOf = (id: string) =>
    assignment.get(id)?.resourceId ?? placed.get(id)?.resourceId ?? "";
  const bounds = constraintBounds(input.constraints);
  const bound = (id: string) => bounds.get(id) ?? { earliest: undefined, latest: undefined };
  const changes: ConstraintChange[] = [];
  const held: { conflict: Conflict; reason: string }[] = [];
  const waits: WaitEdge[] = [];
  const recent = (id: string): "later" | "earlier" | undefined => {
    const all = [...input.history, ...changes].filter(
      (c) => c.activityId === id && c.round > input.round - hysteresis,
    );
    return all[all.length - 1]?.direction;
  };

  const precedence = input.conflicts
    .filter(
      (c): c is Extract<Conflict, { kind: "precedence" }> =>
        c.kind === "precedence" && c.predecessorId !== undefined,
    )
    .sort(
      (a, b) => compare(a.activityId, b.activityId) || compare(a.predecessorId!, b.predecessorId!),
    );
  for (const c of precedence) {
    const p = placed.get(c.predecessorId!);
    const s = placed.get(c.activityId);
    if (!p || !s) continue;
    const endP = p.startTicks + p.durationTicks;
    const sS = s.startTicks;
    const windowS = assignment.get(c.activityId)?.window;
    const lowestStartP = Math.max(
      input.nowTicks,
      assignment.get(p.activityId)?.window.earliestTicks ?? Number.NEGATIVE_INFINITY,
      bound(p.activityId).earliest ?? Number.NEGATIVE_INFINITY,
    );
    const canAdvanceP = (m: Ticks) =>
      m - p.durationTicks >= lowestStartP && recent(p.activityId) !== "later";
    const canDelayS = recent(c.activityId) !== "earlier";
    let m = Math.max(sS, Math.min(endP, windowS?.latestTicks ?? endP));
    if (m < endP && !canAdvanceP(m)) m = endP;
    if (m > sS && !canDelayS) {
      if (canAdvanceP(sS)) m = sS;
      else {
        held.push({
          conflict: c,
          reason: `${c.activityId} was moved earlier and ${p.activityId} later within ${hysteresis} rounds`,
        });
        continue;
      }
    }
    const why = `${p.activityId} -> ${c.activityId}`;
    const before = bound(c.activityId);
    if (m > sS && (before.earliest === undefined || m > before.earliest)) {
      changes.push({
        round: input.round,
        activityId: c.activityId,
        resourceId: resourceOf(c.activityId),
        bound: "earliest",
        fromTicks: before.earliest,
        toTicks: m,
        direction: "later",
        reason: `start after ${p.activityId} ends (${why})`,
      });
      bounds.set(c.activityId, { ...before, earliest: m });
      if (p.resourceId !== s.resourceId)
        waits.push({
          waiter: s.resourceId,
          on: p.resourceId,
          activityId: c.activityId,
          priority: jobWeight(index, jobOf(index, c.activityId)),
        });
    }
    const latestP = m - p.durationTicks;
    const beforeP = bound(p.activityId);
    if (m < endP && (beforeP.latest === undefined || latestP < beforeP.latest)) {
      changes.push({
        round: input.round,
        activityId: p.activityId,
        resourceId: resourceOf(p.activityId),
        bound: "latest",
        fromTicks: beforeP.latest,
        toTicks: latestP,
        direction: "earlier",
        reason: `end by ${m}, when ${c.activityId} starts (${why})`,
      });
      bounds.set(p.activityId, { ...beforeP, latest: latestP });
      if (p.resourceId !== s.resourceId)
        waits.push({
          waiter: p.resourceId,
          on: s.resourceId,
          activityId: p.activityId,
          priority: jobWeight(index, jobOf(index, p.activityId)),
        });
    }
  }

  // A desired latest start below a hard earliest start cannot be met: the earliest wins.
  for (const [id, b] of bounds)
    if (b.earliest !== undefined && b.latest !== undefined && b.latest < b.earliest)
      bounds.set(id, { ...b, latest: b.earliest });

  const constraints = mergeConstraints(
    [],
    [...bounds.entries()].map(([activityId, b]) => ({
      activityId,
      ...(b.earliest !== undefined ? { earliestStartTicks: b.earliest } : {}),
      ...(b.latest !== undefined ? { latestStartTicks: b.latest } : {}),
    })),
  );
  const changedAgents = new Set(changes.map((c) => c.resourceId));
  const perAgent = [...changedAgents].sort(compare).map((resourceId) => ({
    resourceId,
    constraints: constraints.filter((c) => resourceOf(c.activityId) === resourceId),
  }));
  const waitFor = waits.filter((w) => changedAgents.has(w.waiter) && changedAgents.has(w.on));
  return { constraints, changes, perAgent, waitFor, held };
}

/** The standing constraints of one agent. */
export function constraintsForAgent(
  constraints: readonly StartConstraint[],
  assignments: readonly Assignment[],
  resourceId: string,
): StartConstraint[] {
  const mine = new Set(
    assignments.filter((a) => a.resourceId === resourceId).map((a) => a.activityId),
  );
  return constraints.filter((c) => mine.has(c.activityId));
}
