import { expectedValue, fixed, probabilityPositive } from "../model/distribution.js";
import type { ActivityNode, Link, ModelNode, TaskModel, Ticks } from "../model/types.js";
import type { ModelDelta } from "../ports/environment.js";
import type { Rng } from "../random.js";

/**
 * Something the world does to a run that no distribution of the model foresaw (CSC §2
 * dynamism; CAMPS machine breakdowns and rush orders). A script of disruptions is fixed before a
 * run, so every strategy compared on a trial meets the same ones.
 */
export type Disruption =
  /**
   * The resource is broken over [fromTicks, untilTicks). At `fromTicks` it reports `unavailable`
   * and the activity running on it fails (reason `breakdown`); its work is lost and it must be
   * started again, from scratch, after the repair (the CAMPS restart model). Starts while it is
   * broken fail (reason `resource-unavailable`).
   */
  | {
      readonly kind: "breakdown";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
    }
  /**
   * Unannounced: every run of the activity lasts `ceil(sampled * factor) + extraTicks` ticks
   * (defaults 1 and 0) instead of its sampled duration.
   */
  | {
      readonly kind: "overrun";
      readonly activityId: string;
      readonly factor?: number;
      readonly extraTicks?: Ticks;
    }
  /** New jobs arrive at `atTicks`: the model grows by `delta`, announced by a `changed` event. */
  | { readonly kind: "rush-order"; readonly atTicks: Ticks; readonly delta: ModelDelta }
  /**
   * From `atTicks` the node's release and/or deadline are the given ones. Announced: a `changed`
   * event says so; unannounced: only the final model (and so the quality evaluation) knows.
   */
  | {
      readonly kind: "window-change";
      readonly atTicks: Ticks;
      readonly nodeId: string;
      readonly releaseTicks?: Ticks;
      readonly deadlineTicks?: Ticks;
      readonly announced: boolean;
    }
  /**
   * The agent of the resource is offline over [fromTicks, untilTicks): no event about the
   * resource is delivered and starts fail (reason `agent-offline`). The machine itself keeps
   * running what it was running. Events that fall in the window are `held` (default) and
   * delivered, with their original times, when the agent is back at `untilTicks`, or `lost`.
   */
  | {
      readonly kind: "offline";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
      readonly events?: "held" | "lost";
    }
  /**
   * CSC §2 unmodeled failure: the first run of the activity fails at its end (reason
   * `unmodeled-failure`) even though its quality distribution has no zero outcome. A later run
   * gets its sampled outcome (a transient fault).
   */
  | { readonly kind: "unmodeled-failure"; readonly activityId: string };

export type DisruptionKind = Disruption["kind"];

/** An inclusive range of integers. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** How many disruptions of each kind to draw, and over which horizon. */
export interface DisruptionSpec {
  /** Times are drawn in [0, horizonTicks). */
  readonly horizonTicks: Ticks;
  readonly breakdowns?: number;
  readonly overruns?: number;
  readonly rushOrders?: number;
  readonly windowChanges?: number;
  readonly offlines?: number;
  readonly unmodeledFailures?: number;
  /** Length of a breakdown or an outage; default 1 to a tenth of the horizon. */
  readonly outageTicks?: IntRange;
  /** Overrun factor in percent of the sampled duration; default 120 to 200. */
  readonly overrunPercent?: IntRange;
  /** Operations per rush-order job (on distinct resources); default up to 3. */
  readonly rushOrderSize?: number;
  /** How far a window edge moves; default up to a tenth of the horizon. */
  readonly windowShiftTicks?: number;
  /** Share of window changes that are announced; default 0.5. */
  readonly announcedFraction?: number;
}

/**
 * Draws a disruption script for a model. Each kind draws from its own fork of `rng`, forked in
 * a fixed order, so asking for more of one kind does not change the others. Overruns and
 * unmodeled failures pick distinct activities; unmodeled failures only pick activities whose
 * quality distribution has no zero outcome (otherwise the failure would be modeled).
 */
export function generateDisruptions(
  model: TaskModel,
  rng: Rng,
  spec: DisruptionSpec,
): Disruption[] {
  const horizon = Math.max(1, Math.floor(spec.horizonTicks));
  const tenth = Math.max(1, Math.floor(horizon / 10));
  const outage = spec.outageTicks ?? { min: 1, max: tenth };
  const percent = spec.overrunPercent ?? { min: 120, max: 200 };
  const shift = Math.max(1, spec.windowShiftTicks ?? tenth);
  const announcedFraction = spec.announcedFraction ?? 0.5;
  const resources = model.resources.map((r) => r.id);
  const activities = model.nodes.filter((n): n is ActivityNode => n.kind === "activity");
  const streams = {
    breakdowns: rng.fork(),
    overruns: rng.fork(),
    rushOrders: rng.fork(),
    windowChanges: rng.fork(),
    offlines: rng.fork(),
    unmodeledFailures: rng.fork(),
  };
  const out: Disruption[] = [];
  const at = (r: Rng): Ticks => r.int(0, horizon - 1);
  const interval = (r: Rng) => {
    const fromTicks = at(r);
    return {
      fromTicks,
      untilTicks: fromTicks + r.int(outage.min, Math.max(outage.min, outage.max)),
    };
  };

  if (resources.length > 0) {
    for (let i = 0; i < (spec.breakdowns ?? 0); i++) {
      const r = streams.breakdowns;
      out.push({ kind: "breakdown", resourceId: pick(r, resources), ...interval(r) });
    }
  }
  for (const a of pickDistinct(streams.overruns, activities, spec.overruns ?? 0)) {
    const p = streams.overruns.int(percent.min, Math.max(percent.min, percent.max));
    out.push({ kind: "overrun", activityId: a.id, factor: p / 100 });
  }
  const taken = new Set(model.nodes.map((n) => n.id));
  for (
    let k = 0;
    k < (spec.rushOrders ?? 0) && resources.length > 0 && activities.length > 0;
    k++
  ) {
    const r = streams.rushOrders;
    const atTicks = at(r);
    out.push({
      kind: "rush-order",
      atTicks,
      delta: rushOrder(r, model, activities, resources, atTicks, spec.rushOrderSize ?? 3, {
        number: k,
        taken,
      }),
    });
  }
  const changeable = model.nodes.filter((n) => n.id !== model.root);
  for (let i = 0; i < (spec.windowChanges ?? 0) && changeable.length > 0; i++) {
    const r = streams.windowChanges;
    const node = pick(r, changeable);
    const atTicks = at(r);
    const announced = r.next() < announcedFraction;
    if (node.deadlineTicks !== undefined) {
      const moved = node.deadlineTicks + r.int(-shift, shift);
      const deadlineTicks = Math.max(node.releaseTicks ?? 0, moved);
      out.push({ kind: "window-change", atTicks, nodeId: node.id, deadlineTicks, announced });
    } else {
      // A release can only meaningfully move later than the moment the change happens.
      const releaseTicks = Math.max(node.releaseTicks ?? 0, atTicks) + r.int(1, shift);
      out.push({ kind: "window-change", atTicks, nodeId: node.id, releaseTicks, announced });
    }
  }
  if (resources.length > 0) {
    for (let i = 0; i < (spec.offlines ?? 0); i++) {
      const r = streams.offlines;
      out.push({ kind: "offline", resourceId: pick(r, resources), ...interval(r) });
    }
  }
  const reliable = activities.filter((a) => probabilityPositive(a.quality) >= 1);
  for (const a of pickDistinct(streams.unmodeledFailures, reliable, spec.unmodeledFailures ?? 0))
    out.push({ kind: "unmodeled-failure", activityId: a.id });
  return out;
}

/** The nodes that the rush orders of a script add: sample their outcomes with the model's. */
export function rushOrderNodes(disruptions: readonly Disruption[]): ModelNode[] {
  return disruptions.flatMap((d) => (d.kind === "rush-order" ? [...(d.delta.addNodes ?? [])] : []));
}

/**
 * One rush job: a `min` task over `size` operations on distinct resources chained by enables,
 * released on arrival, due after twice its expected work, weighted 2. Each operation borrows the
 * duration distribution of a random activity of the model, so its length is typical of the shop.
 */
function rushOrder(
  r: Rng,
  model: TaskModel,
  activities: readonly ActivityNode[],
  resources: readonly string[],
  atTicks: Ticks,
  size: number,
  ids: { readonly number: number; readonly taken: Set<string> },
): ModelDelta {
  const { taken } = ids;
  const jobId = freshId(`rush${ids.number}`, taken);
  const machines = pickDistinct(r, resources, Math.max(1, Math.min(size, resources.length)));
  const ops: ActivityNode[] = machines.map((resourceId, k) => ({
    kind: "activity",
    id: freshId(`${jobId}.o${k}`, taken),
    resources: [resourceId],
    duration: pick(r, activities).duration,
    quality: fixed(1),
  }));
  const work = ops.reduce((s, o) => s + Math.ceil(expectedValue(o.duration)), 0);
  const links: Link[] = ops
    .slice(1)
    .map((o, k) => ({ kind: "enables", from: ops[k]!.id, to: o.id }));
  return {
    addNodes: [
      {
        kind: "task",
        id: jobId,
        qaf: "min",
        children: ops.map((o) => o.id),
        releaseTicks: atTicks,
        due: { dueTicks: atTicks + 2 * work, weight: 2 },
      },
      ...ops,
    ],
    addLinks: links,
    attachTo: model.root,
  };
}

function freshId(wanted: string, taken: Set<string>): string {
  let id = wanted;
  for (let i = 1; taken.has(id); i++) id = `${wanted}-${i}`;
  taken.add(id);
  return id;
}

function pick<T>(r: Rng, items: readonly T[]): T {
  const item = items[r.int(0, items.length - 1)];
  if (item === undefined) throw new Error("pick: no items");
  return item;
}

/** `count` distinct items (all of them if fewer), by a partial Fisher–Yates shuffle. */
function pickDistinct<T>(r: Rng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = r.int(i, pool.length - 1);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, n);
}
