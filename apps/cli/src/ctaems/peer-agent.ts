import {
  type AgentSetup,
  type CtaemsAgent,
  DELIBERATIVE_ADDRESS,
  type PeerBody,
  type PeerMessage,
  SchedulerAgentCsc,
  type Strategy,
  sortInbox,
} from "@consort/core";
import {
  type AnyMessage,
  type Body,
  type MessageType,
  parseTopic,
  topics,
} from "@consort/protocol";
import { MqttTransport, makeMessage, type TransportLogger } from "@consort/protocol/mqtt";

/** The address of the coordinator on peer topics (its deliberative scheduler in C-TAEMS runs). */
export const COORDINATOR_PEER = "coordinator";

/** One hosted agent: who it is and its setups. */
export interface HostedAgentConfig {
  readonly agentId: string;
  /** Its setup under each strategy it may be asked to run. */
  readonly setups: Partial<Record<Strategy, AgentSetup>>;
}

/**
 * What one C-TAEMS agent process is given: where the broker is, and the agents it hosts (one or
 * more; each keeps its own MQTT connection and identity). Passwords are not in the file: they
 * come in `CONSORT_AGENT_PASSWORDS`, a JSON object of agent id -> password (or, for a process
 * hosting one agent, `CONSORT_AGENT_PASSWORD`).
 */
export interface PeerAgentConfig {
  readonly site: string;
  readonly broker: string;
  readonly agents: readonly HostedAgentConfig[];
}

const STRATEGIES: readonly string[] = ["initial", "bos", "consort"];

/**
 * Reads and checks a peer-agent configuration (the file the clock master writes): either
 * `{site, broker, agents: [{agentId, setups}, ...]}`, or one agent's `{agentId, site, broker,
 * setups}`, which is read as a list of one. Throws an Error that says what is wrong; the program
 * turns it into one line and a non-zero exit.
 */
export function parsePeerAgentConfig(text: string, where: string): PeerAgentConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`${where}: expected an object`);
  const v = value as Record<string, unknown>;
  for (const key of ["site", "broker"] as const)
    if (typeof v[key] !== "string" || v[key].length === 0)
      throw new Error(`${where}: "${key}" must be a non-empty string`);
  const list: unknown[] =
    v.agents !== undefined
      ? Array.isArray(v.agents)
        ? v.agents
        : (() => {
            throw new Error(`${where}: "agents" must be a list of {agentId, setups}`);
          })()
      : [{ agentId: v.agentId, setups: v.setups }];
  if (list.length === 0) throw new Error(`${where}: "agents" is empty`);
  const seen = new Set<string>();
  const agents = list.map((entry, i): HostedAgentConfig => {
    const at = v.agents !== undefined ? `${where}: agents[${i}]` : where;
    const a = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof a.agentId !== "string" || a.agentId.length === 0)
      throw new Error(`${at}: "agentId" must be a non-empty string`);
    if (seen.has(a.agentId)) throw new Error(`${at}: agent "${a.agentId}" is listed twice`);
    seen.add(a.agentId);
    if (typeof a.setups !== "object" || a.setups === null)
      throw new Error(`${at}: "setups" must be an object of strategy -> setup`);
    for (const [strategy, setup] of Object.entries(a.setups)) {
      if (!STRATEGIES.includes(strategy))
        throw new Error(`${at}: setups.${strategy}: unknown strategy (initial, bos or consort)`);
      const id = (setup as { agentId?: unknown } | null)?.agentId;
      if (id !== a.agentId)
        throw new Error(
          `${at}: setups.${strategy}.agentId is "${String(id)}", expected "${a.agentId}"`,
        );
    }
    return { agentId: a.agentId, setups: a.setups as HostedAgentConfig["setups"] };
  });
  return { site: v.site as string, broker: v.broker as string, agents };
}

/**
 * The hosted agents' passwords, from the environment: `CONSORT_AGENT_PASSWORDS` (a JSON object of
 * agent id -> password), else `CONSORT_AGENT_PASSWORD` for a process hosting a single agent. An
 * agent with no password connects without one (a dev-mode broker).
 */
export function passwordsFromEnv(
  env: NodeJS.ProcessEnv,
  agents: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  const json = env.CONSORT_AGENT_PASSWORDS;
  if (json !== undefined) {
    let map: unknown;
    try {
      map = JSON.parse(json);
    } catch {
      throw new Error("CONSORT_AGENT_PASSWORDS is not JSON (expected an object of id -> password)");
    }
    if (typeof map !== "object" || map === null || Array.isArray(map))
      throw new Error("CONSORT_AGENT_PASSWORDS must be a JSON object of agent id -> password");
    for (const id of agents) {
      const p = (map as Record<string, unknown>)[id];
      if (p === undefined) continue;
      if (typeof p !== "string")
        throw new Error(`CONSORT_AGENT_PASSWORDS: the password of "${id}" must be a string`);
      out.set(id, p);
    }
  } else if (env.CONSORT_AGENT_PASSWORD !== undefined && agents.length === 1) {
    out.set(agents[0]!, env.CONSORT_AGENT_PASSWORD);
  }
  return out;
}

interface PendingTick {
  readonly trial: number;
  readonly strategy: Strategy;
  readonly tick: number;
  readonly expect: number;
  readonly events: Body<"csc-tick">["events"];
}

/**
 * One C-TAEMS agent over MQTT, with its own connection and identity: it follows the clock
 * master's ticks, steps its `SchedulerAgentCsc` once all the messages sent to it at the tick
 * before are in, publishes what it says to each neighbour on its own peer topics, and answers the
 * master with its decision and its traffic. Being lock-step and ordered by (sender, seq), a run
 * gives exactly the result of the same run in one process. A process hosts one or more of them
 * (`PeerAgentHost`).
 */
export class PeerAgentProcess {
  private agent: CtaemsAgent | undefined;
  private current: { trial: number; strategy: Strategy } | undefined;
  private pending: PendingTick | undefined;
  /** Messages by "trial:tick" of their sending. */
  private readonly inbox = new Map<string, PeerMessage[]>();
  private peerSeq = 0;
  private outSeq = 0;
  private failure: Error | undefined;

  private constructor(
    private readonly config: HostedAgentConfig & { readonly site: string },
    private readonly transport: MqttTransport,
    private readonly onFatal: (error: Error) => void,
  ) {}

  static async start(
    config: HostedAgentConfig & { readonly site: string; readonly broker: string },
    password: string | undefined,
    logger: TransportLogger,
    onFatal: (error: Error) => void,
  ): Promise<PeerAgentProcess> {
    const { agentId, site } = config;
    const offline = makeMessage(
      "descriptor",
      agentId,
      { agentId, resourceId: agentId, status: "offline", epoch: 1, software: "consort-csc/0.1.0" },
      { seq: 0, at: Date.now() },
    );
    const transport = await MqttTransport.connect({
      url: config.broker,
      clientId: agentId,
      username: agentId,
      ...(password !== undefined ? { password } : {}),
      will: { topic: topics.agentState(site, agentId), message: offline, retain: true },
      logger,
    });
    const agent = new PeerAgentProcess(config, transport, onFatal);
    transport.onMessage((m, topic) => agent.receive(m, topic));
    await transport.subscribe(topics.agentIn(site, agentId));
    await transport.subscribe(topics.filters.peersTo(site, agentId));
    await agent.publish(topics.agentState(site, agentId), "descriptor", {
      agentId,
      resourceId: agentId,
      status: "online",
      epoch: 1,
      software: "consort-csc/0.1.0",
    });
    return agent;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  get agentId(): string {
    return this.config.agentId;
  }

  private publish<T extends MessageType>(topic: string, type: T, body: Body<T>): Promise<number> {
    const message = makeMessage(type, this.config.agentId, body, {
      seq: ++this.outSeq,
      at: Date.now(),
    });
    return this.transport.publish(topic, message as AnyMessage, {
      retain: type === "descriptor",
    });
  }

  private receive(message: AnyMessage, topic: string): void {
    if (this.failure) return;
    if (message.type === "csc-tick") {
      this.pending = { ...message.body, expect: message.body.expect ?? 0 };
    } else if (message.type === "csc-peer") {
      const where = parseTopic(topic);
      // On an agent's inbox the sender is the coordinator; on a peer topic, the topic says who.
      const from =
        where?.kind === "peer"
          ? where.agentId
          : where?.kind === "agent-in"
            ? DELIBERATIVE_ADDRESS
            : undefined;
      if (from === undefined) return;
      // A message from a trial already over is stale; drop it.
      if (this.current && message.body.trial < this.current.trial) return;
      const key = `${message.body.trial}:${message.body.tick}`;
      const list = this.inbox.get(key) ?? [];
      list.push({
        from,
        to: this.config.agentId,
        seq: message.body.seq,
        body: message.body.body as PeerBody,
      });
      this.inbox.set(key, list);
    } else return;
    this.tryStep();
  }

  private tryStep(): void {
    const tick = this.pending;
    if (!tick) return;
    const key = `${tick.trial}:${tick.tick - 1}`;
    const arrived = this.inbox.get(key) ?? [];
    if (arrived.length < tick.expect) return;
    if (arrived.length > tick.expect) {
      this.fail(
        new Error(
          `tick ${tick.tick} of trial ${tick.trial}: ${arrived.length} messages arrived from tick ${tick.tick - 1}, the clock master counted ${tick.expect}`,
        ),
      );
      return;
    }
    this.pending = undefined;
    this.inbox.delete(key);
    try {
      this.step(tick, arrived);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private step(tick: PendingTick, arrived: PeerMessage[]): void {
    const { agentId, site } = this.config;
    if (
      this.current === undefined ||
      this.current.trial !== tick.trial ||
      this.current.strategy !== tick.strategy
    ) {
      const setup = this.config.setups[tick.strategy];
      if (!setup) throw new Error(`no setup for strategy "${tick.strategy}"`);
      this.agent = new SchedulerAgentCsc(setup);
      this.current = { trial: tick.trial, strategy: tick.strategy };
      this.peerSeq = 0;
      for (const key of this.inbox.keys())
        if (Number(key.split(":")[0]) < tick.trial) this.inbox.delete(key);
    }
    const out = this.agent!.step({
      tick: tick.tick,
      events: tick.events,
      inbox: sortInbox(arrived),
    });
    const sent = new Map<string, number>();
    const types = new Map<string, number>();
    const publishes: Promise<number>[] = [];
    const bytesBefore = this.transport.stats.sent.get("csc-peer")?.bytes ?? 0;
    for (const m of out.messages) {
      const to = m.to === DELIBERATIVE_ADDRESS ? COORDINATOR_PEER : m.to;
      sent.set(to, (sent.get(to) ?? 0) + 1);
      types.set(m.body.type, (types.get(m.body.type) ?? 0) + 1);
      publishes.push(
        this.publish(topics.peer(site, agentId, to), "csc-peer", {
          trial: tick.trial,
          tick: tick.tick,
          seq: ++this.peerSeq,
          body: m.body as Body<"csc-peer">["body"],
        }),
      );
    }
    // Encoded and counted as each publish was made; the answer need not wait for the broker's
    // acknowledgements, since the master counts and every addressee waits for its count.
    const bytes = (this.transport.stats.sent.get("csc-peer")?.bytes ?? 0) - bytesBefore;
    publishes.push(
      this.publish(topics.agentOut(site, agentId), "csc-step", {
        trial: tick.trial,
        tick: tick.tick,
        ...(out.start !== undefined ? { start: out.start } : {}),
        ...(out.abort !== undefined ? { abort: out.abort } : {}),
        sent: [...sent].map(([to, count]) => ({ to, count })),
        types: [...types].map(([type, count]) => ({ type, count })),
        bytes,
      }),
    );
    void Promise.all(publishes).catch((error: Error) => this.fail(error));
  }

  private fail(error: Error): void {
    this.failure = error;
    this.onFatal(error);
  }
}

/** How many hosted agents connect at once when a process starts. */
const CONNECTS_AT_ONCE = 16;

/**
 * The agents one process hosts: each its own `PeerAgentProcess` with its own MQTT connection
 * and identity (the broker ties an agent's topics to its username), sharing the event loop.
 */
export class PeerAgentHost {
  private constructor(readonly agents: readonly PeerAgentProcess[]) {}

  /**
   * Connects every hosted agent (a few at a time). `onFatal` gets the failing agent's id; if one
   * cannot connect, the ones already connected are closed and the error names the agent.
   */
  static async start(
    config: PeerAgentConfig,
    passwords: ReadonlyMap<string, string>,
    logger: TransportLogger,
    onFatal: (agentId: string, error: Error) => void,
  ): Promise<PeerAgentHost> {
    const started: PeerAgentProcess[] = [];
    let next = 0;
    let failed: Error | undefined;
    const worker = async (): Promise<void> => {
      while (failed === undefined && next < config.agents.length) {
        const hosted = config.agents[next++]!;
        try {
          started.push(
            await PeerAgentProcess.start(
              { ...hosted, site: config.site, broker: config.broker },
              passwords.get(hosted.agentId),
              logger,
              (error) => onFatal(hosted.agentId, error),
            ),
          );
        } catch (error) {
          failed ??= new Error(`${hosted.agentId}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(CONNECTS_AT_ONCE, config.agents.length) }, worker),
    );
    const host = new PeerAgentHost(started);
    if (failed !== undefined) {
      await host.close().catch(() => {});
      throw failed;
    }
    return host;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.close()));
  }
}
