export { createSerialEnvironment, SerialEnvironment } from "./adapter.js";
export * from "./protocol.js";
export { parseSerialSettings, type SerialSettings, SerialSettingsSchema } from "./settings.js";
