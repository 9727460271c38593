import type { Rng } from "../random.js";
import type { Budget } from "./budget.js";
import { Graph } from "./graph.js";
import type { Problem } from "./problem.js";
import { TabuList } from "./tabu-list.js";
import { resequencedCount } from "./warm-start.js";

/** Tuning of the total-weighted-tardiness search; the defaults depend only on the size. */
export interface TwtSearchParams {
  readonly tenureBase: number;
  readonly tenureSpread: number;
  /** Iterations without a new best of the current walk before jumping back to an elite. */
  readonly stagnation: number;
  /** Random critical swaps applied to an elite solution when jumping back to it. */
  readonly perturbation: number;
  readonly eliteSize: number;
  /** Whether the neighbourhood has N7 insertions besides adjacent swaps. */
  readonly insertions: boolean;
}

export function defaultTwtParams(problem: Problem): TwtSearchParams {
  const jobs = Math.max(1, problem.jobCount);
  const machines = Math.max(1, problem.machineCount);
  const base = 10 + Math.floor(jobs / machines);
  return {
    tenureBase: base,
    tenureSpread: Math.floor(base / 2),
    stagnation: Math.max(1000, 10 * problem.n),
    perturbation: 5,
    eliteSize: 6,
    insertions: true,
  };
}

/**
 * Tabu search for the total weighted tardiness. The neighbourhood swaps two adjacent operations
 * of a critical block on the longest path to the end of any tardy job (the arcs whose reversal
 * can make that job earlier); each swap is timed exactly by recomputing the heads. The best
 * non-tabu swap is taken (a tabu one when it beats the best value), reversed precedences stay
 * tabu for a random tenure, and a walk that stops improving jumps back to a perturbed elite.
 */
export function tabuSearchTwt(
  problem: Problem,
  initial: Int32Array,
  lowerBound: number,
  rng: Rng,
  budget: Budget,
  params: TwtSearchParams = defaultTwtParams(problem),
  /** Churn penalty: `weight` per operation whose machine predecessor is not its `reference` one. */
  churn?: { readonly reference: Int32Array; readonly weight: number },
): { seq: Int32Array; value: number } {
  const { n, jobCount, jobStart, duration: p, jobPrev, due, weight } = problem;
  const g = new Graph(problem);
  g.setSequences(initial);
  if (!g.computeHeads()) throw new Error("tabuSearchTwt: the initial sequences are cyclic");
  const { seq, pos, head, mPrev, mNext } = g;
  const savedHeads = new Float64Array(n);

  // Jobs without operations complete at their release: a constant part of the objective.
  let constant = 0;
  for (let j = 0; j < jobCount; j++) {
    if (jobStart[j]! === jobStart[j + 1]!) {
      constant += weight[j]! * Math.max(0, problem.instance.jobs[j]!.releaseTicks - due[j]!);
    }
  }
  const twt = (): number => {
    let sum = constant;
    if (churn) sum += churn.weight * resequencedCount(churn.reference, mPrev);
    for (let j = 0; j < jobCount; j++) {
      const last = jobStart[j + 1]! - 1;
      if (last < jobStart[j]!) continue;
      const late = head[last]! + p[last]! - due[j]!;
      if (late > 0) sum += weight[j]! * late;
    }
    return sum;
  };

  let value = twt();
  let bestValue = value;
  const bestSeq = Int32Array.from(seq);
  if (bestValue <= lowerBound || n === 0) {
    budget.stop("optimal");
    return { seq: bestSeq, value: bestValue };
  }

  const tabuList = new TabuList(problem);
  const path = new Int32Array(n);
  const capacity = 8 * n + 16;
  const cFrom = new Int32Array(capacity);
  const cTo = new Int32Array(capacity);
  const cValue = new Float64Array(capacity);
  const cStatus = new Uint8Array(capacity);
  const seen = new Set<number>();
  let count = 0;
  let iter = 1;

  const elite: { seq: Int32Array; value: number }[] = [];
  let walkBest = value;
  const walkBestSeq = Int32Array.from(seq);
  let sinceWalkBest = 0;

  const add = (from: number, to: number): void => {
    const key = from * n + to;
    if (seen.has(key)) return;
    seen.add(key);
    cFrom[count] = from;
    cTo[count] = to;
    count++;
  };

  /**
   * Moves to consider, on a longest path to the end of each tardy job: every swap of two adjacent
   * operations of a critical block and, with `insertions`, the N7 moves of the block (an inner
   * operation to either end, an end operation anywhere inside).
   */
  const collectMoves = (): void => {
    count = 0;
    seen.clear();
    for (let j = 0; j < jobCount; j++) {
      const last = jobStart[j + 1]! - 1;
      if (last < jobStart[j]! || head[last]! + p[last]! <= due[j]!) continue;
      let len = 0;
      for (let u = last; u >= 0; ) {
        path[len++] = u;
        const h = head[u]!;
        const mp = mPrev[u]!;
        const jp = jobPrev[u]!;
        const viaMachine = mp >= 0 && head[mp]! + p[mp]! === h;
        const viaJob = jp >= 0 && head[jp]! + p[jp]! === h;
        if (viaMachine && (!viaJob || rng.next() < 0.5)) u = mp;
        else u = viaJob ? jp : -1;
      }
      // The path runs backwards: path[k + 1] precedes path[k].
      let e = len - 1;
      while (e >= 0) {
        let s0 = e;
        while (s0 - 1 >= 0 && mNext[path[s0]!] === path[s0 - 1]) s0--;
        const L = e - s0 + 1;
        if (L >= 2) {
          const lo = pos[path[e]!]!;
          const hi = lo + L - 1;
          for (let i = lo; i < hi; i++) add(i, i + 1);
          if (params.insertions) {
            for (let i = lo + 2; i <= hi; i++) add(lo, i);
            for (let i = lo; i <= hi - 2; i++) add(hi, i);
            for (let i = lo + 1; i < hi; i++) {
              add(i, lo);
              add(i, hi);
            }
          }
        }
        e = s0 - 1;
      }
    }
  };

  /** The exact value after a move (NaN if it would close a cycle). */
  const moveValue = (from: number, to: number): number => {
    if (!g.move(from, to)) return Number.NaN;
    g.updateHeads();
    const v = twt();
    g.undoMove(from, to);
    head.set(savedHeads);
    return v;
  };

  const isTabu = (from: number, to: number): boolean => tabuList.isTabu(seq, from, to, iter);

  /** After a move from `from` to `to`, forbids restoring the precedences it reversed. */
  const makeTabu = (from: number, to: number): void => {
    tabuList.forbid(seq, from, to, iter + params.tenureBase + rng.int(0, params.tenureSpread));
  };

  const offerElite = (s: Int32Array, v: number): void => {
    for (const e of elite) if (e.value === v && e.seq.every((o, i) => o === s[i])) return;
    if (elite.length < params.eliteSize) {
      elite.push({ seq: Int32Array.from(s), value: v });
      return;
    }
    let worst = 0;
    for (let i = 1; i < elite.length; i++) if (elite[i]!.value > elite[worst]!.value) worst = i;
    if (v < elite[worst]!.value) elite[worst] = { seq: Int32Array.from(s), value: v };
  };

  /** Jumps back to a random elite solution and perturbs it with random moves. */
  const restart = (): void => {
    offerElite(walkBestSeq, walkBest);
    g.setSequences(elite[rng.int(0, elite.length - 1)]!.seq);
    g.computeHeads();
    for (let k = 0; k < params.perturbation; k++) {
      collectMoves();
      if (count === 0) break;
      const c = rng.int(0, count - 1);
      if (g.move(cFrom[c]!, cTo[c]!)) g.updateHeads();
    }
    tabuList.clear();
    value = twt();
    walkBest = value;
    walkBestSeq.set(seq);
    sinceWalkBest = 0;
  };

  while (!budget.exhausted()) {
    iter++;
    collectMoves();
    savedHeads.set(head);
    let pick = -1;
    let pickValue = Number.POSITIVE_INFINITY;
    let ties = 0;
    let aspire = -1;
    let aspireValue = bestValue;
    let valid = 0;
    for (let c = 0; c < count; c++) {
      const from = cFrom[c]!;
      const to = cTo[c]!;
      const cv = moveValue(from, to);
      cValue[c] = cv;
      if (Number.isNaN(cv)) {
        cStatus[c] = 2;
        continue;
      }
      valid++;
      const forbidden = isTabu(from, to);
      cStatus[c] = forbidden ? 1 : 0;
      if (!forbidden) {
        if (cv < pickValue) {
          pickValue = cv;
          pick = c;
          ties = 1;
        } else if (cv === pickValue && rng.int(0, ties++) === 0) pick = c;
      } else if (cv < aspireValue) {
        aspireValue = cv;
        aspire = c;
      }
    }
    if (aspire >= 0 && aspireValue < pickValue) pick = aspire;
    if (pick < 0 && valid > 0) {
      // Every move is tabu and none aspires: take a random one.
      let r = rng.int(0, valid - 1);
      for (let c = 0; c < count; c++) {
        if (cStatus[c] !== 2 && r-- === 0) {
          pick = c;
          break;
        }
      }
    }
    if (pick < 0) {
      budget.stop("exhausted");
      break;
    }
    const from = cFrom[pick]!;
    const to = cTo[pick]!;
    g.move(from, to);
    g.updateHeads();
    makeTabu(from, to);
    value = cValue[pick]!;
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
