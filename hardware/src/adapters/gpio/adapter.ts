import {
  type AdapterContext,
  backoffMs,
  DeviceEnvironment,
  DeviceError,
  errorText,
  type Run,
} from "../device-environment.js";
import { type GpioDriver, type GpioLines, libgpiodDriver } from "./lines.js";
import type { GpioLineSpec, GpioSettings } from "./settings.js";

/**
 * The Environment port over GPIO lines (settings: `GpioSettingsSchema`). Inputs are read every
 * `pollMs` while a run is under way, and not at all otherwise. A chip that cannot be opened or
 * read (a board without it, a line another program holds) fails the run and is requested again
 * with backoff.
 */
export class GpioEnvironment extends DeviceEnvironment {
  private lines: GpioLines | undefined;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly pulses = new Set<NodeJS.Timeout>();
  private seenRunning = false;
  /** `done` was still up from the run before: only a `done` seen low, or running, counts. */
  private staleDone = false;
  private startedAtMs = 0;

  constructor(
    private readonly settings: GpioSettings,
    ctx: AdapterContext,
    private readonly driver: GpioDriver = libgpiodDriver,
  ) {
    super(ctx, settings.runTimeoutMs);
  }

  /** Requests the lines; on failure keeps retrying in the background. Resolves held or not. */
  async open(): Promise<boolean> {
    if (this.closed || this.lines) return this.lines !== undefined;
    try {
      this.lines = await this.driver(this.settings);
      this.attempt = 0;
      return true;
    } catch (error) {
      this.ctx.log?.(`gpio ${this.settings.chip}: cannot request lines: ${errorText(error)}`);
      this.scheduleReconnect();
      return false;
    }
  }

  get connected(): boolean {
    return this.lines !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endAll();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pollTimer);
    for (const t of this.pulses) clearTimeout(t);
    this.pulses.clear();
    const lines = this.lines;
    this.lines = undefined;
    lines?.release();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        void this.open();
      },
      backoffMs(this.attempt++, 200, 10_000),
    );
    this.reconnectTimer.unref?.();
  }

  /** The lines fail (the chip went away): give them up, fail the run, request them again. */
  private lost(why: string): void {
    const lines = this.lines;
    this.lines = undefined;
    clearTimeout(this.pollTimer);
    try {
      lines?.release();
    } catch {
      // Released or gone already.
    }
    this.failCurrent("device-disconnected", `${this.settings.chip}: ${why}`);
    this.scheduleReconnect();
  }

  private io<T>(op: (lines: GpioLines) => T): T {
    const lines = this.lines;
    if (!lines) throw new DeviceError("device-disconnected", `${this.settings.chip}: not held`);
    try {
      return op(lines);
    } catch (error) {
      this.lost(errorText(error));
      throw new DeviceError("device-disconnected", `${this.settings.chip}: ${errorText(error)}`);
    }
  }

  protected async startDevice(run: Run): Promise<void> {
    const { programs, lines: spec } = this.settings;
    let code = 0;
    if (Object.keys(programs).length > 0) {
      const c = programs[run.activityId];
      if (c === undefined) throw new DeviceError("unknown-activity", run.activityId);
      code = c;
    }
    if (!this.lines) await this.open();
    if (!this.lines)
      throw new DeviceError("device-unavailable", `gpio ${this.settings.chip}: lines not held`);
    this.io((l) => {
      for (const [bit, line] of spec.program.entries()) l.write(line, ((code >> bit) & 1) as 0 | 1);
      this.staleDone = l.read(spec.done) === 1;
    });
    this.seenRunning = false;
    this.startedAtMs = Date.now();
    this.pulse(spec.start);
    this.schedulePoll(run);
  }

  protected async attachDevice(run: Run): Promise<void> {
    if (!this.lines) await this.open();
    if (!this.lines)
      throw new DeviceError("device-unavailable", `gpio ${this.settings.chip}: lines not held`);
    // It was running when the agent went down: not running, done nor faulted now means lost.
    this.seenRunning = true;
    this.staleDone = false;
    this.startedAtMs = Date.now();
    this.schedulePoll(run, 0);
  }

  protected async stopDevice(_run: Run): Promise<void> {
    clearTimeout(this.pollTimer);
    if (!this.lines) return;
    if (this.settings.lines.abort) this.pulse(this.settings.lines.abort);
    else this.ctx.log?.(`gpio ${this.settings.chip}: no abort line: the device runs on`);
  }

  protected override onRunEnded(_run: Run): void {
    clearTimeout(this.pollTimer);
  }

  /** Holds an output active for `pulseMs`, then inactive again. */
  private pulse(line: GpioLineSpec): void {
    this.io((l) => l.write(line, 1));
    const t = setTimeout(() => {
      this.pulses.delete(t);
      try {
        this.lines?.write(line, 0);
      } catch (error) {
        this.lost(errorText(error));
      }
    }, this.settings.pulseMs);
    this.pulses.add(t);
  }

  private schedulePoll(run: Run, delayMs = this.settings.pollMs): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.poll(run), delayMs);
  }

  private poll(run: Run): void {
    if (!this.isCurrent(run)) return;
    const { lines: spec, quality, startTimeoutMs } = this.settings;
    let running: number;
    let done: number;
    let fault: number;
    try {
      ({ running, done, fault } = this.io((l) => ({
        // `running` first: a run that ends between two reads then shows done, never lost.
        running: l.read(spec.running),
        done: l.read(spec.done),
        fault: spec.fault ? l.read(spec.fault) : 0,
      })));
    } catch (error) {
      return void this.failFromError(run, error);
    }
    if (fault) return void this.fail(run, "device-fault", `line ${spec.fault!.offset}`);
    if (done && (this.seenRunning || !this.staleDone)) return void this.complete(run, quality);
    if (!done) this.staleDone = false;
    if (running) {
      this.seenRunning = true;
      this.markStarted(run);
    } else if (this.seenRunning)
      return void this.fail(run, "device-fault", "stopped without finishing");
    else if (Date.now() - this.startedAtMs > startTimeoutMs)
      return void this.fail(run, "device-timeout", `not running ${startTimeoutMs} ms after start`);
    this.schedulePoll(run);
  }
}

/** Creates the adapter and requests its lines (retried in the background if that fails). */
export async function createGpioEnvironment(
  settings: GpioSettings,
  ctx: AdapterContext,
  driver?: GpioDriver,
): Promise<GpioEnvironment> {
  const env = new GpioEnvironment(settings, ctx, driver);
  await env.open();
  return env;
}
