/**
 * The broker end to end: a real broker on an ephemeral loopback port, real mqtt.js clients and
 * raw sockets. Nothing is mocked.
 */
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@consort/protocol";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { createBroker, type RunningBroker } from "./broker.js";
import type { BrokerConfigInput, BrokerUser } from "./config.js";
import { BrokerError } from "./errors.js";
import { hashPassword } from "./password.js";

const S = "s1";
const USERS: BrokerUser[] = [
  { username: "m1", password: "pw-m1", role: "agent" },
  { username: "m2", password: "pw-m2", role: "agent" },
  { username: "coord", password: "pw-c", role: "coordinator" },
  { username: "op", password: "pw-op", role: "operator" },
];
const PASSWORDS: Record<string, string> = { m1: "pw-m1", m2: "pw-m2", coord: "pw-c", op: "pw-op" };

const brokers: RunningBroker[] = [];
const clients: MqttClient[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function start(config: BrokerConfigInput = {}): Promise<RunningBroker> {
  const broker = await createBroker({ port: 0, site: S, users: USERS, ...config });
  brokers.push(broker);
  return broker;
}

/** Connects as a configured user (client id = username unless given); rejects on refusal. */
async function connect(
  url: string,
  username: string | undefined,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(
    url,
    {
      clientId: username ?? `anon${Math.random().toString(16).slice(2, 8)}`,
      ...(username === undefined ? {} : { username }),
      ...(username !== undefined && PASSWORDS[username] ? { password: PASSWORDS[username] } : {}),
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    },
    false,
  );
  clients.push(client);
  return client;
}

/** The CONNACK code a refused connection got. */
async function refusalCode(url: string, username?: string, options: IClientOptions = {}) {
  try {
    await connect(url, username, options);
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  throw new Error("connection was accepted");
}

/** Resolves with the first message on `topic`, or rejects after `ms`. */
function nextMessage(client: MqttClient, topic: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic}`)), ms);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve(payload.toString());
    };
    client.on("message", onMessage);
  });
}

/** The QoS granted per filter; 128 is a refusal (which mqtt.js reports as an error). */
async function grants(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted !== undefined) return granted;
    throw error;
  }
}

function collect(client: MqttClient): { topic: string; payload: string }[] {
  const seen: { topic: string; payload: string }[] = [];
  client.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

async function rawSocket(port: number): Promise<Socket> {
  const socket = connectTcp({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  sockets.push(socket);
  await once(socket, "connect");
  return socket;
}

const str = (s: string) => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** An MQTT 3.1.1 CONNECT, written by hand so it can say what mqtt.js refuses to send. */
function connectPacket(clientId: string, clean: boolean, username?: string, password?: string) {
  const flags = (clean ? 0x02 : 0) | (username ? 0x80 : 0) | (password ? 0x40 : 0);
  const body = Buffer.concat([
    str("MQTT"),
    Buffer.from([4, flags, 0, 30]),
    str(clientId),
    ...(username ? [str(username)] : []),
    ...(password ? [str(password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

async function connackCode(socket: Socket, packet: Buffer): Promise<number> {
  socket.write(packet);
  const [data] = (await once(socket, "data")) as [Buffer];
  expect(data[0]).toBe(0x20);
  return data[3]!;
}

const closed = (s: Socket | MqttClient, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    s.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });

describe("authentication", () => {
  it("admits an agent with its password", async () => {
    const broker = await start();
    const m1 = await connect(broker.url, "m1");
    expect(m1.connected).toBe(true);
    expect(broker.stats()).toMatchObject({ clients: 1, refusedAuth: 0 });
  });

  it("refuses a wrong password (4), an unknown user (4) and an anonymous client (5)", async () => {
    const broker = await start();
    expect(await refusalCode(broker.url, "m1", { password: "wrong" })).toBe(4);
    expect(await refusalCode(broker.url, "mallory", { password: "x" })).toBe(4);
    expect(await refusalCode(broker.url, undefined)).toBe(5);
    expect(broker.stats().refusedAuth).toBe(3);
  });

  it("refuses an agent whose client id is another agent's (2)", async () => {
    const broker = await start();
    expect(await refusalCode(broker.url, "m1", { clientId: "m2" })).toBe(2);
    expect(await refusalCode(broker.url, "m1", { clientId: "m10" })).toBe(2);
    const ok = await connect(broker.url, "m1", { clientId: "m1/1" });
    expect(ok.connected).toBe(true);
  });

  it("refuses an empty client id with a persistent session (2)", async () => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    expect(await connackCode(socket, connectPacket("", false, "coord", "pw-c"))).toBe(2);
    await closed(socket, 2000);
  });

  it("refuses a last will on another agent's topic (5)", async () => {
    const broker = await start();
    const will = { topic: topics.agentState(S, "m2"), payload: Buffer.from("offline") };
    expect(await refusalCode(broker.url, "m1", { will })).toBe(5);
    const own = { topic: topics.agentState(S, "m1"), payload: Buffer.from("offline") };
    expect((await connect(broker.url, "m1", { will: own })).connected).toBe(true);
  });

  it("publishes a client's last will when its connection drops", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    await coord.subscribeAsync(topics.filters.allAgentStates(S), { qos: 1 });
    const topic = topics.agentState(S, "m1");
    const m1 = await connect(broker.url, "m1", {
      will: { topic, payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    const will = nextMessage(coord, topic);
    m1.stream.destroy(); // no DISCONNECT: the broker must send the will
    expect(await will).toBe("offline");
    expect(broker.stats().protocolViolations).toBe(0);
  });

  it("reads users with hashed passwords from a users file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "consort-broker-"));
    try {
      const usersFile = join(dir, "users.yaml");
      const hash = await hashPassword("file-pw", { N: 1024, r: 8, p: 1 });
      await writeFile(
        usersFile,
        `users:\n  - { username: m9, passwordHash: "${hash}", role: agent }\n`,
      );
      const broker = await start({ users: [], usersFile });
      expect((await connect(broker.url, "m9", { password: "file-pw" })).connected).toBe(true);
      expect(await refusalCode(broker.url, "m9", { password: "pw-m1" })).toBe(4);
      // A user both inline and in the file is an error, not a silent override.
      await expect(
        createBroker({
          port: 0,
          users: [{ username: "m9", password: "x", role: "agent" }],
          usersFile,
        }),
      ).rejects.toMatchObject({
        code: "users-file",
        message: `${usersFile}: users[0].username: "m9" is defined twice (inline and in the file)`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses unconfigured usernames unless dev mode, which admits them from loopback", async () => {
    const strict = await start({ users: [{ username: "x", password: "y", role: "agent" }] });
    expect(await refusalCode(strict.url, "r7")).toBe(4);

    const dev = await start({ users: [], anonymous: true });
    expect(await refusalCode(dev.url, undefined)).toBe(5);
    const r7 = await connect(dev.url, "r7");
    const coordinator = await connect(dev.url, "coordinator");
    await r7.subscribeAsync(topics.agentIn(S, "r7"), { qos: 1 });
    const inbox = nextMessage(r7, topics.agentIn(S, "r7"));
    await coordinator.publishAsync(topics.agentIn(S, "r7"), "go", { qos: 1 });
    expect(await inbox).toBe("go");
    // Still only the rights of its role: an agent cannot read another agent's inbox.
    expect(await grants(r7, [topics.agentIn(S, "r8")])).toEqual([128]);
  });
});

describe("access control", () => {
  it("drops an agent's publish to another agent's topic, closes the sender, counts it", async () => {
    const broker = await start();
    const m1 = await connect(broker.url, "m1");
    const m2 = await connect(broker.url, "m2");
    const coord = await connect(broker.url, "coord");
    await m2.subscribeAsync(topics.filters.allAgentStates(S), { qos: 1 });
    await coord.subscribeAsync(`consort/v1/${S}/#`, { qos: 1 });
    const seenByM2 = collect(m2);
    const seenByCoord = collect(coord);

    const m1Closed = closed(m1, 5000);
    m1.publish(topics.agentState(S, "m2"), "spoofed", { qos: 1, retain: true });
    await m1Closed;

    // A barrier: m2's own state goes through the same path after the refused one.
    const barrier = nextMessage(m2, topics.agentState(S, "m2"));
    await m2.publishAsync(topics.agentState(S, "m2"), "real", { qos: 1 });
    expect(await barrier).toBe("real");
    expect(seenByM2).toEqual([{ topic: topics.agentState(S, "m2"), payload: "real" }]);
    expect(seenByCoord.map((m) => m.payload)).not.toContain("spoofed");
    expect(broker.stats().refusedPublish).toBe(1);

    // Nor was it retained.
    const late = await connect(broker.url, "op");
    const retained = collect(late);
    await late.subscribeAsync(topics.agentState(S, "m2"), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(retained).toEqual([]);
  });

  it("grants 128 when an agent subscribes to another agent's inbox", async () => {
    const broker = await start();
    const m1 = await connect(broker.url, "m1");
    const granted = await grants(m1, [
      topics.agentIn(S, "m2"),
      topics.agentIn(S, "m1"),
      "#",
      topics.filters.allProfiles(S),
    ]);
    expect(granted).toEqual([128, 1, 128, 1]);
    expect(m1.connected).toBe(true);
    expect(broker.stats().refusedSubscribe).toBe(2);
  });

  it("lets the coordinator publish to any agent's inbox", async () => {
    const broker = await start();
    const m1 = await connect(broker.url, "m1");
    const m2 = await connect(broker.url, "m2");
    const coord = await connect(broker.url, "coord");
    await m1.subscribeAsync(topics.agentIn(S, "m1"), { qos: 1 });
    await m2.subscribeAsync(topics.agentIn(S, "m2"), { qos: 1 });
    const toM1 = nextMessage(m1, topics.agentIn(S, "m1"));
    const toM2 = nextMessage(m2, topics.agentIn(S, "m2"));
    await coord.publishAsync(topics.agentIn(S, "m1"), "assign-1", { qos: 1 });
    await coord.publishAsync(topics.agentIn(S, "m2"), "assign-2", { qos: 1 });
    expect([await toM1, await toM2]).toEqual(["assign-1", "assign-2"]);
  });

  it("counts what it accepts and what it delivers, refused publishes apart", async () => {
    const broker = await start();
    const m1 = await connect(broker.url, "m1");
    const m2 = await connect(broker.url, "m2");
    const coord = await connect(broker.url, "coord");
    // Two subscribers to m1's state, none to m2's.
    await m2.subscribeAsync(topics.filters.allAgentStates(S), { qos: 1 });
    await coord.subscribeAsync(topics.agentState(S, "m1"), { qos: 1 });
    const before = broker.stats();
    const seen = nextMessage(coord, topics.agentState(S, "m1"));
    await m1.publishAsync(topics.agentState(S, "m1"), "one", { qos: 1 });
    await seen;
    const barrier = nextMessage(m2, topics.agentState(S, "m2"));
    await m2.publishAsync(topics.agentState(S, "m2"), "two", { qos: 1 });
    await barrier;
    const after = broker.stats();
    expect(after.published - before.published).toBe(2);
    // "one" reached m2 and the coordinator, "two" reached m2.
    expect(after.delivered - before.delivered).toBe(3);
    const m1Closed = closed(m1, 5000);
    m1.publish(topics.agentState(S, "m2"), "spoofed", { qos: 1 });
    await m1Closed;
    expect(broker.stats().published).toBe(after.published);
    expect(broker.stats().refusedPublish).toBe(1);
  });

  it("lets an operator publish orders, which the coordinator receives", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    const op = await connect(broker.url, "op");
    await coord.subscribeAsync(topics.orders(S), { qos: 1 });
    const order = nextMessage(coord, topics.orders(S));
    await op.publishAsync(topics.orders(S), "order-42", { qos: 1 });
    expect(await order).toBe("order-42");
    expect(broker.stats().refusedPublish).toBe(0);
  });
});

describe("bounds", () => {
  it("drops a connection declaring a 256 MB packet before CONNECT, without buffering it", async () => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    const before = process.memoryUsage();
    const started = performance.now();
    // CONNECT with the largest remaining length MQTT can say, then a body that keeps coming.
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    const megabyte = Buffer.alloc(1024 * 1024, 0x41);
    const flood = setInterval(() => {
      if (!socket.destroyed) socket.write(megabyte);
    }, 5);
    try {
      await closed(socket, 1000);
    } finally {
      clearInterval(flood);
    }
    expect(performance.now() - started).toBeLessThan(1000);
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(broker.stats()).toMatchObject({ oversizePackets: 1, clients: 0 });
  });

  it("drops a logged-in client whose publish exceeds maxPacketBytes, passes one within", async () => {
    const broker = await start({ maxPacketBytes: 64 * 1024 });
    const m1 = await connect(broker.url, "m1");
    const coord = await connect(broker.url, "coord");
    await coord.subscribeAsync(topics.agentOut(S, "m1"), { qos: 1 });
    const fits = nextMessage(coord, topics.agentOut(S, "m1"));
    await m1.publishAsync(topics.agentOut(S, "m1"), Buffer.alloc(60 * 1024, 1), { qos: 1 });
    expect((await fits).length).toBe(60 * 1024);
    const m1Closed = closed(m1, 2000);
    m1.publish(topics.agentOut(S, "m1"), Buffer.alloc(70 * 1024, 1), { qos: 0 });
    await m1Closed;
    expect(broker.stats().oversizePackets).toBe(1);
  });

  it("closes connections beyond maxConnections on arrival", async () => {
    const broker = await start({ maxConnections: 2 });
    await connect(broker.url, "m1");
    await rawSocket(broker.tcp.port);
    const third = await rawSocket(broker.tcp.port);
    await closed(third, 1000);
    expect(broker.stats()).toMatchObject({ connections: 2, refusedConnections: 1 });
  });
});

describe("WebSocket", () => {
  it("carries MQTT between a WebSocket client and a TCP client", async () => {
    const broker = await start({ wsPort: 0 });
    expect(broker.ws?.port).toBeGreaterThan(0);
    const m1 = await connect(broker.wsUrl!, "m1");
    const coord = await connect(broker.url, "coord");
    await m1.subscribeAsync(topics.agentIn(S, "m1"), { qos: 1 });
    await coord.subscribeAsync(topics.agentOut(S, "m1"), { qos: 1 });
    const command = nextMessage(m1, topics.agentIn(S, "m1"));
    await coord.publishAsync(topics.agentIn(S, "m1"), "start", { qos: 1 });
    expect(await command).toBe("start");
    const report = nextMessage(coord, topics.agentOut(S, "m1"));
    await m1.publishAsync(topics.agentOut(S, "m1"), "started", { qos: 1 });
    expect(await report).toBe("started");
    // The same ACLs hold over WebSocket.
    expect(await grants(m1, [topics.agentIn(S, "m2")])).toEqual([128]);
  });
});

describe("lifecycle", () => {
  it("close() disconnects clients, frees the port, and is idempotent", async () => {
    const broker = await createBroker({ port: 0, site: S, users: USERS, wsPort: 0 });
    const m1 = await connect(broker.url, "m1");
    const m2 = await connect(broker.wsUrl!, "m2");
    const pending = await rawSocket(broker.tcp.port); // never sends CONNECT
    const gone = [closed(m1, 5000), closed(m2, 5000), closed(pending, 5000)];
    const first = broker.close();
    expect(broker.close()).toBe(first);
    await first;
    await Promise.all(gone);
    for (const port of [broker.tcp.port, broker.ws!.port]) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("rejects with coded errors: bad config, port in use", async () => {
    await expect(createBroker({ port: 99999 })).rejects.toMatchObject({
      code: "invalid-config",
      message: "broker config: port: must be an integer from 0 to 65535 (got 99999)",
    });
    await expect(createBroker({ port: 0, users: [] })).rejects.toMatchObject({
      code: "invalid-config",
    });
    const first = await start();
    const clash = createBroker({ port: first.tcp.port, users: USERS });
    await expect(clash).rejects.toBeInstanceOf(BrokerError);
    await expect(clash).rejects.toMatchObject({ code: "listen-failed" });
    await expect(
      createBroker({ port: 0, usersFile: "/nonexistent/users.yaml" }),
    ).rejects.toMatchObject({
      code: "users-file",
      message: "/nonexistent/users.yaml: cannot read: no such file",
    });
  });
});
