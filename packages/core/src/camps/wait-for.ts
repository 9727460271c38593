import { compare } from "./model-view.js";

/**
 * Coordination deadlock (the seed article's failure mode "two agents waiting for each other's
 * move indefinitely"): with inter-agent constraints, an agent whose operation is bound to an
 * operation of another agent waits for that agent's new plan before it revises its own. If the
 * waits form a cycle, nobody moves. The wait-for graph makes the waits explicit so a cycle is
 * found and broken by a fixed rule instead of by a timeout.
 */
export interface WaitEdge {
  /** The agent that waits. */
  readonly waiter: string;
  /** The agent whose new plan it waits for. */
  readonly on: string;
  /** The waiter's operation whose constraint depends on the other agent. */
  readonly activityId: string;
  /** Higher is more important; the lowest-priority edge on a cycle is the one broken. */
  readonly priority: number;
}

const edgeOrder = (a: WaitEdge, b: WaitEdge) =>
  a.priority - b.priority ||
  compare(a.waiter, b.waiter) ||
  compare(a.on, b.on) ||
  compare(a.activityId, b.activityId);

/** A cycle of agents [a, b, ..., a] in the wait-for graph, or undefined. Deterministic. */
export function findWaitForCycle(edges: readonly WaitEdge[]): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.waiter === e.on) continue;
    const list = next.get(e.waiter) ?? [];
    if (!list.includes(e.on)) list.push(e.on);
    next.set(e.waiter, list);
  }
  for (const list of next.values()) list.sort(compare);
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 1);
    path.push(id);
    for (const n of next.get(id) ?? []) {
      const s = state.get(n);
      if (s === 1) return [...path.slice(path.indexOf(n)), n];
      if (s === undefined) {
        const found = visit(n);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of [...next.keys()].sort(compare)) {
    if (state.get(id) === undefined) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Breaks every cycle: while one exists, drop the lowest-priority edge on it (ties: by waiter,
 * then the agent waited on, then the activity id). A dropped edge means the waiter goes ahead
 * with the value it has now instead of waiting; the next integration catches any conflict left.
 */
export function breakWaitForCycles(edges: readonly WaitEdge[]): {
  kept: WaitEdge[];
  broken: WaitEdge[];
} {
  let kept = edges.filter((e) => e.waiter !== e.on);
  const broken: WaitEdge[] = [];
  for (let cycle = findWaitForCycle(kept); cycle; cycle = findWaitForCycle(kept)) {
    const onCycle: WaitEdge[] = [];
    for (let i = 0; i + 1 < cycle.length; i++) {
      const from = cycle[i]!;
      const to = cycle[i + 1]!;
      onCycle.push(...kept.filter((e) => e.waiter === from && e.on === to));
    }
    const victim = onCycle.sort(edgeOrder)[0]!;
    broken.push(victim);
    kept = kept.filter((e) => e !== victim);
  }
  return { kept, broken };
}

/**
 * The order in which agents can go: each wave holds the agents that wait on no agent of a
 * later wave. Edges must be acyclic (see `breakWaitForCycles`); edges to agents outside
 * `agents` are ignored (those agents are not changing).
 */
export function waitForWaves(agents: readonly string[], edges: readonly WaitEdge[]): string[][] {
  const pending = new Set(agents);
  const waves: string[][] = [];
  while (pending.size > 0) {
    const wave = [...pending]
      .filter((a) => !edges.some((e) => e.waiter === a && e.on !== a && pending.has(e.on)))
      .sort(compare);
    if (wave.length === 0) throw new Error("waitForWaves: the wait-for edges have a cycle");
    waves.push(wave);
    for (const a of wave) pending.delete(a);
  }
  return waves;
}
