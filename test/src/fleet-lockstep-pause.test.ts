import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.js";

const bin = fileURLToPath(new URL("../../apps/cli/bin/consort.js", import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A loaded machine, made sure of: the fleet's process (the coordinator and the rig's devices) is
 * stopped now and then for longer than the devices' usual answer time. Lock-step time must not
 * notice: the same seed gives the same objectives.
 */
async function pausedFleet(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  let running = true;
  void closed.then(() => {
    running = false;
  });
  await sleep(2000);
  for (let i = 0; i < 3 && running; i++) {
    child.kill("SIGSTOP");
    await sleep(2500);
    child.kill("SIGCONT");
    await sleep(1000);
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const code = await closed;
  clearTimeout(timer);
  return { code, out };
}

describe("lock-step fleet on a paused process", () => {
  it("a Modbus rig gives the simulator's objectives and no device timeouts", async () => {
    const sim = await runCli(["fleet", "--json", "--seed", "3"], { timeoutMs: 120_000 });
    expect(sim.code, sim.stderr.slice(-2000)).toBe(0);
    const journals = mkdtempSync(join(tmpdir(), "consort-pause-"));
    const keep = join(journals, "j");
    const paused = await pausedFleet([
      "fleet",
      "--json",
      "--seed",
      "3",
      "--environment",
      "modbus",
      "--keep-journals",
      keep,
    ]);
    expect(paused.code).toBe(0);
    const objectives = (text: string) =>
      (JSON.parse(text.trim().split("\n").at(-1)!) as { objectives: unknown }).objectives;
    expect(objectives(paused.out)).toEqual(objectives(sim.stdout));
    const reasons = readdirSync(keep)
      .filter((f) => f.endsWith(".journal"))
      .flatMap((f) => readFileSync(join(keep, f), "utf8").match(/device-[a-z]+/g) ?? []);
    expect(reasons).toEqual([]);
  }, 300_000);
});
