import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  benchSeeds,
  confirmation,
  lossesBeyondMargin,
  meanCi,
  pairedDifference,
  type ScenarioRow,
  summarize,
} from "./bench-ctaems.js";

describe("bench ctaems statistics", () => {
  it("mean with a 95% half-width from the sample standard deviation", () => {
    const { mean, ci } = meanCi([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    // s = sqrt(5/3), half-width = 1.96 s / sqrt(4)
    expect(ci).toBeCloseTo((1.96 * Math.sqrt(5 / 3)) / 2, 10);
    expect(meanCi([7]).ci).toBe(0);
  });

  it("paired differences: significant only when the interval excludes zero", () => {
    const clear = pairedDifference([3, 4, 5, 6], [1, 2, 3, 4]);
    expect(clear).toMatchObject({ mean: 2, ci: 0, significant: true, wins: 4, losses: 0 });
    const noisy = pairedDifference([3, 0, 5, 0], [1, 2, 3, 4]);
    expect(noisy.significant).toBe(false);
    expect(noisy.wins).toBe(2);
    expect(noisy.losses).toBe(2);
    expect(pairedDifference([1, 1], [1, 1]).significant).toBe(false);
  });
});

/** A scenario row of two equal trials, with the fields the summaries read. */
const row = (name: string, bos: number, consort: number, pos?: number): ScenarioRow =>
  ({
    name,
    seed: 1,
    trials: 2,
    bos: { mean: bos, ci: 0 },
    consort: { mean: consort, ci: 0 },
    consortOverBos: pairedDifference([consort, consort], [bos, bos]),
    ...(pos ? { consortOverPos: consort / pos } : {}),
  }) as unknown as ScenarioRow;

describe("bench ctaems seeds", () => {
  it("several seeds by default; --seed picks one, --seeds a list", () => {
    expect(benchSeeds({})).toEqual([1, 2, 3]);
    expect(benchSeeds({ seed: 7 })).toEqual([7]);
    expect(benchSeeds({ seed: 7, seeds: "3, 4,4,5" })).toEqual([3, 4, 5]);
    expect(() => benchSeeds({ seeds: "1,x" })).toThrow(/--seeds: "x"/);
  });

  it("summarizes wins, ties, losses, the worst loss and Consort / POS", () => {
    const s = summarize([
      row("a", 10, 12, 12),
      row("b", 10, 10, 20),
      row("c", 50, 45),
      row("d", 10, 8),
    ]);
    expect(s).toMatchObject({ scenarios: 4, wins: 1, ties: 1, losses: 2, significant: 1 });
    expect(s.worstLossPct).toBeCloseTo(20, 10);
    expect(s.worstLoss).toEqual(["d", "c"]);
    expect(s.consortOverPos).toBeCloseTo(0.75, 10);
    expect(summarize([row("a", 10, 10)])).toMatchObject({ worstLossPct: 0, consortOverPos: null });
  });
});

describe("bench ctaems confirmation of losses", () => {
  it("re-runs only losses beyond 2% of BOS, worst first", () => {
    const rows = [row("win", 10, 12), row("small", 100, 98.5), row("a", 100, 97), row("b", 10, 8)];
    expect(lossesBeyondMargin(rows).map((r) => r.name)).toEqual(["b", "a"]);
    expect(lossesBeyondMargin([row("edge", 100, 98)])).toEqual([]);
  });

  it("a loss holds when the longer run's mean is still beyond the margin", () => {
    const noise = confirmation("n", 3, [10, 12, 9, 11], [10, 10, 10, 10]);
    expect(noise).toMatchObject({ name: "n", seed: 3, trials: 4, bos: 10, consort: 10.5 });
    expect(noise.differencePct).toBeCloseTo(5, 10);
    expect(noise.holds).toBe(false);
    const real = confirmation("r", 3, [9, 9.5, 9.8, 9.6], [10, 10, 10, 10]);
    expect(real.differencePct).toBeCloseTo(-5.25, 10);
    expect(real.holds).toBe(true);
    expect(real.difference.significant).toBe(true);
  });
});

const consort = fileURLToPath(new URL("../../bin/consort.js", import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [consort, ...args], { encoding: "utf8", timeout: 300_000 });

describe("consort bench ctaems", () => {
  it("--distributed runs every agent as a process and agrees with the in-process run", () => {
    const r = cli(
      "bench",
      "ctaems",
      "--suite",
      "backup",
      "--only",
      "backup-w1",
      "--seed",
      "1",
      "--trials",
      "2",
      "--pos-limit",
      "0",
      "--distributed",
      "--json",
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.suite).toBe("backup");
    expect(report.scenarios).toHaveLength(1);
    const [row] = report.scenarios;
    expect(row.name).toBe("backup-w1");
    // 3 strategies x 2 trials, each identical to its in-process twin
    expect(report.distributed).toEqual({ identical: 6, runs: 6 });
    expect(row.distributed.bytesPerAgent).toBeGreaterThan(0);
    expect(row.consort).toBeGreaterThan(row.initial);
    expect(row.messages).toBeGreaterThan(0);
  }, 300_000);

  it("--confirm re-runs each loss beyond 2% on the bench's own trials, extended", () => {
    // Over 8 trials Consort loses 6.6% to BOS in the first and wins the second by 29%.
    const args = [
      "bench",
      "ctaems",
      "--suite",
      "random",
      "--seed",
      "12",
      "--only",
      "random-nle-medium-fail-high-ov4,random-nle-low-fail-low-ov1",
      "--trials",
      "8",
      "--pos-limit",
      "0",
      "--json",
    ];
    const same = cli(...args, "--confirm", "8");
    expect(same.status, same.stderr).toBe(0);
    const report = JSON.parse(same.stdout);
    const losing = report.scenarios.filter(
      (s: { bos: number; consort: number }) => s.consort < 0.98 * s.bos,
    );
    expect(losing.length, "pick a scenario Consort loses beyond 2% over 8 trials").toBe(1);
    const [c] = report.perSeed[0].confirmations;
    expect(report.confirm).toEqual({ trials: 8, lossesBeyondMargin: 1, holding: 1 });
    // The same 8 trials again: the confirming run reproduces the bench's own figures.
    expect(c.name).toBe(losing[0].name);
    expect(c.bos).toBeCloseTo(losing[0].bos, 10);
    expect(c.consort).toBeCloseTo(losing[0].consort, 10);
    expect(c.holds).toBe(true);
    const longer = JSON.parse(cli(...args, "--confirm", "64").stdout);
    const [d] = longer.perSeed[0].confirmations;
    expect(d.trials).toBe(64);
    expect(d.holds).toBe(d.differencePct < -2);
    expect(d.bos).not.toBeCloseTo(c.bos, 5);
    const fewer = cli(...args, "--confirm", "4");
    expect(fewer.status).toBe(64);
    expect(fewer.stderr.trim()).toBe(
      "consort: --confirm 4: a loss is confirmed over more trials than the bench ran, not fewer (--trials 8)",
    );
  }, 300_000);

  it("--only that matches nothing stops with one line", () => {
    const r = cli("bench", "ctaems", "--only", "nothing-like-this", "--pos-limit", "0");
    expect(r.status).toBe(64);
    expect(r.stderr.trim().split("\n")).toEqual([
      'consort: --only: no backup scenario is named "nothing-like-this" (they are named like backup-w1)',
    ]);
  });
});
