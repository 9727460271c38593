import { ReadlineParser, SerialPort } from "serialport";
import {
  type AdapterContext,
  DeviceEnvironment,
  DeviceError,
  errorText,
  Reconnector,
  type Run,
} from "../device-environment.js";
import {
  type AgentLine,
  type DeviceLine,
  type DeviceStatus,
  formatAgentLine,
  parseDeviceLine,
} from "./protocol.js";
import type { SerialSettings } from "./settings.js";

interface Waiter {
  readonly match: (line: DeviceLine) => boolean;
  readonly resolve: (line: DeviceLine) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The Environment port over a serial line (settings: `SerialSettingsSchema`, protocol:
 * `protocol.ts`). The device's `RUNNING`, `DONE` and `FAULT` lines drive the run; while it is
 * under way a `STATUS?` heartbeat checks the device still answers and catches an end whose line
 * was lost. A closed port (unplugged adapter, device reset) fails the run and is re-opened with
 * backoff, so the next start can succeed.
 */
export class SerialEnvironment extends DeviceEnvironment {
  private port: SerialPort | undefined;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly reconnector: Reconnector;
  private waiters: Waiter[] = [];
  /** The current run's program, and whether the device was seen running it. */
  private program: string | undefined;
  private seenRunning = false;

  constructor(
    private readonly settings: SerialSettings,
    ctx: AdapterContext,
  ) {
    super(ctx, settings.runTimeoutMs);
    this.reconnector = new Reconnector(() => this.tryConnect(), settings.reconnect);
  }

  /** Opens the port; on failure keeps retrying in the background. Resolves open or not. */
  open(): Promise<boolean> {
    return this.reconnector.connect();
  }

  get connected(): boolean {
    return this.port !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endAll();
    this.reconnector.stop();
    clearTimeout(this.heartbeatTimer);
    this.dropWaiters(new DeviceError("device-disconnected", "adapter closed"));
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private async tryConnect(): Promise<boolean> {
    if (this.closed || this.port) return this.port !== undefined;
    const { path, baudRate, dataBits, parity, stopBits } = this.settings;
    const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) =>
        port.open((error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      this.ctx.log?.(`serial ${path}: cannot open: ${errorText(error)}`);
      this.reconnector.retry();
      return false;
    }
    if (this.closed) {
      port.close(() => {});
      return false;
    }
    port.on("close", (error?: Error | null) =>
      this.lost(port, error ? errorText(error) : "closed"),
    );
    port.on("error", (error: Error) => this.lost(port, errorText(error)));
    port
      .pipe(new ReadlineParser({ delimiter: "\n" }))
      .on("data", (line: string) => this.onLine(port, line));
    this.port = port;
    this.reconnector.succeeded();
    return true;
  }

  private lost(port: SerialPort, why: string): void {
    if (this.port !== port) return;
    this.port = undefined;
    clearTimeout(this.heartbeatTimer);
    const { path } = this.settings;
    this.ctx.log?.(`serial ${path}: ${why}`);
    this.dropWaiters(new DeviceError("device-disconnected", `${path}: ${why}`));
    this.failCurrent("device-disconnected", `${path}: ${why}`);
    if (port.isOpen) port.close(() => {});
    this.reconnector.retry();
  }

  private programOf(activityId: string): string {
    const { programs } = this.settings;
    if (Object.keys(programs).length === 0) {
      // The activity id goes on the line as it is: it must be one token.
      if (!/^[!-~]{1,64}$/.test(activityId)) throw new DeviceError("unknown-activity", activityId);
      return activityId;
    }
    const program = programs[activityId];
    if (program === undefined) throw new DeviceError("unknown-activity", activityId);
    return program;
  }

  protected async startDevice(run: Run): Promise<void> {
    const program = this.programOf(run.activityId);
    if (!this.port) await this.reconnector.connect();
    if (!this.port)
      throw new DeviceError("device-unavailable", `cannot open ${this.settings.path}`);
    this.program = program;
    this.seenRunning = false;
    // The answer itself (RUNNING, REJECTED, or a FAULT at once) is acted on in `onLine`, which
    // sees it first.
    await this.request(
      { kind: "start", program },
      (l) =>
        (l.kind === "running" || l.kind === "rejected" || l.kind === "fault") &&
        l.program === program,
    );
  }

  protected async attachDevice(run: Run): Promise<void> {
    const program = this.programOf(run.activityId);
    if (!this.port) await this.reconnector.connect();
    if (!this.port)
      throw new DeviceError("device-unavailable", `cannot open ${this.settings.path}`);
    this.program = program;
    // It was running when the agent went down: not running, done nor faulted now means lost.
    this.seenRunning = true;
    const reply = await this.request({ kind: "status" }, (l) => l.kind === "status");
    if (reply.kind === "status") this.onStatus(run, reply.state);
  }

  protected async stopDevice(run: Run): Promise<void> {
    clearTimeout(this.heartbeatTimer);
    if (!this.port) return;
    await this.write({ kind: "abort", program: this.program ?? this.programOf(run.activityId) });
  }

  protected override onRunEnded(_run: Run): void {
    clearTimeout(this.heartbeatTimer);
  }

  /** A line from the device: answers a pending request, and moves the run under way. */
  private onLine(port: SerialPort, text: string): void {
    if (this.port !== port) return;
    const line = parseDeviceLine(text);
    if (!line) {
      if (text.trim() !== "")
        this.ctx.log?.(`serial ${this.settings.path}: ignored ${JSON.stringify(text)}`);
      return;
    }
    for (const w of [...this.waiters])
      if (w.match(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(line);
      }
    const run = this.run;
    if (!run || run.ended || line.kind === "status" || line.program !== this.program) return;
    switch (line.kind) {
      case "running":
        if (this.seenRunning) return;
        this.seenRunning = true;
        this.markStarted(run);
        this.scheduleHeartbeat(run, 0);
        return;
      case "rejected":
        return void this.fail(run, "device-rejected", line.why || "rejected");
      case "done":
        // Only after this run's RUNNING: a late DONE of an earlier run of the same program (one
        // that timed out, say) must not end its retry.
        if (!this.seenRunning) {
          this.ctx.log?.(`serial ${this.settings.path}: ignored DONE before RUNNING`);
          return;
        }
        return void this.complete(run, line.quality / this.settings.qualityScale);
      case "fault":
        return void this.fail(run, "device-fault", line.code);
      case "aborted":
        return;
    }
  }

  private onStatus(run: Run, state: DeviceStatus): void {
    if (!this.isCurrent(run)) return;
    const mine = state.kind !== "idle" && state.program === this.program;
    if (state.kind === "done" && mine)
      return void this.complete(run, state.quality / this.settings.qualityScale);
    if (state.kind === "fault" && mine) return void this.fail(run, "device-fault", state.code);
    if (state.kind === "running" && mine) {
      this.seenRunning = true;
      this.markStarted(run);
      return void this.scheduleHeartbeat(run, 0);
    }
    if (state.kind !== "idle")
      return void this.fail(run, "device-fault", `the device shows ${state.kind} ${state.program}`);
    // Seen running, now idle: the device dropped the run (a reset, a power cycle).
    if (this.seenRunning) return void this.fail(run, "device-fault", "stopped without finishing");
    this.scheduleHeartbeat(run, 0);
  }

  private scheduleHeartbeat(run: Run, missed: number): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(
      () => void this.heartbeat(run, missed),
      this.settings.heartbeatMs,
    );
  }

  private async heartbeat(run: Run, missed: number): Promise<void> {
    if (!this.isCurrent(run)) return;
    try {
      const reply = await this.request({ kind: "status" }, (l) => l.kind === "status");
      if (reply.kind === "status") this.onStatus(run, reply.state);
    } catch (error) {
      if (!this.isCurrent(run)) return;
      if (error instanceof DeviceError && error.reason === "device-timeout") {
        if (missed + 1 >= this.settings.maxMissedHeartbeats)
          return void this.fail(run, "device-timeout", `${missed + 1} heartbeats unanswered`);
        return void this.scheduleHeartbeat(run, missed + 1);
      }
      this.failFromError(run, error);
    }
  }

  /** Sends `line` and waits for the device's answer that `match`es, up to `timeoutMs`. */
  private request(line: AgentLine, match: (l: DeviceLine) => boolean): Promise<DeviceLine> {
    const { path, timeoutMs } = this.settings;
    const answered = new Promise<DeviceLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new DeviceError("device-timeout", `${path}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
    // Handled below: it may settle (an early answer, a lost port) before the write returns.
    answered.catch(() => {});
    // The answer may come before the write's callback: the waiter is in place first.
    return this.write(line).then(
      () => answered,
      (error: unknown) => {
        this.dropWaiter(match);
        throw error;
      },
    );
  }

  private write(line: AgentLine): Promise<void> {
    const port = this.port;
    const { path } = this.settings;
    if (!port) return Promise.reject(new DeviceError("device-disconnected", path));
    return new Promise((resolve, reject) =>
      port.write(formatAgentLine(line), (error) => {
        if (!error) return resolve();
        // A line that cannot be written to is gone, though the port may not have said so yet:
        // lost at once, so that nothing more is sent on it and the reconnection starts now.
        this.lost(port, errorText(error));
        reject(new DeviceError("device-disconnected", `${path}: ${errorText(error)}`));
      }),
    );
  }

  private dropWaiter(match: Waiter["match"]): void {
    const w = this.waiters.find((x) => x.match === match);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiters.splice(this.waiters.indexOf(w), 1);
  }

  private dropWaiters(error: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }
}

/** Creates the adapter and opens its port (retried in the background if the device is absent). */
export async function createSerialEnvironment(
  settings: SerialSettings,
  ctx: AdapterContext,
): Promise<SerialEnvironment> {
  const env = new SerialEnvironment(settings, ctx);
  await env.open();
  return env;
}
