import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetReport } from "@consort/coordinator";
import {
  createRng,
  type JobShopInstance,
  jobShopIds,
  jobShopToModel,
  type TaskModel,
} from "@consort/core";
import { runFleet } from "@consort/hardware/harness";
import { machineLine, median, percentile, writeSection } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";

export interface BenchFleetFlags {
  /** A count n (seeds 1..n) or a list of seeds and ranges: `3`, `4,5,6`, `4-8`. */
  readonly seeds: string | number;
  readonly jobs: number;
  readonly machines: number;
  readonly out?: string;
  readonly json: boolean;
}

/**
 * A Taillard-like job shop with due dates: every job visits every machine in a random order,
 * durations 1..30, due = 1.5 x its work (tight), weights 1, 2 or 4. Seeded.
 */
export function benchShop(jobs: number, machines: number, seed: number): TaskModel {
  const rng = createRng(seed);
  const instance: JobShopInstance = {
    name: `shop-${jobs}x${machines}-s${seed}`,
    machineIds: Array.from({ length: machines }, (_, m) => jobShopIds.machine(m)),
    jobs: Array.from({ length: jobs }, (_, j) => {
      const order = Array.from({ length: machines }, (_, m) => m);
      for (let i = order.length - 1; i > 0; i--) {
        const k = rng.int(0, i);
        [order[i], order[k]] = [order[k]!, order[i]!];
      }
      const operations = order.map((machine, k) => ({
        id: jobShopIds.operation(j, k),
        machine,
        durationTicks: rng.int(1, 30),
      }));
      const work = operations.reduce((s, o) => s + o.durationTicks, 0);
      return {
        id: jobShopIds.job(j),
        operations,
        releaseTicks: 0,
        dueTicks: Math.round(1.5 * work),
        weight: [1, 2, 4][rng.int(0, 2)]!,
      };
    }),
  };
  return jobShopToModel(instance);
}

/**
 * The seeds of `--seeds`: a lone count n is 1..n (so `--seeds 3` stays 1, 2, 3); otherwise a
 * comma-separated list of seeds and ranges `a-b` (`4,5,6`, `4-8`, `7,` for seed 7 alone), so a
 * policy tuned on some seeds can be judged on others.
 */
export function fleetSeeds(text: string | number): number[] {
  const raw = String(text).trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1)
      throw new CliError("--seeds: a count must be at least 1 (give e.g. 3 or 4,5,6)", EXIT.usage);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const out: number[] = [];
  for (const part of raw.split(",").map((x) => x.trim())) {
    if (part === "") continue;
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from)
        throw new CliError(`--seeds: range "${part}" runs backwards (give e.g. 4-8)`, EXIT.usage);
      for (let s = from; s <= to; s++) out.push(s);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else
      throw new CliError(
        `--seeds: "${part}" is neither a seed nor a range (give e.g. 3, 4,5,6 or 4-8)`,
        EXIT.usage,
      );
  }
  if (out.length === 0)
    throw new CliError("--seeds: no seed given (give e.g. 3, 4,5,6 or 4-8)", EXIT.usage);
  return [...new Set(out)];
}

/** What one fleet run of the bench measured. */
interface Run {
  twt: number;
  reference: number;
  makespan: number;
  refMakespan: number;
  repairs: number;
  local: number;
  escalations: number;
  latencies: number[];
  perAgentMessages: number;
  perAgentBytes: number;
  wall: number;
  feasible: boolean;
  repairsByLevel: NonNullable<FleetReport["repairsByLevel"]>;
  /** Operations moved by run-time repairs (start or resource changed), summed over repairs. */
  moved: number;
  resequenced: number;
  /** Churn of each run-time repair past the agents' own. */
  churn: { level: string; moved: number; resequenced: number }[];
}

const NO_LEVELS = { local: 0, negotiated: 0, contractNet: 0, problemAdjustment: 0, central: 0 };

/**
 * `consort bench fleet`: per seed, the distributed fleet (repair distributed first, contract
 * net) and the same fleet with a central-only repair policy, on the same shop and disruptions,
 * each against the reference solver with hindsight.
 */
export async function benchFleetCommand(
  flags: BenchFleetFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const rows: { seed: number; distributed: Run; central: Run }[] = [];
  const runOnce = async (seed: number, policy: "distributed" | "central"): Promise<Run> => {
    const model = benchShop(flags.jobs, flags.machines, seed);
    const runDir = mkdtempSync(join(tmpdir(), "consort-bench-fleet-"));
    const { report } = await runFleet({
      scenarioName: model.name,
      model,
      seed,
      site: "bench",
      runDir,
      objective: "twt",
      disruptions: { breakdowns: 3, overruns: 0, rushOrders: 1, offlines: 0 },
      stallMs: 30_000,
      runtimeRepair: policy,
      reassignment: policy === "central" ? "central" : "contract-net",
    }).finally(() => rmSync(runDir, { recursive: true, force: true }));
    // The initial plan is an installation too; the latency figures are for repairs only.
    const latencies = report.repairs
      .filter((r) => r.trigger !== "initial plan")
      .map((r) => r.latencyMs);
    const churn = (report.runtimeRepairs ?? []).map((r) => ({
      level: r.level,
      moved: r.churn.moved,
      resequenced: r.churn.resequenced,
    }));
    return {
      twt: report.objectives.totalWeightedTardiness,
      reference: report.reference.totalWeightedTardiness,
      makespan: report.objectives.makespan,
      refMakespan: report.reference.makespan,
      repairs: latencies.length,
      local: report.localRepairs,
      escalations: report.escalations,
      latencies,
      perAgentMessages: report.messages / report.agents,
      perAgentBytes: report.bytes / report.agents,
      wall: report.wallSeconds,
      feasible: report.feasible && report.completed === report.activities,
      repairsByLevel: report.repairsByLevel ?? NO_LEVELS,
      moved: churn.reduce((n, c) => n + c.moved, 0),
      resequenced: churn.reduce((n, c) => n + c.resequenced, 0),
      churn,
    };
  };
  const seeds = fleetSeeds(flags.seeds);
  for (const seed of seeds) {
    const distributed = await runOnce(seed, "distributed");
    const central = await runOnce(seed, "central");
    rows.push({ seed, distributed, central });
    err.write(
      `seed ${seed}: twt ${distributed.twt} distributed / ${central.twt} central-only (hindsight ${distributed.reference}), operations moved ${distributed.moved} / ${central.moved}, ${distributed.wall.toFixed(1)} + ${central.wall.toFixed(1)} s\n`,
    );
  }
  const all = rows.flatMap((r) => r.distributed.latencies);
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + f(r), 0);
  const levels = { ...NO_LEVELS };
  for (const r of rows)
    for (const [k, v] of Object.entries(r.distributed.repairsByLevel))
      levels[k as keyof typeof levels] += v;
  const repairsTotal = Object.values(levels).reduce((n, v) => n + v, 0);
  const totals = {
    twtDistributed: sum((r) => r.distributed.twt),
    twtCentral: sum((r) => r.central.twt),
    twtRatio:
      sum((r) => r.distributed.twt) /
      Math.max(
        1,
        sum((r) => r.central.twt),
      ),
    movedDistributed: sum((r) => r.distributed.moved),
    movedCentral: sum((r) => r.central.moved),
    repairsByLevel: levels,
    belowCentral: repairsTotal > 0 ? (repairsTotal - levels.central) / repairsTotal : 1,
  };
  const command = `consort bench fleet --seeds ${String(flags.seeds).trim()}`;
  const levelText = (l: Run["repairsByLevel"]) =>
    `${l.local} / ${l.negotiated} / ${l.contractNet} / ${l.problemAdjustment} / ${l.central}`;
  const table = [
    "| seed | feasible | TWT distributed | TWT central-only | TWT hindsight | makespan distributed / central-only / hindsight | repairs by level (local / negotiated / contract net / problem adj. / central) | ops moved distributed / central-only | resequenced | escalations | messages per agent | KiB per agent | wall s |",
    "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map(({ seed, distributed: d, central: c }) => {
      return `| ${seed} | ${d.feasible && c.feasible ? "yes" : "NO"} | ${d.twt} | ${c.twt} | ${d.reference} | ${d.makespan} / ${c.makespan} / ${d.refMakespan} | ${levelText(d.repairsByLevel)} | ${d.moved} / ${c.moved} | ${d.resequenced} / ${c.resequenced} | ${d.escalations} | ${d.perAgentMessages.toFixed(0)} | ${(d.perAgentBytes / 1024).toFixed(1)} | ${(d.wall + c.wall).toFixed(1)} |`;
    }),
  ].join("\n");
  const section = [
    `## Fleet: ${flags.jobs} jobs on ${flags.machines} machines, 3 breakdowns and a rush order`,
    "",
    `Command: \`npm run bench\` (runs \`${command}\`)  `,
    `Machine: ${machineLine()}  `,
    `Each seed runs twice on the same shop, outcomes and disruptions: with run-time repairs distributed first (the agent's own repair, negotiated re-timing, contract net, and a central re-solve only through the churn-charged quality gate) and with a central-only policy (every escalation and rush order re-solved centrally). Each run: an embedded aedes broker on loopback, the coordinator, and ${flags.machines} scheduler-agent processes over MQTT on lock-step simulated time; a Taillard-like ${flags.jobs}x${flags.machines} shop with tight due dates (1.5 x work), drawn from the seed. The hindsight column is the reference solver given the realized durations, the breakdowns and the rush order's arrival, afterwards (a heuristic reference, neither a proven optimum nor a bound).`,
    "",
    table,
    "",
    `Total TWT, distributed / central-only: ${totals.twtDistributed} / ${totals.twtCentral} (ratio ${totals.twtRatio.toFixed(3)}). Operations moved by run-time repairs: ${totals.movedDistributed} / ${totals.movedCentral}. Repairs settled below the central level: ${(100 * totals.belowCentral).toFixed(0)}% (${levelText(levels)}).`,
    "",
    `Time from a disruption's report to the repaired schedule accepted by every affected agent (distributed runs; wall clock, loopback, all repairs of all runs, n = ${all.length}): median ${median(all).toFixed(0)} ms, p95 ${percentile(all, 0.95).toFixed(0)} ms (target p95 <= 200 ms).`,
    `Messages count every message the coordinator and the agents published to each other, the lock-step clock's idle reports included.`,
  ].join("\n");
  if (flags.out) await writeSection(flags.out, "fleet", section);
  if (flags.json)
    out.write(
      `${JSON.stringify({ benchmark: "fleet", command, machine: machineLine(), rows, totals, latencyMedianMs: median(all), latencyP95Ms: percentile(all, 0.95) })}\n`,
    );
  else out.write(`${section}\n`);
  return rows.every((r) => r.distributed.feasible && r.central.feasible) ? EXIT.ok : EXIT.software;
}
