/**
 * `consort fleet --broker-crashes 1`: the fleet's broker runs as a process keeping sessions,
 * subscriptions and queued QoS 1 messages in a redis-server of its own, and is killed with
 * SIGKILL at a seeded tick and started again on the same port. The run must still end feasible,
 * every activity done once, proven from the agents' journals. Skips, saying so, when
 * redis-server is absent (`.ci/run` installs it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const hasRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasRedis)
  console.warn(
    "fleet-broker-crash.test.ts: SKIPPED: redis-server is not installed (apt-get install redis-server)",
  );

interface FleetJson {
  activities: number;
  completed: number;
  feasible: boolean;
  integrity: { lost: number; duplicated: number };
  brokerRestarts?: { atTicks: number; downMs: number }[];
  endTicks: number;
  journals?: string;
}

describe.skipIf(!hasRedis)("consort fleet --broker-crashes (kill -9 of the broker mid-run)", () => {
  it.each([2, 4])(
    "seed %i: completes feasibly with nothing lost and nothing run twice across the restart",
    async (seed) => {
      const journals = join(mkdtempSync(join(tmpdir(), "consort-broker-crash-")), "run");
      const out = mkdtempSync(join(tmpdir(), "consort-broker-crash-out-"));
      const run = await runCli(
        [
          "fleet",
          "--seed",
          String(seed),
          "--broker-crashes",
          "1",
          "--json",
          "--out",
          out,
          "--keep-journals",
          journals,
        ],
        { timeoutMs: 50_000 },
      );
      if (run.code !== 0)
        throw new Error(`consort fleet exited ${run.code}: ${run.stderr.slice(-2000)}`);
      const r = JSON.parse(run.stdout.trim()) as FleetJson;
      expect(r.feasible).toBe(true);
      expect(r.completed).toBe(r.activities);
      expect(r.integrity).toEqual({ lost: 0, duplicated: 0 });
      // Killed once, mid-run, and started again.
      expect(r.brokerRestarts).toHaveLength(1);
      const [restart] = r.brokerRestarts!;
      expect(restart!.atTicks).toBeGreaterThan(0);
      expect(restart!.atTicks).toBeLessThan(r.endTicks);
      expect(restart!.downMs).toBeGreaterThan(0);
      // The broker's own log says so too: two processes started, one after the other.
      const pids = new Set(
        readFileSync(join(journals, "broker.log"), "utf8")
          .trim()
          .split("\n")
          .map((line) => (JSON.parse(line) as { pid: number }).pid),
      );
      expect(pids.size).toBe(2);
      console.log(
        `seed ${seed}: broker killed at tick ${restart!.atTicks}, back after ${restart!.downMs} ms; ${r.completed}/${r.activities} done by tick ${r.endTicks}, lost 0, duplicated 0`,
      );
    },
  );

  it("refuses --broker-crashes with an external --broker, in one line", async () => {
    const run = await runCli([
      "fleet",
      "--broker-crashes",
      "1",
      "--broker",
      "mqtt://127.0.0.1:1",
      "--json",
    ]);
    expect(run.code).toBe(64);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("--broker-crashes");
  });
});
