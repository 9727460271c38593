import { expectedValue, sample } from "../model/distribution.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import { createRng } from "../random.js";
import type { Schedule } from "../schedule/types.js";
import { valueRange } from "./profiles.js";

/** A method the coordinator asks its owner to add to its schedule, with its start window. */
export interface ProactiveInstall {
  readonly activityId: string;
  readonly owner: string;
  readonly earliest: Ticks;
  readonly latest: Ticks;
  /** Node whose quality the method adds to (its parent). */
  readonly node: string;
  /** Estimated gain in expected root quality when added (with those chosen before it). */
  readonly gain: number;
}

export interface ImproveOptions {
  /** Sampled outcome sets the schedules are compared on (common random numbers). */
  readonly samples?: number;
  /** Seed of the coordinator's own draws (never the trial's). */
  readonly seed?: number;
  /** Most methods added. */
  readonly maxAdds?: number;
  /** Earliest start an install may ask for (the tick it reaches its owner). */
  readonly from?: Ticks;
  /**
   * Smallest gain, as a fraction of the schedule's estimated expected quality, for a method to
   * be worth adding: the estimate ignores what agents do on their own, so a small gain is noise.
   */
  readonly minGain?: number;
}

const DEFAULTS = { samples: 32, seed: 0x5eed, maxAdds: 4, from: 1, minGain: 0.02 } as const;

/** One agent's planned sequence, in the order it runs it. */
interface Planned {
  readonly id: string;
  readonly earliest: Ticks;
}

/**
 * Methods to add to a schedule nobody escalated, so that it is likelier to earn more: the
 * coordinator knows the whole network and the duration and quality distributions, not the
 * outcomes a run will meet. It estimates a schedule's expected root quality by running it on
 * its own sampled outcomes (each agent runs its methods in order, each as early as its owner,
 * its release and its enables sources allow, skipping one that can no longer end in time or
 * whose source can no longer be enabled), then greedily adds the unscheduled method, at the
 * place in its owner's sequence, that raises that estimate most (on the same samples), while it
 * raises it clearly: a surer or better alternative under a max, a redundant one where a failure
 * is likely and the owner idle, a method of a sum or min left out. Pure: the same model,
 * schedule and options give the same installs.
 */
export function proactiveInstalls(
  index: ModelIndex,
  initial: Schedule,
  options: ImproveOptions = {},
): ProactiveInstall[] {
  const o = { ...DEFAULTS, ...options };
  const activities = index.activities.filter((a) => a.resources[0] !== undefined);
  if (activities.length === 0) return [];
  const rng = createRng(o.seed);
  const draws = Array.from({ length: o.samples }, () => {
    const m = new Map<string, { d: Ticks; q: number }>();
    for (const a of activities)
      m.set(a.id, { d: sample(a.duration, rng), q: sample(a.quality, rng) });
    return m;
  });
  const plans = new Map<string, Planned[]>();
  const scheduled = new Set<string>();
  for (const rs of initial.resources) {
    const list = rs.activities
      .map((a) => ({ id: a.activityId, earliest: a.startTicks ?? a.window?.earliestTicks ?? 0 }))
      .sort((x, y) => x.earliest - y.earliest);
    plans.set(rs.resourceId, list);
    for (const a of list) scheduled.add(a.id);
  }
  const values = (p: ReadonlyMap<string, readonly Planned[]>): number[] =>
    draws.map((d) => simulate(index, p, d));
  let base = values(plans);
  const out: ProactiveInstall[] = [];
  for (let round = 0; round < o.maxAdds; round++) {
    const baseMean = mean(base);
    let best: { install: ProactiveInstall; plans: Map<string, Planned[]>; v: number[] } | undefined;
    for (const a of activities) {
      if (scheduled.has(a.id) || expectedValue(a.quality) <= 0) continue;
      const owner = a.resources[0] ?? "";
      const deadline = effectiveDeadline(index, a.id) ?? Number.POSITIVE_INFINITY;
      const latest = deadline - valueRange(a.duration).min;
      const release = effectiveRelease(index, a.id);
      const list = plans.get(owner) ?? [];
      const durations = (id: string): number => {
        const n = index.nodes.get(id);
        return n?.kind === "activity" ? Math.ceil(expectedValue(n.duration)) : 0;
      };
      for (let k = 0; k <= list.length; k++) {
        const prev = list[k - 1];
        const after = prev ? prev.earliest + durations(prev.id) : 0;
        const earliest = Math.max(after, release, o.from);
        if (earliest > latest) continue;
        const next = [...list.slice(0, k), { id: a.id, earliest }, ...list.slice(k)];
        const candidate = new Map(plans);
        candidate.set(owner, next);
        const v = values(candidate);
        const gain = mean(v) - baseMean;
        if (gain <= (best ? mean(best.v) - baseMean : 0)) continue;
        best = {
          install: {
            activityId: a.id,
            owner,
            earliest,
            latest,
            node: index.parent.get(a.id) ?? a.id,
            gain,
          },
          plans: candidate,
          v,
        };
      }
    }
    if (!best) break;
    const diffs = best.v.map((x, i) => x - (base[i] ?? 0));
    const gain = mean(diffs);
    // Clearly better: by a share of the expected quality, and beyond the sampling noise.
    if (gain < o.minGain * Math.max(1e-9, baseMean) || gain < 2 * standardError(diffs)) break;
    out.push(best.install);
    scheduled.add(best.install.activityId);
    for (const [k, v] of best.plans) plans.set(k, v);
    base = best.v;
  }
  return out;
}

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;

function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(v / xs.length);
}

/** What the estimate needs of a node, read from the model once. */
interface NodeInfo {
  readonly release: Ticks;
  readonly deadline: Ticks;
  /** Last start from which it can end by its deadline (at its shortest duration). */
  readonly latest: Ticks;
  /** Sources of the enables links into the node or any of its ancestors. */
  readonly sources: readonly string[];
}

const infos = new WeakMap<ModelIndex, Map<string, NodeInfo>>();

function info(index: ModelIndex, id: string): NodeInfo {
  let byId = infos.get(index);
  if (!byId) {
    byId = new Map();
    infos.set(index, byId);
  }
  let found = byId.get(id);
  if (!found) {
    const sources: string[] = [];
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      for (const link of index.linksTo.get(n) ?? [])
        if (link.kind === "enables") sources.push(link.from);
    const node = index.nodes.get(id);
    const deadline = effectiveDeadline(index, id) ?? Number.POSITIVE_INFINITY;
    found = {
      release: effectiveRelease(index, id),
      deadline,
      latest: node?.kind === "activity" ? deadline - valueRange(node.duration).min : deadline,
      sources,
    };
    byId.set(id, found);
  }
  return found;
}

/**
 * Root quality of a static schedule on one set of outcomes: each agent runs its sequence in
 * order; a method starts at the latest of its owner's free tick, its planned start, its release
 * and its enables sources' accrual, and is skipped when it could no longer end in time (its
 * latest start passed) or a source can no longer accrue quality.
 */
export function simulate(
  index: ModelIndex,
  plans: ReadonlyMap<string, readonly Planned[]>,
  outcomes: ReadonlyMap<string, { d: Ticks; q: number }>,
): number {
  const queues = [...plans.entries()].map(([agent, list]) => ({ agent, list: [...list], free: 0 }));
  const runs = new Map<string, { start: Ticks; end: Ticks; q: number }>();
  const pending = new Set(queues.flatMap((q) => q.list.map((p) => p.id)));
  // When a node accrues quality: a tick, "never", or "pending" (it depends on what has not run).
  const accrual = (id: string, seen: Set<string> = new Set()): number | "never" | "pending" => {
    if (seen.has(id)) return "never";
    seen.add(id);
    const node = index.nodes.get(id);
    if (!node) return "never";
    if (node.kind === "activity") {
      const r = runs.get(id);
      if (r) return r.q > 0 && r.end <= info(index, id).deadline ? r.end : "never";
      return pending.has(id) ? "pending" : "never";
    }
    const kids = node.children.map((c) => accrual(c, seen));
    const times = kids.filter((k): k is number => typeof k === "number");
    if (node.qaf === "min") {
      if (kids.includes("never")) return "never";
      if (kids.includes("pending")) return "pending";
      return Math.max(...times, 0);
    }
    if (times.length > 0) return Math.min(...times);
    return kids.includes("pending") ? "pending" : "never";
  };
  for (;;) {
    let pick: { queue: (typeof queues)[number]; at: Ticks } | undefined;
    let blocked: (typeof queues)[number] | undefined;
    for (const queue of queues) {
      for (;;) {
        const head = queue.list[0];
        if (!head) break;
        const a = index.nodes.get(head.id) as ActivityNode | undefined;
        const about = info(index, head.id);
        let at = Math.max(queue.free, head.earliest, about.release);
        let drop = a?.kind !== "activity";
        let wait = false;
        for (const s of about.sources) {
          const acc = accrual(s);
          if (acc === "never") drop = true;
          else if (acc === "pending") wait = true;
          else at = Math.max(at, acc);
        }
        if (!drop && at > about.latest) drop = true;
        if (drop) {
          queue.list.shift();
          pending.delete(head.id);
          continue;
        }
        if (wait) blocked ??= queue;
        else if (!pick || at < pick.at) pick = { queue, at };
        break;
      }
    }
    if (!pick) {
      // Only methods waiting on sources that wait in turn: the first gives up.
      if (!blocked) break;
      const head = blocked.list.shift();
      if (head) pending.delete(head.id);
      continue;
    }
    const head = pick.queue.list.shift();
    if (!head) break;
    const outcome = outcomes.get(head.id) ?? { d: 0, q: 0 };
    const end = pick.at + outcome.d;
    runs.set(head.id, { start: pick.at, end, q: outcome.q });
    pending.delete(head.id);
    pick.queue.free = end;
  }
  return rootQuality(index, runs);
}

/**
 * Root quality by CSC §2 of runs that each started enabled and after their release: a method
 * earns its outcome if it ended by its deadline; a syncsum counts the children that started
 * at its first start. (`evaluateQuality` checks all of it, at several times the cost; the
 * estimate runs thousands of times.)
 */
function rootQuality(
  index: ModelIndex,
  runs: ReadonlyMap<string, { start: Ticks; end: Ticks; q: number }>,
): number {
  const visit = (id: string): { q: number; start: number } => {
    const node = index.nodes.get(id);
    if (!node) return { q: 0, start: Number.POSITIVE_INFINITY };
    if (node.kind === "activity") {
      const r = runs.get(id);
      if (!r) return { q: 0, start: Number.POSITIVE_INFINITY };
      return { q: r.q > 0 && r.end <= info(index, id).deadline ? r.q : 0, start: r.start };
    }
    const kids = node.children.map(visit);
    const start = Math.min(...kids.map((k) => k.start));
    const counted = node.qaf === "syncsum" ? kids.filter((k) => k.start === start) : kids;
    let q = 0;
    if (node.qaf === "max") q = Math.max(0, ...counted.map((k) => k.q));
    else if (node.qaf === "min") q = Math.min(...counted.map((k) => k.q));
    else q = counted.reduce((sum, k) => sum + k.q, 0);
    return { q, start };
  };
  return visit(index.model.root).q;
}

const cache = new WeakMap<ModelIndex, WeakMap<Schedule, Map<string, ProactiveInstall[]>>>();

/**
 * `proactiveInstalls`, remembered per model index, schedule and options: every trial of a
 * scenario asks the same question, and the answer depends on nothing else.
 */
export function proactiveInstallsCached(
  index: ModelIndex,
  initial: Schedule,
  options: ImproveOptions = {},
): ProactiveInstall[] {
  let bySchedule = cache.get(index);
  if (!bySchedule) {
    bySchedule = new WeakMap();
    cache.set(index, bySchedule);
  }
  let byOptions = bySchedule.get(initial);
  if (!byOptions) {
    byOptions = new Map();
    bySchedule.set(initial, byOptions);
  }
  const key = JSON.stringify(options);
  let found = byOptions.get(key);
  if (!found) {
    found = proactiveInstalls(index, initial, options);
    byOptions.set(key, found);
  }
  return found;
}
