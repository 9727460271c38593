import type { Ticks } from "../model/types.js";

/** A range of allowed start times, both ends inclusive (CSC §3.1.2 scheduled start window). */
export interface StartWindow {
  readonly earliestTicks: Ticks;
  readonly latestTicks: Ticks;
}

/** One activity in a resource's sequence. */
export interface ScheduledActivity {
  readonly activityId: string;
  /** A fixed start. When absent, the window's earliest start is the planned start. */
  readonly startTicks?: Ticks;
  readonly window?: StartWindow;
  /** Planned or realized duration; when absent, the model's duration (its expected value, rounded up). */
  readonly durationTicks?: Ticks;
  /** Higher runs first when activities compete (CSC priorities: the downgrader lowers them). */
  readonly priority?: number;
}

/** A resource's part of a schedule: the activities it runs, in order. */
export interface ResourceSchedule {
  readonly resourceId: string;
  readonly activities: readonly ScheduledActivity[];
}

/**
 * A schedule: per resource, a sequence with start times or start windows and priorities.
 * Every schedule carries a version, so a stale one can be told from the current one.
 */
export interface Schedule {
  readonly version: number;
  readonly resources: readonly ResourceSchedule[];
}
