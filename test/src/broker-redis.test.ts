/**
 * `consort broker --redis`: sessions, subscriptions and queued QoS 1 messages kept in a real
 * redis-server, and routing shared by several broker processes. Brokers are child processes killed
 * with SIGKILL; clients are real mqtt.js clients. Skips, saying so, when redis-server is absent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@consort/protocol";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { findRedis, freePort, type Started, startRedis } from "./processes.js";
import { repoRoot } from "./run-cli.js";

const SITE = "plant";

const redisBin = findRedis();
if (redisBin === undefined)
  console.warn(
    "broker-redis.test.ts: SKIPPED: redis-server is not installed (apt-get install redis-server)",
  );

/** Resolves with the first match of `pattern` in the child's stdout. */
function waitFor(child: ChildProcess, pattern: RegExp, what: string, ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${text}`)), ms);
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}): ${text}`));
    });
  });
}

let dir: string;
let redis: (Started & { url: string }) | undefined;
let redisUrl: string;
let usersFile: string;
const children: ChildProcess[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  if (redisBin === undefined) return;
  dir = mkdtempSync(join(tmpdir(), "consort-redis-"));
  redis = await startRedis(redisBin, dir);
  redisUrl = redis.url;
  usersFile = join(dir, "users.yaml");
  writeFileSync(
    usersFile,
    [
      "users:",
      "  - { username: lathe, password: lathe-secret, role: agent }",
      "  - { username: mill, password: mill-secret, role: agent }",
      "  - { username: coordinator, password: coord-secret, role: coordinator }",
      "",
    ].join("\n"),
  );
}, 30_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

afterAll(() => {
  if (redis?.alive()) redis.child.kill("SIGKILL");
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** `consort broker --redis` as a child process on `port`; resolves with its URL. */
async function startBroker(port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "apps/cli/bin/consort.js"),
      "broker",
      "--port",
      String(port),
      "--site",
      SITE,
      "--users",
      usersFile,
      "--redis",
      redisUrl,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  const url = await waitFor(child, /(mqtt:\/\/127\.0\.0\.1:\d+)/, "consort broker");
  return { child, url };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

const PASSWORDS: Record<string, string> = {
  lathe: "lathe-secret",
  mill: "mill-secret",
  coordinator: "coord-secret",
};

async function connect(url: string, username: string, clean: boolean): Promise<MqttClient> {
  const client = await mqtt.connectAsync(
    url,
    {
      clientId: username,
      username,
      password: PASSWORDS[username] ?? "",
      clean,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    },
    false,
  );
  clients.push(client);
  return client;
}

/** Collects payloads arriving on `topic` until `count` have come or `ms` pass. */
function receive(client: MqttClient, topic: string, count: number, ms = 8000): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const done = () => {
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve(got);
    };
    const timer = setTimeout(done, ms);
    const onMessage = (t: string, p: Buffer) => {
      if (t !== topic) return;
      got.push(p.toString());
      if (got.length >= count) done();
    };
    client.on("message", onMessage);
  });
}

/** Connects lathe with a persistent session, collecting its inbox from the first packet on. */
async function resume(url: string): Promise<{ client: MqttClient; got: string[] }> {
  const got: string[] = [];
  const client = mqtt.connect(url, {
    clientId: "lathe",
    username: "lathe",
    password: "lathe-secret",
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  clients.push(client);
  client.on("message", (_t, p) => got.push(p.toString()));
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return { client, got };
}

/** Waits until `want` are all in `got` or `ms` pass; returns those still missing. */
async function missing(got: string[], want: string[], ms = 8000): Promise<string[]> {
  const until = Date.now() + ms;
  while (Date.now() < until && want.some((m) => !got.includes(m)))
    await new Promise((r) => setTimeout(r, 50));
  return want.filter((m) => !got.includes(m));
}

const inbox = topics.agentIn(SITE, "lathe");
const numbered = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `cmd-${from + i}`);

describe.skipIf(redisBin === undefined)("consort broker --redis", () => {
  it("loses no acknowledged QoS 1 message queued for an offline session across a kill -9", async () => {
    const port = await freePort();
    const first = await startBroker(port);
    const lathe = await connect(first.url, "lathe", false);
    await lathe.subscribeAsync(inbox, { qos: 1 });
    await lathe.endAsync();
    const coordinator = await connect(first.url, "coordinator", true);
    const sent = numbered(0, 20);
    // publishAsync resolves on PUBACK: each of these the broker has acknowledged.
    for (const payload of sent) await coordinator.publishAsync(inbox, payload, { qos: 1 });
    await kill9(first.child);
    await coordinator.endAsync(true);

    const second = await startBroker(port);
    const { got } = await resume(second.url);
    // QoS 1 is at least once: a message may come twice, none may be missing.
    expect(await missing(got, sent)).toEqual([]);
    console.log(
      `kill -9 and restart: ${got.length} of ${sent.length} acknowledged messages delivered`,
    );
  }, 60_000);

  it("delivers every message to a persistent session, whatever order storing them in Redis finishes in", async () => {
    const { url } = await startBroker(await freePort());
    const lathe = await connect(url, "lathe", false);
    const mill = await connect(url, "mill", false);
    const clock = topics.clock(SITE);
    for (const c of [lathe, mill]) await c.subscribeAsync(clock, { qos: 1 });
    await lathe.subscribeAsync(inbox, { qos: 1 });
    const coordinator = await connect(url, "coordinator", true);
    const ticks = Array.from({ length: 20 }, (_, i) => `tick-${i}`);
    const commands = numbered(0, 20);
    const got: string[] = [];
    lathe.on("message", (_t, p) => got.push(p.toString()));
    // Each tick is queued for two sessions, each command for one: storing a command finishes
    // first, and aedes, numbering packets per broker, dropped the earlier tick as a duplicate.
    await Promise.all(
      ticks.flatMap((tick, i) => [
        coordinator.publishAsync(clock, tick, { qos: 1 }),
        coordinator.publishAsync(inbox, commands[i]!, { qos: 1 }),
      ]),
    );
    expect(await missing(got, [...ticks, ...commands])).toEqual([]);
    // Leave no session behind in the shared Redis: a clean login discards it.
    await Promise.all([lathe.endAsync(), mill.endAsync()]);
    for (const user of ["lathe", "mill"]) await (await connect(url, user, true)).endAsync();
  }, 60_000);

  it("carries messages between brokers, and after one is killed its clients resume on the other with their queue", async () => {
    const a = await startBroker(await freePort());
    const b = await startBroker(await freePort());
    const lathe = await connect(a.url, "lathe", false);
    await lathe.subscribeAsync(inbox, { qos: 1 });
    const coordinator = await connect(b.url, "coordinator", true);
    // Across brokers: published on B, delivered to a client of A.
    const live = receive(lathe, inbox, 5);
    for (const payload of numbered(0, 5))
      await coordinator.publishAsync(inbox, payload, { qos: 1 });
    expect(await live).toEqual(numbered(0, 5));

    // A dies with lathe on it; commands published meanwhile on B are queued in Redis.
    await kill9(a.child);
    await new Promise((r) => setTimeout(r, 200));
    const queued = numbered(5, 10);
    for (const payload of queued) await coordinator.publishAsync(inbox, payload, { qos: 1 });
    const { client: moved, got } = await resume(b.url);
    expect(await missing(got, queued)).toEqual([]);
    // And it keeps receiving live traffic on B.
    const after = receive(moved, inbox, 1);
    await coordinator.publishAsync(inbox, "after", { qos: 1 });
    expect(await after).toEqual(["after"]);
    console.log(
      `two brokers: 5 of 5 across, ${got.length} of ${queued.length} queued while A was dead`,
    );
  }, 60_000);
});
