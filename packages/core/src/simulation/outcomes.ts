import { sample } from "../model/distribution.js";
import type { ActivityNode, ModelNode, Ticks } from "../model/types.js";
import { createRng, type Rng } from "../random.js";

/** What one activity does when it runs in one trial. */
export interface SampledOutcome {
  readonly durationTicks: Ticks;
  readonly quality: number;
}

/** The sampled outcome of every activity of a trial, by activity id. */
export type Outcomes = ReadonlyMap<string, SampledOutcome>;

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers that spreads every input bit. */
function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, started from `key`, then finalized. */
function hashString(key: number, text: string): number {
  let h = (key ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h ^ text.length);
}

/**
 * Seeds for `trials` trials of one experiment. Trial `i`'s seed depends only on `seed` and `i`,
 * so a longer run extends a shorter one, and the seeds of one experiment are all distinct.
 */
export function trialSeeds(seed: number, trials: number): number[] {
  const base = fmix32(seed | 0);
  const out: number[] = [];
  // base + i * odd constant is distinct for every i < 2^32, and fmix32 is a bijection.
  for (let i = 0; i < trials; i++) out.push(fmix32((base + Math.imul(i, 0x9e3779b9)) >>> 0) | 0);
  return out;
}

/** The key of one trial: a single draw from `rng`, from which every activity's stream derives. */
export function trialKey(rng: Rng): number {
  return rng.int(0, 0xffffffff) >>> 0;
}

/**
 * The random stream of one activity in one trial. It depends on the trial key and the activity
 * id only, never on which other activities exist or in which order they are sampled: the common
 * random numbers that let two strategies be compared on the same sample path (CSC §4: the lower
 * and upper bars are computed in the same run on the same draws).
 */
export function activityStream(key: number, activityId: string): Rng {
  // Forking jumps the generator far ahead: the raw xoroshiro128+ state seeded from 32 bits shows
  // a small correlation between its first few outputs, the jumped one does not.
  return createRng(hashString(key, activityId) | 0).fork();
}

/** Draws one activity's outcome from its own stream: duration first, then quality. */
export function sampleOutcome(activity: ActivityNode, key: number): SampledOutcome {
  const rng = activityStream(key, activity.id);
  const durationTicks = sample(activity.duration, rng);
  const quality = sample(activity.quality, rng);
  return { durationTicks, quality };
}

/**
 * Samples the outcome of every activity among `nodes` (a model's, plus for instance the nodes a
 * rush order will add) with common random numbers: one draw from `rng` keys the trial, and each
 * activity's outcome comes from the stream of (key, activity id). Pass a fresh
 * `createRng(trialSeeds(seed, n)[i])` per trial, and the same one to every strategy compared.
 */
export function sampleOutcomes(
  model: { readonly nodes: readonly ModelNode[] },
  rng: Rng,
  extraNodes: readonly ModelNode[] = [],
): Map<string, SampledOutcome> {
  const key = trialKey(rng);
  const out = new Map<string, SampledOutcome>();
  for (const nodes of [model.nodes, extraNodes])
    for (const node of nodes)
      if (node.kind === "activity" && !out.has(node.id)) out.set(node.id, sampleOutcome(node, key));
  return out;
}
