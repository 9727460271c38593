import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  backupSuite,
  type CtaemsScenario,
  createRng,
  indexModel,
  type MipSolver,
  prescientOptimal,
  randomSuite,
  runStrategy,
  type Strategy,
  sampleOutcomes,
  trialKey,
  trialSeeds,
} from "@consort/core";
import { CtaemsCluster } from "@consort/hardware/harness";
import { machineLine, median, writeSection } from "../bench-report.js";
import { createHighsSolver } from "../ctaems/highs-solver.js";
import { CliError, EXIT } from "../errors.js";

export interface BenchCtaemsFlags {
  readonly suite: "backup" | "random";
  readonly trials: number;
  readonly seed: number;
  readonly distributed: boolean;
  /** Only these scenarios (comma-separated names). */
  readonly only?: string;
  /** POS time limit per trial, seconds; 0 skips the upper bar. */
  readonly posLimit: number;
  readonly out?: string;
  readonly json: boolean;
}

/** Mean with a 95% confidence half-width (normal approximation, sample standard deviation). */
export function meanCi(values: readonly number[]): { mean: number; ci: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, ci: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci: 0 };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, ci: 1.96 * Math.sqrt(variance / n) };
}

/**
 * Paired comparison of two strategies on the same trials: mean difference, its 95% interval,
 * and whether the interval excludes zero (the difference is significant at 5%).
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
): { mean: number; ci: number; significant: boolean; wins: number; losses: number } {
  const d = a.map((x, i) => x - (b[i] ?? 0));
  const { mean, ci } = meanCi(d);
  return {
    mean,
    ci,
    significant: Math.abs(mean) > ci && d.some((x) => x !== 0),
    wins: d.filter((x) => x > 1e-9).length,
    losses: d.filter((x) => x < -1e-9).length,
  };
}

export interface ScenarioRow {
  readonly name: string;
  readonly trials: number;
  readonly initial: { mean: number; ci: number };
  readonly bos: { mean: number; ci: number };
  readonly consort: { mean: number; ci: number };
  readonly pos?: { mean: number; ci: number; optimal: number; maxGap: number };
  readonly consortOverBos: ReturnType<typeof pairedDifference>;
  /** Consort's mean over POS's mean. */
  readonly consortOverPos?: number;
  /** Consort's messages per agent per trial. */
  readonly messages: number;
  readonly agents: number;
  readonly seconds: number;
  /** With --distributed: how the process-per-agent runs compare with the in-process ones. */
  readonly distributed?: {
    /** Runs (trial x strategy) whose root quality, executed activities and message counts equal the in-process run's. */
    readonly identical: number;
    readonly runs: number;
    /** Median wall time of one Consort trial across the processes, ms. */
    readonly consortWallMs: number;
    /** Consort's coordination bytes per agent per trial, as encoded on the wire. */
    readonly bytesPerAgent: number;
    /** Clock-master messages (ticks out, answers in) per Consort trial. */
    readonly controlPerTrial: number;
  };
}

async function runScenario(
  scenario: CtaemsScenario,
  flags: BenchCtaemsFlags,
  solver: MipSolver | undefined,
): Promise<ScenarioRow> {
  const started = process.hrtime.bigint();
  const indexed = indexModel(scenario.model);
  if (!indexed.ok)
    throw new CliError(
      `scenario ${scenario.name}: ${indexed.error[0]?.path}: ${indexed.error[0]?.message}`,
      EXIT.software,
    );
  const index = indexed.value;
  const results: Record<Strategy, number[]> = { initial: [], bos: [], consort: [] };
  const pos: number[] = [];
  let optimal = 0;
  let maxGap = 0;
  let messages = 0;
  const agents = new Set(index.activities.map((a) => a.resources[0])).size;
  const strategies = ["initial", "bos", "consort"] as const;
  const runDir = flags.distributed ? mkdtempSync(join(tmpdir(), "consort-ctaems-")) : undefined;
  const cluster = runDir
    ? await CtaemsCluster.start(index, scenario.initial, { strategies, runDir })
    : undefined;
  let identical = 0;
  let runs = 0;
  let bytes = 0;
  let control = 0;
  const walls: number[] = [];
  try {
    for (const [trial, seed] of trialSeeds(flags.seed, flags.trials).entries()) {
      // One key per trial: every strategy, and the prescient solver, meet the same outcomes.
      const key = trialKey(createRng(seed));
      for (const s of strategies) {
        const r = runStrategy(index, scenario.initial, s, key);
        let quality = r.rootQuality;
        let sent = r.traffic.messages;
        if (cluster) {
          // The figures are the processes'; the in-process run is there to check them against.
          const d = await cluster.run(s, trial, key);
          runs++;
          if (
            d.rootQuality === r.rootQuality &&
            d.traffic.messages === r.traffic.messages &&
            JSON.stringify(d.executed) === JSON.stringify(r.executed)
          )
            identical++;
          quality = d.rootQuality;
          sent = d.traffic.messages;
          if (s === "consort") {
            bytes += d.bytes;
            control += d.control;
            walls.push(d.wallMs);
          }
        }
        results[s].push(quality);
        if (s === "consort") messages += sent;
      }
      if (solver) {
        const outcomes = sampleOutcomes(index.model, createRng(seed));
        const p = await prescientOptimal(index, outcomes, solver, {
          timeLimitSeconds: flags.posLimit,
        });
        pos.push(p.quality);
        if (p.optimal) optimal++;
        maxGap = Math.max(maxGap, p.gap);
      }
    }
  } finally {
    await cluster?.close();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }
  const consort = meanCi(results.consort);
  const posCi = pos.length > 0 ? meanCi(pos) : undefined;
  return {
    name: scenario.name,
    trials: flags.trials,
    initial: meanCi(results.initial),
    bos: meanCi(results.bos),
    consort,
    ...(posCi ? { pos: { ...posCi, optimal, maxGap } } : {}),
    consortOverBos: pairedDifference(results.consort, results.bos),
    ...(posCi && posCi.mean > 0 ? { consortOverPos: consort.mean / posCi.mean } : {}),
    messages: messages / flags.trials / Math.max(1, agents),
    agents,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    ...(cluster
      ? {
          distributed: {
            identical,
            runs,
            consortWallMs: median(walls),
            bytesPerAgent: bytes / flags.trials / Math.max(1, agents),
            controlPerTrial: control / flags.trials,
          },
        }
      : {}),
  };
}

const f = (x: { mean: number; ci: number } | undefined, digits = 2): string =>
  x === undefined ? "–" : `${x.mean.toFixed(digits)} ± ${x.ci.toFixed(digits)}`;

/** `consort bench ctaems`: initial schedule, BOS, Consort and POS on the CSC suites. */
export async function benchCtaemsCommand(
  flags: BenchCtaemsFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const suite = flags.suite === "backup" ? backupSuite(flags.seed) : randomSuite(flags.seed);
  const names = flags.only?.split(",").map((n) => n.trim());
  const unknown = names?.filter((n) => !suite.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0)
    throw new CliError(
      `--only: no ${flags.suite} scenario is named ${unknown.map((n) => `"${n}"`).join(", ")} (they are named like ${suite[0]?.name})`,
      EXIT.usage,
    );
  const scenarios = names === undefined ? suite : suite.filter((s) => names.includes(s.name));
  const solver = flags.posLimit > 0 ? createHighsSolver() : undefined;
  const rows: ScenarioRow[] = [];
  for (const scenario of scenarios) {
    const row = await runScenario(scenario, flags, solver);
    rows.push(row);
    err.write(
      `${row.name}: initial ${f(row.initial)}, BOS ${f(row.bos)}, Consort ${f(row.consort)}, POS ${f(row.pos)}, ${row.seconds.toFixed(1)} s\n`,
    );
  }
  const wins = rows.filter((r) => r.consortOverBos.mean > 1e-9);
  const losses = rows.filter((r) => r.consortOverBos.mean < -1e-9);
  const ties = rows.length - wins.length - losses.length;
  const significant = rows.filter((r) => r.consortOverBos.significant && r.consortOverBos.mean > 0);
  const ratios = rows.flatMap((r) => (r.consortOverPos !== undefined ? [r.consortOverPos] : []));
  const meanRatio =
    ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : undefined;
  const worstLoss = losses.reduce(
    (m, r) => Math.min(m, r.consortOverBos.mean / Math.max(1e-9, r.bos.mean)),
    0,
  );
  const command = `consort bench ctaems --suite ${flags.suite} --trials ${flags.trials} --seed ${flags.seed}${flags.posLimit !== 60 ? ` --pos-limit ${flags.posLimit}` : ""}${flags.only !== undefined ? ` --only ${flags.only}` : ""}${flags.distributed ? " --distributed" : ""}`;
  const dist = rows.flatMap((r) => (r.distributed ? [r.distributed] : []));
  const identical = dist.reduce((n, d) => n + d.identical, 0);
  const distRuns = dist.reduce((n, d) => n + d.runs, 0);
  const table = [
    `| scenario | initial | BOS | Consort | POS | Consort − BOS (paired, 95%) | significant | Consort / POS | messages per agent |${flags.distributed ? " KiB per agent | Consort trial wall ms (median) | identical to in-process |" : ""}`,
    `|---|---:|---:|---:|---:|---:|---|---:|---:|${flags.distributed ? "---:|---:|---:|" : ""}`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${f(r.initial)} | ${f(r.bos)} | ${f(r.consort)} | ${f(r.pos)} | ${r.consortOverBos.mean.toFixed(2)} ± ${r.consortOverBos.ci.toFixed(2)} | ${r.consortOverBos.significant ? "yes" : "no"} | ${r.consortOverPos !== undefined ? r.consortOverPos.toFixed(3) : "–"} | ${r.messages.toFixed(0)} |${r.distributed ? ` ${(r.distributed.bytesPerAgent / 1024).toFixed(1)} | ${r.distributed.consortWallMs.toFixed(0)} | ${r.distributed.identical} / ${r.distributed.runs} |` : ""}`,
    ),
  ].join("\n");
  const summary = [
    `Consort's mean beats BOS's in ${wins.length} of ${rows.length} scenarios (${((100 * wins.length) / rows.length).toFixed(0)}%; significantly, paired at 95%, in ${significant.length}); it ties in ${ties} and loses in ${losses.length}${losses.length > 0 ? ` (worst loss ${(100 * -worstLoss).toFixed(1)}% of BOS's mean: ${losses.map((r) => r.name).join(", ")})` : ""}.`,
    meanRatio !== undefined
      ? `Consort / POS, averaged over scenarios: ${meanRatio.toFixed(3)}. POS trials solved to proven optimality: ${rows.reduce((s, r) => s + (r.pos?.optimal ?? 0), 0)} of ${rows.length * flags.trials}; largest gap ${Math.max(...rows.map((r) => r.pos?.maxGap ?? 0)).toFixed(4)}.`
      : "POS not computed (--pos-limit 0).",
  ].join("\n");
  const section = [
    `## C-TAEMS: ${flags.suite === "backup" ? "CSC §5 backup problem, W = 1…10" : `random set, ${rows.length} scenarios (NLE-chain class × failure class × window overlap)`}`,
    "",
    `Command: \`${command}\`  `,
    `Machine: ${machineLine()}  `,
    flags.distributed
      ? `Distributed: an embedded aedes broker on loopback, one agent process per agent (${rows[0]?.agents ?? 0} processes for each scenario), agents talking to each other on their own peer topics; the bench process is the clock master of the lock-step run and hosts the deliberative scheduler. Every run was also made in-process on the same trial: ${identical} of ${distRuns} runs (trial × strategy) were identical (root quality, executed activities and their times, message counts).`
      : "In-process.",
    "",
    `Lock-step (a message sent at one tick is read at the next). Every strategy and the prescient solver meet the same sampled outcomes in a trial (common random numbers). Means ± 95% half-widths over ${flags.trials} trials. Consort = CSC agents (profiles to link neighbours, window sliding, opportunistic scheduler, downgrader) with the coordinator's deliberative scheduler; BOS = each agent's best local decision, no messages; POS = time-indexed MIP on the known outcomes (HiGHS).`,
    "",
    summary,
    "",
    table,
  ].join("\n");
  if (flags.out)
    await writeSection(
      flags.out,
      `ctaems-${flags.suite}${flags.distributed ? "-distributed" : ""}`,
      section,
    );
  if (flags.json)
    out.write(
      `${JSON.stringify({
        benchmark: "ctaems",
        suite: flags.suite,
        command,
        machine: machineLine(),
        trials: flags.trials,
        seed: flags.seed,
        wins: wins.length,
        ties,
        losses: losses.length,
        consortOverPos: meanRatio ?? null,
        ...(flags.distributed ? { distributed: { identical, runs: distRuns } } : {}),
        scenarios: rows.map((r) => ({
          name: r.name,
          initial: r.initial.mean,
          bos: r.bos.mean,
          consort: r.consort.mean,
          pos: r.pos?.mean ?? null,
          messages: r.messages,
          ci: {
            initial: r.initial.ci,
            bos: r.bos.ci,
            consort: r.consort.ci,
            pos: r.pos?.ci ?? null,
          },
          consortMinusBos: r.consortOverBos,
          consortOverPos: r.consortOverPos ?? null,
          agents: r.agents,
          seconds: r.seconds,
          ...(r.distributed ? { distributed: r.distributed } : {}),
        })),
      })}\n`,
    );
  else out.write(`${section}\n`);
  // Processes that disagree with the in-process run are a bug, not noise: say so by the exit code.
  return identical === distRuns ? EXIT.ok : EXIT.software;
}
