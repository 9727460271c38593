import {
  type ActivityNode,
  type Clock,
  type Environment,
  type EnvironmentEvent,
  sampleOutcome,
  type Ticks,
} from "@consort/core/agent";

/** What the agent needs of a device adapter (`@consort/hardware`'s `DeviceEnvironment`). */
export interface DevicePort extends Environment {
  resume(activityId: string): void;
  close(): Promise<void>;
}

interface Run {
  readonly activityId: string;
  readonly startTicks: Ticks;
  readonly expectedEnd: Ticks | undefined;
  ended: boolean;
  /** A completion that came before the agent's clock reached `expectedEnd` (lock-step). */
  held: number | undefined;
}

/**
 * A device adapter as the agent's resource. On the wall clock it passes the device's events
 * through. On lock-step time the device's news must not race the clock master: the agent's
 * clock holds a timer at the run's expected end (the simulator's sampled duration, which the
 * rig's devices also run), `settle()` keeps the agent from reporting idle while a start awaits
 * the device's confirmation or an expected end awaits the device's completion, and a completion
 * is dated at the expected end. A device silent for `stallGraceMs` past that end has stalled.
 */
export class DeviceResource {
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  private readonly activities = new Map<string, ActivityNode>();
  private run: Run | undefined;
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly resourceId: string,
    private readonly clock: Clock,
    readonly device: DevicePort,
    private readonly options: {
      /** The trial's key: known on a rig whose devices sample the simulator's outcomes. */
      readonly trialKey?: number;
      readonly lockstep: boolean;
      readonly stallGraceMs: number;
      /** Scripted breakdowns of a simulated run (a rig's devices do not break down by script). */
      readonly overruns?: readonly { activityId: string; factor?: number; extraTicks?: number }[];
      readonly breakdowns?: readonly { fromTicks: Ticks; untilTicks: Ticks }[];
    },
  ) {
    device.subscribe((event) => this.onDevice(event));
    for (const b of options.breakdowns ?? [])
      clock.at(b.fromTicks, () => {
        this.emit({
          kind: "unavailable",
          resourceId,
          fromTicks: b.fromTicks,
          untilTicks: b.untilTicks,
          reason: "breakdown",
        });
        const run = this.run;
        if (run && !run.ended && run.startTicks < b.fromTicks) {
          this.fail(run, "breakdown");
          this.device.abort(run.activityId);
        }
      });
  }

  learn(activity: ActivityNode): void {
    this.activities.set(activity.id, activity);
  }

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  realizedDuration(activityId: string): Ticks | undefined {
    const activity = this.activities.get(activityId);
    if (!activity || this.options.trialKey === undefined) return undefined;
    let d = sampleOutcome(activity, this.options.trialKey).durationTicks;
    for (const x of this.options.overruns ?? [])
      if (x.activityId === activityId) d = Math.ceil(d * (x.factor ?? 1)) + (x.extraTicks ?? 0);
    return d;
  }

  /** A device reports its own faults as failures: no scripted breakdowns here. */
  brokenAt(time: Ticks): { fromTicks: Ticks; untilTicks: Ticks } | undefined {
    return this.options.breakdowns?.find((b) => b.fromTicks <= time && time < b.untilTicks);
  }

  start(activityId: string): void {
    this.begin(activityId, this.clock.now());
    if (this.options.lockstep) this.hold();
    this.device.start(activityId);
  }

  resume(activityId: string, startTicks: Ticks): void {
    this.begin(activityId, startTicks);
    this.device.resume(activityId);
  }

  abort(activityId: string): void {
    this.device.abort(activityId);
  }

  /** Resolves when no device news is awaited (lock-step: before the agent reports idle). */
  async settle(): Promise<void> {
    while (this.gate) await this.gate.promise;
  }

  async close(): Promise<void> {
    clearTimeout(this.stallTimer);
    this.release();
    await this.device.close();
  }

  private begin(activityId: string, startTicks: Ticks): void {
    const d = this.realizedDuration(activityId);
    const run: Run = {
      activityId,
      startTicks,
      expectedEnd: d === undefined ? undefined : startTicks + d,
      ended: false,
      held: undefined,
    };
    this.run = run;
    if (!this.options.lockstep || run.expectedEnd === undefined) return;
    this.clock.at(Math.max(run.expectedEnd, this.clock.now()), () => {
      if (run.ended || this.run !== run) return;
      if (run.held !== undefined) {
        this.complete(run, run.held);
        return;
      }
      // The device has not said it finished: wait for it, but not for ever.
      this.hold();
      clearTimeout(this.stallTimer);
      this.stallTimer = setTimeout(() => {
        if (run.ended || this.run !== run) return;
        this.fail(
          run,
          `device-stalled: no end ${this.options.stallGraceMs} ms after tick ${run.expectedEnd}`,
        );
        this.device.abort(run.activityId);
      }, this.options.stallGraceMs);
    });
  }

  private onDevice(event: EnvironmentEvent): void {
    const run = this.run;
    if (event.kind === "changed" || event.kind === "unavailable") {
      this.emit(event);
      return;
    }
    if (!run || run.ended || event.activityId !== run.activityId) return;
    switch (event.kind) {
      case "started":
        this.release();
        this.emit({ ...event, atTicks: run.startTicks });
        return;
      case "completed":
        if (this.options.lockstep && run.expectedEnd !== undefined) {
          if (this.clock.now() < run.expectedEnd) run.held = event.quality;
          else this.complete(run, event.quality);
          if (run.held !== undefined) this.release(); // the start was confirmed, at least
          return;
        }
        run.ended = true;
        this.emit(event);
        return;
      case "failed":
        this.fail(run, event.reason);
        return;
    }
  }

  private complete(run: Run, quality: number): void {
    run.ended = true;
    clearTimeout(this.stallTimer);
    // Released first: the agent may start the next run (and hold again) inside the emit.
    this.release();
    this.emit({
      kind: "completed",
      activityId: run.activityId,
      resourceId: this.resourceId,
      atTicks: run.expectedEnd ?? this.clock.now(),
      quality,
    });
  }

  private fail(run: Run, reason: string): void {
    run.ended = true;
    clearTimeout(this.stallTimer);
    this.release();
    this.emit({
      kind: "failed",
      activityId: run.activityId,
      resourceId: this.resourceId,
      atTicks: this.clock.now(),
      reason,
    });
  }

  private emit(event: EnvironmentEvent): void {
    for (const l of this.listeners) l(event);
  }

  private hold(): void {
    if (this.gate) return;
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { promise, open };
  }

  private release(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }
}
