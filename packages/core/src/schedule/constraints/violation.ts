import type { Link, Ticks } from "../../model/types.js";
import type { StartWindow } from "../types.js";

/**
 * One way a schedule breaks the model. Every variant carries a `reason` a person can read; the
 * remedy is in each variant's comment.
 */
export type Violation =
  /** The schedule names an activity the model does not have: remove it or fix the id. */
  | {
      readonly kind: "unknown-activity";
      readonly activityId: string;
      readonly resourceId: string;
      readonly reason: string;
    }
  /** The activity is put on a resource that cannot run it: move it to one of its resources. */
  | {
      readonly kind: "wrong-resource";
      readonly activityId: string;
      readonly resourceId: string;
      readonly reason: string;
    }
  /** The activity appears more than once: keep one entry. */
  | {
      readonly kind: "duplicate";
      readonly activityId: string;
      readonly resourceId: string;
      readonly reason: string;
    }
  /** A required activity is missing from the schedule: schedule it. */
  | { readonly kind: "unscheduled"; readonly activityId: string; readonly reason: string }
  /** The entry has neither a start nor a start window: give it one. */
  | {
      readonly kind: "no-start";
      readonly activityId: string;
      readonly resourceId: string;
      readonly reason: string;
    }
  /** Two activities overlap on one resource, which runs one at a time: shift one of them. */
  | {
      readonly kind: "capacity";
      readonly resourceId: string;
      readonly activityIds: readonly [string, string];
      readonly overlapTicks: Ticks;
      readonly reason: string;
    }
  /** The resource's sequence order disagrees with the start times: reorder or re-time. */
  | {
      readonly kind: "sequence";
      readonly resourceId: string;
      readonly activityIds: readonly [string, string];
      readonly reason: string;
    }
  /** An activity starts before the source of a link into it (or into an ancestor) is ready: start it later. */
  | {
      readonly kind: "precedence";
      readonly link: Link;
      readonly activityId: string;
      readonly startTicks: Ticks;
      /** When the source accrues quality under this schedule; undefined if it never does. */
      readonly sourceReadyTicks: Ticks | undefined;
      readonly reason: string;
    }
  /** Starts before its release (its own or an ancestor's): start it later. */
  | {
      readonly kind: "release";
      readonly activityId: string;
      readonly startTicks: Ticks;
      readonly releaseTicks: Ticks;
      readonly reason: string;
    }
  /** Ends after its deadline (its own or an ancestor's): start it earlier or drop it. */
  | {
      readonly kind: "deadline";
      readonly activityId: string;
      readonly endTicks: Ticks;
      readonly deadlineTicks: Ticks;
      readonly reason: string;
    }
  /** The fixed start lies outside the entry's own start window: move one into the other. */
  | {
      readonly kind: "start-window";
      readonly activityId: string;
      readonly startTicks: Ticks;
      readonly window: StartWindow;
      readonly reason: string;
    };

export type ViolationKind = Violation["kind"];
