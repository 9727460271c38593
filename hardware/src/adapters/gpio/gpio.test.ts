import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { GpioDevice } from "../../rig/gpio-device.js";
import type { DeviceOutcome } from "../../rig/machine.js";
import { record, sleep, until } from "../../test-support/events.js";
import type { AdapterContext } from "../device-environment.js";
import { createGpioEnvironment, type GpioEnvironment } from "./adapter.js";
import { libgpiodDriver, loadLibgpiod } from "./lines.js";
import { parseGpioSettings } from "./settings.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const fixed =
  (durationMs: number) =>
  (id: string): DeviceOutcome | undefined =>
    id.startsWith("A") ? { durationMs, quality: 1 } : undefined;
const programs = { A1: 1, A2: 2, B9: 9 };
const ctx = (): AdapterContext => {
  let tick = 0;
  return { resourceId: "M1", now: () => tick++ };
};

async function rig(
  device: Partial<ConstructorParameters<typeof GpioDevice>[0]> = {},
  settings: Parameters<GpioDevice["adapterSettings"]>[0] = {},
): Promise<{ device: GpioDevice; env: GpioEnvironment; log: ReturnType<typeof record> }> {
  const d = new GpioDevice({ outcome: fixed(80), programs, ...device });
  open.push(d);
  const env = await createGpioEnvironment(d.adapterSettings(settings), ctx(), d.driver);
  open.push(env);
  return { device: d, env, log: record(env) };
}

describe("GPIO adapter against an emulated device on in-memory lines", () => {
  it("writes the program code, pulses start, sees running then done, once", async () => {
    const { device, env, log } = await rig({}, { quality: 0.9 });
    env.start("A2");
    expect(log.events).toEqual([]);
    expect(await log.next("completed", "A2")).toMatchObject({ quality: 0.9 });
    expect(log.events.map((e) => e.kind)).toEqual(["started", "completed"]);
    env.start("A2");
    await sleep(100);
    expect(device.machine.runs).toEqual(["A2"]);
    // `done` stays up after A2: the next run is not taken for done before it ran.
    env.start("A1");
    await log.next("completed", "A1");
    expect(device.machine.runs).toEqual(["A2", "A1"]);
  });

  it("fails a run whose chip goes away, then requests the lines again for the retry", async () => {
    const { device, env, log } = await rig({ outcome: fixed(300) });
    device.inject({ kind: "disconnect", afterMs: 40 });
    env.start("A1");
    expect(((await log.next("failed", "A1")) as { reason: string }).reason).toMatch(
      /^device-disconnected/,
    );
    await until(() => env.connected);
    expect(env.connected).toBe(true);
    env.start("A1");
    await log.next("completed", "A1");
    expect(log.ends("A1").map((e) => e.kind)).toEqual(["failed", "completed"]);
  });

  it("fails a stalled run at the run timeout and pulses abort", async () => {
    const { device, env, log } = await rig({}, { runTimeoutMs: 200 });
    device.inject({ kind: "stall" });
    env.start("A1");
    expect(((await log.next("failed", "A1")) as { reason: string }).reason).toMatch(
      /^device-stalled/,
    );
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false);
  });

  it("fails a run when the fault line comes up", async () => {
    const { device, env, log } = await rig();
    device.inject({ kind: "fault", code: 4 });
    env.start("A1");
    expect(await log.next("failed", "A1")).toMatchObject({ reason: "device-fault: line 8" });
  });

  it("fails a run the device never picks up", async () => {
    // Start wired to a line the device does not watch.
    const { env, log } = await rig(
      {},
      (() => {
        const d = new GpioDevice({ outcome: fixed(80), programs });
        const lines = d.adapterSettings().lines;
        return { lines: { ...lines, start: { offset: 9, activeLow: false } }, startTimeoutMs: 100 };
      })(),
    );
    env.start("A1");
    expect(((await log.next("failed", "A1")) as { reason: string }).reason).toMatch(
      /^device-timeout: not running/,
    );
  });

  it("aborts on request; refuses a busy device and an activity with no code", async () => {
    const { device, env, log } = await rig({ outcome: fixed(5000) });
    env.start("A1");
    await log.next("started", "A1");
    env.start("A2");
    expect(await log.next("failed", "A2")).toMatchObject({ reason: "resource-busy" });
    env.abort("A1");
    expect(await log.next("failed", "A1")).toMatchObject({ reason: "aborted" });
    await until(() => !device.machine.state.running);
    expect(device.machine.state.running).toBe(false);
    env.start("Z1");
    expect(await log.next("failed", "Z1")).toMatchObject({ reason: "unknown-activity: Z1" });
  });

  it("resumes a run after the agent restarts, without starting it again", async () => {
    const { device, env, log } = await rig({ outcome: fixed(300) });
    env.start("A1");
    await log.next("started", "A1");
    await env.close();
    const env2 = await createGpioEnvironment(device.adapterSettings(), ctx(), device.driver);
    open.push(env2);
    const log2 = record(env2);
    env2.resume("A1");
    await log2.next("completed", "A1");
    expect(log2.events.map((e) => e.kind)).toEqual(["completed"]);
    expect(device.machine.runs).toEqual(["A1"]);
  });
});

describe("GPIO settings", () => {
  const base = {
    kind: "gpio",
    chip: "gpiochip0",
    lines: { start: { offset: 17 }, running: { offset: 27 }, done: { offset: 22 } },
  };
  it("fills defaults", () => {
    const r = parseGpioSettings(base);
    expect(r.ok && r.value).toMatchObject({
      consumer: "consort",
      pulseMs: 100,
      pollMs: 50,
      quality: 1,
      lines: { start: { offset: 17, activeLow: false }, program: [] },
    });
  });
  it("refuses a line used twice and a code wider than the program lines, in one line", () => {
    const twice = parseGpioSettings({
      ...base,
      lines: { ...base.lines, done: { offset: 17 } },
    });
    expect(!twice.ok && twice.error).toBe(
      "environment: lines.done: offset 17 is already lines.start",
    );
    const wide = parseGpioSettings({
      ...base,
      lines: { ...base.lines, program: [{ offset: 5 }] },
      programs: { A1: 2 },
    });
    expect(!wide.ok && wide.error).toBe(
      "environment: programs.A1: code 2 does not fit on 1 program line(s)",
    );
  });
});

// The kernel's side: a board's /dev/gpiochipN through node-libgpiod.
const chips = (() => {
  try {
    return readdirSync("/dev").filter((f) => /^gpiochip\d+$/.test(f));
  } catch {
    return [];
  }
})();
const libgpiod = await loadLibgpiod().catch((e: Error) => e);
if (libgpiod instanceof Error) console.warn(`skipped: ${libgpiod.message}`);
if (chips.length === 0)
  console.warn(
    "skipped: no /dev/gpiochip* on this machine (a board has one; elsewhere `modprobe gpio-mockup gpio_mockup_ranges=-1,16` makes one)",
  );

describe.skipIf(libgpiod instanceof Error)("node-libgpiod", () => {
  it("loads, and lists the chips /dev has", () => {
    if (libgpiod instanceof Error) return;
    expect(libgpiod.version).toMatch(/^1\./);
    expect([...libgpiod.getChipNames()].sort()).toEqual([...chips].sort());
  });

  it("fails to request lines on a chip that does not exist, with the chip in the error", async () => {
    await expect(
      libgpiodDriver({
        ...new GpioDevice({ outcome: fixed(1), programs: {} }).adapterSettings(),
        chip: "gpiochip999",
      }),
    ).rejects.toThrow();
  });
});

/**
 * gpio-mockup's debugfs files drive its lines from the device side: the test plays the device,
 * reading `start` and writing `running` and `done`.
 */
const mockup = chips.find((c) => {
  try {
    return readdirSync(`/sys/kernel/debug/gpio-mockup/${c}`).length > 0;
  } catch {
    return false;
  }
});
if (chips.length > 0 && mockup === undefined)
  console.warn("skipped: no gpio-mockup chip with debugfs: the adapter is not run on a real chip");

describe.skipIf(libgpiod instanceof Error || mockup === undefined)(
  "GPIO adapter on a gpio-mockup chip",
  () => {
    it("runs an activity through the kernel's character device", async () => {
      const dbg = (offset: number) => `/sys/kernel/debug/gpio-mockup/${mockup}/${offset}`;
      const { writeFileSync } = await import("node:fs");
      const settings = parseGpioSettings({
        kind: "gpio",
        chip: mockup,
        lines: { start: { offset: 0 }, running: { offset: 1 }, done: { offset: 2 } },
        pulseMs: 50,
        pollMs: 10,
      });
      if (!settings.ok) throw new Error(settings.error);
      writeFileSync(dbg(1), "0");
      writeFileSync(dbg(2), "0");
      const env = await createGpioEnvironment(settings.value, ctx());
      open.push(env);
      const log = record(env);
      env.start("A1");
      await until(() => readFileSync(dbg(0), "utf8").trim() === "1", 2000);
      writeFileSync(dbg(1), "1");
      await log.next("started", "A1");
      writeFileSync(dbg(1), "0");
      writeFileSync(dbg(2), "1");
      expect(await log.next("completed", "A1")).toMatchObject({ quality: 1 });
    });
  },
);
