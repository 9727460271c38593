export * from "./asyncapi.js";
export * from "./catalogue.js";
export * from "./codec.js";
export * from "./dedup.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./stats.js";
export * from "./topics.js";
