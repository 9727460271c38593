export * from "./csc-coordinator.js";
export * from "./outcome.js";
