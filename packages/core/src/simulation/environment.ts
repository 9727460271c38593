import type { ActivityNode, TaskModel, Ticks } from "../model/types.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Environment, EnvironmentEvent, ModelDelta } from "../ports/environment.js";
import type { ExecutedActivity } from "../quality/qaf.js";
import type { Disruption } from "./disruptions.js";
import { applyModelDelta } from "./model-delta.js";
import type { Outcomes } from "./outcomes.js";

/**
 * The `reason` of every `failed` event the simulator emits. A policy can switch on them.
 * - `outcome`: the activity ran and its sampled quality was 0 (a modeled failure).
 * - `unmodeled-failure`: it ran and failed although its distribution has no zero (CSC §2).
 * - `aborted`: the agent aborted it.
 * - `breakdown`: its resource broke down while it ran; start it again after the repair.
 * - `resource-busy`: it was started while its resource was running another activity.
 * - `resource-unavailable`: it was started while its resource was broken down.
 * - `agent-offline`: it was started while the resource's agent was offline.
 * - `wrong-resource`: it was started on a resource that cannot run it.
 * - `unknown-activity`: no such activity (yet: a rush order's jobs exist once they arrive).
 * - `no-outcome`: the outcome table has no entry for it; sample the rush orders' nodes too.
 */
export const SIMULATED_FAILURE_REASONS = [
  "outcome",
  "unmodeled-failure",
  "aborted",
  "breakdown",
  "resource-busy",
  "resource-unavailable",
  "agent-offline",
  "wrong-resource",
  "unknown-activity",
  "no-outcome",
] as const;
export type SimulatedFailureReason = (typeof SIMULATED_FAILURE_REASONS)[number];

export interface SimulatedEnvironmentOptions {
  /** The true model at the start of the run; the environment's copy changes with disruptions. */
  readonly model: TaskModel;
  /** Usually a `SimulatedClock`; any Clock works, since the environment only reads and waits. */
  readonly clock: Clock;
  /** The trial's sampled outcomes (`sampleOutcomes`), including those of rush-order nodes. */
  readonly outcomes: Outcomes;
  readonly disruptions?: readonly Disruption[];
}

interface Run {
  readonly activityId: string;
  readonly resourceId: string;
  readonly startTicks: Ticks;
  readonly endTicks: Ticks;
  readonly quality: number;
  readonly failure: SimulatedFailureReason | undefined;
  timer: TimerHandle | undefined;
}

interface Interval {
  readonly fromTicks: Ticks;
  readonly untilTicks: Ticks;
}

interface Outage extends Interval {
  readonly events: "held" | "lost";
}

interface ResourceState {
  running: Run | undefined;
  readonly breakdowns: Interval[];
  readonly outages: Outage[];
  /** Events that happened while the agent was offline, delivered when it is back. */
  held: EnvironmentEvent[];
}

const covers = (i: Interval, t: Ticks): boolean => i.fromTicks <= t && t < i.untilTicks;

/**
 * The simulator behind the Environment port (DESIGN.md "Ports"). An activity started at `s`
 * reports `started` at `s` and, after its realized duration `d` (the sampled one, stretched by
 * any overrun), `completed` with its sampled quality at `s + d`, or `failed` with a
 * `SimulatedFailureReason`. Events are delivered from clock timers at the tick they happen,
 * never inside `start` or `abort`, so a listener may act on the environment freely; what the
 * world does at a tick (a breakdown, a completion, a rush order) is heard before anything an agent
 * starts in reaction to it.
 *
 * The reported quality is the outcome's: release, deadline and enables rules are applied by
 * `evaluateQuality` on `executed()` against `currentModel()`, as CSC §2 scores a run afterwards.
 * Each activity completes at most once: starting one that is running or has completed with
 * positive quality is ignored (a duplicated command); one that failed may be started again and
 * realizes the same sampled outcome.
 */
export class SimulatedEnvironment implements Environment {
  readonly #clock: Clock;
  readonly #outcomes: Outcomes;
  #model: TaskModel;
  readonly #activities = new Map<string, ActivityNode>();
  readonly #resources = new Map<string, ResourceState>();
  readonly #running = new Map<string, Run>();
  readonly #succeeded = new Set<string>();
  readonly #attempts = new Map<string, number>();
  readonly #executed: ExecutedActivity[] = [];
  readonly #listeners = new Set<(event: EnvironmentEvent) => void>();
  readonly #overruns = new Map<string, { factor: number; extraTicks: Ticks }>();
  readonly #unmodeledFailures = new Set<string>();

  constructor(options: SimulatedEnvironmentOptions) {
    this.#clock = options.clock;
    this.#outcomes = options.outcomes;
    this.#model = options.model;
    this.#addActivities(options.model.nodes);
    for (const r of options.model.resources) this.#resource(r.id);
    for (const d of options.disruptions ?? []) this.#install(d);
  }

  /** The true model now: rush orders added, windows moved, announced or not. */
  currentModel(): TaskModel {
    return this.#model;
  }

  /** Every run that has ended, in the order they ended; a re-run appears again, later. */
  executed(): readonly ExecutedActivity[] {
    return this.#executed;
  }

  /** Activities running now. */
  runningActivities(): string[] {
    return [...this.#running.keys()];
  }

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Starts an activity on `resourceId` (default: its preferred, first resource). It fails at once
   * when that resource is busy, broken down, its agent offline, or cannot run it.
   */
  start(activityId: string, resourceId?: string): void {
    const activity = this.#activities.get(activityId);
    if (activity && (this.#running.has(activityId) || this.#succeeded.has(activityId))) return;
    const on = resourceId ?? activity?.resources[0] ?? "";
    const now = this.#clock.now();
    const state = this.#resources.get(on);
    const outcome = this.#outcomes.get(activityId);
    const refusal = this.#refusal(activity, on, state, now);
    if (refusal !== undefined || outcome === undefined || state === undefined) {
      this.#fail(activityId, on, refusal ?? "no-outcome");
      return;
    }

    const attempt = (this.#attempts.get(activityId) ?? 0) + 1;
    this.#attempts.set(activityId, attempt);
    const unmodeled = attempt === 1 && this.#unmodeledFailures.has(activityId);
    const overrun = this.#overruns.get(activityId);
    const durationTicks = overrun
      ? Math.max(0, Math.ceil(outcome.durationTicks * overrun.factor) + overrun.extraTicks)
      : outcome.durationTicks;
    const quality = unmodeled ? 0 : outcome.quality;
    const run: Run = {
      activityId,
      resourceId: on,
      startTicks: now,
      endTicks: now + durationTicks,
      quality,
      failure: unmodeled ? "unmodeled-failure" : quality > 0 ? undefined : "outcome",
      timer: undefined,
    };
    state.running = run;
    this.#running.set(activityId, run);
    this.#emit({ kind: "started", activityId, resourceId: on, atTicks: now }, on);
    run.timer = this.#clock.at(run.endTicks, () => this.#finish(run));
  }

  /** Why a start cannot begin now, checked in this order; undefined when it can. */
  #refusal(
    activity: ActivityNode | undefined,
    resourceId: string,
    state: ResourceState | undefined,
    now: Ticks,
  ): SimulatedFailureReason | undefined {
    if (!activity) return "unknown-activity";
    if (!activity.resources.includes(resourceId) || !state) return "wrong-resource";
    if (state.outages.some((o) => covers(o, now))) return "agent-offline";
    if (state.breakdowns.some((b) => covers(b, now))) return "resource-unavailable";
    if (state.running) return "resource-busy";
    return undefined;
  }

  /** Aborts a running activity: it fails now (reason `aborted`). Ignored if it is not running. */
  abort(activityId: string): void {
    const run = this.#running.get(activityId);
    if (run) this.#interrupt(run, "aborted", false);
  }

  /**
   * The port as one resource's agent sees it: `start` runs on that resource, and only events
   * about that resource, and model changes, are delivered (DESIGN.md subjective view).
   */
  forResource(resourceId: string): Environment {
    return {
      start: (activityId) => this.start(activityId, resourceId),
      abort: (activityId) => {
        if (this.#running.get(activityId)?.resourceId === resourceId) this.abort(activityId);
      },
      subscribe: (listener) =>
        this.subscribe((event) => {
          if (event.kind === "changed" || event.resourceId === resourceId) listener(event);
        }),
    };
  }

  #finish(run: Run): void {
    this.#end(run, run.endTicks, run.quality);
    const { activityId, resourceId } = run;
    if (run.failure === undefined) {
      this.#succeeded.add(activityId);
      this.#deliver(
        { kind: "completed", activityId, resourceId, atTicks: run.endTicks, quality: run.quality },
        resourceId,
      );
    } else {
      this.#deliver(
        { kind: "failed", activityId, resourceId, atTicks: run.endTicks, reason: run.failure },
        resourceId,
      );
    }
  }

  /**
   * Ends a run before its time: aborted, or its resource broke down. Its quality is 0. From a
   * timer of the environment the event is delivered at once; from a caller, later this tick.
   */
  #interrupt(run: Run, reason: SimulatedFailureReason, fromTimer: boolean): void {
    if (run.timer) this.#clock.cancel(run.timer);
    const now = this.#clock.now();
    this.#end(run, now, 0);
    const event: EnvironmentEvent = {
      kind: "failed",
      activityId: run.activityId,
      resourceId: run.resourceId,
      atTicks: now,
      reason,
    };
    if (fromTimer) this.#deliver(event, run.resourceId);
    else this.#emit(event, run.resourceId);
  }

  #end(run: Run, endTicks: Ticks, quality: number): void {
    this.#running.delete(run.activityId);
    const state = this.#resource(run.resourceId);
    if (state.running === run) state.running = undefined;
    this.#executed.push({
      activityId: run.activityId,
      startTicks: run.startTicks,
      endTicks,
      quality,
    });
  }

  /** A start that never began: reported as failed now, nothing recorded as executed. */
  #fail(activityId: string, resourceId: string, reason: SimulatedFailureReason): void {
    const atTicks = this.#clock.now();
    this.#emit({ kind: "failed", activityId, resourceId, atTicks, reason }, resourceId);
  }

  #install(d: Disruption): void {
    const clock = this.#clock;
    switch (d.kind) {
      case "breakdown": {
        if (d.untilTicks <= d.fromTicks) return;
        this.#resource(d.resourceId).breakdowns.push(d);
        clock.at(d.fromTicks, () => this.#breakDown(d));
        return;
      }
      case "overrun": {
        const prior = this.#overruns.get(d.activityId) ?? { factor: 1, extraTicks: 0 };
        this.#overruns.set(d.activityId, {
          factor: prior.factor * (d.factor ?? 1),
          extraTicks: prior.extraTicks + (d.extraTicks ?? 0),
        });
        return;
      }
      case "rush-order": {
        clock.at(d.atTicks, () => this.#change(d.delta, true));
        return;
      }
      case "window-change": {
        const update = {
          id: d.nodeId,
          ...(d.releaseTicks !== undefined ? { releaseTicks: d.releaseTicks } : {}),
          ...(d.deadlineTicks !== undefined ? { deadlineTicks: d.deadlineTicks } : {}),
        };
        clock.at(d.atTicks, () => this.#change({ update: [update] }, d.announced));
        return;
      }
      case "offline": {
        if (d.untilTicks <= d.fromTicks) return;
        const outage: Outage = {
          fromTicks: d.fromTicks,
          untilTicks: d.untilTicks,
          events: d.events ?? "held",
        };
        this.#resource(d.resourceId).outages.push(outage);
        clock.at(d.untilTicks, () => this.#flushHeld(d.resourceId));
        return;
      }
      case "unmodeled-failure": {
        this.#unmodeledFailures.add(d.activityId);
        return;
      }
    }
  }

  #breakDown(d: Extract<Disruption, { kind: "breakdown" }>): void {
    const { resourceId, fromTicks, untilTicks } = d;
    this.#deliver(
      { kind: "unavailable", resourceId, fromTicks, untilTicks, reason: "breakdown" },
      resourceId,
    );
    const run = this.#resource(resourceId).running;
    // A run ending exactly now has finished its [start, end) interval: it completes.
    if (run && run.endTicks > this.#clock.now()) this.#interrupt(run, "breakdown", true);
  }

  #change(delta: ModelDelta, announced: boolean): void {
    this.#model = applyModelDelta(this.#model, delta);
    this.#addActivities(delta.addNodes ?? []);
    if (announced) this.#deliver({ kind: "changed", atTicks: this.#clock.now(), delta }, undefined);
  }

  #addActivities(nodes: TaskModel["nodes"]): void {
    for (const node of nodes) {
      if (node.kind !== "activity") continue;
      this.#activities.set(node.id, node);
      for (const r of node.resources) this.#resource(r);
    }
  }

  #resource(id: string): ResourceState {
    let state = this.#resources.get(id);
    if (!state) {
      state = { running: undefined, breakdowns: [], outages: [], held: [] };
      this.#resources.set(id, state);
    }
    return state;
  }

  /**
   * Delivers an event caused by a caller (`start`, `abort`) from a timer at the current tick,
   * after whatever is already due now, so a listener never runs inside the caller's call.
   */
  #emit(event: EnvironmentEvent, resourceId: string | undefined): void {
    this.#clock.at(this.#clock.now(), () => this.#deliver(event, resourceId));
  }

  /** Delivers an event now: only from the environment's own timers, or from `#emit`'s. */
  #deliver(event: EnvironmentEvent, resourceId: string | undefined): void {
    if (resourceId !== undefined) {
      const state = this.#resources.get(resourceId);
      const outage = state?.outages.find((o) => covers(o, this.#clock.now()));
      if (state && outage) {
        if (outage.events === "held") state.held.push(event);
        return;
      }
      if (state && state.held.length > 0) this.#flushHeld(resourceId);
    }
    for (const listener of [...this.#listeners]) listener(event);
  }

  #flushHeld(resourceId: string): void {
    const state = this.#resources.get(resourceId);
    if (!state || state.held.length === 0) return;
    if (state.outages.some((o) => covers(o, this.#clock.now()))) return;
    const held = state.held;
    state.held = [];
    for (const event of held) for (const listener of [...this.#listeners]) listener(event);
  }
}
