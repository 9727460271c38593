import { type Static, Type } from "@sinclair/typebox";
import { checkSettings, type SettingsResult } from "../check-settings.js";
import { PROGRAM_PATTERN } from "./protocol.js";

/**
 * A device on a serial line (RS-232, RS-485 half duplex with one device, USB serial), speaking
 * the line protocol of `protocol.ts`: `START <program>`, `RUNNING`, `DONE <quality>`,
 * `FAULT <code>`, `ABORT`, `STATUS?`. A lost port (a USB adapter unplugged) fails the run under
 * way and is re-opened with backoff.
 */
export const SerialSettingsSchema = Type.Object(
  {
    kind: Type.Literal("serial"),
    /** The port: `/dev/ttyUSB0`, `/dev/ttyAMA0`, `/dev/serial/by-id/…`. */
    path: Type.String({ minLength: 1 }),
    baudRate: Type.Integer({ minimum: 50, maximum: 4000000, default: 9600 }),
    dataBits: Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)], {
      default: 8,
    }),
    parity: Type.Union([Type.Literal("none"), Type.Literal("even"), Type.Literal("odd")], {
      default: "none",
    }),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 }),
    /** A command (`START`, `STATUS?`) not answered within this counts as unanswered. */
    timeoutMs: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
    /** Time between two `STATUS?` heartbeats while a run is under way. */
    heartbeatMs: Type.Integer({ minimum: 20, maximum: 60000, default: 1000 }),
    /** This many heartbeats unanswered in a row fail the run (`device-timeout`). */
    maxMissedHeartbeats: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
    /** A run not done within this counts as stalled (the agent may give a tighter bound). */
    runTimeoutMs: Type.Integer({ minimum: 1, default: 3600000 }),
    reconnect: Type.Object(
      {
        initialMs: Type.Integer({ minimum: 10, default: 200 }),
        maxMs: Type.Integer({ minimum: 10, default: 10000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The device's `DONE` quality is divided by this (100 for a percentage). */
    qualityScale: Type.Number({ exclusiveMinimum: 0, default: 1 }),
    /**
     * The device's program name for each activity; empty: the activity id itself is sent.
     * Not empty: an activity missing here is not this device's (`unknown-activity`).
     */
    programs: Type.Record(
      Type.String({ minLength: 1 }),
      Type.String({ pattern: PROGRAM_PATTERN }),
      {
        default: {},
      },
    ),
  },
  { additionalProperties: false },
);

export type SerialSettings = Static<typeof SerialSettingsSchema>;

export function parseSerialSettings(
  input: unknown,
  where?: string,
): SettingsResult<SerialSettings> {
  return checkSettings(SerialSettingsSchema, input, where);
}
