import { expectedValue } from "../../model/distribution.js";
import type { Distribution, Ticks } from "../../model/types.js";
import type { Rng } from "../../random.js";

/** Priority of every entry of an initial schedule (the downgrader lowers it, CSC §3.2.3). */
export const INITIAL_PRIORITY = 2;

/** Version of a freshly generated initial schedule. */
export const INITIAL_VERSION = 1;

/**
 * The planned length of an activity: its expected duration rounded up, the same figure
 * `plannedDuration` uses when a schedule entry gives none.
 */
export const expectedTicks = (duration: Distribution): Ticks => Math.ceil(expectedValue(duration));

/**
 * A quality distribution that is `value` with probability `successPercent / 100` and 0
 * otherwise; the zero outcome is omitted when success is certain. Probabilities are computed
 * from integer percents so that they sum to exactly 1.
 */
export function twoPointQuality(value: number, successPercent: number): Distribution {
  if (successPercent >= 100) return [{ value, probability: 1 }];
  return [
    { value: 0, probability: (100 - successPercent) / 100 },
    { value, probability: successPercent / 100 },
  ];
}

/** Three duration outcomes with the 0.25 / 0.5 / 0.25 weights CSC §5 uses throughout. */
export const threePointDuration = (low: Ticks, mid: Ticks, high: Ticks): Distribution => [
  { value: low, probability: 0.25 },
  { value: mid, probability: 0.5 },
  { value: high, probability: 0.25 },
];

/** A uniformly random permutation of `items` (Fisher–Yates on the project's `Rng`). */
export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const a = out[i]!;
    out[i] = out[j]!;
    out[j] = a;
  }
  return out;
}

/** Zero-padded decimal, at least `width` digits. */
export const pad = (n: number, width: number): string => String(n).padStart(width, "0");
