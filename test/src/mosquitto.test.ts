import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

function mosquittoPath(): string | undefined {
  for (const candidate of ["mosquitto", "/usr/sbin/mosquitto"]) {
    // `mosquitto -h` prints its help and exits non-zero; only a spawn error means it is absent.
    const probe = spawnSync(candidate, ["-h"], { stdio: "ignore" });
    if (!probe.error) return candidate;
  }
  return undefined;
}

const mosquitto = mosquittoPath();
if (!mosquitto) {
  console.warn(
    "SKIPPED: the Mosquitto interop test needs the `mosquitto` program (apt-get install mosquitto); .ci/run installs it.",
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let broker: ChildProcess;
let port: number;

describe.skipIf(!mosquitto)("agents against a stock Mosquitto broker", () => {
  beforeAll(async () => {
    port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "consort-mosquitto-"));
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(
      conf,
      [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", ""].join("\n"),
    );
    broker = spawn(mosquitto!, ["-c", conf], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const c = connect(port, "127.0.0.1", () => {
          c.end();
          resolve(true);
        });
        c.on("error", () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("mosquitto did not start");
  });
  afterAll(() => {
    broker?.kill("SIGTERM");
  });

  it("a fleet with disruptions completes feasibly over Mosquitto", async () => {
    const run = await runCli(
      [
        "fleet",
        "--json",
        "--seed",
        "2",
        "--broker",
        `mqtt://127.0.0.1:${port}`,
        "--out",
        mkdtempSync(join(tmpdir(), "consort-mq-out-")),
      ],
      { timeoutMs: 90_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.feasible).toBe(true);
    expect(r.completed).toBe(r.activities);
    expect(r.processes).toBe(r.agents + 1);
  });
});
