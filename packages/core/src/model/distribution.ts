import type { Rng } from "../random.js";
import type { Distribution } from "./types.js";

/** A one-point distribution: the value happens with certainty. */
export const fixed = (value: number): Distribution => [{ value, probability: 1 }];

export function expectedValue(distribution: Distribution): number {
  let sum = 0;
  for (const outcome of distribution) sum += outcome.value * outcome.probability;
  return sum;
}

/** The value when the distribution has a single outcome, otherwise undefined. */
export function deterministicValue(distribution: Distribution): number | undefined {
  return distribution.length === 1 ? distribution[0]?.value : undefined;
}

export function maxValue(distribution: Distribution): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const outcome of distribution) if (outcome.value > max) max = outcome.value;
  return max;
}

/** Probability that the outcome is strictly positive (for qualities: probability of success). */
export function probabilityPositive(distribution: Distribution): number {
  let p = 0;
  for (const outcome of distribution) if (outcome.value > 0) p += outcome.probability;
  return p;
}

/** Draws one outcome by inverse transform on one uniform draw. */
export function sample(distribution: Distribution, rng: Rng): number {
  const u = rng.next();
  let cumulative = 0;
  for (const outcome of distribution) {
    cumulative += outcome.probability;
    if (u < cumulative) return outcome.value;
  }
  // Rounding can leave the cumulative sum a hair under 1.
  const last = distribution[distribution.length - 1];
  if (last === undefined) throw new Error("sample: empty distribution");
  return last.value;
}

/** Tolerance used when checking that probabilities sum to 1. */
export const PROBABILITY_TOLERANCE = 1e-6;
