import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { journalIntegrity } from "@consort/hardware/harness";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.js";

const out = mkdtempSync(join(tmpdir(), "consort-fleet-integrity-"));
const bin = fileURLToPath(new URL("../../apps/cli/bin/consort.js", import.meta.url));

describe("integrity from the agents' journals", () => {
  it("counts an activity never completed as lost, and one run twice as duplicated", () => {
    const dir = mkdtempSync(join(tmpdir(), "consort-journals-"));
    const lines = (records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");
    writeFileSync(
      join(dir, "saw.journal"),
      lines([
        { t: "start", activityId: "a", atTicks: 0, durationTicks: 2 },
        { t: "complete", activityId: "a", atTicks: 2, quality: 1 },
        // failed, then run again: one run, not two
        { t: "start", activityId: "b", atTicks: 2, durationTicks: 2 },
        { t: "fail", activityId: "b", atTicks: 3, reason: "jam" },
        { t: "start", activityId: "b", atTicks: 4, durationTicks: 2 },
        { t: "complete", activityId: "b", atTicks: 6, quality: 1 },
      ]) + '{"t":"start","activ', // the torn last line of a killed agent
    );
    writeFileSync(
      join(dir, "mill.journal"),
      lines([
        { t: "start", activityId: "a", atTicks: 3, durationTicks: 2 },
        { t: "complete", activityId: "a", atTicks: 5, quality: 1 },
      ]),
    );
    expect(journalIntegrity(dir, ["saw", "mill", "gone"], ["a", "b", "c"])).toEqual({
      lost: 1,
      duplicated: 1,
      lostIds: ["c"],
      duplicatedIds: ["a"],
    });
  });

  it("reads a compacted journal: its snapshot's completed and running activities count once", () => {
    const dir = mkdtempSync(join(tmpdir(), "consort-journals-"));
    const lines = (records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");
    writeFileSync(
      join(dir, "saw.journal"),
      lines([
        {
          t: "snapshot",
          finished: [["a", { atTicks: 2, quality: 1 }]],
          started: [["b", { atTicks: 4, durationTicks: 2 }]],
        },
        { t: "complete", activityId: "b", atTicks: 6, quality: 1 },
        // started again while its run from before the compaction was open: a second run
        { t: "start", activityId: "a", atTicks: 7, durationTicks: 2 },
      ]),
    );
    expect(journalIntegrity(dir, ["saw"], ["a", "b", "c"])).toEqual({
      lost: 1,
      duplicated: 1,
      lostIds: ["c"],
      duplicatedIds: ["a"],
    });
  });

  it("consort fleet --json: exactly one JSON object on stdout, with nothing lost or run twice", async () => {
    const run = await runCli(["fleet", "--seed", "3", "--json", "--out", out], {
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr.slice(-1000)).toBe(0);
    expect(run.stdout.endsWith("}\n")).toBe(true);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    const report = JSON.parse(run.stdout) as { integrity: unknown; feasible: boolean };
    expect(report.feasible).toBe(true);
    expect(report.integrity).toEqual({ lost: 0, duplicated: 0 });
    // The report shows what the breakdowns cut short (from the agents' journals), the jobs' due
    // dates and their lateness.
    const file = JSON.parse(readFileSync(join(out, "fleet-machining-cell-seed3.json"), "utf8")) as {
      executed: { activityId: string; status: string; startTicks: number; endTicks: number }[];
      jobs: { jobId: string; dueTicks?: number; endTicks?: number; latenessTicks?: number }[];
    };
    const failed = file.executed.filter((e) => e.status === "failed");
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f.endTicks).toBeGreaterThan(f.startTicks);
      // The interrupted activity ran again, to completion.
      expect(
        file.executed.some((e) => e.activityId === f.activityId && e.status === "completed"),
      ).toBe(true);
    }
    const late = file.jobs.filter((j) => (j.latenessTicks ?? 0) > 0);
    expect(late.length).toBeGreaterThan(0);
    for (const j of late) expect(j.latenessTicks).toBe(j.endTicks! - j.dueTicks!);
  }, 100_000);
});

describe("consort fleet after a stall", () => {
  it("exits: an agent frozen with SIGSTOP stalls the run, which ends with one line and code 70", async () => {
    // No scripted offline agent: its restart would change the pid frozen below.
    const args = [bin, "fleet", "--seed", "3", "--offline", "0", "--json", "--out", out];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    // Freeze the first agent process as soon as it exists (the run takes about a second on a
    // quiet machine): the fleet waits for it for ever, at its start or mid-run.
    let frozen: number | undefined;
    for (let i = 0; i < 2000 && frozen === undefined; i++) {
      try {
        const pid = execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], {
          encoding: "utf8",
        })
          .split("\n")
          .map((l) => Number(l.trim()))
          .find((n) => n > 0);
        if (pid !== undefined) {
          process.kill(pid, "SIGSTOP");
          frozen = pid;
        }
      } catch {
        // no child yet (ps exits 1), or it went between ps and kill
      }
      if (frozen === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    expect(frozen).toBeDefined();
    try {
      const code = await Promise.race([
        exited,
        new Promise<"hung">((r) => setTimeout(() => r("hung"), 60_000)),
      ]);
      expect(code).toBe(70);
      expect(stdout).toBe("");
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(/stalled|online/);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      for (const pid of [frozen!, child.pid!])
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
    }
  }, 90_000);
});
