import { expectedValue } from "../model/distribution.js";
import type { ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import type { Schedule, ScheduledActivity } from "./types.js";

/** A scheduled activity resolved against the model: where it runs, when it starts and ends. */
export interface PlannedActivity {
  readonly entry: ScheduledActivity;
  readonly activity: ActivityNode | undefined;
  readonly activityId: string;
  readonly resourceId: string;
  /** Index in its resource's sequence. */
  readonly position: number;
  /** Planned start: the fixed start, else the window's earliest; undefined when neither is given. */
  readonly startTicks: Ticks | undefined;
  readonly durationTicks: Ticks;
  /** `startTicks + durationTicks` (half-open interval end). */
  readonly endTicks: Ticks | undefined;
}

/** The planned duration: the schedule's own figure, else the model's expected duration rounded up. */
export function plannedDuration(
  entry: ScheduledActivity,
  activity: ActivityNode | undefined,
): Ticks {
  if (entry.durationTicks !== undefined) return entry.durationTicks;
  return activity ? Math.ceil(expectedValue(activity.duration)) : 0;
}

/** Resolves every entry of a schedule, in resource then sequence order. */
export function resolvePlan(index: ModelIndex, schedule: Schedule): PlannedActivity[] {
  const out: PlannedActivity[] = [];
  for (const resource of schedule.resources) {
    resource.activities.forEach((entry, position) => {
      const node = index.nodes.get(entry.activityId);
      const activity = node?.kind === "activity" ? node : undefined;
      const startTicks = entry.startTicks ?? entry.window?.earliestTicks;
      const durationTicks = plannedDuration(entry, activity);
      out.push({
        entry,
        activity,
        activityId: entry.activityId,
        resourceId: resource.resourceId,
        position,
        startTicks,
        durationTicks,
        endTicks: startTicks === undefined ? undefined : startTicks + durationTicks,
      });
    });
  }
  return out;
}

/**
 * The first planned entry of each known activity (later duplicates are reported by the
 * assignment constraint and ignored by the others).
 */
export function firstPlanByActivity(
  plan: readonly PlannedActivity[],
): Map<string, PlannedActivity> {
  const map = new Map<string, PlannedActivity>();
  for (const p of plan) if (p.activity && !map.has(p.activityId)) map.set(p.activityId, p);
  return map;
}

/**
 * When a node has accrued quality under a plan (CSC §2): an activity at its end; a `min` task
 * once all its children have; a `max`, `sum` or `syncsum` task once any child has.
 * Undefined when it never does (an unscheduled activity under it blocks a `min`).
 */
export function plannedReadyTime(
  index: ModelIndex,
  byActivity: ReadonlyMap<string, PlannedActivity>,
  nodeId: string,
  memo: Map<string, Ticks | undefined> = new Map(),
): Ticks | undefined {
  if (memo.has(nodeId)) return memo.get(nodeId);
  const node = index.nodes.get(nodeId);
  let ready: Ticks | undefined;
  if (!node) ready = undefined;
  else if (node.kind === "activity") ready = byActivity.get(nodeId)?.endTicks;
  else {
    const times = node.children.map((c) => plannedReadyTime(index, byActivity, c, memo));
    if (node.qaf === "min") {
      ready = times.some((t) => t === undefined) ? undefined : Math.max(...(times as Ticks[]));
    } else {
      const defined = times.filter((t): t is Ticks => t !== undefined);
      ready = defined.length === 0 ? undefined : Math.min(...defined);
    }
  }
  memo.set(nodeId, ready);
  return ready;
}
