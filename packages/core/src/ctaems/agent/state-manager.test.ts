import { describe, expect, it } from "vitest";
import { reachablePotential } from "./state-manager.js";
import type { Profile } from "./types.js";

describe("reachablePotential", () => {
  const open: Profile = { cur: { p: 0, v: 0 }, pot: { p: 0.8, v: 10 }, busy: 0 };

  it("an unscheduled method its owner is busy past its last start could achieve nothing", () => {
    expect(reachablePotential(open, 20, 25).pot).toEqual({ p: 0, v: 0 });
  });

  it("keeps the potential while the owner can still reach it, or once it is planned", () => {
    expect(reachablePotential(open, 20, 20).pot.p).toBe(0.8);
    const planned = { ...open, cur: { p: 0.8, v: 10 } };
    expect(reachablePotential(planned, 20, 25).pot.p).toBe(0.8);
  });
});
