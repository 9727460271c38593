import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReadlineParser, SerialPort } from "serialport";
import { type DeviceLine, formatDeviceLine, parseAgentLine } from "../adapters/serial/protocol.js";
import type { SerialSettings } from "../adapters/serial/settings.js";
import { type DeviceFault, EmulatedMachine, type MachineOptions } from "./machine.js";

export interface SerialDeviceOptions extends MachineOptions {
  /** Where the pty links go (a temporary folder by default, removed on close). */
  readonly dir?: string;
  /** How long the device stays away after a `disconnect` fault before its line comes back. */
  readonly rebootMs?: number;
}

/** Whether socat, which makes the pseudo-terminal pair, is on this machine. */
export async function hasSocat(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn("socat", ["-V"], { stdio: "ignore" });
    p.on("error", () => resolve(false));
    p.on("exit", (code) => resolve(code === 0));
  });
}

/**
 * Two pseudo-terminals joined by socat (`pty,raw,echo=0`), each reached through a link in `dir`:
 * what one end writes, the other reads, as on a null-modem cable. `close` ends socat, which
 * removes the links; both ends then see the line close.
 */
export class PtyPair {
  private constructor(
    readonly agentPath: string,
    readonly devicePath: string,
    private readonly socat: ChildProcess,
  ) {}

  static async open(dir: string): Promise<PtyPair> {
    const agentPath = join(dir, "agent");
    const devicePath = join(dir, "device");
    const socat = spawn(
      "socat",
      ["-d", "-d", `pty,raw,echo=0,link=${agentPath}`, `pty,raw,echo=0,link=${devicePath}`],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`socat: not ready: ${text}`)), 5000);
      socat.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socat.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`socat exited (${code}): ${text}`));
      });
      socat.stderr!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        // socat -d -d says so once both ptys exist and their links are made.
        if (text.includes("starting data transfer loop")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return new PtyPair(agentPath, devicePath, socat);
  }

  async close(): Promise<void> {
    const socat = this.socat;
    if (socat.exitCode !== null || socat.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => socat.once("exit", () => resolve()));
    socat.kill("SIGTERM");
    await exited;
  }
}

/**
 * An emulated machine at the far end of a serial line: socat joins two pseudo-terminals
 * (`pty,raw,echo=0`), the adapter opens one (`agentPath`) and this device the other, both
 * through serialport as they would a real port. It speaks the line protocol of
 * `adapters/serial/protocol.ts`. A `disconnect` fault takes the line away (socat ends, both
 * ports close, as when a USB adapter is unplugged) and brings it back after `rebootMs`.
 */
export class SerialDevice {
  readonly machine: EmulatedMachine;
  readonly agentPath: string;
  private readonly devicePath: string;
  private pair: PtyPair | undefined;
  private port: SerialPort | undefined;
  private closed = false;
  /** The run whose end (DONE / FAULT) was already sent. */
  private reported = -1;
  private runCount = 0;
  private rebootTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly options: SerialDeviceOptions,
  ) {
    this.machine = new EmulatedMachine(options);
    this.agentPath = join(dir, "agent");
    this.devicePath = join(dir, "device");
    this.machine.onChange = () => this.onChange();
    this.machine.onDisconnect = () => void this.unplug();
  }

  static async open(options: SerialDeviceOptions): Promise<SerialDevice> {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "consort-serial-")));
    const device = new SerialDevice(dir, options.dir === undefined, options);
    try {
      await device.plug();
    } catch (error) {
      await device.close();
      throw error;
    }
    return device;
  }

  /** The adapter's settings for this device. */
  adapterSettings(overrides: Partial<SerialSettings> = {}): SerialSettings {
    return {
      kind: "serial",
      path: this.agentPath,
      baudRate: 115200,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      timeoutMs: 500,
      heartbeatMs: 50,
      maxMissedHeartbeats: 3,
      runTimeoutMs: 60000,
      reconnect: { initialMs: 20, maxMs: 500 },
      qualityScale: 1,
      programs: {},
      ...overrides,
    };
  }

  inject(fault: DeviceFault): void {
    this.machine.inject(fault);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.rebootTimer);
    this.machine.close();
    await this.disconnectLine();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Starts socat and opens the device's end. */
  private async plug(): Promise<void> {
    this.pair = await PtyPair.open(this.dir);
    const port = new SerialPort({ path: this.devicePath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((error) => (error ? reject(error) : resolve())),
    );
    port.on("error", () => {});
    port.pipe(new ReadlineParser({ delimiter: "\n" })).on("data", (line: string) => {
      if (this.port === port) this.onLine(line);
    });
    this.port = port;
  }

  /** The line goes away: socat ends (it removes its links), both ports see it close. */
  private async disconnectLine(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    const pair = this.pair;
    this.pair = undefined;
    await pair?.close();
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private async unplug(): Promise<void> {
    await this.disconnectLine();
    if (this.closed) return;
    this.rebootTimer = setTimeout(() => {
      if (!this.closed) void this.plug().catch(() => {});
    }, this.options.rebootMs ?? 100);
  }

  private onLine(text: string): void {
    const line = parseAgentLine(text);
    const m = this.machine;
    if (!line) return;
    switch (line.kind) {
      case "start": {
        const answer = m.start(line.program);
        if (answer === "ok") {
          this.runCount++;
          this.send({ kind: "running", program: line.program });
        } else
          this.send({
            kind: "rejected",
            program: line.program,
            why: answer === "busy" ? "BUSY" : "UNKNOWN",
          });
        return;
      }
      case "abort":
        if (m.state.activityId === line.program) m.abort();
        this.send({ kind: "aborted", program: line.program });
        return;
      case "status": {
        const s = m.state;
        const a = s.activityId;
        this.send({
          kind: "status",
          state:
            a === undefined
              ? { kind: "idle" }
              : s.running
                ? { kind: "running", program: a }
                : s.done
                  ? { kind: "done", program: a, quality: s.quality }
                  : s.faultCode !== 0
                    ? { kind: "fault", program: a, code: String(s.faultCode) }
                    : { kind: "idle" },
        });
        return;
      }
    }
  }

  /** A run's end goes out once, as the device's own line (not only in answer to STATUS?). */
  private onChange(): void {
    const s = this.machine.state;
    if (s.running || s.activityId === undefined || this.reported === this.runCount) return;
    if (s.done) {
      this.reported = this.runCount;
      this.send({ kind: "done", program: s.activityId, quality: s.quality });
    } else if (s.faultCode !== 0) {
      this.reported = this.runCount;
      this.send({ kind: "fault", program: s.activityId, code: String(s.faultCode) });
    }
  }

  private send(line: DeviceLine): void {
    const port = this.port;
    if (!port) return;
    const text = formatDeviceLine(line);
    const delay = this.machine.responseDelayMs;
    if (delay > 0) setTimeout(() => this.port === port && port.write(text), delay);
    else port.write(text);
  }
}
