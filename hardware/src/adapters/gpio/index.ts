export { createGpioEnvironment, GpioEnvironment } from "./adapter.js";
export { type GpioDriver, type GpioLines, libgpiodDriver, loadLibgpiod } from "./lines.js";
export { type GpioSettings, GpioSettingsSchema, parseGpioSettings } from "./settings.js";
