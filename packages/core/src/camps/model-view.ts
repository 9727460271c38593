import { expectedValue } from "../model/distribution.js";
import { descendantActivities, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";

/**
 * How CAMPS reads the task model: a job is a child of the root (DESIGN.md "One task model": an
 * order is a set of jobs), operations are its activities, and links between them are the
 * operation precedences.
 */

/** The planned duration of an activity: its expected duration rounded up, as the checker uses. */
export function plannedDurationOf(activity: ActivityNode): Ticks {
  return Math.ceil(expectedValue(activity.duration));
}

/** The jobs: the root's children, in model order. */
export function jobIdsOf(index: ModelIndex): string[] {
  const root = index.nodes.get(index.model.root);
  return root?.kind === "task" ? [...root.children] : [];
}

/** The job (child of the root) an activity belongs to; the activity itself when it is a job. */
export function jobOf(index: ModelIndex, activityId: string): string | undefined {
  let id: string | undefined = activityId;
  while (id !== undefined) {
    const parent = index.parent.get(id);
    if (parent === index.model.root) return id;
    id = parent;
  }
  return undefined;
}

/** The tardiness weight of a job (1 when it has no due date): its priority in tie-breaks. */
export function jobWeight(index: ModelIndex, jobId: string | undefined): number {
  if (jobId === undefined) return 1;
  return index.nodes.get(jobId)?.due?.weight ?? 1;
}

/**
 * Operation precedences between activities: a link from a node to a node binds every activity
 * under its target to every activity under its source (counting a task as done when all of its
 * activities are, which is exact for a job's `min` task and cautious for the others).
 */
export function activityPrecedences(index: ModelIndex): {
  predecessors: Map<string, string[]>;
  successors: Map<string, string[]>;
} {
  const predecessors = new Map<string, string[]>();
  const successors = new Map<string, string[]>();
  for (const link of index.model.links) {
    const from = descendantActivities(index, link.from);
    const to = descendantActivities(index, link.to);
    for (const t of to) {
      for (const f of from) {
        if (f === t) continue;
        const p = predecessors.get(t) ?? [];
        if (!p.includes(f)) p.push(f);
        predecessors.set(t, p);
        const s = successors.get(f) ?? [];
        if (!s.includes(t)) s.push(t);
        successors.set(f, s);
      }
    }
  }
  return { predecessors, successors };
}

/** Activities in an order where every predecessor comes first (links are acyclic by indexModel). */
export function topologicalActivities(
  index: ModelIndex,
  predecessors: ReadonlyMap<string, readonly string[]>,
): ActivityNode[] {
  const out: ActivityNode[] = [];
  const done = new Set<string>();
  const visit = (a: ActivityNode): void => {
    if (done.has(a.id)) return;
    done.add(a.id);
    for (const p of predecessors.get(a.id) ?? []) {
      const node = index.nodes.get(p);
      if (node?.kind === "activity") visit(node);
    }
    out.push(a);
  };
  for (const a of index.activities) visit(a);
  return out;
}

/** Plain string order (not locale-dependent), so every process sorts the same way. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
