import { describe, expect, it } from "vitest";
import { runStrategy } from "../ctaems/experiment.js";
import { generateJobShopScenario } from "../ctaems/generators/jobshop.js";
import { fixed } from "../model/distribution.js";
import { indexModel } from "../model/model-index.js";
import type { Link, ModelNode, Qaf, TaskModel } from "../model/types.js";
import { type ExecutedActivity, evaluateQuality, executionOfSchedule } from "./qaf.js";

const act = (id: string, extra: Partial<ModelNode> = {}): ModelNode =>
  ({
    kind: "activity",
    id,
    resources: ["r"],
    duration: fixed(2),
    quality: fixed(5),
    ...extra,
  }) as ModelNode;

function net(qaf: Qaf, links: Link[] = [], extraNodes: ModelNode[] = []) {
  const model: TaskModel = {
    name: "net",
    resources: [{ id: "r" }],
    root: "T",
    nodes: [
      { kind: "task", id: "T", qaf, children: ["a", "b", ...extraNodes.map((n) => n.id)] },
      act("a"),
      act("b"),
      ...extraNodes,
    ],
    links,
  };
  const r = indexModel(model);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}
const run = (
  activityId: string,
  startTicks: number,
  quality = 5,
  duration = 2,
): ExecutedActivity => ({
  activityId,
  startTicks,
  endTicks: startTicks + duration,
  quality,
});

describe("evaluateQuality (CSC §2)", () => {
  it("min: every child must succeed", () => {
    expect(evaluateQuality(net("min"), [run("a", 0, 5), run("b", 2, 3)]).rootQuality).toBe(3);
    expect(evaluateQuality(net("min"), [run("a", 0, 5)]).rootQuality).toBe(0);
  });
  it("max: the best child", () => {
    expect(evaluateQuality(net("max"), [run("a", 0, 5), run("b", 2, 3)]).rootQuality).toBe(5);
  });
  it("sum: all children", () => {
    expect(evaluateQuality(net("sum"), [run("a", 0, 5), run("b", 2, 3)]).rootQuality).toBe(8);
  });
  it("syncsum: only the children that start at the earliest start", () => {
    expect(evaluateQuality(net("syncsum"), [run("a", 0, 5), run("b", 2, 3)]).rootQuality).toBe(5);
    expect(evaluateQuality(net("syncsum"), [run("a", 1, 5), run("b", 1, 3)]).rootQuality).toBe(8);
  });
  it("window: starting before the release or ending after the deadline earns zero", () => {
    const index = net("sum", [], [act("c", { releaseTicks: 4, deadlineTicks: 8 })]);
    const early = evaluateQuality(index, [run("c", 3)]);
    expect(early.quality.get("c")).toBe(0);
    expect(early.failures.get("c")).toBe("release");
    const late = evaluateQuality(index, [run("c", 7)]);
    expect(late.failures.get("c")).toBe("deadline");
    expect(evaluateQuality(index, [run("c", 6)]).quality.get("c")).toBe(5);
  });
  it("enables: a target started before its source accrued quality fails", () => {
    const index = net("sum", [{ kind: "enables", from: "a", to: "b" }]);
    const early = evaluateQuality(index, [run("a", 0), run("b", 1)]);
    expect(early.failures.get("b")).toBe("enabler");
    expect(early.rootQuality).toBe(5);
    expect(evaluateQuality(index, [run("a", 0), run("b", 2)]).rootQuality).toBe(10);
  });
  it("enables: a source that fails never enables", () => {
    const index = net("sum", [{ kind: "enables", from: "a", to: "b" }]);
    expect(evaluateQuality(index, [run("a", 0, 0), run("b", 5)]).failures.get("b")).toBe("enabler");
  });
  it("enables into a task applies to its descendants", () => {
    const model: TaskModel = {
      name: "deep",
      resources: [{ id: "r" }],
      root: "T",
      nodes: [
        { kind: "task", id: "T", qaf: "sum", children: ["a", "U"] },
        { kind: "task", id: "U", qaf: "max", children: ["u1", "u2"] },
        act("a"),
        act("u1"),
        act("u2"),
      ],
      links: [{ kind: "enables", from: "a", to: "U" }],
    };
    const r = indexModel(model);
    if (!r.ok) throw new Error("bad");
    const result = evaluateQuality(r.value, [run("a", 0), run("u1", 1, 9), run("u2", 3, 4)]);
    expect(result.failures.get("u1")).toBe("enabler");
    expect(result.quality.get("u2")).toBe(4);
    // The task itself started (at u1's start, 1) before a accrued quality (at 2): it earns zero.
    expect(result.quality.get("U")).toBe(0);
    expect(result.rootQuality).toBe(5);
  });
  it("a plan read as an execution earns expected quality", () => {
    const index = net("sum");
    const executed = executionOfSchedule(index, {
      version: 1,
      resources: [{ resourceId: "r", activities: [{ activityId: "a", startTicks: 0 }] }],
    });
    expect(executed).toEqual([{ activityId: "a", startTicks: 0, endTicks: 2, quality: 5 }]);
  });
});

describe("evaluateQuality with `only`", () => {
  it("gives each node the verdict the whole-tree evaluation gives it", () => {
    for (const seed of [1, 2, 3]) {
      const s = generateJobShopScenario({ machines: 6, seed });
      const indexed = indexModel(s.model);
      if (!indexed.ok) throw new Error("bad model");
      const index = indexed.value;
      const run = runStrategy(index, s.initial, "bos", seed, { changes: s.changes });
      expect(run.executed.length).toBeGreaterThan(10);
      const full = evaluateQuality(index, run.executed);
      for (const node of s.model.nodes) {
        const one = evaluateQuality(index, run.executed, { only: [node.id] });
        expect(one.quality.get(node.id), node.id).toBe(full.quality.get(node.id));
        expect(one.accruedAt.get(node.id), node.id).toBe(full.accruedAt.get(node.id));
      }
    }
  });
});
