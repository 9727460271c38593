import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { indexModel, managedJobsOf, parseScenario } from "@consort/core";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.js";

const out = mkdtempSync(join(tmpdir(), "consort-fleet-planners-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Planner {
  id: string;
  resources: string[];
  jobs: string[];
  loadTicks: number;
}

describe("consort fleet --planners 2", () => {
  it("balances the jobs across two planners, each job on exactly one, and runs them all once", async () => {
    const run = await runCli(["fleet", "--planners", "2", "--json", "--out", out, "--seed", "3"], {
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const r = JSON.parse(run.stdout.trim());
    expect(r.completed).toBe(r.activities);
    expect(r.feasible).toBe(true);
    expect(r.integrity).toEqual({ lost: 0, duplicated: 0 });

    const planners: Planner[] = r.planners;
    expect(planners.map((p) => p.id)).toEqual(["P1", "P2"]);
    // Every job of the final model (the rush order's too) is on exactly one planner.
    const file = JSON.parse(readFileSync(r.report.json, "utf8"));
    const jobIds: string[] = file.jobs.map((j: { jobId: string }) => j.jobId);
    const owned = planners.flatMap((p) => p.jobs);
    expect(owned.length).toBe(new Set(owned).size);
    expect([...owned].sort()).toEqual([...jobIds].sort());
    expect(jobIds.some((j) => j.startsWith("rush"))).toBe(true);
    for (const p of planners) expect(p.jobs.length).toBeGreaterThan(0);

    // The bound: longest job first to the less loaded planner (a rush job too, and moves only
    // within the bound) keeps the loads at most the largest job's work apart, since the planner
    // that ends on top was the less loaded when it took its last job. A scenario job's work is
    // its planned work; the rush jobs' work together is what the loads hold beyond those.
    const text = readFileSync(join(repoRoot, "scenarios/default.yaml"), "utf8");
    const scenario = parseScenario(text, "scenarios/default.yaml");
    if (!scenario.ok) throw new Error("scenarios/default.yaml does not parse");
    const index = indexModel(scenario.value.model);
    if (!index.ok) throw new Error("scenarios/default.yaml is not a valid model");
    const planned = managedJobsOf(index.value).map((j) =>
      j.operations.reduce((s, op) => s + op.durationTicks, 0),
    );
    const loads = planners.map((p) => p.loadTicks);
    const rushWork = loads.reduce((s, l) => s + l, 0) - planned.reduce((s, w) => s + w, 0);
    expect(rushWork).toBeGreaterThan(0);
    const bound = Math.max(...planned, rushWork);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(bound);
    // Cells overlap (a job shop's jobs visit most machines) and cover what the jobs need.
    for (const p of planners) expect(p.resources.length).toBeGreaterThan(1);
    for (const m of r.jobMoves as { accepted: boolean; valueBefore: number; valueAfter: number }[])
      expect(m.accepted).toBe(m.valueAfter < m.valueBefore);
  }, 120_000);

  it("refuses several planners on a C-TAEMS network with one line, before any process starts", async () => {
    const run = await runCli([
      "fleet",
      "--planners",
      "2",
      "--out",
      out,
      "--scenario",
      "scenarios/rover-team.yaml",
    ]);
    expect(run.code).toBe(64);
    expect(run.stderr.trim()).toBe(
      "consort: --planners 2: several planners share a job shop's jobs; scenarios/rover-team.yaml is a C-TAEMS network",
    );
  });

  it("consort coordinator takes --planners with the same checks, one line each, before connecting", async () => {
    const network = await runCli([
      "coordinator",
      "--planners",
      "2",
      "--scenario",
      "scenarios/rover-team.yaml",
    ]);
    expect(network.code).toBe(64);
    expect(network.stderr.trim()).toBe(
      "consort: --planners 2: several planners share a job shop's jobs; scenarios/rover-team.yaml is a C-TAEMS network",
    );
    for (const bad of ["0", "17", "2x"]) {
      const run = await runCli([
        "coordinator",
        "--planners",
        bad,
        "--scenario",
        "scenarios/default.yaml",
      ]);
      expect(run.code).toBe(64);
      expect(run.stderr.split("\n")[0]).toBe(
        `error: option '--planners <n>' argument '${bad}' is invalid. --planners must be an integer from 1 to 16, not "${bad}"`,
      );
    }
  });
});
