import { join } from "node:path";
import type { ActivityNode, TaskModel } from "@consort/core/agent";
import type { EnvironmentSettings } from "../adapters/index.js";
import {
  type DeviceFault,
  type DeviceTimers,
  type FaultPlan,
  type OutcomeFunction,
  sampledOutcomes,
} from "./machine.js";
import type { OpcuaHost } from "./opcua-device.js";

export type RigKind = "modbus" | "opcua" | "vda5050" | "serial";

/** A fault the rig injects: into the `attempt`-th run (default: the first) of an activity. */
export interface RigFault {
  readonly activityId: string;
  readonly attempt?: number;
  readonly fault: DeviceFault;
}

export interface RigOptions {
  readonly kind: RigKind;
  /** The scenario's model: one device per resource, knowing the activities it may run. */
  readonly model: Pick<TaskModel, "resources" | "nodes">;
  /** The trial's key: each run's duration and quality are the simulator's (`sampleOutcome`). */
  readonly trialKey: number;
  /** Wall-clock length of a tick for the devices' durations. */
  readonly tickMs: number;
  readonly faults?: readonly RigFault[];
  /** VDA 5050 vehicles meet their agents on this broker. */
  readonly broker?: string;
  /** OPC UA servers keep their certificates under this folder. */
  readonly pkiDir?: string;
  /** Each run's outcome instead of the sampled one (e.g. with the scenario's overruns). */
  readonly outcome?: OutcomeFunction;
  /** How the devices' runs wait (`clockTimers` for a lock-step clock); default: the wall clock. */
  readonly timers?: DeviceTimers;
}

/** One emulated device and the adapter settings that reach it. */
export interface RigDevice {
  readonly resourceId: string;
  readonly settings: EnvironmentSettings;
  /** Every run the device started, in order (activity ids). */
  readonly runs: readonly string[];
  inject(fault: DeviceFault): void;
  close(): Promise<void>;
}

export interface Rig {
  readonly devices: readonly RigDevice[];
  close(): Promise<void>;
}

/**
 * The hardware-in-the-loop rig: an emulated device per resource of a model, speaking `kind`,
 * on loopback. Only the protocol library of `kind` is loaded.
 */
export async function startRig(options: RigOptions): Promise<Rig> {
  const activities = options.model.nodes.filter((n): n is ActivityNode => n.kind === "activity");
  const outcome = options.outcome ?? sampledOutcomes(activities, options.trialKey, options.tickMs);
  // Attempts count across the rig: a retry on an alternative resource is the second attempt.
  const attempts = new Map<string, number>();
  const faults: FaultPlan = (activityId) => {
    const attempt = (attempts.get(activityId) ?? 0) + 1;
    attempts.set(activityId, attempt);
    return options.faults?.find((f) => f.activityId === activityId && (f.attempt ?? 1) === attempt)
      ?.fault;
  };
  // Recipe codes are the same on every device: an activity's place in the model, from 1.
  const recipes = Object.fromEntries(activities.map((a, i) => [a.id, i + 1]));
  const devices: RigDevice[] = [];
  // OPC UA machines share one server (each behind its own relay): a server costs seconds.
  let host: OpcuaHost | undefined;
  const close = async () => {
    for (const d of devices) await d.close();
    await host?.close();
  };
  try {
    if (options.kind === "opcua") {
      if (!options.pkiDir) throw new Error("rig: opcua needs pkiDir");
      const { OpcuaHost } = await import("./opcua-device.js");
      host = await OpcuaHost.start({ pkiDir: join(options.pkiDir, "server") });
    }
    for (const resource of options.model.resources) {
      const own = new Set(
        activities.filter((a) => a.resources.includes(resource.id)).map((a) => a.id),
      );
      const mine = (id: string) => (own.has(id) ? outcome(id) : undefined);
      devices.push(await startDevice(options, resource.id, mine, faults, recipes, host));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { devices, close };
}

async function startDevice(
  options: RigOptions,
  resourceId: string,
  outcome: ReturnType<typeof sampledOutcomes>,
  faults: FaultPlan,
  recipes: Record<string, number>,
  host: OpcuaHost | undefined,
): Promise<RigDevice> {
  switch (options.kind) {
    case "modbus": {
      const { ModbusDevice } = await import("./modbus-device.js");
      const d = await ModbusDevice.listen({ outcome, faults, recipes, ...timersOf(options) });
      return {
        resourceId,
        settings: d.adapterSettings({
          pollMs: Math.max(20, Math.min(250, Math.floor(options.tickMs / 4))),
        }),
        runs: d.machine.runs,
        inject: (f) => d.inject(f),
        close: () => d.close(),
      };
    }
    case "opcua": {
      if (!host || !options.pkiDir) throw new Error("rig: opcua needs pkiDir");
      const d = await host.addMachine(resourceId, { outcome, faults, ...timersOf(options) });
      return {
        resourceId,
        settings: d.adapterSettings({ pkiDir: join(options.pkiDir, "agents") }),
        runs: d.machine.runs,
        inject: (f) => d.inject(f),
        close: () => d.detach(),
      };
    }
    case "serial": {
      const { SerialDevice } = await import("./serial-device.js");
      const d = await SerialDevice.open({ outcome, faults, ...timersOf(options) });
      return {
        resourceId,
        settings: d.adapterSettings({
          heartbeatMs: Math.max(20, Math.min(250, Math.floor(options.tickMs / 4))),
        }),
        runs: d.machine.runs,
        inject: (f) => d.inject(f),
        close: () => d.close(),
      };
    }
    case "vda5050": {
      if (!options.broker) throw new Error("rig: vda5050 needs broker");
      const { EmulatedVehicle } = await import("./vda5050-vehicle.js");
      const v = await EmulatedVehicle.connect({
        broker: options.broker,
        manufacturer: "consort-rig",
        serialNumber: resourceId,
        outcome,
        faults,
        ...timersOf(options),
      });
      return {
        resourceId,
        settings: v.adapterSettings(),
        runs: v.runs,
        inject: (f) => v.inject(f),
        close: () => v.close(),
      };
    }
  }
}

const timersOf = (o: RigOptions): { timers?: DeviceTimers } =>
  o.timers ? { timers: o.timers } : {};
