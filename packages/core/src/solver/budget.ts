import type { SolveOptions, StopReason } from "./types.js";

/** Iterations between two `onProgress` calls. */
export const PROGRESS_INTERVAL = 1000;
/** The clock is read at most this many iterations apart. */
const MAX_CLOCK_STRIDE = 1000;
/** Reading the clock more often than this (in milliseconds) makes the stride grow. */
const CLOCK_RESOLUTION_MS = 2;

/**
 * The search's iteration and time budget. The clock is read every `stride` iterations, where the
 * stride doubles while iterations are fast (up to 1,000) and halves when they are slow, so a
 * time limit is kept to within a few milliseconds without reading the clock on every iteration.
 * The stride only decides when the search stops, never what it does.
 */
export class Budget {
  iterations = 0;
  stopReason: StopReason | undefined;
  private readonly maxIterations: number;
  private readonly deadline: number;
  private readonly now: (() => number) | undefined;
  private readonly startTime: number;
  private readonly onProgress: SolveOptions["onProgress"];
  private stride = 1;
  private nextCheck = 1;
  private lastCheckTime: number;

  constructor(options: SolveOptions, defaultIterations: number) {
    const { maxIterations, timeLimitMs, now } = options;
    if (timeLimitMs !== undefined && now === undefined) {
      throw new RangeError("solveJobShop: timeLimitMs needs a clock (options.now)");
    }
    if (maxIterations !== undefined && !(maxIterations >= 0)) {
      throw new RangeError("solveJobShop: maxIterations must be a non-negative number");
    }
    this.maxIterations =
      maxIterations ?? (timeLimitMs === undefined ? defaultIterations : Number.POSITIVE_INFINITY);
    this.now = now;
    this.startTime = now ? now() : 0;
    this.lastCheckTime = this.startTime;
    this.deadline =
      timeLimitMs === undefined ? Number.POSITIVE_INFINITY : this.startTime + timeLimitMs;
    this.onProgress = options.onProgress;
  }

  elapsedMs(): number {
    return this.now ? this.now() - this.startTime : 0;
  }

  /**
   * True (and sets `stopReason`) when no iteration may be started. The clock is read here only
   * before the first iteration; afterwards `step` reads it.
   */
  exhausted(): boolean {
    if (this.stopReason !== undefined) return true;
    if (this.iterations >= this.maxIterations) {
      this.stopReason = "iterations";
      return true;
    }
    if (this.iterations === 0 && this.now && this.now() >= this.deadline) {
      this.stopReason = "time-limit";
      return true;
    }
    return false;
  }

  /** Counts one iteration; returns true (and sets `stopReason`) when the search must stop. */
  step(bestValue: number): boolean {
    const it = ++this.iterations;
    if (this.onProgress && it % PROGRESS_INTERVAL === 0) {
      this.onProgress({ iterations: it, bestValue, elapsedMs: this.elapsedMs() });
    }
    if (it >= this.maxIterations) {
      this.stopReason = "iterations";
      return true;
    }
    if (this.deadline !== Number.POSITIVE_INFINITY && it >= this.nextCheck) {
      const t = this.now!();
      if (t >= this.deadline) {
        this.stopReason = "time-limit";
        return true;
      }
      const since = t - this.lastCheckTime;
      if (since < CLOCK_RESOLUTION_MS) this.stride = Math.min(MAX_CLOCK_STRIDE, this.stride * 2);
      else if (since > 4 * CLOCK_RESOLUTION_MS) this.stride = Math.max(1, this.stride >> 1);
      this.lastCheckTime = t;
      this.nextCheck = it + this.stride;
    }
    return false;
  }

  stop(reason: StopReason): void {
    this.stopReason = reason;
  }
}
