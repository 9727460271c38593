import { err, ok, type Result } from "../result.js";
import { PROBABILITY_TOLERANCE } from "./distribution.js";
import type { ActivityNode, Link, ModelNode, TaskModel, TaskNode, Ticks } from "./types.js";

/** Lookup structures derived once from a model; every algorithm reads the model through it. */
export interface ModelIndex {
  readonly model: TaskModel;
  readonly nodes: ReadonlyMap<string, ModelNode>;
  readonly activities: readonly ActivityNode[];
  readonly parent: ReadonlyMap<string, string>;
  readonly linksFrom: ReadonlyMap<string, readonly Link[]>;
  readonly linksTo: ReadonlyMap<string, readonly Link[]>;
  readonly resourceIds: ReadonlySet<string>;
}

/** Something wrong with a model, with the path of the offending element. */
export interface ModelIssue {
  readonly path: string;
  readonly message: string;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Checks a model's structure and builds its index. Every problem is reported with its path, so
 * a scenario file's error can point at the place: duplicate ids, dangling references, a tree that
 * is not a single tree, distributions that do not sum to 1, cyclic links.
 */
export function indexModel(model: TaskModel): Result<ModelIndex, ModelIssue[]> {
  const issues: ModelIssue[] = [];
  const nodes = new Map<string, ModelNode>();
  const resourceIds = new Set<string>();
  model.resources.forEach((resource, i) => {
    if (resourceIds.has(resource.id))
      issues.push({
        path: `resources[${i}].id`,
        message: `duplicate resource id "${resource.id}"`,
      });
    resourceIds.add(resource.id);
  });
  model.nodes.forEach((node, i) => {
    if (nodes.has(node.id))
      issues.push({ path: `nodes[${i}].id`, message: `duplicate node id "${node.id}"` });
    nodes.set(node.id, node);
  });
  const parent = new Map<string, string>();
  model.nodes.forEach((node, i) => {
    const where = `nodes[${i}]`;
    checkNodeFields(node, where, issues);
    if (node.kind === "task") {
      if (node.children.length === 0)
        issues.push({ path: `${where}.children`, message: `task "${node.id}" has no children` });
      node.children.forEach((child, c) => {
        if (!nodes.has(child))
          issues.push({ path: `${where}.children[${c}]`, message: `unknown node "${child}"` });
        else if (parent.has(child))
          issues.push({
            path: `${where}.children[${c}]`,
            message: `node "${child}" has two parents ("${parent.get(child)}" and "${node.id}")`,
          });
        else parent.set(child, node.id);
      });
    } else {
      if (node.resources.length === 0)
        issues.push({
          path: `${where}.resources`,
          message: `activity "${node.id}" names no resource`,
        });
      node.resources.forEach((r, k) => {
        if (!resourceIds.has(r))
          issues.push({ path: `${where}.resources[${k}]`, message: `unknown resource "${r}"` });
      });
    }
  });
  const root = nodes.get(model.root);
  if (!root) issues.push({ path: "root", message: `unknown root node "${model.root}"` });
  else if (parent.has(model.root))
    issues.push({ path: "root", message: `root "${model.root}" has a parent` });
  model.nodes.forEach((node, i) => {
    if (node.id !== model.root && !parent.has(node.id))
      issues.push({
        path: `nodes[${i}]`,
        message: `node "${node.id}" is not in the tree under root "${model.root}"`,
      });
  });
  const linksFrom = new Map<string, Link[]>();
  const linksTo = new Map<string, Link[]>();
  model.links.forEach((link, i) => {
    if (!nodes.has(link.from))
      issues.push({ path: `links[${i}].from`, message: `unknown node "${link.from}"` });
    if (!nodes.has(link.to))
      issues.push({ path: `links[${i}].to`, message: `unknown node "${link.to}"` });
    if (link.from === link.to)
      issues.push({ path: `links[${i}]`, message: `link from "${link.from}" to itself` });
    push(linksFrom, link.from, link);
    push(linksTo, link.to, link);
  });
  if (issues.length > 0) return err(issues);
  const cycle = findTreeCycle(model.root, nodes);
  if (cycle)
    return err([{ path: "nodes", message: `the reward tree has a cycle through "${cycle}"` }]);
  const linkCycle = findLinkCycle(model, nodes);
  if (linkCycle)
    return err([{ path: "links", message: `links form a cycle: ${linkCycle.join(" -> ")}` }]);
  const activities = model.nodes.filter((n): n is ActivityNode => n.kind === "activity");
  return ok({ model, nodes, activities, parent, linksFrom, linksTo, resourceIds });
}

/**
 * What is wrong with a node's own fields (its window, an activity's distributions), each issue
 * under `where`: the check a node changed during a run must pass, without indexing the model.
 */
export function nodeIssues(node: ModelNode, where: string): ModelIssue[] {
  const issues: ModelIssue[] = [];
  checkNodeFields(node, where, issues);
  return issues;
}

function checkNodeFields(node: ModelNode, where: string, issues: ModelIssue[]): void {
  if (
    node.releaseTicks !== undefined &&
    node.deadlineTicks !== undefined &&
    node.deadlineTicks < node.releaseTicks
  ) {
    issues.push({
      path: `${where}.deadlineTicks`,
      message: `deadline ${node.deadlineTicks} is before release ${node.releaseTicks}`,
    });
  }
  if (node.kind === "activity") {
    // A duration may be 0 (public job-shop instances have such operations): `[s, s)` holds its
    // resource for no time and overlaps nothing.
    checkDistribution(node.duration, `${where}.duration`, issues);
    checkDistribution(node.quality, `${where}.quality`, issues);
  }
}

function checkDistribution(
  d: readonly { value: number; probability: number }[],
  path: string,
  issues: ModelIssue[],
): void {
  if (d.length === 0) {
    issues.push({ path, message: "distribution has no outcomes" });
    return;
  }
  let sum = 0;
  d.forEach((o, i) => {
    if (!Number.isFinite(o.value) || o.value < 0)
      issues.push({
        path: `${path}[${i}].value`,
        message: `value ${o.value} must be a finite number >= 0`,
      });
    if (!(o.probability > 0 && o.probability <= 1))
      issues.push({
        path: `${path}[${i}].probability`,
        message: `probability ${o.probability} must be in (0, 1]`,
      });
    sum += o.probability;
  });
  if (Math.abs(sum - 1) > PROBABILITY_TOLERANCE)
    issues.push({ path, message: `probabilities sum to ${sum}, not 1` });
}

function findTreeCycle(root: string, nodes: ReadonlyMap<string, ModelNode>): string | undefined {
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) return id;
    seen.add(id);
    const node = nodes.get(id);
    if (node?.kind === "task") stack.push(...node.children);
  }
  return undefined;
}

/**
 * Links may not form a cycle, counting a link into a task as a link into each of its
 * descendants and a link out of a task as a link out of each of them (CSC §2: an NLE whose
 * target is a task applies to all its descendants).
 */
function findLinkCycle(
  model: TaskModel,
  nodes: ReadonlyMap<string, ModelNode>,
): string[] | undefined {
  const leaves = (id: string): string[] => {
    const node = nodes.get(id);
    if (!node || node.kind === "activity") return [id];
    return node.children.flatMap(leaves);
  };
  const edges = new Map<string, Set<string>>();
  for (const link of model.links) {
    for (const s of leaves(link.from)) {
      for (const t of leaves(link.to)) {
        const set = edges.get(s) ?? new Set<string>();
        set.add(t);
        edges.set(s, set);
      }
    }
  }
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 1);
    path.push(id);
    for (const next of edges.get(id) ?? []) {
      const s = state.get(next);
      if (s === 1) return [...path.slice(path.indexOf(next)), next];
      if (s === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of edges.keys()) {
    if (state.get(id) === undefined) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return undefined;
}

/** Ancestors of a node from its parent up to the root. */
export function ancestors(index: ModelIndex, id: string): string[] {
  const out: string[] = [];
  for (let p = index.parent.get(id); p !== undefined; p = index.parent.get(p)) out.push(p);
  return out;
}

/** Activity ids under a node (the node itself if it is an activity). */
export function descendantActivities(index: ModelIndex, id: string): string[] {
  const node = index.nodes.get(id);
  if (!node) return [];
  if (node.kind === "activity") return [id];
  return node.children.flatMap((c) => descendantActivities(index, c));
}

/** The release that binds an activity: the latest of its own and its ancestors' releases. */
export function effectiveRelease(index: ModelIndex, id: string): Ticks {
  let release = index.nodes.get(id)?.releaseTicks ?? 0;
  for (const a of ancestors(index, id))
    release = Math.max(release, index.nodes.get(a)?.releaseTicks ?? 0);
  return release;
}

/** The deadline that binds an activity: the earliest of its own and its ancestors' deadlines. */
export function effectiveDeadline(index: ModelIndex, id: string): Ticks | undefined {
  let deadline = index.nodes.get(id)?.deadlineTicks;
  for (const a of ancestors(index, id)) {
    const d = index.nodes.get(a)?.deadlineTicks;
    if (d !== undefined) deadline = deadline === undefined ? d : Math.min(deadline, d);
  }
  return deadline;
}

/** Narrowing helper for callers that already validated the id. */
export function taskNode(index: ModelIndex, id: string): TaskNode | undefined {
  const node = index.nodes.get(id);
  return node?.kind === "task" ? node : undefined;
}
