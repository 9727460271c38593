import type { Rng } from "../random.js";
import type { Budget } from "./budget.js";
import { Graph } from "./graph.js";
import type { Problem } from "./problem.js";
import { TabuList } from "./tabu-list.js";

/** Tuning of the makespan tabu search; the defaults depend only on the instance's size. */
export interface MakespanSearchParams {
  /** Tabu tenure: `tenureBase + rng.int(0, tenureSpread)` iterations. */
  readonly tenureBase: number;
  readonly tenureSpread: number;
  /** Iterations without a new best of the current walk before jumping back to an elite. */
  readonly stagnation: number;
  /** Random moves applied to an elite solution when jumping back to it. */
  readonly perturbation: number;
  /** How many elite solutions are kept. */
  readonly eliteSize: number;
}

export function defaultMakespanParams(problem: Problem): MakespanSearchParams {
  const jobs = Math.max(1, problem.jobCount);
  const machines = Math.max(1, problem.machineCount);
  const base = 6 + Math.floor(jobs / (2 * machines));
  return {
    tenureBase: base,
    tenureSpread: 3,
    stagnation: Math.max(2000, 20 * problem.n),
    perturbation: 3,
    eliteSize: 8,
  };
}

interface Elite {
  readonly seq: Int32Array;
  readonly value: number;
}

/**
 * Tabu search for the makespan on the critical-block neighbourhood N7 of Zhang et al. (2007),
 * which contains N5 of Nowicki & Smutnicki (swap the first two or last two operations of a
 * block): move an inner operation of a critical block to the front or the back of the block, or
 * move the block's first or last operation anywhere inside it. Moves that cannot shorten the
 * critical path (inside the first block when the path starts at time 0, or the last block, unless
 * they change the block's other end) are left out; insertions that could close a cycle are left
 * out by the sufficient condition of Balas & Vazacopoulos (1998).
 *
 * Each move is rated by the Balas–Vazacopoulos head–tail estimate of the longest path through
 * the moved segment; only the chosen move is applied and timed exactly. The tabu list forbids,
 * for a random tenure, restoring any machine precedence a move reversed; a tabu move is allowed
 * when its estimate beats the best makespan (aspiration). When a walk stops improving, the search
 * jumps back to one of its elite solutions and perturbs it with a few random critical moves.
 */
export function tabuSearchMakespan(
  problem: Problem,
  initial: Int32Array,
  lowerBound: number,
  rng: Rng,
  budget: Budget,
  params: MakespanSearchParams = defaultMakespanParams(problem),
): { seq: Int32Array; value: number } {
  const { n, duration: p, jobPrev, jobNext, release } = problem;
  const g = new Graph(problem);
  g.setSequences(initial);
  if (!g.computeHeads()) throw new Error("tabuSearchMakespan: the initial sequences are cyclic");
  g.computeTails();
  const { seq, pos, head, tail, mNext, mPrev } = g;

  let bestValue = g.makespan;
  const bestSeq = Int32Array.from(seq);
  if (bestValue <= lowerBound || n === 0) {
    budget.stop("optimal");
    return { seq: bestSeq, value: bestValue };
  }

  const K = Math.max(1, problem.maxMachineOps);
  const tabuList = new TabuList(problem);
  const path = new Int32Array(n);
  const capacity = 4 * n + 16;
  const cFrom = new Int32Array(capacity);
  const cTo = new Int32Array(capacity);
  const cEst = new Float64Array(capacity);
  const cTabu = new Uint8Array(capacity);
  const scratch = new Float64Array(K + 1);
  let count = 0;
  let iter = 1;

  const elite: Elite[] = [];
  let walkBest = bestValue;
  let walkBestSeq = Int32Array.from(seq);
  let sinceWalkBest = 0;

  /** Walks one critical path back from a random operation that ends at the makespan. */
  const criticalPath = (): number => {
    const makespan = g.makespan;
    let ties = 0;
    let end = -1;
    const { lastOps } = g;
    for (let k = 0; k < lastOps.length; k++) {
      const o = lastOps[k]!;
      if (head[o]! + p[o]! === makespan && rng.int(0, ties++) === 0) end = o;
    }
    let len = 0;
    let u = end;
    while (u >= 0) {
      path[len++] = u;
      const h = head[u]!;
      const mp = mPrev[u]!;
      const jp = jobPrev[u]!;
      const viaMachine = mp >= 0 && head[mp]! + p[mp]! === h;
      const viaJob = jp >= 0 && head[jp]! + p[jp]! === h;
      if (viaMachine && viaJob) u = rng.next() < 0.5 ? mp : jp;
      else if (viaMachine) u = mp;
      else if (viaJob) u = jp;
      else u = -1;
    }
    path.subarray(0, len).reverse();
    return len;
  };

  const add = (from: number, to: number): void => {
    cFrom[count] = from;
    cTo[count] = to;
    count++;
  };

  /** Collects the N7 moves of the current critical path into the candidate arrays. */
  const collectMoves = (): void => {
    count = 0;
    const len = criticalPath();
    let s = 0;
    while (s < len) {
      let e = s;
      while (e + 1 < len && mNext[path[e]!] === path[e + 1]) e++;
      const L = e - s + 1;
      if (L >= 2) {
        const lo = pos[path[s]!]!;
        const hi = lo + L - 1;
        let first = s === 0;
        if (first) {
          const h0 = head[path[0]!]!;
          for (let k = lo; k <= hi && first; k++) if (release[seq[k]!]! < h0) first = false;
        }
        const last = e === len - 1;
        // Useful moves change the block's last operation when the block starts the path, and
        // its first operation when the block ends the path.
        const keep = (changesFirst: boolean, changesLast: boolean): boolean =>
          (!first || changesLast) && (!last || changesFirst);
        // The first operation moved after B[i]: i = 1 is the N5 swap of the first pair.
        for (let i = lo + 1; i <= hi; i++) if (keep(true, i === hi)) add(lo, i);
        if (L > 2) {
          // The last operation moved before B[i]: i = hi - 1 is the N5 swap of the last pair.
          for (let i = lo; i <= hi - 1; i++) if (keep(i === lo, true)) add(hi, i);
          // Inner operations to the front (i = lo + 1 is the first swap again) or the back.
          for (let i = lo + 2; i <= hi - 1; i++) if (keep(true, false)) add(i, lo);
          for (let i = lo + 1; i <= hi - 2; i++) if (keep(false, true)) add(i, hi);
        }
      }
      s = e + 1;
    }
  };

  /** Balas–Vazacopoulos estimate of the longest path through the segment after the move. */
  const estimate = (from: number, to: number): number => {
    let est = 0;
    if (from < to) {
      // seq[from] moves right after seq[to]: new order seq[from+1..to], seq[from].
      const x = seq[from]!;
      const a = mPrev[x]!;
      let prevEnd = a >= 0 ? head[a]! + p[a]! : 0;
      for (let k = from + 1; k <= to; k++) {
        const w = seq[k]!;
        let h = g.jobHead(w);
        if (prevEnd > h) h = prevEnd;
        scratch[k - from] = h;
        prevEnd = h + p[w]!;
      }
      let hx = g.jobHead(x);
      if (prevEnd > hx) hx = prevEnd;
      const b = mNext[seq[to]!]!;
      let nextTail = b >= 0 ? tail[b]! + p[b]! : 0;
      let tx = g.jobTail(x);
      if (nextTail > tx) tx = nextTail;
      est = hx + p[x]! + tx;
      nextTail = tx + p[x]!;
      for (let k = to; k > from; k--) {
        const w = seq[k]!;
        let t = g.jobTail(w);
        if (nextTail > t) t = nextTail;
        const v = scratch[k - from]! + p[w]! + t;
        if (v > est) est = v;
        nextTail = t + p[w]!;
      }
    } else {
      // seq[from] moves right before seq[to]: new order seq[from], seq[to..from-1].
      const y = seq[from]!;
      const a = mPrev[seq[to]!]!;
      let prevEnd = a >= 0 ? head[a]! + p[a]! : 0;
      let hy = g.jobHead(y);
      if (prevEnd > hy) hy = prevEnd;
      prevEnd = hy + p[y]!;
      for (let k = to; k < from; k++) {
        const w = seq[k]!;
        let h = g.jobHead(w);
        if (prevEnd > h) h = prevEnd;
        scratch[k - to] = h;
        prevEnd = h + p[w]!;
      }
      const b = mNext[y]!;
      let nextTail = b >= 0 ? tail[b]! + p[b]! : 0;
      for (let k = from - 1; k >= to; k--) {
        const w = seq[k]!;
        let t = g.jobTail(w);
        if (nextTail > t) t = nextTail;
        const v = scratch[k - to]! + p[w]! + t;
        if (v > est) est = v;
        nextTail = t + p[w]!;
      }
      let ty = g.jobTail(y);
      if (nextTail > ty) ty = nextTail;
      const v = hy + p[y]! + ty;
      if (v > est) est = v;
    }
    return est;
  };

  /** The Balas–Vazacopoulos sufficient condition for the move not to close a cycle. */
  const acyclic = (from: number, to: number): boolean => {
    if (from < to) {
      const js = jobNext[seq[from]!]!;
      const y = seq[to]!;
      return js < 0 || tail[y]! + p[y]! >= tail[js]! + p[js]!;
    }
    const jp = jobPrev[seq[from]!]!;
    const x = seq[to]!;
    return jp < 0 || head[x]! + p[x]! >= head[jp]! + p[jp]!;
  };

  const isTabu = (from: number, to: number): boolean => tabuList.isTabu(seq, from, to, iter);

  /** After a move from `from` to `to`, forbids restoring the precedences it reversed. */
  const makeTabu = (from: number, to: number): void => {
    tabuList.forbid(seq, from, to, iter + params.tenureBase + rng.int(0, params.tenureSpread));
  };

  /** Applies a move and refreshes the heads; returns false if it would close a cycle. */
  const apply = (from: number, to: number): boolean => {
    if (!g.move(from, to)) return false;
    g.updateHeads();
    return true;
  };

  const offerElite = (s: Int32Array, value: number): void => {
    for (const e of elite) {
      if (e.value === value && sameSequences(e.seq, s)) return;
    }
    if (elite.length < params.eliteSize) {
      elite.push({ seq: Int32Array.from(s), value });
      return;
    }
    let worst = 0;
    for (let i = 1; i < elite.length; i++) if (elite[i]!.value > elite[worst]!.value) worst = i;
    if (value < elite[worst]!.value) elite[worst] = { seq: Int32Array.from(s), value };
  };

  /** Jumps back to a random elite solution and perturbs it with random critical moves. */
  const restart = (): void => {
    offerElite(walkBestSeq, walkBest);
    const from = elite[rng.int(0, elite.length - 1)]!;
    g.setSequences(from.seq);
    g.computeHeads();
    g.computeTails();
    for (let k = 0; k < params.perturbation; k++) {
      collectMoves();
      if (count === 0) break;
      const c = rng.int(0, count - 1);
      if (apply(cFrom[c]!, cTo[c]!)) g.computeTails(g.hi);
    }
    tabuList.clear();
    walkBest = g.makespan;
    walkBestSeq = Int32Array.from(seq);
    sinceWalkBest = 0;
  };

  /** Rates every candidate: 2 = left out (could close a cycle), 1 = tabu, 0 = allowed. */
  const rate = (): void => {
    for (let c = 0; c < count; c++) {
      const from = cFrom[c]!;
      const to = cTo[c]!;
      if (!acyclic(from, to)) {
        cTabu[c] = 2;
        continue;
      }
      cEst[c] = estimate(from, to);
      cTabu[c] = isTabu(from, to) ? 1 : 0;
    }
  };

  /** The best allowed move, or a tabu one that beats the best makespan; -1 when none is left. */
  const select = (): number => {
    let free = -1;
    let freeEst = Number.POSITIVE_INFINITY;
    let ties = 0;
    let aspire = -1;
    let aspireEst = bestValue;
    let valid = 0;
    for (let c = 0; c < count; c++) {
      const status = cTabu[c]!;
      if (status === 2) continue;
      valid++;
      const est = cEst[c]!;
      if (status === 0) {
        if (est < freeEst) {
          freeEst = est;
          free = c;
          ties = 1;
        } else if (est === freeEst && rng.int(0, ties++) === 0) free = c;
      } else if (est < aspireEst) {
        aspireEst = est;
        aspire = c;
      }
    }
    if (aspire >= 0 && aspireEst < freeEst) return aspire;
    if (free >= 0 || valid === 0) return free;
    // Every move is tabu and none aspires: take a random one.
    let r = rng.int(0, valid - 1);
    for (let c = 0; c < count; c++) {
      if (cTabu[c] !== 2 && r-- === 0) return c;
    }
    return -1;
  };

  while (!budget.exhausted()) {
    collectMoves();
    if (count === 0) {
      // No critical block: the makespan is a job's release plus its work, a lower bound.
      budget.stop("optimal");
      break;
    }
    rate();
    let applied = false;
    for (let pick = select(); pick >= 0; pick = select()) {
      const from = cFrom[pick]!;
      const to = cTo[pick]!;
      if (apply(from, to)) {
        makeTabu(from, to);
        applied = true;
        break;
      }
      cTabu[pick] = 2;
    }
    if (!applied) {
      budget.stop("exhausted");
      break;
    }
    g.computeTails(g.hi);
    iter++;
    const value = g.makespan;
    sinceWalkBest++;
    if (value < walkBest) {
      walkBest = value;
      walkBestSeq.set(seq);
      sinceWalkBest = 0;
    }
    if (value < bestValue) {
      bestValue = value;
      bestSeq.set(seq);
    }
    const out = budget.step(bestValue);
    if (bestValue <= lowerBound) {
      budget.stop("optimal");
      break;
    }
    if (out) break;
    if (sinceWalkBest >= params.stagnation) restart();
  }
  return { seq: bestSeq, value: bestValue };
}

function sameSequences(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
