/**
 * `consort broker` as its own process under abuse, measured from outside: its resident memory
 * (from /proc) while clients declare 256 MB packets before CONNECT, and how long sockets that
 * never send CONNECT are held while an honest client still gets in.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

let dir: string;
let broker: ChildProcess;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "consort-hardening-"));
  const users = join(dir, "users.yaml");
  writeFileSync(users, "users:\n  - { username: lathe, password: lathe-secret, role: agent }\n");
  broker = spawn(
    process.execPath,
    [
      join(repoRoot, "apps/cli/bin/consort.js"),
      "broker",
      "--port",
      "0",
      "--site",
      "plant",
      "--users",
      users,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  port = await new Promise<number>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${text}`)), 15_000);
    broker.stdout?.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
}, 20_000);

afterAll(() => {
  if (broker.exitCode === null) broker.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error("no VmRSS");
  return Number(m[1]) * 1024;
}

async function rawSocket(): Promise<Socket> {
  const socket = connectTcp({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

const closedWithin = (socket: Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

async function login(): Promise<number> {
  const started = performance.now();
  const client = await mqtt.connectAsync(
    `mqtt://127.0.0.1:${port}`,
    {
      clientId: "lathe",
      username: "lathe",
      password: "lathe-secret",
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    },
    false,
  );
  const took = performance.now() - started;
  await client.endAsync(true);
  return took;
}

describe.skipIf(process.platform !== "linux")("consort broker under abuse", () => {
  it("cuts 256 MB packet headers before CONNECT with resident memory growing by less than 5 MB", async () => {
    // Warm up first (a login, then 5 of the same abuses), so that what is measured is the abuse
    // and not the first use of each code path.
    await login();
    const megabyte = Buffer.alloc(1024 * 1024, 0x41);
    let before = 0;
    for (let round = 0; round < 25; round++) {
      if (round === 5) before = rssBytes(broker.pid!);
      const socket = await rawSocket();
      socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
      const flood = setInterval(() => {
        if (!socket.destroyed) socket.write(megabyte);
      }, 2);
      const cut = await closedWithin(socket, 3000);
      clearInterval(flood);
      socket.destroy();
      expect(cut).toBe(true);
    }
    const grown = rssBytes(broker.pid!) - before;
    console.log(
      `20 connections declaring 256 MB before CONNECT: broker RSS grew ${(grown / 1024 / 1024).toFixed(2)} MB`,
    );
    expect(grown).toBeLessThan(5 * 1024 * 1024);
  }, 60_000);

  it("closes 500 sockets that never send CONNECT within 10 s, and an honest login still succeeds", async () => {
    const idle = await Promise.all(Array.from({ length: 500 }, () => rawSocket()));
    const started = performance.now();
    const took = await login();
    const results = await Promise.all(idle.map((s) => closedWithin(s, 10_000)));
    const closedCount = results.filter(Boolean).length;
    console.log(
      `500 idle sockets: ${closedCount} closed within ${((performance.now() - started) / 1000).toFixed(1)} s; a login meanwhile took ${took.toFixed(0)} ms`,
    );
    for (const s of idle) s.destroy();
    expect(closedCount).toBe(500);
    expect(took).toBeLessThan(1000);
  }, 30_000);
});
