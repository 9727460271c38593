export * from "./model/distribution.js";
export * from "./model/jobshop.js";
export * from "./model/model-index.js";
export type * from "./model/types.js";
export * from "./random.js";
export * from "./result.js";
export type * from "./schedule/types.js";
export type * from "./solver/types.js";
