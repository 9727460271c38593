export * from "./agent.js";
export * from "./deliberative.js";
export * from "./engine.js";
export * from "./experiment.js";
export * from "./generators/index.js";
export * from "./messages.js";
export * from "./profiles.js";
export * from "./setup.js";
