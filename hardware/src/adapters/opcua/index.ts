export { createOpcuaEnvironment, OpcuaEnvironment } from "./adapter.js";
export { type OpcuaSettings, OpcuaSettingsSchema, parseOpcuaSettings } from "./settings.js";
