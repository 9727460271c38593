import type { ModelIndex } from "../../model/model-index.js";
import { type ExecutedActivity, evaluateQuality } from "../../quality/qaf.js";
import type { SampledOutcome } from "../../simulation/outcomes.js";
import { buildPosProblem, type MipSolver } from "./formulation.js";

export type { MipSolution, MipSolver, PosProblem } from "./formulation.js";
export { buildPosProblem } from "./formulation.js";

/** The Prescient Optimal Solution of one trial (CSC §4), the upper bar of performance. */
export interface PosResult {
  /** Root quality of `executed`, by `evaluateQuality` with the trial's outcomes. */
  readonly quality: number;
  /**
   * Proven upper bound on the prescient optimum: `quality` when optimal, otherwise the least of
   * the solver's bound and the capacity-free bound (`PosProblem.upperBound`).
   */
  readonly bound: number;
  /** Relative gap (bound - quality) / bound; 0 when optimal or when the bound is 0. */
  readonly gap: number;
  readonly optimal: boolean;
  /** The prescient schedule: the activities it runs with their known outcomes. */
  readonly executed: ExecutedActivity[];
  /** Solver wall-clock seconds, when the solver reports them. */
  readonly seconds?: number;
}

/** Default solver time limit of `prescientOptimal`. */
export const POS_TIME_LIMIT_SECONDS = 60;

/**
 * Solves the POS MIP of `buildPosProblem` with `solve` and reads the schedule back. The schedule
 * is re-evaluated with `evaluateQuality`; when the solver proves optimality the evaluated root
 * quality must equal the MIP objective (within 1e-6, relative to the quality when above 1), the
 * check that the formulation matches the quality semantics, and a mismatch throws.
 * When the time limit stops the solver, `quality` is that of the best schedule found and
 * `bound` the solver's proven bound. Runs that earn nothing and that the schedule does not need
 * are left out of `executed`.
 */
export async function prescientOptimal(
  index: ModelIndex,
  outcomes: ReadonlyMap<string, SampledOutcome>,
  solve: MipSolver,
  options: { timeLimitSeconds?: number } = {},
): Promise<PosResult> {
  const problem = buildPosProblem(index, outcomes);
  const solution = await solve(problem.lp, {
    timeLimitSeconds: options.timeLimitSeconds ?? POS_TIME_LIMIT_SECONDS,
  });
  if (solution.status === "error" || solution.status === "infeasible")
    throw new Error(
      `POS: the MIP solver reported ${solution.status}${solution.message ? `: ${solution.message}` : ""}`,
    );
  const decoded = problem.decode(solution.values);
  const optimal = solution.status === "optimal";
  if (optimal) {
    const evaluated = evaluateQuality(index, decoded).rootQuality;
    if (Math.abs(evaluated - solution.objective) > 1e-6 * Math.max(1, Math.abs(solution.objective)))
      throw new Error(
        `POS: the schedule evaluates to root quality ${evaluated} but the MIP optimum is ${solution.objective}`,
      );
  }
  const executed = withoutIdleRuns(index, decoded);
  const quality = evaluateQuality(index, executed).rootQuality;
  const solverBound = Number.isFinite(solution.bound) ? solution.bound : Infinity;
  const bound = optimal ? quality : Math.max(quality, Math.min(problem.upperBound, solverBound));
  const gap = optimal || bound <= 0 ? 0 : Math.max(0, (bound - quality) / bound);
  return {
    quality,
    bound,
    gap,
    optimal,
    executed,
    ...(solution.seconds !== undefined ? { seconds: solution.seconds } : {}),
  };
}

/**
 * Drops, one at a time, the runs that earn nothing and whose removal keeps the root quality
 * (a MIP is indifferent to them): what is left are the runs the schedule needs.
 */
function withoutIdleRuns(index: ModelIndex, executed: ExecutedActivity[]): ExecutedActivity[] {
  let kept = executed;
  let evaluation = evaluateQuality(index, kept);
  for (const run of executed) {
    if ((evaluation.quality.get(run.activityId) ?? 0) > 0) continue;
    const without = kept.filter((e) => e !== run);
    const next = evaluateQuality(index, without);
    if (next.rootQuality >= evaluation.rootQuality) {
      kept = without;
      evaluation = next;
    }
  }
  return kept;
}
