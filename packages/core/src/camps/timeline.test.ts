import { describe, expect, it } from "vitest";
import { collides, earliestFit, feasibleStarts, gaps, mergeIntervals } from "./timeline.js";

const iv = (fromTicks: number, untilTicks: number) => ({ fromTicks, untilTicks });

describe("timeline", () => {
  it("merges touching and overlapping intervals and drops empty ones", () => {
    expect(mergeIntervals([iv(5, 7), iv(0, 2), iv(2, 3), iv(6, 9), iv(4, 4)])).toEqual([
      iv(0, 3),
      iv(5, 9),
    ]);
  });
  it("collision is half-open; an instant collides inside; an empty interval never", () => {
    expect(collides(0, 5, iv(5, 6))).toBe(false);
    expect(collides(4, 2, iv(5, 6))).toBe(true);
    expect(collides(5, 0, iv(5, 6))).toBe(true);
    expect(collides(6, 0, iv(5, 6))).toBe(false);
    expect(collides(0, 10, iv(5, 5))).toBe(false);
  });
  it("earliest fit skips busy time until the reservation fits", () => {
    const busy = mergeIntervals([iv(2, 4), iv(6, 9)]);
    expect(earliestFit(busy, 0, 2)).toBe(0);
    expect(earliestFit(busy, 0, 3)).toBe(9);
    expect(earliestFit(busy, 3, 2)).toBe(4);
    expect(earliestFit(busy, 7, 0)).toBe(9);
  });
  it("gaps and feasible starts", () => {
    const busy = mergeIntervals([iv(2, 4), iv(6, 9)]);
    expect(gaps(busy, 0, 12)).toEqual([iv(0, 2), iv(4, 6), iv(9, 12)]);
    expect(feasibleStarts(busy, 0, 10, 2)).toBe(1 + 1 + 2);
    expect(feasibleStarts(busy, 5, 4, 1)).toBe(0);
  });
});
