import { err, ok, type Result } from "../result.js";
import { deterministicValue, fixed } from "./distribution.js";
import { indexModel, type ModelIndex, type ModelIssue } from "./model-index.js";
import type { ActivityNode, ModelNode, TaskModel, Ticks } from "./types.js";

/** One operation of a job: it runs on `machine` (an index into `machineIds`) for `durationTicks`. */
export interface JobShopOperation {
  readonly id: string;
  readonly machine: number;
  readonly durationTicks: Ticks;
}

export interface JobShopJob {
  readonly id: string;
  /** Operations in processing order; each may start only after the one before it ends. */
  readonly operations: readonly JobShopOperation[];
  readonly releaseTicks: Ticks;
  readonly dueTicks?: Ticks;
  readonly weight: number;
}

/**
 * The dense form of a job-shop problem that the solvers work on. It is a view of a `TaskModel`
 * (see `jobShopToModel` / `modelToJobShop`): ids are shared, so a solution maps back to the model.
 */
export interface JobShopInstance {
  readonly name: string;
  readonly machineIds: readonly string[];
  readonly jobs: readonly JobShopJob[];
}

export const operationCount = (instance: JobShopInstance): number =>
  instance.jobs.reduce((n, job) => n + job.operations.length, 0);

/** Ids used when an instance comes from a file with numbered jobs and machines. */
export const jobShopIds = {
  machine: (m: number) => `m${m}`,
  job: (j: number) => `j${j}`,
  operation: (j: number, k: number) => `j${j}.o${k}`,
};

/**
 * The task model of a job shop (DESIGN.md): each job is a `min` task over its operations chained
 * by `enables`, with its release, due date and weight; the root sums the jobs' qualities.
 * Operations have quality 1, so the root's quality counts the finished jobs.
 */
export function jobShopToModel(instance: JobShopInstance): TaskModel {
  const nodes: ModelNode[] = [];
  const links: { kind: "enables"; from: string; to: string }[] = [];
  for (const job of instance.jobs) {
    nodes.push({
      kind: "task",
      id: job.id,
      qaf: "min",
      children: job.operations.map((o) => o.id),
      ...(job.releaseTicks > 0 ? { releaseTicks: job.releaseTicks } : {}),
      ...(job.dueTicks !== undefined
        ? { due: { dueTicks: job.dueTicks, weight: job.weight } }
        : {}),
    });
    job.operations.forEach((op, k) => {
      const machineId = instance.machineIds[op.machine];
      if (machineId === undefined)
        throw new Error(`operation ${op.id} names machine ${op.machine}, which does not exist`);
      nodes.push({
        kind: "activity",
        id: op.id,
        resources: [machineId],
        duration: fixed(op.durationTicks),
        quality: fixed(1),
      });
      const previous = job.operations[k - 1];
      if (previous) links.push({ kind: "enables", from: previous.id, to: op.id });
    });
  }
  const rootId = uniqueRootId(nodes);
  nodes.unshift({ kind: "task", id: rootId, qaf: "sum", children: instance.jobs.map((j) => j.id) });
  return {
    name: instance.name,
    resources: instance.machineIds.map((id) => ({ id, kind: "machine" as const })),
    nodes,
    root: rootId,
    links,
  };
}

function uniqueRootId(nodes: readonly ModelNode[]): string {
  const taken = new Set(nodes.map((n) => n.id));
  let id = "root";
  for (let i = 1; taken.has(id); i++) id = `root${i}`;
  return id;
}

/**
 * Reads a task model as a job shop, when it is one: every child of the root is a job (a task, or
 * a lone activity) whose activities form one chain of links, with fixed durations. An activity
 * with alternative resources runs on its preferred (first) resource here.
 */
export function modelToJobShop(model: TaskModel): Result<JobShopInstance, ModelIssue[]> {
  const indexed = indexModel(model);
  if (!indexed.ok) return indexed;
  const index = indexed.value;
  const root = index.nodes.get(model.root);
  if (root?.kind !== "task")
    return err([{ path: "root", message: "a job shop needs a root task over its jobs" }]);
  const machineIds = model.resources.map((r) => r.id);
  const machineOf = new Map(machineIds.map((id, i) => [id, i]));
  const issues: ModelIssue[] = [];
  const jobs: JobShopJob[] = [];
  for (const jobId of root.children) {
    const job = index.nodes.get(jobId)!;
    const activities = job.kind === "activity" ? [job] : leafActivities(index, job.id);
    const chain = orderChain(index, activities);
    if (!chain) {
      issues.push({
        path: `nodes[${model.nodes.indexOf(job)}]`,
        message: `job "${jobId}": its operations are not one chain of precedence links`,
      });
      continue;
    }
    const operations: JobShopOperation[] = [];
    for (const a of chain) {
      const d = deterministicValue(a.duration);
      if (d === undefined) {
        issues.push({
          path: `nodes[${model.nodes.indexOf(a)}].duration`,
          message: `operation "${a.id}" has an uncertain duration; the job-shop solver needs a fixed one`,
        });
        continue;
      }
      operations.push({ id: a.id, machine: machineOf.get(a.resources[0]!)!, durationTicks: d });
    }
    const release = Math.max(job.releaseTicks ?? 0, ...chain.map((a) => a.releaseTicks ?? 0));
    jobs.push({
      id: jobId,
      operations,
      releaseTicks: release,
      ...(job.due ? { dueTicks: job.due.dueTicks } : {}),
      weight: job.due?.weight ?? 1,
    });
  }
  if (issues.length > 0) return err(issues);
  return ok({ name: model.name, machineIds, jobs });
}

function leafActivities(index: ModelIndex, id: string): ActivityNode[] {
  const node = index.nodes.get(id);
  if (!node) return [];
  if (node.kind === "activity") return [node];
  return node.children.flatMap((c) => leafActivities(index, c));
}

/** Orders a job's activities along its links; undefined unless they form a single chain. */
function orderChain(
  index: ModelIndex,
  activities: readonly ActivityNode[],
): ActivityNode[] | undefined {
  const ids = new Set(activities.map((a) => a.id));
  const next = new Map<string, string>();
  const hasPrev = new Set<string>();
  for (const a of activities) {
    for (const link of index.linksFrom.get(a.id) ?? []) {
      if (!ids.has(link.to)) continue;
      if (next.has(a.id) || hasPrev.has(link.to)) return undefined;
      next.set(a.id, link.to);
      hasPrev.add(link.to);
    }
  }
  const heads = activities.filter((a) => !hasPrev.has(a.id));
  if (heads.length !== 1) return undefined;
  const out: ActivityNode[] = [];
  for (let id: string | undefined = heads[0]!.id; id !== undefined; id = next.get(id)) {
    out.push(index.nodes.get(id) as ActivityNode);
  }
  return out.length === activities.length ? out : undefined;
}
