import { describe, expect, it } from "vitest";
import { meanCi, pairedDifference } from "./bench-ctaems.js";

describe("bench ctaems statistics", () => {
  it("mean with a 95% half-width from the sample standard deviation", () => {
    const { mean, ci } = meanCi([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    // s = sqrt(5/3), half-width = 1.96 s / sqrt(4)
    expect(ci).toBeCloseTo((1.96 * Math.sqrt(5 / 3)) / 2, 10);
    expect(meanCi([7]).ci).toBe(0);
  });

  it("paired differences: significant only when the interval excludes zero", () => {
    const clear = pairedDifference([3, 4, 5, 6], [1, 2, 3, 4]);
    expect(clear).toMatchObject({ mean: 2, ci: 0, significant: true, wins: 4, losses: 0 });
    const noisy = pairedDifference([3, 0, 5, 0], [1, 2, 3, 4]);
    expect(noisy.significant).toBe(false);
    expect(noisy.wins).toBe(2);
    expect(noisy.losses).toBe(2);
    expect(pairedDifference([1, 1], [1, 1]).significant).toBe(false);
  });
});
