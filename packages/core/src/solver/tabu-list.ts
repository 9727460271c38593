import type { Problem } from "./problem.js";

/**
 * The tabu list of the critical-block searches (makespan and TWT): an entry per (operation, the
 * machine rank of another operation) holds the iteration until which the precedence between the
 * two may not be restored. A move of `seq[from]` to position `to` on its machine reverses the
 * precedences between it and the operations it passes.
 */
export class TabuList {
  private readonly k: number;
  private readonly until: Int32Array;
  private readonly machineRank: Int32Array;

  constructor(problem: Problem) {
    this.k = Math.max(1, problem.maxMachineOps);
    this.until = new Int32Array(problem.n * this.k);
    this.machineRank = problem.machineRank;
  }

  /** Whether moving `seq[from]` to `to` restores a machine precedence still tabu at `iter`. */
  isTabu(seq: Int32Array, from: number, to: number, iter: number): boolean {
    const { k, until, machineRank } = this;
    const moved = seq[from]!;
    if (from < to) {
      const r = machineRank[moved]!;
      for (let i = from + 1; i <= to; i++) if (until[seq[i]! * k + r]! > iter) return true;
    } else {
      const base = moved * k;
      for (let i = to; i < from; i++) if (until[base + machineRank[seq[i]!]!]! > iter) return true;
    }
    return false;
  }

  /** After a move from `from` to `to` (already applied to `seq`), forbids restoring what it reversed. */
  forbid(seq: Int32Array, from: number, to: number, untilIter: number): void {
    const { k, until, machineRank } = this;
    const moved = seq[to]!;
    if (from < to) {
      const base = moved * k;
      for (let i = from; i < to; i++) until[base + machineRank[seq[i]!]!] = untilIter;
    } else {
      const r = machineRank[moved]!;
      for (let i = to + 1; i <= from; i++) until[seq[i]! * k + r] = untilIter;
    }
  }

  clear(): void {
    this.until.fill(0);
  }
}
