import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnvironment, type EnvironmentSettings } from "@consort/hardware";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.js";

// The serial rig joins each agent to its device through a socat pty pair.
const socat = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
if (!socat) console.warn("skipped: socat is not installed (Debian package socat): no serial rig");

const quiet = ["--breakdowns", "0", "--overruns", "0", "--rush-orders", "0", "--offline", "0"];

interface Record_ {
  t: string;
  activityId?: string;
  reason?: string;
  message?: { type: string; body: { cause?: string; activityIds?: string[]; detail?: string } };
}

function journals(dir: string): Record_[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".journal"))
    .flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record_),
    );
}

interface Report {
  feasible: boolean;
  completed: number;
  activities: number;
  escalations: number;
  objectives: unknown;
}

async function fleet(
  kind: string,
  extra: string[],
): Promise<{ report: Report; records: Record_[] }> {
  const keep = join(mkdtempSync(join(tmpdir(), `consort-rig-${kind}-`)), "journals");
  const out = mkdtempSync(join(tmpdir(), "consort-rig-out-"));
  const args = ["fleet", "--json", "--seed", "3", "--environment", kind, "--out", out];
  const run = await runCli([...args, "--keep-journals", keep, ...extra], { timeoutMs: 240_000 });
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Report;
  return { report, records: journals(keep) };
}

/** Nothing lost, nothing run twice: one completion per activity over all agents' journals. */
function completedOnce(report: Report, records: Record_[]): void {
  expect(report.feasible).toBe(true);
  expect(report.completed).toBe(report.activities);
  const completions = new Map<string, number>();
  for (const r of records)
    if (r.t === "complete")
      completions.set(r.activityId!, (completions.get(r.activityId!) ?? 0) + 1);
  expect(completions.size).toBe(report.activities);
  expect([...completions.values()].every((n) => n === 1)).toBe(true);
}

describe.skipIf(!socat)("consort fleet --environment serial", () => {
  it("on lock-step time gives the simulator's objectives for the same seed", async () => {
    const sim = await fleet("sim", []);
    const serial = await fleet("serial", []);
    completedOnce(serial.report, serial.records);
    expect(serial.report.objectives).toEqual(sim.report.objectives);
  }, 300_000);

  it("a disconnect, a stall and a fault code end in a feasible run, each activity completed once", async () => {
    const { report, records } = await fleet("serial", [
      ...quiet,
      "--fault",
      "disconnect@shaft-a.o0",
      "--fault",
      "stall@shaft-a.o1",
      "--fault",
      "fault:17@bracket-b.o1",
    ]);
    completedOnce(report, records);
    const failed = (activityId: string, reason: RegExp) =>
      records.some((r) => r.t === "fail" && r.activityId === activityId && reason.test(r.reason!));
    expect(failed("shaft-a.o0", /^device-(disconnected|timeout|unavailable)/)).toBe(true);
    expect(failed("shaft-a.o1", /^device-stalled/)).toBe(true);
    expect(failed("bracket-b.o1", /^device-fault: 17/)).toBe(true);
  }, 300_000);
});

describe("a device that fails the same activity again and again", () => {
  it.each(["modbus", ...(socat ? ["serial"] : [])])(
    "%s: after three failed runs in a row the agent escalates a breakdown, and the run still ends feasible",
    async (kind) => {
      const { report, records } = await fleet(kind, [
        ...quiet,
        "--fault",
        "fault:17@bracket-b.o1",
        "--fault",
        "fault:18@bracket-b.o1#2",
        "--fault",
        "fault:19@bracket-b.o1#3",
      ]);
      completedOnce(report, records);
      const fails = records.filter((r) => r.t === "fail" && r.activityId === "bracket-b.o1");
      expect(fails.map((r) => r.reason)).toEqual([
        "device-fault: 17",
        "device-fault: 18",
        "device-fault: 19",
      ]);
      // The escalation, journalled in the agent's outbox before it went out.
      const escalated = records.filter(
        (r) =>
          r.t === "out" &&
          r.message?.type === "failure" &&
          r.message.body.cause === "breakdown" &&
          r.message.body.activityIds?.includes("bracket-b.o1"),
      );
      expect(escalated).toHaveLength(1);
      expect(escalated[0]!.message!.body.detail).toMatch(
        /^3 runs failed in a row.*device-fault: 19/,
      );
      expect(report.escalations).toBeGreaterThanOrEqual(1);
    },
    300_000,
  );
});

describe.skipIf(!socat)("consort rig --kind serial", () => {
  it("prints each device's port and settings; an adapter runs an activity on it; Ctrl-C removes the ptys", async () => {
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "apps/cli/bin/consort.js"),
        "rig",
        "--scenario",
        "examples/plant.yaml",
        "--kind",
        "serial",
        "--tick-ms",
        "20",
        "--json",
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = "";
        const timer = setTimeout(() => reject(new Error(`no JSON line: ${text}`)), 20_000);
        child.stdout.on("data", (d: Buffer) => {
          text += d.toString();
          if (text.includes("\n")) {
            clearTimeout(timer);
            resolve(text.split("\n")[0]!);
          }
        });
      });
      const rig = JSON.parse(line) as {
        kind: string;
        devices: { resourceId: string; endpoint: string; environment: EnvironmentSettings }[];
      };
      expect(rig.kind).toBe("serial");
      const [lathe] = rig.devices;
      expect(lathe?.resourceId).toBe("lathe");
      expect(lathe?.endpoint).toMatch(/^serial \/.*\/agent$/);
      const path = (lathe!.environment as { path: string }).path;
      const env = await createEnvironment(lathe!.environment, {
        resourceId: "lathe",
        now: () => 0,
      });
      const ends: string[] = [];
      env.subscribe((e) => {
        if (e.kind === "completed" || e.kind === "failed") ends.push(`${e.kind} ${e.activityId}`);
      });
      env.start("flange.o0");
      for (let i = 0; i < 250 && ends.length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(ends).toEqual(["completed flange.o0"]);
      await env.close();
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(existsSync(path)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});
