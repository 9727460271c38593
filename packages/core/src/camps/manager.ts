import { descendantActivities, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, ModelNode, TaskModel, Ticks } from "../model/types.js";
import { compare, jobIdsOf, plannedDurationOf } from "./model-view.js";

/**
 * The manager agent (CAMPS "CAMPS Problem Solving Process"): it dates each job (release and due
 * date) from the client's request and the current load, and load-balances jobs among planners.
 */

/** One operation of a job as the manager sees it: where it can run and how long it takes. */
export interface ManagedOperation {
  /** Capable resources; the first is the preferred one. */
  readonly resourceIds: readonly string[];
  readonly durationTicks: Ticks;
}

/** A job from an order. A release or due date given here is the client's and is kept. */
export interface ManagedJob {
  readonly id: string;
  readonly operations: readonly ManagedOperation[];
  readonly releaseTicks?: Ticks;
  readonly dueTicks?: Ticks;
  readonly weight?: number;
}

/** Work already queued per resource, in ticks (resources not listed have none). */
export type ResourceLoad = Readonly<Record<string, Ticks>>;

export interface DatingOptions {
  readonly nowTicks: Ticks;
  /**
   * Flow allowance factor k of the TWK rule: a job is given k times its own work to get through
   * the shop before the queues are counted. Default 2.
   */
  readonly flowAllowance?: number;
  /** Share of the bottleneck's queued work added to the allowance. Default 1. */
  readonly bottleneckShare?: number;
  /**
   * Workload control: a job is released only once its first resource's queue is at most this
   * much work, so a congested shop is not flooded with work in process. Default: release now.
   */
  readonly releaseNormTicks?: Ticks;
}

/** The dates the manager sets for one job, and where each came from. */
export interface JobDates {
  readonly jobId: string;
  readonly releaseTicks: Ticks;
  readonly dueTicks: Ticks;
  readonly releaseFrom: "order" | "manager";
  readonly dueFrom: "order" | "manager";
  readonly totalWorkTicks: Ticks;
  /** The most loaded resource the job visits, and its queued work when the job was dated. */
  readonly bottleneckResourceId: string | undefined;
  readonly bottleneckQueueTicks: Ticks;
  /** due - release - total work: negative when the order's due date cannot be met. */
  readonly slackTicks: Ticks;
}

const DEFAULT_FLOW_ALLOWANCE = 2;

/**
 * Dates jobs in the order given (CAMPS: release date "ready for starting processing", due date
 * "on which the job should finish", from the clients' requirements and the current resource
 * utilization). When the order fixes neither:
 *   release = now, delayed while the first resource's queue exceeds `releaseNormTicks`;
 *   due = release + ceil(k x total work) + ceil(share x queue of the bottleneck resource).
 * Each dated job's work joins the load, so later jobs of the same batch see it.
 */
export function releaseAndDueDates(
  jobs: readonly ManagedJob[],
  load: ResourceLoad,
  options: DatingOptions,
): JobDates[] {
  const k = options.flowAllowance ?? DEFAULT_FLOW_ALLOWANCE;
  const share = options.bottleneckShare ?? 1;
  const queued = new Map<string, Ticks>(Object.entries(load));
  const out: JobDates[] = [];
  for (const job of jobs) {
    const work = job.operations.reduce((sum, op) => sum + op.durationTicks, 0);
    let bottleneck: string | undefined;
    let bottleneckQueue = 0;
    for (const op of job.operations) {
      const r = op.resourceIds[0];
      if (r === undefined) continue;
      const q = queued.get(r) ?? 0;
      if (bottleneck === undefined || q > bottleneckQueue) {
        bottleneck = r;
        bottleneckQueue = q;
      }
    }
    let release: Ticks;
    if (job.releaseTicks !== undefined) release = job.releaseTicks;
    else {
      release = options.nowTicks;
      const first = job.operations[0]?.resourceIds[0];
      if (options.releaseNormTicks !== undefined && first !== undefined) {
        release += Math.max(0, (queued.get(first) ?? 0) - options.releaseNormTicks);
      }
      if (job.dueTicks !== undefined)
        release = Math.max(options.nowTicks, Math.min(release, job.dueTicks - work));
    }
    const due = job.dueTicks ?? release + Math.ceil(k * work) + Math.ceil(share * bottleneckQueue);
    for (const op of job.operations) {
      const r = op.resourceIds[0];
      if (r !== undefined) queued.set(r, (queued.get(r) ?? 0) + op.durationTicks);
    }
    out.push({
      jobId: job.id,
      releaseTicks: release,
      dueTicks: due,
      releaseFrom: job.releaseTicks !== undefined ? "order" : "manager",
      dueFrom: job.dueTicks !== undefined ? "order" : "manager",
      totalWorkTicks: work,
      bottleneckResourceId: bottleneck,
      bottleneckQueueTicks: bottleneckQueue,
      slackTicks: due - release - work,
    });
  }
  return out;
}

/** The jobs of a model as the manager sees them (release and due date where the model has them). */
export function managedJobsOf(index: ModelIndex): ManagedJob[] {
  return jobIdsOf(index).map((jobId) => {
    const node = index.nodes.get(jobId)!;
    const activities = descendantActivities(index, jobId).map(
      (id) => index.nodes.get(id) as ActivityNode,
    );
    return {
      id: jobId,
      operations: activities.map((a) => ({
        resourceIds: a.resources,
        durationTicks: plannedDurationOf(a),
      })),
      ...(node.releaseTicks !== undefined ? { releaseTicks: node.releaseTicks } : {}),
      ...(node.due !== undefined ? { dueTicks: node.due.dueTicks, weight: node.due.weight } : {}),
    };
  });
}

/**
 * The model with the manager's dates written on its jobs: release on the job's task, due date
 * (with the job's weight, 1 when it had none) as its soft due date.
 */
export function applyJobDates(
  model: TaskModel,
  dates: readonly JobDates[],
  weights: Readonly<Record<string, number>> = {},
): TaskModel {
  const byJob = new Map(dates.map((d) => [d.jobId, d]));
  const nodes: ModelNode[] = model.nodes.map((node) => {
    const d = byJob.get(node.id);
    if (!d) return node;
    const weight = weights[node.id] ?? node.due?.weight ?? 1;
    return {
      ...node,
      ...(d.releaseTicks > 0 || node.releaseTicks !== undefined
        ? { releaseTicks: d.releaseTicks }
        : {}),
      due: { dueTicks: d.dueTicks, weight },
    };
  });
  return { ...model, nodes };
}

/** A planner agent the manager can give jobs to. */
export interface PlannerCapacity {
  readonly id: string;
  /** Relative throughput (2 handles twice the work in the same time). Default 1. */
  readonly capacity?: number;
  /** Work the planner already has, in ticks. Default 0. */
  readonly loadTicks?: Ticks;
  /** Resources its scheduler agents run; a job goes only to a planner that can run each operation. */
  readonly resourceIds?: readonly string[];
}

export interface JobBalance {
  readonly assignments: readonly { readonly jobId: string; readonly plannerId: string }[];
  /** Each planner's load after the assignment, in ticks of work. */
  readonly loads: Readonly<Record<string, Ticks>>;
  /** Jobs no planner can run: add a planner with the resources, or split the job. */
  readonly unassigned: readonly { readonly jobId: string; readonly reason: string }[];
}

/**
 * Load-balances jobs among planners (CAMPS: the manager "is in charge of load-balancing among
 * planner agents"): longest job first, each to the capable planner whose load after taking it,
 * divided by its capacity, is least (ties to the lower id). Deterministic.
 */
export function balanceJobs(
  jobs: readonly ManagedJob[],
  planners: readonly PlannerCapacity[],
): JobBalance {
  const load = new Map(planners.map((p) => [p.id, p.loadTicks ?? 0]));
  const work = (job: ManagedJob) => job.operations.reduce((s, op) => s + op.durationTicks, 0);
  const order = [...jobs].sort((a, b) => work(b) - work(a) || compare(a.id, b.id));
  const assignments: { jobId: string; plannerId: string }[] = [];
  const unassigned: { jobId: string; reason: string }[] = [];
  const sortedPlanners = [...planners].sort((a, b) => compare(a.id, b.id));
  for (const job of order) {
    const w = work(job);
    let best: PlannerCapacity | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const p of sortedPlanners) {
      if (!canRun(p, job)) continue;
      const score = ((load.get(p.id) ?? 0) + w) / Math.max(p.capacity ?? 1, Number.EPSILON);
      if (score < bestScore) {
        best = p;
        bestScore = score;
      }
    }
    if (!best) {
      unassigned.push({
        jobId: job.id,
        reason:
          planners.length === 0
            ? "there is no planner"
            : `no planner runs every resource job ${job.id} needs`,
      });
      continue;
    }
    load.set(best.id, (load.get(best.id) ?? 0) + w);
    assignments.push({ jobId: job.id, plannerId: best.id });
  }
  return { assignments, loads: Object.fromEntries(load), unassigned };
}

function canRun(planner: PlannerCapacity, job: ManagedJob): boolean {
  const own = planner.resourceIds;
  if (own === undefined) return true;
  return job.operations.every((op) => op.resourceIds.some((r) => own.includes(r)));
}
