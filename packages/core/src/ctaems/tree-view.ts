import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { Qaf, Ticks } from "../model/types.js";
import { type ExecutedActivity, evaluateQuality } from "../quality/qaf.js";
import {
  combine,
  expected,
  NOTHING,
  probabilityAtMost,
  probabilityAtMostGiven,
  qualityProfile,
  type TwoPoint,
} from "./profiles.js";

/** What an observer of a C-TAEMS run (the coordinator) knows of it at one tick. */
export interface TreeState {
  readonly tick: Ticks;
  /** Runs that ended, with their sampled quality (0 when aborted or cut short). */
  readonly executed: readonly ExecutedActivity[];
  /** Methods running now, and since when. */
  readonly running: readonly { readonly activityId: string; readonly startTicks: Ticks }[];
  /** Methods planned and not started: their planned (or installed) earliest start. */
  readonly planned: ReadonlyMap<string, Ticks>;
}

export type TreeNodeStatus =
  | "succeeded"
  | "failed"
  | "running"
  | "planned"
  | "unplanned"
  /** A task a child of which runs or is planned. */
  | "open";

/** One node of the task tree as the observer sees it (CSC §3.1.3 profiles, two-point form). */
export interface TreeNodeView {
  readonly id: string;
  readonly kind: "task" | "activity";
  readonly parent?: string;
  readonly depth: number;
  readonly qaf?: Qaf;
  /** A method's agent. */
  readonly owner?: string;
  readonly status: TreeNodeStatus;
  /** Probability that the node earns positive quality, given what ran and what is planned. */
  readonly p: number;
  /** The quality it earns when it earns any. */
  readonly v: number;
  /** Quality earned so far by CSC §2 (what ran, by the tree's rules). */
  readonly quality: number;
  /**
   * How much the root's expected quality hangs on this node: the expected root quality if it
   * succeeds minus that if it earns nothing, everything else as planned (enablers included);
   * 0 once it is settled (succeeded or failed). Absent when not asked for.
   */
  readonly criticality?: number;
}

export interface TreeView {
  readonly tick: Ticks;
  /** Nodes in pre-order from the root (a parent before its children, children in model order). */
  readonly nodes: readonly TreeNodeView[];
  /** The root's quality so far, by CSC §2 on what has run. */
  readonly rootQuality: number;
  /** The root's expected quality: what ran, plus what is planned at its odds. */
  readonly expectedRootQuality: number;
}

/**
 * The task tree as an observer sees it at a tick: each node's probability of success and its
 * criticality, from what ran (final), what runs (its duration's odds given how long it has run),
 * and what is planned (its odds from its planned start); a method nobody plans has none. A node
 * under an enables link succeeds only if its enablers do. The same two-point profiles the agents
 * use for their own schedules (`profiles.ts`), over the whole tree. A node's criticality costs
 * the evaluation of its ancestors and of what it enables again.
 */
export function taskTreeView(
  index: ModelIndex,
  state: TreeState,
  options: {
    /** Whether to compute the criticalities (default true); the probabilities cost far less. */
    readonly criticality?: boolean;
  } = {},
): TreeView {
  const quality = evaluateQuality(index, state.executed);
  const ended = new Map(state.executed.map((e) => [e.activityId, e]));
  const running = new Map(state.running.map((r) => [r.activityId, r.startTicks]));
  const t = state.tick;
  const ids = preorder(index);

  // Enables sources of a node: links into it or into an ancestor.
  const enablersOf = new Map<string, string[]>();
  for (const id of ids) {
    const out: string[] = [];
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      for (const l of index.linksTo.get(n) ?? []) if (l.kind === "enables") out.push(l.from);
    enablersOf.set(id, out);
  }

  /** A method's own odds, before its enablers. */
  const own = new Map<string, TwoPoint>();
  const status = new Map<string, TreeNodeStatus>();
  for (const a of index.activities) {
    const qp = qualityProfile(a.quality);
    const deadline = effectiveDeadline(index, a.id) ?? Number.POSITIVE_INFINITY;
    const release = effectiveRelease(index, a.id);
    const e = ended.get(a.id);
    const start = running.get(a.id);
    const plannedAt = state.planned.get(a.id);
    if (e !== undefined) {
      const q = quality.quality.get(a.id) ?? 0;
      own.set(a.id, q > 0 ? { p: 1, v: q } : NOTHING);
      status.set(a.id, q > 0 ? "succeeded" : "failed");
    } else if (start !== undefined) {
      const p =
        start < release
          ? 0
          : qp.p * probabilityAtMostGiven(a.duration, deadline - start, t - start);
      own.set(a.id, p > 0 ? { p, v: qp.v } : NOTHING);
      status.set(a.id, "running");
    } else if (plannedAt !== undefined) {
      const from = Math.max(plannedAt, t, release);
      const p = qp.p * probabilityAtMost(a.duration, deadline - from);
      own.set(a.id, p > 0 ? { p, v: qp.v } : NOTHING);
      status.set(a.id, "planned");
    } else {
      own.set(a.id, NOTHING);
      status.set(a.id, "unplanned");
    }
  }

  // The value a node earns when it does succeed, for the criticalities of nodes at p = 0.
  const nominal = new Map<string, number>();
  for (const id of [...ids].reverse()) {
    const n = index.nodes.get(id);
    if (n?.kind === "activity") nominal.set(id, qualityProfile(n.quality).v);
    else if (n?.kind === "task")
      nominal.set(
        id,
        combine(
          n.qaf,
          n.children.map((c) => ({ p: 1, v: nominal.get(c) ?? 0 })),
        ).v,
      );
  }

  // Whose profile each node's feeds: its parent, and the methods it enables (as a source).
  const dependents = new Map<string, string[]>();
  const depend = (on: string, who: string) => {
    const list = dependents.get(on);
    if (list) list.push(who);
    else dependents.set(on, [who]);
  };
  for (const id of ids) {
    const parent = index.parent.get(id);
    if (parent !== undefined) depend(id, parent);
    if (index.nodes.get(id)?.kind === "activity")
      for (const s of enablersOf.get(id) ?? []) depend(s, id);
  }

  /**
   * Every node's profile; with `fixed`, that node held at a given profile and only what depends
   * on it evaluated again (the rest taken from `base`): a criticality costs the node's ancestors
   * and what it enables, not the whole tree.
   */
  const evaluate = (
    fixed?: { id: string; tp: TwoPoint },
    base?: ReadonlyMap<string, TwoPoint>,
  ): Map<string, TwoPoint> => {
    const memo = new Map<string, TwoPoint>();
    let affected: Set<string> | undefined;
    if (fixed && base) {
      affected = new Set([fixed.id]);
      const queue = [fixed.id];
      while (queue.length > 0)
        for (const d of dependents.get(queue.pop()!) ?? [])
          if (!affected.has(d)) {
            affected.add(d);
            queue.push(d);
          }
    }
    const visiting = new Set<string>();
    const profile = (id: string): TwoPoint => {
      if (fixed?.id === id) {
        memo.set(id, fixed.tp);
        return fixed.tp;
      }
      const m = memo.get(id) ?? (affected && !affected.has(id) ? base?.get(id) : undefined);
      if (m) return m;
      // An enables cycle would be a model error (indexModel refuses one): read it as nothing.
      if (visiting.has(id)) return NOTHING;
      visiting.add(id);
      const n = index.nodes.get(id);
      let tp: TwoPoint = NOTHING;
      if (n?.kind === "activity") {
        const base = own.get(id) ?? NOTHING;
        // What ended is final: the tree's rules (enablers included) already judged it.
        let factor = 1;
        if (!ended.has(id))
          for (const s of enablersOf.get(id) ?? []) {
            const accrued = quality.accruedAt.get(s);
            if (accrued !== undefined && accrued <= t) continue;
            factor *= profile(s).p;
          }
        tp = base.p * factor > 0 ? { p: base.p * factor, v: base.v } : NOTHING;
      } else if (n?.kind === "task") tp = combine(n.qaf, n.children.map(profile));
      visiting.delete(id);
      memo.set(id, tp);
      return tp;
    };
    if (fixed && base) profile(index.model.root);
    else for (const id of ids) profile(id);
    return memo;
  };

  // Tasks' statuses bottom-up: a task is settled once every child is.
  for (const id of [...ids].reverse()) {
    const n = index.nodes.get(id);
    if (n?.kind !== "task") continue;
    // Open while a child runs or is planned; an unplanned child may yet be installed, but
    // nothing is under way for it.
    const kids = n.children.map((c) => status.get(c));
    const open = kids.some((s) => s === "running" || s === "planned" || s === "open");
    status.set(
      id,
      open
        ? "open"
        : (quality.quality.get(id) ?? 0) > 0
          ? "succeeded"
          : kids.some((s) => s === "failed")
            ? "failed"
            : "unplanned",
    );
  }

  const now = evaluate();
  const root = index.model.root;
  const rootValue = (m: Map<string, TwoPoint>) => expected(m.get(root) ?? NOTHING);
  const nodes: TreeNodeView[] = ids.map((id) => {
    const n = index.nodes.get(id)!;
    const tp = now.get(id) ?? NOTHING;
    const v = tp.p > 0 ? tp.v : (nominal.get(id) ?? 0);
    const st = status.get(id) ?? "unplanned";
    // A settled node has nothing left at stake: what it earned is final.
    const criticality =
      options.criticality === false
        ? undefined
        : st === "succeeded" || st === "failed"
          ? 0
          : rootValue(evaluate({ id, tp: { p: 1, v } }, now)) -
            rootValue(evaluate({ id, tp: NOTHING }, now));
    const parent = index.parent.get(id);
    let depth = 0;
    for (let p = parent; p !== undefined; p = index.parent.get(p)) depth++;
    return {
      id,
      kind: n.kind,
      ...(parent !== undefined ? { parent } : {}),
      depth,
      ...(n.kind === "task" ? { qaf: n.qaf } : { owner: n.resources[0] ?? "" }),
      status: st,
      p: tp.p,
      v: tp.v,
      quality: quality.quality.get(id) ?? 0,
      ...(criticality !== undefined ? { criticality: Math.max(0, criticality) } : {}),
    };
  });
  return {
    tick: t,
    nodes,
    rootQuality: quality.rootQuality,
    expectedRootQuality: rootValue(now),
  };
}

/** The tree's nodes, parents before children, children in model order. */
function preorder(index: ModelIndex): string[] {
  const out: string[] = [];
  const stack = [index.model.root];
  while (stack.length > 0) {
    const id = stack.pop()!;
    out.push(id);
    const n = index.nodes.get(id);
    if (n?.kind === "task")
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

/** A node whose probability of success fell between two views of the tree. */
export interface ProbabilityDrop {
  readonly nodeId: string;
  readonly from: number;
  readonly to: number;
  /** Its status in the later view (e.g. "failed" for a method that ran and earned nothing). */
  readonly status: TreeNodeStatus;
}

/**
 * The nodes whose probability fell by at least `minDrop` between two views, highest in the tree
 * first (a fall at a task explains the root's; the methods under it say why). Nodes whose fall
 * is only their parent's echo are kept: the operator sees where it started.
 */
export function probabilityDrops(
  before: TreeView,
  after: TreeView,
  minDrop = 0.2,
): ProbabilityDrop[] {
  const was = new Map(before.nodes.map((n) => [n.id, n.p]));
  const out: ProbabilityDrop[] = [];
  for (const n of after.nodes) {
    const from = was.get(n.id);
    if (from === undefined) continue;
    if (from - n.p >= minDrop - 1e-9) out.push({ nodeId: n.id, from, to: n.p, status: n.status });
  }
  return out;
}
