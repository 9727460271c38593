export { createModbusEnvironment, ModbusEnvironment } from "./adapter.js";
export {
  DEFAULT_MODBUS_POINTS,
  type ModbusSettings,
  ModbusSettingsSchema,
  parseModbusSettings,
} from "./settings.js";
