import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const here = import.meta.dirname;

/**
 * The modules a fresh Node process resolves when it creates one adapter from the built package
 * (the test task builds first), as an agent would: only that adapter's protocol library.
 */
async function importsFor(environment: object): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "consort-imports-"));
  const trace = join(dir, "trace.txt");
  const script = `
    const { createEnvironment } = await import("@consort/hardware");
    const env = await createEnvironment(${JSON.stringify(environment)}, { resourceId: "r", now: () => 0 });
    await env.close();
    process.exit(0);`;
  try {
    await run(
      process.execPath,
      [
        "--import",
        join(here, "test-support", "trace-imports.mjs"),
        "--input-type=module",
        "-e",
        script,
      ],
      {
        cwd: join(here, ".."),
        env: { ...process.env, CONSORT_TRACE_IMPORTS: trace },
        timeout: 20_000,
      },
    );
    return (await readFile(trace, "utf8")).split("\n").filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const libraries = (urls: string[]) =>
  [
    ...new Set(
      urls.flatMap(
        (u) =>
          /node_modules\/(node-opcua-client|mqtt|modbus-serial|serialport|node-libgpiod)\//.exec(
            u,
          )?.[1] ?? [],
      ),
    ),
  ].sort();

describe("an agent loads only its configured adapter", () => {
  it("Modbus: modbus-serial, neither node-opcua nor mqtt", async () => {
    const urls = await importsFor({
      kind: "modbus",
      host: "127.0.0.1",
      port: 1,
      timeoutMs: 200,
      points: {
        start: { table: "coil", address: 0 },
        abort: { table: "coil", address: 1 },
        running: { table: "coil", address: 2 },
        done: { table: "coil", address: 3 },
        fault: { table: "holding-register", address: 0 },
      },
      reconnect: { initialMs: 100, maxMs: 100 },
      pollMs: 250,
      maxMissedPolls: 3,
      runTimeoutMs: 1000,
      qualityScale: 100,
      recipes: {},
      unitId: 1,
    });
    expect(libraries(urls)).toEqual(["modbus-serial"]);
  });

  it("VDA 5050: mqtt, neither node-opcua nor modbus-serial", async () => {
    const urls = await importsFor({
      kind: "vda5050",
      broker: "mqtt://127.0.0.1:1",
      manufacturer: "m",
      serialNumber: "s",
      interfaceName: "uagv",
      majorVersion: "v2",
      version: "2.0.0",
      mapId: "default",
      acceptTimeoutMs: 200,
      stateTimeoutMs: 1000,
      runTimeoutMs: 1000,
      activityActionType: "consort:activity",
      routes: {},
    });
    expect(libraries(urls)).toEqual(["mqtt"]);
  });

  it("serial: serialport, none of the others", async () => {
    const urls = await importsFor({
      kind: "serial",
      path: "/dev/consort-no-such-port",
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      timeoutMs: 200,
      heartbeatMs: 1000,
      maxMissedHeartbeats: 3,
      runTimeoutMs: 1000,
      reconnect: { initialMs: 100, maxMs: 100 },
      qualityScale: 1,
      programs: {},
    });
    expect(libraries(urls)).toEqual(["serialport"]);
  });

  it("GPIO: at most node-libgpiod, none of the others", async () => {
    const urls = await importsFor({
      kind: "gpio",
      chip: "gpiochip999",
      consumer: "consort",
      lines: {
        start: { offset: 0, activeLow: false },
        program: [],
        running: { offset: 1, activeLow: false },
        done: { offset: 2, activeLow: false },
      },
      pulseMs: 10,
      pollMs: 10,
      startTimeoutMs: 100,
      runTimeoutMs: 1000,
      quality: 1,
      programs: {},
    });
    expect(libraries(urls).filter((l) => l !== "node-libgpiod")).toEqual([]);
  });
});
