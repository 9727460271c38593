import { type Static, Type } from "@sinclair/typebox";
import type { SettingsResult } from "./check-settings.js";
import type { AdapterContext, DeviceEnvironment } from "./device-environment.js";
import { GpioSettingsSchema, parseGpioSettings } from "./gpio/settings.js";
import { ModbusSettingsSchema, parseModbusSettings } from "./modbus/settings.js";
import { OpcuaSettingsSchema, parseOpcuaSettings } from "./opcua/settings.js";
import { parseSerialSettings, SerialSettingsSchema } from "./serial/settings.js";
import { parseVda5050Settings, Vda5050SettingsSchema } from "./vda5050/settings.js";

/** The agent's `environment` setting: which device protocol drives its resource, and how. */
export const EnvironmentSettingsSchema = Type.Union([
  ModbusSettingsSchema,
  OpcuaSettingsSchema,
  Vda5050SettingsSchema,
  SerialSettingsSchema,
  GpioSettingsSchema,
]);
export type EnvironmentSettings = Static<typeof EnvironmentSettingsSchema>;
export const ENVIRONMENT_KINDS = ["modbus", "opcua", "vda5050", "serial", "gpio"] as const;

/**
 * Checks an `environment` setting against its kind's schema (a union's first error would
 * speak of the wrong branch), with defaults filled in.
 */
export function parseEnvironmentSettings(
  input: unknown,
  where = "environment",
): SettingsResult<EnvironmentSettings> {
  const kind = (input as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case "modbus":
      return parseModbusSettings(input, where);
    case "opcua":
      return parseOpcuaSettings(input, where);
    case "vda5050":
      return parseVda5050Settings(input, where);
    case "serial":
      return parseSerialSettings(input, where);
    case "gpio":
      return parseGpioSettings(input, where);
    default:
      return {
        ok: false,
        error: `${where}: kind: expected one of ${ENVIRONMENT_KINDS.join(", ")}${kind === undefined ? "" : ` (got ${JSON.stringify(kind)})`}`,
      };
  }
}

/**
 * Creates the configured adapter and opens its connection. Only that adapter's module and its
 * protocol library are loaded: an agent driving a Modbus machine never loads node-opcua.
 */
export async function createEnvironment(
  settings: EnvironmentSettings,
  ctx: AdapterContext,
): Promise<DeviceEnvironment> {
  switch (settings.kind) {
    case "modbus":
      return (await import("./modbus/adapter.js")).createModbusEnvironment(settings, ctx);
    case "opcua":
      return (await import("./opcua/adapter.js")).createOpcuaEnvironment(settings, ctx);
    case "vda5050":
      return (await import("./vda5050/adapter.js")).createVda5050Environment(settings, ctx);
    case "serial":
      return (await import("./serial/adapter.js")).createSerialEnvironment(settings, ctx);
    case "gpio":
      return (await import("./gpio/adapter.js")).createGpioEnvironment(settings, ctx);
  }
}

export type { SettingsResult } from "./check-settings.js";
export {
  type AdapterContext,
  DeviceEnvironment,
  FAILURE_REASONS,
  type FailureReason,
} from "./device-environment.js";
