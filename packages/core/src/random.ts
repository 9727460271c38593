import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/**
 * A seeded source of randomness. Core never calls `Math.random()`: every function that needs
 * chance takes an `Rng`, so a seed reproduces a run.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** An independent stream derived from this one (does not disturb this stream's sequence). */
  fork(): Rng;
}

/** Creates the project's standard generator (xoroshiro128+) from a 32-bit seed. */
export function createRng(seed: number): Rng {
  const generator = xoroshiro128plus(seed | 0);
  return wrap(generator);
}

function wrap(generator: ReturnType<typeof xoroshiro128plus>): Rng {
  return {
    next: () => uniformFloat64(generator),
    int: (min, max) => uniformInt(generator, min, max),
    fork: () => {
      const child = generator.clone();
      child.jump?.();
      // Advance the parent once so that successive forks differ.
      generator.next();
      return wrap(child);
    },
  };
}
