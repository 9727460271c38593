import {
  type AgentSetup,
  type CtaemsAgent,
  DELIBERATIVE_ADDRESS,
  type PeerBody,
  type PeerMessage,
  parseAgentSetup,
  SchedulerAgentCsc,
  sortInbox,
  type TickOutput,
} from "@consort/core";
import {
  type AnyMessage,
  type Body,
  encodeMessage,
  type MessageType,
  parseTopic,
  topics,
} from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Journal, JournalledPeerMessage, JournalRecord } from "../journal.js";

/** The address of the coordinator on peer topics (its deliberative scheduler in C-TAEMS runs). */
export const COORDINATOR_PEER = "coordinator";

export const CSC_SOFTWARE = "consort-edge-agent/0.1.0 (ctaems)";

/** The kinds of message a C-TAEMS agent accepts; anything else on its topics is ignored. */
export type CscInbound = Extract<AnyMessage, { type: "csc-setup" | "csc-tick" | "csc-peer" }>;

type Strategy = Body<"csc-setup">["strategy"];
type Tick = Body<"csc-tick">;
type Out = Extract<JournalRecord, { t: "out" }>;

export interface CscAgentPorts {
  readonly transport: MqttTransport;
  readonly journal: Journal;
  readonly logger: {
    warn(details: Record<string, unknown>, message: string): void;
    error(details: Record<string, unknown>, message: string): void;
  };
  /** The agent cannot go on (a bad setup, a broken lock-step count): the process stops. */
  readonly onFatal: (error: Error) => void;
}

/**
 * One C-TAEMS (CSC) agent over MQTT, with its own connection and identity. The coordinator gives
 * it a setup per run (`csc-setup` on its inbox) and opens ticks (`csc-tick`); at each tick it
 * steps its `SchedulerAgentCsc` on the messages sent to it, publishes what it says to each
 * neighbour on its own peer topics, and answers with its decision and its traffic (`csc-step`).
 *
 * Two clocks, told apart by the tick: in lock-step (`expect` set) it steps once exactly the
 * counted messages sent at the tick before are in, ordered by (sender, seq), so a run gives
 * exactly the result of the same run in one process; on the wall clock (`expect` absent) it steps
 * at once on every message received so far for earlier ticks (a late one waits for the next).
 *
 * Journal before acknowledgement: every setup, tick and message received is journalled before
 * the broker is acknowledged, each step before it is taken, and each message sent before it is
 * published (its PUBACK after). A restarted agent replays its journal through a fresh agent,
 * sending nothing, then resends what was never acknowledged and finishes a step cut short: a
 * crash loses and repeats nothing.
 */
export class CscAgent {
  private agent: CtaemsAgent | undefined;
  private current: { readonly trial: number; readonly strategy: Strategy } | undefined;
  /** The last tick stepped in the current trial. */
  private stepped = -1;
  /** The tick received and not yet stepped (the latest one). */
  private pending: Tick | undefined;
  /** Messages received and not yet stepped on, by trial. */
  private readonly inbox = new Map<number, JournalledPeerMessage[]>();
  /** (sender, seq) of every message received, by trial: a redelivery is dropped. */
  private readonly seen = new Map<number, Set<string>>();
  private peerSeq = 0;
  private seq = 0;
  private epoch = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** The outbox: messages journalled and not yet acknowledged by the broker, by seq. */
  private readonly unacked = new Map<number, Out>();
  private failure: Error | undefined;
  private stopped = false;

  /** One handler per kind accepted. */
  private readonly handlers: {
    readonly [K in CscInbound["type"]]: (
      body: Body<K>,
      where: ReturnType<typeof parseTopic>,
    ) => void;
  } = {
    "csc-setup": (body, where) => {
      if (this.onInbox(where)) this.onSetup(body);
    },
    "csc-tick": (body, where) => {
      if (this.onInbox(where)) this.onTick(body);
    },
    "csc-peer": (body, where) => {
      // On the agent's inbox the sender is the coordinator; on a peer topic, the topic says who.
      const from =
        where?.kind === "peer" && where.toId === this.agentId
          ? where.agentId
          : this.onInbox(where)
            ? DELIBERATIVE_ADDRESS
            : undefined;
      if (from !== undefined) this.onPeer(body, from);
    },
  };

  /**
   * @param willSeq the seq of this session's last will (`CscAgent.session`): the agent's own
   * messages come after it, so no receiver takes the will for a repeat of one of them.
   */
  constructor(
    readonly agentId: string,
    private readonly site: string,
    private readonly ports: CscAgentPorts,
    private readonly willSeq: number,
  ) {}

  /** The next session's epoch and its last will's seq, from the journal. */
  static session(records: readonly JournalRecord[]): { epoch: number; willSeq: number } {
    let epoch = 0;
    let seq = 0;
    for (const r of records) {
      if (r.t === "epoch") {
        epoch = r.epoch;
        if (r.willSeq !== undefined) seq = Math.max(seq, r.willSeq + 1);
      } else if (r.t === "out") seq = Math.max(seq, r.message.seq + 1);
      else if (r.t === "seq") seq = Math.max(seq, r.next);
    }
    return { epoch: epoch + 1, willSeq: seq };
  }

  /** The retained descriptor; the last will (set at connect) says the same with "offline". */
  static descriptor(
    agentId: string,
    status: "online" | "offline",
    epoch: number,
  ): Body<"descriptor"> {
    return { agentId, resourceId: agentId, status, epoch, software: CSC_SOFTWARE };
  }

  /** Replays the journal (sending nothing), comes online under a new epoch, and resumes. */
  async start(): Promise<void> {
    const { unacked, unfinished } = this.replay(this.ports.journal.records);
    this.epoch += 1;
    this.seq = Math.max(this.seq, this.willSeq + 1);
    this.ports.journal.append({ t: "epoch", epoch: this.epoch, willSeq: this.willSeq });
    // Before anything new is heard (a persistent session's queue comes as soon as a handler is
    // there): what was never acknowledged goes out again, in order, with its own seq, and a step
    // cut short is finished.
    for (const record of unacked) this.track(this.publishRecorded(record));
    if (unfinished) this.publishStep(unfinished.trial, unfinished.tick, unfinished);
    const { transport } = this.ports;
    transport.onMessage((message, topic) => this.receive(message, topic));
    await transport.subscribe(topics.agentIn(this.site, this.agentId));
    await transport.subscribe(topics.filters.peersTo(this.site, this.agentId));
    this.send(
      topics.agentState(this.site, this.agentId),
      "descriptor",
      this.describe("online"),
      true,
    );
    this.tryStep();
    await this.flush();
  }

  /** Says offline and waits for the broker to have everything. */
  async stop(): Promise<void> {
    this.send(
      topics.agentState(this.site, this.agentId),
      "descriptor",
      this.describe("offline"),
      true,
    );
    await this.flush();
    this.stopped = true;
  }

  /** Waits until every message sent so far is acknowledged by the broker. */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** For tests and reports. */
  snapshot() {
    return {
      epoch: this.epoch,
      trial: this.current?.trial,
      strategy: this.current?.strategy,
      stepped: this.stepped,
    };
  }

  private describe(status: "online" | "offline"): Body<"descriptor"> {
    return CscAgent.descriptor(this.agentId, status, this.epoch);
  }

  // ---- journal replay -------------------------------------------------------------------------

  private replay(records: readonly JournalRecord[]): {
    unacked: Out[];
    unfinished:
      | (TickOutput & { trial: number; tick: number; base: number; sent: Map<number, number> })
      | undefined;
  } {
    let last:
      | (TickOutput & {
          trial: number;
          tick: number;
          base: number;
          sent: Map<number, number>;
          answered: boolean;
        })
      | undefined;
    for (const r of records) {
      switch (r.t) {
        case "epoch":
          this.epoch = r.epoch;
          break;
        case "csc-setup": {
          const parsed = parseAgentSetup(r.setup, `journal: setup of trial ${r.trial}`);
          if (!parsed.ok) throw new Error(parsed.error);
          this.begin(r.trial, r.strategy, parsed.value);
          break;
        }
        case "csc-tick":
          this.pending = r;
          break;
        case "csc-in":
          this.accept(r.trial, r);
          break;
        case "csc-step": {
          const base = this.peerSeq;
          const out = this.takeStep(r);
          last = { ...out, trial: r.trial, tick: r.tick, base, sent: new Map(), answered: false };
          break;
        }
        case "seq":
          this.seq = Math.max(this.seq, r.next);
          break;
        case "out": {
          this.unacked.set(r.message.seq, r);
          this.seq = Math.max(this.seq, r.message.seq + 1);
          const m = r.message;
          if (last && (m.type === "csc-peer" || m.type === "csc-step")) {
            if (m.body.trial === last.trial && m.body.tick === last.tick) {
              if (m.type === "csc-peer") last.sent.set(m.body.seq, encodeMessage(m).byteLength);
              else last.answered = true;
            }
          }
          break;
        }
        case "acked":
          this.unacked.delete(r.seq);
          break;
        default:
          break; // another family's records: not this agent's
      }
    }
    return {
      unacked: [...this.unacked.values()].sort((a, b) => a.message.seq - b.message.seq),
      unfinished: last && !last.answered ? last : undefined,
    };
  }

  // ---- messages in ----------------------------------------------------------------------------

  private receive(message: AnyMessage, topic: string): void {
    if (this.failure || this.stopped) return;
    const handler = (
      this.handlers as Record<string, ((b: unknown, w: unknown) => void) | undefined>
    )[message.type];
    if (handler === undefined) return; // not for a C-TAEMS agent (the topic catalogue keeps most off)
    try {
      handler(message.body, parseTopic(topic));
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** This site's inbox of this agent (a broker shared across runs may hold another's queue). */
  private onInbox(where: ReturnType<typeof parseTopic>): boolean {
    return where?.kind === "agent-in" && where.site === this.site && where.agentId === this.agentId;
  }

  private onSetup(body: Body<"csc-setup">): void {
    const c = this.current;
    // An older trial's setup is stale; the current one again is a redelivery.
    if (c && (body.trial < c.trial || (body.trial === c.trial && body.strategy === c.strategy)))
      return;
    const parsed = parseAgentSetup(
      body.setup,
      `csc-setup of trial ${body.trial} (${body.strategy})`,
    );
    if (!parsed.ok) throw new Error(parsed.error);
    if (parsed.value.agentId !== this.agentId)
      throw new Error(
        `csc-setup of trial ${body.trial}: the setup is agent "${parsed.value.agentId}"'s, not this one's`,
      );
    this.compact({ t: "csc-setup", ...body });
    this.begin(body.trial, body.strategy, parsed.value);
    this.tryStep();
  }

  /**
   * A new run makes the journal's past runs useless to a replay: it is rewritten to what is still
   * needed (the session, the seq, the outbox, the new setup and what already came for the new
   * run), so it does not grow without bound over a long life.
   */
  private compact(setup: Extract<JournalRecord, { t: "csc-setup" }>): void {
    const later = [...this.inbox].filter(([trial]) => trial >= setup.trial);
    const pending = this.pending && this.pending.trial >= setup.trial ? this.pending : undefined;
    this.ports.journal.rewrite([
      { t: "epoch", epoch: this.epoch, willSeq: this.willSeq },
      { t: "seq", next: this.seq },
      ...[...this.unacked.values()].sort((a, b) => a.message.seq - b.message.seq),
      setup,
      ...later.flatMap(([trial, list]) => list.map((m) => ({ t: "csc-in" as const, trial, ...m }))),
      ...(pending ? [{ ...pending, t: "csc-tick" as const }] : []),
    ]);
  }

  private onTick(body: Tick): void {
    const c = this.current;
    if (c && (body.trial < c.trial || (body.trial === c.trial && body.tick <= this.stepped)))
      return; // stepped already (its answer, if unacknowledged, was resent at start)
    this.ports.journal.append({ t: "csc-tick", ...body });
    this.pending = body;
    this.tryStep();
  }

  private onPeer(body: Body<"csc-peer">, from: string): void {
    if (this.current && body.trial < this.current.trial) return; // a trial already over
    const message: JournalledPeerMessage = {
      from,
      seq: body.seq,
      tick: body.tick,
      body: body.body,
    };
    if (this.seen.get(body.trial)?.has(`${from}:${body.seq}`)) return;
    this.ports.journal.append({ t: "csc-in", trial: body.trial, ...message });
    this.accept(body.trial, message);
    this.tryStep();
  }

  private accept(trial: number, m: JournalledPeerMessage): void {
    const seen = this.seen.get(trial) ?? new Set<string>();
    this.seen.set(trial, seen);
    seen.add(`${m.from}:${m.seq}`);
    const list = this.inbox.get(trial) ?? [];
    this.inbox.set(trial, list);
    list.push({ from: m.from, seq: m.seq, tick: m.tick, body: m.body });
  }

  private begin(trial: number, strategy: Strategy, setup: AgentSetup): void {
    this.agent = new SchedulerAgentCsc(setup);
    this.current = { trial, strategy };
    this.stepped = -1;
    this.peerSeq = 0;
    if (this.pending && this.pending.trial < trial) this.pending = undefined;
    for (const t of [...this.inbox.keys()]) if (t < trial) this.inbox.delete(t);
    for (const t of [...this.seen.keys()]) if (t < trial) this.seen.delete(t);
  }

  // ---- stepping -------------------------------------------------------------------------------

  /** Steps on the pending tick if its messages are in: journal the step, take it, publish. */
  private tryStep(): void {
    const tick = this.pending;
    const c = this.current;
    if (!tick || !c || tick.trial !== c.trial) return; // its setup is still to come
    const list = this.inbox.get(tick.trial) ?? [];
    let arrived: JournalledPeerMessage[];
    if (tick.expect !== undefined) {
      arrived = list.filter((m) => m.tick === tick.tick - 1);
      if (arrived.length < tick.expect) return;
      if (arrived.length > tick.expect)
        throw new Error(
          `tick ${tick.tick} of trial ${tick.trial}: ${arrived.length} messages arrived from tick ${tick.tick - 1}, the clock master counted ${tick.expect}`,
        );
    } else {
      arrived = list.filter((m) => m.tick < tick.tick);
    }
    const record = {
      t: "csc-step" as const,
      trial: tick.trial,
      tick: tick.tick,
      // In (sender, seq) order, as core's `sortInbox` has it.
      inbox: arrived
        .map((m) => [m.from, m.seq] as const)
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1])),
    };
    this.ports.journal.append(record);
    const base = this.peerSeq;
    const out = this.takeStep(record);
    this.publishStep(record.trial, record.tick, { ...out, base, sent: new Map() });
  }

  /** Takes a journalled step: the pending tick, on the named messages. Sends nothing. */
  private takeStep(record: Extract<JournalRecord, { t: "csc-step" }>): TickOutput {
    const tick = this.pending;
    if (!this.agent || !tick || tick.trial !== record.trial || tick.tick !== record.tick)
      throw new Error(`step ${record.trial}:${record.tick} without its tick or setup`);
    const list = this.inbox.get(record.trial) ?? [];
    const byId = new Map(list.map((m) => [`${m.from}:${m.seq}`, m] as const));
    const inbox: PeerMessage[] = record.inbox.map(([from, seq]) => {
      const m = byId.get(`${from}:${seq}`);
      if (!m)
        throw new Error(
          `step ${record.trial}:${record.tick}: message ${from}:${seq} never received`,
        );
      byId.delete(`${from}:${seq}`);
      return { from, to: this.agentId, seq, body: m.body as PeerBody };
    });
    this.inbox.set(record.trial, [...byId.values()]);
    this.pending = undefined;
    this.stepped = record.tick;
    const out = this.agent.step({
      tick: record.tick,
      events: tick.events,
      inbox: sortInbox(inbox),
    });
    this.peerSeq += out.messages.length;
    return out;
  }

  /**
   * Publishes a step's messages (those numbered above `base`, except the ones already in the
   * outbox) and its answer to the clock master.
   */
  private publishStep(
    trial: number,
    tick: number,
    out: TickOutput & { base: number; sent: ReadonlyMap<number, number> },
  ): void {
    const sent = new Map<string, number>();
    const types = new Map<string, number>();
    let bytes = 0;
    for (const [i, m] of out.messages.entries()) {
      const to = m.to === DELIBERATIVE_ADDRESS ? COORDINATOR_PEER : m.to;
      sent.set(to, (sent.get(to) ?? 0) + 1);
      types.set(m.body.type, (types.get(m.body.type) ?? 0) + 1);
      const seq = out.base + i + 1;
      const body = { trial, tick, seq, body: m.body as Body<"csc-peer">["body"] };
      // One journalled before a crash is in the outbox already (and resent if unacknowledged).
      bytes +=
        out.sent.get(seq) ?? this.send(topics.peer(this.site, this.agentId, to), "csc-peer", body);
    }
    this.send(topics.agentOut(this.site, this.agentId), "csc-step", {
      trial,
      tick,
      ...(out.start !== undefined ? { start: out.start } : {}),
      ...(out.abort !== undefined ? { abort: out.abort } : {}),
      sent: [...sent].map(([to, count]) => ({ to, count })),
      types: [...types].map(([type, count]) => ({ type, count })),
      bytes,
    });
  }

  // ---- messages out ---------------------------------------------------------------------------

  /** The outbox: journal the message, then publish it; its PUBACK is journalled too. Returns its size. */
  private send<T extends MessageType>(
    topic: string,
    type: T,
    body: Body<T>,
    retain = false,
  ): number {
    const message = makeMessage(type, this.agentId, body, {
      seq: this.seq++,
      at: Date.now(),
    }) as AnyMessage;
    const record: Out = { t: "out", topic, message, ...(retain ? { retain } : {}) };
    this.ports.journal.append(record);
    this.unacked.set(message.seq, record);
    const before = this.ports.transport.stats.sent.get(type)?.bytes ?? 0;
    this.track(this.publishRecorded(record));
    // Encoded and counted as the publish was made (the answer need not wait for the PUBACK).
    return (this.ports.transport.stats.sent.get(type)?.bytes ?? 0) - before;
  }

  private async publishRecorded(record: Out): Promise<void> {
    await this.ports.transport.publish(record.topic, record.message, {
      retain: record.retain ?? false,
    });
    this.unacked.delete(record.message.seq);
    if (!this.stopped) this.ports.journal.append({ t: "acked", seq: record.message.seq });
  }

  private track(promise: Promise<void>): void {
    const p = promise.catch((error: Error) => {
      if (!this.stopped) this.fail(error);
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.ports.onFatal(error);
  }
}
