import {
  descendantActivities,
  effectiveRelease,
  indexModel,
  type ModelIndex,
} from "../model/model-index.js";
import type { TaskModel, Ticks } from "../model/types.js";
import type { EnvironmentEvent } from "../ports/environment.js";
import type { SimulationApi, SimulationPolicy } from "./driver.js";
import type { SimulatedFailureReason } from "./environment.js";
import { applyModelDelta } from "./model-delta.js";

/** Refusals to start: the activity did not run, so it is tried again once the resource may be free. */
const REFUSALS: ReadonlySet<string> = new Set<SimulatedFailureReason>([
  "resource-busy",
  "resource-unavailable",
  "agent-offline",
]);

function indexOrThrow(model: TaskModel): ModelIndex {
  const indexed = indexModel(model);
  if (!indexed.ok)
    throw new Error(`dispatchInOrderPolicy: invalid model: ${JSON.stringify(indexed.error)}`);
  return indexed.value;
}

/**
 * The simplest reactive policy, for tests and as a floor: each resource runs its activities in
 * model order, starting the first one that is released and whose link sources have accrued
 * quality (a `min` task once all its children have, other tasks once any has), as soon as the
 * resource is free. It redoes an activity that a breakdown interrupted, after the repair; it does
 * not retry modeled or unmodeled failures, and never looks at deadlines. It learns rush orders
 * and announced window changes from `changed` events; unannounced ones it never sees.
 */
export function dispatchInOrderPolicy(initialModel: TaskModel): SimulationPolicy {
  let model = initialModel;
  let index = indexOrThrow(model);
  const pending = new Map<string, string[]>();
  const busy = new Map<string, string>();
  const blockedUntil = new Map<string, Ticks>();
  const accrued = new Set<string>();
  const ended = new Set<string>();
  const wakes = new Set<string>();
  const queued = new Set<string>();

  const enqueue = (activityIds: readonly string[]): Set<string> => {
    const touched = new Set<string>();
    for (const id of activityIds) {
      const node = index.nodes.get(id);
      if (node?.kind !== "activity" || queued.has(id)) continue;
      const resource = node.resources[0]!;
      const list = pending.get(resource) ?? [];
      list.push(id);
      pending.set(resource, list);
      queued.add(id);
      touched.add(resource);
    }
    return touched;
  };

  const hasAccrued = (id: string): boolean => {
    const node = index.nodes.get(id);
    if (!node) return false;
    if (node.kind === "activity") return accrued.has(id);
    return node.qaf === "min" ? node.children.every(hasAccrued) : node.children.some(hasAccrued);
  };

  /** Sources of links into the activity or an ancestor have accrued (enables) or ended (precedence). */
  const linksSatisfied = (id: string): boolean => {
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n)) {
      for (const link of index.linksTo.get(n) ?? []) {
        const ok =
          link.kind === "enables"
            ? hasAccrued(link.from)
            : descendantActivities(index, link.from).every((a) => ended.has(a));
        if (!ok) return false;
      }
    }
    return true;
  };

  const wake = (api: SimulationApi, resource: string, time: Ticks): void => {
    const key = `${resource}@${time}`;
    if (wakes.has(key)) return;
    wakes.add(key);
    api.at(time, () => {
      wakes.delete(key);
      dispatch(api, resource);
    });
  };

  const dispatch = (api: SimulationApi, resource: string): void => {
    const now = api.now();
    if (busy.has(resource) || (blockedUntil.get(resource) ?? now) > now) return;
    const list = pending.get(resource);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      const id = list[i]!;
      const release = effectiveRelease(index, id);
      if (release > now) {
        wake(api, resource, release);
        continue;
      }
      if (!linksSatisfied(id)) continue;
      list.splice(i, 1);
      busy.set(resource, id);
      api.start(id, resource);
      return;
    }
  };

  /** Resources whose activities may have become ready when `id` accrued or ended. */
  const successorResources = (id: string): Set<string> => {
    const out = new Set<string>();
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      for (const link of index.linksFrom.get(n) ?? [])
        for (const a of descendantActivities(index, link.to)) {
          const node = index.nodes.get(a);
          if (node?.kind === "activity") out.add(node.resources[0]!);
        }
    return out;
  };

  const onEvent = (event: EnvironmentEvent, api: SimulationApi): void => {
    switch (event.kind) {
      case "started":
        return;
      case "completed":
      case "failed": {
        const { activityId, resourceId } = event;
        if (busy.get(resourceId) === activityId) busy.delete(resourceId);
        if (event.kind === "completed") accrued.add(activityId);
        const retry =
          event.kind === "failed" && (event.reason === "breakdown" || REFUSALS.has(event.reason));
        if (retry) {
          const list = pending.get(resourceId) ?? [];
          list.unshift(activityId);
          pending.set(resourceId, list);
          if (REFUSALS.has(event.reason)) {
            // Never retry within the same tick: a refusal would repeat forever.
            blockedUntil.set(
              resourceId,
              Math.max(blockedUntil.get(resourceId) ?? 0, api.now() + 1),
            );
            wake(api, resourceId, api.now() + 1);
          }
        } else ended.add(activityId);
        dispatch(api, resourceId);
        if (!retry) for (const r of successorResources(activityId)) dispatch(api, r);
        return;
      }
      case "unavailable": {
        const until = Math.max(blockedUntil.get(event.resourceId) ?? 0, event.untilTicks);
        blockedUntil.set(event.resourceId, until);
        wake(api, event.resourceId, until);
        return;
      }
      case "changed": {
        model = applyModelDelta(model, event.delta);
        index = indexOrThrow(model);
        const added = (event.delta.addNodes ?? []).map((n) => n.id);
        const touched = enqueue(added);
        for (const u of event.delta.update ?? [])
          for (const a of descendantActivities(index, u.id)) {
            const node = index.nodes.get(a);
            if (node?.kind === "activity") touched.add(node.resources[0]!);
          }
        for (const r of touched) dispatch(api, r);
        return;
      }
    }
  };

  return {
    onStart: (api) => {
      for (const r of enqueue(index.activities.map((a) => a.id))) dispatch(api, r);
    },
    onEvent,
  };
}
