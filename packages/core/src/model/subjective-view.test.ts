import { describe, expect, it } from "vitest";
import { generateBackupProblem } from "../ctaems/generators/backup.js";
import { generateJobShopScenario } from "../ctaems/generators/jobshop.js";
import { generateRandomScenario } from "../ctaems/generators/random.js";
import { fixed } from "./distribution.js";
import { ancestors, indexModel, type ModelIndex, nodeIssues } from "./model-index.js";
import { type SubjectiveView, subjectiveView } from "./subjective-view.js";
import type { Link, ModelNode, TaskModel } from "./types.js";

const act = (id: string, resource: string): ModelNode => ({
  kind: "activity",
  id,
  resources: [resource],
  duration: fixed(1),
  quality: fixed(1),
});

// root -> {P, Q}; P -> {p1 (agent x), p2 (agent y)}; Q -> {q1 (agent y), R}; R -> {r1 (agent z)}
// links: p2 enables q1; r1 enables P; r1 enables q1.
const model: TaskModel = {
  name: "views",
  resources: [{ id: "x" }, { id: "y" }, { id: "z" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["P", "Q"] },
    { kind: "task", id: "P", qaf: "min", children: ["p1", "p2"] },
    { kind: "task", id: "Q", qaf: "max", children: ["q1", "R"] },
    { kind: "task", id: "R", qaf: "sum", children: ["r1"] },
    act("p1", "x"),
    act("p2", "y"),
    act("q1", "y"),
    act("r1", "z"),
  ],
  links: [
    { kind: "enables", from: "p2", to: "q1" },
    { kind: "enables", from: "r1", to: "P" },
    { kind: "enables", from: "r1", to: "q1" },
  ],
};
const index = (() => {
  const r = indexModel(model);
  if (!r.ok) throw new Error("bad");
  return r.value;
})();

describe("subjectiveView (CSC §2)", () => {
  it("own activities, their ancestry, and the link neighbours of those nodes — nothing more", () => {
    const v = subjectiveView(index, "x");
    expect(v.own).toEqual(["p1"]);
    // p1, its ancestry P and root, and r1 (source of a link into P).
    expect(v.nodes.map((n) => n.id).sort()).toEqual(["P", "p1", "r1", "root"]);
    expect(v.links).toEqual([{ kind: "enables", from: "r1", to: "P" }]);
    // p2 (a sibling) is hidden, so P lists only the children in view.
    const P = v.nodes.find((n) => n.id === "P");
    expect(P?.kind === "task" && P.children).toEqual(["p1"]);
    expect(v.resources.map((r) => r.id).sort()).toEqual(["x", "z"]);
  });
  it("an agent with activities in two subtrees sees both ancestries", () => {
    const v = subjectiveView(index, "y");
    expect([...v.own].sort()).toEqual(["p2", "q1"]);
    expect(v.nodes.map((n) => n.id).sort()).toEqual(["P", "Q", "p2", "q1", "r1", "root"]);
    expect(v.links.length).toBe(3);
  });
  it("neighbours' own ancestry and children stay hidden", () => {
    const v = subjectiveView(index, "z");
    // r1, R, Q, root, and the targets of r1's links (P, q1).
    expect(v.nodes.map((n) => n.id).sort()).toEqual(["P", "Q", "R", "q1", "r1", "root"]);
    expect(v.nodes.some((n) => n.id === "p1" || n.id === "p2")).toBe(false);
  });
});

describe("indexModel rejects cyclic links", () => {
  it("through a task target", () => {
    const r = indexModel({
      ...model,
      links: [...model.links, { kind: "enables", from: "q1", to: "r1" }],
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error[0]?.message).toMatch(/links form a cycle/);
  });
});

/** The view by its definition, scanning the whole model: the reference for the indexed cut. */
function viewByScan(index: ModelIndex, resourceId: string): SubjectiveView {
  const own = index.activities.filter((a) => a.resources.includes(resourceId)).map((a) => a.id);
  const core = new Set<string>(own);
  for (const id of own) for (const a of ancestors(index, id)) core.add(a);
  const visible = new Set(core);
  const links: Link[] = [];
  for (const link of index.model.links)
    if (core.has(link.from) || core.has(link.to)) {
      visible.add(link.from);
      visible.add(link.to);
      links.push(link);
    }
  const nodes = index.model.nodes
    .filter((n) => visible.has(n.id))
    .map((n) =>
      n.kind === "task" ? { ...n, children: n.children.filter((c) => visible.has(c)) } : n,
    );
  const resourceIds = new Set([resourceId]);
  for (const n of nodes) if (n.kind === "activity") for (const r of n.resources) resourceIds.add(r);
  return {
    agentId: resourceId,
    root: index.model.root,
    own,
    nodes,
    links,
    resources: index.model.resources.filter((r) => resourceIds.has(r.id)),
  };
}

describe("subjectiveView on generated problems", () => {
  const problems = [
    generateBackupProblem({ windows: 3, seed: 4 }).model,
    generateRandomScenario({ seed: 9, nle: "high", failure: "medium", overlap: 3 }).model,
    generateJobShopScenario({ machines: 30, seed: 2 }).model,
  ];
  it("cuts exactly the view its definition gives, in the model's order, for every agent", () => {
    for (const model of problems) {
      const indexed = indexModel(model);
      if (!indexed.ok) throw new Error(indexed.error[0]?.message);
      for (const r of model.resources)
        expect(subjectiveView(indexed.value, r.id)).toEqual(viewByScan(indexed.value, r.id));
    }
  });
});

describe("nodeIssues", () => {
  it("accepts a node whose window and distributions are sound", () => {
    expect(
      nodeIssues({ ...index.nodes.get("q1")!, releaseTicks: 3, deadlineTicks: 9 }, "n"),
    ).toEqual([]);
  });

  it("names a window that closes before it opens, or a distribution that is not one", () => {
    expect(
      nodeIssues({ ...index.nodes.get("p1")!, releaseTicks: 5, deadlineTicks: 2 }, "nodes[4]"),
    ).toEqual([{ path: "nodes[4].deadlineTicks", message: "deadline 2 is before release 5" }]);
    const bad = nodeIssues(
      {
        ...(index.nodes.get("p1") as ModelNode & { kind: "activity" }),
        duration: [{ value: 2, probability: 0.5 }],
      },
      "nodes[4]",
    );
    expect(bad[0]).toMatchObject({ path: "nodes[4].duration" });
    expect(bad[0]?.message).toMatch(/probabilities sum to 0.5/);
  });
});
