import type { Distribution, Ticks } from "../../model/types.js";
import type { PeerBody, PeerMessage } from "../messages.js";
import type { TwoPoint } from "../profiles.js";

/** What the environment tells an agent at a tick. */
export type AgentEvent =
  /** One of its methods ended; `quality` is what it earned (zero on failure). */
  | {
      readonly kind: "completed";
      readonly activityId: string;
      readonly startTicks: Ticks;
      readonly endTicks: Ticks;
      readonly quality: number;
    }
  /** An announced model change on a node of its view (CSC §2 dynamism). */
  | {
      readonly kind: "changed";
      readonly nodeId: string;
      readonly releaseTicks?: Ticks;
      readonly deadlineTicks?: Ticks;
      readonly duration?: Distribution;
      readonly quality?: Distribution;
    }
  /** An agent left the run (its process died or was stopped: the broker's last will). */
  | { readonly kind: "left"; readonly agentId: string };

export interface TickInput {
  readonly tick: Ticks;
  readonly events: readonly AgentEvent[];
  /** Messages sent to this agent at the previous tick. */
  readonly inbox: readonly PeerMessage[];
}

export interface OutgoingMessage {
  readonly to: string;
  readonly body: PeerBody;
}

export interface TickOutput {
  /** Abort the running method (applied before `start`). */
  readonly abort?: string;
  /** Start this method now; the agent must be idle (or have aborted). */
  readonly start?: string;
  readonly messages: readonly OutgoingMessage[];
}

/** A C-TAEMS agent as a pure state machine: one call per tick, in lock-step. */
export interface CtaemsAgent {
  readonly id: string;
  step(input: TickInput): TickOutput;
}

/** Scheduled-method priorities (CSC §3.1.2). */
export const PRIORITY = { low: 1, medium: 2, high: 3 } as const;

/** A method of the current schedule (CSC §3.1.2): its start window and priority. */
export interface Entry {
  earliest: Ticks;
  latest: Ticks;
  priority: number;
  /** Who put it there: the initial schedule, the deliberative scheduler, or the agent itself. */
  origin: "initial" | "deliberative" | "opportunistic";
  /** An install taken over the running method: it starts as soon as it may. */
  preempts?: boolean;
}

/** What has happened to one of the agent's own methods. */
export interface OwnState {
  state: "idle" | "running" | "done";
  start?: Ticks;
  end?: Ticks;
  quality?: number;
}

/**
 * A node's profile (CSC §3.1.3): its scheduled and potential two-point profiles, the resource
 * time the schedule still spends on it, its start (or, for a method scheduled and not started,
 * its planned start), when it accrued, and whether it is settled.
 */
export interface Profile {
  cur: TwoPoint;
  pot: TwoPoint;
  busy: number;
  s?: Ticks;
  /**
   * A method scheduled and not started: the earliest its owner plans to start it (its planned
   * start, or the expected end of the work ahead of it where that runs past it).
   */
  e?: Ticks;
  acc?: Ticks;
  final?: boolean;
}
