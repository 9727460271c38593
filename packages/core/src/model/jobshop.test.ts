import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { fixed } from "./distribution.js";
import { jobShopToModel, modelToJobShop } from "./jobshop.js";
import { indexModel } from "./model-index.js";
import type { TaskModel } from "./types.js";

describe("job shop <-> task model", () => {
  it("round-trips any job shop", () => {
    fc.assert(
      fc.property(jobShopArbitrary(), (instance) => {
        const model = jobShopToModel(instance);
        expect(indexModel(model).ok).toBe(true);
        const back = modelToJobShop(model);
        expect(back.ok && back.value).toEqual(instance);
      }),
    );
  });
  it("a job is a min task over operations chained by enables", () => {
    const model = jobShopToModel({
      name: "one",
      machineIds: ["m0", "m1"],
      jobs: [
        {
          id: "j0",
          releaseTicks: 2,
          dueTicks: 9,
          weight: 3,
          operations: [
            { id: "j0.o0", machine: 1, durationTicks: 4 },
            { id: "j0.o1", machine: 0, durationTicks: 1 },
          ],
        },
      ],
    });
    expect(model.nodes.find((n) => n.id === "j0")).toEqual({
      kind: "task",
      id: "j0",
      qaf: "min",
      children: ["j0.o0", "j0.o1"],
      releaseTicks: 2,
      due: { dueTicks: 9, weight: 3 },
    });
    expect(model.links).toEqual([{ kind: "enables", from: "j0.o0", to: "j0.o1" }]);
  });
  it("refuses a model that is not a job shop, saying where", () => {
    const model: TaskModel = {
      name: "fork",
      resources: [{ id: "m" }],
      root: "root",
      nodes: [
        { kind: "task", id: "root", qaf: "sum", children: ["J"] },
        { kind: "task", id: "J", qaf: "min", children: ["a", "b", "c"] },
        { kind: "activity", id: "a", resources: ["m"], duration: fixed(1), quality: fixed(1) },
        { kind: "activity", id: "b", resources: ["m"], duration: fixed(1), quality: fixed(1) },
        {
          kind: "activity",
          id: "c",
          resources: ["m"],
          duration: [
            { value: 1, probability: 0.5 },
            { value: 2, probability: 0.5 },
          ],
          quality: fixed(1),
        },
      ],
      links: [
        { kind: "enables", from: "a", to: "b" },
        { kind: "enables", from: "a", to: "c" },
      ],
    };
    const r = modelToJobShop(model);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toEqual([
      {
        path: "nodes[1]",
        message: 'job "J": its operations are not one chain of precedence links',
      },
    ]);
  });
});

describe("indexModel reports structural problems with their paths", () => {
  const base = jobShopToModel({
    name: "x",
    machineIds: ["m0"],
    jobs: [
      {
        id: "j0",
        releaseTicks: 0,
        weight: 1,
        operations: [{ id: "j0.o0", machine: 0, durationTicks: 2 }],
      },
    ],
  });
  const issues = (model: TaskModel) => {
    const r = indexModel(model);
    return r.ok ? [] : r.error;
  };
  it("unknown resource", () => {
    const m = { ...base, resources: [{ id: "other" }] };
    expect(issues(m)).toContainEqual({
      path: "nodes[2].resources[0]",
      message: 'unknown resource "m0"',
    });
  });
  it("duplicate node id", () => {
    const m = { ...base, nodes: [...base.nodes, base.nodes[2]!] };
    expect(issues(m)).toContainEqual({ path: "nodes[3].id", message: 'duplicate node id "j0.o0"' });
  });
  it("probabilities that do not sum to 1", () => {
    const m = {
      ...base,
      nodes: base.nodes.map((n) =>
        n.kind === "activity"
          ? {
              ...n,
              quality: [
                { value: 1, probability: 0.5 },
                { value: 0, probability: 0.4 },
              ],
            }
          : n,
      ),
    };
    expect(issues(m)[0]?.message).toMatch(/probabilities sum to 0.9/);
  });
  it("a node outside the tree", () => {
    const m = {
      ...base,
      nodes: [
        ...base.nodes,
        { kind: "task" as const, id: "orphan", qaf: "sum" as const, children: ["j0.o0"] },
      ],
    };
    expect(issues(m).map((i) => i.message)).toContain(
      'node "j0.o0" has two parents ("j0" and "orphan")',
    );
  });
});
