import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerStats, createBroker, type RunningBroker } from "@consort/broker";
import {
  type AgentSetup,
  CtaemsWorld,
  DELIBERATIVE_ADDRESS,
  DeliberativeScheduler,
  lastPlannedStart,
  type ModelChange,
  type ModelIndex,
  type PeerBody,
  type PeerMessage,
  type Schedule,
  type Strategy,
  setupsFor,
  sortInbox,
  type TrafficCount,
  type TrialResult,
  viewersOf,
} from "@consort/core";
import {
  type AnyMessage,
  type Body,
  type MessageType,
  parseTopic,
  topics,
} from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { COORDINATOR_PEER, type PeerAgentConfig } from "./peer-agent.js";

/** The compiled C-TAEMS agent program (a process hosting one or more agents). */
export function peerAgentProgram(): string {
  // This file runs from src/ctaems (tests) or dist/ctaems (the command); the program is compiled.
  const here = dirname(fileURLToPath(import.meta.url));
  const program = join(here, "..", "..", "dist", "ctaems", "peer-agent-main.js");
  if (!existsSync(program))
    throw new Error(`${program} is missing: run \`npm run build\` at the repository root`);
  return program;
}

/** A distributed trial's result: the in-process result's fields, plus what crossed the broker. */
export interface DistributedTrialResult extends TrialResult {
  /** Encoded bytes of the agents' coordination messages (the deliberative scheduler's too). */
  readonly bytes: number;
  /** Clock-master messages (ticks out, step answers in). */
  readonly control: number;
  /** Encoded bytes of the clock-master messages. */
  readonly controlBytes: number;
  readonly wallMs: number;
  /** Where the clock master's wall time went, ms. */
  readonly sections: ClockMasterSections;
}

/**
 * The clock master's wall time by section. Waiting includes the work the process does meanwhile
 * on its event loop: the embedded broker's routing and the decoding of the agents' answers.
 */
export interface ClockMasterSections {
  /** The simulated world: opening ticks, applying decisions, the final quality. */
  readonly worldMs: number;
  /** The deliberative scheduler's steps. */
  readonly deliberativeMs: number;
  /** Building and handing the ticks (and the deliberative scheduler's messages) to MQTT. */
  readonly publishMs: number;
  /** Waiting for the tick's answers and for the messages to the deliberative scheduler. */
  readonly waitMs: number;
  /** Reading the answers: counting traffic (the world's part is in worldMs). */
  readonly answersMs: number;
}

export interface ClusterOptions {
  /** The strategies this cluster will be asked to run (each agent gets a setup for each). */
  readonly strategies: readonly Strategy[];
  /** Where the agents' configuration files go. */
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
}

/** One agent process: its child and the agents it hosts. */
interface AgentProcess {
  readonly name: string;
  readonly agents: readonly string[];
  readonly child: ChildProcess;
}

/** "a, b, c and 7 more": a readable list however long. */
export function someOf(ids: readonly string[], shown = 8): string {
  if (ids.length <= shown) return ids.join(", ");
  return `${ids.slice(0, shown).join(", ")} and ${ids.length - shown} more`;
}

/** Splits agents, in order, into consecutive groups of `size` (the last one may be smaller). */
export function groupAgents(agents: readonly string[], size: number): string[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`agentsPerProcess must be an integer >= 1, got ${size}`);
  const groups: string[][] = [];
  for (let i = 0; i < agents.length; i += size) groups.push(agents.slice(i, i + size));
  return groups;
}

type Waiter = { check: () => boolean; resolve: () => void; reject: (e: Error) => void };

/**
 * C-TAEMS agents as separate processes over a real broker: an embedded aedes broker on a free
 * loopback port with one user per agent, `peer-agent-main` processes hosting one agent each (or
 * `agentsPerProcess` of them, each with its own connection and identity), and this
 * process as the coordinator: clock master of the lock-step run (it owns the simulated world),
 * and host of the deliberative scheduler. Agents talk to each other directly on their peer
 * topics; the clock master only opens ticks and collects decisions.
 */
export class CtaemsCluster {
  private readonly processes: AgentProcess[] = [];
  private readonly stderr: string[] = [];
  private readonly online = new Set<string>();
  private readonly steps = new Map<string, Map<string, Body<"csc-step">>>();
  private readonly toCoordinator = new Map<string, PeerMessage[]>();
  private waiters: Waiter[] = [];
  private dead: Error | undefined;
  private outSeq = 0;
  private closing = false;

  private constructor(
    private readonly index: ModelIndex,
    private readonly initial: Schedule,
    private readonly setups: ReadonlyMap<Strategy, ReadonlyMap<string, AgentSetup>>,
    readonly agents: readonly string[],
    private readonly site: string,
    private readonly broker: RunningBroker,
    private transport: MqttTransport | undefined,
    private readonly tickTimeoutMs: number,
  ) {}

  static async start(
    index: ModelIndex,
    initial: Schedule,
    options: ClusterOptions,
  ): Promise<CtaemsCluster> {
    const site = options.site ?? "ctaems";
    const setups = new Map<Strategy, ReadonlyMap<string, AgentSetup>>();
    for (const s of options.strategies) setups.set(s, setupsFor(index, initial, s));
    const agents = [...new Set([...setups.values()].flatMap((m) => [...m.keys()]))].sort();
    const passwords = new Map(agents.map((a) => [a, randomBytes(12).toString("base64url")]));
    const coordinatorPassword = randomBytes(12).toString("base64url");
    const perProcess = options.agentsPerProcess ?? 1;
    const groups = groupAgents(agents, perProcess);
    const broker = await createBroker({
      host: "127.0.0.1",
      port: 0,
      site,
      anonymous: false,
      maxConnections: Math.max(2000, agents.length + 64),
      users: [
        ...agents.map((a) => ({
          username: a,
          password: passwords.get(a)!,
          role: "agent" as const,
        })),
        { username: "coordinator", password: coordinatorPassword, role: "coordinator" as const },
      ],
    });
    const cluster = new CtaemsCluster(
      index,
      initial,
      setups,
      agents,
      site,
      broker,
      undefined,
      options.tickTimeoutMs ?? 30_000,
    );
    try {
      const transport = await MqttTransport.connect({
        url: broker.url,
        clientId: "coordinator",
        username: "coordinator",
        password: coordinatorPassword,
      });
      cluster.transport = transport;
      transport.onMessage((m, topic) => cluster.receive(m, topic));
      await transport.subscribe(topics.filters.allAgentStates(site));
      await transport.subscribe(topics.filters.allAgentOut(site));
      await transport.subscribe(topics.filters.peersTo(site, COORDINATOR_PEER));
      mkdirSync(options.runDir, { recursive: true });
      const program = peerAgentProgram();
      const startTimeout = options.startTimeoutMs ?? 30_000 + 30 * agents.length;
      // Processes start a few at a time: each one's agents online before another is spawned, so
      // a large fleet does not have hundreds of processes loading and connecting at once on a
      // small machine (a CONNACK could then take longer than a client waits for it).
      const startsAtOnce = options.startsAtOnce ?? Math.max(2, availableParallelism());
      const starting = new Set<Promise<void>>();
      for (const [i, group] of groups.entries()) {
        while (starting.size >= startsAtOnce) await Promise.race(starting);
        const config: PeerAgentConfig = {
          site,
          broker: broker.url,
          agents: group.map((agentId) => ({
            agentId,
            setups: Object.fromEntries(
              [...setups].flatMap(([s, m]) => (m.has(agentId) ? [[s, m.get(agentId)!]] : [])),
            ),
          })),
        };
        const name =
          group.length === 1
            ? group[0]!
            : `#${i} hosting ${group.length} agents (${group[0]} … ${group[group.length - 1]})`;
        const file = join(options.runDir, `agents-${String(i).padStart(4, "0")}.csc-agents.json`);
        writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
        chmodSync(file, 0o600);
        // Passwords travel in the child's environment, never on its command line.
        const child = spawn(process.execPath, [program, "--config", file], {
          stdio: ["ignore", "ignore", "pipe"],
          env: {
            ...process.env,
            CONSORT_AGENT_PASSWORDS: JSON.stringify(
              Object.fromEntries(group.map((a) => [a, passwords.get(a)!])),
            ),
          },
        });
        child.stderr?.on("data", (d: Buffer) => {
          cluster.stderr.push(d.toString().trim());
          if (cluster.stderr.length > 20) cluster.stderr.shift();
        });
        child.once("exit", (code, signal) => {
          if (cluster.closing) return;
          cluster.die(
            new Error(
              `agent process ${name} exited (${signal ?? `code ${code}`})${cluster.stderr.length ? `: ${cluster.stderr.slice(-3).join(" | ")}` : ""}`,
            ),
          );
        });
        cluster.processes.push({ name, agents: group, child });
        const online = cluster
          .until(
            () => group.every((a) => cluster.online.has(a)),
            startTimeout,
            () => `agents of process ${name} to come online`,
          )
          .finally(() => starting.delete(online));
        // A failure here is met by the race above or by the wait for every agent below.
        online.catch(() => {});
        starting.add(online);
      }
      await cluster.until(
        () => cluster.online.size >= agents.length && agents.every((a) => cluster.online.has(a)),
        startTimeout,
        () => `agents to come online (${someOf(agents.filter((a) => !cluster.online.has(a)))})`,
      );
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

  private receive(message: AnyMessage, topic: string): void {
    const where = parseTopic(topic);
    if (message.type === "descriptor") {
      if (message.body.status === "online") this.online.add(message.body.agentId);
      else this.online.delete(message.body.agentId);
    } else if (message.type === "csc-step" && where?.kind === "agent-out") {
      const key = `${message.body.trial}:${message.body.tick}`;
      const map = this.steps.get(key) ?? new Map<string, Body<"csc-step">>();
      map.set(where.agentId, message.body);
      this.steps.set(key, map);
    } else if (message.type === "csc-peer" && where?.kind === "peer") {
      const key = `${message.body.trial}:${message.body.tick}`;
      const list = this.toCoordinator.get(key) ?? [];
      list.push({
        from: where.agentId,
        to: DELIBERATIVE_ADDRESS,
        seq: message.body.seq,
        body: message.body.body as PeerBody,
      });
      this.toCoordinator.set(key, list);
    } else return;
    this.wake();
  }

  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.check()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private die(error: Error): void {
    this.dead ??= error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  private until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`gave up after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private publish<T extends MessageType>(topic: string, type: T, body: Body<T>): Promise<number> {
    const message = makeMessage(type, "coordinator", body, { seq: ++this.outSeq, at: Date.now() });
    return this.transport!.publish(topic, message as AnyMessage);
  }

  /**
   * Runs one trial of `strategy` across the processes, in lock-step: at each tick the world
   * reports, every agent steps on the messages sent to it at the tick before, the deliberative
   * scheduler (here) steps on its own, and the world applies the decisions in agent-id order.
   */
  async run(
    strategy: Strategy,
    trial: number,
    key: number,
    options: { changes?: readonly ModelChange[]; maxTicks?: number } = {},
  ): Promise<DistributedTrialResult> {
    const started = performance.now();
    const setups = this.setups.get(strategy);
    if (!setups) throw new Error(`this cluster was not started with strategy "${strategy}"`);
    const world = new CtaemsWorld(
      this.index,
      key,
      viewersOf(setups.values()),
      options.changes ?? [],
      lastPlannedStart(this.initial),
    );
    const agents = [...setups.keys()].sort();
    const deliberative = [...setups.values()].some((s) => s.deliberative !== undefined)
      ? new DeliberativeScheduler(DELIBERATIVE_ADDRESS, this.index)
      : undefined;
    const traffic: TrafficCount = {
      messages: 0,
      byAgent: new Map(),
      byType: new Map(),
      byRecipient: new Map(),
      bytes: 0,
      lost: 0,
    };
    const add = (map: Map<string, number>, k: string, n: number) =>
      map.set(k, (map.get(k) ?? 0) + n);
    let bytes = 0;
    let control = 0;
    const stats = this.transport!.stats;
    const controlBytesBefore =
      (stats.sent.get("csc-tick")?.bytes ?? 0) + (stats.received.get("csc-step")?.bytes ?? 0);
    let deliberativeSeq = 0;
    let expected = new Map<string, number>();
    const limit = options.maxTicks ?? world.horizon + 1000;
    // Wall time by section: each lap is charged to the section it ends.
    const sections = { worldMs: 0, deliberativeMs: 0, publishMs: 0, waitMs: 0, answersMs: 0 };
    let lapStart = started;
    const lap = (section: keyof typeof sections): void => {
      const now = performance.now();
      sections[section] += now - lapStart;
      lapStart = now;
    };
    lap("worldMs"); // building the world
    let t = 0;
    for (; t <= limit && !world.finished(t); t++) {
      lap("answersMs");
      const events = world.begin(t);
      lap("worldMs");
      const stepKey = `${trial}:${t}`;
      const ticks = agents.map((agentId) =>
        this.publish(topics.agentIn(this.site, agentId), "csc-tick", {
          trial,
          strategy,
          tick: t,
          expect: expected.get(agentId) ?? 0,
          events: (events.get(agentId) ?? []) as Body<"csc-tick">["events"],
        }),
      );
      control += agents.length * 2;
      const next = new Map<string, number>();
      lap("publishMs");
      if (deliberative) {
        const inboxKey = `${trial}:${t - 1}`;
        const want = expected.get(DELIBERATIVE_ADDRESS) ?? 0;
        await this.until(
          () => (this.toCoordinator.get(inboxKey)?.length ?? 0) >= want,
          this.tickTimeoutMs,
          () => `${want} messages to the deliberative scheduler from tick ${t - 1}`,
        );
        lap("waitMs");
        const inbox = sortInbox(this.toCoordinator.get(inboxKey) ?? []);
        this.toCoordinator.delete(inboxKey);
        const out = deliberative.step({ tick: t, events: [], inbox });
        lap("deliberativeMs");
        const sends: Promise<number>[] = [];
        for (const m of out.messages) {
          add(next, m.to, 1);
          add(traffic.byRecipient, m.to, 1);
          add(traffic.byAgent, DELIBERATIVE_ADDRESS, 1);
          add(traffic.byType, m.body.type, 1);
          traffic.messages++;
          sends.push(
            this.publish(topics.agentIn(this.site, m.to), "csc-peer", {
              trial,
              tick: t,
              seq: ++deliberativeSeq,
              body: m.body as Body<"csc-peer">["body"],
            }),
          );
        }
        lap("publishMs");
        for (const size of await Promise.all(sends)) bytes += size;
      }
      await Promise.all(ticks);
      await this.until(
        () => (this.steps.get(stepKey)?.size ?? 0) >= agents.length,
        this.tickTimeoutMs,
        () =>
          `tick ${t} of trial ${trial} (${strategy}) from ${someOf(agents.filter((a) => !this.steps.get(stepKey)?.has(a)))}`,
      );
      lap("waitMs");
      const replies = this.steps.get(stepKey)!;
      this.steps.delete(stepKey);
      let worldMs = 0;
      for (const agentId of agents) {
        const r = replies.get(agentId)!;
        if (r.start !== undefined || r.abort !== undefined) {
          const before = performance.now();
          world.apply(t, agentId, {
            ...(r.start !== undefined ? { start: r.start } : {}),
            ...(r.abort !== undefined ? { abort: r.abort } : {}),
            messages: [],
          });
          worldMs += performance.now() - before;
        }
        for (const s of r.sent) {
          const to = s.to === COORDINATOR_PEER ? DELIBERATIVE_ADDRESS : s.to;
          add(next, to, s.count);
          add(traffic.byRecipient, to, s.count);
          add(traffic.byAgent, agentId, s.count);
          traffic.messages += s.count;
        }
        for (const s of r.types) add(traffic.byType, s.type, s.count);
        bytes += r.bytes;
      }
      expected = next;
      sections.worldMs += worldMs;
      sections.answersMs -= worldMs;
    }
    lap("answersMs");
    traffic.bytes = bytes;
    const { rootQuality, executed } = world.result();
    lap("worldMs");
    return {
      rootQuality,
      executed,
      traffic,
      ticks: t,
      bytes,
      control,
      controlBytes:
        (stats.sent.get("csc-tick")?.bytes ?? 0) +
        (stats.received.get("csc-step")?.bytes ?? 0) -
        controlBytesBefore,
      wallMs: performance.now() - started,
      sections,
    };
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
    await this.transport?.close();
    await this.broker.close();
  }
}
