import { afterEach, expect, it } from "vitest";
import type { AdapterContext, DeviceEnvironment } from "../adapters/device-environment.js";
import type { DeviceOutcome, EmulatedMachine, OutcomeFunction } from "../rig/machine.js";
import { record, sleep, until } from "./events.js";

/**
 * What the device adapters' tests share: an emulated device and the adapter talking to it, and
 * the fault cases every line-per-run adapter (Modbus, serial) must handle the same way.
 */

/** Things a test opened, closed after it (last first). */
export function closeAfterEach(): { close(): Promise<void> }[] {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  return open;
}

/** Activities whose name starts with A run `durationMs` with `quality`; others are unknown. */
export const fixed =
  (durationMs: number, quality: number) =>
  (id: string): DeviceOutcome | undefined =>
    id.startsWith("A") ? { durationMs, quality } : undefined;

/** An adapter context for resource M1 whose clock moves a tick each read. */
export const ctx = (over: Partial<AdapterContext> = {}): AdapterContext => {
  let tick = 0;
  return { resourceId: "M1", now: () => tick++, ...over };
};

/** An emulated device as the fault cases drive it. */
export interface EmulatedDevice {
  readonly machine: EmulatedMachine;
  inject(fault: Parameters<EmulatedMachine["inject"]>[0]): void;
}

export interface FaultRig<D extends EmulatedDevice> {
  readonly device: D;
  readonly env: DeviceEnvironment & { readonly connected: boolean };
  readonly log: ReturnType<typeof record>;
}

export interface FaultCases<D extends EmulatedDevice> {
  /** A device with these options and the adapter on it with these settings. */
  rig(
    device?: { outcome?: OutcomeFunction },
    settings?: { runTimeoutMs?: number; timeoutMs?: number },
  ): Promise<FaultRig<D>>;
  /** A second adapter on the same device (the agent restarted); it is closed after the test. */
  reopen(device: D): Promise<DeviceEnvironment>;
  /** What the adapter says when asked to resume A2 while the device holds A1's run. */
  resumeMismatch: RegExp;
  /** The device's outcome in the disconnect case (long enough to be cut off mid-run). */
  disconnectOutcome?: OutcomeFunction;
  /** Closed after each test. */
  open: { close(): Promise<void> }[];
}

/** The fault cases, as `it`s of the caller's `describe`. */
export function faultCases<D extends EmulatedDevice>(c: FaultCases<D>): void {
  it("starts a run, sees it finish with its quality, once", async () => {
    const { device, env, log } = await c.rig();
    env.start("A1");
    expect(log.events).toEqual([]); // nothing from inside start()
    expect(await log.next("completed", "A1")).toMatchObject({ resourceId: "M1", quality: 0.75 });
    expect(log.events.map((e) => e.kind)).toEqual(["started", "completed"]);
    env.start("A1"); // a completed activity does not run again
    await sleep(150);
    expect(device.machine.runs).toEqual(["A1"]);
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("fails a run whose device drops the connection, then reconnects for the retry", async () => {
    const { device, env, log } = await c.rig(
      c.disconnectOutcome ? { outcome: c.disconnectOutcome } : {},
    );
    device.inject({ kind: "disconnect", afterMs: 40 });
    env.start("A1");
    const failed = (await log.next("failed", "A1")) as { reason: string };
    expect(failed.reason).toMatch(/^device-disconnected/);
    await until(() => env.connected); // backoff starts at 20 ms
    expect(env.connected).toBe(true);
    env.start("A1");
    await log.next("completed", "A1");
    expect(log.ends("A1").map((e) => e.kind)).toEqual(["failed", "completed"]);
    expect(device.machine.runs).toEqual(["A1", "A1"]);
  });

  it("fails a stalled run at the run timeout and aborts it on the device", async () => {
    const { device, env, log } = await c.rig({}, { runTimeoutMs: 300 });
    device.inject({ kind: "stall" });
    env.start("A1");
    const failed = (await log.next("failed", "A1")) as { reason: string };
    expect(failed.reason).toMatch(/^device-stalled/);
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false); // the adapter sent abort
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("fails a run on the device's fault code", async () => {
    const { device, env, log } = await c.rig();
    device.inject({ kind: "fault", code: 17 });
    env.start("A1");
    expect(await log.next("failed", "A1")).toMatchObject({ reason: "device-fault: 17" });
    await sleep(150);
    expect(log.ends("A1")).toHaveLength(1);
  });

  it("rides out answers slower than usual but within the request timeout", async () => {
    const { device, env, log } = await c.rig({}, { timeoutMs: 500 });
    device.inject({ kind: "slow", delayMs: 60 });
    env.start("A1");
    expect(await log.next("completed", "A1")).toMatchObject({ quality: 0.75 });
  });

  it("aborts a run on request", async () => {
    const { device, env, log } = await c.rig({ outcome: fixed(5000, 1) });
    env.start("A1");
    await log.next("started", "A1");
    env.abort("A1");
    expect(await log.next("failed", "A1")).toMatchObject({ reason: "aborted" });
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false);
  });

  it("resumes a run after the agent restarts, without starting it again", async () => {
    const { device, env, log } = await c.rig({ outcome: fixed(400, 0.75) });
    env.start("A1");
    await log.next("started", "A1");
    await env.close(); // the agent goes down mid-run
    const env2 = await c.reopen(device);
    c.open.push(env2);
    const log2 = record(env2);
    env2.resume("A1");
    expect(await log2.next("completed", "A1")).toMatchObject({ quality: 0.75 });
    expect(log2.events.map((e) => e.kind)).toEqual(["completed"]);
    expect(device.machine.runs).toEqual(["A1"]);
    env2.resume("A2");
    expect(((await log2.next("failed", "A2")) as { reason: string }).reason).toMatch(
      c.resumeMismatch,
    );
  });
}
