export { createVda5050Environment, Vda5050Environment } from "./adapter.js";
export * from "./messages.js";
export { parseVda5050Settings, type Vda5050Settings, Vda5050SettingsSchema } from "./settings.js";
