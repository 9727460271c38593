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

/** Where things are in a model, so that a view is cut without scanning the whole model. */
interface ViewLookup {
  readonly activitiesOf: ReadonlyMap<string, readonly string[]>;
  /** Positions in `model.links` of the links at each node (from or to). */
  readonly linksAt: ReadonlyMap<string, readonly number[]>;
  readonly nodeAt: ReadonlyMap<string, number>;
  /** A node's position among its parent's children. */
  readonly childAt: ReadonlyMap<string, number>;
  readonly resourceAt: ReadonlyMap<string, number>;
}

const lookups = new WeakMap<ModelIndex, ViewLookup>();

function lookupOf(index: ModelIndex): ViewLookup {
  const known = lookups.get(index);
  if (known) return known;
  const activitiesOf = new Map<string, string[]>();
  for (const a of index.activities)
    for (const r of new Set(a.resources)) {
      const list = activitiesOf.get(r);
      if (list) list.push(a.id);
      else activitiesOf.set(r, [a.id]);
    }
  const linksAt = new Map<string, number[]>();
  index.model.links.forEach((link, i) => {
    for (const end of link.from === link.to ? [link.from] : [link.from, link.to]) {
      const list = linksAt.get(end);
      if (list) list.push(i);
      else linksAt.set(end, [i]);
    }
  });
  const nodeAt = new Map<string, number>();
  const childAt = new Map<string, number>();
  index.model.nodes.forEach((node, i) => {
    nodeAt.set(node.id, i);
    if (node.kind === "task")
      node.children.forEach((c, k) => {
        childAt.set(c, k);
      });
  });
  const resourceAt = new Map(index.model.resources.map((r, i) => [r.id, i] as const));
  const lookup = { activitiesOf, linksAt, nodeAt, childAt, resourceAt };
  lookups.set(index, lookup);
  return lookup;
}

/**
 * Cuts the subjective view of the agent that runs `resourceId`. Its cost grows with the view,
 * not with the model (after one pass over the model, shared by every view cut from the index),
 * so cutting every agent's view of a large fleet is linear in the fleet.
 */
export function subjectiveView(index: ModelIndex, resourceId: string): SubjectiveView {
  const at = lookupOf(index);
  const own = [...(at.activitiesOf.get(resourceId) ?? [])];
  const core = new Set<string>(own);
  for (const id of own) for (const a of ancestors(index, id)) core.add(a);
  const visible = new Set(core);
  const linkPositions = new Set<number>();
  for (const id of core) for (const i of at.linksAt.get(id) ?? []) linkPositions.add(i);
  const links: Link[] = [...linkPositions].sort((a, b) => a - b).map((i) => index.model.links[i]!);
  for (const link of links) {
    visible.add(link.from);
    visible.add(link.to);
  }
  // A task lists only its children in the view, in the model's order.
  const childrenInView = new Map<string, string[]>();
  for (const id of visible) {
    const p = index.parent.get(id);
    if (p === undefined || !visible.has(p)) continue;
    const list = childrenInView.get(p);
    if (list) list.push(id);
    else childrenInView.set(p, [id]);
  }
  const nodes: ModelNode[] = [...visible]
    .filter((id) => at.nodeAt.has(id))
    .sort((a, b) => at.nodeAt.get(a)! - at.nodeAt.get(b)!)
    .map((id) => {
      const node = index.model.nodes[at.nodeAt.get(id)!]!;
      return node.kind === "task"
        ? {
            ...node,
            children: (childrenInView.get(id) ?? []).sort(
              (a, b) => at.childAt.get(a)! - at.childAt.get(b)!,
            ),
          }
        : node;
    });
  const resourceIds = new Set<string>([resourceId]);
  for (const node of nodes)
    if (node.kind === "activity") for (const r of node.resources) resourceIds.add(r);
  return {
    agentId: resourceId,
    root: index.model.root,
    own,
    nodes,
    links,
    resources: [...resourceIds]
      .filter((r) => at.resourceAt.has(r))
      .sort((a, b) => at.resourceAt.get(a)! - at.resourceAt.get(b)!)
      .map((r) => index.model.resources[at.resourceAt.get(r)!]!),
  };
}
