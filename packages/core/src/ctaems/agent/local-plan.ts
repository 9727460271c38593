import type { Ticks } from "../../model/types.js";

/** A method the agent has committed to: it starts once the resource is free, in its window. */
export interface Commitment {
  readonly id: string;
  readonly earliest: Ticks;
  /** Its last start (window sliding drops it after). */
  readonly latest: Ticks;
  readonly deadline: Ticks;
  readonly mean: number;
  readonly longest: Ticks;
  /** A synchronized start: it must start at `earliest`. */
  readonly sync?: boolean;
}

/** An unscheduled method the agent could take up in an idle gap. */
export interface LocalOption {
  readonly id: string;
  readonly release: Ticks;
  /** Its last start from which it can still meet its deadline. */
  readonly latest: Ticks;
  readonly mean: number;
  readonly longest: Ticks;
  /** Alternatives under one max: a later one adds only what it is worth beyond the best taken. */
  readonly group?: string;
  /** Its importance-weighted value if started at `at`. */
  readonly value: (at: Ticks) => number;
  /** Its chance of earning anything if started at `at` (1 where not given). */
  readonly chance?: (at: Ticks) => number;
}

/**
 * The last tick by which the resource must be free so that every commitment can still start in
 * time to end by its deadline at its longest, in order (a synchronized one when planned).
 */
export function freeByOf(pending: readonly Commitment[]): Ticks {
  const sorted = [...pending].sort((a, b) => a.earliest - b.earliest);
  let bound = Number.POSITIVE_INFINITY;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const c = sorted[i];
    if (!c) continue;
    bound = c.sync ? c.earliest : Math.max(c.earliest, Math.min(c.deadline, bound) - c.longest);
  }
  return bound;
}

/**
 * What the agent's idle gaps are worth, from `from` on (when the resource is free): the
 * commitments run in order as the execution controller runs them (each as soon as it may, at
 * its expected duration), and in between the agent takes up, as its opportunistic scheduler
 * does, the most valuable option that can start now and end before the commitments need the
 * resource. The sum of the options' values is returned; the commitments' own worth is the
 * caller's. Comparing it with and without a new commitment says what that commitment would
 * shut out, later gaps included (a method pushed later may leave no room for the next).
 */
export function idleValue(
  from: Ticks,
  commitments: readonly Commitment[],
  options: readonly LocalOption[],
): number {
  return idlePlan(from, commitments, options).value;
}

/** `idleValue`, with the option taken up first and when (if any). */
export function idlePlan(
  from: Ticks,
  commitments: readonly Commitment[],
  options: readonly LocalOption[],
): { value: number; first?: { id: string; at: Ticks } } {
  let first: { id: string; at: Ticks } | undefined;
  const pending = [...commitments].sort((a, b) => a.earliest - b.earliest);
  const used = new Set<string>();
  /** Per group, the value of the best alternative taken. */
  const groups = new Map<string, number>();
  let t = from;
  let total = 0;
  for (let guard = 0; guard < 1000; guard++) {
    // Window sliding drops what can no longer start.
    while (pending[0] !== undefined && pending[0].latest < t) pending.shift();
    const next = pending[0];
    if (next !== undefined && next.earliest <= t) {
      pending.shift();
      t += next.mean;
      continue;
    }
    const freeBy = freeByOf(pending);
    let best: { o: LocalOption; v: number } | undefined;
    for (const o of options) {
      if (used.has(o.id)) continue;
      if (o.release > t || t > o.latest || t + o.longest > freeBy) continue;
      const v = o.value(t) - (o.group !== undefined ? (groups.get(o.group) ?? 0) : 0);
      if (v > 1e-9 && (!best || v > best.v + 1e-12)) best = { o, v };
    }
    if (best) {
      first ??= { id: best.o.id, at: t };
      used.add(best.o.id);
      const g = best.o.group;
      if (g !== undefined) groups.set(g, (groups.get(g) ?? 0) + best.v);
      total += best.v;
      t += best.o.mean;
      continue;
    }
    // Nothing to take up now: wait for the next commitment or the next release.
    let wake = next?.earliest ?? Number.POSITIVE_INFINITY;
    for (const o of options)
      if (!used.has(o.id) && o.release > t && o.release <= o.latest)
        wake = Math.min(wake, o.release);
    if (!Number.isFinite(wake)) break;
    t = Math.max(t + 1, wake);
  }
  return first ? { value: total, first } : { value: total };
}
