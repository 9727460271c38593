export * from "./agent.js";
export * from "./engine.js";
export * from "./messages.js";
export * from "./profiles.js";
export * from "./setup.js";
