import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import {
  type AdapterContext,
  DeviceEnvironment,
  DeviceError,
  errorText,
  type Run,
} from "../device-environment.js";
import {
  type Action,
  type Connection,
  type InstantActions,
  type Order,
  type State,
  type VehicleError,
  vdaTopic,
} from "./messages.js";
import type { Vda5050Settings } from "./settings.js";

/** Error types a vehicle uses to refuse an order (VDA 5050 §6.6 "order rejection"). */
const REJECTIONS = new Set(["orderError", "orderUpdateError", "validationError", "noRouteError"]);

interface PendingOrder {
  readonly run: Run;
  orderId: string;
  actions: readonly Action[];
  accepted: boolean;
  acceptTimer: NodeJS.Timeout | undefined;
  stateTimer: NodeJS.Timeout | undefined;
}

/**
 * The Environment port for a VDA 5050 vehicle (settings: `Vda5050SettingsSchema`): each run is
 * one order sent to `.../order`; the vehicle's `.../state` tells when it took the order, how far
 * it got, and its errors; `.../connection` (its last will) tells when it dropped off.
 */
export class Vda5050Environment extends DeviceEnvironment {
  private client: MqttClient | undefined;
  private headerId = 0;
  private orderSeq = 0;
  private pending: PendingOrder | undefined;
  /** From the vehicle's retained `connection` message; undefined until one arrives. */
  private vehicleOnline: boolean | undefined;

  constructor(
    private readonly settings: Vda5050Settings,
    ctx: AdapterContext,
  ) {
    super(ctx, settings.runTimeoutMs);
  }

  get connected(): boolean {
    return this.client?.connected === true && this.vehicleOnline !== false;
  }

  /** Connects to the broker and subscribes; false if not connected within `acceptTimeoutMs`. */
  async open(): Promise<boolean> {
    const s = this.settings;
    const options: IClientOptions = {
      clientId: s.clientId ?? `consort-${this.ctx.resourceId}-${process.pid}`,
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: s.acceptTimeoutMs,
      ...(s.username === undefined ? {} : { username: s.username }),
      ...(s.password === undefined ? {} : { password: s.password }),
    };
    const client = mqtt.connect(s.broker, options);
    this.client = client;
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    client.on("connect", () => {
      client.subscribe(
        [vdaTopic(s, "state"), vdaTopic(s, "connection")].map((t) => t),
        { qos: 1 },
        (error) => error && this.ctx.log?.(`vda5050: cannot subscribe: ${errorText(error)}`),
      );
    });
    client.on("error", (error) => this.ctx.log?.(`vda5050 ${s.broker}: ${errorText(error)}`));
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), s.acceptTimeoutMs);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    this.endAll();
    await this.client?.endAsync();
  }

  protected async startDevice(run: Run): Promise<void> {
    const s = this.settings;
    const client = this.client;
    if (!client?.connected)
      throw new DeviceError("device-unavailable", `not connected to ${s.broker}`);
    if (this.vehicleOnline === false)
      throw new DeviceError("device-unavailable", `${s.manufacturer}/${s.serialNumber} is offline`);
    // Unique across restarts of the agent too: a vehicle ignores an order id it has seen.
    const order = this.orderFor(
      run.activityId,
      `${run.activityId}#${Date.now() * 1000 + (++this.orderSeq % 1000)}`,
    );
    const pending: PendingOrder = {
      run,
      orderId: order.orderId,
      actions: order.nodes.flatMap((n) => n.actions),
      accepted: false,
      acceptTimer: undefined,
      stateTimer: undefined,
    };
    this.pending = pending;
    pending.acceptTimer = setTimeout(
      () =>
        this.fail(
          run,
          "device-timeout",
          `order ${order.orderId} not taken within ${s.acceptTimeoutMs} ms`,
        ),
      s.acceptTimeoutMs,
    );
    await client.publishAsync(vdaTopic(s, "order"), JSON.stringify(order), { qos: 0 });
  }

  protected async attachDevice(run: Run): Promise<void> {
    const s = this.settings;
    if (!this.client?.connected)
      throw new DeviceError("device-unavailable", `not connected to ${s.broker}`);
    // The order id is not known until the vehicle's next state names it (`activityId#n`).
    const pending: PendingOrder = {
      run,
      orderId: "",
      actions: [],
      accepted: true,
      acceptTimer: undefined,
      stateTimer: undefined,
    };
    pending.stateTimer = setTimeout(
      () => this.fail(run, "device-timeout", `no state for ${s.stateTimeoutMs} ms`),
      s.stateTimeoutMs,
    );
    this.pending = pending;
  }

  protected async stopDevice(run: Run): Promise<void> {
    void run;
    const client = this.client;
    if (!client?.connected) return;
    const message: InstantActions = {
      ...this.header(),
      actions: [
        { actionType: "cancelOrder", actionId: `cancel-${this.headerId}`, blockingType: "HARD" },
      ],
    };
    await client.publishAsync(vdaTopic(this.settings, "instantActions"), JSON.stringify(message), {
      qos: 0,
    });
  }

  protected override onRunEnded(run: Run): void {
    const p = this.pending;
    if (p?.run !== run) return;
    clearTimeout(p.acceptTimer);
    clearTimeout(p.stateTimer);
    this.pending = undefined;
  }

  private onMessage(topic: string, payload: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(payload.toString("utf8"));
    } catch {
      return void this.ctx.log?.(`vda5050: ${topic}: not JSON, ignored`);
    }
    if (typeof message !== "object" || message === null) return;
    if (topic.endsWith("/connection")) this.onConnection(message as Connection);
    else if (topic.endsWith("/state")) this.onState(message as State);
  }

  private onConnection(c: Connection): void {
    this.vehicleOnline = c.connectionState === "ONLINE";
    if (!this.vehicleOnline) {
      const s = this.settings;
      this.failCurrent(
        "device-disconnected",
        `${s.manufacturer}/${s.serialNumber}: ${c.connectionState}`,
      );
    }
  }

  private onState(state: State): void {
    const p = this.pending;
    if (!p || !this.isCurrent(p.run)) return;
    const errors: readonly VehicleError[] = Array.isArray(state.errors) ? state.errors : [];
    const refused = errors.find(
      (e) =>
        REJECTIONS.has(e.errorType) &&
        (e.errorReferences ?? []).some(
          (r) => r.referenceKey === "orderId" && r.referenceValue === p.orderId,
        ),
    );
    if (refused)
      return void this.fail(
        p.run,
        "device-rejected",
        `${refused.errorType}: ${refused.errorDescription ?? ""}`,
      );
    if (p.orderId === "") {
      // Resuming: adopt the vehicle's order if it is this activity's, else the run is lost.
      if (state.orderId.replace(/#\d+$/, "") !== p.run.activityId)
        return void this.fail(
          p.run,
          "device-fault",
          `resume: the vehicle has order ${JSON.stringify(state.orderId)}`,
        );
      p.orderId = state.orderId;
      p.actions = (state.actionStates ?? []).map(
        (a): Action => ({
          actionId: a.actionId,
          actionType: a.actionType ?? "",
          blockingType: "NONE",
        }),
      );
    }
    if (state.orderId !== p.orderId) return;
    if (!p.accepted) {
      p.accepted = true;
      clearTimeout(p.acceptTimer);
      this.markStarted(p.run);
    }
    clearTimeout(p.stateTimer);
    p.stateTimer = setTimeout(
      () => this.fail(p.run, "device-timeout", `no state for ${this.settings.stateTimeoutMs} ms`),
      this.settings.stateTimeoutMs,
    );
    const fatal = errors.find((e) => e.errorLevel === "FATAL");
    if (fatal)
      return void this.fail(
        p.run,
        "device-fault",
        `${fatal.errorType}: ${fatal.errorDescription ?? ""}`,
      );
    const ours = new Set(p.actions.map((a) => a.actionId));
    const states = (state.actionStates ?? []).filter((a) => ours.has(a.actionId));
    const failed = states.find((a) => a.actionStatus === "FAILED");
    if (failed)
      return void this.fail(
        p.run,
        "device-fault",
        `action ${failed.actionType ?? failed.actionId} failed: ${failed.resultDescription ?? ""}`,
      );
    const traversed =
      (state.nodeStates ?? []).length === 0 && (state.edgeStates ?? []).length === 0;
    const finished = ours.size === states.filter((a) => a.actionStatus === "FINISHED").length;
    if (traversed && finished) {
      // VDA 5050 has no quality: a numeric result of the order's last action gives it, else 1.
      const last = states.at(-1)?.resultDescription;
      const quality =
        last !== undefined && last.trim() !== "" && Number.isFinite(Number(last))
          ? Number(last)
          : 1;
      this.complete(p.run, quality);
    }
  }

  private orderFor(activityId: string, orderId: string): Order {
    const s = this.settings;
    const route = s.routes[activityId]?.nodes ?? [
      {
        nodeId: activityId,
        actions: [{ actionType: s.activityActionType, parameters: { activityId } }],
      },
    ];
    let actionSeq = 0;
    const nodes = route.map((n, i) => ({
      nodeId: n.nodeId,
      sequenceId: 2 * i,
      released: true,
      ...(n.x !== undefined && n.y !== undefined
        ? {
            nodePosition: {
              x: n.x,
              y: n.y,
              ...(n.theta === undefined ? {} : { theta: n.theta }),
              mapId: s.mapId,
            },
          }
        : {}),
      actions: (n.actions ?? []).map(
        (a): Action => ({
          actionType: a.actionType,
          actionId: `${orderId}/${actionSeq++}`,
          blockingType: a.blockingType ?? "HARD",
          actionParameters: Object.entries(a.parameters ?? {}).map(([key, value]) => ({
            key,
            value,
          })),
        }),
      ),
    }));
    const edges = nodes.slice(1).map((n, i) => ({
      edgeId: `${nodes[i]!.nodeId}-${n.nodeId}`,
      sequenceId: 2 * i + 1,
      released: true,
      startNodeId: nodes[i]!.nodeId,
      endNodeId: n.nodeId,
      actions: [],
    }));
    return { ...this.header(), orderId, orderUpdateId: 0, nodes, edges };
  }

  private header() {
    const s = this.settings;
    return {
      headerId: ++this.headerId,
      timestamp: new Date().toISOString(),
      version: s.version,
      manufacturer: s.manufacturer,
      serialNumber: s.serialNumber,
    };
  }
}

/** Creates the adapter and connects it to the broker (retried in the background). */
export async function createVda5050Environment(
  settings: Vda5050Settings,
  ctx: AdapterContext,
): Promise<Vda5050Environment> {
  const env = new Vda5050Environment(settings, ctx);
  await env.open();
  return env;
}
