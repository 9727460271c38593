/** Generators of C-TAEMS scenarios for CSC §5's experiments: the backup problem and the random set. */
export * from "./backup.js";
export * from "./initial-schedule.js";
export * from "./jobshop.js";
export * from "./random.js";
export { expectedTicks, INITIAL_PRIORITY, INITIAL_VERSION } from "./shared.js";
export type * from "./types.js";
