import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { type BrokerStats, createBroker, type RunningBroker } from "@consort/broker";
import {
  CscCoordinator,
  type CscCoordinatorOptions,
  type CscRunOptions,
  type CscRunResult,
} from "@consort/coordinator";
import { type ModelIndex, type Schedule, type Strategy, setupsFor } from "@consort/core";
import { MqttTransport } from "@consort/protocol/mqtt";
import { agentProgram } from "./fleet.js";

export { type ClockMasterSections, someOf } from "@consort/coordinator";

/** A distributed trial's result: the in-process result's fields, plus what crossed the broker. */
export type DistributedTrialResult = CscRunResult;

export interface ClusterOptions {
  /** The strategies this cluster will be asked to run (each agent gets a setup for each run). */
  readonly strategies: readonly Strategy[];
  /** Where the agents' settings files and journals go. */
  readonly runDir: string;
  readonly site?: string;
  /** How long to wait for one tick's answers before giving up (default 30 s). */
  readonly tickTimeoutMs?: number;
  /**
   * Agents hosted by each process (default 1: a process per agent). Each hosted agent keeps its
   * own MQTT connection and identity; consecutive agents (in id order) share a process.
   */
  readonly agentsPerProcess?: number;
  /** How long to wait for every agent to come online (default 30 s plus 30 ms per agent). */
  readonly startTimeoutMs?: number;
  /** Agent processes starting at once (default: the machine's parallelism, at least 2). */
  readonly startsAtOnce?: number;
  /** Options of the setups (deliberative scheduler, communication policy). */
  readonly strategyOptions?: CscCoordinatorOptions["strategyOptions"];
}

/** One agent process: its child and the agents it hosts. */
interface AgentProcess {
  readonly name: string;
  readonly agents: readonly string[];
  readonly child: ChildProcess;
}

/** Splits agents, in order, into consecutive groups of `size` (the last one may be smaller). */
export function groupAgents(agents: readonly string[], size: number): string[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`agentsPerProcess must be an integer >= 1, got ${size}`);
  const groups: string[][] = [];
  for (let i = 0; i < agents.length; i += size) groups.push(agents.slice(i, i + size));
  return groups;
}

/**
 * C-TAEMS agents as separate processes over a real broker: an embedded aedes broker on a free
 * loopback port with one user per agent, edge-agent processes (family `ctaems`) hosting one
 * agent each (or `agentsPerProcess` of them, each with its own connection and identity), and the
 * coordinator's C-TAEMS side (`CscCoordinator`) in this process: it gives each agent its setup
 * per trial, is the clock master and the simulated world, and hosts the deliberative scheduler.
 * Agents talk to each other directly on their peer topics.
 */
export class CtaemsCluster {
  private readonly processes: AgentProcess[] = [];
  private readonly stderr: string[] = [];
  private closing = false;

  private constructor(
    readonly coordinator: CscCoordinator,
    readonly agents: readonly string[],
    private readonly broker: RunningBroker,
    private readonly transport: MqttTransport,
  ) {}

  static async start(
    index: ModelIndex,
    initial: Schedule,
    options: ClusterOptions,
  ): Promise<CtaemsCluster> {
    const site = options.site ?? "ctaems";
    const passwordOf = new Map<string, string>();
    const coordinatorPassword = randomBytes(12).toString("base64url");
    const cutter = (transport: MqttTransport) =>
      new CscCoordinator(index, initial, transport, {
        site,
        ...(options.strategyOptions ? { strategyOptions: options.strategyOptions } : {}),
      });
    // Every agent of any strategy the cluster may run.
    const agentSet = new Set<string>();
    for (const s of options.strategies)
      for (const a of setupsFor(index, initial, s, options.strategyOptions).keys()) agentSet.add(a);
    const agents = [...agentSet].sort();
    for (const a of agents) passwordOf.set(a, randomBytes(12).toString("base64url"));
    const broker = await createBroker({
      host: "127.0.0.1",
      port: 0,
      site,
      anonymous: false,
      maxConnections: Math.max(2000, agents.length + 64),
      users: [
        ...agents.map((a) => ({
          username: a,
          password: passwordOf.get(a)!,
          role: "agent" as const,
        })),
        { username: "coordinator", password: coordinatorPassword, role: "coordinator" as const },
      ],
    });
    let transport: MqttTransport;
    try {
      transport = await MqttTransport.connect({
        url: broker.url,
        clientId: "coordinator",
        username: "coordinator",
        password: coordinatorPassword,
      });
    } catch (error) {
      await broker.close();
      throw error;
    }
    const coordinator = cutter(transport);
    const cluster = new CtaemsCluster(coordinator, agents, broker, transport);
    try {
      transport.onMessage((m, topic) => coordinator.receive(m, topic));
      for (const filter of coordinator.subscriptions()) await transport.subscribe(filter);
      const journalDir = join(options.runDir, "journals");
      mkdirSync(journalDir, { recursive: true });
      const program = agentProgram();
      const startTimeout = options.startTimeoutMs ?? 30_000 + 30 * agents.length;
      // Processes start a few at a time: each one's agents online before another is spawned, so
      // a large fleet does not have hundreds of processes loading and connecting at once on a
      // small machine (a CONNACK could then take longer than a client waits for it).
      const startsAtOnce = options.startsAtOnce ?? Math.max(2, availableParallelism());
      const starting = new Set<Promise<void>>();
      for (const [i, group] of groupAgents(agents, options.agentsPerProcess ?? 1).entries()) {
        while (starting.size >= startsAtOnce) await Promise.race(starting);
        const name =
          group.length === 1
            ? group[0]!
            : `#${i} hosting ${group.length} agents (${group[0]} … ${group[group.length - 1]})`;
        const file = join(options.runDir, `agents-${String(i).padStart(4, "0")}.settings.json`);
        writeFileSync(
          file,
          JSON.stringify(
            cscAgentSettings({
              agents: group,
              site,
              broker: broker.url,
              journalDir,
            }),
          ),
          { mode: 0o600 },
        );
        chmodSync(file, 0o600);
        // Passwords travel in the child's environment, never on its command line.
        const child = spawn(process.execPath, [program, "--config", file], {
          // The IPC channel closes when this process dies (even by SIGKILL): the agents then stop.
          stdio: ["ignore", "ignore", "pipe", "ipc"],
          env: {
            ...process.env,
            CONSORT_AGENT_PASSWORDS: JSON.stringify(
              Object.fromEntries(group.map((a) => [a, passwordOf.get(a)!])),
            ),
          },
        });
        child.stderr?.on("data", (d: Buffer) => {
          cluster.stderr.push(d.toString().trim());
          if (cluster.stderr.length > 20) cluster.stderr.shift();
        });
        child.once("exit", (code, signal) => {
          if (cluster.closing) return;
          coordinator.fail(
            new Error(
              `agent process ${name} exited (${signal ?? `code ${code}`})${cluster.stderr.length ? `: ${cluster.stderr.slice(-3).join(" | ")}` : ""}`,
            ),
          );
        });
        cluster.processes.push({ name, agents: group, child });
        const online = coordinator
          .waitForAgents(group, startTimeout, `agents of process ${name}`)
          .finally(() => starting.delete(online));
        // A failure here is met by the race above or by the wait for every agent below.
        online.catch(() => {});
        starting.add(online);
      }
      await coordinator.waitForAgents(agents, startTimeout);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The process ids of the agent processes, by agent (agents hosted together share one). */
  get pids(): ReadonlyMap<string, number> {
    return new Map(
      this.processes.flatMap((p) =>
        p.child.pid ? p.agents.map((a) => [a, p.child.pid!] as const) : [],
      ),
    );
  }

  /** The agent processes: each one's process id and the agents it hosts. */
  get agentProcesses(): readonly { readonly pid: number; readonly agents: readonly string[] }[] {
    return this.processes.flatMap((p) =>
      p.child.pid ? [{ pid: p.child.pid, agents: p.agents }] : [],
    );
  }

  /** The embedded broker's counters. */
  brokerStats(): BrokerStats {
    return this.broker.stats();
  }

  /** Agent processes' last lines on stderr (for error messages). */
  get lastErrors(): readonly string[] {
    return this.stderr.slice(-3);
  }

  /**
   * Runs one trial of `strategy` across the processes (lock-step unless `clock` says wall): on
   * lock-step exactly the in-process run of core's `runStrategy`.
   */
  run(
    strategy: Strategy,
    trial: number,
    key: number,
    options: CscRunOptions = {},
  ): Promise<DistributedTrialResult> {
    return this.coordinator.run(strategy, trial, key, options);
  }

  async close(): Promise<void> {
    this.closing = true;
    const children = this.processes.map((p) => p.child);
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? Promise.resolve()
          : new Promise((r) => c.once("exit", r)),
      ),
    );
    await this.transport.close();
    await this.broker.close();
  }
}

/**
 * The settings file of an edge-agent process hosting C-TAEMS agents in a simulated run (the
 * program's settings, as the plain object it reads). Setups come per trial from the coordinator.
 */
export function cscAgentSettings(options: {
  readonly agents: readonly string[];
  readonly site: string;
  readonly broker: string;
  readonly journalDir: string;
}): Record<string, unknown> {
  return {
    family: "ctaems",
    agents: options.agents.map((agentId) => ({ agentId })),
    site: options.site,
    broker: options.broker,
    journalDir: options.journalDir,
    // A simulated run is thrown away: no need to flush each record to disk.
    journalSync: false,
    clock: "lockstep",
    logLevel: "warn",
  };
}
