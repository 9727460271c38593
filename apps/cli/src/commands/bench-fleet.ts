import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createRng,
  type JobShopInstance,
  jobShopIds,
  jobShopToModel,
  type TaskModel,
} from "@consort/core";
import { runFleet } from "@consort/hardware/harness";
import { machineLine, median, percentile, writeSection } from "../bench-report.js";
import { EXIT } from "../errors.js";

export interface BenchFleetFlags {
  readonly seeds: number;
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

/** `consort bench fleet`: the distributed fleet against the reference solver with hindsight. */
export async function benchFleetCommand(
  flags: BenchFleetFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const rows: {
    seed: number;
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
  }[] = [];
  for (let seed = 1; seed <= flags.seeds; seed++) {
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
    }).finally(() => rmSync(runDir, { recursive: true, force: true }));
    // The initial plan is an installation too; the latency figures are for repairs only.
    const latencies = report.repairs
      .filter((r) => r.trigger !== "initial plan")
      .map((r) => r.latencyMs);
    rows.push({
      seed,
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
    });
    err.write(
      `seed ${seed}: twt ${report.objectives.totalWeightedTardiness} (hindsight ${report.reference.totalWeightedTardiness}), ${latencies.length} repairs, ${report.wallSeconds.toFixed(1)} s\n`,
    );
  }
  const all = rows.flatMap((r) => r.latencies);
  const command = `consort bench fleet --seeds ${flags.seeds}`;
  const table = [
    "| seed | feasible | TWT fleet | TWT hindsight | ratio | makespan fleet / hindsight | repairs installed | local repairs | escalations | messages per agent | KiB per agent | wall s |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.seed} | ${r.feasible ? "yes" : "NO"} | ${r.twt} | ${r.reference} | ${(r.twt / Math.max(1, r.reference)).toFixed(2)} | ${r.makespan} / ${r.refMakespan} | ${r.repairs} | ${r.local} | ${r.escalations} | ${r.perAgentMessages.toFixed(0)} | ${(r.perAgentBytes / 1024).toFixed(1)} | ${r.wall.toFixed(1)} |`,
    ),
  ].join("\n");
  const section = [
    `## Fleet: ${flags.jobs} jobs on ${flags.machines} machines, 3 breakdowns and a rush order`,
    "",
    `Command: \`npm run bench\` (runs \`${command}\`)  `,
    `Machine: ${machineLine()}  `,
    `Each run: an embedded aedes broker on loopback, the coordinator, and ${flags.machines} scheduler-agent processes over MQTT on lock-step simulated time; a Taillard-like ${flags.jobs}x${flags.machines} shop with tight due dates (1.5 x work), drawn from the seed. The hindsight column is the reference solver given the realized durations, the breakdowns and the rush order's arrival, afterwards (a heuristic reference, neither a proven optimum nor a bound).`,
    "",
    table,
    "",
    `Time from a disruption's report to the repaired schedule accepted by every affected agent (wall clock, loopback, all repairs of all runs, n = ${all.length}): median ${median(all).toFixed(0)} ms, p95 ${percentile(all, 0.95).toFixed(0)} ms (target p95 <= 200 ms).`,
    `Messages count every message the coordinator and the agents published to each other, the lock-step clock's idle reports included.`,
  ].join("\n");
  if (flags.out) await writeSection(flags.out, "fleet", section);
  if (flags.json)
    out.write(
      `${JSON.stringify({ benchmark: "fleet", command, machine: machineLine(), rows, latencyMedianMs: median(all), latencyP95Ms: percentile(all, 0.95) })}\n`,
    );
  else out.write(`${section}\n`);
  return rows.every((r) => r.feasible) ? EXIT.ok : EXIT.software;
}
