import type { GpioDriver, GpioLines } from "../adapters/gpio/lines.js";
import type { GpioLineSpec, GpioSettings } from "../adapters/gpio/settings.js";
import { type DeviceFault, EmulatedMachine, type MachineOptions } from "./machine.js";

export interface GpioDeviceOptions extends MachineOptions {
  /** The code of each activity on the program lines (the adapter's `programs`). */
  readonly programs: Readonly<Record<string, number>>;
  /** How long the lines stay unreadable after a `disconnect` fault. */
  readonly rebootMs?: number;
}

/** The wiring the emulated device uses: chip lines 0-3 the handshake, 4-7 the program code. */
export const EMULATED_GPIO_LINES: GpioSettings["lines"] = {
  start: { offset: 0, activeLow: false },
  abort: { offset: 1, activeLow: false },
  running: { offset: 2, activeLow: false },
  done: { offset: 3, activeLow: false },
  fault: { offset: 8, activeLow: false },
  program: [4, 5, 6, 7].map((offset) => ({ offset, activeLow: false })),
};

/**
 * An emulated machine wired to GPIO lines held in memory, for a machine without a gpiochip: the
 * adapter's logic (handshake, pulses, polling, faults) runs as on a board; the kernel's side does
 * not. A `disconnect` fault makes every line operation fail for `rebootMs`, as a chip that went
 * away; `slow` has no meaning on wires and is run as a normal run.
 */
export class GpioDevice {
  readonly machine: EmulatedMachine;
  private readonly values = new Map<number, 0 | 1>();
  private readonly byCode: Map<number, string>;
  private away = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GpioDeviceOptions) {
    this.machine = new EmulatedMachine(options);
    this.byCode = new Map(Object.entries(options.programs).map(([id, code]) => [code, id]));
    this.machine.onChange = () => {
      const s = this.machine.state;
      this.set(EMULATED_GPIO_LINES.running, s.running);
      this.set(EMULATED_GPIO_LINES.done, s.done);
      this.set(EMULATED_GPIO_LINES.fault!, s.faultCode !== 0);
    };
    this.machine.onDisconnect = () => {
      this.away = true;
      this.timer = setTimeout(() => {
        this.away = false;
      }, options.rebootMs ?? 100);
    };
  }

  /** The adapter's driver: the lines of this device instead of a chip's. */
  readonly driver: GpioDriver = async () => {
    if (this.away) throw new Error("ENODEV: no such device");
    const lines: GpioLines = {
      read: (l) => this.io(() => this.values.get(l.offset) ?? 0),
      write: (l, v) => this.io(() => this.onWrite(l, v)),
      release: () => {},
    };
    return lines;
  };

  adapterSettings(overrides: Partial<GpioSettings> = {}): GpioSettings {
    return {
      kind: "gpio",
      chip: "emulated",
      consumer: "consort",
      lines: EMULATED_GPIO_LINES,
      pulseMs: 10,
      pollMs: 10,
      startTimeoutMs: 500,
      runTimeoutMs: 60000,
      quality: 1,
      programs: { ...this.options.programs },
      ...overrides,
    };
  }

  inject(fault: DeviceFault): void {
    this.machine.inject(fault);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.machine.close();
  }

  private io<T>(op: () => T): T {
    if (this.away) throw new Error("EIO: the chip went away");
    return op();
  }

  private set(line: GpioLineSpec, on: boolean): void {
    this.values.set(line.offset, on ? 1 : 0);
  }

  private onWrite(line: GpioLineSpec, value: 0 | 1): void {
    const rising = value === 1 && (this.values.get(line.offset) ?? 0) === 0;
    this.values.set(line.offset, value);
    if (!rising) return;
    const L = EMULATED_GPIO_LINES;
    if (line.offset === L.abort?.offset) this.machine.abort();
    if (line.offset !== L.start.offset) return;
    const code = L.program.reduce((c, l, bit) => c | ((this.values.get(l.offset) ?? 0) << bit), 0);
    const id = this.byCode.get(code);
    // A start while busy is ignored; an unknown code shows on the fault line.
    if (id === undefined || this.machine.start(id) === "unknown-activity") this.set(L.fault!, true);
  }
}
