import { type AddressInfo, createServer } from "node:net";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { DataType, StatusCodes, Variant } from "node-opcua-client";
import { OPCUAServer } from "node-opcua-server";
import type { OpcuaSettings } from "../adapters/opcua/settings.js";
import { type DeviceFault, EmulatedMachine, type MachineOptions } from "./machine.js";
import { TcpRelay } from "./tcp-relay.js";

export interface OpcuaHostOptions {
  /** Where the server keeps its certificate and trust lists (created if missing). */
  readonly pkiDir: string;
  /** Users the server accepts; empty: anonymous only. */
  readonly users?: readonly { readonly userName: string; readonly password: string }[];
}

export interface OpcuaDeviceOptions extends MachineOptions, OpcuaHostOptions {}

/** The node ids (namespace 1) of the emulated machine `name`, as the adapter's settings name them. */
export function opcuaDeviceNodes(name: string) {
  const ns = `ns=1;s=${name}`;
  return {
    object: ns,
    start: `${ns}.Start`,
    abort: `${ns}.Abort`,
    command: `${ns}.Command`,
    abortCommand: `${ns}.AbortCommand`,
    running: `${ns}.Running`,
    done: `${ns}.Done`,
    fault: `${ns}.FaultCode`,
    quality: `${ns}.Quality`,
    activity: `${ns}.ActivityId`,
  } as const;
}

/** The node ids of a device started alone (`OpcuaDevice.listen`). */
export const OPCUA_DEVICE_NODES = opcuaDeviceNodes("Machine");

/**
 * One OPC UA server holding many emulated machines, one object each: the rig starts one for a
 * whole fleet, as loading the standard nodeset and making a certificate cost a second or more
 * each. Each machine has its own relay, so a fault on one leaves the others' agents alone.
 */
export class OpcuaHost {
  private readonly devices = new Set<OpcuaDevice>();

  private constructor(
    readonly server: OPCUAServer,
    readonly options: OpcuaHostOptions,
  ) {}

  static async start(options: OpcuaHostOptions): Promise<OpcuaHost> {
    const serverCertificateManager = new OPCUACertificateManager({
      rootFolder: options.pkiDir,
      automaticallyAcceptUnknownCertificate: true,
    });
    const users = options.users ?? [];
    const server = new OPCUAServer({
      host: "127.0.0.1",
      hostname: "127.0.0.1",
      port: await freePort(),
      resourcePath: "/consort/machine",
      serverCertificateManager,
      allowAnonymous: users.length === 0,
      userManager: {
        isValidUser: (userName: string, password: string) =>
          users.some((u) => u.userName === userName && u.password === password),
      },
      buildInfo: { productName: "consort-rig-machine" },
    });
    await server.initialize();
    await server.start();
    return new OpcuaHost(server, options);
  }

  /** Adds the machine `name` (its node ids: `opcuaDeviceNodes(name)`), reached through its own relay. */
  async addMachine(name: string, options: MachineOptions): Promise<OpcuaDevice> {
    const relay = await TcpRelay.listen({
      host: "127.0.0.1",
      port: this.server.endpoints[0]!.port,
    });
    const device = new OpcuaDevice(this, name, relay, options);
    this.devices.add(device);
    return device;
  }

  async close(): Promise<void> {
    for (const d of this.devices) await d.detach();
    await this.server.shutdown(0);
  }
}

/**
 * An emulated machine on an OPC UA server: methods `Start(activityId)` and `Abort()`, the
 * same through writable `Command` / `AbortCommand`, and `Running`, `Done`, `FaultCode`,
 * `Quality`, `ActivityId` pushed to subscribers as they change. Clients reach it through a
 * `TcpRelay`, which makes the `disconnect` and `slow` faults.
 */
export class OpcuaDevice {
  readonly machine: EmulatedMachine;
  private ownsHost = false;

  constructor(
    private readonly host: OpcuaHost,
    readonly name: string,
    private readonly relay: TcpRelay,
    options: MachineOptions,
  ) {
    this.machine = new EmulatedMachine(options);
    this.machine.onDisconnect = () => relay.dropAll();
    this.build();
  }

  /** A server of its own with one machine, `Machine`. */
  static async listen(options: OpcuaDeviceOptions): Promise<OpcuaDevice> {
    const host = await OpcuaHost.start(options);
    const device = await host.addMachine("Machine", options);
    device.ownsHost = true;
    return device;
  }

  /** The endpoint clients use: through the relay. */
  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.relay.port}/consort/machine`;
  }

  inject(fault: DeviceFault): void {
    this.machine.inject(fault);
  }

  /** The adapter's settings for this device, starting runs by method call. */
  adapterSettings(overrides: Partial<OpcuaSettings> = {}): OpcuaSettings {
    const n = opcuaDeviceNodes(this.name);
    return {
      kind: "opcua",
      endpoint: this.endpoint,
      securityMode: "None",
      securityPolicy: "None",
      pkiDir: `${this.host.options.pkiDir}-client`,
      trustServerCertificate: true,
      command: { kind: "method", objectId: n.object, methodId: n.start },
      abort: { kind: "method", objectId: n.object, methodId: n.abort },
      nodes: {
        running: n.running,
        done: n.done,
        fault: n.fault,
        quality: n.quality,
        activity: n.activity,
      },
      qualityScale: 1,
      publishingIntervalMs: 20,
      samplingIntervalMs: 10,
      requestTimeoutMs: 1000,
      connectTimeoutMs: 5000,
      runTimeoutMs: 60000,
      reconnect: { initialMs: 50, maxMs: 1000 },
      ...overrides,
    };
  }

  async close(): Promise<void> {
    if (this.ownsHost) await this.host.close();
    else await this.detach();
  }

  /** Stops the machine and its relay (its nodes stay on the server, idle). */
  async detach(): Promise<void> {
    this.machine.close();
    await this.relay.close();
  }

  private build(): void {
    const addressSpace = this.host.server.engine.addressSpace!;
    const name = this.name;
    const ns = addressSpace.getOwnNamespace();
    const m = this.machine;
    const object = ns.addObject({
      organizedBy: addressSpace.rootFolder.objects,
      browseName: name,
      nodeId: `s=${name}`,
    });
    const variable = (variableName: string, dataType: DataType, read: () => unknown) => {
      const v = ns.addVariable({
        componentOf: object,
        browseName: variableName,
        nodeId: `s=${name}.${variableName}`,
        dataType: DataType[dataType],
      });
      const push = () => v.setValueFromSource(new Variant({ dataType, value: read() }));
      push();
      return push;
    };
    const pushes = [
      variable("Running", DataType.Boolean, () => m.state.running),
      variable("Done", DataType.Boolean, () => m.state.done),
      variable("FaultCode", DataType.UInt32, () => m.state.faultCode),
      variable("Quality", DataType.Double, () => m.state.quality),
      variable("ActivityId", DataType.String, () => m.state.activityId ?? ""),
    ];
    m.onChange = () => {
      this.relay.delayMs = m.responseDelayMs;
      for (const push of pushes) push();
    };
    const startStatus = (activityId: string) => {
      const answer = m.start(activityId);
      return answer === "ok"
        ? StatusCodes.Good
        : answer === "busy"
          ? StatusCodes.BadInvalidState
          : StatusCodes.BadNotFound;
    };
    const start = ns.addMethod(object, {
      browseName: "Start",
      nodeId: `s=${name}.Start`,
      inputArguments: [{ name: "activityId", dataType: DataType.String }],
      outputArguments: [],
    });
    // node-opcua tells the promise form from the callback form by the number of parameters.
    start.bindMethod(async (inputArguments: Variant[], _context: unknown) => ({
      statusCode: startStatus(String(inputArguments[0]?.value ?? "")),
      outputArguments: [],
    }));
    const abort = ns.addMethod(object, {
      browseName: "Abort",
      nodeId: `s=${name}.Abort`,
      inputArguments: [],
      outputArguments: [],
    });
    abort.bindMethod(async (_inputArguments: Variant[], _context: unknown) => {
      m.abort();
      return { statusCode: StatusCodes.Good, outputArguments: [] };
    });
    ns.addVariable({
      componentOf: object,
      browseName: "Command",
      nodeId: `s=${name}.Command`,
      dataType: "String",
      minimumSamplingInterval: 100,
      value: {
        get: () => new Variant({ dataType: DataType.String, value: m.state.activityId ?? "" }),
        set: (v: Variant) => startStatus(String(v.value)),
      },
    });
    ns.addVariable({
      componentOf: object,
      browseName: "AbortCommand",
      nodeId: `s=${name}.AbortCommand`,
      dataType: "Boolean",
      minimumSamplingInterval: 100,
      value: {
        get: () => new Variant({ dataType: DataType.Boolean, value: false }),
        set: (v: Variant) => {
          if (v.value === true) m.abort();
          return StatusCodes.Good;
        },
      },
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
