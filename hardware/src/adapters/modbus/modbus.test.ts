import type { ActivityNode } from "@consort/core/agent";
import { describe, expect, it } from "vitest";
import { sampledOutcomes } from "../../rig/machine.js";
import { ModbusDevice } from "../../rig/modbus-device.js";
import { closeAfterEach, ctx, faultCases, fixed } from "../../test-support/adapter-faults.js";
import { record, sleep } from "../../test-support/events.js";
import type { AdapterContext } from "../device-environment.js";
import { createModbusEnvironment, type ModbusEnvironment } from "./adapter.js";
import { parseModbusSettings } from "./settings.js";

const open = closeAfterEach();
const recipes = { A1: 1, A2: 2 };

async function rig(
  device: Partial<Parameters<typeof ModbusDevice.listen>[0]> = {},
  settings: Parameters<ModbusDevice["adapterSettings"]>[0] = {},
  context: Partial<AdapterContext> = {},
): Promise<{ device: ModbusDevice; env: ModbusEnvironment; log: ReturnType<typeof record> }> {
  const d = await ModbusDevice.listen({ outcome: fixed(80, 0.75), recipes, ...device });
  open.push(d);
  const env = await createModbusEnvironment(d.adapterSettings(settings), ctx(context));
  open.push(env);
  return { device: d, env, log: record(env) };
}

describe("Modbus TCP adapter against an emulated device", () => {
  faultCases({
    rig,
    reopen: (device) => createModbusEnvironment(device.adapterSettings(), ctx()),
    // The device holds A1's recipe.
    resumeMismatch: /^device-fault: resume A2/,
    open,
  });

  it("runs the simulator's sampled outcome for the trial", async () => {
    const a: ActivityNode = {
      id: "A1",
      kind: "activity",
      resources: ["M1"],
      duration: [
        { value: 3, probability: 0.5 },
        { value: 5, probability: 0.5 },
      ],
      quality: [
        { value: 0.5, probability: 0.5 },
        { value: 0.9, probability: 0.5 },
      ],
    };
    const outcome = sampledOutcomes([a], 42, 20);
    const { env, log } = await rig({ outcome });
    env.start("A1");
    const done = await log.next("completed", "A1");
    expect(done).toMatchObject({ quality: outcome("A1")!.quality });
  });

  it("fails a run when the device stops answering in time", async () => {
    const { device, env, log } = await rig(
      { outcome: fixed(2000, 1) },
      { timeoutMs: 100, maxMissedPolls: 2 },
    );
    device.inject({ kind: "slow", delayMs: 400 });
    env.start("A1");
    const failed = (await log.next("failed", "A1")) as { reason: string };
    expect(failed.reason).toMatch(/^device-timeout/);
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("refuses a second run while one is under way, and an activity it has no recipe for", async () => {
    const { env, log } = await rig();
    env.start("A1");
    env.start("A2");
    env.start("B9");
    expect(await log.next("failed", "A2")).toMatchObject({ reason: "resource-busy" });
    expect(await log.next("failed", "B9")).toMatchObject({ reason: "resource-busy" });
    await log.next("completed", "A1");
    env.start("B9");
    await sleep(100);
    expect(log.ends("B9").map((e) => (e as { reason: string }).reason)).toEqual([
      "resource-busy",
      "unknown-activity: B9",
    ]);
  });

  it("fails a start at once when the device cannot be reached", async () => {
    const d = await ModbusDevice.listen({ outcome: fixed(80, 1), recipes });
    const settings = d.adapterSettings({ timeoutMs: 200 });
    await d.close();
    const env = await createModbusEnvironment(settings, ctx());
    open.push(env);
    const log = record(env);
    env.start("A1");
    const failed = (await log.next("failed", "A1")) as { reason: string };
    expect(failed.reason).toMatch(/^device-unavailable/);
  });
});

describe("Modbus settings", () => {
  it("fills defaults", () => {
    const r = parseModbusSettings({
      kind: "modbus",
      host: "10.0.0.5",
      points: {
        start: { table: "coil", address: 0 },
        abort: { table: "coil", address: 1 },
        running: { table: "discrete-input", address: 0 },
        done: { table: "discrete-input", address: 1 },
        fault: { table: "input-register", address: 0 },
      },
    });
    expect(r.ok && r.value).toMatchObject({
      port: 502,
      unitId: 1,
      pollMs: 250,
      reconnect: { initialMs: 200 },
    });
  });

  it("says where and what is wrong in one line", () => {
    const r = parseModbusSettings({
      kind: "modbus",
      host: "plc",
      points: {
        start: { table: "input-register", address: 0 },
        abort: { table: "coil", address: 1 },
        running: { table: "coil", address: 2 },
        done: { table: "coil", address: 3 },
        fault: { table: "holding-register", address: 1 },
      },
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^environment: points\.start/);
    expect(!r.ok && r.error).not.toContain("\n");
    const port = parseModbusSettings({ kind: "modbus", host: "plc", port: 70000, points: {} });
    expect(!port.ok && port.error).toMatch(/^environment: port: .*65535.*\(got 70000\)/);
  });
});
