import { type ActivityNode, type Clock, sampleOutcome } from "@consort/core/agent";

/** How an emulated device waits: the wall clock by default, or an agent-side `Clock`. */
export interface DeviceTimers {
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const wallTimers: DeviceTimers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/**
 * Timers on a core `Clock` (a lock-step clock, a simulated one): `ms` become whole ticks of
 * `tickMs`, so a device whose durations came from `sampledOutcomes(…, tickMs)` ends exactly on
 * the simulator's tick.
 */
export function clockTimers(clock: Clock, tickMs: number): DeviceTimers {
  return {
    after(ms, fn) {
      const handle = clock.at(clock.now() + Math.round(ms / tickMs), fn);
      return () => clock.cancel(handle);
    },
  };
}

/** How one run of an activity goes on the emulated device. */
export interface DeviceOutcome {
  readonly durationMs: number;
  readonly quality: number;
}

/** The device's outcome for an activity; undefined: the device does not know it. */
export type OutcomeFunction = (activityId: string) => DeviceOutcome | undefined;

/** A fault injected into a run (or, for `slow`, into every answer during it). */
export type DeviceFault =
  /** The device drops every connection `afterMs` into the run (default: half way); the run is lost. */
  | { readonly kind: "disconnect"; readonly afterMs?: number }
  /** The run never ends. */
  | { readonly kind: "stall" }
  /** The run stops `afterMs` in (default: half way) with a fault code. */
  | { readonly kind: "fault"; readonly code: number; readonly afterMs?: number }
  /** Every answer is delayed by `delayMs` while this run is under way; the run itself succeeds. */
  | { readonly kind: "slow"; readonly delayMs: number };

/** Which fault, if any, the `attempt`-th run (from 1) of an activity suffers. */
export type FaultPlan = (activityId: string, attempt: number) => DeviceFault | undefined;

/**
 * The outcomes of the simulator for the same trial: `sampleOutcome(activity, trialKey)` (core's
 * common random numbers), its duration in ticks scaled to `tickMs`.
 */
export function sampledOutcomes(
  activities: readonly ActivityNode[],
  trialKey: number,
  tickMs: number,
): OutcomeFunction {
  const byId = new Map(activities.map((a) => [a.id, a]));
  return (activityId) => {
    const activity = byId.get(activityId);
    if (!activity) return undefined;
    const o = sampleOutcome(activity, trialKey);
    return { durationMs: o.durationTicks * tickMs, quality: o.quality };
  };
}

export type StartAnswer = "ok" | "busy" | "unknown-activity";

/** What the emulated device shows: each protocol server maps it to its own data model. */
export interface MachineState {
  running: boolean;
  done: boolean;
  faultCode: number;
  quality: number;
  activityId: string | undefined;
}

export interface MachineOptions {
  readonly outcome: OutcomeFunction;
  readonly faults?: FaultPlan;
  /** Default: the wall clock. */
  readonly timers?: DeviceTimers;
}

/**
 * One emulated machine, protocol aside: runs one activity at a time with the durations and
 * qualities `outcome` gives, and the faults `faults` plans or `inject` adds. A protocol server
 * wraps it and passes `onChange` (push state) and `onDisconnect` (drop its connections).
 */
export class EmulatedMachine {
  readonly state: MachineState = {
    running: false,
    done: false,
    faultCode: 0,
    quality: 0,
    activityId: undefined,
  };
  /** Delay of every answer of the protocol server, from a `slow` fault. */
  responseDelayMs = 0;
  /** Every run started, in order: a test checks that nothing ran twice. */
  readonly runs: string[] = [];
  onChange: () => void = () => {};
  onDisconnect: () => void = () => {};
  private readonly attempts = new Map<string, number>();
  private readonly injected: DeviceFault[] = [];
  private cancels: (() => void)[] = [];

  constructor(private readonly options: MachineOptions) {}

  /** Adds a fault to the next run started. */
  inject(fault: DeviceFault): void {
    this.injected.push(fault);
  }

  start(activityId: string): StartAnswer {
    if (this.state.running) return "busy";
    const outcome = this.options.outcome(activityId);
    if (!outcome) return "unknown-activity";
    const attempt = (this.attempts.get(activityId) ?? 0) + 1;
    this.attempts.set(activityId, attempt);
    const fault = this.injected.shift() ?? this.options.faults?.(activityId, attempt);
    this.runs.push(activityId);
    Object.assign(this.state, { running: true, done: false, faultCode: 0, quality: 0, activityId });
    this.responseDelayMs = fault?.kind === "slow" ? fault.delayMs : 0;
    this.onChange();
    const half = Math.floor(outcome.durationMs / 2);
    switch (fault?.kind) {
      case "stall":
        break;
      case "disconnect":
        this.later(fault.afterMs ?? half, () => {
          // The device resets: the run is lost, and so are its connections.
          Object.assign(this.state, { running: false, done: false, activityId: undefined });
          this.responseDelayMs = 0;
          this.onDisconnect();
          this.onChange();
        });
        break;
      case "fault":
        this.later(fault.afterMs ?? half, () => {
          Object.assign(this.state, { running: false, faultCode: fault.code });
          this.responseDelayMs = 0;
          this.onChange();
        });
        break;
      default:
        this.later(outcome.durationMs, () => {
          Object.assign(this.state, { running: false, done: true, quality: outcome.quality });
          this.responseDelayMs = 0;
          this.onChange();
        });
    }
    return "ok";
  }

  abort(): void {
    if (!this.state.running) return;
    this.clearTimers();
    Object.assign(this.state, { running: false, done: false });
    this.responseDelayMs = 0;
    this.onChange();
  }

  close(): void {
    this.clearTimers();
  }

  private later(ms: number, fn: () => void): void {
    const cancel = (this.options.timers ?? wallTimers).after(ms, () => {
      this.cancels = this.cancels.filter((c) => c !== cancel);
      fn();
    });
    this.cancels.push(cancel);
  }

  private clearTimers(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
  }
}
