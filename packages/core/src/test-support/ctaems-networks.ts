/** Small hand-built C-TAEMS networks for tests: methods, tasks, an indexed model, a plan. */
import { fixed } from "../model/distribution.js";
import { indexModel, type ModelIndex } from "../model/model-index.js";
import type {
  ActivityNode,
  Distribution,
  Link,
  ModelNode,
  Qaf,
  TaskModel,
  TaskNode,
} from "../model/types.js";
import type { Schedule } from "../schedule/types.js";

/** A method of `owner`; a number is a fixed duration or quality. */
export const act = (
  id: string,
  owner: string,
  duration: number | ActivityNode["duration"],
  quality: number | ActivityNode["quality"],
  extra: Partial<ActivityNode> = {},
): ActivityNode => ({
  kind: "activity",
  id,
  resources: [owner],
  duration: typeof duration === "number" ? fixed(duration) : duration,
  quality: typeof quality === "number" ? fixed(quality) : quality,
  ...extra,
});

/** Two values, each with probability one half (a duration or quality). */
export const evenly = (a: number, b: number): Distribution => [
  { value: a, probability: 0.5 },
  { value: b, probability: 0.5 },
];

export const task = (
  id: string,
  qaf: Qaf,
  children: string[],
  extra: Partial<TaskNode> = {},
): TaskNode => ({ kind: "task", id, qaf, children, ...extra });

/** Indexes nodes under "root", with a resource per method owner; throws on a bad model. */
export function build(nodes: ModelNode[], links: Link[] = []): ModelIndex {
  const owners = new Set<string>();
  for (const n of nodes) if (n.kind === "activity") for (const r of n.resources) owners.add(r);
  const model: TaskModel = {
    name: "t",
    resources: [...owners].map((id) => ({ id })),
    nodes,
    root: "root",
    links,
  };
  const r = indexModel(model);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** A schedule from [owner, method, start] entries, in the order given per owner. */
export const plan = (entries: [string, string, number][]): Schedule => {
  const by = new Map<string, { activityId: string; startTicks: number }[]>();
  for (const [owner, activityId, startTicks] of entries) {
    const list = by.get(owner) ?? [];
    list.push({ activityId, startTicks });
    by.set(owner, list);
  }
  return {
    version: 1,
    resources: [...by].map(([resourceId, activities]) => ({ resourceId, activities })),
  };
};

/**
 * A min of two methods worth 7 and 14 (both planned at 10, on a and b), a method worth 20 on a
 * and one worth 5 on b: one agent cannot fit its 20 besides its part of the min, and the min is
 * worth nothing without it, so only dropping the min on both agents makes room for both.
 */
export const minSwapNetwork = (): { index: ModelIndex; initial: Schedule } => ({
  index: build([
    task("root", "sum", ["M", "S", "T"]),
    task("M", "min", ["m1", "m2"], { deadlineTicks: 40 }),
    task("S", "sum", ["s1"], { deadlineTicks: 40 }),
    task("T", "max", ["t1"], { deadlineTicks: 40 }),
    act("m1", "a", 30, 7),
    act("m2", "b", 30, 14),
    act("s1", "a", 30, 20),
    act("t1", "b", 30, 5),
  ]),
  initial: plan([
    ["a", "m1", 10],
    ["b", "m2", 10],
  ]),
});

/**
 * A min of two methods worth 10 each (on a and b, neither planned) beside a filler worth 2 on
 * each agent, planned at 10: either child alone costs its owner's filler for nothing; both earn
 * 10 for the two fillers' 4.
 */
export const minPairNetwork = (): { index: ModelIndex; initial: Schedule } => ({
  index: build([
    task("root", "sum", ["M", "L1", "L2"]),
    task("M", "min", ["ma", "mb"], { deadlineTicks: 40 }),
    task("L1", "max", ["la"], { deadlineTicks: 40 }),
    task("L2", "max", ["lb"], { deadlineTicks: 40 }),
    act("ma", "a", 30, 10),
    act("mb", "b", 30, 10),
    act("la", "a", 30, 2),
    act("lb", "b", 30, 2),
  ]),
  initial: plan([
    ["a", "la", 10],
    ["b", "lb", 10],
  ]),
});
