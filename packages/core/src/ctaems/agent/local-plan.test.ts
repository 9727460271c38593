import { describe, expect, it } from "vitest";
import { type Commitment, freeByOf, idleValue, type LocalOption } from "./local-plan.js";
import { givesWay } from "./opportunistic-scheduler.js";

const commit = (id: string, earliest: number, length: number, deadline: number): Commitment => ({
  id,
  earliest,
  latest: deadline - length,
  deadline,
  mean: length,
  longest: length,
});

const option = (
  id: string,
  length: number,
  value: number,
  window: { release?: number; deadline?: number; group?: string } = {},
): LocalOption => {
  const deadline = window.deadline ?? Number.POSITIVE_INFINITY;
  return {
    id,
    release: window.release ?? 0,
    latest: deadline - length,
    mean: length,
    longest: length,
    ...(window.group !== undefined ? { group: window.group } : {}),
    value: (at) => (at + length <= deadline ? value : 0),
  };
};

describe("freeByOf", () => {
  it("is the last tick every commitment can still start from, in order", () => {
    // b must start by 20 - 5 = 15; a, before it, by 15 - 4 = 11.
    expect(freeByOf([commit("b", 12, 5, 20), commit("a", 8, 4, 30)])).toBe(11);
    expect(freeByOf([])).toBe(Number.POSITIVE_INFINITY);
  });

  it("pins a synchronized start", () => {
    expect(freeByOf([{ ...commit("s", 9, 3, 40), sync: true }])).toBe(9);
  });
});

describe("idleValue", () => {
  it("takes up the most valuable option that ends before the next commitment needs the resource", () => {
    // Free from 0; c must start by 10: only the 6-tick option fits before it.
    const value = idleValue(
      0,
      [commit("c", 10, 5, 15)],
      [option("long", 12, 50), option("short", 6, 8)],
    );
    // After c (ends at 15) the long one still runs.
    expect(value).toBe(58);
  });

  it("counts what a commitment pushed later leaves no room for", () => {
    const options = [option("after", 6, 10, { release: 10, deadline: 24 })];
    // c at 5 ends at 15: "after" still ends by 24. Pinned at 12, c leaves it no room.
    expect(idleValue(2, [commit("c", 5, 10, 40)], options)).toBe(10);
    expect(idleValue(2, [{ ...commit("c", 12, 10, 40), sync: true }], options)).toBe(0);
    // Not pinned and with room to spare, c waits while "after" runs.
    expect(idleValue(2, [commit("c", 20, 10, 40)], options)).toBe(10);
  });

  it("counts an alternative of a group only beyond the best taken, and waits for a release", () => {
    const value = idleValue(
      0,
      [],
      [
        option("a", 5, 7, { group: "M" }),
        option("b", 5, 6, { group: "M" }),
        option("c", 5, 9, { group: "M", release: 6 }),
        option("later", 5, 3, { release: 30 }),
      ],
    );
    // a (7) at 0, c adds 2 at 6 (b adds nothing), later 3.
    expect(value).toBe(12);
  });

  it("drops a commitment whose window has passed", () => {
    expect(idleValue(20, [commit("gone", 5, 10, 18)], [option("o", 4, 2)])).toBe(2);
  });
});

describe("givesWay", () => {
  it("asks for clearly more (a fifth, and a hundredth of the method's value)", () => {
    expect(givesWay(10, 12, 10)).toBe(false);
    expect(givesWay(10, 12.2, 10)).toBe(true);
    expect(givesWay(0, 0.05, 10)).toBe(false);
  });
});
