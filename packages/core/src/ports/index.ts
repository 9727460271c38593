export type * from "./clock.js";
export type * from "./environment.js";
