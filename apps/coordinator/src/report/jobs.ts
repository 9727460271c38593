import type { Schedule, TaskModel, Ticks } from "@consort/core";
import type { ExecutedBar, ReportJob } from "./types.js";

/** The job of an activity: its ancestor just under the root (itself in a one-level tree). */
export function jobOfActivity(model: TaskModel): (activityId: string) => string {
  const parent = new Map<string, string>();
  for (const n of model.nodes)
    if (n.kind === "task") for (const c of n.children) parent.set(c, n.id);
  return (activityId) => {
    let id = activityId;
    for (let guard = 0; guard < 10_000; guard++) {
      const p = parent.get(id);
      if (p === undefined || p === model.root) return id;
      id = p;
    }
    return id;
  };
}

/**
 * Each job under the root with its due date (soft due, else deadline) and, once all its
 * activities ran, its end and lateness (ticks past due, 0 when on time): a report's `jobs`.
 */
export function reportJobs(
  model: TaskModel,
  executed: ReadonlyMap<string, { readonly endTicks: Ticks }>,
): ReportJob[] {
  const root = model.nodes.find((n) => n.id === model.root);
  const jobIds = root?.kind === "task" ? root.children : [];
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const jobOf = jobOfActivity(model);
  const ops = new Map<string, string[]>();
  for (const n of model.nodes)
    if (n.kind === "activity") {
      const j = jobOf(n.id);
      ops.set(j, [...(ops.get(j) ?? []), n.id]);
    }
  return jobIds.map((jobId) => {
    const node = byId.get(jobId);
    const due = node?.due?.dueTicks ?? node?.deadlineTicks;
    const mine = ops.get(jobId) ?? [];
    const done = mine.every((a) => executed.has(a)) && mine.length > 0;
    const end = done ? Math.max(...mine.map((a) => executed.get(a)!.endTicks)) : undefined;
    return {
      jobId,
      ...(due !== undefined ? { dueTicks: due } : {}),
      ...(end !== undefined ? { endTicks: end } : {}),
      ...(end !== undefined && due !== undefined ? { latenessTicks: Math.max(0, end - due) } : {}),
    };
  });
}

/**
 * What a breakdown from `atTicks` on `resourceId` cut short: the slot of `planned` under way on
 * that resource then (started, not ended, not yet completed), as a failed attempt from its start
 * to the breakdown. Its retry shows separately, as what completed.
 */
export function interruptedAttempts(
  planned: Schedule | undefined,
  resourceId: string,
  atTicks: Ticks,
  completed: (activityId: string) => boolean,
  jobOf: (activityId: string) => string,
): ExecutedBar[] {
  const row = planned?.resources.find((r) => r.resourceId === resourceId);
  const out: ExecutedBar[] = [];
  for (const a of row?.activities ?? []) {
    const start = a.startTicks ?? 0;
    const end = start + (a.durationTicks ?? 0);
    if (start < atTicks && atTicks < end && !completed(a.activityId))
      out.push({
        resourceId,
        activityId: a.activityId,
        jobId: jobOf(a.activityId),
        startTicks: start,
        endTicks: atTicks,
        status: "failed",
      });
  }
  return out;
}
