import { ancestors, type ModelIndex } from "./model-index.js";
import type { Link, ModelNode, Resource } from "./types.js";

/**
 * What one agent may know of the model (CSC §2): the activities it can run, their ancestry up to
 * the root, and the direct link neighbours (sources and targets) of those nodes — nothing more.
 * Tasks list only the children that are in the view, and neighbour nodes come without their own
 * ancestry, so a view is not a whole model: it is what an agent process is given.
 */
export interface SubjectiveView {
  readonly agentId: string;
  readonly root: string;
  /** The agent's own activities. */
  readonly own: readonly string[];
  readonly nodes: readonly ModelNode[];
  readonly links: readonly Link[];
  /** The agent's resource and those of the neighbour activities it sees. */
  readonly resources: readonly Resource[];
}

/** Cuts the subjective view of the agent that runs `resourceId`. */
export function subjectiveView(index: ModelIndex, resourceId: string): SubjectiveView {
  const own = index.activities.filter((a) => a.resources.includes(resourceId)).map((a) => a.id);
  const core = new Set<string>(own);
  for (const id of own) for (const a of ancestors(index, id)) core.add(a);
  const visible = new Set(core);
  const links: Link[] = [];
  for (const link of index.model.links) {
    if (core.has(link.from) || core.has(link.to)) {
      visible.add(link.from);
      visible.add(link.to);
      links.push(link);
    }
  }
  const nodes: ModelNode[] = [];
  for (const node of index.model.nodes) {
    if (!visible.has(node.id)) continue;
    nodes.push(
      node.kind === "task"
        ? { ...node, children: node.children.filter((c) => visible.has(c)) }
        : node,
    );
  }
  const resourceIds = new Set<string>([resourceId]);
  for (const node of nodes)
    if (node.kind === "activity") for (const r of node.resources) resourceIds.add(r);
  return {
    agentId: resourceId,
    root: index.model.root,
    own,
    nodes,
    links,
    resources: index.model.resources.filter((r) => resourceIds.has(r.id)),
  };
}
