import { createServer, type Server } from "node:net";
import {
  type AgentSetup,
  CtaemsWorld,
  DELIBERATIVE_ADDRESS,
  DeliberativeScheduler,
  lastPlannedStart,
  type ModelIndex,
  type PeerBody,
  type PeerMessage,
  type Schedule,
  type Strategy,
  sortInbox,
  viewersOf,
} from "@consort/core";
import { type AnyMessage, type Body, parseTopic, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { Aedes } from "aedes";
import { COORDINATOR_PEER } from "../agent.js";

/**
 * For tests: a bare aedes broker on an ephemeral loopback port, and a clock master of C-TAEMS
 * runs on it (the world and the deliberative scheduler, as the bench's cluster has them), which
 * also watches for anything said twice: an answer to a tick already answered, or a peer message
 * (sender, trial, seq) that comes again under a new envelope.
 */
export class TestClockMaster {
  /** Descriptors seen, in order: "agent online 1", "agent offline 1", ... */
  readonly descriptors: string[] = [];
  readonly repeated: string[] = [];
  private readonly online = new Set<string>();
  private readonly steps = new Map<string, Map<string, Body<"csc-step">>>();
  private readonly toCoordinator = new Map<string, PeerMessage[]>();
  private readonly peerKeys = new Set<string>();
  private seq = 0;

  private constructor(
    readonly url: string,
    readonly site: string,
    private readonly broker: Aedes,
    private readonly server: Server,
    private readonly transport: MqttTransport,
  ) {}

  static async start(site: string, port = 0): Promise<TestClockMaster> {
    const broker = await Aedes.createBroker();
    const server = createServer({ noDelay: true }, broker.handle);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("no address");
    const url = `mqtt://127.0.0.1:${address.port}`;
    const transport = await MqttTransport.connect({ url, clientId: "coordinator" });
    const master = new TestClockMaster(url, site, broker, server, transport);
    transport.onMessage((m, topic) => master.receive(m, topic));
    await transport.subscribe(topics.filters.allAgentStates(site));
    await transport.subscribe(topics.filters.allAgentOut(site));
    await transport.subscribe(topics.filters.allAgentOut(site).replace(/\/out$/, "/peer/+"));
    return master;
  }

  private receive(message: AnyMessage, topic: string): void {
    const where = parseTopic(topic);
    if (message.type === "descriptor") {
      const { agentId, status, epoch } = message.body;
      this.descriptors.push(`${agentId} ${status} ${epoch}`);
      if (status === "online") this.online.add(agentId);
      else this.online.delete(agentId);
    } else if (message.type === "csc-step" && where?.kind === "agent-out") {
      const key = `${message.body.trial}:${message.body.tick}`;
      const map = this.steps.get(key) ?? new Map<string, Body<"csc-step">>();
      if (map.has(where.agentId)) this.repeated.push(`csc-step ${where.agentId} ${key}`);
      map.set(where.agentId, message.body);
      this.steps.set(key, map);
    } else if (message.type === "csc-peer" && where?.kind === "peer") {
      const id = `${where.agentId}>${where.toId} ${message.body.trial}:${message.body.seq}`;
      if (this.peerKeys.has(id)) this.repeated.push(`csc-peer ${id}`);
      this.peerKeys.add(id);
      if (where.toId !== COORDINATOR_PEER) return;
      const key = `${message.body.trial}:${message.body.tick}`;
      const list = this.toCoordinator.get(key) ?? [];
      list.push({
        from: where.agentId,
        to: DELIBERATIVE_ADDRESS,
        seq: message.body.seq,
        body: message.body.body as PeerBody,
      });
      this.toCoordinator.set(key, list);
    }
  }

  async until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
    const started = Date.now();
    while (!check()) {
      if (Date.now() - started > ms) throw new Error(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  isOnline(agentId: string): boolean {
    return this.online.has(agentId);
  }

  private publish<T extends "csc-setup" | "csc-tick" | "csc-peer">(
    agentId: string,
    type: T,
    body: Body<T>,
  ): Promise<number> {
    const message = makeMessage(type, "coordinator", body, { seq: ++this.seq, at: Date.now() });
    return this.transport.publish(topics.agentIn(this.site, agentId), message as AnyMessage);
  }

  /**
   * One lock-step trial, as the bench's cluster runs it: setups first, then at each tick every
   * agent steps on what was sent to it the tick before. `afterTicks(t)` runs once tick t is out.
   */
  async run(
    index: ModelIndex,
    initial: Schedule,
    setups: ReadonlyMap<string, AgentSetup>,
    strategy: Strategy,
    trial: number,
    key: number,
    afterTicks: (tick: number) => Promise<void> | void = () => {},
  ): Promise<{ rootQuality: number; executed: unknown; ticks: number; messages: number }> {
    const world = new CtaemsWorld(
      index,
      key,
      viewersOf(setups.values()),
      [],
      lastPlannedStart(initial),
    );
    const agents = [...setups.keys()].sort();
    const deliberative = [...setups.values()].some((s) => s.deliberative !== undefined)
      ? new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index, { initial })
      : undefined;
    await Promise.all(
      agents.map((a) =>
        this.publish(a, "csc-setup", {
          trial,
          strategy,
          setup: setups.get(a) as unknown as Body<"csc-setup">["setup"],
        }),
      ),
    );
    let expected = new Map<string, number>();
    let messages = 0;
    let deliberativeSeq = 0;
    let t = 0;
    for (; t <= world.horizon + 1000 && !world.finished(t); t++) {
      const events = world.begin(t);
      const ticks = agents.map((a) =>
        this.publish(a, "csc-tick", {
          trial,
          strategy,
          tick: t,
          expect: expected.get(a) ?? 0,
          events: (events.get(a) ?? []) as Body<"csc-tick">["events"],
        }),
      );
      const next = new Map<string, number>();
      const add = (to: string, n: number) => next.set(to, (next.get(to) ?? 0) + n);
      await afterTicks(t);
      if (deliberative) {
        const inboxKey = `${trial}:${t - 1}`;
        const want = expected.get(DELIBERATIVE_ADDRESS) ?? 0;
        await this.until(
          () => (this.toCoordinator.get(inboxKey)?.length ?? 0) >= want,
          `messages to the coordinator from tick ${t - 1}`,
        );
        const inbox = sortInbox(this.toCoordinator.get(inboxKey) ?? []);
        this.toCoordinator.delete(inboxKey);
        const out = deliberative.step({ tick: t, events: [], inbox });
        for (const m of out.messages) {
          add(m.to, 1);
          messages++;
          await this.publish(m.to, "csc-peer", {
            trial,
            tick: t,
            seq: ++deliberativeSeq,
            body: m.body as Body<"csc-peer">["body"],
          });
        }
      }
      await Promise.all(ticks);
      const stepKey = `${trial}:${t}`;
      await this.until(
        () => (this.steps.get(stepKey)?.size ?? 0) >= agents.length,
        `answers to tick ${t}`,
      );
      const replies = this.steps.get(stepKey)!;
      for (const a of agents) {
        const r = replies.get(a)!;
        if (r.start !== undefined || r.abort !== undefined)
          world.apply(t, a, {
            ...(r.start !== undefined ? { start: r.start } : {}),
            ...(r.abort !== undefined ? { abort: r.abort } : {}),
            messages: [],
          });
        for (const s of r.sent) {
          add(s.to === COORDINATOR_PEER ? DELIBERATIVE_ADDRESS : s.to, s.count);
          messages += s.count;
        }
      }
      expected = next;
    }
    const { rootQuality, executed } = world.result();
    return { rootQuality, executed, ticks: t, messages };
  }

  /** Sends one message to an agent's inbox, as the coordinator would. */
  async send<T extends "csc-setup" | "csc-tick" | "csc-peer">(
    agentId: string,
    type: T,
    body: Body<T>,
  ): Promise<void> {
    await this.publish(agentId, type, body);
  }

  async close(): Promise<void> {
    await this.transport.close();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
