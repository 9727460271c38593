import type { Ticks } from "../model/types.js";

/** What the job-shop solver minimizes. */
export type JobShopObjective = "makespan" | "twt";

export interface SolveOptions {
  readonly objective: JobShopObjective;
  /** Seed of the solver's random choices: a seed and an iteration budget reproduce a run. */
  readonly seed: number;
  /** Stop after this many local-search iterations. */
  readonly maxIterations?: number;
  /** Stop once `now()` is this many milliseconds past the start; needs `now`. */
  readonly timeLimitMs?: number;
  /** A monotonic clock in milliseconds, passed in: core never reads the time itself. */
  readonly now?: () => number;
  /**
   * Warm start: the start of operations (by id) in a schedule to improve, typically the one in
   * force. The search begins from its machine sequences instead of the dispatch rules' best
   * (ignored when they contradict the jobs' order).
   */
  readonly warmStart?: ReadonlyMap<string, Ticks>;
  /**
   * With a warm start and the `twt` objective: each operation of the warm start whose machine
   * predecessor changes (resequenced) costs this much in the search, so it keeps what it need not
   * change. The reported `value` stays the plain objective. Default 0.
   */
  readonly churnWeight?: number;
  /**
   * With a warm start: also search this many iterations from the dispatch rules' best (as without
   * a warm start, no churn charge in that search), and keep the better result with its churn
   * charged; a disruption can leave the schedule in force in a poor basin. Default 0.
   */
  readonly coldIterations?: number;
  /** Called now and then (at most about every 1,000 iterations) with the best so far. */
  readonly onProgress?: (progress: SolveProgress) => void;
}

export interface SolveProgress {
  readonly iterations: number;
  readonly bestValue: number;
  readonly elapsedMs: number;
}

/** Why the search stopped. */
export type StopReason = "optimal" | "iterations" | "time-limit" | "exhausted";

export interface JobShopSolution {
  readonly objective: JobShopObjective;
  /** The objective value of `starts`. */
  readonly value: number;
  /** Value of the constructive start (the dispatch-rule schedule the search began from). */
  readonly initialValue: number;
  /** A lower bound on the objective; `value === lowerBound` proves optimality. */
  readonly lowerBound: number;
  /** `starts[j][k]`: start of operation k of job j. */
  readonly starts: readonly (readonly Ticks[])[];
  /** `sequences[m]`: operations on machine m in processing order, as [job, operation] pairs. */
  readonly sequences: readonly (readonly (readonly [number, number])[])[];
  readonly iterations: number;
  readonly stopReason: StopReason;
  /** Whether the search began from `warmStart`. */
  readonly warm?: boolean;
}
