import { expectedValue } from "../model/distribution.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { Qaf, Ticks } from "../model/types.js";
import { firstPlanByActivity, resolvePlan } from "../schedule/plan.js";
import type { Schedule } from "../schedule/types.js";

/** What happened to one activity: when it ran and the quality its outcome gave. */
export interface ExecutedActivity {
  readonly activityId: string;
  readonly startTicks: Ticks;
  readonly endTicks: Ticks;
  /** The sampled outcome quality, before the window and enables rules (0 when aborted). */
  readonly quality: number;
}

/** Why an executed activity earned zero quality. */
export type FailureCause = "outcome" | "release" | "deadline" | "enabler";

export interface QualityResult {
  readonly rootQuality: number;
  readonly quality: ReadonlyMap<string, number>;
  /** When each node first held positive quality; absent when it never did. */
  readonly accruedAt: ReadonlyMap<string, Ticks>;
  /** Start of each node: an activity's own, a task's the earliest of its children (CSC §2). */
  readonly startOf: ReadonlyMap<string, Ticks>;
  readonly failures: ReadonlyMap<string, FailureCause>;
}

/**
 * Quality of every node of the reward tree after execution, by CSC §2:
 * - an activity that starts before its release or ends after its deadline earns zero;
 * - a node that is the target of an enables link, or lies under one, earns zero when it started
 *   before every source had accrued quality (the source's quality at `start - 1` is zero);
 * - a task's quality is its QAF over its children: min, max, sum, or syncsum (the sum of the
 *   children that started at the earliest start of all its children).
 * Activities that never ran count as zero quality.
 *
 * With `only`, just those nodes are evaluated, with what they depend on (their subtrees and their
 * enablers'), not the whole tree: the cost of one node's verdict, not of the model's.
 */
export function evaluateQuality(
  index: ModelIndex,
  executed: Iterable<ExecutedActivity>,
  options: { readonly only?: readonly string[] } = {},
): QualityResult {
  const runs = new Map<string, ExecutedActivity>();
  for (const e of executed) runs.set(e.activityId, e);
  const quality = new Map<string, number>();
  const accruedAt = new Map<string, Ticks>();
  const startOf = new Map<string, Ticks>();
  const failures = new Map<string, FailureCause>();
  const done = new Set<string>();

  // A node's enables sources: links into the node itself or into any ancestor.
  const enablers = (id: string): string[] => {
    const out: string[] = [];
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n)) {
      for (const link of index.linksTo.get(n) ?? [])
        if (link.kind === "enables") out.push(link.from);
    }
    return out;
  };
  const enabledAt = (id: string, start: Ticks): boolean =>
    enablers(id).every((source) => {
      visit(source);
      const at = accruedAt.get(source);
      return at !== undefined && at <= start;
    });

  const visit = (id: string): void => {
    if (done.has(id)) return;
    done.add(id);
    const node = index.nodes.get(id);
    if (!node) return;
    if (node.kind === "activity") {
      const run = runs.get(id);
      if (!run) {
        quality.set(id, 0);
        return;
      }
      startOf.set(id, run.startTicks);
      let q = run.quality;
      let cause: FailureCause | undefined = q > 0 ? undefined : "outcome";
      const deadline = effectiveDeadline(index, id);
      if (cause === undefined && run.startTicks < effectiveRelease(index, id)) cause = "release";
      if (cause === undefined && deadline !== undefined && run.endTicks > deadline)
        cause = "deadline";
      if (cause === undefined && !enabledAt(id, run.startTicks)) cause = "enabler";
      if (cause !== undefined) {
        q = 0;
        failures.set(id, cause);
      } else accruedAt.set(id, run.endTicks);
      quality.set(id, q);
      return;
    }
    for (const child of node.children) visit(child);
    const starts = node.children.flatMap((c) => (startOf.has(c) ? [startOf.get(c)!] : []));
    const start = starts.length > 0 ? Math.min(...starts) : undefined;
    if (start !== undefined) startOf.set(id, start);
    const counted =
      node.qaf === "syncsum"
        ? node.children.filter((c) => start !== undefined && startOf.get(c) === start)
        : node.children;
    let q = accumulate(
      node.qaf,
      counted.map((c) => quality.get(c) ?? 0),
    );
    if (q > 0 && start !== undefined && !enabledAt(id, start)) q = 0;
    quality.set(id, q);
    if (q > 0) {
      const times = counted.flatMap((c) => (accruedAt.has(c) ? [accruedAt.get(c)!] : []));
      accruedAt.set(id, node.qaf === "min" ? Math.max(...times) : Math.min(...times));
    }
  };

  if (options.only) for (const id of options.only) visit(id);
  else for (const node of index.model.nodes) visit(node.id);
  return { rootQuality: quality.get(index.model.root) ?? 0, quality, accruedAt, startOf, failures };
}

function accumulate(qaf: Qaf, values: readonly number[]): number {
  if (values.length === 0) return 0;
  switch (qaf) {
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
    case "sum":
    case "syncsum":
      return values.reduce((a, b) => a + b, 0);
  }
}

/**
 * Reads a schedule as if it ran exactly to plan, each activity earning its expected quality:
 * the root quality of a plan.
 */
export function executionOfSchedule(index: ModelIndex, schedule: Schedule): ExecutedActivity[] {
  const byActivity = firstPlanByActivity(resolvePlan(index, schedule));
  return [...byActivity.values()].flatMap((p) =>
    p.startTicks === undefined || p.endTicks === undefined || !p.activity
      ? []
      : [
          {
            activityId: p.activityId,
            startTicks: p.startTicks,
            endTicks: p.endTicks,
            quality: expectedValue(p.activity.quality),
          },
        ],
  );
}
