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
  /** One seed (scenario and trial seeds); overrides the default seed list. */
  readonly seed?: number;
  /** Comma-separated seeds; each draws its own scenarios and trials (default 1,2,3). */
  readonly seeds?: string;
  readonly distributed: boolean;
  /** Only these scenarios (comma-separated names). */
  readonly only?: string;
  /** POS time limit per trial, seconds; 0 skips the upper bar. */
  readonly posLimit: number;
  readonly out?: string;
  readonly json: boolean;
  /**
   * Trials to re-run each scenario with (BOS and Consort only) whose Consort mean is more than
   * LOSS_MARGIN below BOS's; 0 re-runs nothing. Trial seeds extend the bench's own.
   */
  readonly confirm?: number;
}

/** A loss counts against Consort when its mean is more than this fraction below BOS's. */
export const LOSS_MARGIN = 0.02;

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

/** The seeds a bench runs over: `--seeds`, else `--seed`, else 1, 2, 3. */
export function benchSeeds(flags: { seed?: number; seeds?: string }): number[] {
  if (flags.seeds !== undefined) {
    const parts = flags.seeds.split(",").map((x) => x.trim());
    const bad = parts.find((x) => !/^\d+$/.test(x));
    if (bad !== undefined || parts.length === 0)
      throw new CliError(
        `--seeds: "${bad ?? ""}" is not a non-negative integer (give e.g. 1,2,3)`,
        EXIT.usage,
      );
    return [...new Set(parts.map(Number))];
  }
  return flags.seed !== undefined ? [flags.seed] : [...DEFAULT_SEEDS];
}

/** Seeds a bench runs over unless told otherwise: a result must hold on more than one. */
export const DEFAULT_SEEDS = [1, 2, 3] as const;

/** Wins, ties and losses over BOS, the worst loss and Consort / POS, of some scenario rows. */
export interface SeedSummary {
  readonly scenarios: number;
  readonly wins: number;
  readonly ties: number;
  readonly losses: number;
  /** Scenarios whose Consort mean beats BOS's significantly (paired, 95%). */
  readonly significant: number;
  /** The worst loss as a percentage of BOS's mean (0 without losses). */
  readonly worstLossPct: number;
  readonly worstLoss: readonly string[];
  /** Consort / POS averaged over the scenarios (null without POS). */
  readonly consortOverPos: number | null;
}

export function summarize(rows: readonly ScenarioRow[]): SeedSummary {
  const wins = rows.filter((r) => r.consortOverBos.mean > 1e-9).length;
  const lossRows = rows.filter((r) => r.consortOverBos.mean < -1e-9);
  const ratios = rows.flatMap((r) => (r.consortOverPos !== undefined ? [r.consortOverPos] : []));
  const lossPct = (r: ScenarioRow) => (100 * -r.consortOverBos.mean) / Math.max(1e-9, r.bos.mean);
  return {
    scenarios: rows.length,
    wins,
    ties: rows.length - wins - lossRows.length,
    losses: lossRows.length,
    significant: rows.filter((r) => r.consortOverBos.significant && r.consortOverBos.mean > 0)
      .length,
    worstLossPct: lossRows.reduce((m, r) => Math.max(m, lossPct(r)), 0),
    worstLoss: [...lossRows].sort((a, b) => lossPct(b) - lossPct(a)).map((r) => r.name),
    consortOverPos: ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null,
  };
}

/** The rows whose Consort mean is more than LOSS_MARGIN of BOS's mean below it, worst first. */
export function lossesBeyondMargin(rows: readonly ScenarioRow[]): ScenarioRow[] {
  const pct = (r: ScenarioRow) => -r.consortOverBos.mean / Math.max(1e-9, r.bos.mean);
  return rows.filter((r) => pct(r) > LOSS_MARGIN).sort((a, b) => pct(b) - pct(a));
}

/** A loss beyond the margin, re-run over more trials to tell a real loss from trial noise. */
export interface Confirmation {
  readonly name: string;
  readonly seed: number;
  readonly trials: number;
  readonly bos: number;
  readonly consort: number;
  /** Consort − BOS, paired over the confirming trials. */
  readonly difference: ReturnType<typeof pairedDifference>;
  /** Consort − BOS as a percentage of BOS's mean over the confirming trials. */
  readonly differencePct: number;
  /** The loss is still beyond the margin over the confirming trials. */
  readonly holds: boolean;
}

/** Judges a loss re-run over more trials: it holds when its mean is still beyond the margin. */
export function confirmation(
  name: string,
  seed: number,
  consort: readonly number[],
  bos: readonly number[],
): Confirmation {
  const difference = pairedDifference(consort, bos);
  const bosMean = meanCi(bos).mean;
  const differencePct = (100 * difference.mean) / Math.max(1e-9, bosMean);
  return {
    name,
    seed,
    trials: consort.length,
    bos: bosMean,
    consort: meanCi(consort).mean,
    difference,
    differencePct,
    holds: differencePct < -100 * LOSS_MARGIN,
  };
}

/** Re-runs one scenario's BOS and Consort over `trials` trials (the bench's own trial seeds, extended). */
function confirmScenario(scenario: CtaemsScenario, seed: number, trials: number): Confirmation {
  const index = indexModel(scenario.model);
  if (!index.ok) throw new CliError(`scenario ${scenario.name}: not a valid model`, EXIT.software);
  const consort: number[] = [];
  const bos: number[] = [];
  for (const trialSeed of trialSeeds(seed, trials)) {
    const key = trialKey(createRng(trialSeed));
    bos.push(runStrategy(index.value, scenario.initial, "bos", key).rootQuality);
    consort.push(runStrategy(index.value, scenario.initial, "consort", key).rootQuality);
  }
  return confirmation(scenario.name, seed, consort, bos);
}

export interface ScenarioRow {
  readonly name: string;
  /** The seed that drew the scenario and its trials. */
  readonly seed: number;
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
  seed: number,
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
    for (const [trial, trialSeed] of trialSeeds(seed, flags.trials).entries()) {
      // One key per trial: every strategy, and the prescient solver, meet the same outcomes.
      const key = trialKey(createRng(trialSeed));
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
        const outcomes = sampleOutcomes(index.model, createRng(trialSeed));
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
    seed,
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

/** `consort bench ctaems`: initial schedule, BOS, Consort and POS on the CSC suites, over seeds. */
export async function benchCtaemsCommand(
  flags: BenchCtaemsFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const seeds = benchSeeds(flags);
  const suiteOf = (seed: number) =>
    flags.suite === "backup" ? backupSuite(seed) : randomSuite(seed);
  const names = flags.only?.split(",").map((n) => n.trim());
  const first = suiteOf(seeds[0] ?? 1);
  const unknown = names?.filter((n) => !first.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0)
    throw new CliError(
      `--only: no ${flags.suite} scenario is named ${unknown.map((n) => `"${n}"`).join(", ")} (they are named like ${first[0]?.name})`,
      EXIT.usage,
    );
  if ((flags.confirm ?? 0) > 0 && (flags.confirm ?? 0) < flags.trials)
    throw new CliError(
      `--confirm ${flags.confirm}: a loss is confirmed over more trials than the bench ran, not fewer (--trials ${flags.trials})`,
      EXIT.usage,
    );
  const solver = flags.posLimit > 0 ? createHighsSolver() : undefined;
  const perSeed: {
    seed: number;
    rows: ScenarioRow[];
    summary: SeedSummary;
    confirmations: Confirmation[];
  }[] = [];
  for (const seed of seeds) {
    const suite = suiteOf(seed);
    const scenarios = names === undefined ? suite : suite.filter((s) => names.includes(s.name));
    const rows: ScenarioRow[] = [];
    for (const scenario of scenarios) {
      const row = await runScenario(scenario, seed, flags, solver);
      rows.push(row);
      err.write(
        `seed ${seed} ${row.name}: initial ${f(row.initial)}, BOS ${f(row.bos)}, Consort ${f(row.consort)}, POS ${f(row.pos)}, ${row.seconds.toFixed(1)} s\n`,
      );
    }
    const confirmed = (flags.confirm ?? 0) > 0 ? lossesBeyondMargin(rows) : [];
    const confirmations = confirmed.map((row) => {
      const scenario = scenarios.find((s) => s.name === row.name);
      if (!scenario) throw new CliError(`scenario ${row.name} vanished`, EXIT.software);
      const c = confirmScenario(scenario, seed, flags.confirm ?? 0);
      err.write(
        `seed ${seed} ${c.name}: over ${c.trials} trials BOS ${c.bos.toFixed(2)}, Consort ${c.consort.toFixed(2)} (${c.differencePct.toFixed(1)}%), the loss ${c.holds ? "holds" : "does not hold"}\n`,
      );
      return c;
    });
    perSeed.push({ seed, rows, summary: summarize(rows), confirmations });
  }
  const all = perSeed.flatMap((p) => p.rows);
  const pooled = summarize(all);
  const seedFlag =
    flags.seeds !== undefined
      ? ` --seeds ${seeds.join(",")}`
      : flags.seed !== undefined
        ? ` --seed ${flags.seed}`
        : "";
  const command = `consort bench ctaems --suite ${flags.suite} --trials ${flags.trials}${seedFlag}${flags.posLimit !== 60 ? ` --pos-limit ${flags.posLimit}` : ""}${flags.only !== undefined ? ` --only ${flags.only}` : ""}${flags.distributed ? " --distributed" : ""}${(flags.confirm ?? 0) > 0 ? ` --confirm ${flags.confirm}` : ""}`;
  const confirming = (flags.confirm ?? 0) > 0;
  const allConfirmations = perSeed.flatMap((p) => p.confirmations);
  const holding = (cs: readonly Confirmation[]) => cs.filter((c) => c.holds).length;
  const dist = all.flatMap((r) => (r.distributed ? [r.distributed] : []));
  const identical = dist.reduce((n, d) => n + d.identical, 0);
  const distRuns = dist.reduce((n, d) => n + d.runs, 0);
  const pct = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(0)}%`;
  const margin = `${(100 * LOSS_MARGIN).toFixed(0)}%`;
  const seedTable = [
    `| seed | scenarios | wins over BOS | ties | losses | worst loss (% of BOS) | Consort / POS |${confirming ? ` losses beyond ${margin} | of which hold over ${flags.confirm} trials |` : ""}`,
    `|---|---:|---:|---:|---:|---:|---:|${confirming ? "---:|---:|" : ""}`,
    ...[
      ...perSeed.map((p) => ({ label: String(p.seed), s: p.summary, c: p.confirmations })),
      { label: "pooled", s: pooled, c: allConfirmations },
    ].map(
      ({ label, s, c }) =>
        `| ${label} | ${s.scenarios} | ${s.wins} (${pct(s.wins, s.scenarios)}) | ${s.ties} | ${s.losses} | ${s.worstLossPct.toFixed(1)}%${s.worstLoss[0] ? ` (${s.worstLoss[0]})` : ""} | ${s.consortOverPos === null ? "–" : s.consortOverPos.toFixed(3)} |${confirming ? ` ${c.length} | ${holding(c)} |` : ""}`,
    ),
  ].join("\n");
  const confirmTable = confirming
    ? [
        "",
        `Every loss beyond ${margin} of BOS's mean, run again over ${flags.confirm} trials (the bench's trials and more, BOS and Consort only): it holds when Consort's mean is still more than ${margin} below BOS's.`,
        "",
        `| seed | scenario | BOS over ${flags.trials} | Consort over ${flags.trials} | BOS over ${flags.confirm} | Consort over ${flags.confirm} | Consort − BOS (paired, 95%) | the loss |`,
        "|---:|---|---:|---:|---:|---:|---:|---|",
        ...perSeed.flatMap((p) =>
          p.confirmations.map((c) => {
            const row = p.rows.find((r) => r.name === c.name);
            return `| ${c.seed} | ${c.name} | ${row?.bos.mean.toFixed(2)} | ${row?.consort.mean.toFixed(2)} | ${c.bos.toFixed(2)} | ${c.consort.toFixed(2)} | ${c.difference.mean.toFixed(2)} ± ${c.difference.ci.toFixed(2)} (${c.differencePct.toFixed(1)}%) | ${c.holds ? "holds" : "does not hold"} |`;
          }),
        ),
      ].join("\n")
    : "";
  const scenarioTable = (rows: readonly ScenarioRow[]) =>
    [
      `| scenario | initial | BOS | Consort | POS | Consort − BOS (paired, 95%) | significant | Consort / POS | messages per agent |${flags.distributed ? " KiB per agent | Consort trial wall ms (median) | identical to in-process |" : ""}`,
      `|---|---:|---:|---:|---:|---:|---|---:|---:|${flags.distributed ? "---:|---:|---:|" : ""}`,
      ...rows.map(
        (r) =>
          `| ${r.name} | ${f(r.initial)} | ${f(r.bos)} | ${f(r.consort)} | ${f(r.pos)} | ${r.consortOverBos.mean.toFixed(2)} ± ${r.consortOverBos.ci.toFixed(2)} | ${r.consortOverBos.significant ? "yes" : "no"} | ${r.consortOverPos !== undefined ? r.consortOverPos.toFixed(3) : "–"} | ${r.messages.toFixed(0)} |${r.distributed ? ` ${(r.distributed.bytesPerAgent / 1024).toFixed(1)} | ${r.distributed.consortWallMs.toFixed(0)} | ${r.distributed.identical} / ${r.distributed.runs} |` : ""}`,
      ),
    ].join("\n");
  const summary = [
    `Over ${seeds.length} seed${seeds.length > 1 ? "s" : ""} (${seeds.join(", ")}; each draws its own scenarios and trials), Consort's mean beats BOS's in ${pooled.wins} of ${pooled.scenarios} scenarios (${pct(pooled.wins, pooled.scenarios)}; significantly, paired at 95%, in ${pooled.significant}); it ties in ${pooled.ties} and loses in ${pooled.losses}${pooled.losses > 0 ? ` (worst loss ${pooled.worstLossPct.toFixed(1)}% of BOS's mean)` : ""}.`,
    pooled.consortOverPos !== null
      ? `Consort / POS, averaged over scenarios and seeds: ${pooled.consortOverPos.toFixed(3)}. POS trials solved to proven optimality: ${all.reduce((s, r) => s + (r.pos?.optimal ?? 0), 0)} of ${all.length * flags.trials}; largest gap ${Math.max(...all.map((r) => r.pos?.maxGap ?? 0)).toFixed(4)}.`
      : "POS not computed (--pos-limit 0).",
  ].join("\n");
  const section = [
    `## C-TAEMS: ${flags.suite === "backup" ? "CSC §5 backup problem, W = 1…10" : `random set, ${perSeed[0]?.rows.length ?? 0} scenarios per seed (NLE-chain class × failure class × window overlap)`}`,
    "",
    `Command: \`${command}\`  `,
    `Machine: ${machineLine()}  `,
    flags.distributed
      ? `Distributed: an embedded aedes broker on loopback, one agent process per agent (${all[0]?.agents ?? 0} processes for each scenario), agents talking to each other on their own peer topics; the bench process is the clock master of the lock-step run and hosts the deliberative scheduler. Every run was also made in-process on the same trial: ${identical} of ${distRuns} runs (trial × strategy) were identical (root quality, executed activities and their times, message counts).`
      : "In-process.",
    "",
    `Lock-step (a message sent at one tick is read at the next). Every strategy and the prescient solver meet the same sampled outcomes in a trial (common random numbers). Means ± 95% half-widths over ${flags.trials} trials. Consort = CSC agents (profiles to link neighbours, window sliding, opportunistic scheduler, downgrader) with the coordinator's deliberative scheduler; BOS = each agent's best local decision, no messages; POS = time-indexed MIP on the known outcomes (HiGHS).`,
    "",
    summary,
    "",
    seedTable,
    ...(confirming ? [confirmTable] : []),
    ...perSeed.flatMap((p) => ["", `### Seed ${p.seed}`, "", scenarioTable(p.rows)]),
  ].join("\n");
  if (flags.out)
    await writeSection(
      flags.out,
      `ctaems-${flags.suite}${flags.distributed ? "-distributed" : ""}`,
      section,
    );
  const scenarioJson = (r: ScenarioRow) => ({
    name: r.name,
    seed: r.seed,
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
  });
  if (flags.json)
    out.write(
      `${JSON.stringify({
        benchmark: "ctaems",
        suite: flags.suite,
        command,
        machine: machineLine(),
        trials: flags.trials,
        seeds,
        // Pooled over every seed's scenarios.
        wins: pooled.wins,
        ties: pooled.ties,
        losses: pooled.losses,
        worstLossPct: pooled.worstLossPct,
        consortOverPos: pooled.consortOverPos,
        perSeed: perSeed.map((p) => ({
          seed: p.seed,
          ...p.summary,
          ...(confirming ? { confirmations: p.confirmations } : {}),
        })),
        ...(confirming
          ? {
              confirm: {
                trials: flags.confirm,
                lossesBeyondMargin: allConfirmations.length,
                holding: holding(allConfirmations),
              },
            }
          : {}),
        ...(flags.distributed ? { distributed: { identical, runs: distRuns } } : {}),
        scenarios: all.map(scenarioJson),
      })}\n`,
    );
  else out.write(`${section}\n`);
  // Processes that disagree with the in-process run are a bug, not noise: say so by the exit code.
  return identical === distRuns ? EXIT.ok : EXIT.software;
}
