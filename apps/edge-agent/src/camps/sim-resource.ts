import {
  type ActivityNode,
  type Clock,
  type Disruption,
  type Environment,
  type EnvironmentEvent,
  sampleOutcome,
  type Ticks,
  type TimerHandle,
} from "@consort/core/agent";

/**
 * The simulated machine or rover next to one agent: an Environment adapter, like a hardware
 * adapter, but sampling each activity's outcome from the trial's common random numbers
 * (`sampleOutcome`: the same outcome for the same activity in every process and strategy).
 * Semantics follow core's SimulatedEnvironment: a breakdown fails the running activity and
 * blocks starts until it ends (the work must be redone), an overrun stretches a run
 * (`ceil(sampled x factor) + extra`). Unlike it, this one can `resume` a run that was under way
 * when its agent process crashed: the machine did not stop because its agent did.
 */
export class SimulatedResource implements Environment {
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  private readonly activities = new Map<string, ActivityNode>();
  private running:
    | { activityId: string; startTicks: Ticks; endTicks: Ticks; timer: TimerHandle }
    | undefined;
  private readonly breakdowns: { fromTicks: Ticks; untilTicks: Ticks }[];

  constructor(
    private readonly resourceId: string,
    private readonly clock: Clock,
    private readonly trialKey: number,
    private readonly disruptions: readonly Disruption[],
  ) {
    this.breakdowns = disruptions.flatMap((d) =>
      d.kind === "breakdown" && d.resourceId === resourceId
        ? [{ fromTicks: d.fromTicks, untilTicks: d.untilTicks }]
        : [],
    );
    for (const b of this.breakdowns) {
      clock.at(b.fromTicks, () => {
        this.emit({
          kind: "unavailable",
          resourceId,
          fromTicks: b.fromTicks,
          untilTicks: b.untilTicks,
          reason: "breakdown",
        });
        const r = this.running;
        if (r && r.startTicks < b.fromTicks && r.endTicks > b.fromTicks) {
          this.clock.cancel(r.timer);
          this.running = undefined;
          this.emit({
            kind: "failed",
            activityId: r.activityId,
            resourceId,
            atTicks: b.fromTicks,
            reason: "breakdown",
          });
        }
      });
    }
  }

  /** Makes an activity known (from the agent's view): only known activities can run. */
  learn(activity: ActivityNode): void {
    this.activities.set(activity.id, activity);
  }

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The realized duration of one run of an activity in this trial. */
  realizedDuration(activityId: string): Ticks | undefined {
    const activity = this.activities.get(activityId);
    if (!activity) return undefined;
    let d = sampleOutcome(activity, this.trialKey).durationTicks;
    for (const x of this.disruptions) {
      if (x.kind === "overrun" && x.activityId === activityId)
        d = Math.ceil(d * (x.factor ?? 1)) + (x.extraTicks ?? 0);
    }
    return d;
  }

  start(activityId: string): void {
    this.begin(activityId, this.clock.now());
  }

  /** Re-attaches to a run that started at `startTicks` before the agent process restarted. */
  resume(activityId: string, startTicks: Ticks): void {
    this.begin(activityId, startTicks);
  }

  abort(activityId: string): void {
    const r = this.running;
    if (r?.activityId !== activityId) return;
    this.clock.cancel(r.timer);
    this.running = undefined;
    this.emit({
      kind: "failed",
      activityId,
      resourceId: this.resourceId,
      atTicks: this.clock.now(),
      reason: "aborted",
    });
  }

  /** Breakdowns overlapping [from, until). */
  brokenAt(time: Ticks): { fromTicks: Ticks; untilTicks: Ticks } | undefined {
    return this.breakdowns.find((b) => b.fromTicks <= time && time < b.untilTicks);
  }

  private begin(activityId: string, startTicks: Ticks): void {
    const now = this.clock.now();
    const fail = (reason: string) =>
      this.clock.at(now, () =>
        this.emit({
          kind: "failed",
          activityId,
          resourceId: this.resourceId,
          atTicks: now,
          reason,
        }),
      );
    const duration = this.realizedDuration(activityId);
    if (duration === undefined) return void fail("unknown-activity");
    if (this.running) return void fail("resource-busy");
    if (this.brokenAt(startTicks)) return void fail("resource-unavailable");
    const endTicks = startTicks + duration;
    // A breakdown that fell inside a resumed run already failed it.
    const broke = this.breakdowns.find(
      (b) => b.fromTicks > startTicks && b.fromTicks < endTicks && b.fromTicks <= now,
    );
    if (broke) return void fail("breakdown");
    const quality = sampleOutcome(this.activities.get(activityId)!, this.trialKey).quality;
    const timer = this.clock.at(Math.max(endTicks, now), () => {
      this.running = undefined;
      this.emit({
        kind: "completed",
        activityId,
        resourceId: this.resourceId,
        atTicks: endTicks,
        quality,
      });
    });
    this.running = { activityId, startTicks, endTicks, timer };
    if (startTicks === now)
      this.clock.at(now, () =>
        this.emit({ kind: "started", activityId, resourceId: this.resourceId, atTicks: now }),
      );
  }

  private emit(event: EnvironmentEvent): void {
    for (const l of this.listeners) l(event);
  }
}
