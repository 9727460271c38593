import { type AddressInfo, createServer } from "node:net";
import { ServerTCP } from "modbus-serial";
import { DEFAULT_MODBUS_POINTS, type ModbusSettings } from "../adapters/modbus/settings.js";
import { type DeviceFault, EmulatedMachine, type MachineOptions } from "./machine.js";

/** Fault code the emulated device shows for a recipe it does not know. */
export const UNKNOWN_RECIPE_FAULT = 900;

export interface ModbusDeviceOptions extends MachineOptions {
  /** The recipe code of each activity (the adapter's `recipes`). */
  readonly recipes: Readonly<Record<string, number>>;
  readonly host?: string;
  /** 0: an ephemeral port. */
  readonly port?: number;
  readonly unitId?: number;
  readonly qualityScale?: number;
}

/**
 * An emulated machine behind a Modbus TCP server, with the register map `DEFAULT_MODBUS_POINTS`:
 * the rig's stand-in for a PLC. `start` is self-clearing; a `disconnect` fault drops every
 * connection but keeps listening, as a device that rebooted.
 */
export class ModbusDevice {
  readonly machine: EmulatedMachine;
  private server: ServerTCP | undefined;
  private recipe = 0;
  private readonly byCode: Map<number, string>;

  private constructor(private readonly options: ModbusDeviceOptions) {
    this.machine = new EmulatedMachine(options);
    this.byCode = new Map(Object.entries(options.recipes).map(([id, code]) => [code, id]));
    this.machine.onDisconnect = () => {
      for (const sock of this.server?.socks.keys() ?? []) sock.destroy();
    };
  }

  static async listen(options: ModbusDeviceOptions): Promise<ModbusDevice> {
    const device = new ModbusDevice(options);
    await device.open();
    return device;
  }

  get port(): number {
    return (this.server as unknown as { _server: { address(): AddressInfo } })._server.address()
      .port;
  }

  /** The adapter's settings for this device. */
  adapterSettings(overrides: Partial<ModbusSettings> = {}): ModbusSettings {
    return {
      kind: "modbus",
      host: this.options.host ?? "127.0.0.1",
      port: this.port,
      unitId: this.options.unitId ?? 1,
      pollMs: 25,
      timeoutMs: 500,
      maxMissedPolls: 3,
      runTimeoutMs: 60000,
      reconnect: { initialMs: 20, maxMs: 500 },
      points: DEFAULT_MODBUS_POINTS,
      qualityScale: this.options.qualityScale ?? 100,
      recipes: { ...this.options.recipes },
      ...overrides,
    };
  }

  inject(fault: DeviceFault): void {
    this.machine.inject(fault);
  }

  async close(): Promise<void> {
    this.machine.close();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async open(): Promise<void> {
    // modbus-serial reads port 0 as "the default, 502": take a free ephemeral port first.
    for (let tries = 0; ; tries++) {
      const port = this.options.port || (await freePort(this.options.host ?? "127.0.0.1"));
      try {
        return await this.listenOn(port);
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code !== "EADDRINUSE" ||
          this.options.port ||
          tries >= 5
        )
          throw error;
      }
    }
  }

  private listenOn(port: number): Promise<void> {
    const p = DEFAULT_MODBUS_POINTS;
    const m = this.machine;
    const scale = this.options.qualityScale ?? 100;
    const answer = <T>(value: () => T): T | Promise<T> =>
      m.responseDelayMs > 0
        ? new Promise((resolve) => setTimeout(() => resolve(value()), m.responseDelayMs))
        : value();
    const vector = {
      getCoil: (addr: number) =>
        answer(() =>
          addr === p.running.address
            ? m.state.running
            : addr === p.done.address
              ? m.state.done
              : false,
        ),
      getHoldingRegister: (addr: number) =>
        answer(() =>
          addr === p.recipe?.address
            ? this.recipe
            : addr === p.fault.address
              ? m.state.faultCode
              : addr === p.quality?.address
                ? Math.round(m.state.quality * scale)
                : 0,
        ),
      setCoil: (addr: number, value: boolean) =>
        answer(() => {
          if (addr === p.done.address && !value) m.state.done = false;
          if (addr === p.abort.address && value) m.abort();
          if (addr === p.start.address && value) {
            const id = this.byCode.get(this.recipe);
            // A start while busy is ignored, as a PLC ignores a start button during a cycle.
            if (id === undefined || m.start(id) === "unknown-activity")
              m.state.faultCode = UNKNOWN_RECIPE_FAULT;
          }
        }),
      setRegister: (addr: number, value: number) =>
        answer(() => {
          if (addr === p.recipe?.address) this.recipe = value;
        }),
    };
    return new Promise((resolve, reject) => {
      const server = new ServerTCP(vector, {
        host: this.options.host ?? "127.0.0.1",
        port,
        unitID: this.options.unitId ?? 1,
      });
      server.on("initialized", () => resolve());
      server.on("serverError", (e: Error | null) => reject(e ?? new Error("modbus server error")));
      this.server = server;
    });
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host, port: 0 }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
