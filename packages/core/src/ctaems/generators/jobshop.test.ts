import { describe, expect, it } from "vitest";
import { indexModel } from "../../model/model-index.js";
import { generateJobShopScenario, jobShopMachineId } from "./jobshop.js";

describe("generateJobShopScenario", () => {
  it("is a valid C-TAEMS model with 10 activities per machine, two machines per operation", () => {
    for (const machines of [2, 10, 57]) {
      const s = generateJobShopScenario({ machines, seed: 3 });
      const indexed = indexModel(s.model);
      expect(indexed.ok).toBe(true);
      const activities = s.model.nodes.filter((n) => n.kind === "activity");
      expect(activities).toHaveLength(10 * machines);
      expect(s.model.resources).toHaveLength(machines);
      for (const n of s.model.nodes)
        if (n.kind === "task" && n.qaf === "max") {
          const owners = n.children.map(
            (c) => activities.find((a) => a.id === c)?.resources[0] ?? "",
          );
          expect(new Set(owners).size).toBe(2);
        }
      // Operations of a job are chained by enables links.
      expect(s.model.links).toHaveLength(machines * 4);
    }
  });

  it("is reproducible from its seed, and differs between seeds", () => {
    const a = generateJobShopScenario({ machines: 20, seed: 5 });
    expect(generateJobShopScenario({ machines: 20, seed: 5 })).toEqual(a);
    expect(generateJobShopScenario({ machines: 20, seed: 6 }).model).not.toEqual(a.model);
  });

  it("breakdowns zero, announced, only what the initial schedule had one machine start in the outage", () => {
    const s = generateJobShopScenario({ machines: 40, seed: 2 });
    expect(s.params.breakdowns).toBe(8);
    expect(s.changes.length).toBeGreaterThan(0);
    const planned = new Map(
      s.initial.resources.flatMap((r) =>
        r.activities.map((a) => [
          a.activityId,
          { machine: r.resourceId, start: a.startTicks ?? 0 },
        ]),
      ),
    );
    for (const c of s.changes) {
      expect(c.announced).toBe(true);
      expect(c.quality).toEqual([{ value: 0, probability: 1 }]);
      const p = planned.get(c.nodeId);
      expect(p).toBeDefined();
      // It breaks before the method was to start.
      expect(c.atTicks).toBeLessThanOrEqual(p?.start ?? -1);
    }
    expect(new Set(s.changes.map((c) => c.nodeId)).size).toBe(s.changes.length);
  });

  it("names machines so they sort in order, and refuses a shop of one machine", () => {
    expect(jobShopMachineId(7, 1000)).toBe("machine-007");
    expect(() => generateJobShopScenario({ machines: 1, seed: 1 })).toThrow(/machines must be/);
  });
});
