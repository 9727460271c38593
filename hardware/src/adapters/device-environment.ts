import type { Environment, EnvironmentEvent, Ticks } from "@consort/core/agent";

/** What every adapter needs from the agent that owns it: no settings, no I/O. */
export interface AdapterContext {
  /** The resource this device is; every event names it. */
  readonly resourceId: string;
  /** The agent's clock, read for each event's time (core `Clock.now`). */
  readonly now: () => Ticks;
  /** How long a run may take before the device counts as stalled; default: the settings'. */
  readonly runTimeoutMs?: (activityId: string) => number | undefined;
  /** One line per notable device event (connection lost, retry); default: silent. */
  readonly log?: (line: string) => void;
}

/**
 * Why a run failed, as the `reason` of a `failed` event. The device's own words follow a colon
 * (`device-fault: 17`).
 */
export const FAILURE_REASONS = [
  /** The agent asked to stop it. */
  "aborted",
  /** Another run holds the device. */
  "resource-busy",
  /** The settings name no device command for this activity. */
  "unknown-activity",
  /** No connection to the device when the run was started. */
  "device-unavailable",
  /** The connection dropped while the run was under way: its outcome is unknown. */
  "device-disconnected",
  /** The device did not answer within the request timeout. */
  "device-timeout",
  /** The device reports a fault code or error. */
  "device-fault",
  /** The device accepted the run but did not finish it within the run timeout. */
  "device-stalled",
  /** The device refused the command. */
  "device-rejected",
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** One run of one activity: its events are emitted once, and nothing after its end. */
export interface Run {
  readonly activityId: string;
  readonly seq: number;
  started: boolean;
  ended: boolean;
  watchdog: NodeJS.Timeout | undefined;
}

/**
 * What all device adapters share: one run at a time, each run ends exactly once (completed or
 * failed), a watchdog turns a run that never finishes into a failure, and no event is delivered
 * from inside `start` or `abort` (listeners may call back into the adapter).
 */
export abstract class DeviceEnvironment implements Environment {
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  private seq = 0;
  /** Activities completed by this adapter: a late or repeated "done" cannot complete them again. */
  private readonly completed = new Set<string>();
  protected run: Run | undefined;

  protected constructor(
    protected readonly ctx: AdapterContext,
    private readonly defaultRunTimeoutMs: number,
  ) {}

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(activityId: string): void {
    this.begin(activityId, "start");
  }

  /**
   * Re-attaches to a run the device began before this adapter existed (the agent restarted
   * mid-run, its journal says the activity started): watches it to its end without starting it
   * again. No `started` event; a device not running it fails it at once.
   */
  resume(activityId: string): void {
    this.begin(activityId, "resume");
  }

  private begin(activityId: string, how: "start" | "resume"): void {
    if (this.completed.has(activityId)) {
      this.ctx.log?.(`start ${activityId}: already completed, ignored`);
      return;
    }
    if (this.run && !this.run.ended) {
      if (this.run.activityId === activityId) return;
      const now = this.ctx.now();
      queueMicrotask(() =>
        this.emit({
          kind: "failed",
          activityId,
          resourceId: this.ctx.resourceId,
          atTicks: now,
          reason: "resource-busy",
        }),
      );
      return;
    }
    const run: Run = {
      activityId,
      seq: ++this.seq,
      started: how === "resume",
      ended: false,
      watchdog: undefined,
    };
    this.run = run;
    const timeoutMs = this.ctx.runTimeoutMs?.(activityId) ?? this.defaultRunTimeoutMs;
    run.watchdog = setTimeout(() => {
      if (run.ended) return;
      this.fail(run, "device-stalled", `no end after ${timeoutMs} ms`);
      void this.stopDevice(run).catch(() => {});
    }, timeoutMs);
    run.watchdog.unref?.();
    // Deferred: the device is driven after `start` returns, so no event comes from inside it.
    queueMicrotask(() => {
      const drive = how === "start" ? this.startDevice(run) : this.attachDevice(run);
      void drive.catch((error: unknown) => this.failFromError(run, error));
    });
  }

  abort(activityId: string): void {
    const run = this.run;
    if (!run || run.ended || run.activityId !== activityId) return;
    queueMicrotask(() => {
      this.fail(run, "aborted");
      void this.stopDevice(run).catch((error: unknown) =>
        this.ctx.log?.(`abort ${activityId}: ${errorText(error)}`),
      );
    });
  }

  /** Drives the device to begin `run`; resolves once it accepted the command. */
  protected abstract startDevice(run: Run): Promise<void>;
  /** Watches a run the device is already doing (`resume`). */
  protected abstract attachDevice(run: Run): Promise<void>;
  /** Asks the device to stop `run` (abort, or a stall); best effort. */
  protected abstract stopDevice(run: Run): Promise<void>;
  /** Closes connections and timers. */
  abstract close(): Promise<void>;

  /** The run under way, if `run` is it: device news about an older run is dropped. */
  protected isCurrent(run: Run): boolean {
    return this.run === run && !run.ended;
  }

  protected markStarted(run: Run): void {
    if (!this.isCurrent(run) || run.started) return;
    run.started = true;
    this.emit({
      kind: "started",
      activityId: run.activityId,
      resourceId: this.ctx.resourceId,
      atTicks: this.ctx.now(),
    });
  }

  protected complete(run: Run, quality: number): void {
    if (!this.isCurrent(run)) return;
    // A device that went through "running" between two polls still started the run.
    this.markStarted(run);
    this.end(run);
    this.completed.add(run.activityId);
    this.emit({
      kind: "completed",
      activityId: run.activityId,
      resourceId: this.ctx.resourceId,
      atTicks: this.ctx.now(),
      quality,
    });
  }

  protected fail(run: Run, reason: FailureReason, detail?: string): void {
    if (!this.isCurrent(run)) return;
    this.end(run);
    const text = detail === undefined ? reason : `${reason}: ${detail}`;
    this.ctx.log?.(`${run.activityId} failed: ${text}`);
    this.emit({
      kind: "failed",
      activityId: run.activityId,
      resourceId: this.ctx.resourceId,
      atTicks: this.ctx.now(),
      reason: text,
    });
  }

  /** Ends the current run, if any, with `reason` (the connection dropped, for instance). */
  protected failCurrent(reason: FailureReason, detail?: string): void {
    if (this.run && !this.run.ended) this.fail(this.run, reason, detail);
  }

  protected failFromError(run: Run, error: unknown): void {
    if (error instanceof DeviceError) this.fail(run, error.reason, error.detail);
    else this.fail(run, "device-unavailable", errorText(error));
  }

  protected endAll(): void {
    if (this.run) this.end(this.run);
  }

  /** Called once when a run ends, however it ends: adapters drop their per-run timers here. */
  protected onRunEnded(_run: Run): void {}

  private end(run: Run): void {
    if (run.ended) return;
    run.ended = true;
    if (run.watchdog) clearTimeout(run.watchdog);
    run.watchdog = undefined;
    this.onRunEnded(run);
  }

  private emit(event: EnvironmentEvent): void {
    for (const l of this.listeners) l(event);
  }
}

/** A device failure with its reason, thrown inside an adapter and turned into a `failed` event. */
export class DeviceError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly detail?: string,
  ) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reconnection delays: doubling from `initialMs` up to `maxMs`, with ±20% jitter. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

/**
 * The reconnect loop of an adapter that holds one connection: one attempt at a time (a call
 * while one is under way joins it) and, after a failure or a loss, another attempt after a
 * backoff delay, until stopped.
 */
export class Reconnector {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<boolean> | undefined;
  private stopped = false;

  constructor(
    private readonly tryConnect: () => Promise<boolean>,
    private readonly delays: { readonly initialMs: number; readonly maxMs: number },
  ) {}

  /** Connects (or joins the attempt under way); resolves connected or not. */
  connect(): Promise<boolean> {
    this.pending ??= this.tryConnect().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Connected: the delays after the next loss start from `initialMs` again. */
  succeeded(): void {
    this.attempt = 0;
  }

  /** Tries again after the next backoff delay, unless a retry is already due or it stopped. */
  retry(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.connect();
      },
      backoffMs(this.attempt++, this.delays.initialMs, this.delays.maxMs),
    );
    // A pending retry must not keep the process alive.
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
