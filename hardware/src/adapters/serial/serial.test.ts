import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasSocat, PtyPair, SerialDevice } from "../../rig/serial-device.js";
import { closeAfterEach, ctx, faultCases, fixed } from "../../test-support/adapter-faults.js";
import { record, until } from "../../test-support/events.js";
import { createSerialEnvironment, type SerialEnvironment } from "./adapter.js";
import { formatDeviceLine, parseAgentLine, parseDeviceLine } from "./protocol.js";
import { parseSerialSettings } from "./settings.js";

const socat = await hasSocat();
if (!socat) console.warn("skipped: socat is not installed (Debian package socat): no pty pair");

const open = closeAfterEach();

async function rig(
  device: Partial<Parameters<typeof SerialDevice.open>[0]> = {},
  settings: Parameters<SerialDevice["adapterSettings"]>[0] = {},
): Promise<{ device: SerialDevice; env: SerialEnvironment; log: ReturnType<typeof record> }> {
  const d = await SerialDevice.open({ outcome: fixed(80, 0.75), ...device });
  open.push(d);
  const env = await createSerialEnvironment(d.adapterSettings(settings), ctx());
  open.push(env);
  return { device: d, env, log: record(env) };
}

describe.skipIf(!socat)("serial adapter over a pseudo-terminal pair", () => {
  faultCases({
    rig,
    reopen: (device) => createSerialEnvironment(device.adapterSettings(), ctx()),
    // The device shows A1 done, not A2 under way.
    resumeMismatch: /^device-fault: the device shows done A1/,
    disconnectOutcome: fixed(300, 1),
    open,
  });

  it("is connected as soon as it is created", async () => {
    const { env } = await rig();
    expect(env.connected).toBe(true);
  });

  it("fails a run when the device leaves its heartbeats unanswered", async () => {
    const { device, env, log } = await rig(
      { outcome: fixed(3000, 1) },
      { timeoutMs: 100, heartbeatMs: 30, maxMissedHeartbeats: 2 },
    );
    device.inject({ kind: "slow", delayMs: 400 });
    env.start("A1");
    const failed = (await log.next("failed", "A1")) as { reason: string };
    // START's own answer comes too late: a timeout, whichever request it hit first.
    expect(failed.reason).toMatch(/^device-timeout/);
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("refuses a second run while one is under way; the device rejects one it does not know", async () => {
    const { env, log } = await rig();
    env.start("A1");
    env.start("A2");
    expect(await log.next("failed", "A2")).toMatchObject({ reason: "resource-busy" });
    await log.next("completed", "A1");
    env.start("B9");
    expect(await log.next("failed", "B9")).toMatchObject({ reason: "device-rejected: UNKNOWN" });
  });

  it("maps activities to program names, and refuses one it has none for", async () => {
    const { device, env, log } = await rig({}, { programs: { A1: "A-program-1" } });
    env.start("A2");
    expect(await log.next("failed", "A2")).toMatchObject({ reason: "unknown-activity: A2" });
    env.start("A1");
    // The emulated device knows activities whose name starts with A: it ran "A-program-1".
    await log.next("completed", "A1");
    expect(device.machine.runs).toEqual(["A-program-1"]);
  });

  it("fails a start at once when the port cannot be opened", async () => {
    const d = await SerialDevice.open({ outcome: fixed(80, 1) });
    open.push(d);
    const env = await createSerialEnvironment(
      d.adapterSettings({ path: `${d.agentPath}-absent` }),
      ctx(),
    );
    open.push(env);
    const log = record(env);
    env.start("A1");
    expect(((await log.next("failed", "A1")) as { reason: string }).reason).toMatch(
      /^device-unavailable/,
    );
  });
});

const settingsFor = (path: string) => {
  const r = parseSerialSettings({ kind: "serial", path, baudRate: 115200, timeoutMs: 500 });
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe.skipIf(!socat)("serial adapter against a device written by hand", () => {
  it("ignores a DONE that comes before this run's RUNNING, and takes a FAULT at once as the answer to START", async () => {
    const { SerialPort, ReadlineParser } = await import("serialport");
    const dir = await mkdtemp(join(tmpdir(), "consort-serial-"));
    const pair = await PtyPair.open(dir);
    open.push({ close: () => rm(dir, { recursive: true, force: true }) }, pair);
    const device = new SerialPort({ path: pair.devicePath, baudRate: 115200 });
    open.push({ close: () => new Promise<void>((r) => device.close(() => r())) });
    const heard: string[] = [];
    device.pipe(new ReadlineParser({ delimiter: "\n" })).on("data", (line: string) => {
      heard.push(line);
      if (line === "START A1") device.write("DONE A1 0.5\nRUNNING A1\n");
      if (line === "START A2") device.write("FAULT A2 E7\n");
      if (line === "STATUS?") device.write("STATUS RUNNING A1\n");
    });
    const env = await createSerialEnvironment(
      { ...settingsFor(pair.agentPath), heartbeatMs: 30 },
      ctx(),
    );
    open.push(env);
    const log = record(env);
    env.start("A1");
    await log.next("started", "A1");
    await until(() => heard.includes("STATUS?"));
    expect(log.ends("A1")).toEqual([]); // the early DONE did not end it
    device.write("DONE A1 0.25\n");
    expect(await log.next("completed", "A1")).toMatchObject({ quality: 0.25 });
    env.start("A2");
    expect(await log.next("failed", "A2")).toMatchObject({ reason: "device-fault: E7" });
  });
});

describe("serial line protocol", () => {
  it("reads what a device says, and nothing else", () => {
    expect(parseDeviceLine("RUNNING A1\r")).toEqual({ kind: "running", program: "A1" });
    expect(parseDeviceLine("DONE A1 0.5")).toEqual({ kind: "done", program: "A1", quality: 0.5 });
    expect(parseDeviceLine("DONE A1 half")).toBeUndefined();
    expect(parseDeviceLine("FAULT A1 E17")).toEqual({ kind: "fault", program: "A1", code: "E17" });
    expect(parseDeviceLine("STATUS IDLE")).toEqual({ kind: "status", state: { kind: "idle" } });
    expect(parseDeviceLine("STATUS RUNNING A1")).toEqual({
      kind: "status",
      state: { kind: "running", program: "A1" },
    });
    expect(parseDeviceLine("STATUS ABORTED A1")).toBeUndefined();
    expect(parseDeviceLine("hello")).toBeUndefined();
    expect(parseAgentLine("START A1")).toEqual({ kind: "start", program: "A1" });
    expect(parseAgentLine("STATUS?")).toEqual({ kind: "status" });
    for (const line of [
      "REJECTED A1 BUSY",
      "DONE A1 0.75",
      "STATUS FAULT A1 3",
      "STATUS DONE A1 1",
      "ABORTED A1",
    ])
      expect(formatDeviceLine(parseDeviceLine(line)!)).toBe(`${line}\n`);
  });

  it("settings: defaults filled, errors in one line", () => {
    const r = parseSerialSettings({ kind: "serial", path: "/dev/ttyUSB0" });
    expect(r.ok && r.value).toMatchObject({
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      heartbeatMs: 1000,
      programs: {},
    });
    const bad = parseSerialSettings({ kind: "serial", path: "/dev/ttyUSB0", parity: "mark" });
    expect(!bad.ok && bad.error).toMatch(/^environment: parity: /);
    const prog = parseSerialSettings({
      kind: "serial",
      path: "/dev/ttyS0",
      programs: { A1: "two words" },
    });
    expect(!prog.ok && prog.error).toMatch(/^environment: programs\.A1: .*\(got "two words"\)/);
  });
});
