import {
  ancestors,
  effectiveDeadline,
  effectiveRelease,
  type ModelIndex,
} from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import type { ResourceLoad } from "./manager.js";
import {
  activityPrecedences,
  compare,
  plannedDurationOf,
  topologicalActivities,
} from "./model-view.js";
import type { Assignment } from "./types.js";

/**
 * The planner agent's decomposition (CAMPS "CAMPS Problem Solving Process"): each operation goes
 * to a scheduler agent able to run it, with a desirability window for its start "based on the
 * estimated resource load and operation precedences".
 */
export interface AssignOptions {
  /** Nothing starts before now. Default 0. */
  readonly nowTicks?: Ticks;
  /** Only these activities (the planner's jobs); default every activity of the model. */
  readonly activityIds?: readonly string[];
  /** Work already queued per resource, counted in the load and contention estimates. */
  readonly resourceLoad?: ResourceLoad;
  /** Resources fixed by an earlier decision (e.g. an operation moved by problem adjustment). */
  readonly resourceOf?: Readonly<Record<string, string>>;
  /** Resources not to use (down, or refused); an activity with no other choice keeps its preferred one. */
  readonly excludeResources?: readonly string[];
  /** Scales the contention estimate that widens windows of operations without a due date. Default 1. */
  readonly contentionFactor?: number;
}

/**
 * Assigns every operation a resource and a desirability window [earliest start, latest start]:
 * - resource: the preferred (first) one, unless an alternative is so much less loaded that it is
 *   still less loaded after taking the operation (`chooseResource`);
 * - earliest start: the head, max(now, release, predecessors' earliest ends) (`earliestStarts`);
 * - latest start: the tail bound, the latest start that still lets the job meet its due date
 *   and deadline given the work after it, or without either, the earliest start plus the other
 *   work queued on its resource (`latestStarts`); never before the earliest start.
 */
export function assignOperations(index: ModelIndex, options: AssignOptions = {}): Assignment[] {
  const now = options.nowTicks ?? 0;
  const { predecessors, successors } = activityPrecedences(index);
  const order = topologicalActivities(index, predecessors);
  const duration = new Map(order.map((a) => [a.id, plannedDurationOf(a)]));
  const earliest = earliestStarts(index, order, predecessors, duration, now);
  const resourceOf = chooseResources(order, earliest, duration, options);
  const work = new Map<string, Ticks>(Object.entries(options.resourceLoad ?? {}));
  for (const a of order) {
    const r = resourceOf.get(a.id)!;
    work.set(r, (work.get(r) ?? 0) + duration.get(a.id)!);
  }
  const factor = options.contentionFactor ?? 1;
  const contention = (a: ActivityNode): Ticks =>
    Math.ceil(factor * Math.max(0, (work.get(resourceOf.get(a.id)!) ?? 0) - duration.get(a.id)!));
  const latest = latestStarts(index, order, successors, duration, earliest, contention);
  const wanted = options.activityIds ? new Set(options.activityIds) : undefined;
  return order
    .filter((a) => !wanted || wanted.has(a.id))
    .map((a) => ({
      activityId: a.id,
      resourceId: resourceOf.get(a.id)!,
      window: { earliestTicks: earliest.get(a.id)!, latestTicks: latest.get(a.id)! },
      durationTicks: duration.get(a.id)!,
    }));
}

/** Heads: an operation cannot start before now, its release, or the end of any predecessor. */
export function earliestStarts(
  index: ModelIndex,
  order: readonly ActivityNode[],
  predecessors: ReadonlyMap<string, readonly string[]>,
  duration: ReadonlyMap<string, Ticks>,
  nowTicks: Ticks,
): Map<string, Ticks> {
  const es = new Map<string, Ticks>();
  for (const a of order) {
    let t = Math.max(nowTicks, effectiveRelease(index, a.id));
    for (const p of predecessors.get(a.id) ?? [])
      t = Math.max(t, (es.get(p) ?? 0) + (duration.get(p) ?? 0));
    es.set(a.id, t);
  }
  return es;
}

/**
 * Tails: an operation must start early enough that it and the work after it end by the due
 * date and deadline of its job (and of any other ancestor); with neither, the estimate of its
 * resource's contention bounds the wait. A window is never empty: when the job is already too
 * late, the latest start is the earliest (the operation is urgent).
 */
export function latestStarts(
  index: ModelIndex,
  order: readonly ActivityNode[],
  successors: ReadonlyMap<string, readonly string[]>,
  duration: ReadonlyMap<string, Ticks>,
  earliest: ReadonlyMap<string, Ticks>,
  contention: (a: ActivityNode) => Ticks,
): Map<string, Ticks> {
  const ls = new Map<string, Ticks>();
  for (let i = order.length - 1; i >= 0; i--) {
    const a = order[i]!;
    const d = duration.get(a.id)!;
    const es = earliest.get(a.id)!;
    let own = Number.POSITIVE_INFINITY;
    const deadline = effectiveDeadline(index, a.id);
    if (deadline !== undefined) own = Math.min(own, deadline - d);
    for (const id of [a.id, ...ancestors(index, a.id)]) {
      const due = index.nodes.get(id)?.due;
      if (due) own = Math.min(own, due.dueTicks - d);
    }
    if (own === Number.POSITIVE_INFINITY) own = es + contention(a);
    for (const s of successors.get(a.id) ?? []) own = Math.min(own, ls.get(s)! - d);
    ls.set(a.id, Math.max(es, own));
  }
  return ls;
}

/**
 * Resource choice in order of earliest start: a pinned resource if capable; else the preferred
 * one, unless the least loaded alternative, even after taking this operation, is less loaded
 * than the preferred one (CAMPS: operations go to agents by "estimated resource load").
 */
function chooseResources(
  order: readonly ActivityNode[],
  earliest: ReadonlyMap<string, Ticks>,
  duration: ReadonlyMap<string, Ticks>,
  options: AssignOptions,
): Map<string, string> {
  const load = new Map<string, Ticks>(Object.entries(options.resourceLoad ?? {}));
  const excluded = new Set(options.excludeResources ?? []);
  const out = new Map<string, string>();
  const byEarliest = [...order].sort(
    (a, b) => earliest.get(a.id)! - earliest.get(b.id)! || compare(a.id, b.id),
  );
  for (const a of byEarliest) {
    const d = duration.get(a.id)!;
    const r = chooseResource(a, load, d, excluded, options.resourceOf?.[a.id]);
    out.set(a.id, r);
    load.set(r, (load.get(r) ?? 0) + d);
  }
  return out;
}

/** One operation's resource choice (see `chooseResources`). */
export function chooseResource(
  activity: ActivityNode,
  load: ReadonlyMap<string, Ticks>,
  durationTicks: Ticks,
  excluded: ReadonlySet<string> = new Set(),
  pinned?: string,
): string {
  if (pinned !== undefined && activity.resources.includes(pinned)) return pinned;
  const capable = activity.resources.filter((r) => !excluded.has(r));
  const preferred = capable[0] ?? activity.resources[0]!;
  let best = preferred;
  let bestLoad = load.get(preferred) ?? 0;
  for (const r of capable.slice(1)) {
    const l = load.get(r) ?? 0;
    if (l + durationTicks < bestLoad) {
      best = r;
      bestLoad = l + durationTicks;
    }
  }
  return best;
}
