import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import { type JobShopInstance, jobShopToModel } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { createRng } from "../random.js";
import { type DisruptionSpec, generateDisruptions, rushOrderNodes } from "./disruptions.js";
import { applyModelDelta } from "./model-delta.js";

const instance: JobShopInstance = {
  name: "4x3",
  machineIds: ["m0", "m1", "m2"],
  jobs: Array.from({ length: 4 }, (_, j) => ({
    id: `j${j}`,
    operations: [0, 1, 2].map((k) => ({
      id: `j${j}.o${k}`,
      machine: (j + k) % 3,
      durationTicks: 2 + ((j * 3 + k) % 5),
    })),
    releaseTicks: j,
    weight: 1,
  })),
};
const shop = jobShopToModel(instance);
// One operation may fail by its model, so it can never be picked for an unmodeled failure.
const model: TaskModel = {
  ...shop,
  nodes: shop.nodes.map((n) =>
    n.id === "j0.o0" && n.kind === "activity"
      ? {
          ...n,
          quality: [
            { value: 0, probability: 0.1 },
            { value: 1, probability: 0.9 },
          ],
        }
      : n,
  ),
};

const spec: DisruptionSpec = {
  horizonTicks: 100,
  breakdowns: 3,
  overruns: 4,
  rushOrders: 2,
  windowChanges: 3,
  offlines: 2,
  unmodeledFailures: 11,
};

describe("generateDisruptions", () => {
  it("is reproducible from the seed and draws the asked counts within the horizon", () => {
    const script = generateDisruptions(model, createRng(3), spec);
    expect(generateDisruptions(model, createRng(3), spec)).toEqual(script);
    expect(generateDisruptions(model, createRng(4), spec)).not.toEqual(script);
    const count = (kind: string) => script.filter((d) => d.kind === kind).length;
    expect([
      count("breakdown"),
      count("overrun"),
      count("rush-order"),
      count("window-change"),
      count("offline"),
    ]).toEqual([3, 4, 2, 3, 2]);
    // 12 operations, one of which has a modeled failure: 11 can fail unmodeled.
    expect(count("unmodeled-failure")).toBe(11);
    for (const d of script) {
      if (d.kind === "breakdown" || d.kind === "offline") {
        expect(d.fromTicks).toBeGreaterThanOrEqual(0);
        expect(d.fromTicks).toBeLessThan(100);
        expect(d.untilTicks).toBeGreaterThan(d.fromTicks);
      }
      if (d.kind === "rush-order" || d.kind === "window-change")
        expect(d.atTicks).toBeLessThan(100);
      if (d.kind === "overrun") expect(d.factor).toBeGreaterThanOrEqual(1.2);
    }
  });

  it("picks distinct activities, and no modeled failure for an unmodeled one", () => {
    const script = generateDisruptions(model, createRng(8), spec);
    const overruns = script.flatMap((d) => (d.kind === "overrun" ? [d.activityId] : []));
    expect(new Set(overruns).size).toBe(overruns.length);
    const unmodeled = script.flatMap((d) => (d.kind === "unmodeled-failure" ? [d.activityId] : []));
    expect(unmodeled).not.toContain("j0.o0");
  });

  it("keeps each kind's draws when another kind's count changes", () => {
    const a = generateDisruptions(model, createRng(5), spec);
    const b = generateDisruptions(model, createRng(5), { ...spec, breakdowns: 0, rushOrders: 5 });
    const ofKind = (s: typeof a, kind: string) => s.filter((d) => d.kind === kind);
    expect(ofKind(b, "overrun")).toEqual(ofKind(a, "overrun"));
    expect(ofKind(b, "offline")).toEqual(ofKind(a, "offline"));
    expect(ofKind(b, "rush-order").slice(0, 2)).toEqual(ofKind(a, "rush-order"));
  });

  it("draws rush orders that extend the model validly, with fresh ids", () => {
    const script = generateDisruptions(model, createRng(11), { horizonTicks: 50, rushOrders: 3 });
    let extended = model;
    for (const d of script)
      if (d.kind === "rush-order") extended = applyModelDelta(extended, d.delta);
    const indexed = indexModel(extended);
    expect(indexed.ok).toBe(true);
    const added = rushOrderNodes(script);
    expect(added.filter((n) => n.kind === "task")).toHaveLength(3);
    expect(new Set(extended.nodes.map((n) => n.id)).size).toBe(extended.nodes.length);
    for (const d of script)
      if (d.kind === "rush-order") {
        const job = d.delta.addNodes?.[0];
        expect(job?.releaseTicks).toBe(d.atTicks);
      }
  });
});

describe("applyModelDelta", () => {
  it("attaches new top nodes to the given task and overwrites windows", () => {
    const next = applyModelDelta(model, {
      addNodes: [
        { kind: "task", id: "new", qaf: "min", children: ["new.o0"] },
        {
          kind: "activity",
          id: "new.o0",
          resources: ["m0"],
          duration: fixed(2),
          quality: fixed(1),
        },
      ],
      update: [{ id: "j1", deadlineTicks: 40 }],
    });
    const root = next.nodes.find((n) => n.id === next.root);
    expect(root?.kind === "task" && root.children.at(-1)).toBe("new");
    expect(next.nodes.find((n) => n.id === "j1")?.deadlineTicks).toBe(40);
    expect(next.nodes.find((n) => n.id === "j1")?.releaseTicks).toBe(1);
    expect(indexModel(next).ok).toBe(true);
    expect(model.nodes).toHaveLength(17); // the input is untouched: root, 4 jobs, 12 operations
  });
});
