import { fixed } from "../../model/distribution.js";
import { indexModel, type ModelIndex } from "../../model/model-index.js";
import type { Link, ModelNode, TaskModel, Ticks } from "../../model/types.js";
import { collides } from "../timeline.js";
import type { Interval, Slot } from "../types.js";

export function indexed(model: TaskModel): ModelIndex {
  const r = indexModel(model);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** One operation: [resources (first preferred), duration]. */
export type OpSpec = readonly [string | readonly string[], Ticks];

export interface JobSpec {
  readonly id: string;
  readonly ops: readonly OpSpec[];
  readonly release?: Ticks;
  readonly due?: Ticks;
  readonly weight?: number;
  readonly deadline?: Ticks;
}

/**
 * A small job shop as a task model: job J's operations are J.1, J.2, ... chained by enables
 * links; resources are named by the operations.
 */
export function jobShopModel(jobs: readonly JobSpec[], name = "test"): TaskModel {
  const resources = new Set<string>();
  const nodes: ModelNode[] = [
    { kind: "task", id: "root", qaf: "sum", children: jobs.map((j) => j.id) },
  ];
  const links: Link[] = [];
  for (const job of jobs) {
    const ids = job.ops.map((_, k) => `${job.id}.${k + 1}`);
    nodes.push({
      kind: "task",
      id: job.id,
      qaf: "min",
      children: ids,
      ...(job.release !== undefined ? { releaseTicks: job.release } : {}),
      ...(job.deadline !== undefined ? { deadlineTicks: job.deadline } : {}),
      ...(job.due !== undefined ? { due: { dueTicks: job.due, weight: job.weight ?? 1 } } : {}),
    });
    job.ops.forEach(([res, d], k) => {
      const list = typeof res === "string" ? [res] : [...res];
      for (const r of list) resources.add(r);
      nodes.push({
        kind: "activity",
        id: ids[k]!,
        resources: list,
        duration: fixed(d),
        quality: fixed(1),
      });
      if (k > 0) links.push({ kind: "enables", from: ids[k - 1]!, to: ids[k]! });
    });
  }
  return {
    name,
    resources: [...resources].sort().map((id) => ({ id })),
    nodes,
    root: "root",
    links,
  };
}

export const slot = (activityId: string, startTicks: Ticks, durationTicks: Ticks): Slot => ({
  activityId,
  startTicks,
  durationTicks,
});

/** Problems with one resource's slots: overlaps, unavailable time, starts before now. */
export function localProblems(
  slots: readonly Slot[],
  options: { unavailable?: readonly Interval[]; nowTicks?: Ticks; fixed?: readonly Slot[] } = {},
): string[] {
  const out: string[] = [];
  const fixedIds = new Set((options.fixed ?? []).map((s) => s.activityId));
  const sorted = [...slots]
    .filter((s) => s.durationTicks > 0)
    .sort((a, b) => a.startTicks - b.startTicks);
  let last: Slot | undefined;
  for (const s of sorted) {
    if (last && s.startTicks < last.startTicks + last.durationTicks)
      out.push(`${last.activityId} and ${s.activityId} overlap`);
    if (!last || s.startTicks + s.durationTicks > last.startTicks + last.durationTicks) last = s;
  }
  for (const s of slots) {
    if (fixedIds.has(s.activityId)) continue;
    for (const u of options.unavailable ?? [])
      if (collides(s.startTicks, s.durationTicks, u))
        out.push(`${s.activityId} is in unavailable time [${u.fromTicks}, ${u.untilTicks})`);
    if (options.nowTicks !== undefined && s.startTicks < options.nowTicks)
      out.push(`${s.activityId} starts at ${s.startTicks}, before now ${options.nowTicks}`);
  }
  return out;
}

/**
 * A job shop and a C-TAEMS network under one root, as the press-shop scenario builds them: two
 * orders (order-2 after order-1's pressing) and a mission whose inspection enables a `max` over
 * two ways of maintaining the press, with a deadline.
 */
export const mixedModel: TaskModel = {
  name: "mixed",
  resources: [{ id: "press" }, { id: "paint" }, { id: "rover" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["order-1", "order-2", "mission"] },
    {
      kind: "task",
      id: "order-1",
      qaf: "min",
      children: ["o1.press", "o1.paint"],
      due: { dueTicks: 40, weight: 2 },
    },
    {
      kind: "task",
      id: "order-2",
      qaf: "min",
      children: ["o2.press", "o2.paint"],
      releaseTicks: 2,
    },
    { kind: "task", id: "mission", qaf: "sum", children: ["inspect", "maintain"] },
    { kind: "task", id: "maintain", qaf: "max", children: ["service", "swap"], deadlineTicks: 60 },
    {
      kind: "activity",
      id: "o1.press",
      resources: ["press"],
      duration: fixed(6),
      quality: fixed(1),
    },
    {
      kind: "activity",
      id: "o1.paint",
      resources: ["paint"],
      duration: fixed(4),
      quality: fixed(1),
    },
    {
      kind: "activity",
      id: "o2.press",
      resources: ["press"],
      duration: fixed(5),
      quality: fixed(1),
    },
    {
      kind: "activity",
      id: "o2.paint",
      resources: ["paint"],
      duration: fixed(3),
      quality: fixed(1),
    },
    {
      kind: "activity",
      id: "inspect",
      resources: ["rover"],
      duration: fixed(7),
      quality: fixed(10),
    },
    {
      kind: "activity",
      id: "service",
      resources: ["press"],
      duration: fixed(9),
      quality: fixed(8),
    },
    { kind: "activity", id: "swap", resources: ["press"], duration: fixed(3), quality: fixed(5) },
  ],
  links: [
    { kind: "enables", from: "o1.press", to: "o1.paint" },
    { kind: "enables", from: "o2.press", to: "o2.paint" },
    { kind: "precedence", from: "o1.press", to: "order-2" },
    { kind: "enables", from: "inspect", to: "maintain" },
  ],
};
