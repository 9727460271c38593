import { type Static, Type } from "@sinclair/typebox";
import { checkSettings, type SettingsResult } from "../check-settings.js";

const Address = Type.Integer({ minimum: 0, maximum: 65535 });
const Table = Type.Union([
  Type.Literal("coil"),
  Type.Literal("discrete-input"),
  Type.Literal("holding-register"),
  Type.Literal("input-register"),
]);

/** A point of the device's data model: a table and a 0-based address in it. */
export const ModbusPoint = Type.Object(
  { table: Table, address: Address },
  { additionalProperties: false },
);
/** A point the adapter writes: a coil (set true) or a holding register (set 1). */
export const ModbusCommandPoint = Type.Object(
  { table: Type.Union([Type.Literal("coil"), Type.Literal("holding-register")]), address: Address },
  { additionalProperties: false },
);
const Register = Type.Object(
  {
    table: Type.Union([Type.Literal("holding-register"), Type.Literal("input-register")]),
    address: Address,
  },
  { additionalProperties: false },
);

/**
 * A machine behind Modbus TCP. The handshake: the adapter writes the activity's recipe code
 * (if `points.recipe`), clears `done` (if it is a coil), then sets `start`; the device clears
 * `start` and `done` and sets `running`; at the end it clears `running` and sets `done` with
 * `quality` (raw / `qualityScale`), or sets a non-zero `fault` code. `abort` stops a run.
 */
export const ModbusSettingsSchema = Type.Object(
  {
    kind: Type.Literal("modbus"),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
    unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    /** Time between two polls of the status points while a run is under way. */
    pollMs: Type.Integer({ minimum: 20, maximum: 60000, default: 250 }),
    /** A request not answered within this fails (after `maxMissedPolls` for polls). */
    timeoutMs: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
    maxMissedPolls: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
    /** A run not done within this counts as stalled (the agent may give a tighter bound). */
    runTimeoutMs: Type.Integer({ minimum: 1, default: 3600000 }),
    reconnect: Type.Object(
      {
        initialMs: Type.Integer({ minimum: 10, default: 200 }),
        maxMs: Type.Integer({ minimum: 10, default: 10000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    points: Type.Object(
      {
        start: ModbusCommandPoint,
        abort: ModbusCommandPoint,
        recipe: Type.Optional(
          Type.Object(
            { table: Type.Literal("holding-register"), address: Address },
            { additionalProperties: false },
          ),
        ),
        running: ModbusPoint,
        done: ModbusPoint,
        /** Non-zero: the device's fault code. */
        fault: Register,
        /** The run's quality or output count, read when `done` is set; absent: quality 1. */
        quality: Type.Optional(Register),
      },
      { additionalProperties: false },
    ),
    qualityScale: Type.Number({ exclusiveMinimum: 0, default: 100 }),
    /** The recipe code of each activity the device can run (written to `points.recipe`). */
    recipes: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Integer({ minimum: 0, maximum: 65535 }),
      {
        default: {},
      },
    ),
  },
  { additionalProperties: false },
);

export type ModbusSettings = Static<typeof ModbusSettingsSchema>;
export type ModbusPointSpec = Static<typeof ModbusPoint>;

export function parseModbusSettings(
  input: unknown,
  where?: string,
): SettingsResult<ModbusSettings> {
  return checkSettings(ModbusSettingsSchema, input, where);
}

/** The register map the rig's emulated device uses, and a sensible default for one. */
export const DEFAULT_MODBUS_POINTS: ModbusSettings["points"] = {
  start: { table: "coil", address: 0 },
  abort: { table: "coil", address: 1 },
  running: { table: "coil", address: 2 },
  done: { table: "coil", address: 3 },
  recipe: { table: "holding-register", address: 0 },
  fault: { table: "holding-register", address: 1 },
  quality: { table: "holding-register", address: 2 },
};
