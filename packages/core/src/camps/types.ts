import type { Ticks } from "../model/types.js";
import type { StartWindow } from "../schedule/types.js";

/** A half-open interval of time [fromTicks, untilTicks), e.g. when a resource cannot work. */
export interface Interval {
  readonly fromTicks: Ticks;
  readonly untilTicks: Ticks;
}

/** An interval during which one resource cannot work (breakdown, maintenance, shift end). */
export interface ResourceInterval extends Interval {
  readonly resourceId: string;
}

/** One reservation in a scheduler agent's local schedule: [startTicks, startTicks + durationTicks). */
export interface Slot {
  readonly activityId: string;
  readonly startTicks: Ticks;
  readonly durationTicks: Ticks;
}

/** A slot together with the resource it is on (for frozen slots handed to the coordinator). */
export interface ResourceSlot extends Slot {
  readonly resourceId: string;
}

/**
 * What a planner gives a scheduler agent for one operation (CAMPS "Overview"): the resource, the
 * planned duration and the desirability window of its start, both ends inclusive.
 */
export interface Assignment {
  readonly activityId: string;
  readonly resourceId: string;
  readonly window: StartWindow;
  readonly durationTicks: Ticks;
}

/**
 * A scheduler agent's answer: its local schedule for the assignment version it answers. A
 * proposal for an older version than the one in force is stale and rejected (`isStale`).
 */
export interface LocalSchedule {
  readonly resourceId: string;
  readonly version: number;
  readonly slots: readonly Slot[];
}

/**
 * An extra bound on one operation's start, from the planner (inter-agent constraint) or from a
 * conflict report (intra-agent constraint). The earliest bound is hard: it stands for a
 * predecessor that is not done before it. The latest bound is a desirability: the agent tries
 * to honour it and reports when it cannot.
 */
export interface StartConstraint {
  readonly activityId: string;
  readonly earliestStartTicks?: Ticks;
  readonly latestStartTicks?: Ticks;
  /** Why the bound exists, for logs and the operator's dashboard. */
  readonly reason?: string;
}

/**
 * A window a local schedule could not honour. Each reason says what the agent did:
 * - `late`: scheduled after its latest start (window or constraint): the planner may widen the
 *   window, add inter-agent constraints or adjust the problem.
 * - `empty-window`: its earliest bound is after its latest, so no start honours both; it was
 *   scheduled as early as the earliest bound allows. Relax one of the bounds.
 * - `other-resource`: the assignment names another resource; it was not scheduled here.
 * - `duplicate`: the activity was assigned twice; the second assignment was ignored.
 */
export interface UnmetWindow {
  readonly activityId: string;
  readonly reason: "late" | "empty-window" | "other-resource" | "duplicate";
  readonly detail: string;
}

/** The version rule: an answer to an older assignment version than `current` is stale. */
export function isStale(version: number, current: number): boolean {
  return version < current;
}
