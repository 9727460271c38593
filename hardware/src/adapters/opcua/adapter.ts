import { format } from "node:util";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import {
  AttributeIds,
  type ClientSession,
  type ClientSubscription,
  DataType,
  type DataValue,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  setErrorLogger,
  setWarningLogger,
  TimestampsToReturn,
  UserTokenType,
  Variant,
} from "node-opcua-client";
import {
  type AdapterContext,
  DeviceEnvironment,
  DeviceError,
  errorText,
  type Run,
} from "../device-environment.js";
import type { OpcuaSettings } from "./settings.js";

/**
 * The Environment port over OPC UA (settings: `OpcuaSettingsSchema`). The device's state comes
 * from one subscription, pushed by the server, never polled. A lost connection fails the run
 * under way; node-opcua re-opens it with backoff (`reconnect`) and restores the session and its
 * subscription, so the next start can succeed.
 */
export class OpcuaEnvironment extends DeviceEnvironment {
  private readonly client: OPCUAClient;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private online = false;
  private closed = false;
  private ready: Promise<void> | undefined;
  /** Latest pushed value of each watched node. */
  private readonly values = new Map<string, unknown>();
  /** The run whose start the device accepted, and whether it was since seen running. */
  private accepted: Run | undefined;
  private seenRunning = false;
  private evaluating = false;
  /** Nodes whose news came in while the last start command was on its way. */
  private readonly changedSinceCommand = new Set<string>();

  constructor(
    private readonly settings: OpcuaSettings,
    ctx: AdapterContext,
  ) {
    super(ctx, settings.runTimeoutMs);
    // node-opcua prints its warnings on stdout, where the agent writes its JSON log lines: send
    // them to the agent's log instead (one process drives one device, so global is fine).
    const toLog = (...args: unknown[]) =>
      ctx.log?.(
        `opcua: ${format(...args)
          .replace(/\s+/g, " ")
          .trim()}`,
      );
    setWarningLogger(toLog);
    setErrorLogger(toLog);
    this.client = OPCUAClient.create({
      applicationName: "consort-agent",
      securityMode: MessageSecurityMode[settings.securityMode],
      securityPolicy: SecurityPolicy[settings.securityPolicy],
      // The endpoint given is the one to use, whatever the server advertises (NAT, relays).
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
      defaultTransactionTimeout: settings.requestTimeoutMs,
      connectionStrategy: {
        initialDelay: settings.reconnect.initialMs,
        maxDelay: settings.reconnect.maxMs,
        maxRetry: Number.MAX_SAFE_INTEGER,
      },
      clientCertificateManager: new OPCUACertificateManager({
        rootFolder: settings.pkiDir,
        automaticallyAcceptUnknownCertificate: settings.trustServerCertificate,
      }),
    });
    this.client.on("connection_lost", () => {
      this.online = false;
      this.ctx.log?.(`opcua ${settings.endpoint}: connection lost`);
      this.failCurrent("device-disconnected", `${settings.endpoint}: connection lost`);
    });
    this.client.on("connection_reestablished", () => {
      this.online = true;
      this.ctx.log?.(`opcua ${settings.endpoint}: connection re-established`);
    });
  }

  get connected(): boolean {
    return this.online && this.session !== undefined;
  }

  /**
   * Connects, opens a session and subscribes; resolves true once done, or false after
   * `connectTimeoutMs` (the connection is still sought in the background).
   */
  async open(): Promise<boolean> {
    this.ready ??= this.setup();
    this.ready.catch((error: unknown) =>
      this.ctx.log?.(`opcua ${this.settings.endpoint}: ${errorText(error)}`),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.settings.connectTimeoutMs);
    });
    try {
      return await Promise.race([this.ready.then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    this.endAll();
    try {
      await this.subscription?.terminate();
      await this.session?.close();
    } catch {
      // The device may be gone already; closing is best effort.
    }
    await this.client.disconnect();
  }

  private async setup(): Promise<void> {
    const s = this.settings;
    await this.client.connect(s.endpoint);
    if (this.closed) return;
    this.online = true;
    const session = await this.client.createSession(
      s.user
        ? { type: UserTokenType.UserName, userName: s.user.userName, password: s.user.password }
        : undefined,
    );
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: s.publishingIntervalMs,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 100,
      publishingEnabled: true,
      priority: 10,
    });
    const watched = Object.values(s.nodes).filter((n): n is string => n !== undefined);
    for (const nodeId of watched) {
      const item = await subscription.monitor(
        { nodeId, attributeId: AttributeIds.Value },
        { samplingInterval: s.samplingIntervalMs, discardOldest: true, queueSize: 10 },
        TimestampsToReturn.Neither,
      );
      item.on("changed", (dataValue: DataValue) => {
        this.values.set(nodeId, dataValue.value.value);
        this.changedSinceCommand.add(nodeId);
        this.scheduleEvaluation();
      });
    }
    // A start is judged against what follows it: the first values must be in before any start,
    // or they would arrive after it and pass for its news.
    for (
      let waited = 0;
      this.values.size < watched.length && waited < s.connectTimeoutMs;
      waited += 10
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    this.session = session;
    this.subscription = subscription;
  }

  protected async startDevice(run: Run): Promise<void> {
    const { command, endpoint } = this.settings;
    const session = this.session;
    if (!session || !this.online)
      throw new DeviceError("device-unavailable", `not connected to ${endpoint}`);
    this.changedSinceCommand.clear();
    const status =
      command.kind === "method"
        ? await this.request(() =>
            session
              .call({
                objectId: command.objectId,
                methodId: command.methodId,
                inputArguments: [new Variant({ dataType: DataType.String, value: run.activityId })],
              })
              .then((r) => r.statusCode),
          )
        : await this.request(() =>
            session.write({
              nodeId: command.nodeId,
              attributeId: AttributeIds.Value,
              value: { value: new Variant({ dataType: DataType.String, value: run.activityId }) },
            }),
          );
    if (status.value === StatusCodes.BadNotFound.value)
      throw new DeviceError("unknown-activity", run.activityId);
    if (status.isNotGood()) throw new DeviceError("device-rejected", status.name);
    if (!this.isCurrent(run)) return;
    // The device cleared the previous run's `done` and fault code before it answered; unless
    // news of them came in meanwhile (a short run may even be done already), it is on its way.
    const { done, fault } = this.settings.nodes;
    if (!this.changedSinceCommand.has(done)) this.values.set(done, false);
    if (!this.changedSinceCommand.has(fault)) this.values.set(fault, 0);
    this.accepted = run;
    this.seenRunning = false;
    this.markStarted(run);
    this.scheduleEvaluation();
    this.armRefresh(run);
  }

  protected async attachDevice(run: Run): Promise<void> {
    if (!this.session || !this.online)
      throw new DeviceError("device-unavailable", `not connected to ${this.settings.endpoint}`);
    const { activity } = this.settings.nodes;
    const shown = activity === undefined ? undefined : this.values.get(activity);
    if (activity !== undefined && shown !== run.activityId)
      throw new DeviceError(
        "device-fault",
        `resume ${run.activityId}: the device shows ${JSON.stringify(shown)}`,
      );
    this.accepted = run;
    this.seenRunning = true;
    this.scheduleEvaluation();
    this.armRefresh(run);
  }

  private refreshTimer: NodeJS.Timeout | undefined;

  /**
   * A notification can be lost (a publish request that timed out while the client or the server
   * was paused, e.g. on a loaded machine), and a run's end would then never be heard: while a
   * run is under way, its state is also read now and then.
   */
  private armRefresh(run: Run): void {
    clearInterval(this.refreshTimer);
    const everyMs = Math.max(REFRESH_MIN_MS, 4 * this.settings.publishingIntervalMs);
    this.refreshTimer = setInterval(() => {
      if (this.closed || this.accepted !== run || !this.isCurrent(run)) {
        clearInterval(this.refreshTimer);
        return;
      }
      void this.refresh(run);
    }, everyMs);
    this.refreshTimer.unref?.();
  }

  private async refresh(run: Run): Promise<void> {
    const session = this.session;
    if (!session || !this.online) return;
    const watched = Object.values(this.settings.nodes).filter((n): n is string => n !== undefined);
    const read = await this.request(() =>
      session.read(watched.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value }))),
    ).catch(() => undefined);
    // Read for an earlier run (or an earlier start of it): what it says is not this run's news.
    if (!read || this.accepted !== run || !this.isCurrent(run)) return;
    const seen = new Map<string, unknown>();
    watched.forEach((nodeId, i) => {
      const value = read[i];
      if (value?.statusCode.isGood()) seen.set(nodeId, value.value.value);
    });
    // Only an end is taken from a read: notifications may have said more since it was answered.
    const { done, fault } = this.settings.nodes;
    if (seen.get(done) !== true && Number(seen.get(fault) ?? 0) === 0) return;
    for (const [nodeId, value] of seen) this.values.set(nodeId, value);
    this.scheduleEvaluation();
  }

  protected async stopDevice(run: Run): Promise<void> {
    void run;
    const { abort } = this.settings;
    const session = this.session;
    if (!session || !this.online) return;
    if (abort.kind === "method")
      await this.request(() =>
        session.call({ objectId: abort.objectId, methodId: abort.methodId, inputArguments: [] }),
      );
    else
      await this.request(() =>
        session.write({
          nodeId: abort.nodeId,
          attributeId: AttributeIds.Value,
          value: { value: new Variant({ dataType: DataType.Boolean, value: true }) },
        }),
      );
  }

  /** Notifications of one publish arrive one item at a time: judge the state once they are in. */
  private scheduleEvaluation(): void {
    if (this.evaluating) return;
    this.evaluating = true;
    setImmediate(() => {
      this.evaluating = false;
      void this.evaluate().catch((error: unknown) =>
        this.ctx.log?.(`opcua ${this.settings.endpoint}: ${errorText(error)}`),
      );
    });
  }

  private async evaluate(): Promise<void> {
    const run = this.accepted;
    if (!run || !this.isCurrent(run)) return;
    const { nodes, qualityScale } = this.settings;
    const fault = Number(this.values.get(nodes.fault) ?? 0);
    if (fault !== 0) return void this.fail(run, "device-fault", String(fault));
    const ours = nodes.activity === undefined || this.values.get(nodes.activity) === run.activityId;
    if (this.values.get(nodes.done) === true && ours) {
      let quality =
        nodes.quality === undefined ? qualityScale : Number(this.values.get(nodes.quality) ?? 0);
      if (nodes.quality !== undefined && this.session) {
        // The quality may have changed in the same publish as `done`: read it fresh.
        const qualityNode = nodes.quality;
        const session = this.session;
        const fresh = await this.request(() =>
          session.read({ nodeId: qualityNode, attributeId: AttributeIds.Value }),
        ).catch(() => undefined);
        if (fresh?.statusCode.isGood()) quality = Number(fresh.value.value);
      }
      return void this.complete(run, quality / qualityScale);
    }
    const running = this.values.get(nodes.running) === true;
    if (running && ours) this.seenRunning = true;
    else if (this.seenRunning && !running)
      this.fail(run, "device-fault", "stopped without finishing");
  }

  private async request<T>(send: () => Promise<T>): Promise<T> {
    const { endpoint, requestTimeoutMs } = this.settings;
    let timer: NodeJS.Timeout | undefined;
    // node-opcua's own transaction timeout has a floor well above a machine's answer time.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), requestTimeoutMs);
    });
    try {
      return await Promise.race([send(), late]);
    } catch (error) {
      const text = errorText(error);
      if (/timed? ?out/i.test(text))
        throw new DeviceError("device-timeout", `${endpoint}: no answer in ${requestTimeoutMs} ms`);
      if (!this.online) throw new DeviceError("device-disconnected", `${endpoint}: ${text}`);
      throw new DeviceError("device-rejected", `${endpoint}: ${text}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Creates the adapter and opens its connection (sought in the background if the device is off). */
export async function createOpcuaEnvironment(
  settings: OpcuaSettings,
  ctx: AdapterContext,
): Promise<OpcuaEnvironment> {
  const env = new OpcuaEnvironment(settings, ctx);
  await env.open();
  return env;
}

/** The least wall time between two reads of a running device's state (see `armRefresh`). */
const REFRESH_MIN_MS = 1000;
