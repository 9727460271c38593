/**
 * The running broker: aedes behind a TCP listener (and optionally a WebSocket one), with
 * per-user authentication, catalogue-derived ACLs, a per-connection packet-size bound and a
 * connection cap. `createBroker` does the I/O; nothing here is global.
 */
import type { EventEmitter } from "node:events";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
} from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server as TcpServer,
} from "node:net";
import type { Duplex } from "node:stream";
import { CHANNELS, parseTopic } from "@consort/protocol";
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from "aedes";
import { type Logger, pino } from "pino";
import { createWebSocketStream, WebSocketServer } from "ws";
import { AckTracker } from "./ack-tracker.js";
import { type Identity, publishAllowed, subscribeAllowed } from "./acl.js";
import { type AuthPolicy, authenticateConnect } from "./auth.js";
import {
  type BrokerConfig,
  type BrokerConfigInput,
  type BrokerUser,
  type LoadBrokerConfigOptions,
  loadBrokerConfig,
  loadUsersFile,
  parseBrokerConfig,
  usersIssue,
} from "./config.js";
import { BrokerError } from "./errors.js";
import { MqttFrameMeter } from "./frame-meter.js";
import { LoginGate } from "./login-gate.js";
import { connectViolation, publishViolation } from "./mqtt-rules.js";
import { createStorage } from "./persistence.js";
import { RetainedQuota } from "./quotas.js";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Counters since start, and what is open now. */
export interface BrokerStats {
  /** Transport connections open now (TCP and WebSocket, logged in or not). */
  readonly connections: number;
  /** Clients that completed CONNECT and are connected now. */
  readonly clients: number;
  /** Transport connections accepted since start. */
  readonly connectionsAccepted: number;
  /** Connections closed on arrival because `maxConnections` were open. */
  readonly refusedConnections: number;
  /** Connections closed on arrival because their address had `maxConnectionsPerIp` open. */
  readonly refusedPerIp: number;
  /** Connections without CONNECT closed (the oldest first) because `maxUnauthenticated` were open. */
  readonly refusedUnauthenticated: number;
  /** Logins refused with "server unavailable" because the password-check queue was full. */
  readonly refusedLoginBusy: number;
  /** PUBLISHes refused for breaking an MQTT 3.1.1 rule that aedes does not check. */
  readonly protocolViolations: number;
  /** Retained PUBLISHes delivered but not retained: a quota was full, or the channel is not retained. */
  readonly refusedRetained: number;
  /** QoS 1/2 messages not queued because their session had `maxQueuedMessages` queued. */
  readonly droppedQueued: number;
  /** CONNECTs refused (bad credentials, client id, will topic, dev-mode rules). */
  readonly refusedAuth: number;
  /** PUBLISHes outside the sender's ACL (each closed the sender's connection). */
  readonly refusedPublish: number;
  /** Subscription filters outside the subscriber's ACL (granted 128). */
  readonly refusedSubscribe: number;
  /** Connections dropped for declaring a packet above `maxPacketBytes`. */
  readonly oversizePackets: number;
  /** Connections dropped for a remaining-length field longer than 4 bytes. */
  readonly malformedPackets: number;
  /** PUBLISHes accepted from clients (wills and retained replays not included). */
  readonly published: number;
  /** Messages handed to subscribers (one PUBLISH can reach several, or none). */
  readonly delivered: number;
}

export interface RunningBroker {
  readonly tcp: Endpoint;
  /** Present when `wsPort` was configured. */
  readonly ws?: Endpoint;
  /** `mqtt://host:port` of the TCP listener. */
  readonly url: string;
  /** `ws://host:port` of the WebSocket listener, when there is one. */
  readonly wsUrl?: string;
  stats(): BrokerStats;
  /** Stops accepting, disconnects every client, closes aedes; resolves when all is closed. Idempotent. */
  close(): Promise<void>;
}

export interface BrokerDeps {
  /** Where the broker logs; silent when absent. */
  readonly logger?: Logger;
}

type Transport = "tcp" | "ws";
type Counter = Exclude<
  keyof BrokerStats,
  "connections" | "clients" | "refusedLoginBusy" | "droppedQueued"
>;

/** Starts a broker. Rejects with a `BrokerError` for a bad config, users file or listen address. */
export async function createBroker(
  config: BrokerConfigInput,
  deps: BrokerDeps = {},
): Promise<RunningBroker> {
  const parsed = parseBrokerConfig(config, "broker config");
  if (!parsed.ok) throw new BrokerError("invalid-config", parsed.error);
  const cfg = parsed.value;
  const log = (deps.logger ?? pino({ level: "silent" })).child({ component: "broker" });
  const users = await collectUsers(cfg);
  if (users.size === 0 && !cfg.anonymous)
    throw new BrokerError(
      "invalid-config",
      "broker config: users: none configured and anonymous is false, so every connection would be refused; add users or usersFile, or set anonymous for local development",
    );
  const plain = [...users.values()].filter((u) => u.password !== undefined).map((u) => u.username);
  if (plain.length > 0)
    log.warn({ usernames: plain }, "users with plain-text passwords; prefer passwordHash");
  if (cfg.anonymous)
    log.warn("dev mode: unconfigured usernames are admitted without password from loopback");

  const policy: AuthPolicy = { site: cfg.site, users, anonymous: cfg.anonymous };
  const counters: Record<Counter, number> = {
    connectionsAccepted: 0,
    refusedConnections: 0,
    refusedPerIp: 0,
    refusedUnauthenticated: 0,
    protocolViolations: 0,
    refusedRetained: 0,
    refusedAuth: 0,
    refusedPublish: 0,
    refusedSubscribe: 0,
    oversizePackets: 0,
    malformedPackets: 0,
    published: 0,
    delivered: 0,
  };
  const transports = new WeakMap<Duplex, { transport: Transport; remoteAddress?: string }>();
  const connects = new WeakMap<
    Client,
    { clientId: string; clean: boolean; willTopic: string | undefined }
  >();
  const identities = new WeakMap<Client, Identity>();
  /** The packet id of each accepted QoS 1 PUBLISH, keyed by its payload (aedes copies the rest). */
  const ackIds = new WeakMap<Buffer, number>();
  const acks = new WeakMap<Duplex, AckHold>();
  const open = new Set<Duplex>();
  /** Open connections that have not sent CONNECT yet: what a slow loris holds. */
  const unauthenticated = new Set<Duplex>();
  const perAddress = new Map<string, number>();
  let closing: Promise<void> | undefined;
  const gate = new LoginGate({ concurrency: cfg.authConcurrency, queueLimit: cfg.authQueue });
  const retained = new RetainedQuota(cfg);
  const storage = createStorage({
    redis: cfg.redis,
    maxQueued: cfg.maxQueuedMessages,
    onDrop: (clientId) =>
      log.warn(
        { reason: "queue-full", clientId, limit: cfg.maxQueuedMessages },
        "session queue full; message not queued for it",
      ),
  });

  const hooks: AedesOptions = {
    preConnect(client, packet, callback) {
      // It spoke: from now on the login gate bounds it, not the pre-CONNECT cap.
      unauthenticated.delete(client.conn);
      forwardOutOfOrder(client);
      const violation = connectViolation(packet);
      if (violation !== undefined) {
        counters.protocolViolations += 1;
        log.warn(
          {
            reason: "protocol-violation",
            remoteAddress: transports.get(client.conn)?.remoteAddress,
          },
          `CONNECT refused: ${violation}`,
        );
        return callback(new Error(violation), false);
      }
      // aedes hands authenticate() only the username and password; keep the rest of CONNECT.
      connects.set(client, {
        clientId: packet.clientId,
        clean: packet.clean !== false,
        willTopic: packet.will?.topic,
      });
      callback(null, true);
    },

    authenticate(client, username, password, done) {
      const packet = connects.get(client);
      const conn = transports.get(client.conn);
      const facts = {
        clientId: packet?.clientId ?? client.id,
        clean: packet?.clean ?? client.clean,
        username,
        password: password as Buffer | undefined,
        remoteAddress: conn?.remoteAddress,
        willTopic: packet?.willTopic,
      };
      gate
        .run(
          facts.remoteAddress,
          username ?? "",
          () => authenticateConnect(facts, policy),
          (d) => !d.ok && (d.reason === "bad-password" || d.reason === "unknown-user"),
        )
        .then(
          (result) => {
            if (result.kind === "busy") {
              log.warn(
                {
                  reason: "login-busy",
                  clientId: facts.clientId,
                  remoteAddress: facts.remoteAddress,
                },
                "connection refused: too many logins waiting for a password check",
              );
              return done(
                Object.assign(new Error("server busy"), { returnCode: 3 as const }),
                false,
              );
            }
            const decision = result.value;
            if (decision.ok) {
              identities.set(client, decision.identity);
              unauthenticated.delete(client.conn);
              return done(null, true);
            }
            counters.refusedAuth += 1;
            log.warn(
              {
                reason: decision.reason,
                clientId: facts.clientId,
                username,
                remoteAddress: facts.remoteAddress,
                transport: conn?.transport,
                returnCode: decision.returnCode,
              },
              `connection refused: ${decision.detail}`,
            );
            const error = Object.assign(new Error(decision.detail), {
              returnCode: decision.returnCode as AuthenticateError["returnCode"],
            });
            done(error, false);
          },
          (error: unknown) => {
            counters.refusedAuth += 1;
            log.error({ err: error, clientId: facts.clientId }, "authentication failed");
            done(Object.assign(new Error("server unavailable"), { returnCode: 3 as const }), false);
          },
        );
    },

    // MQTT 3.1.1 §3.3.5 lets a server that refuses a PUBLISH either acknowledge it or close the
    // connection. We close it (aedes does so when this hook errs): a client that writes outside
    // its topics is misbehaving, and a silent PUBACK would hide that from it.
    authorizePublish(client, packet, callback) {
      if (client === null) {
        // A will left in persistence by a broker that died; it was vetted at its CONNECT.
        return callback(parseTopic(packet.topic)?.site === cfg.site ? null : new Error("refused"));
      }
      // The last will is published by the broker itself at the client's end: it has no packet id
      // (it never travelled as a PUBLISH), and was vetted at CONNECT.
      const isWill = packet === (client as { will?: unknown }).will;
      const violation = isWill ? undefined : publishViolation(packet);
      if (violation !== undefined) {
        counters.protocolViolations += 1;
        log.warn(
          { reason: "protocol-violation", clientId: client.id, topic: packet.topic },
          `publish refused, connection closed: ${violation}`,
        );
        return callback(new Error(violation));
      }
      const who = identities.get(client);
      if (who !== undefined && publishAllowed(who, packet.topic)) {
        counters.published += 1;
        if (packet.qos === 1 && packet.messageId !== undefined)
          ackIds.set(packet.payload as Buffer, packet.messageId);
        const kind = parseTopic(packet.topic)?.kind;
        if (packet.retain && kind !== undefined && !CHANNELS[kind].retain) {
          // The catalogue says this channel is not retained: a retained inbox command would be
          // replayed to its agent on every subscription, outside its deduplication.
          counters.refusedRetained += 1;
          packet.retain = false;
          log.warn(
            { reason: "retain-not-allowed", clientId: client.id, topic: packet.topic },
            "retain flag dropped: the catalogue does not retain this channel",
          );
        } else if (
          packet.retain &&
          !retained.admit(who.username, packet.topic, packet.payload.length)
        ) {
          // Delivered live but not stored: the quota bounds memory, the publisher keeps working.
          counters.refusedRetained += 1;
          packet.retain = false;
          log.warn(
            {
              reason: "retained-quota",
              clientId: client.id,
              username: who.username,
              topic: packet.topic,
            },
            "retained-message quota full; message delivered but not retained",
          );
        }
        return callback(null);
      }
      counters.refusedPublish += 1;
      log.warn(
        {
          reason: "publish-refused",
          clientId: client.id,
          username: who?.username,
          role: who?.role,
          topic: packet.topic,
        },
        "publish refused; dropping it and closing the connection",
      );
      callback(new Error(`publish to "${packet.topic}" refused`));
    },

    // A refused filter is granted 128 (failure) in SUBACK; the connection stays.
    authorizeSubscribe(client, subscription, callback) {
      const who = identities.get(client);
      if (who !== undefined && subscribeAllowed(who, subscription.topic))
        return callback(null, subscription);
      counters.refusedSubscribe += 1;
      log.warn(
        {
          reason: "subscribe-refused",
          clientId: client.id,
          username: who?.username,
          role: who?.role,
          filter: subscription.topic,
        },
        "subscription refused",
      );
      callback(null, null);
    },

    // Runs once aedes has stored and routed a PUBLISH: only now may its PUBACK leave.
    published(packet, client, done) {
      if (client !== null && packet.qos === 1) {
        const id = ackIds.get(packet.payload as Buffer);
        acks.get(client.conn)?.stored(id);
      }
      done(null);
    },

    authorizeForward(_client, packet) {
      counters.delivered += 1;
      return packet;
    },
  };

  const aedes = await Aedes.createBroker({
    ...hooks,
    connectTimeout: cfg.connectTimeoutMs,
    maxInflightInbound: cfg.maxInflightMessages,
    persistence: storage.persistence,
    ...(storage.mq === undefined ? {} : { mq: storage.mq }),
  });
  aedes.on("clientReady", (client) => {
    // A clean session starts with an empty queue.
    if (client.clean) storage.forget(client.id);
    const who = identities.get(client);
    log.info({ clientId: client.id, username: who?.username, role: who?.role }, "client connected");
  });
  aedes.on("clientDisconnect", (client) =>
    log.info({ clientId: client.id }, "client disconnected"),
  );
  aedes.on("clientError", (client, error) =>
    log.debug({ clientId: client.id, err: error.message }, "client error"),
  );
  aedes.on("connectionError", (_client, error) =>
    log.debug({ err: error.message }, "connection error before CONNECT"),
  );
  (aedes as EventEmitter).on("error", (error: unknown) => log.error({ err: error }, "aedes error"));

  /** Every transport connection enters here: counted, capped, metered, then handed to aedes. */
  function admit(
    stream: Duplex,
    transport: Transport,
    remoteAddress: string | undefined,
    req?: IncomingMessage,
  ): void {
    const address = remoteAddress ?? "unknown";
    const fromAddress = perAddress.get(address) ?? 0;
    const refusal =
      closing !== undefined
        ? undefined
        : open.size >= cfg.maxConnections
          ? ({
              reason: "too-many-connections",
              counter: "refusedConnections",
              limit: cfg.maxConnections,
            } as const)
          : fromAddress >= cfg.maxConnectionsPerIp
            ? ({
                reason: "too-many-from-address",
                counter: "refusedPerIp",
                limit: cfg.maxConnectionsPerIp,
              } as const)
            : undefined;
    if (closing !== undefined || refusal !== undefined) {
      if (refusal !== undefined) {
        counters[refusal.counter] += 1;
        log.warn(
          { reason: refusal.reason, remoteAddress, transport, limit: refusal.limit },
          "connection refused",
        );
      }
      stream.on("error", () => {});
      stream.destroy();
      return;
    }
    if (unauthenticated.size >= cfg.maxUnauthenticated) {
      // Close the oldest connection still without CONNECT, not the newcomer: an honest client
      // sends CONNECT within milliseconds, so only idle sockets grow old, and a flood of them
      // cannot lock honest clients out. Logins under way are bounded by the login gate.
      const oldest = unauthenticated.values().next().value;
      if (oldest !== undefined) {
        unauthenticated.delete(oldest);
        counters.refusedUnauthenticated += 1;
        log.warn(
          {
            reason: "too-many-unauthenticated",
            remoteAddress: transports.get(oldest)?.remoteAddress,
            limit: cfg.maxUnauthenticated,
          },
          "oldest connection without CONNECT closed to admit a new one",
        );
        oldest.destroy();
      }
    }
    counters.connectionsAccepted += 1;
    open.add(stream);
    unauthenticated.add(stream);
    perAddress.set(address, fromAddress + 1);
    stream.once("close", () => {
      open.delete(stream);
      unauthenticated.delete(stream);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    transports.set(
      stream,
      remoteAddress === undefined ? { transport } : { transport, remoteAddress },
    );
    holdUntilConnack(stream);
    acks.set(stream, holdAcksUntilStored(stream));
    // Outermost, so it sees every packet aedes writes, including held ones.
    const tracker = new AckTracker();
    const inner = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      // mqtt-packet writes a topic as a string: count its UTF-8 bytes, not its characters.
      const chunk = args[0];
      tracker.sent(
        typeof chunk === "string"
          ? Buffer.from(chunk, typeof args[1] === "string" ? (args[1] as BufferEncoding) : "utf8")
          : (chunk as Buffer),
      );
      return inner(...args);
    }) as typeof stream.write;
    aedes.handle(stream, req);
    // aedes reads with 'readable' + read(); a 'data' listener added after it does not take over
    // the flow but sees each chunk as aedes reads it, before mqtt-packet buffers it. So at most
    // one socket read (<= the stream's highWaterMark) of an oversize packet is ever held.
    const meter = new MqttFrameMeter(cfg.maxPacketBytes);
    stream.on("data", (chunk: Buffer) => {
      const unsolicited = tracker.received(chunk);
      if (unsolicited !== undefined && !stream.destroyed) {
        counters.protocolViolations += 1;
        log.warn(
          { reason: "protocol-violation", remoteAddress, transport },
          `connection closed: ${unsolicited}`,
        );
        stream.destroy();
        return;
      }
      const verdict = meter.feed(chunk);
      if (verdict.kind === "ok" || stream.destroyed) return;
      if (verdict.kind === "oversize") {
        counters.oversizePackets += 1;
        log.warn(
          {
            reason: "oversize-packet",
            remoteAddress,
            transport,
            declaredBytes: verdict.declaredBytes,
            limit: cfg.maxPacketBytes,
          },
          "packet too large; connection closed",
        );
      } else {
        counters.malformedPackets += 1;
        log.warn({ reason: "malformed-packet", remoteAddress, transport }, "connection closed");
      }
      stream.destroy();
    });
  }

  const tcpServer = createTcpServer({ noDelay: true }, (socket) =>
    admit(socket, "tcp", socket.remoteAddress),
  );
  let wsListener: { http: HttpServer; wss: WebSocketServer } | undefined;
  let tcp: Endpoint;
  let ws: Endpoint | undefined;
  try {
    tcp = await listen(tcpServer, cfg.port, cfg.host, "MQTT");
    if (cfg.wsPort !== undefined) {
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" });
        res.end("MQTT over WebSocket only\n");
      });
      // A WebSocket message is buffered whole by ws before MQTT sees it: bound it too.
      const wss = new WebSocketServer({
        server: http,
        maxPayload: cfg.maxPacketBytes + 5,
        perMessageDeflate: false,
      });
      wss.on("error", (error) => log.error({ err: error }, "websocket server error"));
      wss.on("connection", (socket, req) => {
        req.socket.setNoDelay(true);
        admit(createWebSocketStream(socket), "ws", req.socket.remoteAddress, req);
      });
      wsListener = { http, wss };
      ws = await listen(http, cfg.wsPort, cfg.host, "MQTT over WebSocket");
    }
  } catch (error) {
    tcpServer.close();
    wsListener?.wss.close();
    wsListener?.http.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await storage.destroy().catch(() => {});
    throw error;
  }
  tcpServer.on("error", (error) => log.error({ err: error }, "tcp server error"));
  log.info(
    { tcp, ws, site: cfg.site, users: users.size, anonymous: cfg.anonymous },
    "broker listening",
  );

  async function shutdown(): Promise<void> {
    // Stop accepting first; the close callbacks fire once every connection has ended.
    const stopped = [stopServer(tcpServer)];
    if (wsListener !== undefined) {
      wsListener.wss.close();
      stopped.push(stopServer(wsListener.http));
    }
    // Disconnects every logged-in client (publishing their wills), then closes aedes.
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await storage.destroy().catch((error: unknown) => log.warn({ err: error }, "closing storage"));
    // Connections that never completed CONNECT are not aedes clients.
    for (const stream of open) stream.destroy();
    wsListener?.http.closeAllConnections();
    await Promise.all(stopped);
    log.info("broker closed");
  }

  const running: RunningBroker = {
    tcp,
    url: `mqtt://${hostForUrl(tcp.host)}:${tcp.port}`,
    ...(ws === undefined ? {} : { ws, wsUrl: `ws://${hostForUrl(ws.host)}:${ws.port}` }),
    stats: () => ({
      connections: open.size,
      clients: aedes.connectedClients,
      ...counters,
      refusedLoginBusy: gate.busyRefusals,
      droppedQueued: storage.droppedQueued(),
    }),
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
  return running;
}

/**
 * aedes restores a returning session's subscriptions before it writes CONNACK, so a message
 * routed in that window (likelier through Redis) is written first, and MQTT 3.1.1 §3.2 says the
 * first packet from the server MUST be CONNACK; mqtt.js then never reports the connection.
 * Packets written before CONNACK are held, in order, and follow it.
 */
function holdUntilConnack(stream: Duplex): void {
  const meter = new MqttFrameMeter(Number.MAX_SAFE_INTEGER);
  const held: unknown[][] = [];
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let state: "before" | "connack" | "open" = "before";
  stream.write = ((...args: unknown[]) => {
    if (state === "open") return write(...args);
    const bytes = args[0] as Buffer;
    if (state === "before") {
      if (!(meter.atPacketStart && bytes.length > 0 && bytes[0]! >> 4 === 2)) {
        meter.feed(bytes);
        held.push(args);
        return true;
      }
      state = "connack";
    }
    meter.feed(bytes);
    const result = write(...args);
    // CONNACK may take several writes; once it is whole, the held packets follow, then all else.
    if (meter.atPacketStart) {
      state = "open";
      for (const h of held.splice(0)) write(...h);
    }
    return result;
  }) as typeof stream.write;
}

/**
 * aedes forwards a packet to a client only if its broker counter is above the last one forwarded
 * (aedes#955, #994), assuming packets reach delivery in the order they were numbered. They do not
 * when storing takes longer for some than others (a message queued for five persistent sessions in
 * Redis is routed after one queued for one), so the earlier one was silently dropped: a lock-step
 * fleet over Redis never saw its first clock step. Every packet is forwarded instead; QoS 1 is at
 * least once and Consort receivers drop repeats by (sender, seq).
 */
function forwardOutOfOrder(client: Client): void {
  (client as unknown as { duplicates: Record<string, number> }).duplicates = new Proxy(
    Object.create(null) as Record<string, number>,
    { get: () => undefined, set: () => true, deleteProperty: () => true },
  );
}

interface AckHold {
  /** The PUBLISH with this packet id (undefined: unknown, take the oldest) is stored. */
  stored(id: number | undefined): void;
}

/**
 * aedes writes a QoS 1 PUBACK before it stores and routes the message, so a broker killed in
 * between loses a message its publisher was told is safe. Each PUBACK written to `stream` is held
 * until the `published` hook says its message was stored, and they leave in the order written
 * (MQTT-4.6.0-2). aedes does not wait for the write, so holding it does not stall the client.
 */
function holdAcksUntilStored(stream: Duplex): AckHold {
  const meter = new MqttFrameMeter(Number.MAX_SAFE_INTEGER);
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  const queue: { id: number; chunks: unknown[][]; stored: boolean }[] = [];
  let capturing: unknown[][] | undefined;
  const flush = () => {
    while (queue[0]?.stored === true) for (const c of queue.shift()!.chunks) write(...c);
  };
  const through = stream.write;
  stream.write = ((...args: unknown[]) => {
    const bytes = args[0] as Buffer;
    if (capturing === undefined && meter.atPacketStart && bytes.length > 0 && bytes[0]! >> 4 === 4)
      capturing = [];
    meter.feed(bytes);
    if (capturing === undefined) return (through as (...a: unknown[]) => boolean)(...args);
    capturing.push(args.filter((a) => typeof a !== "function"));
    if (meter.atPacketStart) {
      const whole = Buffer.concat(capturing.map((c) => c[0] as Buffer));
      queue.push({ id: whole.readUInt16BE(whole.length - 2), chunks: capturing, stored: false });
      capturing = undefined;
    }
    return true;
  }) as typeof stream.write;
  return {
    stored(id) {
      const entry = queue.find((q) => !q.stored && (id === undefined || q.id === id));
      if (entry !== undefined) entry.stored = true;
      flush();
    },
  };
}

/** `loadBrokerConfig` then `createBroker`: the CLI's one call. Rejects with a `BrokerError`. */
export async function startBrokerFromConfig(
  options: LoadBrokerConfigOptions & BrokerDeps,
): Promise<RunningBroker> {
  const loaded = await loadBrokerConfig(options);
  if (!loaded.ok) throw new BrokerError("invalid-config", loaded.error);
  return createBroker(loaded.value, options.logger === undefined ? {} : { logger: options.logger });
}

async function collectUsers(cfg: BrokerConfig): Promise<Map<string, BrokerUser>> {
  const all = [...cfg.users];
  if (cfg.usersFile !== undefined) {
    const loaded = await loadUsersFile(cfg.usersFile);
    if (!loaded.ok) throw new BrokerError("users-file", loaded.error);
    const inline = new Set(cfg.users.map((u) => u.username));
    const issue = usersIssue(loaded.value, "users", inline);
    if (issue !== undefined)
      throw new BrokerError("users-file", `${cfg.usersFile}: ${issue} (inline and in the file)`);
    all.push(...loaded.value);
  }
  return new Map(all.map((u) => [u.username, u]));
}

function listen(
  server: TcpServer | HttpServer,
  port: number,
  host: string,
  what: string,
): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(
        new BrokerError(
          "listen-failed",
          `cannot listen for ${what} on ${host}:${port}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      );
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address() as AddressInfo;
      resolve({ host: address.address, port: address.port });
    });
  });
}

function stopServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
