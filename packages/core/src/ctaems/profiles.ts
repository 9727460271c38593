import type { Distribution, Qaf } from "../model/types.js";

/**
 * Profiles (CSC §3.1.3) in a two-point form: a node either earns nothing or earns about `v`,
 * with probability `p` of earning something. `p` is the probability of success, `p * v` the
 * expected quality. Every QAF of a two-point child set is evaluated exactly under independence for
 * `p`; `v` is exact for sum and max and the usual bottleneck estimate for min. The point of the
 * form is that a node's expected quality is linear in each child's `p`, so the marginal value of
 * one method to the root — its importance — is the difference of two evaluations.
 */
export interface TwoPoint {
  /** Probability that the node earns positive quality. */
  readonly p: number;
  /** Quality it earns when it earns any (conditional expectation). */
  readonly v: number;
}

export const NOTHING: TwoPoint = { p: 0, v: 0 };

/** Expected quality of a two-point profile. */
export const expected = (x: TwoPoint): number => x.p * x.v;

/** Combines children profiles by a task's QAF. An empty child set earns nothing. */
export function combine(qaf: Qaf, children: readonly TwoPoint[]): TwoPoint {
  if (children.length === 0) return NOTHING;
  switch (qaf) {
    case "min": {
      let p = 1;
      let v = Number.POSITIVE_INFINITY;
      for (const c of children) {
        p *= c.p;
        if (c.v < v) v = c.v;
      }
      return p > 0 ? { p, v } : NOTHING;
    }
    case "max": {
      // E[max] of independent two-point variables: the best value that succeeds.
      const sorted = [...children].sort((a, b) => b.v - a.v);
      let none = 1;
      let eq = 0;
      for (const c of sorted) {
        eq += none * c.p * c.v;
        none *= 1 - c.p;
      }
      const p = 1 - none;
      return p > 1e-12 ? { p, v: eq / p } : NOTHING;
    }
    case "sum":
    case "syncsum": {
      // Syncsum is read as sum: the execution controller synchronizes scheduled starts, so the
      // children counted are the ones planned together.
      let none = 1;
      let eq = 0;
      for (const c of children) {
        eq += c.p * c.v;
        none *= 1 - c.p;
      }
      const p = 1 - none;
      return p > 1e-12 ? { p, v: eq / p } : NOTHING;
    }
  }
}

/** Probability that a duration drawn from `duration` is at most `limit` ticks. */
export function probabilityAtMost(duration: Distribution, limit: number): number {
  let p = 0;
  for (const o of duration) if (o.value <= limit) p += o.probability;
  return Math.min(1, p);
}

/**
 * Probability that a run started `elapsed` ticks ago finishes within `limit` ticks of its start,
 * given it has not finished yet: P(D <= limit | D > elapsed).
 */
export function probabilityAtMostGiven(
  duration: Distribution,
  limit: number,
  elapsed: number,
): number {
  let alive = 0;
  let ok = 0;
  for (const o of duration) {
    if (o.value <= elapsed) continue;
    alive += o.probability;
    if (o.value <= limit) ok += o.probability;
  }
  return alive > 0 ? Math.min(1, ok / alive) : 0;
}

/** Success profile of a quality distribution: P(q > 0) and E[q | q > 0]. */
export function qualityProfile(quality: Distribution): TwoPoint {
  let p = 0;
  let eq = 0;
  for (const o of quality)
    if (o.value > 0) {
      p += o.probability;
      eq += o.probability * o.value;
    }
  return p > 0 ? { p: Math.min(1, p), v: eq / p } : NOTHING;
}

/** Smallest and largest value of a distribution. */
export function valueRange(d: Distribution): { readonly min: number; readonly max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const o of d) {
    if (o.value < min) min = o.value;
    if (o.value > max) max = o.value;
  }
  return { min, max };
}
