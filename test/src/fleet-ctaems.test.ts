import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const out = mkdtempSync(join(tmpdir(), "consort-fleet-ctaems-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface CscFleetJson {
  family: string;
  clock: string;
  agents: number;
  processes: number;
  activities: number;
  completed: number;
  breakdown: { succeeded: number; failed: number; aborted: number; skipped: number; open: number };
  feasible: boolean;
  violations: string[];
  objectives: { quality: number };
  reference: { initial: number; bos: number };
  identicalToInProcess?: boolean;
  messages: number;
  bytes: number;
  refused: unknown[];
  endTicks: number;
}

async function fleet(args: string[]): Promise<CscFleetJson> {
  const run = await runCli(["fleet", "--json", "--out", out, ...args], { timeoutMs: 120_000 });
  if (run.code !== 0)
    throw new Error(
      `consort fleet ${args.join(" ")} exited ${run.code}: ${run.stderr.slice(-2000)}`,
    );
  const lines = run.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as CscFleetJson;
}

describe("consort fleet on a C-TAEMS network (the rover team)", () => {
  it("runs to completion on lock-step time, exactly as in one process", async () => {
    const r = await fleet(["--scenario", "scenarios/rover-team.yaml", "--seed", "3"]);
    expect(r.family).toBe("ctaems");
    expect(r.agents).toBe(6);
    expect(r.processes).toBe(6);
    expect(r.activities).toBe(8);
    expect(r.completed).toBe(r.activities);
    expect(r.breakdown.open).toBe(0);
    expect(r.feasible).toBe(true);
    expect(r.identicalToInProcess).toBe(true);
    // The team coordinated: messages crossed the broker, and it did better than agents alone.
    expect(r.messages).toBeGreaterThan(0);
    expect(r.objectives.quality).toBeGreaterThan(r.reference.bos);
  }, 150_000);

  it("runs to completion on the wall clock, nothing started twice", async () => {
    const r = await fleet([
      "--scenario",
      "scenarios/rover-team.yaml",
      "--seed",
      "3",
      "--clock",
      "wall",
      "--tick-ms",
      "100",
    ]);
    expect(r.clock).toBe("wall");
    expect(r.completed).toBe(r.activities);
    expect(r.feasible).toBe(true);
    expect(r.refused).toEqual([]);
    expect(r.objectives.quality).toBeGreaterThan(0);
  }, 150_000);
});
