import { expectedValue } from "../../model/distribution.js";
import {
  descendantActivities,
  effectiveDeadline,
  effectiveRelease,
  indexModel,
  type ModelIndex,
} from "../../model/model-index.js";
import type { ActivityNode, TaskModel, TaskNode, Ticks } from "../../model/types.js";
import type { ResourceSchedule, Schedule, ScheduledActivity } from "../../schedule/types.js";
import { expectedTicks, INITIAL_PRIORITY, INITIAL_VERSION } from "./shared.js";

/**
 * The methods that are direct children of one task: the unit the greedy decides on, by the
 * task's QAF.
 */
interface MethodGroup {
  readonly task: TaskNode;
  readonly methods: readonly ActivityNode[];
  /** Position of the task in `model.nodes`, the last tie-break. */
  readonly order: number;
  readonly release: Ticks;
}

interface Placement {
  readonly activity: ActivityNode;
  readonly owner: string;
  readonly startTicks: Ticks;
  readonly durationTicks: Ticks;
}

/**
 * The initial static schedule a centralized planner would hand the team (CSC §2: "a list of
 * methods to execute and associated start times"), built greedily from expected values:
 *
 * - the groups of methods (the activity children of one task) are taken in order of release,
 *   then enables order (every group holding a method under a link's source comes before every
 *   group holding a method under its target), then model order;
 * - each method starts at the latest of its owner's next free tick, its effective release, and
 *   the planned end of every enables source (a source task's end is when all of its scheduled
 *   methods have ended, so a target is enabled even if only the source's last method succeeds);
 *   it is scheduled only if it ends, with its expected duration rounded up, by its effective
 *   deadline; a method whose source has nothing scheduled (or, for a min source, not everything
 *   it needs) is not scheduled;
 * - by the group's QAF: `max` takes the single fitting method with the best expected quality
 *   per expected tick; `sum` takes every method that fits (best ratio first); `min` takes all of
 *   them or none; `syncsum` starts its methods (one per owner) together at the latest of their
 *   earliest starts, dropping those that then miss their deadline;
 * - methods with zero expected quality are never scheduled (a min with one schedules nothing).
 *
 * Links of kind `precedence` are honoured like `enables`; a link between two methods of the same
 * task is honoured too, but the greedy does not reorder a task's methods for it (the target may
 * then stay unscheduled). Throws on an invalid model.
 */
export function initialSchedule(model: TaskModel): Schedule {
  const indexed = indexModel(model);
  if (!indexed.ok)
    throw new Error(
      `initialSchedule: invalid model "${model.name}": ${indexed.error
        .map((i) => `${i.path}: ${i.message}`)
        .join("; ")}`,
    );
  return initialScheduleOf(indexed.value);
}

/** `initialSchedule` for a model that has already been indexed. */
export function initialScheduleOf(index: ModelIndex): Schedule {
  const { model } = index;
  const groups = methodGroups(index);
  const placed = new Map<string, Placement>();
  const free = new Map<string, Ticks>();

  // When a node's planned work is over: an activity at its end; a min task once every child is
  // (undefined if one is not scheduled); any other task at the last end of its scheduled
  // children (undefined when none is).
  const endOf = (id: string): Ticks | undefined => {
    const node = index.nodes.get(id);
    if (!node) return undefined;
    if (node.kind === "activity") {
      const p = placed.get(id);
      return p === undefined ? undefined : p.startTicks + p.durationTicks;
    }
    const ends = node.children.map(endOf);
    const defined = ends.filter((e): e is Ticks => e !== undefined);
    if (node.qaf === "min" && defined.length < ends.length) return undefined;
    return defined.length === 0 ? undefined : Math.max(...defined);
  };

  // The earliest tick the enables sources of a method allow, or undefined when one of them has
  // nothing planned (the method would fail, so it is not scheduled).
  const enabledFrom = (activity: ActivityNode): Ticks | undefined => {
    let bound = 0;
    for (const source of sourcesOf(index, activity.id)) {
      const end = endOf(source);
      if (end === undefined) return undefined;
      bound = Math.max(bound, end);
    }
    return bound;
  };

  const earliestStart = (
    activity: ActivityNode,
    freeAt: ReadonlyMap<string, Ticks>,
  ): Ticks | undefined => {
    const enabled = enabledFrom(activity);
    if (enabled === undefined) return undefined;
    return Math.max(
      freeAt.get(ownerOf(activity)) ?? 0,
      effectiveRelease(index, activity.id),
      enabled,
    );
  };

  const fits = (activity: ActivityNode, start: Ticks): boolean => {
    const deadline = effectiveDeadline(index, activity.id);
    return deadline === undefined || start + expectedTicks(activity.duration) <= deadline;
  };

  const place = (activity: ActivityNode, start: Ticks, freeAt: Map<string, Ticks>): Placement => {
    const placement: Placement = {
      activity,
      owner: ownerOf(activity),
      startTicks: start,
      durationTicks: expectedTicks(activity.duration),
    };
    freeAt.set(placement.owner, start + placement.durationTicks);
    return placement;
  };

  const commit = (placements: readonly Placement[]): void => {
    for (const p of placements) {
      placed.set(p.activity.id, p);
      free.set(p.owner, Math.max(free.get(p.owner) ?? 0, p.startTicks + p.durationTicks));
    }
  };

  for (const group of orderGroups(index, groups)) {
    const useful = group.methods.filter((m) => expectedValue(m.quality) > 0);
    const byRatio = [...useful].sort((a, b) => ratio(b) - ratio(a));
    switch (group.task.qaf) {
      case "max": {
        let best: { activity: ActivityNode; start: Ticks } | undefined;
        for (const m of byRatio) {
          const start = earliestStart(m, free);
          if (start === undefined || !fits(m, start)) continue;
          if (best === undefined || ratio(m) > ratio(best.activity)) best = { activity: m, start };
        }
        if (best) commit([place(best.activity, best.start, new Map(free))]);
        break;
      }
      case "sum": {
        for (const m of byRatio) {
          const start = earliestStart(m, free);
          if (start !== undefined && fits(m, start)) commit([place(m, start, new Map(free))]);
        }
        break;
      }
      case "min": {
        if (useful.length < group.methods.length) break;
        const tentative = new Map(free);
        const placements: Placement[] = [];
        for (const m of group.methods) {
          const start = earliestStart(m, tentative);
          if (start === undefined || !fits(m, start)) break;
          placements.push(place(m, start, tentative));
        }
        if (placements.length === group.methods.length) commit(placements);
        break;
      }
      case "syncsum": {
        // One method per owner (an agent cannot start two at once): its best by ratio.
        const owners = new Set<string>();
        let members = byRatio.filter((m) => {
          const owner = ownerOf(m);
          if (owners.has(owner)) return false;
          owners.add(owner);
          return true;
        });
        members = members.filter((m) => earliestStart(m, free) !== undefined);
        // Shrink until every member fits at the common start.
        for (;;) {
          if (members.length === 0) break;
          const start = Math.max(...members.map((m) => earliestStart(m, free)!));
          const fitting = members.filter((m) => fits(m, start));
          if (fitting.length === members.length) {
            const tentative = new Map(free);
            commit(members.map((m) => place(m, start, tentative)));
            break;
          }
          members = fitting;
        }
        break;
      }
    }
  }

  const byOwner = new Map<string, Placement[]>();
  for (const p of placed.values()) {
    const list = byOwner.get(p.owner);
    if (list) list.push(p);
    else byOwner.set(p.owner, [p]);
  }
  const resources: ResourceSchedule[] = [];
  for (const resource of model.resources) {
    const list = byOwner.get(resource.id);
    if (!list) continue;
    list.sort((a, b) => a.startTicks - b.startTicks);
    resources.push({
      resourceId: resource.id,
      activities: list.map(
        (p): ScheduledActivity => ({
          activityId: p.activity.id,
          startTicks: p.startTicks,
          durationTicks: p.durationTicks,
          priority: INITIAL_PRIORITY,
        }),
      ),
    });
  }
  return { version: INITIAL_VERSION, resources };
}

/** The owner agent of a method: its first (C-TAEMS: only) resource. */
const ownerOf = (activity: ActivityNode): string => activity.resources[0] ?? "";

/** Expected quality per expected tick: the greedy's measure of a method's worth. */
const ratio = (activity: ActivityNode): number =>
  expectedValue(activity.quality) / Math.max(1, expectedTicks(activity.duration));

/** Sources of the links into a node or any of its ancestors (CSC §2: they bind descendants). */
function sourcesOf(index: ModelIndex, id: string): string[] {
  const out: string[] = [];
  for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
    for (const link of index.linksTo.get(n) ?? []) out.push(link.from);
  return out;
}

/** Every task with activity children, with those children, in model order. */
function methodGroups(index: ModelIndex): MethodGroup[] {
  const groups: MethodGroup[] = [];
  index.model.nodes.forEach((node, order) => {
    if (node.kind !== "task") return;
    const methods = node.children.flatMap((c) => {
      const child = index.nodes.get(c);
      return child?.kind === "activity" ? [child] : [];
    });
    if (methods.length > 0)
      groups.push({ task: node, methods, order, release: effectiveRelease(index, node.id) });
  });
  return groups;
}

/**
 * Groups in processing order: repeatedly the earliest-released (then first in the model) group
 * whose enables predecessors are all done. Should the group-level graph have a cycle (possible
 * only when links join different methods of the same two tasks both ways), the earliest
 * remaining group is taken anyway, and its blocked methods stay unscheduled.
 */
function orderGroups(index: ModelIndex, groups: readonly MethodGroup[]): MethodGroup[] {
  const groupOf = new Map<string, MethodGroup>();
  for (const g of groups) for (const m of g.methods) groupOf.set(m.id, g);
  const preds = new Map<MethodGroup, Set<MethodGroup>>(groups.map((g) => [g, new Set()]));
  for (const link of index.model.links) {
    const sources = new Set(descendantActivities(index, link.from).map((a) => groupOf.get(a)));
    for (const target of descendantActivities(index, link.to)) {
      const tg = groupOf.get(target);
      if (!tg) continue;
      for (const sg of sources) if (sg && sg !== tg) preds.get(tg)!.add(sg);
    }
  }
  const before = (a: MethodGroup, b: MethodGroup): number =>
    a.release - b.release || a.order - b.order;
  const remaining = [...groups].sort(before);
  const done = new Set<MethodGroup>();
  const out: MethodGroup[] = [];
  while (remaining.length > 0) {
    let i = remaining.findIndex((g) => [...preds.get(g)!].every((p) => done.has(p)));
    if (i < 0) i = 0;
    const [g] = remaining.splice(i, 1);
    done.add(g!);
    out.push(g!);
  }
  return out;
}
