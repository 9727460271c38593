export * from "./html.js";
export * from "./jobs.js";
export type * from "./types.js";
