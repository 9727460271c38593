import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActivityNode, ModelNode } from "../model/types.js";
import { createRng } from "../random.js";
import { sampleOutcome, sampleOutcomes, trialKey, trialSeeds } from "./outcomes.js";

const activity = (id: string): ActivityNode => ({
  kind: "activity",
  id,
  resources: ["r"],
  duration: [
    { value: 7, probability: 0.25 },
    { value: 8, probability: 0.5 },
    { value: 9, probability: 0.25 },
  ],
  quality: [
    { value: 0, probability: 0.3 },
    { value: 1, probability: 0.7 },
  ],
});

const nodes = (n: number): ModelNode[] => Array.from({ length: n }, (_, i) => activity(`m${i}`));

describe("trialSeeds", () => {
  it("is deterministic, prefix-stable and distinct", () => {
    const ten = trialSeeds(42, 10);
    expect(trialSeeds(42, 10)).toEqual(ten);
    expect(trialSeeds(42, 1000).slice(0, 10)).toEqual(ten);
    expect(new Set(trialSeeds(42, 1000)).size).toBe(1000);
    expect(trialSeeds(43, 10)).not.toEqual(ten);
    for (const s of ten) expect(Number.isInteger(s)).toBe(true);
  });
});

describe("sampleOutcomes: common random numbers", () => {
  it("gives each activity the same outcome whatever the sampling order or the other activities", () => {
    const all = nodes(200);
    const seed = trialSeeds(7, 1)[0]!;
    const reference = sampleOutcomes({ nodes: all }, createRng(seed));
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: 1 }), (subset) => {
        const outcomes = sampleOutcomes({ nodes: subset }, createRng(seed));
        for (const node of subset) expect(outcomes.get(node.id)).toEqual(reference.get(node.id));
      }),
    );
  });

  it("samples extra nodes (a rush order's) without changing the model's", () => {
    const seed = 99;
    const base = sampleOutcomes({ nodes: nodes(20) }, createRng(seed));
    const extended = sampleOutcomes({ nodes: nodes(20) }, createRng(seed), [activity("rush0.o0")]);
    expect(extended.size).toBe(21);
    for (const [id, o] of base) expect(extended.get(id)).toEqual(o);
    const key = trialKey(createRng(seed));
    expect(extended.get("rush0.o0")).toEqual(sampleOutcome(activity("rush0.o0"), key));
  });

  it("differs across trials", () => {
    const all = nodes(100);
    const [a, b] = trialSeeds(1, 2).map((s) => sampleOutcomes({ nodes: all }, createRng(s)));
    const differing = all.filter((n) => {
      const x = a!.get(n.id)!;
      const y = b!.get(n.id)!;
      return x.durationTicks !== y.durationTicks || x.quality !== y.quality;
    });
    // Two independent draws agree with probability 0.375 * 0.58 ≈ 0.22 per activity.
    expect(differing.length).toBeGreaterThan(50);
  });

  it("draws values of the distributions with their probabilities", () => {
    const all = nodes(20_000);
    const outcomes = sampleOutcomes({ nodes: all }, createRng(5));
    const count = (pred: (d: number, q: number) => boolean) =>
      [...outcomes.values()].filter((o) => pred(o.durationTicks, o.quality)).length / all.length;
    expect(count((d) => d === 7)).toBeCloseTo(0.25, 1);
    expect(count((d) => d === 8)).toBeCloseTo(0.5, 1);
    expect(count((_, q) => q === 0)).toBeCloseTo(0.3, 1);
    // Duration and quality come from one stream but must not be correlated.
    expect(count((d, q) => d === 8 && q === 1)).toBeCloseTo(0.35, 1);
    expect([...outcomes.values()].every((o) => [7, 8, 9].includes(o.durationTicks))).toBe(true);
  });
});
