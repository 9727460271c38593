import type { SubjectiveView } from "../../model/subjective-view.js";
import type { ActivityNode, ModelNode, Ticks } from "../../model/types.js";
import { valueRange } from "../profiles.js";
import type { AgentEvent } from "./types.js";

/**
 * The agent's subjective view of the task network (CSC §2): the nodes it sees, their parents,
 * its own methods and their ancestry (its "core"), and the enablers of each of its methods.
 * Model changes announced during a run (CSC §2 dynamism) replace nodes here.
 */
export class LocalView {
  readonly nodes = new Map<string, ModelNode>();
  readonly parent = new Map<string, string>();
  /** The agent's own methods, sorted. */
  readonly own: readonly string[];
  /** Its own methods and every ancestor of one. */
  readonly core = new Set<string>();
  /** Core nodes bottom-up (children before parents). */
  readonly order: string[] = [];
  /** Per own method: the enables sources of it and of its ancestors. */
  readonly enablersOf = new Map<string, string[]>();
  private readonly view: SubjectiveView;

  constructor(view: SubjectiveView) {
    this.view = view;
    for (const node of view.nodes) this.nodes.set(node.id, node);
    for (const node of view.nodes)
      if (node.kind === "task") for (const c of node.children) this.parent.set(c, node.id);
    this.own = [...view.own].sort();
    for (const id of this.own)
      for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
        this.core.add(n);
    // Bottom-up order: by depth, deepest first.
    const depth = (id: string): number => {
      let d = 0;
      for (let n = this.parent.get(id); n !== undefined; n = this.parent.get(n)) d++;
      return d;
    };
    this.order.push(...[...this.core].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : 1)));
    for (const id of this.own) {
      const sources: string[] = [];
      for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
        for (const link of view.links)
          if (link.kind === "enables" && link.to === n) sources.push(link.from);
      this.enablersOf.set(id, sources);
    }
  }

  activity(id: string): ActivityNode | undefined {
    const n = this.nodes.get(id);
    return n?.kind === "activity" ? n : undefined;
  }

  /** The latest release on the path from `id` to the root. */
  release(id: string): Ticks {
    let r = 0;
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n)) {
      const v = this.nodes.get(n)?.releaseTicks;
      if (v !== undefined && v > r) r = v;
    }
    return r;
  }

  /** The earliest deadline on the path from `id` to the root. */
  deadline(id: string): Ticks {
    let d = Number.POSITIVE_INFINITY;
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n)) {
      const v = this.nodes.get(n)?.deadlineTicks;
      if (v !== undefined && v < d) d = v;
    }
    return d;
  }

  /** The last start from which the method can still meet its deadline. */
  latestStart(id: string): Ticks {
    const a = this.activity(id);
    if (!a) return -1;
    return this.deadline(id) - valueRange(a.duration).min;
  }

  /** The last start from which the method meets its deadline whatever its duration. */
  safeStart(id: string): Ticks {
    const a = this.activity(id);
    if (!a) return -1;
    return this.deadline(id) - valueRange(a.duration).max;
  }

  /** Whether a node is, or lies under, the source of an enables link this agent sees. */
  enablesSomething(id: string): boolean {
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
      if (this.view.links.some((l) => l.kind === "enables" && l.from === n)) return true;
    return false;
  }

  /** The targets of the enables links from `id` this agent sees. */
  targetsOf(id: string): string[] {
    return this.view.links.flatMap((l) => (l.kind === "enables" && l.from === id ? [l.to] : []));
  }

  /** The sources of the enables links into `id` this agent sees. */
  sourcesOf(id: string): string[] {
    return this.view.links.flatMap((l) => (l.kind === "enables" && l.to === id ? [l.from] : []));
  }

  /** Applies an announced model change to a node of the view (one it does not see is ignored). */
  change(ev: Extract<AgentEvent, { kind: "changed" }>): void {
    const node = this.nodes.get(ev.nodeId);
    if (!node) return;
    this.nodes.set(ev.nodeId, {
      ...node,
      ...(ev.releaseTicks !== undefined ? { releaseTicks: ev.releaseTicks } : {}),
      ...(ev.deadlineTicks !== undefined ? { deadlineTicks: ev.deadlineTicks } : {}),
      ...(node.kind === "activity" && ev.duration ? { duration: ev.duration } : {}),
      ...(node.kind === "activity" && ev.quality ? { quality: ev.quality } : {}),
    } as ModelNode);
  }
}
