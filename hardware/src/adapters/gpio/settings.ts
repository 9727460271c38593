import { type Static, Type } from "@sinclair/typebox";
import { checkSettings, type SettingsResult } from "../check-settings.js";

const Offset = Type.Integer({ minimum: 0, maximum: 1023 });
/** A line of the chip: its offset, and whether it is active low (wired to ground when on). */
export const GpioLine = Type.Object(
  { offset: Offset, activeLow: Type.Boolean({ default: false }) },
  { additionalProperties: false },
);

/**
 * A device wired to GPIO lines of a Linux gpiochip (the character device `/dev/gpiochipN`, through
 * libgpiod). The handshake: the adapter sets the `program` lines to the activity's code (if
 * any), then pulses `start` for `pulseMs`; the device raises `running`, and at the end drops it
 * and raises `done` (held until the next start), or raises `fault`. `abort` is pulsed to stop a
 * run. GPIO carries no quality: a run that ends done has quality `quality`.
 */
export const GpioSettingsSchema = Type.Object(
  {
    kind: Type.Literal("gpio"),
    /** The chip: its name (`gpiochip0`), number, path (`/dev/gpiochip0`) or label. */
    chip: Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })]),
    /** Shown as the lines' user (`gpioinfo`). */
    consumer: Type.String({ minLength: 1, maxLength: 31, default: "consort" }),
    lines: Type.Object(
      {
        /** Outputs. */
        start: GpioLine,
        abort: Type.Optional(GpioLine),
        /** Outputs holding the activity's code, least significant bit first. */
        program: Type.Array(GpioLine, { maxItems: 16, default: [] }),
        /** Inputs. */
        running: GpioLine,
        done: GpioLine,
        fault: Type.Optional(GpioLine),
      },
      { additionalProperties: false },
    ),
    /** How long `start` and `abort` are held active. */
    pulseMs: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
    /** Time between two reads of the inputs while a run is under way. */
    pollMs: Type.Integer({ minimum: 5, maximum: 10000, default: 50 }),
    /** The device must show `running` (or `done`) this long after the start pulse. */
    startTimeoutMs: Type.Integer({ minimum: 10, maximum: 600000, default: 2000 }),
    /** A run not done within this counts as stalled (the agent may give a tighter bound). */
    runTimeoutMs: Type.Integer({ minimum: 1, default: 3600000 }),
    /** The quality of a run that ends done. */
    quality: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
    /**
     * The code (on the `program` lines) of each activity the device runs; empty: any activity,
     * no code (a device with one program).
     */
    programs: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Integer({ minimum: 0, maximum: 65535 }),
      {
        default: {},
      },
    ),
  },
  { additionalProperties: false },
);

export type GpioSettings = Static<typeof GpioSettingsSchema>;
export type GpioLineSpec = Static<typeof GpioLine>;

export function parseGpioSettings(input: unknown, where?: string): SettingsResult<GpioSettings> {
  const r = checkSettings(GpioSettingsSchema, input, where);
  if (!r.ok) return r;
  const { lines, programs } = r.value;
  const prefix = where ?? "environment";
  const width = lines.program.length;
  for (const [id, code] of Object.entries(programs))
    if (code >= 2 ** width)
      return {
        ok: false,
        error: `${prefix}: programs.${id}: code ${code} does not fit on ${width} program line(s)`,
      };
  const used = new Map<number, string>();
  const named: [string, GpioLineSpec | undefined][] = [
    ["start", lines.start],
    ["abort", lines.abort],
    ["running", lines.running],
    ["done", lines.done],
    ["fault", lines.fault],
    ...lines.program.map((l, i): [string, GpioLineSpec] => [`program.${i}`, l]),
  ];
  for (const [name, line] of named) {
    if (!line) continue;
    const other = used.get(line.offset);
    if (other !== undefined)
      return {
        ok: false,
        error: `${prefix}: lines.${name}: offset ${line.offset} is already lines.${other}`,
      };
    used.set(line.offset, name);
  }
  return r;
}
