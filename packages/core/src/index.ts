export type { Disruption as LocalDisruption } from "./camps/index.js";
export * from "./camps/index.js";
export * from "./ctaems/index.js";
export * from "./import/index.js";
export * from "./model/distribution.js";
export * from "./model/jobshop.js";
export * from "./model/model-index.js";
export * from "./model/subjective-view.js";
export type * from "./model/types.js";
export * from "./ports/index.js";
export * from "./quality/qaf.js";
export * from "./random.js";
export * from "./result.js";
export * from "./scenario/index.js";
export * from "./schedule/check.js";
export type * from "./schedule/constraints/violation.js";
export * from "./schedule/from-jobshop.js";
export * from "./schedule/metrics.js";
export * from "./schedule/plan.js";
export type * from "./schedule/types.js";
// Both the simulation and CAMPS's local repair name a type `Disruption`: the simulation's is the
// world's script, CAMPS's what an agent repairs against.
export type { Disruption } from "./simulation/index.js";
export * from "./simulation/index.js";
export * from "./solver/index.js";
