import { describe, expect, it } from "vitest";
import { breakWaitForCycles, findWaitForCycle, type WaitEdge, waitForWaves } from "./wait-for.js";

const edge = (waiter: string, on: string, priority = 1, activityId = `${waiter}-op`): WaitEdge => ({
  waiter,
  on,
  activityId,
  priority,
});

describe("wait-for graph", () => {
  it("finds a cycle of agents waiting on each other", () => {
    expect(findWaitForCycle([edge("a", "b"), edge("b", "c")])).toBeUndefined();
    expect(findWaitForCycle([edge("a", "b"), edge("b", "c"), edge("c", "a")])).toEqual([
      "a",
      "b",
      "c",
      "a",
    ]);
  });

  it("breaks a cycle at its lowest-priority edge", () => {
    const { kept, broken } = breakWaitForCycles([
      edge("a", "b", 3),
      edge("b", "a", 1),
      edge("b", "c", 0),
    ]);
    expect(broken).toEqual([edge("b", "a", 1)]);
    expect(kept).toEqual([edge("a", "b", 3), edge("b", "c", 0)]);
  });

  it("breaks ties deterministically and handles cycles sharing edges", () => {
    const { broken, kept } = breakWaitForCycles([
      edge("a", "b"),
      edge("b", "a"),
      edge("b", "c"),
      edge("c", "b"),
    ]);
    expect(broken).toEqual([edge("a", "b"), edge("b", "c")]);
    expect(findWaitForCycle(kept)).toBeUndefined();
  });

  it("orders agents in waves: whoever is waited on goes first", () => {
    expect(
      waitForWaves(["a", "b", "c", "d"], [edge("a", "b"), edge("b", "c"), edge("d", "x")]),
    ).toEqual([["c", "d"], ["b"], ["a"]]);
    expect(() => waitForWaves(["a", "b"], [edge("a", "b"), edge("b", "a")])).toThrow();
  });
});
