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

/** What one C-TAEMS agent process is given: who it is, where the broker is, its setups. */
export interface PeerAgentConfig {
  readonly agentId: string;
  readonly site: string;
  readonly broker: string;
  /** Its setup under each strategy it may be asked to run. */
  readonly setups: Partial<Record<Strategy, AgentSetup>>;
}

/**
 * Reads and checks a peer-agent configuration (the file the clock master writes). Throws an
 * Error that says what is wrong; the program turns it into one line and a non-zero exit.
 */
export function parsePeerAgentConfig(text: string, where: string): PeerAgentConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not JSON (${(error as Error).message})`);
  }
  const v = value as Partial<PeerAgentConfig> | null;
  if (typeof v !== "object" || v === null) throw new Error(`${where}: expected an object`);
  for (const key of ["agentId", "site", "broker"] as const)
    if (typeof v[key] !== "string" || v[key].length === 0)
      throw new Error(`${where}: "${key}" must be a non-empty string`);
  if (typeof v.setups !== "object" || v.setups === null)
    throw new Error(`${where}: "setups" must be an object of strategy -> setup`);
  for (const [strategy, setup] of Object.entries(v.setups)) {
    if (!["initial", "bos", "consort"].includes(strategy))
      throw new Error(`${where}: setups.${strategy}: unknown strategy (initial, bos or consort)`);
    if (setup?.agentId !== v.agentId)
      throw new Error(
        `${where}: setups.${strategy}.agentId is "${String(setup?.agentId)}", expected "${v.agentId}"`,
      );
  }
  return v as PeerAgentConfig;
}

interface PendingTick {
  readonly trial: number;
  readonly strategy: Strategy;
  readonly tick: number;
  readonly expect: number;
  readonly events: Body<"csc-tick">["events"];
}

/**
 * One C-TAEMS agent as its own process: it follows the clock master's ticks, steps its
 * `SchedulerAgentCsc` once all the messages sent to it at the tick before are in, publishes
 * what it says to each neighbour on its own peer topics, and answers the master with its
 * decision and its traffic. Being lock-step and ordered by (sender, seq), a run gives exactly
 * the result of the same run in one process.
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
    private readonly config: PeerAgentConfig,
    private readonly transport: MqttTransport,
    private readonly onFatal: (error: Error) => void,
  ) {}

  static async start(
    config: PeerAgentConfig,
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
      this.pending = { ...message.body };
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
