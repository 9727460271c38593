import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { createBroker, type RunningBroker } from "@consort/broker";
import {
  Coordinator,
  type CoordinatorOptions,
  type ExecutedBar,
  executedSchedule,
  FileJournal,
  type FleetReport,
  nextEpoch,
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
  type RepairsByLevel,
  type Rng,
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
  /**
   * Broker crashes: the broker runs as a child process keeping sessions in a redis-server of
   * its own, and is killed (SIGKILL) at seeded ticks and started again on the same port.
   */
  readonly brokerCrashes?: number;
  /**
   * Two broker processes sharing one redis-server: the coordinator and half the agents start on
   * one, the rest on the other, each knowing both; the first is killed (SIGKILL) at a seeded tick
   * and not started again, so its clients must carry on through the other.
   */
  readonly brokerLoss?: boolean;
  /**
   * Crashes of the coordinator at ticks drawn from the seed: each as abrupt as a kill -9 (its
   * connection cut without DISCONNECT, its memory and timers gone), then a new one resumes from
   * the coordinator's journal in `runDir`, in a new epoch. Simulated environments only.
   */
  readonly coordinatorCrashes?: number;
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
  /** Planners the manager balances jobs across. Default 1. */
  readonly planners?: number;
  /** The coordinator's run-time repair policy (default: distributed first). */
  readonly runtimeRepair?: "distributed" | "central";
  /** How work changes hands at run time (default: contract net). */
  readonly reassignment?: "contract-net" | "central";
  /**
   * An agent offline this many simulated ticks has its unstarted work re-awarded (by contract
   * net, unless `reassignment` is central). Default: half the shortest scripted outage.
   */
  readonly agentLeaseTicks?: number;
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

/** One coordinator crash: when, and the session that took over. */
export interface CoordinatorCrash {
  /** The tick at which the coordinator was killed (its clock had just reached it). */
  readonly atTicks: number;
  /** The epoch of the session that died, and of the one that resumed from its journal. */
  readonly epoch: number;
  readonly resumedEpoch: number;
  /** Wall milliseconds from the kill to the new session's first step. */
  readonly downMs: number;
}

export interface FleetResult {
  readonly report: FleetReport;
  readonly integrity: Integrity;
  readonly disruptions: readonly Disruption[];
  readonly schedule: Schedule;
  /** With `brokerCrashes`: each kill -9 of the broker, and how long until it served again. */
  readonly brokerRestarts?: readonly BrokerRestart[];
  /** With `brokerLoss`: the tick at which one of the two brokers was killed for good. */
  readonly brokerLost?: { readonly atTicks: number };
  /** The coordinator's epoch at the end (1 unless it crashed), and its crashes. */
  readonly coordinator: { readonly epoch: number; readonly crashes: readonly CoordinatorCrash[] };
}

/**
 * A device's answer may be late on the wall clock when the machine is loaded (or a process is
 * paused a moment); in lock-step time that must not fail a run, or the same seed would give
 * another schedule. So the adapters' answer timeouts get room: a dropped connection still shows
 * at once, and a device that stays silent past a run's end on the agent's stall grace.
 */
export const LOCKSTEP_DEVICE_ANSWER_MS = 5000;

/** The rig's settings for a device on lock-step time (see `LOCKSTEP_DEVICE_ANSWER_MS`). */
export function lockstepDeviceSettings(settings: EnvironmentSettings): EnvironmentSettings {
  const room = (ms: number) => Math.max(ms, LOCKSTEP_DEVICE_ANSWER_MS);
  switch (settings.kind) {
    case "modbus":
      return { ...settings, timeoutMs: room(settings.timeoutMs) };
    case "serial":
      return { ...settings, timeoutMs: room(settings.timeoutMs) };
    case "gpio":
      return { ...settings, startTimeoutMs: room(settings.startTimeoutMs) };
    case "vda5050":
      return {
        ...settings,
        acceptTimeoutMs: room(settings.acceptTimeoutMs),
        stateTimeoutMs: room(3 * settings.stateTimeoutMs),
      };
    case "opcua":
      // Lock-step runs end milliseconds after they start: a sampled `done` could read true
      // before and after a run and never notify. Exception-based sampling reports each change.
      return {
        ...settings,
        samplingIntervalMs: 0,
        requestTimeoutMs: room(settings.requestTimeoutMs),
      };
    default:
      return settings;
  }
}

/** A broker kill -9 at a tick, and the wall time until its successor accepted connections. */
export interface BrokerRestart {
  readonly atTicks: number;
  readonly downMs: number;
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
  const logger =
    options.logger ?? pino({ level: process.env.CONSORT_LOG_LEVEL ?? "warn" }, pino.destination(2));
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

  const crashCount = options.coordinatorCrashes ?? 0;
  if (crashCount > 0 && (options.http !== undefined || (options.environment ?? "sim") !== "sim"))
    throw new Error(
      "coordinator crashes run in simulated environments without the dashboard (it serves one coordinator)",
    );
  // A fork of its own, drawn only when asked for: runs without crashes draw what they always did.
  const crashTicks = crashCount > 0 ? drawCrashTicks(rng.fork(), crashCount, horizon) : [];

  const passwords = new Map(resources.map((r) => [r, randomBytes(12).toString("base64url")]));
  const coordinatorPassword = randomBytes(12).toString("base64url");
  const operatorPassword = randomBytes(12).toString("base64url");
  const users = [
    ...resources.map((r) => ({
      username: r,
      password: passwords.get(r)!,
      role: "agent" as const,
    })),
    { username: "coordinator", password: coordinatorPassword, role: "coordinator" as const },
    { username: "operator", password: operatorPassword, role: "operator" as const },
  ];
  const brokerCrashes = options.brokerCrashes ?? 0;
  if ((brokerCrashes > 0 || options.brokerLoss) && options.brokerUrl !== undefined)
    throw new Error("broker crashes need the fleet's own broker, not an external one");
  // Drawn after the script's fork, so a run without crashes is the same as before.
  if (brokerCrashes > 0 && crashCount > 0)
    throw new Error("broker crashes and coordinator crashes are run one kind at a time");
  const brokerCrashTicks = Array.from({ length: brokerCrashes }, () =>
    rng.int(Math.max(1, Math.floor(horizon * 0.1)), Math.max(2, Math.floor(horizon * 0.7))),
  ).sort((a, b) => a - b);
  const lossTick = options.brokerLoss
    ? rng.int(Math.max(1, Math.floor(horizon * 0.1)), Math.max(2, Math.floor(horizon * 0.7)))
    : undefined;
  let broker: RunningBroker | undefined;
  let brokerProcess: BrokerProcess | undefined;
  let url = options.brokerUrl;
  /** With `brokerLoss`: both brokers, the one to be killed first (each client tries them in turn). */
  let doomedFirst: string | undefined;
  if (brokerCrashes > 0 || options.brokerLoss) {
    mkdirSync(options.runDir, { recursive: true });
    brokerProcess = await BrokerProcess.start(options.runDir, {
      host: "127.0.0.1",
      site: options.site,
      anonymous: false,
      users,
    });
    url = brokerProcess.url;
    if (options.brokerLoss) {
      const peer = await brokerProcess.addPeer();
      doomedFirst = `${peer},${url}`;
      url = `${url},${peer}`;
    }
  } else if (!url) {
    broker = await createBroker({
      host: "127.0.0.1",
      port: 0,
      site: options.site,
      anonymous: false,
      users,
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
  // The agents are this process's children: stopped (Ctrl-C, SIGTERM) or ending on an error it
  // does not reach teardown from, it takes them down too, instead of leaving them retrying a
  // broker that is gone.
  const killChildren = (): void => {
    for (const c of children.values())
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  const onStop = (signal: NodeJS.Signals): void => {
    killChildren();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onStop);
  process.once("SIGTERM", onStop);
  process.once("exit", killChildren);
  let processes = 0;
  const stderr: string[] = [];
  mkdirSync(options.runDir, { recursive: true });
  // Set once teardown begins: nothing scheduled during the run may start or publish after it.
  let tornDown = false;
  /** The broker's crash and restart under way, if any (crashes follow one another). */
  let restarting: Promise<void> = Promise.resolve();
  let brokerLost: { atTicks: number } | undefined;
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
        // Half the agents start on the broker that will be lost.
        broker:
          doomedFirst !== undefined && resources.indexOf(resourceId) % 2 === 0 ? doomedFirst : url!,
        runDir: options.runDir,
        trialKey: key,
        disruptions: mine as AgentDisruption[],
      }),
      ...(device ? { environment: device } : {}),
    };
    const file = join(options.runDir, `${resourceId}.settings.json`);
    writeFileSync(file, JSON.stringify(settings, null, 2));
    const child = spawn(process.execPath, [agentProgram(), "--config", file], {
      // The IPC channel (unused for messages) closes when this process dies, even by SIGKILL,
      // and the agent then stops too instead of outliving its fleet.
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: {
        ...process.env,
        ...(external ? {} : { CONSORT_AGENT_PASSWORD: passwords.get(resourceId)! }),
      },
    });
    child.stderr?.on("data", (d: Buffer) => stderr.push(`${resourceId}: ${d.toString().trim()}`));
    children.set(resourceId, child);
    processes++;
  };

  // With crashes, the coordinator journals its commitments and keeps a persistent session, so
  // that reports sent while it is down wait for the next one; its last will says it is gone.
  const journalPath = join(options.runDir, "coordinator.journal");
  const openJournal = () =>
    crashCount > 0 ? FileJournal.open(journalPath, { sync: false }) : undefined;
  const connectCoordinator = (epoch: number) =>
    MqttTransport.connect({
      url: doomedFirst ?? url!,
      clientId: "coordinator",
      ...credentials("coordinator", coordinatorPassword),
      logger,
      // Across a broker restart the session (subscriptions, queued replies) must survive.
      ...(brokerProcess && crashCount === 0 ? { clean: false } : {}),
      ...(crashCount > 0
        ? {
            clean: false,
            will: {
              topic: topics.coordinatorState(options.site),
              message: makeMessage(
                "coordinator-state",
                "coordinator",
                { coordinatorId: "coordinator", status: "offline", epoch },
                { seq: WILL_SEQ, at: Date.now(), epoch },
              ),
              retain: true,
            },
          }
        : {}),
    });
  let journal = openJournal();
  let transport = await connectCoordinator(journal ? nextEpoch(journal.records) : 1);
  const operator = await MqttTransport.connect({
    url,
    clientId: "operator",
    ...credentials("operator", operatorPassword),
    ...(brokerProcess ? { clean: false } : {}),
    logger,
  });
  const coordinatorOptions = (j: FileJournal | undefined): CoordinatorOptions => ({
    site: options.site,
    coordinatorId: "coordinator",
    objective: options.objective,
    seed: options.seed,
    repairIterations: 1000,
    urgentRepairIterations: 300,
    lockstep: true,
    agentLeaseTicks: options.agentLeaseTicks ?? Math.max(1, Math.floor(horizon / 40)),
    ...(options.runtimeRepair ? { runtimeRepair: options.runtimeRepair } : {}),
    ...(options.reassignment ? { reassignment: options.reassignment } : {}),
    ...(options.planners !== undefined && options.planners > 1
      ? { planners: options.planners }
      : {}),
    ...((options.paceMs ?? (options.http ? 50 : 0)) > 0
      ? { paceMs: options.paceMs ?? (options.http ? 50 : 0) }
      : {}),
    ...(j ? { journal: j } : {}),
  });
  let coordinator = new Coordinator(model, transport, coordinatorOptions(journal), logger);
  // Every session, for the report: what each did before it died counts too.
  const sessions: { coordinator: Coordinator; transport: MqttTransport }[] = [
    { coordinator, transport },
  ];
  const crashes: CoordinatorCrash[] = [];
  // Agents killed by the script and not yet started again (a new coordinator does not wait for them).
  const down = new Set<string>();
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
        deviceSettings.set(d.resourceId, lockstepDeviceSettings(d.settings));
    }
    await coordinator.start();
    for (const r of resources) spawnAgent(r);
    await coordinator.waitForAgents(resources, 30_000);

    // The run ends when the coordinator in office has seen every activity done, or fails.
    let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const follow = (c: Coordinator): void => {
      void c.finished.then(() => {
        if (c === coordinator) settle?.resolve();
      });
    };
    follow(coordinator);

    // The script's world events that the coordinator's clock carries out: every event after
    // `afterTicks` on the timers of `c` (a coordinator resumed after a crash takes the rest over).
    const scheduleScript = (c: Coordinator, afterTicks: number) => {
      for (const d of script) {
        if (d.kind === "rush-order") {
          if (d.atTicks <= afterTicks) continue;
          c.timers.at(d.atTicks, () => {
            if (tornDown) return;
            c.expectOrder();
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
          if (d.fromTicks > afterTicks)
            c.timers.at(d.fromTicks, () => {
              if (tornDown) return;
              children.get(d.resourceId)?.kill("SIGKILL");
              down.add(d.resourceId);
              c.lost(d.resourceId);
            });
          if (d.untilTicks > afterTicks)
            c.timers.at(d.untilTicks, () => {
              if (tornDown) return;
              c.expect(d.resourceId);
              down.delete(d.resourceId);
              spawnAgent(d.resourceId);
            });
        }
      }
      // After the world's events of the same tick: a crash at a tick sees them happen first.
      for (const atTicks of crashTicks)
        if (atTicks > afterTicks) c.timers.at(atTicks, () => crash(c, atTicks));
    };

    /**
     * Kills the coordinator as kill -9 would, on its clock's timer (the clock has just reached
     * `atTicks`; that step's clock message has not gone out): it stops dead, its connection is cut
     * without DISCONNECT (the broker sends its last will), its journal file is closed. Then a new
     * one starts on the same journal and client id, in a new epoch, and takes the run over.
     */
    const crash = (dead: Coordinator, atTicks: number) => {
      if (tornDown || dead !== coordinator) return;
      const killedMs = Date.now();
      dead.halt();
      const deadTransport = transport;
      const deadJournal = journal;
      void (async () => {
        await deadTransport.drop();
        deadJournal?.close();
        journal = undefined;
        if (tornDown) return;
        const nextJournal = openJournal();
        const nextTransport = await connectCoordinator(
          nextJournal ? nextEpoch(nextJournal.records) : 1,
        );
        // The run may have ended meanwhile (a stall): nothing of the new session may outlive it.
        if (tornDown) {
          nextJournal?.close();
          await nextTransport.drop();
          return;
        }
        journal = nextJournal;
        transport = nextTransport;
        const next = new Coordinator(model, transport, coordinatorOptions(journal), logger);
        coordinator = next;
        sessions.push({ coordinator: next, transport });
        follow(next);
        await next.start();
        scheduleScript(next, atTicks);
        // The agents alive now (their retained descriptors say so); those killed come back later.
        await next.waitForAgents(
          resources.filter((r) => !down.has(r)),
          30_000,
        );
        if (tornDown) return;
        if (!next.resumeLockstep()) next.plan();
        crashes.push({
          atTicks,
          epoch: dead.sessionEpoch,
          resumedEpoch: next.sessionEpoch,
          downMs: Date.now() - killedMs,
        });
        next.maybeAdvance();
      })().catch((error: unknown) =>
        settle?.reject(
          new Error(
            `the coordinator did not resume after its crash at tick ${atTicks}: ${(error as Error).message}`,
          ),
        ),
      );
    };
    scheduleScript(coordinator, -1);

    for (const at of brokerCrashTicks)
      coordinator.timers.at(at, () => {
        if (tornDown || !brokerProcess) return;
        const broker = brokerProcess;
        // Time does not wait for the broker: the fleet must ride out its absence by itself.
        restarting = restarting
          .then(() => broker.crashAndRestart(at))
          .catch((error: unknown) => {
            stderr.push(`broker: ${(error as Error).message}`);
          });
      });

    if (lossTick !== undefined)
      coordinator.timers.at(lossTick, () => {
        if (tornDown || !brokerProcess) return;
        brokerLost = { atTicks: lossTick };
        brokerProcess.killPeer();
      });

    coordinator.plan();
    const total = () => coordinator.currentModel.nodes.filter((n) => n.kind === "activity").length;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        // Always the coordinator in office: after a crash, the one that resumed.
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
      ended.then(
        () => {
          clearInterval(timer);
          resolve();
        },
        (error: unknown) => {
          clearInterval(timer);
          reject(error);
        },
      );
    });
  } finally {
    tornDown = true;
    process.off("SIGINT", onStop);
    process.off("SIGTERM", onStop);
    process.off("exit", killChildren);
    coordinator.stop();
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
    const stats = sessions.map((s) => s.transport.stats);
    trafficFigures = {
      byType: figures(
        sumTallies(stats.map((t) => t.sent)),
        sumTallies(stats.map((t) => t.received)),
      ),
      byTopic: figures(
        sumTallies(stats.map((t) => t.sentByTopic)),
        sumTallies(stats.map((t) => t.receivedByTopic)),
      ),
    };
    for (const s of sessions) s.coordinator.halt();
    await transport.close();
    journal?.close();
    await rig?.close();
    await deviceBroker?.close();
    await broker?.close();
    // A restart under way finishes first, so that no broker is started after teardown.
    await restarting;
    await brokerProcess?.stop();
    if (dashboard) {
      // The run is over; its last picture stays up for whoever is watching.
      await new Promise((r) => setTimeout(r, (options.lingerSeconds ?? 0) * 1000));
      await dashboard.close();
    }
  }
  const brokerRestarts = brokerProcess?.restarts ?? [];
  if (lossTick !== undefined && brokerLost === undefined)
    throw new Error(
      `a broker was to be lost at tick ${lossTick} but the run ended at tick ${coordinator.nowTicks}`,
    );
  if (brokerRestarts.length < brokerCrashTicks.length)
    throw new Error(
      `the broker was to crash at ticks ${brokerCrashTicks.join(", ")} but ${brokerRestarts.length} crash(es) and restart(s) happened before the run ended at tick ${coordinator.nowTicks}`,
    );
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
  // Traffic, repairs and escalations of every session (a resumed one starts its record afresh).
  const traffic = new Map<
    string,
    { sent: number; received: number; bytesSent: number; bytesReceived: number }
  >();
  for (const s of sessions)
    for (const [agentId, t] of s.coordinator.perAgent) {
      const a = traffic.get(agentId) ?? { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 };
      a.sent += t.received;
      a.received += t.sent;
      a.bytesSent += t.bytesReceived;
      a.bytesReceived += t.bytesSent;
      traffic.set(agentId, a);
    }
  const perAgent = [...traffic].map(([agentId, t]) => ({ agentId, ...t }));
  const records = sessions.map((s) => s.coordinator.record);
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
    repairs: records.flatMap((r) => r.repairs.map((x) => ({ ...x }))),
    localRepairs: records.reduce((n, r) => n + r.localRepairs.length, 0),
    escalations: records.reduce((n, r) => n + r.escalations.length, 0),
    repairsByLevel: sumLevels(records.map(repairsByLevel)),
    runtimeRepairs: records.flatMap((r) =>
      r.runtimeRepairs.map((x) => ({ ...x, churn: { ...x.churn } })),
    ),
    awards: records.flatMap((r) => r.awards.map((a) => ({ ...a }))),
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
    ...(coordinator.planners
      ? (({ planners, jobMoves, leadTimeExtensions }) => ({
          planners,
          jobMoves,
          leadTimeExtensions,
        }))(coordinator.planners.report())
      : {}),
  };
  const integrity = journalIntegrity(
    options.runDir,
    resources,
    finalIndex.activities.map((a) => a.id),
  );
  return {
    report,
    integrity,
    disruptions: script,
    schedule,
    ...(brokerCrashes > 0 ? { brokerRestarts } : {}),
    ...(brokerLost ? { brokerLost } : {}),
    coordinator: { epoch: coordinator.sessionEpoch, crashes },
  };
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
      let r: {
        t?: string;
        activityId?: string;
        started?: [string, unknown][];
        finished?: [string, unknown][];
      };
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a torn last line of a killed agent: nothing was acted on for it
      }
      if (r.t === "snapshot") {
        // A compacted journal (the first line): what ran before it, once each.
        for (const [id] of r.finished ?? []) completions.set(id, (completions.get(id) ?? 0) + 1);
        for (const [id] of r.started ?? []) open.add(id);
        continue;
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

/**
 * The fleet's broker as a child process over a redis-server of its own (both on free loopback
 * ports, in `dir`), so that it can be killed with SIGKILL and restarted with its sessions.
 */
class BrokerProcess {
  private broker: ChildProcess | undefined;
  private constructor(
    private readonly dir: string,
    private readonly config: Record<string, unknown>,
    private readonly redis: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(dir: string, config: Record<string, unknown>): Promise<BrokerProcess> {
    const redisPort = await freePort();
    const redis = spawn(
      "redis-server",
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--dir", dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let text = "";
      redis.once("error", (e) =>
        reject(new Error(`redis-server could not start (${e.message}); is it installed?`)),
      );
      redis.stdout?.on("data", (d: Buffer) => {
        text += d.toString();
        if (/Ready to accept connections/.test(text)) resolve();
      });
      redis.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${text}`)));
    });
    const port = await freePort();
    const p = new BrokerProcess(
      dir,
      { ...config, port, redis: `redis://127.0.0.1:${redisPort}` },
      redis,
      port,
    );
    await p.spawn();
    return p;
  }

  private readonly peers: ChildProcess[] = [];

  /** Another broker on the same Redis, on a port of its own; resolves with its URL. */
  async addPeer(): Promise<string> {
    const port = await freePort();
    this.peers.push(await this.launch({ ...this.config, port }));
    return `mqtt://127.0.0.1:${port}`;
  }

  /** kill -9 of the peers, for good. */
  killPeer(): void {
    for (const peer of this.peers) peer.kill("SIGKILL");
  }

  private async spawn(): Promise<void> {
    this.broker = await this.launch(this.config);
  }

  private async launch(config: Record<string, unknown>): Promise<ChildProcess> {
    const script = join(this.dir, "broker.mjs");
    writeFileSync(
      script,
      `import { createBroker } from ${JSON.stringify(pathToFileURL(require.resolve("@consort/broker")).href)};\n` +
        `import pino from ${JSON.stringify(pathToFileURL(require.resolve("pino")).href)};\n` +
        // Its warnings (refused logins, protocol violations) go to broker.log in the run folder.
        `const logger = pino({ level: "warn" }, pino.destination({ dest: ${JSON.stringify(join(this.dir, "broker.log"))}, append: true, sync: true }));\n` +
        "const b = await createBroker(JSON.parse(process.env.CONSORT_FLEET_BROKER), { logger });\n" +
        'process.stdout.write("ready " + b.url + "\\n");\n' +
        'process.once("SIGTERM", () => b.close().then(() => process.exit(0)));\n' +
        // The fleet's IPC channel closes when the fleet dies (even by SIGKILL): the broker then
        // goes too, and takes the fleet's redis-server with it.
        "process.channel?.unref();\n" +
        'process.once("disconnect", () => {\n' +
        '  try { process.kill(Number(process.env.CONSORT_FLEET_REDIS_PID), "SIGTERM"); } catch {}\n' +
        "  process.exit(0);\n" +
        "});\n",
    );
    const child = spawn(process.execPath, [script], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: {
        ...process.env,
        CONSORT_FLEET_BROKER: JSON.stringify(config),
        CONSORT_FLEET_REDIS_PID: String(this.redis.pid),
      },
    });
    await new Promise<void>((resolve, reject) => {
      let text = "";
      child.stdout?.on("data", (d: Buffer) => {
        text += d.toString();
        if (text.includes("ready ")) resolve();
      });
      child.stderr?.on("data", (d: Buffer) => {
        text += d.toString();
      });
      child.once("exit", (code) => reject(new Error(`the broker exited (${code}): ${text}`)));
    });
    return child;
  }

  readonly restarts: BrokerRestart[] = [];

  /** kill -9, then the same broker on the same port and the same Redis. */
  async crashAndRestart(atTicks: number): Promise<void> {
    const started = performance.now();
    const old = this.broker;
    if (old && old.exitCode === null && old.signalCode === null) {
      const exited = new Promise((r) => old.once("exit", r));
      old.kill("SIGKILL");
      await exited;
    }
    await this.spawn();
    this.restarts.push({ atTicks, downMs: Math.round(performance.now() - started) });
  }

  async stop(): Promise<void> {
    for (const child of [this.broker, ...this.peers, this.redis]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
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

/** The seq of a coordinator's last will (not 0: that is its "online" state of the epoch). */
const WILL_SEQ = 2 ** 40;

/**
 * The ticks of `n` coordinator crashes, sorted: in the first 60% of the horizon, so that they
 * fall while there is still work to do.
 */
function drawCrashTicks(rng: Rng, n: number, horizon: number): number[] {
  const last = Math.max(1, Math.floor(horizon * 0.6));
  return Array.from({ length: n }, () => rng.int(1, last)).sort((a, b) => a - b);
}

function sumTallies(tallies: readonly Tally[]): Tally {
  const out = new Map<string, { messages: number; bytes: number }>();
  for (const t of tallies)
    for (const [key, v] of t) {
      const a = out.get(key) ?? { messages: 0, bytes: 0 };
      out.set(key, { messages: a.messages + v.messages, bytes: a.bytes + v.bytes });
    }
  return out;
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

/** The repairs of every coordinator session of a run, level by level. */
function sumLevels(levels: readonly RepairsByLevel[]): RepairsByLevel {
  const out = { ...levels[0]! };
  for (const l of levels.slice(1))
    for (const k of Object.keys(out) as (keyof RepairsByLevel)[]) out[k] += l[k];
  return out;
}
