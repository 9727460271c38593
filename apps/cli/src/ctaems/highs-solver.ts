import type { MipSolution, MipSolver } from "@consort/core";
import highsModule, { type Highs } from "highs";

type HighsLoader = typeof highsModule.default;
/**
 * The loader. `highs`'s `types.d.ts` is read as CommonJS under NodeNext, so TypeScript types the
 * default import as the module object whose `default` is the loader; at run time Node loads the
 * package's ES module build, whose default export is the loader itself. Either way works here.
 */
const loadHighs: HighsLoader =
  (highsModule as unknown as { default?: HighsLoader }).default ??
  (highsModule as unknown as HighsLoader);

/**
 * A `MipSolver` on HiGHS (the `highs` package: HiGHS compiled to WebAssembly, single-threaded,
 * synchronous once loaded).
 *
 * Each solve gets its own persistent HiGHS model (`createModel`, then `readModel` of the LP text,
 * `run`, `dispose`), not the one-shot `highs.solve`, because the one-shot result has no proven
 * bound. Here the bound is HiGHS's `mip_dual_bound` info (for a maximization, an upper bound on
 * the optimum), read after `run` also when the time limit stops it; when the model has no
 * integer variable (a plain LP) or HiGHS proved optimality, the bound is the objective.
 *
 * Options: `output_flag: false` (silent), `time_limit`, `mip_rel_gap: 0` (prove optimality; the
 * absolute gap keeps HiGHS's default 1e-6). Only nonzero variables are returned.
 *
 * The WebAssembly runtime is loaded once and reused. If a solve aborts the runtime (a malformed
 * LP file does, and so may an allocation failure on a very large model), the runtime is thrown
 * away and the solve retried once on a fresh one; a native error status is reported as is. A
 * runtime whose memory has grown past `maxMemoryBytes` is replaced before the next solve, since
 * Wasm memory never shrinks.
 */
export function createHighsSolver(config: { maxMemoryBytes?: number } = {}): MipSolver {
  const maxMemoryBytes = config.maxMemoryBytes ?? 1024 * 1024 * 1024;
  let runtime: Promise<Highs> | undefined;
  return async (lp, options) => {
    let failure = "";
    for (let attempt = 0; attempt < 2; attempt++) {
      let highs: Highs | undefined;
      try {
        runtime ??= loadHighs();
        highs = await runtime;
        const solution = solveOnce(highs, lp, options.timeLimitSeconds);
        if (highs.memoryBytes > maxMemoryBytes) runtime = undefined;
        return solution;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // A native error status leaves the runtime sound, and would recur.
        if (highs && error instanceof highs.errors.HighsError)
          return { ...noSolution(), status: "error", message: `HiGHS: ${message}` };
        // Anything else (a Wasm abort, as on a malformed LP file) may leave it broken.
        failure = `HiGHS failed (${message}); the runtime was replaced`;
        runtime = undefined;
      }
    }
    return { ...noSolution(), status: "error", message: failure };
  };
}

const noSolution = () => ({ objective: Number.NaN, bound: Number.NaN, values: new Map() });

/** A section header of integer variables in CPLEX LP format: the model is a MIP. */
const INTEGER_SECTION = /^\s*(bin|binary|binaries|gen|general|generals|integer|integers)\s*$/im;

/** The HiGHS solution status meaning "a feasible primal solution is available". */
const FEASIBLE_SOLUTION = 2;

function solveOnce(highs: Highs, lp: string, timeLimitSeconds: number): MipSolution {
  const model = highs.createModel();
  try {
    model.options.set({ output_flag: false, time_limit: timeLimitSeconds, mip_rel_gap: 0 });
    model.readModel({ format: "lp", data: lp });
    model.run();
    const codes = highs.constants.modelStatus;
    const code = model.getModelStatus();
    const seconds = model.getRunTime();
    const empty = { ...noSolution(), seconds };
    if (code === codes.infeasible) return { status: "infeasible", ...empty };
    const optimal = code === codes.optimal || code === codes.empty;
    const stopped =
      code === codes.timeLimit ||
      code === codes.iterationLimit ||
      code === codes.solutionLimit ||
      code === codes.interrupted;
    if (!optimal && !stopped)
      return { status: "error", ...empty, message: `HiGHS model status ${code}` };
    const feasible = Number(model.info.get("primal_solution_status")) === FEASIBLE_SOLUTION;
    const objective = feasible ? model.getObjectiveValue() : Number.NaN;
    const values = new Map<string, number>();
    if (feasible) {
      const { colValue } = model.getSolution();
      colValue.forEach((value, i) => {
        if (Math.abs(value) > 1e-9) values.set(model.getColName(i), value);
      });
    }
    let bound = objective;
    if (!optimal) {
      // HiGHS's MIP dual bound; an LP stopped early proves no bound.
      bound = INTEGER_SECTION.test(lp)
        ? Number(model.info.get("mip_dual_bound"))
        : Number.POSITIVE_INFINITY;
    }
    return { status: optimal ? "optimal" : "time-limit", objective, bound, values, seconds };
  } finally {
    try {
      model.dispose();
    } catch {
      // An aborted runtime cannot dispose; the caller replaces it.
    }
  }
}
