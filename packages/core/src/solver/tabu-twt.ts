import type { Rng } from "../random.js";
import type { Budget } from "./budget.js";
import { Graph } from "./graph.js";
import type { Problem } from "./problem.js";

/** Tuning of the total-weighted-tardiness search; the defaults depend only on the size. */
export interface TwtSearchParams {
  readonly tenureBase: number;
  readonly tenureSpread: number;
  /** Iterations without a new best of the current walk before jumping back to an elite. */
  readonly stagnation: number;
  /** Random critical swaps applied to an elite solution when jumping back to it. */
  readonly perturbation: number;
  readonly eliteSize: number;
}

export function defaultTwtParams(problem: Problem): TwtSearchParams {
  const jobs = Math.max(1, problem.jobCount);
  const machines = Math.max(1, problem.machineCount);
  const base = 5 + Math.floor(jobs / machines);
  return {
    tenureBase: base,
    tenureSpread: Math.max(1, Math.floor(base * 0.5)),
    stagnation: Math.max(200, 2 * problem.n),
    perturbation: 3,
    eliteSize: 6,
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
): { seq: Int32Array; value: number } {
  const { n, jobCount, jobStart, duration: p, jobPrev, machineRank, due, weight } = problem;
  const g = new Graph(problem);
  g.setSequences(initial);
  if (!g.computeHeads()) throw new Error("tabuSearchTwt: the initial sequences are cyclic");
  const { seq, pos, head, mPrev, mNext } = g;

  // Jobs without operations complete at their release: a constant part of the objective.
  let constant = 0;
  for (let j = 0; j < jobCount; j++) {
    if (jobStart[j]! === jobStart[j + 1]!) {
      constant += weight[j]! * Math.max(0, problem.instance.jobs[j]!.releaseTicks - due[j]!);
    }
  }
  const twt = (): number => {
    let sum = constant;
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

  const K = Math.max(1, problem.maxMachineOps);
  const tabu = new Int32Array(n * K);
  const stamp = new Int32Array(n);
  const cand = new Int32Array(n);
  const cValue = new Float64Array(n);
  const cStatus = new Uint8Array(n);
  let count = 0;
  let iter = 1;

  const elite: { seq: Int32Array; value: number }[] = [];
  let walkBest = value;
  const walkBestSeq = Int32Array.from(seq);
  let sinceWalkBest = 0;

  /** Swaps to consider: critical machine arcs on a longest path to each tardy job's end. */
  const collectMoves = (): void => {
    count = 0;
    for (let j = 0; j < jobCount; j++) {
      const last = jobStart[j + 1]! - 1;
      if (last < jobStart[j]! || head[last]! + p[last]! <= due[j]!) continue;
      let u = last;
      while (u >= 0) {
        const h = head[u]!;
        const mp = mPrev[u]!;
        const jp = jobPrev[u]!;
        const viaMachine = mp >= 0 && head[mp]! + p[mp]! === h;
        const viaJob = jp >= 0 && head[jp]! + p[jp]! === h;
        if (viaMachine && (!viaJob || rng.next() < 0.5)) {
          if (stamp[mp] !== iter) {
            stamp[mp] = iter;
            cand[count++] = mp;
          }
          u = mp;
        } else u = viaJob ? jp : -1;
      }
    }
  };

  const swapValue = (u: number): number => {
    const i = pos[u]!;
    g.shift(i, i + 1);
    const v = g.computeHeads() ? twt() : Number.NaN;
    g.shift(i + 1, i);
    return v;
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

  const restart = (): void => {
    offerElite(walkBestSeq, walkBest);
    g.setSequences(elite[rng.int(0, elite.length - 1)]!.seq);
    g.computeHeads();
    for (let k = 0; k < params.perturbation; k++) {
      iter++;
      collectMoves();
      if (count === 0) break;
      const i = pos[cand[rng.int(0, count - 1)]!]!;
      g.shift(i, i + 1);
      if (!g.computeHeads()) {
        g.shift(i + 1, i);
        g.computeHeads();
      }
    }
    tabu.fill(0);
    value = twt();
    walkBest = value;
    walkBestSeq.set(seq);
    sinceWalkBest = 0;
  };

  while (!budget.exhausted()) {
    iter++;
    collectMoves();
    let pick = -1;
    let pickValue = Number.POSITIVE_INFINITY;
    let ties = 0;
    let aspire = -1;
    let aspireValue = bestValue;
    let valid = 0;
    for (let c = 0; c < count; c++) {
      const u = cand[c]!;
      const v = mNext[u]!;
      const cv = swapValue(u);
      cValue[c] = cv;
      if (Number.isNaN(cv)) {
        cStatus[c] = 2;
        continue;
      }
      valid++;
      // The swap puts v before u: tabu if that order was reversed recently.
      const isTabu = tabu[v * K + machineRank[u]!]! > iter;
      cStatus[c] = isTabu ? 1 : 0;
      if (!isTabu) {
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
      let r = rng.int(0, valid - 1);
      for (let c = 0; c < count; c++) {
        if (cStatus[c] !== 2 && r-- === 0) {
          pick = c;
          break;
        }
      }
    }
    if (pick < 0) {
      // No swap is possible: restore the heads and stop.
      g.computeHeads();
      budget.stop("exhausted");
      break;
    }
    const u = cand[pick]!;
    const v = mNext[u]!;
    tabu[u * K + machineRank[v]!] = iter + params.tenureBase + rng.int(0, params.tenureSpread);
    const i = pos[u]!;
    g.shift(i, i + 1);
    g.computeHeads();
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
