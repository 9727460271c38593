import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sampleProcess } from "../proc.js";
import type { ScaleRow } from "./bench-scale.js";

const dir = mkdtempSync(join(tmpdir(), "consort-bench-scale-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../bin/consort.js", import.meta.url));

describe("bench scale", () => {
  it("reads a live process's memory and CPU from /proc, and nothing of a gone one", () => {
    const self = sampleProcess(process.pid);
    expect(self).toBeDefined();
    // This process holds at least its own heap in resident memory.
    expect(self!.rssKiB * 1024).toBeGreaterThan(process.memoryUsage().heapUsed / 2);
    expect(self!.peakKiB).toBeGreaterThanOrEqual(self!.rssKiB);
    expect(self!.cpuMs).toBeGreaterThan(0);
    const child = spawnSync(process.execPath, ["-e", "0"]);
    expect(child.status).toBe(0);
    expect(sampleProcess(child.pid!)).toBeUndefined();
  });

  it("runs fleets of agent processes over a broker, checked against the in-process run, and writes its section", {
    timeout: 120_000,
  }, () => {
    const out = join(dir, "RESULTS.md");
    writeFileSync(
      out,
      "# Benchmark results\n\n<!-- bench:other -->\nkept\n<!-- /bench:other -->\n",
    );
    const r = spawnSync(
      process.execPath,
      [
        bin,
        "bench",
        "scale",
        "--agents",
        "4,6",
        "--agents-per-process",
        "2",
        "--json",
        "--out",
        out,
      ],
      { encoding: "utf8", timeout: 110_000 },
    );
    expect(r.stderr).not.toMatch(/unexpected failure/);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { sizes: ScaleRow[] };
    expect(report.sizes.map((s) => s.activities)).toEqual([40, 60]);
    for (const s of report.sizes) {
      expect(s.processes).toBe(Math.ceil(s.agents / 2));
      expect(s.inProcess?.identical).toBe(true);
      expect(s.inProcess?.rootQuality).toBe(s.rootQuality);
      expect(s.ticks).toBeGreaterThan(10);
      // Every tick goes out to every agent and comes back, through the broker.
      expect(s.control).toBe(2 * s.agents * s.ticks);
      expect(s.brokerInPerSecond * (s.wallMs / 1000)).toBeGreaterThanOrEqual(s.agents * s.ticks);
      expect(s.brokerOutPerSecond * (s.wallMs / 1000)).toBeGreaterThanOrEqual(s.agents * s.ticks);
      expect(s.agentRssPeakMiB.max).toBeGreaterThanOrEqual(s.agentRssPeakMiB.median);
      expect(s.agentRssIdleMiB).toBeGreaterThan(10);
      expect(s.agentsCpuMs).toBeGreaterThan(0);
    }
    const results = readFileSync(out, "utf8");
    expect(results).toContain("kept");
    expect(results).toContain("<!-- bench:scale -->");
    expect(results).toContain("consort bench scale --agents 4,6 --agents-per-process 2");
  });

  it("stops with one line and exit 64 on a bad size list", () => {
    const r = spawnSync(process.execPath, [bin, "bench", "scale", "--agents", "10,x"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/--agents must be a comma-separated list/);
  });
});
