import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const out = mkdtempSync(join(tmpdir(), "consort-fleet-mixed-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Bar {
  activityId: string;
  jobId: string;
  startTicks: number;
  endTicks: number;
  quality: number;
}

describe("consort fleet on a job shop mixed with a C-TAEMS network (press-shop)", () => {
  it("plans and runs every activity, and reports the root quality of what ran", async () => {
    const run = await runCli(
      ["fleet", "--json", "--out", out, "--scenario", "scenarios/press-shop.yaml", "--seed", "3"],
      { timeoutMs: 90_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const r = JSON.parse(run.stdout.trim());
    expect(r.completed).toBe(r.activities);
    expect(r.feasible).toBe(true);
    // What ran to completion (the report also draws attempts a breakdown cut short).
    const executed: Bar[] = (
      JSON.parse(readFileSync(r.report.json, "utf8")).executed as (Bar & { status: string })[]
    ).filter((e) => e.status === "completed");
    const bar = (id: string) => executed.find((e) => e.activityId === id)!;
    // The network's enables link held: the maintenance waited for the inspection.
    for (const id of ["service-press", "swap-tool"])
      expect(bar(id).startTicks).toBeGreaterThanOrEqual(bar("inspect").endTicks);
    expect(bar("order-18.o0").startTicks).toBeGreaterThanOrEqual(bar("order-17.o0").endTicks);
    // The tree by hand: each job (orders and rush jobs) is a min over its operations; the
    // mission sums the inspection and the max of the two ways to maintain (deadline 200).
    const jobs = new Set(executed.map((e) => e.jobId).filter((j) => j !== "mission"));
    let expected = 0;
    for (const j of jobs)
      expected += Math.min(...executed.filter((e) => e.jobId === j).map((e) => e.quality));
    const inspect = bar("inspect").quality;
    const maintain = Math.max(
      ...["service-press", "swap-tool"].map((id) =>
        inspect > 0 && bar(id).endTicks <= 200 ? bar(id).quality : 0,
      ),
    );
    expected += inspect + maintain;
    expect(expected).toBeGreaterThan(0);
    expect(r.objectives.quality).toBe(expected);
  });
});
