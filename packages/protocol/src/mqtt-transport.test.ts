import { type AddressInfo, createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransportError } from "./errors.js";
import { MqttTransport, makeMessage } from "./mqtt-transport.js";
import { parseTopic, topics } from "./topics.js";

// A bare aedes broker on an ephemeral loopback port: the transport is tested against a real
// broker, never a mock. (The broker app with authentication and ACLs has its own tests.)
let broker: Aedes;
let server: Server;
let url: string;
beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  url = `mqtt://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const until = async (condition: () => boolean, ms = 3000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("MqttTransport", () => {
  it("closes within its grace while the broker is gone and a publish is unacknowledged", async () => {
    // A broker of its own, stopped under the client.
    const alone = await Aedes.createBroker();
    const sockets = new Set<import("node:net").Socket>();
    const srv = createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      alone.handle(socket);
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const port = (srv.address() as AddressInfo).port;
    const client = await MqttTransport.connect({
      url: `mqtt://127.0.0.1:${port}`,
      clientId: "gone",
    });
    const stopped = new Promise<void>((resolve) => srv.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await stopped;
    await new Promise<void>((resolve) => alone.close(() => resolve()));
    await until(() => !client.connected);
    // Stays in mqtt.js's outgoing store: nobody will acknowledge it.
    void client.publishRaw("consort/v1/s/agent/x/out", Buffer.from("x")).catch(() => {});
    const started = Date.now();
    await client.close(500);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("delivers valid messages, drops malformed and repeated ones, and counts them", async () => {
    const receiver = await MqttTransport.connect({ url, clientId: "coordinator-test" });
    const sender = await MqttTransport.connect({ url, clientId: "lathe-test" });
    const got: string[] = [];
    receiver.onMessage((m) => got.push(`${m.type}:${m.seq}`));
    await receiver.subscribe(topics.filters.allAgentOut("s"));
    const out = topics.agentOut("s", "lathe");
    const inform = (seq: number) =>
      makeMessage(
        "inform",
        "lathe",
        { event: "completed", activityId: "j0.o1", atTicks: 9, quality: 1, scheduleVersion: 1 },
        { seq, at: 0 },
      );
    await sender.publish(out, inform(1));
    await sender.publish(out, inform(1)); // a QoS 1 redelivery
    await sender.publishRaw(out, Buffer.from("not msgpack at all"));
    await sender.publishRaw(out, Buffer.from([0x92, 0x01]));
    await sender.publish(out, inform(2));
    await until(() => got.length >= 2 && receiver.stats.totals().dropped >= 3);
    expect(got).toEqual(["inform:1", "inform:2"]);
    expect(Object.fromEntries(receiver.stats.dropped)).toMatchObject({ duplicate: 1 });
    expect(receiver.stats.totals().dropped).toBe(3);
    expect(sender.stats.totals().sentMessages).toBe(3);
    await sender.close();
    await receiver.close();
  });
  it("takes a restarted sender's new epoch as a new sequence, not as repeats", async () => {
    const receiver = await MqttTransport.connect({ url, clientId: "lathe-epoch" });
    const sender = await MqttTransport.connect({ url, clientId: "coordinator-epoch" });
    const got: string[] = [];
    receiver.onMessage((m) => got.push(m.id));
    const inbox = topics.agentIn("s", "lathe");
    await receiver.subscribe(inbox);
    const accept = (epoch: number, seq: number) =>
      makeMessage("accept", "coordinator", { ref: "r" }, { seq, at: 0, epoch });
    await sender.publish(inbox, accept(1, 0));
    await sender.publish(inbox, accept(1, 1));
    await sender.publish(inbox, accept(1, 1)); // a redelivery within the epoch
    await sender.publish(inbox, accept(2, 0)); // the coordinator restarted: its seq is 0 again
    await until(() => got.length >= 3 && receiver.stats.totals().dropped >= 1);
    expect(got).toEqual(["coordinator:1:0", "coordinator:1:1", "coordinator:2:0"]);
    await sender.close();
    await receiver.close();
  });
  it("keeps another site's queued message from hiding this site's commands (dedup by site)", async () => {
    const receiver = await MqttTransport.connect({ url, clientId: "lathe-sites" });
    const sender = await MqttTransport.connect({ url, clientId: "coordinator-sites" });
    const got: string[] = [];
    receiver.onMessage((m, topic) => got.push(`${parseTopic(topic)?.site}:${m.seq}`));
    await receiver.subscribe(topics.agentIn("run-a", "lathe"));
    await receiver.subscribe(topics.agentIn("run-b", "lathe"));
    const accept = (seq: number) =>
      makeMessage("accept", "coordinator", { ref: "r" }, { seq, at: 0, epoch: 1 });
    // An earlier run's message, still queued, arrives first with the same sender, epoch and seq.
    await sender.publish(topics.agentIn("run-a", "lathe"), accept(1));
    await sender.publish(topics.agentIn("run-b", "lathe"), accept(0));
    await sender.publish(topics.agentIn("run-b", "lathe"), accept(1));
    await until(() => got.length >= 3, 2000).catch(() => {});
    expect(got).toEqual(["run-a:1", "run-b:0", "run-b:1"]);
    await sender.close();
    await receiver.close();
  });
  it("tells handlers which messages are retained", async () => {
    const sender = await MqttTransport.connect({ url, clientId: "operator-retained" });
    const inbox = topics.agentIn("s", "retained-lathe");
    await sender.publish(
      inbox,
      makeMessage("accept", "coordinator", { ref: "r" }, { seq: 0, at: 0, epoch: 9 }),
      { retain: true },
    );
    const receiver = await MqttTransport.connect({ url, clientId: "retained-lathe" });
    const got: boolean[] = [];
    receiver.onMessage((_m, _t, _b, retained) => got.push(retained));
    await receiver.subscribe(inbox);
    await until(() => got.length >= 1);
    expect(got).toEqual([true]);
    await sender.publishRaw(inbox, Buffer.alloc(0), { retain: true }); // clear it
    await sender.close();
    await receiver.close();
  });
  it("refuses to send a message that does not fit its schema", async () => {
    const sender = await MqttTransport.connect({ url, clientId: "mill-test" });
    const bad = makeMessage(
      "inform",
      "mill",
      { event: "completed", activityId: "a", atTicks: 1, scheduleVersion: -1 },
      { seq: 0, at: 0 },
    );
    await expect(sender.publish(topics.agentOut("s", "mill"), bad)).rejects.toThrow(/bad-body/);
    await sender.close();
  });
  it("fails to connect with a clear error when no broker listens", async () => {
    await expect(
      MqttTransport.connect({ url: "mqtt://127.0.0.1:1", clientId: "x", connectTimeoutMs: 1500 }),
    ).rejects.toMatchObject({
      code: "connect-failed",
      message: "could not connect to mqtt://127.0.0.1:1: ECONNREFUSED",
    });
  });
});

/** A real aedes broker with hooks, on an ephemeral loopback port; `port` to bind a given one. */
async function startBroker(
  hooks: Partial<Pick<Aedes, "authenticate" | "authorizeSubscribe">> = {},
  port = 0,
): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const b = await Aedes.createBroker(hooks);
  const s = createServer({ noDelay: true }, b.handle);
  await new Promise<void>((resolve) => s.listen(port, "127.0.0.1", resolve));
  const bound = (s.address() as AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    port: bound,
    close: async () => {
      await new Promise<void>((resolve) => b.close(() => resolve()));
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** A loopback port that nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("refusals are coded errors with one line", () => {
  it("a refused subscription (SUBACK 0x80) rejects with subscribe-refused", async () => {
    const b = await startBroker({
      authorizeSubscribe: (_client, sub, done) =>
        done(null, sub.topic.startsWith("consort/v1/s/") ? sub : null),
    });
    const t = await MqttTransport.connect({
      url: b.url,
      clientId: "coordinator",
      username: "coordinator",
    });
    await t.subscribe(topics.filters.allAgentOut("s"));
    const error = await t.subscribe(topics.filters.allAgentOut("other")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: "subscribe-refused" });
    expect((error as Error).message).toMatch(
      /refused the subscription to consort\/v1\/other\/agent\/\+\/out \(SUBACK 0x80\)/,
    );
    expect((error as Error).message).not.toContain("\n");
    await t.close();
    await b.close();
  });

  it("a subscription cut short by a lost connection is made again once reconnected, not refused", async () => {
    let cut = 0;
    const b = await startBroker({
      // The first SUBSCRIBE loses its connection before any SUBACK, as in a broker restart.
      authorizeSubscribe: (client, sub, done) => {
        if (cut++ === 0) {
          client.conn.destroy();
          return;
        }
        done(null, sub);
      },
    });
    const t = await MqttTransport.connect({ url: b.url, clientId: "lathe", username: "lathe" });
    const inbox = topics.agentIn("s", "lathe");
    await t.subscribe(inbox);
    expect(cut).toBeGreaterThanOrEqual(2);
    const got: string[] = [];
    t.onMessage((m) => got.push(m.id));
    const sender = await MqttTransport.connect({ url: b.url, clientId: "c", username: "c" });
    await sender.publish(
      inbox,
      makeMessage("accept", "coordinator", { ref: "r" }, { seq: 1, at: 0 }),
    );
    await until(() => got.length === 1);
    await Promise.all([t.close(), sender.close()]);
    await b.close();
  });

  it("takes several broker URLs: a connection goes round them until one answers", async () => {
    const b = await startBroker();
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const t = await MqttTransport.connect({
      url: `${dead},${b.url}`,
      clientId: "lathe-two",
      connectTimeoutMs: 2000,
      retry: { initialDelayMs: 20 },
    });
    expect(t.connected).toBe(true);
    await t.close();
    await b.close();
  });

  it("a refused login rejects with connect-refused and is not retried", async () => {
    const b = await startBroker({
      authenticate: (_client, _username, _password, done) => {
        const error = Object.assign(new Error("no"), { returnCode: 5 });
        done(error as never, false);
      },
    });
    const infos: string[] = [];
    const started = Date.now();
    const error = await MqttTransport.connect({
      url: b.url,
      clientId: "m1",
      username: "m1",
      retry: { initialDelayMs: 50 },
      logger: { warn: () => {}, info: (_d, m) => infos.push(m) },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "connect-refused" });
    expect((error as Error).message).toMatch(
      /refused the login of "m1" \(CONNACK 5: not authorized/,
    );
    expect(infos).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    await b.close();
  });
});

describe("connecting before the broker is up", () => {
  it("retries with growing waits, logged at info, and connects once the broker starts", async () => {
    const port = await freePort();
    const infos: Record<string, unknown>[] = [];
    const connecting = MqttTransport.connect({
      url: `mqtt://127.0.0.1:${port}`,
      clientId: "late",
      retry: { initialDelayMs: 100, maxDelayMs: 400 },
      logger: { warn: () => {}, info: (details) => infos.push(details) },
    });
    await new Promise((r) => setTimeout(r, 1500));
    const b = await startBroker({}, port);
    const t = await connecting;
    expect(t.connected).toBe(true);
    const waits = infos.map((d) => d.retryInMs);
    expect(waits.slice(0, 4)).toEqual([100, 200, 400, 400]);
    await t.close();
    await b.close();
  });

  it("stops retrying at once when its signal aborts", async () => {
    const port = await freePort();
    const stop = new AbortController();
    const connecting = MqttTransport.connect({
      url: `mqtt://127.0.0.1:${port}`,
      clientId: "never",
      retry: { initialDelayMs: 5000, signal: stop.signal },
    }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    stop.abort();
    expect(await connecting).toMatchObject({ code: "aborted" });
    expect(Date.now() - started).toBeLessThan(200);
  });
});

describe("a persistent session's queue", () => {
  it("is held until a handler is attached, so nothing queued while offline is lost", async () => {
    const clean = false;
    const agent = await MqttTransport.connect({ url, clientId: "drill-held", clean });
    await agent.subscribe(topics.agentIn("s", "drill-held"));
    await agent.drop();
    const coordinator = await MqttTransport.connect({ url, clientId: "coordinator-held" });
    for (let seq = 0; seq < 3; seq++) {
      await coordinator.publish(
        topics.agentIn("s", "drill-held"),
        makeMessage("accept", "coordinator-held", { ref: `r${seq}` }, { seq, at: 0 }),
      );
    }
    const back = await MqttTransport.connect({ url, clientId: "drill-held", clean });
    await new Promise((r) => setTimeout(r, 200)); // the queue arrives before anyone listens
    const got: number[] = [];
    back.onMessage((m) => got.push(m.seq));
    expect(got).toEqual([0, 1, 2]);
    await back.close();
    await coordinator.close();
  });
});
