import { describe, expect, it } from "vitest";
import { assignRepairs, type RepairOffer, withdrawalLoss } from "./joint-repair.js";
import { NOTHING } from "./profiles.js";

const gap = { qaf: "max" as const, fixed: [NOTHING] };
const offer = (node: number, owner: string, p: number, extra: Partial<RepairOffer> = {}) => ({
  node,
  owner,
  tp: { p, v: 1 },
  busy: 24,
  ...extra,
});

describe("joint repair plan", () => {
  it("gives every gap an agent before it gives any gap a second try", () => {
    // a can serve either gap, b only the first: b takes the first, a the second.
    const offers = [offer(0, "a", 0.9), offer(0, "b", 0.8), offer(1, "a", 0.85)];
    expect(assignRepairs([gap, gap], offers).sort()).toEqual([1, 2]);
  });

  it("uses a spare agent for a second try, not for a try that adds too little", () => {
    const offers = [offer(0, "a", 0.85), offer(0, "b", 0.85)];
    expect(assignRepairs([gap], offers).sort()).toEqual([0, 1]);
    // A second try adding less than 5 points is not worth its agent.
    const sure = [offer(0, "a", 0.97), offer(0, "b", 0.5)];
    expect(assignRepairs([{ qaf: "max", fixed: [NOTHING] }], sure)).toEqual([0]);
  });

  it("takes an agent off an extra try elsewhere only for clearly more", () => {
    // A late gap: its only owner, a, holds the second try of another node (worth 0.13 there).
    const late = (p: number) => [offer(0, "a", p, { displaces: { node: "X", loss: 0.13 } })];
    expect(assignRepairs([gap], late(0.64))).toEqual([0]);
    // Less than twice what the extra try brings: a stays where it is.
    expect(assignRepairs([gap], late(0.2))).toEqual([]);
  });

  it("takes at most one extra try off the same node", () => {
    const offers = [
      offer(0, "a", 0.64, { displaces: { node: "X", loss: 0.13 } }),
      offer(1, "b", 0.64, { displaces: { node: "X", loss: 0.13 } }),
    ];
    expect(assignRepairs([gap, gap], offers)).toHaveLength(1);
  });

  it("measures what a node loses when one of its tries is withdrawn", () => {
    const tries = [
      { p: 0.85, v: 1 },
      { p: 0.85, v: 1 },
    ];
    expect(withdrawalLoss("max", [NOTHING], tries, 1)).toBeCloseTo(0.1275, 6);
    // The only try: the node loses all of it.
    expect(withdrawalLoss("max", [], [{ p: 0.85, v: 1 }], 0)).toBeCloseTo(0.85, 6);
  });
});
