export {
  DISPATCH_RULES,
  type DispatchResult,
  type DispatchRule,
  dispatchSchedule,
} from "./dispatch.js";
export {
  jobCompletions,
  jobShopLowerBound,
  makespanOf,
  objectiveValue,
  totalWeightedTardinessOf,
} from "./problem.js";
export { DEFAULT_ITERATIONS, solveJobShop } from "./solve.js";
export type * from "./types.js";
