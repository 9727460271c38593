import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const quiet = ["--breakdowns", "0", "--overruns", "0", "--rush-orders", "0", "--offline", "0"];
// One fault of each kind, each on another machine (saw, lathe, mill) of the default scenario.
const faults = [
  "--fault",
  "disconnect@shaft-a.o0",
  "--fault",
  "stall@shaft-a.o1",
  "--fault",
  "fault:17@bracket-b.o1",
];

interface Record_ {
  t: string;
  activityId?: string;
  reason?: string;
}

/** Every journal record of a kept run, all agents together. */
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

describe("consort fleet --environment: agents drive the rig's emulated devices through their adapters", () => {
  it.each(["modbus", "vda5050", "opcua"])(
    "%s: a disconnect, a stall and a fault code end in a feasible run, each activity completed exactly once",
    async (kind) => {
      const keep = join(mkdtempSync(join(tmpdir(), `consort-rig-${kind}-`)), "journals");
      const out = mkdtempSync(join(tmpdir(), "consort-rig-out-"));
      const run = await runCli(
        [
          "fleet",
          "--json",
          "--seed",
          "3",
          "--environment",
          kind,
          "--out",
          out,
          "--keep-journals",
          keep,
          ...quiet,
          ...faults,
        ],
        { timeoutMs: 240_000 },
      );
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
        feasible: boolean;
        completed: number;
        activities: number;
      };
      expect(report.feasible).toBe(true);
      expect(report.completed).toBe(report.activities);

      const records = journals(keep);
      // Nothing lost, nothing run twice: one completion per activity over all agents' journals.
      const completions = new Map<string, number>();
      for (const r of records)
        if (r.t === "complete")
          completions.set(r.activityId!, (completions.get(r.activityId!) ?? 0) + 1);
      expect(completions.size).toBe(report.activities);
      expect([...completions.values()].every((n) => n === 1)).toBe(true);
      // Each injected fault (its code in the device's own words) reached the agent as a failure with the device's reason, and the
      // activity was run again and completed.
      const failed = (activityId: string, reason: RegExp) =>
        records.some(
          (r) => r.t === "fail" && r.activityId === activityId && reason.test(r.reason!),
        );
      expect(failed("shaft-a.o0", /^device-(disconnected|timeout|unavailable)/)).toBe(true);
      expect(failed("shaft-a.o1", /^device-stalled/)).toBe(true);
      expect(failed("bracket-b.o1", /^device-fault/)).toBe(true);
    },
    300_000,
  );

  it("on lock-step time each adapter gives the simulator's objectives for the same seed", async () => {
    const objectives = async (environment: string) => {
      const out = mkdtempSync(join(tmpdir(), "consort-rig-out-"));
      const args = ["fleet", "--json", "--seed", "3", "--environment", environment, "--out", out];
      const run = await runCli(args, { timeoutMs: 120_000 });
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const lines = run.stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      const r = JSON.parse(lines[0]!) as {
        feasible: boolean;
        completed: number;
        activities: number;
        objectives: unknown;
      };
      expect(r.feasible).toBe(true);
      expect(r.completed).toBe(r.activities);
      return r.objectives;
    };
    const sim = await objectives("sim");
    for (const kind of ["modbus", "vda5050", "opcua"]) expect(await objectives(kind)).toEqual(sim);
  }, 400_000);
});
