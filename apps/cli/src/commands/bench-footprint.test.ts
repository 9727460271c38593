import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { busyShop, readMemory } from "./bench-footprint.js";

const dir = mkdtempSync(join(tmpdir(), "consort-bench-footprint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../bin/consort.js", import.meta.url));
const linux = process.platform === "linux";

describe("bench footprint", () => {
  it("gives the busy phase one machine and one activity per job", () => {
    const model = busyShop("fp-1", 12, 1);
    expect(model.resources.map((r) => r.id)).toEqual(["fp-1"]);
    expect(model.nodes.filter((n) => n.kind === "activity")).toHaveLength(12);
  });

  it.runIf(linux)("reads a process's memory from /proc", () => {
    const m = readMemory(process.pid);
    expect(m.rssKiB).toBeGreaterThan(1000);
    expect(m.pssKiB).toBeGreaterThan(0);
    expect(m.privateKiB).toBeGreaterThan(0);
  });

  it("refuses a bad flag in one line, exit 64", () => {
    const r = spawnSync(process.execPath, [bin, "bench", "footprint", "--runs", "0"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(64);
    expect(r.stderr.split("\n")[0]).toContain("--runs must be an integer >= 1");
  });

  it.runIf(linux)(
    "consort bench footprint --json measures bare node and a real agent that comes online and runs its work",
    () => {
      const out = join(dir, "RESULTS.md");
      const r = spawnSync(
        process.execPath,
        [
          bin,
          "bench",
          "footprint",
          "--runs",
          "1",
          "--jobs",
          "5",
          "--settle",
          "200",
          "--out",
          out,
          "--json",
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.benchmark).toBe("footprint");
      expect(report.rounds).toHaveLength(1);
      const round = report.rounds[0];
      for (const m of [round.bareIdle, round.agentIdle, round.agentAfterBusy, round.fullIdle]) {
        expect(m.rssKiB).toBeGreaterThan(1000);
        expect(m.pssKiB).toBeGreaterThan(0);
        expect(m.privateKiB).toBeGreaterThan(0);
        expect(m.privateKiB).toBeLessThanOrEqual(m.rssKiB);
      }
      expect(round.agentBusyRssKiB).toBeGreaterThan(1000);
      expect(round.bareReadyMs).toBeGreaterThan(0);
      expect(round.agentOnlineMs).toBeGreaterThan(0);
      expect(round.fullOnlineMs).toBeGreaterThan(0);
      expect(round.busyActivities).toBe(5);
      const s = report.summary;
      expect(s.idleRatio).toBeCloseTo(s.agentIdleRssKiB / s.bareRssKiB, 6);
      expect(typeof s.targets.memory).toBe("boolean");
      expect(typeof s.targets.online).toBe("boolean");
      const text = readFileSync(out, "utf8");
      expect(text).toContain("<!-- bench:footprint -->");
      expect(text).toContain("Command: `consort bench footprint --runs 1 --jobs 5`");
    },
    120_000,
  );
});
