import { type AddressInfo, createServer } from "node:net";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { DataType, StatusCodes, Variant } from "node-opcua-client";
import { OPCUAServer } from "node-opcua-server";
import type { OpcuaSettings } from "../adapters/opcua/settings.js";
import { type DeviceFault, EmulatedMachine, type MachineOptions } from "./machine.js";
import { TcpRelay } from "./tcp-relay.js";

export interface OpcuaDeviceOptions extends MachineOptions {
  /** Where the server keeps its certificate and trust lists (created if missing). */
  readonly pkiDir: string;
  /** Users the server accepts; empty: anonymous only. */
  readonly users?: readonly { readonly userName: string; readonly password: string }[];
}

const NS = "ns=1;s=Machine";

/** The node ids of the emulated machine (namespace 1), as the adapter's settings name them. */
export const OPCUA_DEVICE_NODES = {
  object: NS,
  start: `${NS}.Start`,
  abort: `${NS}.Abort`,
  command: `${NS}.Command`,
  abortCommand: `${NS}.AbortCommand`,
  running: `${NS}.Running`,
  done: `${NS}.Done`,
  fault: `${NS}.FaultCode`,
  quality: `${NS}.Quality`,
  activity: `${NS}.ActivityId`,
} as const;

/**
 * An emulated machine behind an OPC UA server: methods `Start(activityId)` and `Abort()`, the
 * same through writable `Command` / `AbortCommand`, and `Running`, `Done`, `FaultCode`,
 * `Quality`, `ActivityId` pushed to subscribers as they change. Clients reach it through a
 * `TcpRelay`, which makes the `disconnect` and `slow` faults.
 */
export class OpcuaDevice {
  readonly machine: EmulatedMachine;
  private relay: TcpRelay | undefined;

  private constructor(
    private readonly server: OPCUAServer,
    private readonly options: OpcuaDeviceOptions,
  ) {
    this.machine = new EmulatedMachine(options);
  }

  static async listen(options: OpcuaDeviceOptions): Promise<OpcuaDevice> {
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
    const device = new OpcuaDevice(server, options);
    await server.initialize();
    device.build();
    await server.start();
    device.relay = await TcpRelay.listen({ host: "127.0.0.1", port: server.endpoints[0]!.port });
    device.machine.onDisconnect = () => device.relay?.dropAll();
    return device;
  }

  /** The endpoint clients use: through the relay. */
  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.relay!.port}/consort/machine`;
  }

  inject(fault: DeviceFault): void {
    this.machine.inject(fault);
  }

  /** The adapter's settings for this device, starting runs by method call. */
  adapterSettings(overrides: Partial<OpcuaSettings> = {}): OpcuaSettings {
    const n = OPCUA_DEVICE_NODES;
    return {
      kind: "opcua",
      endpoint: this.endpoint,
      securityMode: "None",
      securityPolicy: "None",
      pkiDir: `${this.options.pkiDir}-client`,
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
    this.machine.close();
    await this.relay?.close();
    await this.server.shutdown(0);
  }

  private build(): void {
    const addressSpace = this.server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const m = this.machine;
    const object = ns.addObject({
      organizedBy: addressSpace.rootFolder.objects,
      browseName: "Machine",
      nodeId: "s=Machine",
    });
    const variable = (name: string, dataType: DataType, read: () => unknown) => {
      const v = ns.addVariable({
        componentOf: object,
        browseName: name,
        nodeId: `s=Machine.${name}`,
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
      if (this.relay) this.relay.delayMs = m.responseDelayMs;
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
      nodeId: "s=Machine.Start",
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
      nodeId: "s=Machine.Abort",
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
      nodeId: "s=Machine.Command",
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
      nodeId: "s=Machine.AbortCommand",
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
