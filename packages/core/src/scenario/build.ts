import { fixed } from "../model/distribution.js";
import { indexModel, type ModelIssue } from "../model/model-index.js";
import type {
  Distribution,
  DueDate,
  Link,
  ModelNode,
  Resource,
  TaskModel,
  TaskNode,
  Ticks,
} from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import { type DocPath, fromModelPath } from "./path.js";
import type { ScenarioDistribution, ScenarioDocument } from "./schema.js";
import { closest } from "./schema-errors.js";

/** Something wrong with a scenario beyond its schema, located by its path in the document. */
export interface BuildIssue {
  readonly path: DocPath;
  readonly message: string;
  readonly at?: "key" | "value";
}

/** Where a model field comes from; `list` fields carry a model index suffix (`[k]...`) over. */
interface FieldOrigin {
  readonly path: DocPath;
  readonly list: boolean;
}

/** Where one model node is written in the scenario document. */
export interface NodeOrigin {
  readonly path: DocPath;
  readonly fields: Readonly<Record<string, FieldOrigin>>;
  /** For tasks: where child k is named. */
  readonly children?: readonly DocPath[];
  /** The id was generated (`<job>.o<k>`, the root), not written in the file. */
  readonly generatedId?: boolean;
}

export interface LinkOrigin {
  readonly path: DocPath;
  readonly from: DocPath;
  readonly to: DocPath;
  /** Written by the user (network links, `after`), not generated from a job's chain. */
  readonly written: boolean;
}

/** A model built from a scenario document, with the origin of every node, link and resource. */
export interface BuiltScenario {
  readonly model: TaskModel;
  readonly nodeOrigins: readonly NodeOrigin[];
  readonly linkOrigins: readonly LinkOrigin[];
  readonly resourceOrigins: readonly DocPath[];
}

const distribution = (d: ScenarioDistribution): Distribution =>
  typeof d === "number" ? fixed(d) : d.map((o) => ({ value: o.value, probability: o.probability }));

const distributionOrigin = (d: ScenarioDistribution, path: DocPath): FieldOrigin => ({
  path,
  list: typeof d !== "number",
});

interface Timing {
  readonly release?: Ticks;
  readonly deadline?: Ticks;
  readonly due?: Ticks;
  readonly weight?: number;
}

/** Release, deadline and due date of a node, with the origins of those fields. */
function timing(
  item: Timing,
  path: DocPath,
  issues: BuildIssue[],
): {
  fields: { releaseTicks?: Ticks; deadlineTicks?: Ticks; due?: DueDate };
  origins: Record<string, FieldOrigin>;
} {
  const origins: Record<string, FieldOrigin> = {};
  if (item.release !== undefined)
    origins.releaseTicks = { path: [...path, "release"], list: false };
  if (item.deadline !== undefined)
    origins.deadlineTicks = { path: [...path, "deadline"], list: false };
  if (item.due !== undefined) origins.due = { path: [...path, "due"], list: false };
  if (item.weight !== undefined && item.due === undefined)
    issues.push({
      path: [...path, "weight"],
      message: 'a weight is the cost per tick late, so it needs a "due" date',
      at: "key",
    });
  return {
    fields: {
      ...(item.release !== undefined ? { releaseTicks: item.release } : {}),
      ...(item.deadline !== undefined ? { deadlineTicks: item.deadline } : {}),
      ...(item.due !== undefined ? { due: { dueTicks: item.due, weight: item.weight ?? 1 } } : {}),
    },
    origins,
  };
}

/** `resource: x` or `resources: [x, y]`, exactly one of them. */
function resourcesOf(
  item: { readonly resource?: string; readonly resources?: readonly string[] },
  path: DocPath,
  issues: BuildIssue[],
): { resources: string[]; origin: FieldOrigin } {
  if (item.resource !== undefined && item.resources !== undefined)
    issues.push({
      path: [...path, "resources"],
      message: 'give either "resource" or "resources", not both',
      at: "key",
    });
  else if (item.resource === undefined && item.resources === undefined)
    issues.push({
      path,
      message: 'missing required field "resource" (or "resources" for alternatives)',
    });
  if (item.resource !== undefined)
    return { resources: [item.resource], origin: { path: [...path, "resource"], list: false } };
  return {
    resources: [...(item.resources ?? [])],
    origin: { path: [...path, "resources"], list: true },
  };
}

/**
 * Builds the task model of a scenario document that passed the schema, then checks its structure
 * with `indexModel`; every issue is mapped back to the document path it comes from.
 *
 * How jobs and the network combine under one root:
 * - only jobs: a generated `sum` root over the jobs (as `jobShopToModel` does);
 * - only a network: the network's root;
 * - both: a job named as a child of a network task (or as the network's root) sits there; if
 *   every job is placed so, the root is the network's root; otherwise a generated `sum` root over
 *   the network's root and the remaining jobs.
 * The generated root is called `root` (or `root1`, ... when taken).
 */
export function buildScenarioModel(
  doc: ScenarioDocument,
  name: string,
): Result<BuiltScenario, BuildIssue[]> {
  const issues: BuildIssue[] = [];
  const jobs = doc.jobs ?? [];
  const network = doc.network;
  if (!network && jobs.length === 0)
    issues.push({
      path: [],
      message: 'a scenario needs "jobs" or a "network" (or both); it has neither',
    });

  const resources: Resource[] = doc.resources.map((r) => ({
    id: r.id,
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...(r.kind !== undefined ? { kind: r.kind } : {}),
  }));
  const resourceOrigins: DocPath[] = doc.resources.map((_, i) => ["resources", i]);

  const nodes: ModelNode[] = [];
  const nodeOrigins: NodeOrigin[] = [];
  const links: Link[] = [];
  const linkOrigins: LinkOrigin[] = [];

  jobs.forEach((job, j) => {
    const path: DocPath = ["jobs", j];
    const t = timing(job, path, issues);
    const opIds = job.operations.map((op, k) => op.id ?? `${job.id}.o${k}`);
    nodes.push({ kind: "task", id: job.id, qaf: "min", children: opIds, ...t.fields });
    nodeOrigins.push({
      path,
      fields: { id: { path: [...path, "id"], list: false }, ...t.origins },
      children: job.operations.map((_, k) => [...path, "operations", k]),
    });
    job.operations.forEach((op, k) => {
      const opPath: DocPath = [...path, "operations", k];
      const r = resourcesOf(op, opPath, issues);
      const ot = timing(op, opPath, issues);
      nodes.push({
        kind: "activity",
        id: opIds[k]!,
        resources: r.resources,
        duration: distribution(op.duration),
        quality: op.quality === undefined ? fixed(1) : distribution(op.quality),
        ...ot.fields,
      });
      nodeOrigins.push({
        path: opPath,
        fields: {
          ...(op.id !== undefined ? { id: { path: [...opPath, "id"], list: false } } : {}),
          resources: r.origin,
          duration: distributionOrigin(op.duration, [...opPath, "duration"]),
          ...(op.quality !== undefined
            ? { quality: distributionOrigin(op.quality, [...opPath, "quality"]) }
            : {}),
          ...ot.origins,
        },
        ...(op.id === undefined ? { generatedId: true } : {}),
      });
      if (k > 0) {
        links.push({ kind: "enables", from: opIds[k - 1]!, to: opIds[k]! });
        linkOrigins.push({
          path: opPath,
          from: [...path, "operations", k - 1],
          to: opPath,
          written: false,
        });
      }
    });
    (job.after ?? []).forEach((before, a) => {
      links.push({ kind: "precedence", from: before, to: job.id });
      linkOrigins.push({
        path: [...path, "after", a],
        from: [...path, "after", a],
        to: [...path, "id"],
        written: true,
      });
    });
  });

  if (network) {
    (network.tasks ?? []).forEach((task, i) => {
      const path: DocPath = ["network", "tasks", i];
      const t = timing(task, path, issues);
      nodes.push({
        kind: "task",
        id: task.id,
        qaf: task.qaf,
        children: [...task.children],
        ...t.fields,
      });
      nodeOrigins.push({
        path,
        fields: { id: { path: [...path, "id"], list: false }, ...t.origins },
        children: task.children.map((_, k) => [...path, "children", k]),
      });
    });
    (network.activities ?? []).forEach((activity, i) => {
      const path: DocPath = ["network", "activities", i];
      const r = resourcesOf(activity, path, issues);
      const t = timing(activity, path, issues);
      nodes.push({
        kind: "activity",
        id: activity.id,
        resources: r.resources,
        duration: distribution(activity.duration),
        quality: activity.quality === undefined ? fixed(1) : distribution(activity.quality),
        ...t.fields,
      });
      nodeOrigins.push({
        path,
        fields: {
          id: { path: [...path, "id"], list: false },
          resources: r.origin,
          duration: distributionOrigin(activity.duration, [...path, "duration"]),
          ...(activity.quality !== undefined
            ? { quality: distributionOrigin(activity.quality, [...path, "quality"]) }
            : {}),
          ...t.origins,
        },
      });
    });
    (network.links ?? []).forEach((link, i) => {
      const path: DocPath = ["network", "links", i];
      links.push({ kind: link.kind ?? "enables", from: link.from, to: link.to });
      linkOrigins.push({ path, from: [...path, "from"], to: [...path, "to"], written: true });
    });
  }

  if (issues.length > 0) return err(issues);

  const placed = new Set<string>((network?.tasks ?? []).flatMap((t) => t.children));
  if (network) placed.add(network.root);
  const topJobs = jobs.flatMap((job, j) => (placed.has(job.id) ? [] : [{ job, j }]));
  let root: string;
  if (network && topJobs.length === 0) root = network.root;
  else {
    const taken = new Set(nodes.map((n) => n.id));
    root = "root";
    for (let i = 1; taken.has(root); i++) root = `root${i}`;
    const children: string[] = [];
    const childPaths: DocPath[] = [];
    if (network) {
      children.push(network.root);
      childPaths.push(["network", "root"]);
    }
    for (const { job, j } of topJobs) {
      children.push(job.id);
      childPaths.push(["jobs", j, "id"]);
    }
    const rootNode: TaskNode = { kind: "task", id: root, qaf: "sum", children };
    nodes.unshift(rootNode);
    nodeOrigins.unshift({ path: [], fields: {}, children: childPaths, generatedId: true });
  }

  const model: TaskModel = { name, resources, nodes, root, links };
  const built: BuiltScenario = { model, nodeOrigins, linkOrigins, resourceOrigins };
  const indexed = indexModel(model);
  if (!indexed.ok) {
    // A duplicate id also gives its node two parents or a link to itself; report the cause only.
    const duplicated = new Set(
      indexed.error.flatMap((i) => /^duplicate node id "(.*)"$/.exec(i.message)?.[1] ?? []),
    );
    const causes = indexed.error.filter((i) => {
      const id =
        /^node "(.*)" has two parents/.exec(i.message)?.[1] ??
        /^link from "(.*)" to itself$/.exec(i.message)?.[1];
      return id === undefined || !duplicated.has(id);
    });
    return err(causes.map((issue) => mapModelIssue(built, withSuggestion(model, issue), network)));
  }
  return ok(built);
}

/** Maps a model issue (path like `nodes[3].children[1]`) to the scenario document. */
function mapModelIssue(
  built: BuiltScenario,
  issue: ModelIssue,
  network: ScenarioDocument["network"],
): BuildIssue {
  const segments = fromModelPath(issue.path);
  const [head, index, fieldName, ...rest] = segments;
  const networkPath = (section: string): DocPath =>
    network ? ["network", ...(section in network ? [section] : [])] : [];
  switch (head) {
    case "resources": {
      const origin = typeof index === "number" ? built.resourceOrigins[index] : undefined;
      return {
        path: origin ? [...origin, ...segments.slice(2)] : ["resources"],
        message: issue.message,
      };
    }
    case "root":
      return { path: network ? ["network", "root"] : [], message: issue.message };
    case "links": {
      if (typeof index !== "number")
        return {
          path: cycleLinkPath(built, issue.message) ?? networkPath("links"),
          message: issue.message,
        };
      const origin = built.linkOrigins[index];
      if (!origin) return { path: networkPath("links"), message: issue.message };
      const path =
        fieldName === "from" ? origin.from : fieldName === "to" ? origin.to : origin.path;
      return { path, message: issue.message };
    }
    case "nodes": {
      if (typeof index !== "number") {
        const through = /"([^"]*)"$/.exec(issue.message)?.[1];
        const at = built.model.nodes.findIndex((n) => n.id === through);
        const origin = built.nodeOrigins[at];
        return { path: origin?.path ?? networkPath("tasks"), message: issue.message };
      }
      const origin = built.nodeOrigins[index];
      if (!origin) return { path: [], message: issue.message };
      let message = issue.message;
      if (origin.generatedId && fieldName === "id" && origin.path.length > 0)
        message += ` (the default id of this operation; give it an "id")`;
      if (fieldName === undefined) return { path: origin.path, message };
      const [childIndex] = rest;
      if (fieldName === "children" && origin.children && typeof childIndex === "number")
        return { path: origin.children[childIndex] ?? origin.path, message };
      const field = origin.fields[String(fieldName)];
      if (!field) return { path: origin.path, message };
      return { path: field.list ? [...field.path, ...rest] : field.path, message };
    }
    default:
      return { path: [], message: issue.message };
  }
}

/**
 * For "links form a cycle: a -> b -> a", the first link written by the user that joins two
 * members of the cycle (counting a task as its activities).
 */
function cycleLinkPath(built: BuiltScenario, message: string): DocPath | undefined {
  const cycle = /links form a cycle: (.*)$/.exec(message)?.[1]?.split(" -> ");
  if (!cycle) return undefined;
  const members = new Set(cycle);
  const byId = new Map(built.model.nodes.map((n) => [n.id, n]));
  const leaves = (id: string): string[] => {
    const node = byId.get(id);
    return !node || node.kind === "activity" ? [id] : node.children.flatMap(leaves);
  };
  const touches = (id: string) => leaves(id).some((leaf) => members.has(leaf));
  const index = built.model.links.findIndex(
    (link, i) => built.linkOrigins[i]?.written && touches(link.from) && touches(link.to),
  );
  return index >= 0 ? built.linkOrigins[index]?.path : undefined;
}

/** Adds "did you mean" to an unknown resource or node reference that looks like a typo. */
function withSuggestion(model: TaskModel, issue: ModelIssue): ModelIssue {
  const match = /^unknown (resource|node) "(.*)"$/.exec(issue.message);
  if (!match) return issue;
  const known =
    match[1] === "resource" ? model.resources.map((r) => r.id) : model.nodes.map((n) => n.id);
  const guess = closest(match[2]!, known);
  return guess ? { ...issue, message: `${issue.message} (did you mean "${guess}"?)` } : issue;
}
