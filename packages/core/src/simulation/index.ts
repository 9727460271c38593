export * from "./clock.js";
export * from "./dispatch-policy.js";
export * from "./disruptions.js";
export * from "./driver.js";
export * from "./environment.js";
export * from "./model-delta.js";
export * from "./outcomes.js";
