/**
 * Two brokers over one Redis carry a fleet, and the fleet completes after one of them is killed:
 * the coordinator and half the agents start on the broker that is killed (SIGKILL, not started
 * again) mid-run, and carry on through the other with their sessions from Redis. The harness is
 * called directly (no CLI flag). Skips, saying so, when redis-server is absent.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScenario } from "@consort/core";
import { runFleet } from "@consort/hardware/harness";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

const hasRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasRedis)
  console.warn(
    "fleet-two-brokers.test.ts: SKIPPED: redis-server is not installed (apt-get install redis-server)",
  );

describe.skipIf(!hasRedis)("a fleet over two brokers sharing Redis", () => {
  it("completes feasibly, nothing lost or run twice, after the coordinator's broker is killed", async () => {
    const file = join(repoRoot, "scenarios/default.yaml");
    const parsed = parseScenario(readFileSync(file, "utf8"), file);
    if (!parsed.ok) throw new Error("scenarios/default.yaml does not parse");
    const result = await runFleet({
      scenarioName: parsed.value.model.name,
      model: parsed.value.model,
      seed: 3,
      site: "default",
      runDir: mkdtempSync(join(tmpdir(), "consort-two-brokers-")),
      objective: "twt",
      disruptions: { breakdowns: 1, overruns: 1, rushOrders: 1, offlines: 0 },
      brokerLoss: true,
      stallMs: 20_000,
    });
    const { report, integrity } = result;
    expect(result.brokerLost?.atTicks).toBeGreaterThan(0);
    expect(result.brokerLost!.atTicks).toBeLessThan(report.endTicks);
    expect(report.feasible).toBe(true);
    expect(report.completed).toBe(report.activities);
    expect({ lost: integrity.lost, duplicated: integrity.duplicated }).toEqual({
      lost: 0,
      duplicated: 0,
    });
    console.log(
      `two brokers: one killed at tick ${result.brokerLost!.atTicks}; ${report.completed}/${report.activities} done by tick ${report.endTicks}, lost 0, duplicated 0`,
    );
  }, 60_000);
});
