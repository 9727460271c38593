import { descendantActivities, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import {
  firstPlanByActivity,
  type PlannedActivity,
  plannedReadyTime,
  resolvePlan,
} from "./plan.js";
import type { Schedule } from "./types.js";

/** Per-job figures: a job is a child of the root (DESIGN.md: an order is a set of jobs). */
export interface JobMetrics {
  readonly jobId: string;
  readonly releaseTicks: Ticks;
  /** End of its last scheduled activity; undefined when none of its activities is scheduled. */
  readonly completionTicks: Ticks | undefined;
  readonly leadTimeTicks: Ticks | undefined;
  readonly tardinessTicks: Ticks;
  readonly weightedTardiness: number;
}

export interface ScheduleMetrics {
  /** End of the last activity (schedules start at tick 0). */
  readonly makespanTicks: Ticks;
  /** Sum over nodes with a due date of weight x max(0, completion - due). */
  readonly totalWeightedTardiness: number;
  /** Mean over jobs of completion - release. */
  readonly meanLeadTimeTicks: number;
  /** Work in process as waiting: sum over activities of start - the time it could have started. */
  readonly totalWaitTicks: Ticks;
  /** Mean number of activities waiting over [0, makespan) (Little's law: totalWait / makespan). */
  readonly meanWip: number;
  /** Busy time / makespan for each resource of the model. */
  readonly utilization: Readonly<Record<string, number>>;
  readonly jobs: readonly JobMetrics[];
}

/** The job-shop objectives of a schedule (CAMPS §5 measures), computed from its times. */
export function scheduleMetrics(index: ModelIndex, schedule: Schedule): ScheduleMetrics {
  const plan = resolvePlan(index, schedule);
  const byActivity = firstPlanByActivity(plan);
  const timed = [...byActivity.values()].filter((p) => p.endTicks !== undefined);
  const makespan = timed.reduce((m, p) => Math.max(m, p.endTicks!), 0);
  const completion = (nodeId: string): Ticks | undefined => {
    let end: Ticks | undefined;
    for (const id of descendantActivities(index, nodeId)) {
      const e = byActivity.get(id)?.endTicks;
      if (e !== undefined) end = end === undefined ? e : Math.max(end, e);
    }
    return end;
  };

  let twt = 0;
  for (const node of index.model.nodes) {
    if (!node.due) continue;
    const c = completion(node.id);
    if (c !== undefined) twt += node.due.weight * Math.max(0, c - node.due.dueTicks);
  }

  const root = index.nodes.get(index.model.root);
  const jobIds = root?.kind === "task" ? root.children : [];
  const jobs: JobMetrics[] = jobIds.map((jobId) => {
    const node = index.nodes.get(jobId)!;
    const activityReleases = descendantActivities(index, jobId).map((a) =>
      effectiveRelease(index, a),
    );
    const release = Math.max(node.releaseTicks ?? 0, Math.min(...activityReleases));
    const c = completion(jobId);
    const tardiness = node.due && c !== undefined ? Math.max(0, c - node.due.dueTicks) : 0;
    return {
      jobId,
      releaseTicks: release,
      completionTicks: c,
      leadTimeTicks: c === undefined ? undefined : c - release,
      tardinessTicks: tardiness,
      weightedTardiness: tardiness * (node.due?.weight ?? 0),
    };
  });
  const leads = jobs.flatMap((j) => (j.leadTimeTicks === undefined ? [] : [j.leadTimeTicks]));
  const meanLead = leads.length === 0 ? 0 : leads.reduce((a, b) => a + b, 0) / leads.length;

  const totalWait = timed.reduce((sum, p) => sum + waitOf(index, byActivity, p), 0);

  const utilization: Record<string, number> = {};
  for (const r of index.model.resources) utilization[r.id] = 0;
  for (const p of timed) {
    if (utilization[p.resourceId] !== undefined) utilization[p.resourceId]! += p.durationTicks;
  }
  for (const id of Object.keys(utilization))
    utilization[id] = makespan > 0 ? utilization[id]! / makespan : 0;

  return {
    makespanTicks: makespan,
    totalWeightedTardiness: twt,
    meanLeadTimeTicks: meanLead,
    totalWaitTicks: totalWait,
    meanWip: makespan > 0 ? totalWait / makespan : 0,
    utilization,
    jobs,
  };
}

/** Time an activity waited after it could have started: after its release and its links' sources. */
function waitOf(
  index: ModelIndex,
  byActivity: ReadonlyMap<string, PlannedActivity>,
  p: PlannedActivity,
): Ticks {
  let ready = effectiveRelease(index, p.activityId);
  const targets = [p.activityId];
  for (
    let parent = index.parent.get(p.activityId);
    parent !== undefined;
    parent = index.parent.get(parent)
  ) {
    targets.push(parent);
  }
  for (const target of targets) {
    for (const link of index.linksTo.get(target) ?? []) {
      const sourceReady = plannedReadyTime(index, byActivity, link.from);
      if (sourceReady !== undefined) ready = Math.max(ready, sourceReady);
    }
  }
  return Math.max(0, p.startTicks! - ready);
}
