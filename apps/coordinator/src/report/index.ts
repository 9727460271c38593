export * from "./html.js";
export type * from "./types.js";
