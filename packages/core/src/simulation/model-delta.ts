import type { ModelNode, TaskModel } from "../model/types.js";
import type { ModelDelta } from "../ports/environment.js";

/**
 * The model after a change the environment announced (a rush order, a moved window). Added nodes
 * that no other added node lists as a child join `delta.attachTo` (default: the root) as
 * children; updates overwrite the release and deadline of the nodes they name. The result is not
 * validated: run `indexModel` on it.
 */
export function applyModelDelta(model: TaskModel, delta: ModelDelta): TaskModel {
  const added = delta.addNodes ?? [];
  const childOfAdded = new Set<string>();
  for (const node of added)
    if (node.kind === "task") for (const c of node.children) childOfAdded.add(c);
  const tops = added.filter((n) => !childOfAdded.has(n.id)).map((n) => n.id);
  const attachTo = delta.attachTo ?? model.root;
  if (tops.length > 0) {
    const target = model.nodes.find((n) => n.id === attachTo);
    if (target?.kind !== "task")
      throw new Error(`applyModelDelta: "${attachTo}" is not a task of model "${model.name}"`);
  }
  const updates = new Map((delta.update ?? []).map((u) => [u.id, u]));
  const nodes: ModelNode[] = model.nodes.map((node) => {
    let next = node;
    if (tops.length > 0 && node.id === attachTo && node.kind === "task")
      next = { ...node, children: [...node.children, ...tops] };
    const u = updates.get(node.id);
    if (u) {
      next = {
        ...next,
        ...(u.releaseTicks !== undefined ? { releaseTicks: u.releaseTicks } : {}),
        ...(u.deadlineTicks !== undefined ? { deadlineTicks: u.deadlineTicks } : {}),
      };
    }
    return next;
  });
  return {
    ...model,
    nodes: [...nodes, ...added],
    links: [...model.links, ...(delta.addLinks ?? [])],
  };
}
