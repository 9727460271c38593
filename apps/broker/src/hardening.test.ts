/**
 * The broker's quotas and the MQTT 3.1.1 rules it adds to aedes, against a real broker on an
 * ephemeral loopback port with raw sockets and mqtt.js clients. Nothing is mocked.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect as connectTcp, type Socket } from "node:net";
import { topics } from "@consort/protocol";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { createBroker, type RunningBroker } from "./broker.js";
import type { BrokerConfigInput, BrokerUser } from "./config.js";
import { hashPassword } from "./password.js";

const S = "s1";
const USERS: BrokerUser[] = [
  { username: "m1", password: "pw-m1", role: "agent" },
  { username: "m2", password: "pw-m2", role: "agent" },
  { username: "coord", password: "pw-c", role: "coordinator" },
];
const PASSWORDS: Record<string, string> = { m1: "pw-m1", m2: "pw-m2", coord: "pw-c" };

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

async function connect(
  url: string,
  username: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(
    url,
    {
      clientId: username,
      username,
      password: PASSWORDS[username] ?? "",
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    },
    false,
  );
  clients.push(client);
  return client;
}

async function rawSocket(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  const socket = connectTcp({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  sockets.push(socket);
  await once(socket, "connect");
  return socket;
}

const str = (s: string | Buffer) => {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** An MQTT 3.1.1 CONNECT written by hand, so it can say what mqtt.js refuses to send. */
function connectPacket(o: {
  clientId: string | Buffer;
  username?: string;
  password?: string;
  clean?: boolean;
  will?: { topic: string; qos: number };
}): Buffer {
  const flags =
    ((o.clean ?? true) ? 0x02 : 0) |
    (o.will ? 0x04 | (o.will.qos << 3) : 0) |
    (o.username ? 0x80 : 0) |
    (o.password ? 0x40 : 0);
  const body = Buffer.concat([
    str("MQTT"),
    Buffer.from([4, flags, 0, 30]),
    str(o.clientId),
    ...(o.will ? [str(o.will.topic), str("gone")] : []),
    ...(o.username ? [str(o.username)] : []),
    ...(o.password ? [str(o.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

function publishPacket(topic: string, qos: number, messageId: number, payload = "x"): Buffer {
  const body = Buffer.concat([
    str(topic),
    qos > 0 ? Buffer.from([messageId >> 8, messageId & 0xff]) : Buffer.alloc(0),
    Buffer.from(payload),
  ]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

/** What the broker answers first: a CONNACK code, or "closed" when it closes without one. */
function firstAnswer(socket: Socket, ms = 3000): Promise<number | "closed"> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    socket.once("data", (data: Buffer) => {
      clearTimeout(timer);
      resolve(data[0] === 0x20 ? data[3]! : -data[0]!);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve("closed");
    });
  });
}

const closed = (s: Socket | MqttClient, ms: number) =>
  new Promise<void>((resolve, reject) => {
    if ((s as Socket).destroyed === true) return resolve();
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    s.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });

describe("connection quotas", () => {
  it("closes sockets that never send CONNECT within 10 s by default (aedes holds them 30 s)", async () => {
    const broker = await start();
    const idle = await Promise.all(Array.from({ length: 50 }, () => rawSocket(broker.tcp.port)));
    const started = performance.now();
    await Promise.all(idle.map((s) => closed(s, 10_000)));
    const took = performance.now() - started;
    expect(took).toBeLessThan(10_000);
    await expect.poll(() => broker.stats().connections).toBe(0);
  }, 15_000);

  it("honours a configured connect timeout", async () => {
    const broker = await start({ connectTimeoutMs: 300 });
    const socket = await rawSocket(broker.tcp.port);
    const started = performance.now();
    await closed(socket, 2000);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("caps connections per address; other addresses still get in", async () => {
    const broker = await start({ maxConnectionsPerIp: 3 });
    for (let i = 0; i < 3; i++) await rawSocket(broker.tcp.port);
    const fourth = await rawSocket(broker.tcp.port);
    await closed(fourth, 1000);
    const other = await rawSocket(broker.tcp.port, "127.0.0.2");
    expect(
      await firstAnswer(
        other.end(connectPacket({ clientId: "m1", username: "m1", password: "pw-m1" })) as Socket,
      ),
    ).toBe(0);
    expect(broker.stats().refusedPerIp).toBe(1);
  });

  it("caps connections without CONNECT by closing the oldest, so a new client still gets in", async () => {
    const broker = await start({ maxUnauthenticated: 5 });
    const idle: Socket[] = [];
    for (let i = 0; i < 5; i++) idle.push(await rawSocket(broker.tcp.port));
    const m1 = await connect(broker.url, "m1");
    expect(m1.connected).toBe(true);
    await closed(idle[0]!, 1000);
    expect(idle.slice(1).every((s) => !s.destroyed)).toBe(true);
    expect(broker.stats()).toMatchObject({ refusedUnauthenticated: 1, clients: 1 });
  });
});

describe("message quotas", () => {
  /** What a new subscriber to `filter` is replayed, as "agent=payload". */
  async function replayed(url: string, filter: string): Promise<string[]> {
    const late = await connect(url, "coord", { clientId: `coord/${Math.random()}` });
    const seen: string[] = [];
    late.on("message", (t, p) => seen.push(`${t.split("/").at(-2)}=${p.toString()}`));
    await late.subscribeAsync(filter, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await late.endAsync();
    return seen.sort();
  }

  it("does not retain what the catalogue does not retain: no retained replay of an inbox command", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    const m1 = await connect(broker.url, "m1");
    const live: string[] = [];
    m1.on("message", (_t, p) => live.push(p.toString()));
    await m1.subscribeAsync(topics.agentIn(S, "m1"), { qos: 1 });
    await coord.publishAsync(topics.agentIn(S, "m1"), "assign-1", { qos: 1, retain: true });
    await expect.poll(() => live).toEqual(["assign-1"]);
    // The agent restarts and subscribes again: nothing is replayed.
    await m1.endAsync();
    expect(await replayed(broker.url, topics.agentIn(S, "m1"))).toEqual([]);
    // Its state, which the catalogue retains, is.
    const m2 = await connect(broker.url, "m2");
    await m2.publishAsync(topics.agentState(S, "m2"), "online", { qos: 1, retain: true });
    expect(await replayed(broker.url, topics.filters.allAgentStates(S))).toEqual(["m2=online"]);
    expect(broker.stats().refusedRetained).toBe(1);
  });

  it("bounds the retained bytes per client: past the quota a message is delivered, not retained", async () => {
    const broker = await start({ maxRetainedBytesPerClient: 1000 });
    const coord = await connect(broker.url, "coord");
    const live: number[] = [];
    coord.on("message", (_t, p) => live.push(p.length));
    await coord.subscribeAsync(topics.filters.allAgentStates(S), { qos: 1 });
    const m1 = await connect(broker.url, "m1");
    await m1.publishAsync(topics.agentState(S, "m1"), "a".repeat(600), { qos: 1, retain: true });
    // Replacing one's own retained message frees its bytes first: 900 fits in 1000.
    await m1.publishAsync(topics.agentState(S, "m1"), "b".repeat(900), { qos: 1, retain: true });
    await m1.publishAsync(topics.agentState(S, "m1"), "c".repeat(2000), { qos: 1, retain: true });
    await expect.poll(() => live).toEqual([600, 900, 2000]);
    expect(await replayed(broker.url, topics.filters.allAgentStates(S))).toEqual([
      `m1=${"b".repeat(900)}`,
    ]);
    expect(broker.stats().refusedRetained).toBe(1);
  });

  it("bounds the retained messages per client and of all clients together", async () => {
    const none = await start({ maxRetainedPerClient: 0 });
    const a = await connect(none.url, "m1");
    await a.publishAsync(topics.agentState(S, "m1"), "online", { qos: 1, retain: true });
    expect(await replayed(none.url, topics.filters.allAgentStates(S))).toEqual([]);

    const broker = await start({ maxRetained: 1 });
    const m1 = await connect(broker.url, "m1", { clientId: "m1/b" });
    const m2 = await connect(broker.url, "m2", { clientId: "m2/b" });
    await m1.publishAsync(topics.agentState(S, "m1"), "1", { qos: 1, retain: true });
    await m2.publishAsync(topics.agentState(S, "m2"), "2", { qos: 1, retain: true });
    expect(await replayed(broker.url, topics.filters.allAgentStates(S))).toEqual(["m1=1"]);
    // An empty payload deletes a retained message and frees its place.
    await m1.publishAsync(topics.agentState(S, "m1"), "", { qos: 1, retain: true });
    await m2.publishAsync(topics.agentState(S, "m2"), "3", { qos: 1, retain: true });
    expect(await replayed(broker.url, topics.filters.allAgentStates(S))).toEqual(["m2=3"]);
  });

  it("bounds the messages queued for an offline persistent session", async () => {
    const broker = await start({ maxQueuedMessages: 4 });
    const coord = await connect(broker.url, "coord", { clean: false });
    await coord.subscribeAsync(topics.agentOut(S, "m1"), { qos: 1 });
    await coord.endAsync();
    const m1 = await connect(broker.url, "m1");
    for (let n = 0; n < 10; n++)
      await m1.publishAsync(topics.agentOut(S, "m1"), `${n}`, { qos: 1 });
    const got: string[] = [];
    const back = await mqtt.connectAsync(
      broker.url,
      { clientId: "coord", username: "coord", password: "pw-c", clean: false, reconnectPeriod: 0 },
      false,
    );
    clients.push(back);
    back.on("message", (_t, p) => got.push(p.toString()));
    await new Promise((r) => setTimeout(r, 500));
    expect(got).toEqual(["0", "1", "2", "3"]);
    expect(broker.stats().droppedQueued).toBe(6);
  });

  it("bounds inbound QoS 2 messages awaiting PUBREL", async () => {
    const broker = await start({ maxInflightMessages: 2 });
    const socket = await rawSocket(broker.tcp.port);
    socket.write(connectPacket({ clientId: "m1", username: "m1", password: "pw-m1" }));
    expect(await firstAnswer(socket)).toBe(0);
    for (let id = 1; id <= 3; id++) socket.write(publishPacket(topics.agentOut(S, "m1"), 2, id));
    await closed(socket, 2000);
  });
});

describe("MQTT 3.1.1 rules that aedes does not check", () => {
  const login = { username: "m1", password: "pw-m1" };

  it.each([
    ["PUBACK", 0x40],
    ["PUBREC", 0x50],
    ["PUBCOMP", 0x70],
  ])("closes a client that sends an unsolicited %s", async (_name, header) => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    socket.write(connectPacket({ clientId: "m1", ...login }));
    expect(await firstAnswer(socket)).toBe(0);
    socket.write(Buffer.from([header, 2, 0, 7]));
    await closed(socket, 2000);
    expect(broker.stats().protocolViolations).toBe(1);
  });

  it("accepts the PUBACK of a message it sent, and closes on a second one for the same id", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    const socket = await rawSocket(broker.tcp.port);
    socket.write(connectPacket({ clientId: "m1", ...login }));
    expect(await firstAnswer(socket)).toBe(0);
    const filter = str(topics.agentIn(S, "m1"));
    const subscribe = Buffer.concat([Buffer.from([0, 1]), filter, Buffer.from([1])]);
    socket.write(Buffer.concat([Buffer.from([0x82, subscribe.length]), subscribe]));
    expect(await firstAnswer(socket)).toBe(-0x90); // SUBACK
    const publish = new Promise<Buffer>((resolve) => socket.once("data", resolve));
    await coord.publishAsync(topics.agentIn(S, "m1"), "cmd", { qos: 1 });
    const packet = await publish;
    expect(packet[0]! >> 4).toBe(3);
    const id = packet.readUInt16BE(2 + 2 + packet.readUInt16BE(2));
    socket.write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
    await new Promise((r) => setTimeout(r, 200));
    expect(socket.destroyed).toBe(false);
    socket.write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
    await closed(socket, 2000);
  });

  it("closes a CONNECT whose client id contains U+0000 (MQTT-1.5.3-2)", async () => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    socket.write(connectPacket({ clientId: "m1\u0000x", ...login }));
    expect(await firstAnswer(socket)).toBe("closed");
    expect(broker.stats().protocolViolations).toBe(1);
  });

  it("closes a CONNECT whose client id is not well-formed UTF-8 (MQTT-1.5.3-1)", async () => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    const id = Buffer.concat([Buffer.from("m1/"), Buffer.from([0xc3, 0x28])]);
    socket.write(connectPacket({ clientId: id, ...login }));
    expect(await firstAnswer(socket)).toBe("closed");
  });

  it("closes a CONNECT with will QoS 3 (MQTT-3.1.2-14)", async () => {
    const broker = await start();
    const socket = await rawSocket(broker.tcp.port);
    socket.write(
      connectPacket({
        clientId: "m1",
        ...login,
        will: { topic: topics.agentState(S, "m1"), qos: 3 },
      }),
    );
    expect(await firstAnswer(socket)).toBe("closed");
    // The same will at QoS 1 is fine.
    const ok = await rawSocket(broker.tcp.port);
    ok.write(
      connectPacket({
        clientId: "m1",
        ...login,
        will: { topic: topics.agentState(S, "m1"), qos: 1 },
      }),
    );
    expect(await firstAnswer(ok)).toBe(0);
  });

  it("still delivers a QoS 1 last will, which has no packet id of its own", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    const seen: string[] = [];
    coord.on("message", (_t, p) => seen.push(p.toString()));
    await coord.subscribeAsync(topics.agentState(S, "m1"), { qos: 1 });
    const socket = await rawSocket(broker.tcp.port);
    socket.write(
      connectPacket({
        clientId: "m1",
        ...login,
        will: { topic: topics.agentState(S, "m1"), qos: 1 },
      }),
    );
    expect(await firstAnswer(socket)).toBe(0);
    socket.destroy(); // gone without DISCONNECT: the broker publishes the will
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(["gone"]);
  });

  it("closes a client that sends a QoS 1 PUBLISH with packet id 0 (MQTT-2.3.1-1), without forwarding it", async () => {
    const broker = await start();
    const coord = await connect(broker.url, "coord");
    const seen: string[] = [];
    coord.on("message", (_t, p) => seen.push(p.toString()));
    await coord.subscribeAsync(topics.agentOut(S, "m1"), { qos: 1 });
    const socket = await rawSocket(broker.tcp.port);
    socket.write(connectPacket({ clientId: "m1", ...login }));
    expect(await firstAnswer(socket)).toBe(0);
    socket.write(publishPacket(topics.agentOut(S, "m1"), 1, 0, "zero"));
    await closed(socket, 2000);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([]);
  });
});

/**
 * 400 guessers in their own process (so they do not share the broker's event loop), from
 * 127.0.0.2; each sends a CONNECT with a wrong password and, once answered or closed, guesses
 * again. Prints how many answers it got when told to stop (SIGTERM).
 */
const GUESSERS = `
const net = require("node:net");
const [port, count, packetB64] = process.argv.slice(1);
const packet = Buffer.from(packetB64, "base64");
let answered = 0, stop = false;
process.on("SIGTERM", () => { stop = true; process.stdout.write(String(answered) + "\\n", () => process.exit(0)); });
function guess() {
  if (stop) return;
  const s = net.connect({ host: "127.0.0.1", port: Number(port), localAddress: "127.0.0.2" });
  s.on("error", () => {});
  s.on("connect", () => s.write(packet));
  s.once("data", () => { answered++; s.destroy(); });
  s.once("close", () => setImmediate(guess));
}
for (let i = 0; i < Number(count); i++) guess();
process.stdout.write("started\\n");
`;

describe("login gate", () => {
  it("keeps a legitimate login under 1 s while 400 connections guess passwords", async () => {
    const hashed: BrokerUser[] = [
      { username: "m1", passwordHash: await hashPassword("right"), role: "agent" },
      { username: "m2", passwordHash: await hashPassword("also-right"), role: "agent" },
    ];
    const broker = await createBroker({ port: 0, site: S, users: hashed });
    brokers.push(broker);
    const packet = connectPacket({ clientId: "m2", username: "m2", password: "guess" });
    const child = spawn(
      process.execPath,
      ["-e", GUESSERS, String(broker.tcp.port), "400", packet.toString("base64")],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    try {
      await expect.poll(() => out.includes("started"), { timeout: 10_000 }).toBe(true);
      // Let the guessing saturate the password checks first.
      await new Promise((r) => setTimeout(r, 1500));
      const started = performance.now();
      const legit = await mqtt
        .connectAsync(
          broker.url,
          {
            clientId: "m1",
            username: "m1",
            password: "right",
            reconnectPeriod: 0,
            connectTimeout: 10_000,
          },
          false,
        )
        .catch((e: unknown) => {
          console.log("FAILED", JSON.stringify(broker.stats()));
          throw e;
        });
      const took = performance.now() - started;
      clients.push(legit);
      child.kill("SIGTERM");
      await once(child, "exit");
      console.log(
        `legitimate login: ${took.toFixed(0)} ms while 400 connections guessed (${out.split("\n")[1]} guesses answered); broker: ${JSON.stringify(broker.stats())}`,
      );
      expect(legit.connected).toBe(true);
      expect(took).toBeLessThan(1000);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});
