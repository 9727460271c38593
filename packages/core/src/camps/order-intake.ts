import { indexModel, type ModelIndex } from "../model/model-index.js";
import type { Link, ModelNode, TaskModel, Ticks } from "../model/types.js";
import { releaseAndDueDates } from "./manager.js";

/** An order of jobs from a client (the wire's `order` body has this shape). */
export interface OrderRequest {
  readonly orderId: string;
  /** 0..100; a higher priority weighs more on weighted tardiness (see `priorityWeight`). */
  readonly priority?: number;
  readonly jobs: readonly {
    readonly id: string;
    readonly releaseTicks?: Ticks;
    readonly dueTicks?: Ticks;
    readonly weight?: number;
    readonly operations: readonly {
      /** Default: `{job id}.o{index}`. */
      readonly id?: string;
      /** Capable resources; the first is the preferred one. */
      readonly resources: readonly string[];
      readonly durationTicks: Ticks;
    }[];
  }[];
}

/** What an accepted order adds to the model: its jobs (under the root), operations and chains. */
export interface OrderDelta {
  readonly orderId: string;
  /** Job ids appended to the root's children. */
  readonly jobIds: readonly string[];
  readonly nodes: readonly ModelNode[];
  readonly links: readonly Link[];
}

export type Admission =
  | {
      readonly kind: "accepted";
      readonly delta: OrderDelta;
      readonly model: TaskModel;
      readonly index: ModelIndex;
    }
  /** The order cannot join this site's model; `reason` says which part and why, for its sender. */
  | { readonly kind: "refused"; readonly reason: string };

/**
 * How much an order's priority (0..100) multiplies its jobs' weights, so the weighted-tardiness
 * objective of planning and repair schedules a more urgent order ahead of a routine one: priority
 * 0 leaves weights as they are, 10 doubles them, 100 makes them eleven times heavier.
 */
export function priorityWeight(priority: number | undefined): number {
  return 1 + Math.max(0, priority ?? 0) / 10;
}

/**
 * The CAMPS manager's intake of an order: each job becomes a task under the root with a release
 * date (not before now) and a due date set from the resources' queued work, its operations
 * activities chained by `enables` links. Refused, with the reason, when an id is already in the
 * model, a resource is not one of the site's, or the result is not a valid model. Pure.
 */
export function admitOrder(
  model: TaskModel,
  index: ModelIndex,
  order: OrderRequest,
  nowTicks: Ticks,
  load: Readonly<Record<string, Ticks>>,
): Admission {
  const resources = new Set(model.resources.map((r) => r.id));
  const taken = new Set(index.nodes.keys());
  for (const [j, job] of order.jobs.entries()) {
    const ids = job.operations.map((o, k) => o.id ?? `${job.id}.o${k}`);
    for (const [i, id] of [job.id, ...ids].entries()) {
      const where = i === 0 ? `jobs[${j}]` : `jobs[${j}].operations[${i - 1}]`;
      if (taken.has(id))
        return { kind: "refused", reason: `${where}: id "${id}" is already in the model` };
      taken.add(id);
    }
    for (const [k, op] of job.operations.entries())
      for (const r of op.resources)
        if (!resources.has(r))
          return {
            kind: "refused",
            reason: `jobs[${j}].operations[${k}].resources: "${r}" is not a resource of this site (${[...resources].join(", ")})`,
          };
  }
  const dates = releaseAndDueDates(
    order.jobs.map((j) => ({
      id: j.id,
      operations: j.operations.map((o) => ({
        resourceIds: [...o.resources],
        durationTicks: o.durationTicks,
      })),
      releaseTicks: Math.max(nowTicks, j.releaseTicks ?? nowTicks),
      ...(j.dueTicks !== undefined ? { dueTicks: j.dueTicks } : {}),
      ...(j.weight !== undefined ? { weight: j.weight } : {}),
    })),
    load,
    { nowTicks },
  );
  const nodes: ModelNode[] = [];
  const links: Link[] = [];
  const factor = priorityWeight(order.priority);
  order.jobs.forEach((job, j) => {
    const d = dates[j]!;
    const ids = job.operations.map((o, k) => o.id ?? `${job.id}.o${k}`);
    nodes.push({
      kind: "task",
      id: job.id,
      qaf: "min",
      children: ids,
      releaseTicks: d.releaseTicks,
      due: { dueTicks: d.dueTicks, weight: (job.weight ?? 1) * factor },
    });
    job.operations.forEach((o, k) => {
      nodes.push({
        kind: "activity",
        id: ids[k]!,
        resources: [...o.resources],
        duration: [{ value: o.durationTicks, probability: 1 }],
        quality: [{ value: 1, probability: 1 }],
      });
      if (k > 0) links.push({ kind: "enables", from: ids[k - 1]!, to: ids[k]! });
    });
  });
  const delta: OrderDelta = {
    orderId: order.orderId,
    jobIds: order.jobs.map((j) => j.id),
    nodes,
    links,
  };
  const next = applyOrder(model, delta);
  if (next === undefined)
    return { kind: "refused", reason: `the model's root "${model.root}" is not a task` };
  const indexed = indexModel(next);
  if (!indexed.ok) {
    const issue = indexed.error[0];
    return { kind: "refused", reason: `${issue?.path ?? "order"}: ${issue?.message ?? "invalid"}` };
  }
  return { kind: "accepted", delta, model: next, index: indexed.value };
}

/** The model with an accepted order's jobs added (also how a journalled order is replayed). */
export function applyOrder(model: TaskModel, delta: OrderDelta): TaskModel | undefined {
  const root = model.nodes.find((n) => n.id === model.root);
  if (root?.kind !== "task") return undefined;
  return {
    ...model,
    nodes: [
      ...model.nodes.map((n) =>
        n.id === root.id ? { ...root, children: [...root.children, ...delta.jobIds] } : n,
      ),
      ...delta.nodes,
    ],
    links: [...model.links, ...delta.links],
  };
}

/** What the manager knows between orders. */
export interface ManagerState {
  readonly model: TaskModel;
  readonly index: ModelIndex;
  /** Ids of the orders accepted so far (a resend gets the same answer, and adds nothing). */
  readonly accepted: ReadonlySet<string>;
}

/** An order as it arrives: from whom, under which message id (for the reply's correlation). */
export interface OrderArrival {
  readonly from: string;
  readonly messageId: string;
  readonly order: OrderRequest;
  /** Work queued on each resource now (`queuedLoad`). */
  readonly load: Readonly<Record<string, Ticks>>;
}

/** What the manager asks of its shell, to be carried out in this order. */
export type ManagerCommand =
  /** Journal the accepted order before anything is said or done on its strength. */
  | {
      readonly kind: "journal";
      readonly from: string;
      readonly atTicks: Ticks;
      readonly delta: OrderDelta;
    }
  /** Answer the sender (correlated with its message). */
  | {
      readonly kind: "reply";
      readonly to: string;
      readonly corr: string;
      readonly orderId: string;
      readonly accepted: boolean;
      readonly reason?: string;
      readonly jobs?: number;
    }
  /** Re-plan so the new jobs are scheduled. */
  | { readonly kind: "repair"; readonly trigger: string };

/**
 * The CAMPS manager's step on an order: `(state, order, now) → (state, commands)`. A resend of an
 * accepted order is answered again and changes nothing; a refused order changes nothing and its
 * sender hears why; an accepted one joins the model, is journalled, answered and scheduled.
 */
export function intakeOrder(
  state: ManagerState,
  arrival: OrderArrival,
  nowTicks: Ticks,
): { readonly state: ManagerState; readonly commands: readonly ManagerCommand[] } {
  const { order, from, messageId } = arrival;
  const reply = (accepted: boolean, reason?: string, jobs?: number): ManagerCommand => ({
    kind: "reply",
    to: from,
    corr: messageId,
    orderId: order.orderId,
    accepted,
    ...(reason !== undefined ? { reason } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
  });
  if (state.accepted.has(order.orderId))
    return { state, commands: [reply(true, "already accepted", order.jobs.length)] };
  const admission = admitOrder(state.model, state.index, order, nowTicks, arrival.load);
  if (admission.kind === "refused") return { state, commands: [reply(false, admission.reason)] };
  return {
    state: {
      model: admission.model,
      index: admission.index,
      accepted: new Set([...state.accepted, order.orderId]),
    },
    commands: [
      { kind: "journal", from, atTicks: nowTicks, delta: admission.delta },
      reply(true, undefined, order.jobs.length),
      { kind: "repair", trigger: `rush order ${order.orderId}` },
    ],
  };
}
