import type { Problem } from "./problem.js";

/**
 * The disjunctive graph of a job shop with every machine's order fixed: the machine sequences
 * (one flat array, machine by machine), each operation's machine neighbours, and the heads
 * (earliest starts) and tails (longest path from an operation's end to the end of the schedule)
 * of the semi-active schedule they define.
 */
export class Graph {
  readonly problem: Problem;
  /** Machine sequences, machine after machine: machine m holds `seq[mStart[m] .. mStart[m+1])`. */
  readonly seq: Int32Array;
  readonly mStart: Int32Array;
  /** Index of each operation in `seq`. */
  readonly pos: Int32Array;
  /** Machine predecessor and successor of each operation, or -1. */
  readonly mPrev: Int32Array;
  readonly mNext: Int32Array;
  /** Heads: earliest starts. */
  readonly head: Float64Array;
  /** Tails: the longest path from an operation's end to the end of the schedule. */
  readonly tail: Float64Array;
  /** A topological order of the operations, valid after `computeHeads` returned true. */
  readonly topo: Int32Array;
  /** Index of each operation in `topo`. */
  readonly ord: Int32Array;
  /**
   * The window `topo[lo..hi]` that the last `move` reordered: the heads of `topo[..lo)` and the
   * tails of `topo(hi..]` did not change.
   */
  lo = 0;
  hi = -1;
  private readonly indegree: Int32Array;
  private readonly stack: Int32Array;
  private readonly mark: Int32Array;
  private markStamp = 0;
  private readonly forward: Int32Array;
  private readonly backward: Int32Array;
  private readonly topoBackup: Int32Array;
  private readonly nodes: Int32Array;
  /** The last operation of each job that has any: every longest path ends at one of them. */
  readonly lastOps: Int32Array;
  /** The makespan, valid after `computeHeads`. */
  makespan = 0;

  constructor(problem: Problem) {
    this.problem = problem;
    const { n, machineCount, machineLoad } = problem;
    this.seq = new Int32Array(n);
    this.mStart = new Int32Array(machineCount + 1);
    for (let m = 0; m < machineCount; m++) this.mStart[m + 1] = this.mStart[m]! + machineLoad[m]!;
    this.pos = new Int32Array(n);
    this.mPrev = new Int32Array(n);
    this.mNext = new Int32Array(n);
    this.head = new Float64Array(n);
    this.tail = new Float64Array(n);
    this.topo = new Int32Array(n);
    this.ord = new Int32Array(n);
    this.indegree = new Int32Array(n);
    this.stack = new Int32Array(n);
    this.mark = new Int32Array(n);
    this.forward = new Int32Array(n);
    this.backward = new Int32Array(n);
    this.topoBackup = new Int32Array(n);
    this.nodes = new Int32Array(n);
    const last: number[] = [];
    for (let j = 0; j < problem.jobCount; j++) {
      if (problem.jobStart[j + 1]! > problem.jobStart[j]!) last.push(problem.jobStart[j + 1]! - 1);
    }
    this.lastOps = Int32Array.from(last);
  }

  /** Sets the machine sequences from a flat array laid out like `seq`. */
  setSequences(flat: Int32Array): void {
    this.seq.set(flat);
    for (let m = 0; m < this.problem.machineCount; m++) {
      const from = this.mStart[m]!;
      const to = this.mStart[m + 1]! - 1;
      if (to >= from) this.relink(from, to);
    }
  }

  /** Refreshes `pos`, `mPrev` and `mNext` for `seq[from..to]` (one machine) and its neighbours. */
  relink(from: number, to: number): void {
    const m = this.problem.machine[this.seq[from]!]!;
    const lo = this.mStart[m]!;
    const hi = this.mStart[m + 1]! - 1;
    const a = Math.max(lo, from - 1);
    const b = Math.min(hi, to + 1);
    const { seq, pos, mPrev, mNext } = this;
    for (let i = a; i <= b; i++) {
      const o = seq[i]!;
      pos[o] = i;
      mPrev[o] = i > lo ? seq[i - 1]! : -1;
      mNext[o] = i < hi ? seq[i + 1]! : -1;
    }
  }

  /** Moves the operation at `seq[from]` to `seq[to]` on the same machine, shifting the others. */
  shift(from: number, to: number): void {
    const { seq } = this;
    const o = seq[from]!;
    if (from < to) {
      seq.copyWithin(from, from + 1, to + 1);
      seq[to] = o;
      this.relink(from, to);
    } else if (to < from) {
      seq.copyWithin(to + 1, to, from);
      seq[to] = o;
      this.relink(to, from);
    }
  }

  /**
   * Computes heads, the makespan and a topological order (Kahn). Returns false when the machine
   * sequences make a cycle with the job order (no feasible schedule has them).
   */
  computeHeads(): boolean {
    const { problem, head, topo, indegree, mPrev, mNext } = this;
    const { n, jobPrev, jobNext, duration, release } = problem;
    let queued = 0;
    for (let o = 0; o < n; o++) {
      const d = (jobPrev[o]! >= 0 ? 1 : 0) + (mPrev[o]! >= 0 ? 1 : 0);
      indegree[o] = d;
      if (d === 0) topo[queued++] = o;
    }
    let makespan = 0;
    const { ord } = this;
    for (let i = 0; i < queued; i++) {
      const o = topo[i]!;
      ord[o] = i;
      let h = release[o]!;
      const jp = jobPrev[o]!;
      if (jp >= 0) {
        const e = head[jp]! + duration[jp]!;
        if (e > h) h = e;
      }
      const mp = mPrev[o]!;
      if (mp >= 0) {
        const e = head[mp]! + duration[mp]!;
        if (e > h) h = e;
      }
      head[o] = h;
      const end = h + duration[o]!;
      if (end > makespan) makespan = end;
      const js = jobNext[o]!;
      if (js >= 0 && --indegree[js]! === 0) topo[queued++] = js;
      const ms = mNext[o]!;
      if (ms >= 0 && --indegree[ms]! === 0) topo[queued++] = ms;
    }
    this.makespan = makespan;
    return queued === n;
  }

  /** Computes tails from the topological order (all of them, or those of `topo[0..to]`). */
  computeTails(to = this.problem.n - 1): void {
    const { problem, tail, topo, mNext } = this;
    const { jobNext, duration } = problem;
    for (let i = to; i >= 0; i--) {
      const o = topo[i]!;
      let t = 0;
      const js = jobNext[o]!;
      if (js >= 0) t = tail[js]! + duration[js]!;
      const ms = mNext[o]!;
      if (ms >= 0) {
        const e = tail[ms]! + duration[ms]!;
        if (e > t) t = e;
      }
      tail[o] = t;
    }
  }

  /** Earliest start of an operation allowed by its job alone (release and job predecessor). */
  jobHead(o: number): number {
    const { release, jobPrev, duration } = this.problem;
    const jp = jobPrev[o]!;
    if (jp < 0) return release[o]!;
    const e = this.head[jp]! + duration[jp]!;
    return Math.max(e, release[o]!);
  }

  /** Tail of an operation allowed by its job alone. */
  jobTail(o: number): number {
    const { jobNext, duration } = this.problem;
    const js = jobNext[o]!;
    return js < 0 ? 0 : this.tail[js]! + duration[js]!;
  }

  /**
   * Recomputes the heads of `topo[from..]` (the others are unchanged by the last `move`) and the
   * makespan.
   */
  updateHeads(from = this.lo): void {
    const { problem, head, topo, mPrev } = this;
    const { n, jobPrev, duration, release } = problem;
    for (let i = from; i < n; i++) {
      const o = topo[i]!;
      let h = release[o]!;
      const jp = jobPrev[o]!;
      if (jp >= 0) {
        const e = head[jp]! + duration[jp]!;
        if (e > h) h = e;
      }
      const mp = mPrev[o]!;
      if (mp >= 0) {
        const e = head[mp]! + duration[mp]!;
        if (e > h) h = e;
      }
      head[o] = h;
    }
    let makespan = 0;
    const { lastOps } = this;
    for (let k = 0; k < lastOps.length; k++) {
      const o = lastOps[k]!;
      const e = head[o]! + duration[o]!;
      if (e > makespan) makespan = e;
    }
    this.makespan = makespan;
  }

  /**
   * Moves `seq[from]` to `seq[to]` (same machine) and repairs the topological order with one
   * step of the Pearce–Kelly algorithm: the move adds exactly one arc against the old order,
   * from the segment's last operation to its first. Returns false, leaving everything as it was,
   * when the move closes a cycle. On success `lo..hi` is the reordered window of `topo`; call
   * `updateHeads()` and `computeTails(hi)` to refresh the times.
   */
  move(from: number, to: number): boolean {
    const { seq, ord } = this;
    // The arc that goes against the old order runs from the segment's old last operation (which
    // now precedes the old first one) to the old first operation.
    const first = from < to ? seq[from]! : seq[to]!;
    const last = from < to ? seq[to]! : seq[from]!;
    this.shift(from, to);
    const lb = ord[first]!;
    const ub = ord[last]!;
    const { problem, stack, mark, forward, backward, mNext, mPrev, topo } = this;
    const { jobNext, jobPrev } = problem;
    const stamp = ++this.markStamp;
    // Forward from `first` within the window: everything that must now follow `last`.
    let nf = 0;
    let sp = 0;
    stack[sp++] = first;
    mark[first] = stamp;
    while (sp > 0) {
      const o = stack[--sp]!;
      forward[nf++] = ord[o]!;
      const js = jobNext[o]!;
      if (js >= 0 && mark[js] !== stamp && ord[js]! <= ub) {
        if (js === last) return this.reject(from, to);
        mark[js] = stamp;
        stack[sp++] = js;
      }
      const ms = mNext[o]!;
      if (ms >= 0 && mark[ms] !== stamp && ord[ms]! <= ub) {
        if (ms === last) return this.reject(from, to);
        mark[ms] = stamp;
        stack[sp++] = ms;
      }
    }
    // Backward from `last` within the window: everything that must now precede `first`.
    let nb = 0;
    stack[sp++] = last;
    mark[last] = stamp;
    while (sp > 0) {
      const o = stack[--sp]!;
      backward[nb++] = ord[o]!;
      const jp = jobPrev[o]!;
      if (jp >= 0 && mark[jp] !== stamp && ord[jp]! >= lb) {
        mark[jp] = stamp;
        stack[sp++] = jp;
      }
      const mp = mPrev[o]!;
      if (mp >= 0 && mark[mp] !== stamp && ord[mp]! >= lb) {
        mark[mp] = stamp;
        stack[sp++] = mp;
      }
    }
    this.topoBackup.set(topo.subarray(lb, ub + 1), lb);
    const f = forward.subarray(0, nf).sort();
    const b = backward.subarray(0, nb).sort();
    // The slots the two sets occupied, in order, receive the backward set then the forward set.
    const { nodes } = this;
    let k = 0;
    for (let q = 0; q < nb; q++) nodes[k++] = topo[b[q]!]!;
    for (let q = 0; q < nf; q++) nodes[k++] = topo[f[q]!]!;
    let i = 0;
    let j = 0;
    for (let q = 0; q < k; q++) {
      const slot = i < nb && (j >= nf || b[i]! < f[j]!) ? b[i++]! : f[j++]!;
      const o = nodes[q]!;
      topo[slot] = o;
      ord[o] = slot;
    }
    this.lo = lb;
    this.hi = ub;
    return true;
  }

  private reject(from: number, to: number): false {
    this.shift(to, from);
    return false;
  }

  /** Undoes the last successful `move(from, to)`; heads and tails must be restored separately. */
  undoMove(from: number, to: number): void {
    this.shift(to, from);
    const { topo, ord, topoBackup, lo, hi } = this;
    for (let i = lo; i <= hi; i++) {
      const o = topoBackup[i]!;
      topo[i] = o;
      ord[o] = i;
    }
  }
}
