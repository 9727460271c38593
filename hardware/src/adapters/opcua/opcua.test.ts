import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeviceOutcome } from "../../rig/machine.js";
import { OPCUA_DEVICE_NODES, OpcuaDevice } from "../../rig/opcua-device.js";
import { record, sleep, until } from "../../test-support/events.js";
import { createOpcuaEnvironment, type OpcuaEnvironment } from "./adapter.js";
import { parseOpcuaSettings } from "./settings.js";

// One server for the file (starting one loads the standard nodeset: about a second of CPU).
let dir: string;
let device: OpcuaDevice;
let durationMs = 80;
const outcome = (id: string): DeviceOutcome | undefined =>
  id.startsWith("A") ? { durationMs, quality: 0.75 } : undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "consort-opcua-"));
  device = await OpcuaDevice.listen({
    outcome,
    pkiDir: join(dir, "server"),
    users: [{ userName: "agent", password: "s3cret" }],
  });
}, 60_000);
afterAll(async () => {
  await device?.close();
  await rm(dir, { recursive: true, force: true });
});

const envs: OpcuaEnvironment[] = [];
afterEach(async () => {
  durationMs = 80;
  for (const e of envs.splice(0)) await e.close();
});

async function adapter(overrides: Parameters<OpcuaDevice["adapterSettings"]>[0] = {}) {
  let tick = 0;
  const env = await createOpcuaEnvironment(
    device.adapterSettings({ user: { userName: "agent", password: "s3cret" }, ...overrides }),
    { resourceId: "M1", now: () => tick++ },
  );
  envs.push(env);
  return { env, log: record(env) };
}

describe("OPC UA adapter against an emulated device", () => {
  it("starts by method call, hears the end by subscription, once", async () => {
    const { env, log } = await adapter();
    expect(env.connected).toBe(true);
    const before = device.machine.runs.length;
    env.start("A1");
    expect(await log.next("completed", "A1")).toMatchObject({ quality: 0.75, resourceId: "M1" });
    expect(log.events.map((e) => e.kind)).toEqual(["started", "completed"]);
    env.start("A1");
    await sleep(150);
    expect(device.machine.runs.slice(before)).toEqual(["A1"]);
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("starts by writing the command variable", async () => {
    const n = OPCUA_DEVICE_NODES;
    const { env, log } = await adapter({
      command: { kind: "write", nodeId: n.command },
      abort: { kind: "write", nodeId: n.abortCommand },
    });
    env.start("A2");
    expect(await log.next("completed", "A2")).toMatchObject({ quality: 0.75 });
  });

  it("connects with Sign & Encrypt", async () => {
    const { env, log } = await adapter({
      securityMode: "SignAndEncrypt",
      securityPolicy: "Basic256Sha256",
    });
    expect(env.connected).toBe(true);
    env.start("A3");
    await log.next("completed", "A3");
  });

  it("is refused with wrong credentials, and says so at start", async () => {
    const { env, log } = await adapter({
      user: { userName: "agent", password: "wrong" },
      connectTimeoutMs: 1500,
    });
    expect(env.connected).toBe(false);
    env.start("A4");
    expect(((await log.next("failed", "A4")) as { reason: string }).reason).toMatch(
      /^device-unavailable/,
    );
  });

  it("fails a start at once when the device cannot be reached, and closes all the same", async () => {
    const { env, log } = await adapter({
      endpoint: "opc.tcp://127.0.0.1:1/consort/machine",
      connectTimeoutMs: 500,
    });
    expect(env.connected).toBe(false);
    env.start("A4b");
    expect(((await log.next("failed", "A4b")) as { reason: string }).reason).toMatch(
      /^device-unavailable/,
    );
  });

  it("fails a run whose connection drops, reconnects, and runs the retry", async () => {
    const { env, log } = await adapter();
    device.inject({ kind: "disconnect", afterMs: 40 });
    env.start("A5");
    expect(((await log.next("failed", "A5")) as { reason: string }).reason).toMatch(
      /^device-disconnected/,
    );
    for (let i = 0; i < 100 && !env.connected; i++) await sleep(50);
    expect(env.connected).toBe(true);
    env.start("A5");
    await log.next("completed", "A5");
    expect(log.ends("A5").map((e) => e.kind)).toEqual(["failed", "completed"]);
  });

  it("fails a stalled run at the run timeout and aborts it on the device", async () => {
    const { env, log } = await adapter({ runTimeoutMs: 400 });
    device.inject({ kind: "stall" });
    env.start("A6");
    expect(((await log.next("failed", "A6")) as { reason: string }).reason).toMatch(
      /^device-stalled/,
    );
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false);
    expect(log.ends("A6")).toHaveLength(1);
  });

  it("fails a run on the device's fault code", async () => {
    const { env, log } = await adapter();
    device.inject({ kind: "fault", code: 17 });
    env.start("A7");
    expect(await log.next("failed", "A7")).toMatchObject({ reason: "device-fault: 17" });
    await sleep(150);
    expect(log.ends("A7")).toHaveLength(1);
  });

  it("rides out slow answers within the request timeout", async () => {
    const { env, log } = await adapter({ requestTimeoutMs: 2000 });
    device.inject({ kind: "slow", delayMs: 100 });
    env.start("A8");
    expect(await log.next("completed", "A8")).toMatchObject({ quality: 0.75 });
  });

  it("fails a run when the device answers too late", async () => {
    durationMs = 3000;
    const { env, log } = await adapter({ requestTimeoutMs: 300 });
    device.inject({ kind: "slow", delayMs: 1000 });
    env.start("A9");
    const failed = (await log.next("failed", "A9")) as { reason: string };
    expect(failed.reason).toMatch(/^device-(timeout|disconnected)/);
    await sleep(3500);
    expect(log.ends("A9")).toHaveLength(1);
  });

  it("resumes a run after the agent restarts, without starting it again", async () => {
    durationMs = 600;
    const { env, log } = await adapter();
    const before = device.machine.runs.length;
    env.start("A11");
    await log.next("started", "A11");
    await env.close();
    const again = await adapter();
    again.env.resume("A11");
    expect(await again.log.next("completed", "A11")).toMatchObject({ quality: 0.75 });
    expect(again.log.events.map((e) => e.kind)).toEqual(["completed"]);
    expect(device.machine.runs.slice(before)).toEqual(["A11"]);
    again.env.resume("A12");
    expect(((await again.log.next("failed", "A12")) as { reason: string }).reason).toMatch(
      /^device-fault: resume A12/,
    );
  });

  it("aborts on request and refuses an activity the device does not know", async () => {
    durationMs = 5000;
    const { env, log } = await adapter();
    env.start("A10");
    await log.next("started", "A10");
    env.abort("A10");
    expect(await log.next("failed", "A10")).toMatchObject({ reason: "aborted" });
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false);
    env.start("B1");
    expect(await log.next("failed", "B1")).toMatchObject({ reason: "unknown-activity: B1" });
  });
});

describe("OPC UA settings", () => {
  it("says where and what is wrong in one line", () => {
    const r = parseOpcuaSettings({
      kind: "opcua",
      endpoint: "opc.tcp://plc:4840",
      command: { kind: "method", objectId: "ns=2;s=Press", methodId: "Start" },
      abort: { kind: "write", nodeId: "ns=2;s=Press.Abort" },
      nodes: { running: "ns=2;s=R", done: "ns=2;s=D", fault: "ns=2;s=F" },
    });
    expect(!r.ok && r.error).toMatch(/^environment: command/);
    const mixed = parseOpcuaSettings({
      kind: "opcua",
      endpoint: "opc.tcp://plc:4840",
      securityMode: "SignAndEncrypt",
      command: { kind: "method", objectId: "ns=2;s=Press", methodId: "ns=2;s=Press.Start" },
      abort: { kind: "write", nodeId: "ns=2;s=Press.Abort" },
      nodes: { running: "ns=2;s=R", done: "ns=2;s=D", fault: "ns=2;s=F" },
    });
    expect(!mixed.ok && mixed.error).toBe(
      "environment: securityPolicy: None does not go with securityMode SignAndEncrypt (None goes only with None)",
    );
  });
});
