import mqtt, { type IClientOptions, type ISubscriptionMap, type MqttClient } from "mqtt";
import {
  DEFAULT_LIMITS,
  type DecodeLimits,
  encodeMessage,
  parseMessage,
  validateMessage,
} from "./codec.js";
import { Deduplicator } from "./dedup.js";
import { ProtocolError, TransportError } from "./errors.js";
import type { AnyMessage, Body, Message, MessageType } from "./messages.js";
import { MessageStats } from "./stats.js";
import { parseTopic } from "./topics.js";

/**
 * Builds a message; its id is `{from}:{seq}`, or `{from}:{epoch}:{seq}` for a sender whose
 * sequence restarts with each session epoch, so a resent message keeps its id and a restarted
 * sender's ids never repeat its earlier lives'.
 */
export function makeMessage<T extends MessageType>(
  type: T,
  from: string,
  body: Body<T>,
  meta: { seq: number; at: number; to?: string; corr?: string; epoch?: number },
): Message<T> {
  return {
    v: 1,
    id: meta.epoch === undefined ? `${from}:${meta.seq}` : `${from}:${meta.epoch}:${meta.seq}`,
    type,
    from,
    ...(meta.epoch !== undefined ? { epoch: meta.epoch } : {}),
    seq: meta.seq,
    at: meta.at,
    ...(meta.to !== undefined ? { to: meta.to } : {}),
    ...(meta.corr !== undefined ? { corr: meta.corr } : {}),
    body,
  } as Message<T>;
}

/** What the transport needs to say about dropped input and retried connections; pino's logger fits. */
export interface TransportLogger {
  warn(details: Record<string, unknown>, message: string): void;
  info?(details: Record<string, unknown>, message: string): void;
}

/**
 * Retrying the first connection while no broker answers (a board may boot before its broker):
 * waits grow from `initialDelayMs`, doubling, up to `maxDelayMs`. A refused login is not retried.
 */
export interface ConnectRetry {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Stops retrying at once (SIGTERM / SIGINT): `connect` rejects with code `aborted`. */
  readonly signal?: AbortSignal;
}

export interface TransportOptions {
  /**
   * A broker URL, or several separated by commas (brokers sharing their state through Redis):
   * each reconnection tries the next, so losing one broker moves the client to another.
   */
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** false keeps the broker-side session (and QoS 1 messages queued while offline). */
  readonly clean?: boolean;
  readonly keepaliveSeconds?: number;
  readonly will?: {
    readonly topic: string;
    readonly message: AnyMessage;
    readonly retain: boolean;
  };
  readonly limits?: DecodeLimits;
  readonly logger?: TransportLogger;
  /** Give up connecting after this long (the first connection only; each attempt with `retry`). */
  readonly connectTimeoutMs?: number;
  /** Retry the first connection while no broker answers; without it, the first failure rejects. */
  readonly retry?: ConnectRetry;
  /** How long a subscription cut short by a lost connection keeps waiting to be made again. */
  readonly subscribeTimeoutMs?: number;
}

/** What a CONNACK refusal means for a Consort user (MQTT 3.1.1 §3.2.2.3). */
const CONNACK_REFUSALS: Readonly<Record<number, string>> = {
  1: "unacceptable protocol version",
  2: "client id rejected (it must be the username, or the username then '/', '@' or '#')",
  3: "server unavailable",
  4: "bad username or password",
  5: "not authorized (the broker serves another site, or the last will is on a topic this user may not publish)",
};

/** `retained` is true for a retained message the broker replays on subscribing: state, not news. */
export type MessageHandler = (
  message: AnyMessage,
  topic: string,
  bytes: number,
  retained: boolean,
) => void;

/**
 * The Transport port over mqtt.js: validated publish and subscribe of Consort messages.
 * Every incoming payload is decoded and validated where it enters the process; one that fails is
 * dropped whole, logged and counted, and never reaches a handler. Repeats of a (from, seq) are
 * dropped too (QoS 1 delivers at least once); a sender's new session epoch starts a new sequence.
 */
export class MqttTransport {
  readonly stats = new MessageStats();
  private readonly dedup = new Deduplicator();
  private readonly handlers: MessageHandler[] = [];
  private readonly limits: DecodeLimits;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: TransportOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    client.on("message", (topic, payload, packet) => this.receive(topic, payload, packet.retain));
    // Any packet from the broker (a PINGRESP too) proves the link works now: `connected` stays true
    // until mqtt.js notices a dead link, up to two keepalives later.
    client.on("packetreceive", () => {
      this.heardMs = Date.now();
    });
    // A will is a message like any other: repeated with the same (from, seq) it would be dropped
    // as a duplicate by whoever heard the first one, and a second broken link of the same session
    // would go unnoticed. Each new connection gets its own seq.
    const will = options.will?.message;
    let connections = 0;
    client.on("reconnect", () => {
      connections++;
      if (!will || !client.options.will) return;
      const again = makeMessage(will.type, will.from, will.body, {
        seq: will.seq + connections,
        at: will.at,
        ...(will.epoch !== undefined ? { epoch: will.epoch } : {}),
        ...(will.to !== undefined ? { to: will.to } : {}),
      } as Parameters<typeof makeMessage>[3]) as AnyMessage;
      client.options.will = { ...client.options.will, payload: encodeMessage(again) };
    });
    client.on("connect", (connack) => {
      if (this.connects++ === 0) return; // the first connection is connect()'s own
      for (const handler of this.reconnectHandlers) handler(connack.sessionPresent);
    });
  }

  private heardMs = Date.now();
  private connects = 0;
  private readonly reconnectHandlers: ((sessionPresent: boolean) => void)[] = [];

  /** Wall-clock instant of the last packet received from the broker. */
  get lastHeardMs(): number {
    return this.heardMs;
  }

  /**
   * Calls `handler` after each reconnection (not the first connection), saying whether the broker
   * resumed the session. The broker may have sent the last will meanwhile, so whoever it speaks
   * for says it is back. A resumed session keeps its subscriptions, so mqtt.js does not subscribe
   * again, and the broker sends retained messages only on a SUBSCRIBE: retained state set while
   * the connection was down (or lost with a broker restart) comes only to one who subscribes again.
   */
  onReconnect(handler: (sessionPresent: boolean) => void): void {
    this.reconnectHandlers.push(handler);
  }

  /**
   * Connects, and with `options.retry` keeps trying while no broker answers. Rejects with a
   * `TransportError`: `connect-refused` (the broker said no), `connect-failed` or `aborted`.
   */
  static async connect(options: TransportOptions): Promise<MqttTransport> {
    const retry = options.retry;
    let delayMs = retry?.initialDelayMs ?? 250;
    for (let attempt = 1; ; attempt++) {
      if (retry?.signal?.aborted) throw aborted(options.url);
      try {
        return await MqttTransport.connectOnce(options, retry?.signal, attempt - 1);
      } catch (error) {
        if (!(retry && error instanceof TransportError && error.code === "connect-failed"))
          throw error;
        options.logger?.info?.(
          { url: options.url, attempt, retryInMs: delayMs, reason: error.message },
          "broker not reachable yet; retrying",
        );
        await pause(delayMs, retry.signal);
        delayMs = Math.min(delayMs * 2, retry.maxDelayMs ?? 10_000);
      }
    }
  }

  private static async connectOnce(
    options: TransportOptions,
    signal: AbortSignal | undefined,
    attempt = 0,
  ): Promise<MqttTransport> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const mqttOptions: IClientOptions = {
      clientId: options.clientId,
      clean: options.clean ?? true,
      keepalive: options.keepaliveSeconds ?? 30,
      reconnectPeriod: 500,
      connectTimeout: timeoutMs,
      protocolVersion: 4,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.will
        ? {
            will: {
              topic: options.will.topic,
              payload: encodeMessage(options.will.message),
              qos: 1 as const,
              retain: options.will.retain,
            },
          }
        : {}),
    };
    // Each attempt starts from the next broker: the first may be the one that is down.
    const listed = options.url.split(",").map((u) => u.trim());
    const shift = attempt % listed.length;
    const urls = [...listed.slice(shift), ...listed.slice(0, shift)];
    const client = mqtt.connect(
      urls[0]!,
      urls.length === 1 ? mqttOptions : { ...mqttOptions, servers: urls.map(serverOf) },
    );
    // Small messages, one after the other: without TCP_NODELAY, Nagle's algorithm holds each
    // until the previous one is acknowledged, and delayed ACKs make that tens of milliseconds.
    client.on("connect", () => {
      const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
      stream?.setNoDelay?.(true);
    });
    // Listen before CONNACK: a persistent session's queue can arrive in the same read as it.
    const transport = new MqttTransport(client, options);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          fail(
            new TransportError(
              "connect-failed",
              `could not connect to ${options.url} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => fail(aborted(options.url));
      const fail = (error: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        client.removeListener("connect", ok);
        client.removeListener("error", onError);
        client.end(true);
        reject(error);
      };
      const onError = (error: Error & { code?: unknown }) => fail(connectError(options, error));
      const ok = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        client.removeListener("error", onError);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      client.once("connect", ok);
      client.once("error", onError);
    });
    return transport;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Adds a handler. Messages that arrived before the first handler (a persistent session's queue
   * is delivered right after CONNACK) are held and handed to it, in order: none is lost.
   */
  onMessage(handler: MessageHandler): void {
    this.handlers.push(handler);
    if (this.handlers.length === 1) {
      const held = this.held.splice(0);
      for (const h of held) handler(h.message, h.topic, h.bytes, h.retained);
    }
  }
  private readonly held: {
    message: AnyMessage;
    topic: string;
    bytes: number;
    retained: boolean;
  }[] = [];

  /**
   * Subscribes at QoS 1; rejects with `subscribe-refused` when the broker refuses the filter. A
   * connection lost before the SUBACK (a broker restart) is not a refusal: it subscribes again
   * once reconnected, and rejects with `connect-failed` if that takes over `subscribeTimeoutMs`.
   * mqtt.js sends nothing for a filter this client has already subscribed to; `again` sends the
   * SUBSCRIBE all the same, so that the broker sends the filter's retained messages again.
   */
  async subscribe(filter: string, options: { again?: boolean } = {}): Promise<void> {
    const refused = () =>
      new TransportError(
        "subscribe-refused",
        `the broker at ${this.options.url} refused the subscription to ${filter} (SUBACK 0x80): user "${this.options.username ?? this.options.clientId}" may not read it; does the broker serve this site?`,
      );
    const deadline = Date.now() + (this.options.subscribeTimeoutMs ?? 60_000);
    for (let attempt = 0; ; attempt++) {
      let granted: { qos: number }[];
      try {
        // Again after a lost connection, forced: mqtt.js skips a filter it already remembers,
        // and does not subscribe again by itself when the broker says it kept the session.
        granted = await (attempt === 0 && !options.again
          ? this.client.subscribeAsync(filter, { qos: 1 })
          : this.client.subscribeAsync({
              [filter]: { qos: 1 },
              resubscribe: true,
            } as unknown as ISubscriptionMap));
      } catch (error) {
        // mqtt.js rejects both a SUBACK whose granted QoS is a failure code (0x80) and a
        // subscription cut short by a closed connection; only the first carries the SUBACK.
        if ((error as { packet?: { cmd?: string } }).packet?.cmd === "suback") throw refused();
        if (this.closing) throw error;
        this.options.logger?.warn(
          { url: this.options.url, filter, reason: (error as Error).message },
          "the connection dropped while subscribing; subscribing again once reconnected",
        );
        await this.reconnected(deadline, filter);
        continue;
      }
      if (granted.some((g) => g.qos === 128)) throw refused();
      return;
    }
  }

  private closing = false;

  /** Resolves once the client is connected again; rejects with `connect-failed` at `deadline`. */
  private reconnected(deadline: number, filter: string): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.client.removeListener("connect", done);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.client.removeListener("connect", done);
          reject(
            new TransportError(
              "connect-failed",
              `lost the broker at ${this.options.url} while subscribing to ${filter}, and it did not come back in time`,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      this.client.on("connect", done);
    });
  }

  /** Publishes at QoS 1; resolves with the payload's size once the broker has acknowledged it. */
  async publish(
    topic: string,
    message: AnyMessage,
    options: { retain?: boolean } = {},
  ): Promise<number> {
    validateMessage(message, topic); // a message we cannot read ourselves is a bug here, not news to send
    const payload = encodeMessage(message);
    this.stats.countSent(message.type, payload.byteLength, parseTopic(topic)?.kind);
    await this.client.publishAsync(topic, payload, { qos: 1, retain: options.retain ?? false });
    return payload.byteLength;
  }

  /** Publishes raw bytes, bypassing validation: for tests that send garbage on purpose. */
  async publishRaw(
    topic: string,
    payload: Buffer,
    options: { retain?: boolean } = {},
  ): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain: options.retain ?? false });
  }

  /**
   * Ends the connection with a DISCONNECT once the broker has acknowledged what was published.
   * mqtt.js alone would wait for those acknowledgements for ever once the connection is down (it
   * stops reconnecting as soon as it is asked to end), and a process stopping then never exits:
   * after `graceMs`, or at once while disconnected, it ends without them (the broker then sends
   * the last will if it ever notices; what was unacknowledged is the journal's to resend).
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const client = this.client;
    const pending = () => Object.keys(client.outgoing).length > 0;
    const until = Date.now() + graceMs;
    while (client.connected && pending() && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    // mqtt.js's own clean end can wait behind a dead socket without a limit: race it.
    await Promise.race([
      client.endAsync(!client.connected || pending()),
      new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
    ]);
    // Still not ended (a clean end stuck behind a frozen broker): drop the socket itself.
    if (!client.disconnected) client.stream?.destroy();
  }

  /** Ends the connection without a DISCONNECT, so the broker sends the last will. */
  async drop(): Promise<void> {
    this.closing = true;
    await this.client.endAsync(true);
  }

  private receive(topic: string, payload: Buffer, retained: boolean): void {
    let message: AnyMessage;
    try {
      message = parseMessage(payload, topic, this.limits);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.stats.countDropped(error.code);
      this.options.logger?.warn(
        { topic, bytes: payload.byteLength, code: error.code },
        `dropped a message: ${error.message}`,
      );
      return;
    }
    // Retained state is re-sent on every subscription; it is state, not a command, so it is not deduplicated.
    // Keyed by site too: a broker shared across runs may still queue another site's messages from
    // the same sender, whose seqs must not hide this site's.
    const site = parseTopic(topic)?.site ?? "";
    if (!retained && !this.dedup.firstTime(`${site}/${dedupSender(message)}`, message.seq)) {
      this.stats.countDropped("duplicate");
      return;
    }
    this.stats.countReceived(message.type, payload.byteLength, parseTopic(topic)?.kind);
    if (this.handlers.length === 0)
      this.held.push({ message, topic, bytes: payload.byteLength, retained });
    for (const handler of this.handlers) handler(message, topic, payload.byteLength, retained);
  }
}

/** One of several broker URLs, as mqtt.js takes them for reconnecting round them. */
function serverOf(url: string): {
  host: string;
  port: number;
  protocol: "mqtt" | "mqtts" | "ws" | "wss" | "tcp";
} {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, "") as "mqtt" | "mqtts" | "ws" | "wss" | "tcp";
  const port = u.port ? Number(u.port) : protocol === "mqtts" ? 8883 : 1883;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port, protocol };
}

function aborted(url: string): TransportError {
  return new TransportError("aborted", `stopped before connecting to ${url}`);
}

/** One line for a failed connection: a CONNACK refusal (numeric code) or a socket error. */
function connectError(
  options: TransportOptions,
  error: Error & { code?: unknown },
): TransportError {
  if (typeof error.code === "number") {
    const meaning = CONNACK_REFUSALS[error.code] ?? error.message;
    return new TransportError(
      "connect-refused",
      `the broker at ${options.url} refused the login of "${options.username ?? options.clientId}" (CONNACK ${error.code}: ${meaning})`,
      { cause: error },
    );
  }
  const why = typeof error.code === "string" ? error.code : error.message;
  return new TransportError("connect-failed", `could not connect to ${options.url}: ${why}`, {
    cause: error,
  });
}

/** Waits `ms`, or less if `signal` aborts (then rejects with `aborted`). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new TransportError("aborted", "stopped while waiting to retry the broker"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whose sequence a message belongs to: its sender, in its session epoch when it has one. */
export function dedupSender(message: AnyMessage): string {
  // "#" cannot occur in an id, so no sender's key collides with another's.
  return message.epoch === undefined ? message.from : `${message.from}#${message.epoch}`;
}
