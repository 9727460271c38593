import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createBroker, type RunningBroker } from "@consort/broker";
import {
  Coordinator,
  type ExecutedBar,
  executedSchedule,
  type FleetReport,
  type Objectives,
  parseHostPort,
  repairsByLevel,
  reportJobs,
  startDashboard,
  type TrafficFigure,
} from "@consort/coordinator";
import {
  checkSchedule,
  createRng,
  DISPATCH_RULES,
  type Disruption,
  dispatchSchedule,
  evaluateQuality,
  executionOfSchedule,
  fixed,
  generateDisruptions,
  indexModel,
  type JobShopObjective,
  modelToJobShop,
  reoptimize,
  type Schedule,
  scheduleMetrics,
  type TaskModel,
  trialKey,
} from "@consort/core";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import pino, { type Logger } from "pino";
import type { EnvironmentSettings } from "../adapters/index.js";
import { clockTimers, sampledOutcomes } from "../rig/machine.js";
import type { Rig, RigFault, RigKind } from "../rig/rig.js";

export interface FleetOptions {
  readonly scenarioName: string;
  readonly model: TaskModel;
  readonly seed: number;
  readonly site: string;
  /** An external broker; default: an embedded one on a free loopback port. */
  readonly brokerUrl?: string;
  /** Where agents keep their journals. */
  readonly runDir: string;
  readonly objective: JobShopObjective;
  readonly disruptions: {
    breakdowns: number;
    overruns: number;
    rushOrders: number;
    offlines: number;
  };
  /** Give up when nothing has moved for this long. */
  readonly stallMs: number;
  readonly logger?: Logger;
  readonly onProgress?: (p: { nowTicks: number; completed: number; activities: number }) => void;
  /**
   * What each agent drives: its simulated resource (`sim`, the default), or an emulated device
   * of the rig speaking `modbus`, `opcua` or `vda5050`, through that adapter.
   */
  readonly environment?: "sim" | RigKind;
  /** Faults the rig injects (device environments only). */
  readonly faults?: readonly RigFault[];
  /** Serve the coordinator's dashboard and /metrics at HOST:PORT while the run goes on. */
  readonly http?: string;
  /** With `http`: keep serving this long after the run (seconds). */
  readonly lingerSeconds?: number;
  /**
   * Lock-step time paced for a person watching: at least this many wall milliseconds per
   * simulated tick (default 0; 50 with `http`). The run's outcome is the same, only slower.
   */
  readonly paceMs?: number;
  /** Where to say where the dashboard is (default: stderr). */
  readonly say?: (line: string) => void;
  /** The coordinator's run-time repair policy (default: distributed first). */
  readonly runtimeRepair?: "distributed" | "central";
  /** How work changes hands at run time (default: contract net). */
  readonly reassignment?: "contract-net" | "central";
}

/**
 * What the journals prove: `lost` activities of the final model that no agent journalled as
 * completed; `duplicated` activities journalled as completed more than once, or started again
 * without a failure in between (a run done twice).
 */
export interface Integrity {
  readonly lost: number;
  readonly duplicated: number;
  readonly lostIds: readonly string[];
  readonly duplicatedIds: readonly string[];
}

export interface FleetResult {
  readonly report: FleetReport;
  readonly integrity: Integrity;
  readonly disruptions: readonly Disruption[];
  readonly schedule: Schedule;
}

const require = createRequire(import.meta.url);

/** The disruptions a simulated agent's resource carries out itself. */
export type AgentDisruption =
  | { kind: "breakdown"; resourceId: string; fromTicks: number; untilTicks: number }
  | { kind: "overrun"; activityId: string; factor?: number; extraTicks?: number };

/**
 * The settings file of an edge agent in a lock-step run (the edge agent's `AgentSettings`,
 * written here as the plain object the program reads: the harness finds the program at run time
 * and does not build against it).
 */
export interface LockstepAgentSettings {
  readonly agentId: string;
  readonly site: string;
  readonly broker: string;
  readonly journal: string;
  readonly journalSync: boolean;
  readonly clock: "lockstep";
  readonly epochMs: number;
  readonly tickMs: number;
  readonly heuristic: "greedy";
  readonly logLevel: "warn";
  readonly simulation: { trialKey: number; disruptions: readonly AgentDisruption[] };
  readonly environment?: EnvironmentSettings;
}

/**
 * The settings of a simulated agent in a lock-step run: driven by the coordinator's clock, its
 * journal in `runDir` (not synced: the run is thrown away), and the trial's disruptions.
 */
export function lockstepAgentSettings(options: {
  readonly agentId: string;
  readonly site: string;
  readonly broker: string;
  readonly runDir: string;
  readonly trialKey: number;
  readonly disruptions: readonly AgentDisruption[];
}): LockstepAgentSettings {
  return {
    agentId: options.agentId,
    site: options.site,
    broker: options.broker,
    journal: join(options.runDir, `${options.agentId}.journal`),
    journalSync: false,
    clock: "lockstep",
    epochMs: 0,
    tickMs: 1000,
    heuristic: "greedy",
    logLevel: "warn",
    simulation: { trialKey: options.trialKey, disruptions: options.disruptions },
  };
}

/**
 * The compiled edge-agent program that each agent process runs, found where the workspace
 * installed it (resolved at run time, so the harness does not depend on the agent package).
 */
export function agentProgram(): string {
  return join(require.resolve("@consort/edge-agent"), "..", "main.js");
}

type Tally = ReadonlyMap<string, { messages: number; bytes: number }>;

/** One table of a process's traffic: sent and received, by key. */
function figures(sent: Tally, received: Tally): Record<string, TrafficFigure> {
  const out: Record<string, TrafficFigure> = {};
  for (const key of [...new Set([...sent.keys(), ...received.keys()])].sort())
    out[key] = {
      sent: sent.get(key)?.messages ?? 0,
      sentBytes: sent.get(key)?.bytes ?? 0,
      received: received.get(key)?.messages ?? 0,
      receivedBytes: received.get(key)?.bytes ?? 0,
    };
  return out;
}

/**
 * The simulated fleet: a broker (embedded, or external), the coordinator in this process, and
 * one scheduler-agent process per resource, over real MQTT with per-agent credentials, on
 * lock-step simulated time. Disruptions are drawn from the seed: breakdowns and overruns happen
 * in the agents' simulated resources, rush orders arrive on the orders topic, and an agent that
 * goes offline is killed (SIGKILL) and started again later from its journal.
 */
export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  let trafficFigures: FleetReport["coordinatorTraffic"];
  // Logs go to stderr: stdout may carry the run's one JSON object.
  const logger = options.logger ?? pino({ level: "warn" }, pino.destination(2));
  const started = performance.now();
  const model = options.model;
  mustIndex(model); // refuse an invalid model before starting any process
  const resources = model.resources.map((r) => r.id);
  const rng = createRng(options.seed);
  const key = trialKey(rng.fork());
  const horizon = estimateHorizon(model);
  const script = generateDisruptions(model, rng.fork(), {
    horizonTicks: Math.max(10, Math.floor(horizon * 0.8)),
    ...options.disruptions,
    outageTicks: {
      min: Math.max(1, Math.floor(horizon / 20)),
      max: Math.max(2, Math.floor(horizon / 8)),
    },
  });

  const passwords = new Map(resources.map((r) => [r, randomBytes(12).toString("base64url")]));
  const coordinatorPassword = randomBytes(12).toString("base64url");
  const operatorPassword = randomBytes(12).toString("base64url");
  let broker: RunningBroker | undefined;
  let url = options.brokerUrl;
  if (!url) {
    broker = await createBroker({
      host: "127.0.0.1",
      port: 0,
      site: options.site,
      anonymous: false,
      users: [
        ...resources.map((r) => ({
          username: r,
          password: passwords.get(r)!,
          role: "agent" as const,
        })),
        { username: "coordinator", password: coordinatorPassword, role: "coordinator" as const },
        { username: "operator", password: operatorPassword, role: "operator" as const },
      ],
    });
    url = broker.url;
  }
  const external = options.brokerUrl !== undefined;
  const credentials = (user: string, password: string) =>
    external ? { username: user } : { username: user, password };

  // Device environments: the rig's emulated devices, one per resource, on the clock master's time.
  let rig: Rig | undefined;
  let deviceBroker: { url: string; close(): Promise<void> } | undefined;
  const deviceSettings = new Map<string, EnvironmentSettings>();

  const children = new Map<string, ChildProcess>();
  let processes = 0;
  const stderr: string[] = [];
  mkdirSync(options.runDir, { recursive: true });
  // Set once teardown begins: nothing scheduled during the run may start or publish after it.
  let tornDown = false;
  const spawnAgent = (resourceId: string): void => {
    if (tornDown) return;
    const mine = script.filter(
      (d) =>
        (d.kind === "breakdown" && d.resourceId === resourceId) ||
        (d.kind === "overrun" && agentMayRun(model, resourceId, d.activityId)),
    );
    const device = deviceSettings.get(resourceId);
    const settings = {
      ...lockstepAgentSettings({
        agentId: resourceId,
        site: options.site,
        broker: url!,
        runDir: options.runDir,
        trialKey: key,
        disruptions: mine as AgentDisruption[],
      }),
      ...(device ? { environment: device } : {}),
    };
    const file = join(options.runDir, `${resourceId}.settings.json`);
    writeFileSync(file, JSON.stringify(settings, null, 2));
    const child = spawn(process.execPath, [agentProgram(), "--config", file], {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        ...(external ? {} : { CONSORT_AGENT_PASSWORD: passwords.get(resourceId)! }),
      },
    });
    child.stderr?.on("data", (d: Buffer) => stderr.push(`${resourceId}: ${d.toString().trim()}`));
    children.set(resourceId, child);
    processes++;
  };

  const transport = await MqttTransport.connect({
    url,
    clientId: "coordinator",
    ...credentials("coordinator", coordinatorPassword),
    logger,
  });
  const operator = await MqttTransport.connect({
    url,
    clientId: "operator",
    ...credentials("operator", operatorPassword),
    logger,
  });
  const coordinator = new Coordinator(
    model,
    transport,
    {
      site: options.site,
      coordinatorId: "coordinator",
      objective: options.objective,
      seed: options.seed,
      repairIterations: 1000,
      urgentRepairIterations: 300,
      lockstep: true,
      ...(options.runtimeRepair ? { runtimeRepair: options.runtimeRepair } : {}),
      ...(options.reassignment ? { reassignment: options.reassignment } : {}),
      ...((options.paceMs ?? (options.http ? 50 : 0)) > 0
        ? { paceMs: options.paceMs ?? (options.http ? 50 : 0) }
        : {}),
    },
    logger,
  );
  const dashboard =
    options.http !== undefined
      ? await startDashboard(coordinator, {
          ...parseHostPort(options.http),
          site: options.site,
          stats: transport.stats,
          ...(process.env.CONSORT_OPERATOR_TOKEN
            ? { operatorToken: process.env.CONSORT_OPERATOR_TOKEN }
            : {}),
          logger,
        })
      : undefined;
  if (dashboard)
    (options.say ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `consort fleet: dashboard at ${dashboard.url}/, metrics at ${dashboard.url}/metrics`,
    );
  let operatorSeq = 0;
  try {
    const kind = options.environment ?? "sim";
    if (kind !== "sim") {
      if (kind === "vda5050") deviceBroker = await startDeviceBroker();
      const { startRig } = await import("../rig/rig.js");
      const overruns = script.flatMap((d) => (d.kind === "overrun" ? [d] : []));
      // Rush orders' operations too: the devices must know every activity they may be asked to run.
      const rushNodes = script.flatMap((d) =>
        d.kind === "rush-order" ? [...(d.delta.addNodes ?? [])] : [],
      );
      rig = await startRig({
        kind,
        model: { resources: model.resources, nodes: [...model.nodes, ...rushNodes] },
        trialKey: key,
        tickMs: RIG_TICK_MS,
        faults: options.faults ?? [],
        ...(deviceBroker ? { broker: deviceBroker.url } : {}),
        pkiDir: join(options.runDir, "pki"),
        // The devices wait on the clock master's time, so a run ends on the simulator's tick.
        timers: clockTimers(coordinator.timers, RIG_TICK_MS),
        outcome: overrunOutcomes([...model.nodes, ...rushNodes], key, overruns),
      });
      for (const d of rig.devices)
        deviceSettings.set(
          d.resourceId,
          // Lock-step runs end milliseconds after they start: a sampled `done` could read true
          // before and after a run and never notify. Exception-based sampling reports each change.
          d.settings.kind === "opcua" ? { ...d.settings, samplingIntervalMs: 0 } : d.settings,
        );
    }
    await coordinator.start();
    for (const r of resources) spawnAgent(r);
    await coordinator.waitForAgents(resources, 30_000);

    // The script's world events that the coordinator's clock carries out.
    for (const d of script) {
      if (d.kind === "rush-order") {
        coordinator.timers.at(d.atTicks, () => {
          if (tornDown) return;
          coordinator.expectOrder();
          const order = orderOf(
            d.delta.addNodes ?? [],
            d.delta.addLinks ?? [],
            `rush-${d.atTicks}`,
          );
          operator
            .publish(
              topics.orders(options.site),
              makeMessage("order", "operator", order, { seq: operatorSeq++, at: Date.now() }),
            )
            .catch((error: unknown) =>
              logger.warn({ err: error }, "the rush order could not be published"),
            );
        });
      } else if (d.kind === "offline") {
        coordinator.timers.at(d.fromTicks, () => {
          if (tornDown) return;
          children.get(d.resourceId)?.kill("SIGKILL");
          coordinator.lost(d.resourceId);
        });
        coordinator.timers.at(d.untilTicks, () => {
          if (tornDown) return;
          coordinator.expect(d.resourceId);
          spawnAgent(d.resourceId);
        });
      }
    }

    coordinator.plan();
    const total = () => coordinator.currentModel.nodes.filter((n) => n.kind === "activity").length;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        options.onProgress?.({
          nowTicks: coordinator.nowTicks,
          completed: coordinator.record.executed.size,
          activities: total(),
        });
        if (coordinator.idleMs > options.stallMs) {
          clearInterval(timer);
          const waiting = coordinator.clockMaster
            .waitingFor()
            .map((w) => `${w.agentId} (${w.reason})`);
          reject(
            new Error(
              `the fleet stalled at tick ${coordinator.nowTicks}: waiting for ${waiting.join(", ") || "nothing"}${stderr.length ? `; agent errors: ${stderr.slice(-3).join(" | ")}` : ""}`,
            ),
          );
        }
      }, 100);
      void coordinator.finished.then(() => {
        clearInterval(timer);
        resolve();
      });
    });
  } finally {
    tornDown = true;
    for (const child of children.values()) child.kill("SIGTERM");
    await Promise.all(
      [...children.values()].map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((r) => {
              // An agent that does not stop on SIGTERM must not keep the run from ending.
              const hard = setTimeout(() => c.kill("SIGKILL"), 5000);
              c.once("exit", () => {
                clearTimeout(hard);
                r();
              });
            }),
      ),
    );
    await operator.close();
    trafficFigures = {
      byType: figures(transport.stats.sent, transport.stats.received),
      byTopic: figures(transport.stats.sentByTopic, transport.stats.receivedByTopic),
    };
    await transport.close();
    await rig?.close();
    await deviceBroker?.close();
    await broker?.close();
    if (dashboard) {
      // The run is over; its last picture stays up for whoever is watching.
      await new Promise((r) => setTimeout(r, (options.lingerSeconds ?? 0) * 1000));
      await dashboard.close();
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;

  // What really ran, checked independently, measured, and compared with hindsight.
  const finalModel = coordinator.currentModel;
  const finalIndex = mustIndex(finalModel);
  const executed = coordinator.record.executed;
  const schedule = executedSchedule(finalModel, executed);
  const violations = checkSchedule(finalIndex, schedule, { requireAll: true }).map((v) => v.reason);
  // A machine does no work while it is broken: no run may overlap a breakdown on its resource.
  for (const d of script) {
    if (d.kind !== "breakdown") continue;
    for (const [activityId, e] of executed) {
      if (
        e.resourceId === d.resourceId &&
        e.startTicks < d.untilTicks &&
        e.endTicks > d.fromTicks
      ) {
        violations.push(
          `${activityId} ran over [${e.startTicks}, ${e.endTicks}) on ${d.resourceId}, broken over [${d.fromTicks}, ${d.untilTicks})`,
        );
      }
    }
  }
  const measured = scheduleMetrics(finalIndex, schedule);
  const downtime = script.flatMap((d) =>
    d.kind === "breakdown"
      ? [
          {
            resourceId: d.resourceId,
            fromTicks: d.fromTicks,
            untilTicks: d.untilTicks,
            reason: "breakdown",
          },
        ]
      : [],
  );
  const reference = hindsight(finalModel, executed, downtime, options);
  const jobOf = (id: string) => {
    let n = id;
    for (
      let p = finalIndex.parent.get(n);
      p !== undefined && p !== finalModel.root;
      p = finalIndex.parent.get(p)
    )
      n = p;
    return n;
  };
  const perAgent = [...coordinator.perAgent.entries()].map(([agentId, t]) => ({
    agentId,
    sent: t.received,
    received: t.sent,
    bytesSent: t.bytesReceived,
    bytesReceived: t.bytesSent,
  }));
  const messages = perAgent.reduce((s, a) => s + a.sent + a.received, 0);
  const bytes = perAgent.reduce((s, a) => s + a.bytesSent + a.bytesReceived, 0);
  const endTicks = measured.makespanTicks;
  const report: FleetReport = {
    scenario: options.scenarioName,
    seed: options.seed,
    site: options.site,
    agents: resources.length,
    processes,
    activities: finalIndex.activities.length,
    completed: executed.size,
    feasible: violations.length === 0,
    violations,
    endTicks,
    wallSeconds,
    ticksPerSecond: wallSeconds > 0 ? endTicks / wallSeconds : 0,
    objectives: objectivesOf(measured, rootQuality(finalIndex, executed)),
    reference,
    disruptions: script.map(describeDisruption),
    repairs: coordinator.record.repairs.map((r) => ({ ...r })),
    localRepairs: coordinator.record.localRepairs.length,
    escalations: coordinator.record.escalations.length,
    repairsByLevel: repairsByLevel(coordinator.record),
    runtimeRepairs: coordinator.record.runtimeRepairs.map((r) => ({ ...r, churn: { ...r.churn } })),
    awards: coordinator.record.awards.map((a) => ({ ...a })),
    messages,
    bytes,
    perAgent,
    ...(trafficFigures ? { coordinatorTraffic: trafficFigures } : {}),
    executed: [
      // Attempts cut short (a breakdown under them), from the agents' own journals.
      ...journalAttempts(options.runDir, resources).map((a) => ({
        ...a,
        jobId: jobOf(a.activityId),
      })),
      ...[...executed.entries()].map(([activityId, e]) => ({
        resourceId: e.resourceId,
        activityId,
        jobId: jobOf(activityId),
        startTicks: e.startTicks,
        endTicks: e.endTicks,
        status: "completed" as const,
        quality: e.quality,
      })),
    ],
    downtime,
    jobs: reportJobs(finalModel, executed),
    resourceOrder: model.resources.map((r) => r.id),
  };
  const integrity = journalIntegrity(
    options.runDir,
    resources,
    finalIndex.activities.map((a) => a.id),
  );
  return { report, integrity, disruptions: script, schedule };
}

/**
 * The attempts the agents journalled as failed (started, then failed before completing): each
 * one's resource, activity and interval, for the report's chart.
 */
export function journalAttempts(
  runDir: string,
  agentIds: readonly string[],
): Omit<ExecutedBar, "jobId">[] {
  const out: Omit<ExecutedBar, "jobId">[] = [];
  for (const agentId of agentIds) {
    const file = join(runDir, `${agentId}.journal`);
    if (!existsSync(file)) continue;
    const open = new Map<string, number>();
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      let r: { t?: string; activityId?: string; atTicks?: number };
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a torn last line of a killed agent
      }
      if (r.activityId === undefined || r.atTicks === undefined) continue;
      if (r.t === "start") open.set(r.activityId, r.atTicks);
      else if (r.t === "complete") open.delete(r.activityId);
      else if (r.t === "fail") {
        const from = open.get(r.activityId);
        open.delete(r.activityId);
        if (from !== undefined && r.atTicks > from)
          out.push({
            resourceId: agentId,
            activityId: r.activityId,
            startTicks: from,
            endTicks: r.atTicks,
            status: "failed",
          });
      }
    }
  }
  return out;
}

/**
 * Integrity from the agents' journals (the commitments on disk, not the coordinator's view):
 * every activity of the final model completed exactly once, none run twice.
 */
export function journalIntegrity(
  runDir: string,
  agentIds: readonly string[],
  activityIds: readonly string[],
): Integrity {
  const completions = new Map<string, number>();
  const reruns = new Set<string>();
  for (const agentId of agentIds) {
    const file = join(runDir, `${agentId}.journal`);
    if (!existsSync(file)) continue;
    // A start is open until it completes or fails; a second start while open is a second run.
    const open = new Set<string>();
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      let r: { t?: string; activityId?: string };
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a torn last line of a killed agent: nothing was acted on for it
      }
      if (r.activityId === undefined) continue;
      if (r.t === "start") {
        if (open.has(r.activityId) || completions.has(r.activityId)) reruns.add(r.activityId);
        open.add(r.activityId);
      } else if (r.t === "fail") open.delete(r.activityId);
      else if (r.t === "complete") {
        open.delete(r.activityId);
        completions.set(r.activityId, (completions.get(r.activityId) ?? 0) + 1);
      }
    }
  }
  const lostIds = activityIds.filter((id) => !completions.has(id));
  const duplicatedIds = [
    ...new Set([...[...completions].filter(([, n]) => n > 1).map(([id]) => id), ...reruns]),
  ].sort();
  return { lost: lostIds.length, duplicated: duplicatedIds.length, lostIds, duplicatedIds };
}

function mustIndex(model: TaskModel) {
  const r = indexModel(model);
  if (!r.ok) throw new Error(`invalid model: ${r.error[0]?.path}: ${r.error[0]?.message}`);
  return r.value;
}

function agentMayRun(model: TaskModel, resourceId: string, activityId: string): boolean {
  const node = model.nodes.find((n) => n.id === activityId);
  return node?.kind === "activity" && node.resources.includes(resourceId);
}

/**
 * A horizon for drawing disruption times: the best dispatch makespan of the job shop; for any
 * other model (a C-TAEMS network, uncertain durations) the makespan of a deliberative plan.
 */
function estimateHorizon(model: TaskModel): number {
  const js = modelToJobShop(model);
  if (js.ok) return Math.min(...DISPATCH_RULES.map((r) => dispatchSchedule(js.value, r).makespan));
  const index = mustIndex(model);
  const planned = reoptimize(index, {
    nowTicks: 0,
    objective: "makespan",
    seed: 0,
    maxIterations: 1000,
  });
  return planned.ok
    ? Math.max(10, scheduleMetrics(index, planned.value.schedule).makespanTicks)
    : 100;
}

function orderOf(nodes: TaskModel["nodes"], links: TaskModel["links"], orderId: string) {
  const tasks = nodes.filter((n) => n.kind === "task");
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return {
    orderId,
    jobs: tasks.map((t) => ({
      id: t.id,
      ...(t.due ? { dueTicks: t.due.dueTicks, weight: t.due.weight } : {}),
      operations: (t.kind === "task" ? chain(t.children, links) : []).map((id) => {
        const a = byId.get(id);
        const duration =
          a?.kind === "activity"
            ? Math.max(1, Math.round(a.duration.reduce((s, o) => s + o.value * o.probability, 0)))
            : 1;
        return {
          id,
          resources: a?.kind === "activity" ? [...a.resources] : [],
          durationTicks: duration,
        };
      }),
    })),
  };
}

function chain(children: readonly string[], links: TaskModel["links"]): string[] {
  const set = new Set(children);
  const next = new Map(
    links.filter((l) => set.has(l.from) && set.has(l.to)).map((l) => [l.from, l.to]),
  );
  const hasPrev = new Set(next.values());
  const out: string[] = [];
  for (let id = children.find((c) => !hasPrev.has(c)); id !== undefined; id = next.get(id))
    out.push(id);
  return out.length === children.length ? out : [...children];
}

function objectivesOf(
  m: {
    makespanTicks: number;
    totalWeightedTardiness: number;
    meanLeadTimeTicks: number;
    totalWaitTicks: number;
  },
  quality: number,
): Objectives {
  return {
    makespan: m.makespanTicks,
    totalWeightedTardiness: m.totalWeightedTardiness,
    meanLeadTime: m.meanLeadTimeTicks,
    totalWait: m.totalWaitTicks,
    quality,
  };
}

/** The root quality of what ran, by the model's QAFs, with each run's realized quality. */
function rootQuality(
  index: ReturnType<typeof mustIndex>,
  executed: ReadonlyMap<string, { startTicks: number; endTicks: number; quality: number }>,
): number {
  return evaluateQuality(
    index,
    [...executed].map(([activityId, e]) => ({ activityId, ...e })),
  ).rootQuality;
}

/**
 * The reference: the centralized solver given full knowledge afterwards — the realized
 * durations, the breakdowns and the rush orders' arrival (as releases) — from tick 0.
 */
function hindsight(
  model: TaskModel,
  executed: Map<string, { startTicks: number; endTicks: number; quality: number }>,
  downtime: { resourceId: string; fromTicks: number; untilTicks: number }[],
  options: FleetOptions,
): Objectives & { solverSeconds: number } {
  const known: TaskModel = {
    ...model,
    nodes: model.nodes.map((n) => {
      const e = executed.get(n.id);
      return n.kind === "activity" && e
        ? { ...n, duration: fixed(Math.max(1, e.endTicks - e.startTicks)) }
        : n;
    }),
  };
  const index = mustIndex(known);
  const started = performance.now();
  const solved = reoptimize(index, {
    nowTicks: 0,
    unavailable: downtime,
    objective: options.objective,
    seed: options.seed,
    maxIterations: 60_000,
  });
  const solverSeconds = (performance.now() - started) / 1000;
  if (!solved.ok)
    return {
      makespan: Number.NaN,
      totalWeightedTardiness: Number.NaN,
      meanLeadTime: Number.NaN,
      totalWait: Number.NaN,
      quality: Number.NaN,
      solverSeconds,
    };
  // Hindsight knows the outcomes too: each activity earns the quality it really earned.
  const runs = executionOfSchedule(index, solved.value.schedule).map((r) => ({
    ...r,
    quality: executed.get(r.activityId)?.quality ?? r.quality,
  }));
  return {
    ...objectivesOf(
      scheduleMetrics(index, solved.value.schedule),
      evaluateQuality(index, runs).rootQuality,
    ),
    solverSeconds,
  };
}

function describeDisruption(d: Disruption): FleetReport["disruptions"][number] {
  switch (d.kind) {
    case "breakdown":
      return {
        kind: "breakdown",
        atTicks: d.fromTicks,
        untilTicks: d.untilTicks,
        resourceId: d.resourceId,
        detail: `${d.resourceId} broken for ${d.untilTicks - d.fromTicks} ticks`,
      };
    case "overrun":
      return {
        kind: "overrun",
        atTicks: 0,
        activityId: d.activityId,
        detail: `${d.activityId} runs x${d.factor ?? 1}${d.extraTicks ? ` +${d.extraTicks}` : ""}`,
      };
    case "rush-order":
      return {
        kind: "rush-order",
        atTicks: d.atTicks,
        detail: `${(d.delta.addNodes ?? []).filter((n) => n.kind === "task").length} rush job(s) arrive`,
      };
    case "offline":
      return {
        kind: "offline",
        atTicks: d.fromTicks,
        untilTicks: d.untilTicks,
        resourceId: d.resourceId,
        detail: `${d.resourceId}'s agent is killed and restarted at ${d.untilTicks}`,
      };
    default:
      return { kind: "overrun", atTicks: 0, detail: d.kind };
  }
}

/** Length of a tick for the rig's devices (their durations are whole ticks of it). */
const RIG_TICK_MS = 1000;

/** The simulator's outcomes, overruns included, so a device runs exactly as long as it would. */
function overrunOutcomes(
  nodes: TaskModel["nodes"],
  key: number,
  overruns: readonly { activityId: string; factor?: number; extraTicks?: number }[],
) {
  const activities = nodes.filter((n) => n.kind === "activity");
  const sampled = sampledOutcomes(activities, key, RIG_TICK_MS);
  return (activityId: string) => {
    const o = sampled(activityId);
    if (!o) return undefined;
    let ticks = Math.round(o.durationMs / RIG_TICK_MS);
    for (const x of overruns)
      if (x.activityId === activityId)
        ticks = Math.ceil(ticks * (x.factor ?? 1)) + (x.extraTicks ?? 0);
    return { durationMs: ticks * RIG_TICK_MS, quality: o.quality };
  };
}

/** The vehicles' own MQTT broker (VDA 5050 traffic stays off the agents' broker and its ACL). */
async function startDeviceBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const { Aedes } = await import("aedes");
  const { createServer } = await import("node:net");
  const aedes = await Aedes.createBroker();
  const server = createServer({ noDelay: true }, aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
