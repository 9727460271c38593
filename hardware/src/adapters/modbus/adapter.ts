import modbusSerial from "modbus-serial";
import {
  type AdapterContext,
  DeviceEnvironment,
  DeviceError,
  errorText,
  Reconnector,
  type Run,
} from "../device-environment.js";
import type { ModbusPointSpec, ModbusSettings } from "./settings.js";

// A CommonJS module: its export is the class, also published as its `default`.
const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

/**
 * The Environment port over Modbus TCP (settings: `ModbusSettingsSchema`). Status is polled at
 * `pollMs` while a run is under way, and not at all otherwise; a lost connection fails the run
 * and is re-opened with backoff, so the next start can succeed.
 */
export class ModbusEnvironment extends DeviceEnvironment {
  private client: Client | undefined;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly reconnector: Reconnector;
  private seenRunning = false;

  constructor(
    private readonly settings: ModbusSettings,
    ctx: AdapterContext,
  ) {
    super(ctx, settings.runTimeoutMs);
    this.reconnector = new Reconnector(() => this.tryConnect(), settings.reconnect);
  }

  /** Opens the connection; on failure keeps retrying in the background. Resolves connected or not. */
  open(): Promise<boolean> {
    return this.reconnector.connect();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endAll();
    this.reconnector.stop();
    clearTimeout(this.pollTimer);
    const client = this.client;
    this.client = undefined;
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }

  private async tryConnect(): Promise<boolean> {
    if (this.closed || this.client) return this.client !== undefined;
    const { host, port, unitId, timeoutMs } = this.settings;
    const client = new ModbusRTU();
    try {
      await withTimeout(
        client.connectTCP(host, { port, timeout: timeoutMs }),
        timeoutMs,
        "connect",
      );
    } catch (error) {
      client.close(() => {});
      this.ctx.log?.(`modbus ${host}:${port}: cannot connect: ${errorText(error)}`);
      this.reconnector.retry();
      return false;
    }
    if (this.closed) {
      client.close(() => {});
      return false;
    }
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    client.on("close", () => this.lost(client, "connection closed"));
    client.on("error", (error: unknown) => this.lost(client, errorText(error)));
    this.client = client;
    this.reconnector.succeeded();
    return true;
  }

  private lost(client: Client, why: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearTimeout(this.pollTimer);
    const { host, port } = this.settings;
    this.ctx.log?.(`modbus ${host}:${port}: ${why}`);
    this.failCurrent("device-disconnected", `${host}:${port}: ${why}`);
    client.close(() => {});
    this.reconnector.retry();
  }

  protected async startDevice(run: Run): Promise<void> {
    const { points, recipes, host, port } = this.settings;
    if (!this.client) await this.reconnector.connect();
    if (!this.client)
      throw new DeviceError("device-unavailable", `not connected to ${host}:${port}`);
    const recipe = recipes[run.activityId];
    if (points.recipe) {
      if (recipe === undefined) throw new DeviceError("unknown-activity", run.activityId);
      await this.request(run, (c) => c.writeRegister(points.recipe!.address, recipe));
    }
    // Acknowledge the previous run's "done", so it cannot be read as this run's end.
    if (points.done.table === "coil")
      await this.request(run, (c) => c.writeCoil(points.done.address, false));
    this.seenRunning = false;
    await this.request(run, (c) => writePoint(c, points.start));
    this.markStarted(run);
    this.schedulePoll(run, 0);
  }

  protected async attachDevice(run: Run): Promise<void> {
    const { points, recipes, host, port } = this.settings;
    if (!this.client) await this.reconnector.connect();
    if (!this.client)
      throw new DeviceError("device-unavailable", `not connected to ${host}:${port}`);
    if (points.recipe) {
      const recipe = await this.request(run, (c) => readPoint(c, points.recipe!));
      if (recipe !== recipes[run.activityId])
        throw new DeviceError(
          "device-fault",
          `resume ${run.activityId}: the device holds recipe ${recipe}`,
        );
    }
    // It was running when the agent went down: not running, done nor faulted now means lost.
    this.seenRunning = true;
    this.schedulePoll(run, 0);
  }

  protected async stopDevice(run: Run): Promise<void> {
    clearTimeout(this.pollTimer);
    const client = this.client;
    if (!client) return;
    void run;
    await writePoint(client, this.settings.points.abort);
  }

  private schedulePoll(run: Run, missed: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => void this.poll(run, missed), this.settings.pollMs);
  }

  private async poll(run: Run, missed: number): Promise<void> {
    if (!this.isCurrent(run)) return;
    const { points, qualityScale } = this.settings;
    try {
      // `running` first: a run that ends between two reads then shows as done or faulted in
      // the reads that follow, never as stopped without an end.
      const running = await this.request(run, (c) => readPoint(c, points.running));
      if (!this.isCurrent(run)) return;
      const fault = await this.request(run, (c) => readPoint(c, points.fault));
      if (!this.isCurrent(run)) return;
      if (fault !== 0) return void this.fail(run, "device-fault", String(fault));
      const done = await this.request(run, (c) => readPoint(c, points.done));
      if (!this.isCurrent(run)) return;
      if (done !== 0) {
        const raw = points.quality
          ? await this.request(run, (c) => readPoint(c, points.quality!))
          : qualityScale;
        return void this.complete(run, raw / qualityScale);
      }
      // Seen running, now neither running, done nor faulted: the device dropped the run (a reset,
      // a power cycle). Not seen running yet: a PLC may take a scan cycle to pick the start up.
      if (running !== 0) this.seenRunning = true;
      else if (this.seenRunning)
        return void this.fail(run, "device-fault", "stopped without finishing");
      this.schedulePoll(run, 0);
    } catch (error) {
      if (!this.isCurrent(run)) return;
      if (error instanceof DeviceError && error.reason === "device-timeout") {
        if (missed + 1 >= this.settings.maxMissedPolls)
          return void this.fail(run, "device-timeout", `${missed + 1} polls unanswered`);
        return void this.schedulePoll(run, missed + 1);
      }
      this.failFromError(run, error);
    }
  }

  /** One Modbus request, its failure named: a timeout, a lost connection, or the device's. */
  private async request<T>(run: Run, send: (client: Client) => Promise<T>): Promise<T> {
    const client = this.client;
    const { host, port } = this.settings;
    if (!client) throw new DeviceError("device-disconnected", `${host}:${port}`);
    try {
      return await send(client);
    } catch (error) {
      const errno = (error as { errno?: string }).errno;
      if (errno === "ETIMEDOUT")
        throw new DeviceError(
          "device-timeout",
          `${host}:${port}: no answer in ${this.settings.timeoutMs} ms`,
        );
      if (this.client !== client || errno === "ECONNREFUSED" || !client.isOpen) {
        // A connection a request cannot go out on is gone, though its socket may not have said
        // so yet: lost at once, so that the next start does not go out on it and the
        // reconnection starts now (as the serial adapter does with a line it cannot write).
        this.lost(client, errorText(error));
        throw new DeviceError("device-disconnected", `${host}:${port}: ${errorText(error)}`);
      }
      void run;
      throw new DeviceError("device-rejected", `${host}:${port}: ${errorText(error)}`);
    }
  }
}

/** Creates the adapter and opens its connection (retried in the background if the device is off). */
export async function createModbusEnvironment(
  settings: ModbusSettings,
  ctx: AdapterContext,
): Promise<ModbusEnvironment> {
  const env = new ModbusEnvironment(settings, ctx);
  await env.open();
  return env;
}

async function readPoint(client: Client, point: ModbusPointSpec): Promise<number> {
  switch (point.table) {
    case "coil":
      return (await client.readCoils(point.address, 1)).data[0] ? 1 : 0;
    case "discrete-input":
      return (await client.readDiscreteInputs(point.address, 1)).data[0] ? 1 : 0;
    case "holding-register":
      return (await client.readHoldingRegisters(point.address, 1)).data[0] ?? 0;
    case "input-register":
      return (await client.readInputRegisters(point.address, 1)).data[0] ?? 0;
  }
}

async function writePoint(
  client: Client,
  point: { table: "coil" | "holding-register"; address: number },
): Promise<void> {
  if (point.table === "coil") await client.writeCoil(point.address, true);
  else await client.writeRegister(point.address, 1);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
