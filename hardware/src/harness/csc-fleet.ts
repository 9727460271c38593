import { performance } from "node:perf_hooks";
import {
  type CscBreakdown,
  type CscClock,
  cscOutcome,
  parseHostPort,
  startCscDashboard,
} from "@consort/coordinator";
import {
  CtaemsWorld,
  createRng,
  initialScheduleOf,
  type ModelIndex,
  runStrategy,
  trialKey,
} from "@consort/core";
import { CtaemsCluster } from "./cluster.js";

export interface CscFleetOptions {
  readonly scenarioName: string;
  readonly index: ModelIndex;
  readonly seed: number;
  /** Where the agents' settings and journals go. */
  readonly runDir: string;
  readonly site?: string;
  /** Lock-step (default) or the wall clock with ticks of `tickMs`. */
  readonly clock: "lockstep" | "wall";
  readonly tickMs?: number;
  /** Lock-step: give up when a tick's answers have not come in this long. */
  readonly stallMs: number;
  readonly onProgress?: (p: { nowTicks: number; horizon: number }) => void;
  /** Serve the coordinator's dashboard and /metrics at HOST:PORT while the run goes on. */
  readonly http?: string;
  /** With `http`: keep serving this long after the run (seconds). */
  readonly lingerSeconds?: number;
  /**
   * Lock-step: wall time per tick, for a person watching (default 0; with `http`, what makes
   * the run last about 20 s, 20 to 400 ms a tick). The run's outcome is the same, only slower.
   */
  readonly paceMs?: number;
  /** Where to say where the dashboard is (default: stderr). */
  readonly say?: (line: string) => void;
}

/** A C-TAEMS fleet run's report: the job-shop fleet report's keys, in C-TAEMS terms. */
export interface CscFleetReport {
  readonly scenario: string;
  readonly seed: number;
  readonly family: "ctaems";
  readonly strategy: "consort";
  readonly clock: "lockstep" | "wall";
  readonly tickMs?: number;
  readonly trialKey: number;
  readonly agents: number;
  readonly processes: number;
  /** Methods in the model. */
  readonly activities: number;
  /** Methods whose outcome is final: ran (to success or failure), aborted, or skipped. */
  readonly completed: number;
  readonly breakdown: CscBreakdown;
  /** No method ran twice, started outside its window or overlapped another on its agent. */
  readonly feasible: boolean;
  readonly violations: readonly string[];
  /** Root quality by CSC §2, from what the world ran. */
  readonly objectives: { readonly quality: number };
  /** The same trial in one process: the initial schedule alone, and the BOS agents. */
  readonly reference: { readonly initial: number; readonly bos: number };
  /** Lock-step: whether the run equals the in-process run of the same trial exactly. */
  readonly identicalToInProcess?: boolean;
  readonly disruptions: number;
  readonly repairs: number;
  readonly localRepairs: number;
  readonly escalations: number;
  /** Coordination messages (agents and the deliberative scheduler) and their encoded bytes. */
  readonly messages: number;
  readonly bytes: number;
  readonly messageTypes: Readonly<Record<string, number>>;
  /** Clock-master messages (ticks, answers). */
  readonly control: number;
  /** Wall clock: answers applied a tick after they were asked for. */
  readonly lateAnswers: number;
  /** Decisions the world refused (a repeated start, say): they changed nothing. */
  readonly refused: readonly { agentId: string; tick: number; reason: string }[];
  readonly executed: readonly {
    activityId: string;
    startTicks: number;
    endTicks: number;
    quality: number;
  }[];
  readonly endTicks: number;
  readonly wallSeconds: number;
}

/**
 * One trial of Consort on a C-TAEMS network, with every agent a process of the edge-agent
 * program over an embedded broker, and this process the coordinator (clock master, simulated
 * world, deliberative scheduler). The trial key comes from the seed, so the same seed meets the
 * same durations and failures; on lock-step the run is also done in one process to compare.
 */
export async function runCscFleet(options: CscFleetOptions): Promise<CscFleetReport> {
  const started = performance.now();
  const { index } = options;
  const initial = initialScheduleOf(index);
  const key = trialKey(createRng(options.seed));
  const cluster = await CtaemsCluster.start(index, initial, {
    strategies: ["consort"],
    runDir: options.runDir,
    ...(options.site !== undefined ? { site: options.site } : {}),
    tickTimeoutMs: options.stallMs,
  });
  // Started before the first tick, so the read model sees the trial begin and the agents' ticks.
  const dashboard =
    options.http !== undefined
      ? await startCscDashboard(cluster.coordinator, {
          ...parseHostPort(options.http),
          site: options.site ?? "ctaems",
        }).catch(async (error: Error) => {
          await cluster.close();
          throw error;
        })
      : undefined;
  if (dashboard)
    (options.say ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `consort fleet: dashboard at ${dashboard.url}/, metrics at ${dashboard.url}/metrics`,
    );
  const horizon = new CtaemsWorld(index, key, new Map(), [], 0).horizon;
  const paceMs =
    options.paceMs ??
    (dashboard ? Math.min(400, Math.max(20, Math.round(20_000 / Math.max(1, horizon)))) : 0);
  const clock: CscClock =
    options.clock === "wall"
      ? { kind: "wall", tickMs: options.tickMs ?? 1000 }
      : { kind: "lockstep", tickTimeoutMs: options.stallMs };
  let r: Awaited<ReturnType<CtaemsCluster["run"]>>;
  try {
    r = await cluster
      .run("consort", 0, key, {
        clock,
        ...(options.clock === "lockstep" && paceMs > 0 ? { paceMs } : {}),
        onTick: (t, world) => options.onProgress?.({ nowTicks: t, horizon: world.horizon }),
      })
      .catch((error: Error) => {
        throw new Error(
          `the fleet stalled: ${error.message}${cluster.lastErrors.length ? `; agent errors: ${cluster.lastErrors.join(" | ")}` : ""}`,
        );
      });
  } finally {
    await cluster.close();
    if (dashboard) {
      // The run is over; its last picture stays up for whoever is watching.
      await new Promise((r) => setTimeout(r, (options.lingerSeconds ?? 0) * 1000));
      await dashboard.close();
    }
  }
  const outcome = cscOutcome(index, r.executed, r.aborted, r.ticks, r.world.finished(r.ticks));
  const local = runStrategy(index, initial, "consort", key);
  const identical =
    local.rootQuality === r.rootQuality &&
    local.traffic.messages === r.traffic.messages &&
    JSON.stringify(local.executed) === JSON.stringify(r.executed);
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    scenario: options.scenarioName,
    seed: options.seed,
    family: "ctaems",
    strategy: "consort",
    clock: options.clock,
    ...(options.clock === "wall" ? { tickMs: options.tickMs ?? 1000 } : {}),
    trialKey: key,
    agents: cluster.agents.length,
    processes: cluster.agentProcesses.length,
    activities: outcome.activities,
    completed: outcome.completed,
    breakdown: outcome.breakdown,
    feasible: outcome.feasible,
    violations: outcome.violations,
    objectives: { quality: r.rootQuality },
    reference: {
      initial: runStrategy(index, initial, "initial", key).rootQuality,
      bos: runStrategy(index, initial, "bos", key).rootQuality,
    },
    ...(options.clock === "lockstep" ? { identicalToInProcess: identical } : {}),
    disruptions: 0,
    repairs: 0,
    localRepairs: 0,
    escalations: r.traffic.byType.get("escalate") ?? 0,
    messages: r.traffic.messages,
    bytes: r.bytes,
    messageTypes: Object.fromEntries([...r.traffic.byType].sort()),
    control: r.control,
    lateAnswers: r.lateAnswers,
    refused: r.refused,
    executed: r.executed.map((e) => ({
      activityId: e.activityId,
      startTicks: e.startTicks,
      endTicks: e.endTicks,
      quality: e.quality,
    })),
    endTicks: r.ticks,
    wallSeconds,
  };
}
