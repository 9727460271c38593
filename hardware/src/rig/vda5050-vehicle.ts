import mqtt, { type MqttClient } from "mqtt";
import {
  type ActionState,
  activityOfOrder,
  type Connection,
  type InstantActions,
  type Order,
  type State,
  type VehicleError,
  vdaTopic,
} from "../adapters/vda5050/messages.js";
import type { Vda5050Settings } from "../adapters/vda5050/settings.js";
import {
  type DeviceFault,
  type DeviceTimers,
  type FaultPlan,
  type OutcomeFunction,
  wallTimers,
} from "./machine.js";

export interface VehicleOptions {
  readonly broker: string;
  readonly manufacturer: string;
  readonly serialNumber: string;
  readonly interfaceName?: string;
  readonly majorVersion?: string;
  readonly outcome: OutcomeFunction;
  readonly faults?: FaultPlan;
  /** A state at least this often even when nothing changes (VDA 5050: at most 30 s). */
  readonly stateIntervalMs?: number;
  /** After a `disconnect` fault, the vehicle is back on the broker after this long. */
  readonly reconnectAfterMs?: number;
  /** How its runs wait; default: the wall clock. */
  readonly timers?: DeviceTimers;
}

/**
 * An emulated AGV or rover speaking VDA 5050 over MQTT. An order's run lasts the outcome's
 * duration, split evenly over its nodes; reaching a node finishes its actions (the last one with
 * the run's quality as its result). Faults: `disconnect` drops its MQTT connection without a
 * goodbye (the broker publishes its last will, CONNECTIONBROKEN) and it comes back without the
 * order; `stall` stops it short of the next node; `fault` raises a FATAL error; `slow` holds its
 * state messages back.
 */
export class EmulatedVehicle {
  /** Every order's activity, in the order taken: a test checks that nothing ran twice. */
  readonly runs: string[] = [];
  private client: MqttClient;
  private headerId = 0;
  private state: State;
  private cancels: (() => void)[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly injected: DeviceFault[] = [];
  private delayMs = 0;
  private readonly ids: {
    interfaceName: string;
    majorVersion: string;
    manufacturer: string;
    serialNumber: string;
  };
  private ticker: NodeJS.Timeout;

  private constructor(private readonly options: VehicleOptions) {
    this.ids = {
      interfaceName: options.interfaceName ?? "uagv",
      majorVersion: options.majorVersion ?? "v2",
      manufacturer: options.manufacturer,
      serialNumber: options.serialNumber,
    };
    this.state = this.idleState();
    this.client = this.connect();
    this.ticker = setInterval(() => this.publishState(), options.stateIntervalMs ?? 1000);
  }

  static async connect(options: VehicleOptions): Promise<EmulatedVehicle> {
    const vehicle = new EmulatedVehicle(options);
    await new Promise<void>((resolve, reject) => {
      vehicle.client.once("connect", () => resolve());
      vehicle.client.once("error", reject);
    });
    return vehicle;
  }

  /** The adapter's settings for this vehicle. */
  adapterSettings(overrides: Partial<Vda5050Settings> = {}): Vda5050Settings {
    return {
      kind: "vda5050",
      broker: this.options.broker,
      ...this.ids,
      version: "2.0.0",
      mapId: "default",
      acceptTimeoutMs: 2000,
      stateTimeoutMs: 5000,
      runTimeoutMs: 60000,
      activityActionType: "consort:activity",
      routes: {},
      ...overrides,
    };
  }

  get currentState(): State {
    return this.state;
  }

  inject(fault: DeviceFault): void {
    this.injected.push(fault);
  }

  async close(): Promise<void> {
    this.clearTimers();
    clearInterval(this.ticker);
    await this.publish("connection", { ...this.header(), connectionState: "OFFLINE" }, true);
    await this.client.endAsync();
  }

  private connect(): MqttClient {
    const client = mqtt.connect(this.options.broker, {
      clientId: `vehicle-${this.ids.manufacturer}-${this.ids.serialNumber}`,
      clean: true,
      reconnectPeriod: this.options.reconnectAfterMs ?? 100,
      will: {
        topic: vdaTopic(this.ids, "connection"),
        payload: Buffer.from(
          JSON.stringify({ ...this.header(), connectionState: "CONNECTIONBROKEN" }),
        ),
        qos: 1,
        retain: true,
      },
    });
    client.on("connect", () => {
      client.subscribe([vdaTopic(this.ids, "order"), vdaTopic(this.ids, "instantActions")], {
        qos: 1,
      });
      void this.publish("connection", { ...this.header(), connectionState: "ONLINE" }, true);
      this.publishState();
    });
    client.on("message", (topic, payload) => {
      let message: unknown;
      try {
        message = JSON.parse(payload.toString("utf8"));
      } catch {
        return;
      }
      if (topic.endsWith("/order")) this.onOrder(message as Order);
      else if (topic.endsWith("/instantActions")) this.onInstantActions(message as InstantActions);
    });
    client.on("error", () => {});
    return client;
  }

  private onOrder(order: Order): void {
    const busy =
      this.state.nodeStates.length > 0 && !this.state.errors.some((e) => e.errorLevel === "FATAL");
    const activityId = activityOfOrder(order);
    const outcome = this.options.outcome(activityId);
    const refuse = (errorType: string, errorDescription: string) => {
      this.update({
        errors: [
          {
            errorType,
            errorLevel: "WARNING",
            errorDescription,
            errorReferences: [{ referenceKey: "orderId", referenceValue: order.orderId }],
          },
        ],
      });
    };
    if (busy) return void refuse("orderError", `busy with ${this.state.orderId}`);
    if (!outcome) return void refuse("validationError", `unknown activity ${activityId}`);
    const attempt = (this.attempts.get(activityId) ?? 0) + 1;
    this.attempts.set(activityId, attempt);
    const fault = this.injected.shift() ?? this.options.faults?.(activityId, attempt);
    this.runs.push(activityId);
    this.clearTimers();
    this.delayMs = fault?.kind === "slow" ? fault.delayMs : 0;
    const actionStates: ActionState[] = order.nodes.flatMap((n) =>
      n.actions.map((a) => ({
        actionId: a.actionId,
        actionType: a.actionType,
        actionStatus: "WAITING" as const,
      })),
    );
    this.update({
      orderId: order.orderId,
      orderUpdateId: order.orderUpdateId,
      nodeStates: order.nodes.map((n) => ({
        nodeId: n.nodeId,
        sequenceId: n.sequenceId,
        released: n.released,
      })),
      edgeStates: order.edges.map((e) => ({
        edgeId: e.edgeId,
        sequenceId: e.sequenceId,
        released: e.released,
      })),
      actionStates,
      errors: [],
      driving: true,
    });
    const half = Math.floor(outcome.durationMs / 2);
    if (fault?.kind === "stall") return;
    if (fault?.kind === "disconnect")
      return void this.later(fault.afterMs ?? half, () => {
        // The vehicle resets: the order is lost and the connection drops without a goodbye.
        this.clearTimers();
        this.state = this.idleState();
        this.client.stream.destroy();
      });
    if (fault?.kind === "fault")
      return void this.later(fault.afterMs ?? half, () => {
        const error: VehicleError = {
          errorType: "consort:deviceFault",
          errorLevel: "FATAL",
          errorDescription: String(fault.code),
        };
        this.update({ errors: [error], driving: false });
      });
    const step = outcome.durationMs / order.nodes.length;
    order.nodes.forEach((node, i) => {
      this.later(Math.round(step * (i + 1)), () => {
        const last = i === order.nodes.length - 1;
        const mine = new Set(node.actions.map((a) => a.actionId));
        this.update({
          lastNodeId: node.nodeId,
          lastNodeSequenceId: node.sequenceId,
          nodeStates: this.state.nodeStates.filter((n) => n.sequenceId > node.sequenceId),
          edgeStates: this.state.edgeStates.filter((e) => e.sequenceId > node.sequenceId),
          actionStates: this.state.actionStates.map((a) =>
            mine.has(a.actionId)
              ? {
                  ...a,
                  actionStatus: "FINISHED",
                  ...(last ? { resultDescription: String(outcome.quality) } : {}),
                }
              : a,
          ),
          driving: !last,
        });
      });
    });
  }

  private onInstantActions(message: InstantActions): void {
    for (const action of message.actions ?? []) {
      if (action.actionType !== "cancelOrder") continue;
      this.clearTimers();
      this.delayMs = 0;
      const cancelled = this.state.actionStates.map((a) =>
        a.actionStatus === "FINISHED"
          ? a
          : { ...a, actionStatus: "FAILED" as const, resultDescription: "cancelled" },
      );
      this.update({
        nodeStates: [],
        edgeStates: [],
        driving: false,
        actionStates: [
          ...cancelled,
          { actionId: action.actionId, actionType: "cancelOrder", actionStatus: "FINISHED" },
        ],
      });
    }
  }

  private update(change: Partial<State>): void {
    this.state = { ...this.state, ...change };
    this.publishState();
  }

  private publishState(): void {
    if (!this.client.connected) return;
    const state = { ...this.state, ...this.header() };
    const send = () => void this.publish("state", state, false);
    if (this.delayMs > 0) setTimeout(send, this.delayMs);
    else send();
  }

  private async publish(
    topic: "state" | "connection",
    message: State | Connection,
    retain: boolean,
  ) {
    if (!this.client.connected) return;
    await this.client.publishAsync(vdaTopic(this.ids, topic), JSON.stringify(message), {
      qos: 1,
      retain,
    });
  }

  private idleState(): State {
    return {
      ...this.header(),
      orderId: "",
      orderUpdateId: 0,
      lastNodeId: "",
      lastNodeSequenceId: 0,
      nodeStates: [],
      edgeStates: [],
      driving: false,
      operatingMode: "AUTOMATIC",
      actionStates: [],
      errors: [],
      batteryState: { batteryCharge: 100, charging: false },
      safetyState: { eStop: "NONE", fieldViolation: false },
    };
  }

  private header() {
    return {
      headerId: ++this.headerId,
      timestamp: new Date().toISOString(),
      version: "2.0.0",
      manufacturer: this.ids.manufacturer,
      serialNumber: this.ids.serialNumber,
    };
  }

  private later(ms: number, fn: () => void): void {
    const cancel = (this.options.timers ?? wallTimers).after(ms, () => {
      this.cancels = this.cancels.filter((c) => c !== cancel);
      fn();
    });
    this.cancels.push(cancel);
  }

  private clearTimers(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
  }
}
