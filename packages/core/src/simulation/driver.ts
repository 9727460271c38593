import type { TaskModel, Ticks } from "../model/types.js";
import type { TimerHandle } from "../ports/clock.js";
import type { EnvironmentEvent } from "../ports/environment.js";
import type { ExecutedActivity } from "../quality/qaf.js";
import type { SimulatedClock } from "./clock.js";
import type { SimulatedEnvironment } from "./environment.js";

/** What a policy may do during a run. */
export interface SimulationApi {
  now(): Ticks;
  /** Starts an activity, on `resourceId` or its preferred resource. */
  start(activityId: string, resourceId?: string): void;
  abort(activityId: string): void;
  /** Wakes the policy at a later tick (e.g. a release, or the end of a repair). */
  at(time: Ticks, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

/** A decision maker plugged into the driver: it hears every event and acts through the api. */
export interface SimulationPolicy {
  /** Called once, at the clock's current time, after the timers already due then. */
  onStart?(api: SimulationApi): void;
  onEvent(event: EnvironmentEvent, api: SimulationApi): void;
}

export interface RunSimulationOptions {
  /**
   * The model the policy plans with. The kernel reads the true model from the environment; when
   * given, this one is returned as `plannedModel` so a caller can compare both.
   */
  readonly model?: TaskModel;
  readonly clock: SimulatedClock;
  readonly environment: SimulatedEnvironment;
  readonly policy: SimulationPolicy;
  /** Stop after the last timer at or before this tick; default: run until nothing is pending. */
  readonly horizonTicks?: Ticks;
}

export interface SimulationResult {
  /** Runs that ended, for `evaluateQuality` (a re-run follows the run it replaces). */
  readonly executed: readonly ExecutedActivity[];
  /** Every event delivered, in delivery order. */
  readonly events: readonly EnvironmentEvent[];
  /** The true model at the end (rush orders, moved windows): evaluate quality against it. */
  readonly model: TaskModel;
  readonly plannedModel: TaskModel | undefined;
  /** The clock when the run stopped. */
  readonly endTicks: Ticks;
  /** Activities still running when the horizon cut the run short. */
  readonly unfinished: readonly string[];
}

/**
 * A single-process run for tests and for the in-process fleet: the policy hears every event of
 * the environment and acts through the api; the clock runs until no timer is pending or the
 * horizon is reached. Quality: `evaluateQuality(indexModel(result.model), result.executed)`.
 */
export function runSimulation(options: RunSimulationOptions): SimulationResult {
  const { clock, environment, policy } = options;
  const events: EnvironmentEvent[] = [];
  const api: SimulationApi = {
    now: () => clock.now(),
    start: (activityId, resourceId) => environment.start(activityId, resourceId),
    abort: (activityId) => environment.abort(activityId),
    at: (time, fn) => clock.at(time, fn),
    cancel: (handle) => clock.cancel(handle),
  };
  const unsubscribe = environment.subscribe((event) => {
    events.push(event);
    policy.onEvent(event, api);
  });
  try {
    // From a timer, so disruptions already due now (a breakdown at 0) take effect first.
    const { onStart } = policy;
    if (onStart) clock.at(clock.now(), () => onStart(api));
    clock.runUntil(options.horizonTicks ?? Number.POSITIVE_INFINITY);
  } finally {
    unsubscribe();
  }
  return {
    executed: [...environment.executed()],
    events,
    model: environment.currentModel(),
    plannedModel: options.model,
    endTicks: clock.now(),
    unfinished: environment.runningActivities(),
  };
}
