import type { GpioLineSpec, GpioSettings } from "./settings.js";

/** The lines an adapter holds, in logical values (1: active, whatever the wiring). */
export interface GpioLines {
  read(line: GpioLineSpec): 0 | 1;
  write(line: GpioLineSpec, value: 0 | 1): void;
  /** Gives the lines back to the kernel. */
  release(): void;
}

/** Requests the settings' lines: outputs (start, abort, program) low, inputs as inputs. */
export type GpioDriver = (settings: GpioSettings) => Promise<GpioLines>;

/** What the adapter uses of node-libgpiod (libgpiod 1.x over `/dev/gpiochipN`). */
interface Libgpiod {
  readonly version: string;
  getChipNames(): string[];
  Chip: new (identifier: string | number) => object;
  Line: new (
    chip: object,
    offset: number,
  ) => {
    requestInputMode(consumer: string): void;
    requestOutputMode(consumer: string, defaultValue: 0 | 1): void;
    getValue(): 0 | 1;
    setValue(value: 0 | 1): void;
    release(): void;
  };
}

/**
 * Loads node-libgpiod, an optional dependency built on the board (it needs libgpiod's headers:
 * Debian's libgpiod-dev). Its name is not a static import: a machine without it still builds
 * and loads every other adapter.
 */
export async function loadLibgpiod(): Promise<Libgpiod> {
  const name = "node-libgpiod";
  try {
    const mod = (await import(name)) as { default?: Libgpiod } & Libgpiod;
    return mod.default ?? mod;
  } catch (error) {
    throw new Error(
      `gpio: node-libgpiod is not installed or not built (apt install libgpiod-dev build-essential, then npm install node-libgpiod): ${(error as Error).message}`,
    );
  }
}

/** The Linux character device, through node-libgpiod. */
export const libgpiodDriver: GpioDriver = async (settings) => {
  const gpiod = await loadLibgpiod();
  const chip = new gpiod.Chip(settings.chip);
  const { lines, consumer } = settings;
  const held = new Map<number, InstanceType<Libgpiod["Line"]>>();
  const request = (spec: GpioLineSpec | undefined, output: boolean) => {
    if (!spec) return;
    const line = new gpiod.Line(chip, spec.offset);
    if (output) line.requestOutputMode(consumer, spec.activeLow ? 1 : 0);
    else line.requestInputMode(consumer);
    held.set(spec.offset, line);
  };
  try {
    for (const l of [lines.start, lines.abort, ...lines.program]) request(l, true);
    for (const l of [lines.running, lines.done, lines.fault]) request(l, false);
  } catch (error) {
    for (const l of held.values()) l.release();
    throw error;
  }
  const get = (spec: GpioLineSpec) => {
    const line = held.get(spec.offset);
    if (!line) throw new Error(`gpio: line ${spec.offset} was not requested`);
    return line;
  };
  return {
    read: (spec) => ((get(spec).getValue() ? 1 : 0) ^ (spec.activeLow ? 1 : 0)) as 0 | 1,
    write: (spec, value) => get(spec).setValue((value ^ (spec.activeLow ? 1 : 0)) as 0 | 1),
    release: () => {
      for (const l of held.values()) l.release();
      held.clear();
    },
  };
};
