import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// The coordinator killed (as kill -9: no DISCONNECT, its memory gone) at a seeded tick, and a new
// one resumed from its journal in a new epoch: the run ends feasible, every activity done once.
const out = mkdtempSync(join(tmpdir(), "consort-coordinator-crash-"));

interface Summary {
  feasible: boolean;
  completed: number;
  activities: number;
  integrity: { lost: number; duplicated: number };
  coordinatorEpoch: number;
  coordinatorCrashes: { atTicks: number; epoch: number; resumedEpoch: number }[];
  objectives: Record<string, number>;
  endTicks: number;
}

async function fleet(args: string[], journals?: string): Promise<Summary> {
  const run = await runCli(
    ["fleet", ...args, "--json", "--out", out, ...(journals ? ["--keep-journals", journals] : [])],
    { timeoutMs: 60_000 },
  );
  expect(run.code, run.stderr.slice(-1000)).toBe(0);
  expect(run.stdout.trim().split("\n")).toHaveLength(1);
  return JSON.parse(run.stdout) as Summary;
}

/** The ids of coordinator commands an agent journalled, by epoch. */
function commandEpochs(file: string): Set<number> {
  const epochs = new Set<number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\{"t":"command","id":"coordinator:(\d+):/.exec(line);
    if (m) epochs.add(Number(m[1]));
  }
  return epochs;
}

/** Checks a run that crashed `crashes` times, from its summary and its journals. */
function expectResumed(r: Summary, crashes: number, journals: string): void {
  expect(r.feasible).toBe(true);
  expect(r.completed).toBe(r.activities);
  expect(r.integrity).toEqual({ lost: 0, duplicated: 0 });
  // They really happened, mid-run, each session taking over in a higher epoch.
  expect(r.coordinatorEpoch).toBe(crashes + 1);
  expect(r.coordinatorCrashes).toHaveLength(crashes);
  r.coordinatorCrashes.forEach((c, i) => {
    expect(c).toMatchObject({ epoch: i + 1, resumedEpoch: i + 2 });
    expect(c.atTicks).toBeGreaterThan(0);
    expect(c.atTicks).toBeLessThan(r.endTicks);
  });
  // Every session on one journal; every agent took commands from each of them.
  const coordinator = readFileSync(join(journals, "coordinator.journal"), "utf8");
  expect(coordinator.match(/"t":"epoch"/g)).toHaveLength(crashes + 1);
  const agents = readdirSync(journals).filter(
    (f) => f.endsWith(".journal") && f !== "coordinator.journal",
  );
  expect(agents.length).toBeGreaterThan(1);
  const epochs = Array.from({ length: crashes + 1 }, (_, i) => i + 1);
  for (const a of agents) expect([...commandEpochs(join(journals, a))].sort(), a).toEqual(epochs);
}

describe("consort fleet --coordinator-crashes", () => {
  it("seed 3, one crash: the run completes feasibly, nothing lost or run twice", async () => {
    const journals = join(out, "journals-3");
    const r = await fleet(
      ["--seed", "3", "--coordinator-crashes", "1", "--offline", "0"],
      journals,
    );
    expectResumed(r, 1, journals);
  });

  it("seed 4, two crashes and an agent killed: the same objectives as without the crashes (no churn)", async () => {
    const args = ["--seed", "4", "--offline", "1"];
    const journals = join(out, "journals-4");
    const crashed = await fleet([...args, "--coordinator-crashes", "2"], journals);
    expectResumed(crashed, 2, journals);
    const calm = await fleet(args);
    expect(calm.coordinatorCrashes).toEqual([]);
    expect(calm.coordinatorEpoch).toBe(1);
    expect(crashed.objectives).toEqual(calm.objectives);
  });

  const refused: [string, string[], RegExp][] = [
    [
      "more crashes than the bound",
      ["--coordinator-crashes", "101"],
      /--coordinator-crashes must be an integer from 0 to 100/,
    ],
    ["a negative count", ["--coordinator-crashes", "-1"], /--coordinator-crashes must be/],
    [
      "crashes under the dashboard",
      ["--coordinator-crashes", "1", "--http", "127.0.0.1:0"],
      /--coordinator-crashes 1: --http serves one coordinator's dashboard/,
    ],
  ];
  for (const [what, args, line] of refused)
    it(`refuses ${what} up front, in one line`, async () => {
      const run = await runCli(["fleet", ...args, "--json", "--out", out], { timeoutMs: 20_000 });
      expect(run.code).toBe(64);
      expect(run.stdout).toBe("");
      expect(run.stderr.split("\n")[0]).toMatch(line);
    });
});
