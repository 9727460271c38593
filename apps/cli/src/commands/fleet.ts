import { randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type FleetReport, renderHtmlReport } from "@consort/coordinator";
import { modelToJobShop } from "@consort/core";
import { type CscFleetReport, runCscFleet, runFleet } from "@consort/hardware/harness";
import type { DeviceFault, RigFault } from "@consort/hardware/rig";
import cliProgress from "cli-progress";
import { percentile } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";
import { type LoadedProblem, loadProblem } from "../load-problem.js";

export interface FleetFlags {
  readonly scenario: string;
  readonly seed: number;
  readonly broker?: string;
  readonly site?: string;
  readonly objective: "makespan" | "twt";
  readonly out: string;
  readonly breakdowns: number;
  readonly overruns: number;
  readonly rushOrders: number;
  readonly offline: number;
  /** Broker kill -9s at seeded ticks (the broker then runs as a process over Redis). */
  readonly brokerCrashes?: number;
  /** Coordinator kill -9s at seeded ticks, each followed by a restart from its journal. */
  readonly coordinatorCrashes?: number;
  /** C-TAEMS networks: lock-step (default) or the wall clock with ticks of `tickMs`. */
  readonly clock?: "lockstep" | "wall";
  readonly tickMs?: number;
  readonly json: boolean;
  /** Keep the agents' journals in this folder (empty or absent); otherwise they go with the run. */
  readonly keepJournals?: string;
  /** What each agent drives (default: its simulated resource). */
  readonly environment?: "sim" | "opcua" | "modbus" | "vda5050" | "serial";
  /** Device faults, `KIND@ACTIVITY[#ATTEMPT]`. */
  readonly fault?: readonly string[];
  /** HOST:PORT of the coordinator's dashboard and /metrics while the run goes on. */
  readonly http?: string;
  /** With --http: seconds the dashboard stays up after the run. */
  readonly linger?: number;
  /** Planners the manager balances jobs across (job shops). Default 1. */
  readonly planners?: number;
  /** Run-time repairs: distributed first (default) or central re-solves only. */
  readonly repair?: "distributed" | "central";
  /** How work changes hands at run time: contract net (default) or the central re-solve. */
  readonly reassignment?: "contract-net" | "central";
}

/** `disconnect@J1-op1`, `stall@J2-op3#2`, `fault:17@J1-op2`, `slow:500@J3-op1`: one rig fault. */
export function parseFault(text: string): RigFault {
  const m = /^(disconnect|stall|fault|slow)(?::(\d+))?@([^#]+)(?:#(\d+))?$/.exec(text);
  if (!m)
    throw new CliError(
      `--fault ${text}: expected KIND@ACTIVITY[#ATTEMPT], KIND one of disconnect, stall, fault:CODE, slow:MS`,
      EXIT.usage,
    );
  const [, kind, arg, activityId, attempt] = m as unknown as [
    string,
    string,
    string | undefined,
    string,
    string | undefined,
  ];
  const n = arg === undefined ? undefined : Number(arg);
  const fault: DeviceFault =
    kind === "disconnect"
      ? { kind: "disconnect" }
      : kind === "stall"
        ? { kind: "stall" }
        : kind === "fault"
          ? { kind: "fault", code: n ?? 1 }
          : { kind: "slow", delayMs: n ?? 500 };
  return { activityId, fault, ...(attempt ? { attempt: Number(attempt) } : {}) };
}

/**
 * Whether a problem is a pure C-TAEMS network: a scenario with a task network and no jobs (even
 * one a job shop could also read, such as a sum of single methods), or any model that is not a
 * job shop and has no job-shop part. Scenarios that mix jobs with a network run as a shop with
 * the CAMPS agents.
 */
export function isCtaemsNetwork(problem: LoadedProblem): boolean {
  const document = problem.scenario?.document;
  if (document && (document.jobs ?? []).length > 0) return false;
  if (document?.network !== undefined) return true;
  return !modelToJobShop(problem.model).ok && document !== undefined;
}

/** `consort fleet`: the simulated fleet over MQTT, its summary, and its report. */
export async function fleetCommand(
  flags: FleetFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const problem = await loadProblem(flags.scenario);
  // Refused before any process starts: a run must not end in a stall or lose its report.
  const agents = problem.model.resources.length;
  if (flags.offline > agents)
    throw new CliError(
      `--offline ${flags.offline}: more agents taken offline than the ${agents} of ${flags.scenario}`,
      EXIT.usage,
    );
  if (flags.brokerCrashes && flags.broker !== undefined)
    throw new CliError(
      "--broker-crashes: the fleet crashes its own broker; it cannot with --broker",
      EXIT.usage,
    );
  mustBeWritableDir(flags.out, "--out");
  const crashes = flags.coordinatorCrashes ?? 0;
  if (crashes > 0) {
    const why = isCtaemsNetwork(problem)
      ? `${flags.scenario} is a C-TAEMS network, whose fleet has no journalled coordinator yet`
      : flags.http !== undefined
        ? "--http serves one coordinator's dashboard, which a crash would take down"
        : flags.environment !== undefined && flags.environment !== "sim"
          ? `--environment ${flags.environment}: the rig's devices run on one coordinator's clock`
          : undefined;
    if (why) throw new CliError(`--coordinator-crashes ${crashes}: ${why}`, EXIT.usage);
    if (flags.brokerCrashes)
      throw new CliError(
        `--coordinator-crashes ${crashes}: --broker-crashes too; the fleet runs one kind of crash at a time`,
        EXIT.usage,
      );
  }
  if (isCtaemsNetwork(problem) && (flags.planners ?? 1) > 1)
    throw new CliError(
      `--planners ${flags.planners}: several planners share a job shop's jobs; ${flags.scenario} is a C-TAEMS network`,
      EXIT.usage,
    );
  if (isCtaemsNetwork(problem)) return cscFleet(problem, flags, out, err);
  if (flags.clock === "wall")
    throw new CliError(
      `${flags.scenario}: --clock wall runs C-TAEMS networks; a job shop runs on lock-step time`,
      EXIT.usage,
    );
  const keep = flags.keepJournals;
  // A kept folder must start empty: an agent would resume from an earlier run's journal.
  if (keep !== undefined && existsSync(keep) && readdirSync(keep).length > 0)
    throw new CliError(`--keep-journals ${keep}: the folder is not empty`, EXIT.usage);
  if (keep !== undefined) mkdirSync(keep, { recursive: true });
  const runDir = keep !== undefined ? resolve(keep) : mkdtempSync(join(tmpdir(), "consort-fleet-"));
  const bar =
    err.isTTY && !flags.json
      ? new cliProgress.SingleBar(
          {
            stream: err,
            format: "fleet |{bar}| {value}/{total} activities | tick {tick}",
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(problem.index.activities.length, 0, { tick: 0 });
  let result: Awaited<ReturnType<typeof runFleet>>;
  // The rig's OPC UA server (node-opcua) writes its warnings with console.log: stdout is the report's.
  const log = console.log;
  console.log = (...args: unknown[]) => console.error(...args);
  try {
    result = await runFleet({
      scenarioName: problem.model.name,
      model: problem.model,
      seed: flags.seed,
      // On a shared broker every run gets its own site, so no earlier run's retained state or
      // queued messages can reach it.
      site:
        flags.site ??
        (flags.broker !== undefined ? `run-${randomBytes(4).toString("hex")}` : "default"),
      ...(flags.broker !== undefined ? { brokerUrl: flags.broker } : {}),
      runDir,
      objective: flags.objective,
      disruptions: {
        breakdowns: flags.breakdowns,
        overruns: flags.overruns,
        rushOrders: flags.rushOrders,
        offlines: flags.offline,
      },
      ...(flags.brokerCrashes ? { brokerCrashes: flags.brokerCrashes } : {}),
      ...(crashes > 0 ? { coordinatorCrashes: crashes } : {}),
      stallMs: 20_000,
      ...(flags.planners !== undefined && flags.planners > 1 ? { planners: flags.planners } : {}),
      ...(flags.repair ? { runtimeRepair: flags.repair } : {}),
      ...(flags.reassignment ? { reassignment: flags.reassignment } : {}),
      ...(flags.http !== undefined
        ? {
            http: flags.http,
            lingerSeconds: flags.linger ?? 0,
            say: (line: string) => err.write(`${line}\n`),
          }
        : {}),
      ...(flags.environment && flags.environment !== "sim"
        ? { environment: flags.environment, faults: (flags.fault ?? []).map(parseFault) }
        : {}),
      onProgress: (p) => {
        bar?.setTotal(p.activities);
        bar?.update(p.completed, { tick: p.nowTicks });
      },
    });
  } catch (error) {
    bar?.stop();
    throw new CliError(`fleet run failed: ${(error as Error).message}`, EXIT.software);
  } finally {
    console.log = log;
    if (keep === undefined) rmSync(runDir, { recursive: true, force: true });
  }
  bar?.stop();
  const { report } = result;
  const coordinator = {
    coordinatorEpoch: result.coordinator.epoch,
    coordinatorCrashes: result.coordinator.crashes,
  };
  const integrity = { lost: result.integrity.lost, duplicated: result.integrity.duplicated };
  const restarts = result.brokerRestarts ? { brokerRestarts: result.brokerRestarts } : {};
  mkdirSync(flags.out, { recursive: true });
  const base = join(flags.out, `fleet-${slug(report.scenario)}-seed${report.seed}`);
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ ...report, integrity: result.integrity, ...restarts, ...coordinator }, null, 2)}\n`,
  );
  writeFileSync(`${base}.html`, renderHtmlReport(report));
  if (flags.json) {
    out.write(
      `${JSON.stringify({
        scenario: report.scenario,
        seed: report.seed,
        agents: report.agents,
        processes: report.processes,
        activities: report.activities,
        completed: report.completed,
        feasible: report.feasible,
        integrity,
        ...restarts,
        disruptions: report.disruptions.length,
        ...coordinator,
        repairs: report.repairs.length,
        localRepairs: report.localRepairs,
        escalations: report.escalations,
        ...(report.repairsByLevel ? { repairsByLevel: report.repairsByLevel } : {}),
        ...(report.runtimeRepairs
          ? {
              runtimeRepairs: report.runtimeRepairs.map((x) => ({
                atTicks: x.atTicks,
                trigger: x.trigger,
                level: x.level,
                churn: x.churn,
              })),
            }
          : {}),
        messages: report.messages,
        bytes: report.bytes,
        objectives: report.objectives,
        reference: report.reference,
        endTicks: report.endTicks,
        wallSeconds: report.wallSeconds,
        ...(report.planners
          ? {
              planners: report.planners,
              jobMoves: report.jobMoves ?? [],
              leadTimeExtensions: report.leadTimeExtensions ?? [],
            }
          : {}),
        report: { json: `${base}.json`, html: `${base}.html` },
        ...(keep !== undefined ? { journals: runDir } : {}),
      })}\n`,
    );
  } else out.write(summary(report, base, integrity, result.coordinator));
  const intact = integrity.lost === 0 && integrity.duplicated === 0;
  return report.feasible && intact && report.completed === report.activities
    ? EXIT.ok
    : EXIT.software;
}

/** `consort fleet` on a C-TAEMS network: one trial of Consort, agents as processes. */
async function cscFleet(
  problem: LoadedProblem,
  flags: FleetFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  if (flags.broker !== undefined)
    throw new CliError(
      "--broker: a C-TAEMS fleet runs on its own embedded broker (one user per agent)",
      EXIT.usage,
    );
  const clock = flags.clock ?? "lockstep";
  const runDir = mkdtempSync(join(tmpdir(), "consort-fleet-"));
  const bar =
    err.isTTY && !flags.json
      ? new cliProgress.SingleBar(
          {
            stream: err,
            format: "fleet |{bar}| tick {value}/{total}",
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(1, 0);
  let report: CscFleetReport;
  try {
    report = await runCscFleet({
      scenarioName: problem.model.name,
      index: problem.index,
      seed: flags.seed,
      runDir,
      ...(flags.site !== undefined ? { site: flags.site } : {}),
      clock,
      ...(flags.tickMs !== undefined ? { tickMs: flags.tickMs } : {}),
      stallMs: 20_000,
      ...(flags.http !== undefined
        ? {
            http: flags.http,
            lingerSeconds: flags.linger ?? 0,
            say: (line: string) => err.write(`${line}\n`),
          }
        : {}),
      onProgress: (p) => {
        bar?.setTotal(p.horizon);
        bar?.update(p.nowTicks);
      },
    });
  } catch (error) {
    bar?.stop();
    throw new CliError(`fleet run failed: ${(error as Error).message}`, EXIT.software);
  } finally {
    // The journals of a simulated run are of no use once it is over.
    rmSync(runDir, { recursive: true, force: true });
  }
  bar?.stop();
  mkdirSync(flags.out, { recursive: true });
  const base = join(flags.out, `fleet-${slug(report.scenario)}-seed${report.seed}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  if (flags.json) {
    const { executed: _executed, ...summary } = report;
    out.write(`${JSON.stringify({ ...summary, report: { json: `${base}.json` } })}\n`);
  } else {
    const b = report.breakdown;
    out.write(
      [
        `${report.scenario}: ${report.agents} C-TAEMS agents in ${report.processes} processes over MQTT, seed ${report.seed}, ${clock === "wall" ? `wall clock (${report.tickMs} ms ticks)` : "lock-step"}`,
        `  completed   ${report.completed}/${report.activities} methods by tick ${report.endTicks} (${b.succeeded} succeeded, ${b.failed} failed, ${b.aborted} aborted, ${b.skipped} not started), in ${report.wallSeconds.toFixed(1)} s`,
        `  feasible    ${report.feasible ? "yes (checked independently)" : `NO: ${report.violations.slice(0, 3).join("; ")}`}`,
        `  quality     ${report.objectives.quality} (same trial in one process: initial schedule ${report.reference.initial}, BOS ${report.reference.bos})${report.identicalToInProcess !== undefined ? `; ${report.identicalToInProcess ? "identical to" : "DIFFERENT from"} Consort in one process` : ""}`,
        `  traffic     ${report.messages} messages, ${(report.bytes / 1024).toFixed(1)} KiB${report.lateAnswers ? `; ${report.lateAnswers} late answers` : ""}${report.refused.length ? `; ${report.refused.length} decisions refused` : ""}`,
        `  report      ${base}.json`,
        "",
      ].join("\n"),
    );
  }
  return report.feasible && report.completed === report.activities ? EXIT.ok : EXIT.software;
}

/** Creates `dir` if need be and checks a file can be written in it, or says why not in one line. */
function mustBeWritableDir(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOTDIR" || code === "EEXIST"
        ? "a file is in the way of the folder"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (code ?? (error as Error).message);
    throw new CliError(`${flag} ${dir}: cannot write reports there (${why})`, EXIT.usage);
  }
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-");

function summary(
  r: FleetReport,
  base: string,
  integrity: { lost: number; duplicated: number },
  coordinator: { epoch: number; crashes: readonly { atTicks: number; downMs: number }[] },
): string {
  const o = r.objectives;
  const ref = r.reference;
  const latencies = r.repairs.map((x) => x.latencyMs);
  const pct = (q: number) => percentile(latencies, q);
  const lines = [
    `${r.scenario}: ${r.agents} agents in ${r.processes} processes over MQTT, seed ${r.seed}`,
    `  completed   ${r.completed}/${r.activities} activities by tick ${r.endTicks}, in ${r.wallSeconds.toFixed(1)} s (${Math.round(r.ticksPerSecond)} ticks/s)`,
    `  feasible    ${r.feasible ? "yes (checked independently)" : `NO: ${r.violations.slice(0, 3).join("; ")}`}`,
    `  integrity   ${integrity.lost} lost, ${integrity.duplicated} run twice (from the agents' journals)`,
    `  objectives  makespan ${o.makespan}, weighted tardiness ${o.totalWeightedTardiness}, mean lead time ${o.meanLeadTime.toFixed(1)}, wait ${o.totalWait}, root quality ${o.quality}`,
    `  hindsight   makespan ${ref.makespan}, weighted tardiness ${ref.totalWeightedTardiness} (a heuristic: the reference solver run afterwards on what happened, ${ref.solverSeconds.toFixed(1)} s; the fleet can beat it)`,
    `  disruptions ${r.disruptions.map((d) => d.kind).join(", ") || "none"}`,
    ...(coordinator.crashes.length > 0
      ? [
          `  coordinator killed ${coordinator.crashes.length} time(s), at tick ${coordinator.crashes.map((c) => c.atTicks).join(", ")}; resumed from its journal each time (now epoch ${coordinator.epoch})`,
        ]
      : []),
    `  repairs     ${r.repairs.length} schedules installed${latencies.length ? ` (median ${pct(0.5)} ms, p95 ${pct(0.95)} ms to install on every affected agent)` : ""}; ${r.localRepairs} repaired locally by an agent, ${r.escalations} escalated`,
    ...(r.repairsByLevel
      ? [
          `  levels      ${Object.entries(r.repairsByLevel)
            .map(([k, v]) => `${k} ${v}`)
            .join(
              ", ",
            )}; ${(r.runtimeRepairs ?? []).reduce((n, x) => n + x.churn.moved, 0)} operations moved by repairs`,
        ]
      : []),
    `  traffic     ${r.messages} messages, ${(r.bytes / 1024).toFixed(1)} KiB (${(r.messages / Math.max(1, r.agents)).toFixed(1)} messages per agent)`,
    ...(r.planners
      ? [
          `  planners    ${r.planners.map((p) => `${p.id} ${p.jobs.length} jobs (${p.loadTicks} ticks of work)`).join(", ")}; ${(r.jobMoves ?? []).filter((m) => m.accepted).length} of ${(r.jobMoves ?? []).length} job moves kept, ${(r.leadTimeExtensions ?? []).length} lead times prolonged`,
        ]
      : []),
    `  report      ${base}.html and ${base}.json`,
  ];
  return `${lines.join("\n")}\n`;
}
