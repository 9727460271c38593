import { describe, expect, it } from "vitest";
import { fixed } from "./distribution.js";
import { indexModel } from "./model-index.js";
import { subjectiveView } from "./subjective-view.js";
import type { ModelNode, TaskModel } from "./types.js";

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
