import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createRng,
  generateJobShopScenario,
  indexModel,
  runStrategy,
  trialKey,
  trialSeeds,
} from "@consort/core";
import { type ClockMasterSections, CtaemsCluster } from "@consort/hardware/harness";
import { machineLine, median, writeSection } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";
import { sampleProcess } from "../proc.js";

export interface BenchScaleFlags {
  /** Fleet sizes: agents (machines) per run. */
  readonly agents: readonly number[];
  /** Agents hosted by each agent process. */
  readonly agentsPerProcess: number;
  readonly seed: number;
  /** Also run each trial in-process and check that both agree exactly. */
  readonly check: boolean;
  readonly out?: string;
  readonly json: boolean;
}

export interface ScaleRow {
  readonly agents: number;
  readonly activities: number;
  readonly processes: number;
  readonly agentsPerProcess: number;
  /** Simulated ticks of the trial. */
  readonly ticks: number;
  /** From the first agent process spawned to every agent online, ms. */
  readonly startMs: number;
  /** The distributed trial's wall time, ms. */
  readonly wallMs: number;
  /** Simulated seconds per wall second, a tick taken as one second. */
  readonly speedUp: number;
  /** Wall time per simulated event (one agent stepping one tick), µs. */
  readonly usPerAgentTick: number;
  /** Coordination messages between agents and the coordinator in the trial. */
  readonly messages: number;
  /** Clock-master messages (ticks out, step answers in). */
  readonly control: number;
  /** PUBLISHes the broker accepted during the trial, per wall second. */
  readonly brokerInPerSecond: number;
  /** Messages the broker delivered to subscribers during the trial, per wall second. */
  readonly brokerOutPerSecond: number;
  /** CPU of the coordinator process (clock master, deliberative scheduler and the embedded broker) during the trial, ms. */
  readonly coordinatorCpuMs: number;
  /** Coordinator CPU over the trial's wall time (1 = one core busy throughout). */
  readonly coordinatorCpuShare: number;
  /** CPU of all agent processes together during the trial, ms. */
  readonly agentsCpuMs: number;
  /** Resident memory of an agent process once every agent is online (median over processes), MiB. */
  readonly agentRssIdleMiB: number;
  /** Peak resident memory of an agent process (median and largest over processes), MiB. */
  readonly agentRssPeakMiB: { readonly median: number; readonly max: number };
  /** Peak resident memory per hosted agent (median over processes of peak / agents hosted), MiB. */
  readonly rssPerAgentMiB: number;
  /** Resident memory of the coordinator process at the end of the trial, MiB. */
  readonly coordinatorRssMiB: number;
  readonly rootQuality: number;
  /** Where the clock master's wall time went, ms (waiting includes the embedded broker's work). */
  readonly sections: ClockMasterSections;
  /** With the check: the in-process run's quality and messages, and whether they are identical. */
  readonly inProcess?: {
    readonly rootQuality: number;
    readonly messages: number;
    readonly wallMs: number;
    readonly identical: boolean;
  };
}

const mib = (kib: number) => kib / 1024;

async function runSize(
  agentsWanted: number,
  flags: BenchScaleFlags,
  err: NodeJS.WriteStream,
): Promise<ScaleRow> {
  const scenario = generateJobShopScenario({ machines: agentsWanted, seed: flags.seed });
  const indexed = indexModel(scenario.model);
  if (!indexed.ok)
    throw new CliError(`${scenario.name}: ${indexed.error[0]?.message}`, EXIT.software);
  const index = indexed.value;
  const key = trialKey(createRng(trialSeeds(flags.seed, 1)[0]!));
  const runDir = mkdtempSync(join(tmpdir(), "consort-scale-"));
  const started = performance.now();
  const cluster = await CtaemsCluster.start(index, scenario.initial, {
    strategies: ["consort"],
    runDir,
    agentsPerProcess: flags.agentsPerProcess,
    tickTimeoutMs: 120_000,
    startTimeoutMs: 60_000 + 100 * agentsWanted,
  });
  const startMs = performance.now() - started;
  try {
    const procs = cluster.agentProcesses;
    // Let the start's garbage settle before the idle figure.
    await new Promise((r) => setTimeout(r, 1000));
    const idle = procs.map((p) => sampleProcess(p.pid));
    const brokerBefore = cluster.brokerStats();
    const cpuBefore = process.cpuUsage();
    err.write(
      `${agentsWanted} agents in ${procs.length} processes online in ${(startMs / 1000).toFixed(1)} s; running a trial\n`,
    );
    const r = await cluster.run("consort", 0, key, { changes: scenario.changes });
    const cpu = process.cpuUsage(cpuBefore);
    const brokerAfter = cluster.brokerStats();
    const after = procs.map((p) => sampleProcess(p.pid));
    const coordinatorRss = process.memoryUsage().rss;
    const gone = after.filter((s) => s === undefined).length;
    if (gone > 0)
      throw new CliError(`${gone} agent processes were gone after the run`, EXIT.software);
    const agentsCpuMs = after.reduce(
      (sum, s, i) => sum + (s?.cpuMs ?? 0) - (idle[i]?.cpuMs ?? 0),
      0,
    );
    const peaks = after.map((s) => mib(s!.peakKiB));
    const wallS = r.wallMs / 1000;
    const coordinatorCpuMs = (cpu.user + cpu.system) / 1000;
    let inProcess: ScaleRow["inProcess"];
    if (flags.check) {
      const t0 = performance.now();
      const local = runStrategy(index, scenario.initial, "consort", key, {
        changes: scenario.changes,
      });
      inProcess = {
        rootQuality: local.rootQuality,
        messages: local.traffic.messages,
        wallMs: performance.now() - t0,
        identical:
          local.rootQuality === r.rootQuality &&
          local.traffic.messages === r.traffic.messages &&
          local.ticks === r.ticks,
      };
    }
    const agents = cluster.agents.length;
    const row: ScaleRow = {
      agents,
      activities: index.activities.length,
      processes: procs.length,
      agentsPerProcess: flags.agentsPerProcess,
      ticks: r.ticks,
      startMs,
      wallMs: r.wallMs,
      speedUp: r.ticks / wallS,
      usPerAgentTick: (r.wallMs * 1000) / (agents * r.ticks),
      messages: r.traffic.messages,
      control: r.control,
      brokerInPerSecond: (brokerAfter.published - brokerBefore.published) / wallS,
      brokerOutPerSecond: (brokerAfter.delivered - brokerBefore.delivered) / wallS,
      coordinatorCpuMs,
      coordinatorCpuShare: coordinatorCpuMs / r.wallMs,
      agentsCpuMs,
      agentRssIdleMiB: median(idle.flatMap((s) => (s ? [mib(s.rssKiB)] : []))),
      agentRssPeakMiB: { median: median(peaks), max: Math.max(...peaks) },
      rssPerAgentMiB: median(after.map((s, i) => mib(s!.peakKiB) / procs[i]!.agents.length)),
      coordinatorRssMiB: coordinatorRss / 2 ** 20,
      rootQuality: r.rootQuality,
      sections: r.sections,
      ...(inProcess ? { inProcess } : {}),
    };
    err.write(
      `${agents} agents: ${r.ticks} ticks in ${wallS.toFixed(1)} s (${row.usPerAgentTick.toFixed(0)} µs per agent-tick), quality ${r.rootQuality}${inProcess ? `, in-process ${inProcess.identical ? "identical" : `DIFFERENT (${inProcess.rootQuality})`}` : ""}\n`,
    );
    return row;
  } finally {
    await cluster.close();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** The figures as a results-file section. */
export function scaleMarkdown(rows: readonly ScaleRow[], command: string): string {
  const f1 = (x: number) => x.toFixed(1);
  const perTick = (r: ScaleRow, ms: number) => (ms * 1000) / (r.agents * r.ticks);
  const growth =
    rows.length > 1
      ? `Per agent-tick: wall ${rows.map((r) => `${r.usPerAgentTick.toFixed(0)} µs`).join(", ")}; agent processes' CPU ${rows.map((r) => `${perTick(r, r.agentsCpuMs).toFixed(0)} µs`).join(", ")}; coordinator CPU ${rows.map((r) => `${perTick(r, r.coordinatorCpuMs).toFixed(0)} µs`).join(", ")}${rows.every((r) => r.inProcess) ? `; in-process (one core, no broker) ${rows.map((r) => `${perTick(r, r.inProcess!.wallMs).toFixed(0)} µs`).join(", ")}` : ""} (at ${rows.map((r) => r.agents).join(", ")} agents).`
      : "";
  const checked = rows.filter((r) => r.inProcess);
  return [
    "## Scale: a fleet of C-TAEMS agents over one broker",
    "",
    `Command: \`${command}\`  `,
    `Machine: ${machineLine()}`,
    "",
    "The C-TAEMS job shop (10 activities per machine, one agent per machine, 2 breakdowns per 10 machines) run once, Consort with selective broadcasting and silence, every agent its own MQTT client and identity on an embedded aedes broker, hosted several to a process (`agents/proc`): a bare Node process is resident at about 40 MiB, so a process per agent for 1,000 agents would need more memory than this machine has, and on 2 cores fewer, larger processes also spend less CPU per agent (one JIT warm-up, fewer context switches). The bench process is the coordinator: clock master of the lock-step run (each tick goes out to every agent and every agent answers), host of the deliberative scheduler and of the broker, so its CPU includes the broker's routing. A tick is taken as one second for the speed-up. An agent-tick is one agent stepping through one simulated tick.",
    "",
    "| agents | activities | processes | agents/proc | ticks | online in s | trial wall s | speed-up | µs per agent-tick | coordination msgs | broker in/s | broker out/s | coordinator CPU s (share) | agents CPU s | agent proc RSS idle MiB | agent proc RSS peak MiB (median / max) | RSS per agent MiB | coordinator RSS MiB | quality | same as in-process |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.agents} | ${r.activities} | ${r.processes} | ${r.agentsPerProcess} | ${r.ticks} | ${f1(r.startMs / 1000)} | ${f1(r.wallMs / 1000)} | ${f1(r.speedUp)}x | ${r.usPerAgentTick.toFixed(0)} | ${r.messages} | ${r.brokerInPerSecond.toFixed(0)} | ${r.brokerOutPerSecond.toFixed(0)} | ${f1(r.coordinatorCpuMs / 1000)} (${(r.coordinatorCpuShare * 100).toFixed(0)}%) | ${f1(r.agentsCpuMs / 1000)} | ${f1(r.agentRssIdleMiB)} | ${f1(r.agentRssPeakMiB.median)} / ${f1(r.agentRssPeakMiB.max)} | ${f1(r.rssPerAgentMiB)} | ${f1(r.coordinatorRssMiB)} | ${r.rootQuality} | ${r.inProcess ? (r.inProcess.identical ? "yes" : `no (${r.inProcess.rootQuality})`) : "–"} |`,
    ),
    "",
    growth,
    checked.length > 0
      ? `In-process, the same trials took ${checked.map((r) => `${f1(r.inProcess!.wallMs / 1000)} s (${r.agents} agents)`).join(", ")} on one core.`
      : "",
  ]
    .filter((l, i, all) => l !== "" || all[i - 1] !== "")
    .join("\n");
}

/** `consort bench scale`: a fleet of 10, 100, 1,000 agents over one broker, and what it costs. */
export async function benchScaleCommand(
  flags: BenchScaleFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const rows: ScaleRow[] = [];
  for (const n of flags.agents) rows.push(await runSize(n, flags, err));
  const command = `consort bench scale --agents ${flags.agents.join(",")} --agents-per-process ${flags.agentsPerProcess} --seed ${flags.seed}${flags.check ? "" : " --no-check"}`;
  if (flags.out) await writeSection(flags.out, "scale", scaleMarkdown(rows, command));
  if (flags.json)
    out.write(`${JSON.stringify({ command, machine: machineLine(), sizes: rows })}\n`);
  else out.write(`${scaleMarkdown(rows, command)}\n`);
  const different = rows.filter((r) => r.inProcess && !r.inProcess.identical);
  if (different.length > 0) {
    err.write(
      `consort bench scale: the distributed run differs from the in-process one at ${different.map((r) => r.agents).join(", ")} agents\n`,
    );
    return EXIT.software;
  }
  return EXIT.ok;
}
