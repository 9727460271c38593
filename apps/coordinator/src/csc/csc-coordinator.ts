import {
  type AgentEvent,
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
  type StrategyOptions,
  scheduleFor,
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
import { makeMessage } from "@consort/protocol/mqtt";

/** The address of the coordinator on peer topics (its deliberative scheduler in C-TAEMS runs). */
export const COORDINATOR_PEER = "coordinator";

/** What the C-TAEMS coordinator needs of a transport (`MqttTransport` fits). */
export interface CscTransport {
  publish(topic: string, message: AnyMessage, options?: { retain?: boolean }): Promise<number>;
  readonly stats: {
    readonly sent: ReadonlyMap<string, { messages: number; bytes: number }>;
    readonly received: ReadonlyMap<string, { messages: number; bytes: number }>;
  };
}

/**
 * How the run's time goes. `lockstep`: simulated time, a tick opens once every agent has answered
 * the one before (a run is then exactly the in-process run). `wall`: a tick opens every `tickMs`
 * whatever has been answered; an answer applies at the tick open when it arrives.
 */
export type CscClock =
  | { readonly kind: "lockstep"; readonly tickTimeoutMs?: number }
  | { readonly kind: "wall"; readonly tickMs: number };

/**
 * The clock master's wall time by section. Waiting includes the work the process does meanwhile
 * on its event loop: an embedded broker's routing and the decoding of the agents' answers.
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

/** A decision the world refused (wall clock: a repeated or stale answer); it changed nothing. */
export interface RefusedDecision {
  readonly agentId: string;
  readonly tick: number;
  readonly reason: string;
}

/** A trial run over a transport: the in-process result's fields, plus what crossed the broker. */
export interface CscRunResult extends TrialResult {
  /** Encoded bytes of the agents' coordination messages (the deliberative scheduler's too). */
  readonly bytes: number;
  /** Clock-master messages (ticks out, step answers in). */
  readonly control: number;
  /** Encoded bytes of the clock-master messages. */
  readonly controlBytes: number;
  readonly wallMs: number;
  readonly sections: ClockMasterSections;
  /** The world at the end (for reports: the final model, what ran). */
  readonly world: CtaemsWorld;
  /** Wall clock: answers that arrived after the next tick had opened (applied there). */
  readonly lateAnswers: number;
  /** Decisions the world refused (never on lock-step, where one would be a bug and throws). */
  readonly refused: readonly RefusedDecision[];
  /** Methods aborted by their agents. */
  readonly aborted: readonly string[];
}

export interface CscCoordinatorOptions {
  readonly site: string;
  /** The coordinator's client id, the sender of its messages (default "coordinator"). */
  readonly coordinatorId?: string;
  /**
   * The first outbox sequence number minus one. Agents deduplicate by (sender, seq), so a
   * coordinator that may be restarted starts above its earlier lives (e.g. at Date.now()).
   */
  readonly seqBase?: number;
  /** Strategy options of the setups (deliberative scheduler, policy). */
  readonly strategyOptions?: Omit<StrategyOptions, "changes" | "departures" | "measure">;
}

export interface CscRunOptions {
  readonly changes?: readonly ModelChange[];
  readonly maxTicks?: number;
  readonly clock?: CscClock;
  /** Told after every tick opened (for progress bars and logs). */
  readonly onTick?: (tick: number, world: CtaemsWorld) => void;
  /**
   * Lock-step: wall time to wait after each tick (for a person watching the dashboard). The
   * run's outcome is the same, only slower.
   */
  readonly paceMs?: number;
}

/**
 * What the C-TAEMS coordinator tells an observer (the dashboard) as a run goes: a trial begins
 * (its world and the schedule its agents start from), a tick has been applied, an agent came or
 * went, and what reached and left the deliberative scheduler (escalations in, installs out).
 */
export type CscEvent =
  | {
      readonly kind: "trial";
      readonly trial: number;
      readonly strategy: Strategy;
      readonly world: CtaemsWorld;
      readonly initial: Schedule;
      /**
       * The schedule the agents were given: `initial` with the changes the deliberative
       * scheduler made before the run (`scheduleFor`); `initial` itself when it made none.
       */
      readonly schedule: Schedule;
      readonly agents: readonly string[];
    }
  | { readonly kind: "tick"; readonly tick: number; readonly world: CtaemsWorld }
  /** An agent answered a tick. */
  | { readonly kind: "heard"; readonly agentId: string }
  | {
      readonly kind: "agent";
      readonly agentId: string;
      readonly online: boolean;
      readonly epoch: number;
    }
  | {
      readonly kind: "scheduler-in";
      readonly tick: number;
      readonly from: string;
      readonly body: PeerBody;
    }
  | {
      readonly kind: "scheduler-out";
      readonly tick: number;
      readonly to: string;
      readonly body: PeerBody;
    };

type Waiter = { check: () => boolean; resolve: () => void; reject: (e: Error) => void };

/** A wall-clock trial under way: where answers go as they arrive. */
interface WallRun {
  readonly trial: number;
  readonly world: CtaemsWorld;
  readonly traffic: TrafficCount;
  tick: number;
  bytes: number;
  late: number;
  readonly refused: RefusedDecision[];
  readonly aborted: string[];
  readonly inbox: PeerMessage[];
}

/** "a, b, c and 7 more": a readable list however long. */
export function someOf(ids: readonly string[], shown = 8): string {
  if (ids.length <= shown) return ids.join(", ");
  return `${ids.slice(0, shown).join(", ")} and ${ids.length - shown} more`;
}

const emptyTraffic = (): TrafficCount => ({
  messages: 0,
  byAgent: new Map(),
  byType: new Map(),
  byRecipient: new Map(),
  bytes: 0,
  lost: 0,
});

const add = (map: Map<string, number>, k: string, n: number) => map.set(k, (map.get(k) ?? 0) + n);

/**
 * The coordinator's side of a C-TAEMS run, over a transport: before a trial's first tick it
 * gives every agent its setup (`csc-setup`, cut by core's `setupsFor`); it is the clock master
 * (`csc-tick`), owns the simulated world (`CtaemsWorld`: the devices' physics in a simulated run,
 * each agent told only what happens to its own methods), applies the agents' decisions
 * (`csc-step`), and hosts the deliberative scheduler (peer messages to and from "coordinator").
 * The owner of the transport hands it every message (`receive`) from the agents' states, outputs
 * and the coordinator's peer topic (`subscriptions`).
 */
export class CscCoordinator {
  private readonly online = new Set<string>();
  private readonly epochs = new Map<string, number>();
  private readonly steps = new Map<string, Map<string, Body<"csc-step">>>();
  private readonly toCoordinator = new Map<string, PeerMessage[]>();
  private readonly setupCache = new Map<Strategy, ReadonlyMap<string, AgentSetup>>();
  private waiters: Waiter[] = [];
  private dead: Error | undefined;
  private outSeq: number;
  private wall: WallRun | undefined;
  private readonly coordinatorId: string;
  private readonly listeners = new Set<(e: CscEvent) => void>();

  constructor(
    readonly index: ModelIndex,
    readonly initial: Schedule,
    private readonly transport: CscTransport,
    private readonly options: CscCoordinatorOptions,
  ) {
    this.outSeq = options.seqBase ?? 0;
    this.coordinatorId = options.coordinatorId ?? COORDINATOR_PEER;
  }

  /** Calls `listener` with every event; returns the function that stops it. */
  onEvent(listener: (e: CscEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: CscEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** The transport's message counts by type (for an observer's rates). */
  get trafficStats(): CscTransport["stats"] {
    return this.transport.stats;
  }

  /** The topic filters whose messages `receive` expects. */
  subscriptions(): string[] {
    const { site } = this.options;
    return [
      topics.filters.allAgentStates(site),
      topics.filters.allAgentOut(site),
      topics.filters.peersTo(site, COORDINATOR_PEER),
    ];
  }

  /** The per-agent setups of a strategy (cut once per strategy). */
  setups(strategy: Strategy): ReadonlyMap<string, AgentSetup> {
    let s = this.setupCache.get(strategy);
    if (!s) {
      s = setupsFor(
        this.index,
        this.scheduleOf(strategy),
        strategy,
        this.options.strategyOptions ?? {},
      );
      this.setupCache.set(strategy, s);
    }
    return s;
  }

  /**
   * The schedule a strategy's agents are given (`scheduleFor`: under Consort, the initial one with
   * the changes its deliberative scheduler made before the run).
   */
  scheduleOf(strategy: Strategy): Schedule {
    return scheduleFor(this.index, this.initial, strategy, this.options.strategyOptions);
  }

  /** Tells the listeners that a trial starts, with the schedule its agents were given. */
  private emitTrial(
    trial: number,
    strategy: Strategy,
    world: CtaemsWorld,
    agents: readonly string[],
  ): void {
    const schedule = this.scheduleOf(strategy);
    this.emit({ kind: "trial", trial, strategy, world, initial: this.initial, schedule, agents });
  }

  /** The agents of a strategy's runs, in id order. */
  agents(strategy: Strategy = "consort"): string[] {
    return [...this.setups(strategy).keys()].sort();
  }

  /** The session epoch of an agent's latest descriptor, if one came. */
  epochOf(agentId: string): number | undefined {
    return this.epochs.get(agentId);
  }

  /** Whether an agent's retained descriptor says it is online. */
  isOnline(agentId: string): boolean {
    return this.online.has(agentId);
  }

  /** Hands over one message from the transport. */
  receive(message: AnyMessage, topic: string): void {
    const where = parseTopic(topic);
    if (message.type === "descriptor") {
      // A session's last will may come after its successor said online (the broker noticed the
      // old connection late): what counts is the latest session epoch's word.
      const { agentId, epoch, status } = message.body;
      const known = this.epochs.get(agentId) ?? Number.NEGATIVE_INFINITY;
      if (epoch < known) return;
      this.epochs.set(agentId, epoch);
      if (status === "online") this.online.add(agentId);
      else this.online.delete(agentId);
      this.emit({ kind: "agent", agentId, online: status === "online", epoch });
    } else if (message.type === "csc-step" && where?.kind === "agent-out") {
      if (this.listeners.size > 0) this.emit({ kind: "heard", agentId: where.agentId });
      if (this.wall) {
        this.answerNow(where.agentId, message.body);
        return;
      }
      const key = `${message.body.trial}:${message.body.tick}`;
      const map = this.steps.get(key) ?? new Map<string, Body<"csc-step">>();
      map.set(where.agentId, message.body);
      this.steps.set(key, map);
    } else if (message.type === "csc-peer" && where?.kind === "peer") {
      const m: PeerMessage = {
        from: where.agentId,
        to: DELIBERATIVE_ADDRESS,
        seq: message.body.seq,
        body: message.body.body as PeerBody,
      };
      if (this.wall) {
        if (message.body.trial === this.wall.trial) this.wall.inbox.push(m);
        return;
      }
      const key = `${message.body.trial}:${message.body.tick}`;
      const list = this.toCoordinator.get(key) ?? [];
      list.push(m);
      this.toCoordinator.set(key, list);
    } else return;
    this.wake();
  }

  /** Fails whatever is waiting (an agent process died, the transport closed). */
  fail(error: Error): void {
    this.dead ??= error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  /** Resolves once every agent listed is online; rejects after `timeoutMs` naming the missing. */
  waitForAgents(agents: readonly string[], timeoutMs: number, what?: string): Promise<void> {
    return this.until(
      () => agents.every((a) => this.online.has(a)),
      timeoutMs,
      () =>
        `${what ?? "agents"} to come online (${someOf(agents.filter((a) => !this.online.has(a)))})`,
    );
  }

  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.check()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
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
    const message = makeMessage(type, this.coordinatorId, body, {
      seq: ++this.outSeq,
      at: Date.now(),
    });
    return this.transport.publish(topic, message as AnyMessage);
  }

  /**
   * Gives every agent of the strategy its setup for the trial. It travels on the agent's inbox
   * ahead of the trial's first tick, and MQTT keeps one publisher's order on a topic, so no
   * answer is needed before the tick.
   */
  private async sendSetups(strategy: Strategy, trial: number): Promise<void> {
    const setups = this.setups(strategy);
    await Promise.all(
      [...setups].map(([agentId, setup]) =>
        this.publish(topics.agentIn(this.options.site, agentId), "csc-setup", {
          trial,
          strategy,
          setup: setup as unknown as Record<string, unknown>,
        }),
      ),
    );
  }

  private newWorld(strategy: Strategy, key: number, changes: readonly ModelChange[]): CtaemsWorld {
    return new CtaemsWorld(
      this.index,
      key,
      viewersOf(this.setups(strategy).values()),
      changes,
      lastPlannedStart(this.initial),
    );
  }

  /** Runs one trial of `strategy` with trial key `key`, on the clock of `options.clock`. */
  run(
    strategy: Strategy,
    trial: number,
    key: number,
    options: CscRunOptions = {},
  ): Promise<CscRunResult> {
    const clock = options.clock ?? { kind: "lockstep" };
    return clock.kind === "wall"
      ? this.runWall(strategy, trial, key, clock.tickMs, options)
      : this.runLockstep(strategy, trial, key, clock.tickTimeoutMs ?? 30_000, options);
  }

  /**
   * Lock-step: at each tick the world reports, every agent steps on the messages sent to it at
   * the tick before, the deliberative scheduler (here) steps on its own, and the world applies
   * the decisions in agent-id order: exactly what core's `runTrial` does in one process.
   */
  private async runLockstep(
    strategy: Strategy,
    trial: number,
    key: number,
    tickTimeoutMs: number,
    options: CscRunOptions,
  ): Promise<CscRunResult> {
    const started = performance.now();
    const site = this.options.site;
    const setups = this.setups(strategy);
    const world = this.newWorld(strategy, key, options.changes ?? []);
    const agents = [...setups.keys()].sort();
    const deliberative = [...setups.values()].some((s) => s.deliberative !== undefined)
      ? new DeliberativeScheduler(DELIBERATIVE_ADDRESS, this.index, {
          initial: this.scheduleOf(strategy),
        })
      : undefined;
    const traffic = emptyTraffic();
    let bytes = 0;
    let control = 0;
    const stats = this.transport.stats;
    const controlBytesNow = () =>
      (stats.sent.get("csc-tick")?.bytes ?? 0) + (stats.received.get("csc-step")?.bytes ?? 0);
    const controlBytesBefore = controlBytesNow();
    let deliberativeSeq = 0;
    const aborted: string[] = [];
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
    this.emitTrial(trial, strategy, world, agents);
    await this.sendSetups(strategy, trial);
    lap("publishMs");
    let t = 0;
    for (; t <= limit && !world.finished(t); t++) {
      lap("answersMs");
      const events = world.begin(t);
      lap("worldMs");
      const stepKey = `${trial}:${t}`;
      const ticks = agents.map((agentId) =>
        this.publish(topics.agentIn(site, agentId), "csc-tick", {
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
          tickTimeoutMs,
          () => `${want} messages to the deliberative scheduler from tick ${t - 1}`,
        );
        lap("waitMs");
        const inbox = sortInbox(this.toCoordinator.get(inboxKey) ?? []);
        this.toCoordinator.delete(inboxKey);
        const out = deliberative.step({ tick: t, events: [], inbox });
        this.tellScheduler(t, inbox, out.messages);
        lap("deliberativeMs");
        const sends: Promise<number>[] = [];
        for (const m of out.messages) {
          add(next, m.to, 1);
          add(traffic.byRecipient, m.to, 1);
          add(traffic.byAgent, DELIBERATIVE_ADDRESS, 1);
          add(traffic.byType, m.body.type, 1);
          traffic.messages++;
          sends.push(
            this.publish(topics.agentIn(site, m.to), "csc-peer", {
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
        tickTimeoutMs,
        () =>
          `tick ${t} of trial ${trial} (${strategy}) from ${someOf(agents.filter((a) => !this.steps.get(stepKey)?.has(a)))}`,
      );
      lap("waitMs");
      const replies = this.steps.get(stepKey)!;
      this.steps.delete(stepKey);
      let worldMs = 0;
      for (const agentId of agents) {
        const r = replies.get(agentId)!;
        if (r.abort !== undefined) aborted.push(r.abort);
        if (r.start !== undefined || r.abort !== undefined) {
          const before = performance.now();
          world.apply(t, agentId, {
            ...(r.start !== undefined ? { start: r.start } : {}),
            ...(r.abort !== undefined ? { abort: r.abort } : {}),
            messages: [],
          });
          worldMs += performance.now() - before;
        }
        this.countAnswer(agentId, r, traffic, next);
        bytes += r.bytes;
      }
      expected = next;
      sections.worldMs += worldMs;
      sections.answersMs -= worldMs;
      options.onTick?.(t, world);
      this.emit({ kind: "tick", tick: t, world });
      if (options.paceMs !== undefined && options.paceMs > 0)
        await new Promise((r) => setTimeout(r, options.paceMs));
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
      controlBytes: controlBytesNow() - controlBytesBefore,
      wallMs: performance.now() - started,
      sections,
      world,
      lateAnswers: 0,
      refused: [],
      aborted,
    };
  }

  /** Tells listeners what reached the deliberative scheduler at tick `t`, and what it sent. */
  private tellScheduler(
    t: number,
    inbox: readonly PeerMessage[],
    out: readonly { to: string; body: PeerBody }[],
  ): void {
    if (this.listeners.size === 0) return;
    for (const m of inbox) this.emit({ kind: "scheduler-in", tick: t, from: m.from, body: m.body });
    for (const m of out) this.emit({ kind: "scheduler-out", tick: t, to: m.to, body: m.body });
  }

  private countAnswer(
    agentId: string,
    r: Body<"csc-step">,
    traffic: TrafficCount,
    next?: Map<string, number>,
  ): void {
    for (const s of r.sent) {
      const to = s.to === COORDINATOR_PEER ? DELIBERATIVE_ADDRESS : s.to;
      if (next) add(next, to, s.count);
      add(traffic.byRecipient, to, s.count);
      add(traffic.byAgent, agentId, s.count);
      traffic.messages += s.count;
    }
    for (const s of r.types) add(traffic.byType, s.type, s.count);
  }

  /** Wall clock: an answer applies at the tick open when it arrives. */
  private answerNow(agentId: string, r: Body<"csc-step">): void {
    const run = this.wall;
    if (!run || r.trial !== run.trial) return;
    if (r.tick < run.tick) run.late++;
    this.countAnswer(agentId, r, run.traffic);
    run.bytes += r.bytes;
    // The abort and the start apply one at a time, so a refused start keeps a good abort.
    for (const decision of [
      ...(r.abort !== undefined ? [{ abort: r.abort }] : []),
      ...(r.start !== undefined ? [{ start: r.start }] : []),
    ])
      try {
        run.world.apply(run.tick, agentId, { ...decision, messages: [] });
        if ("abort" in decision) run.aborted.push(decision.abort);
      } catch (error) {
        // The device refuses what it cannot do (a second start of a method, a start while
        // busy): the answer was stale or repeated (an agent restarted); nothing happens.
        run.refused.push({ agentId, tick: run.tick, reason: (error as Error).message });
      }
  }

  /**
   * Wall clock: a tick opens every `tickMs` without waiting for answers; each agent hears of the
   * tick (without `expect`: it steps at once on what has arrived), answers arriving later apply
   * at the tick then open, and the deliberative scheduler steps at each tick on what reached it.
   * An agent that is down gets no ticks; its events wait for its first tick back.
   */
  private async runWall(
    strategy: Strategy,
    trial: number,
    key: number,
    tickMs: number,
    options: CscRunOptions,
  ): Promise<CscRunResult> {
    const started = performance.now();
    const site = this.options.site;
    const setups = this.setups(strategy);
    const world = this.newWorld(strategy, key, options.changes ?? []);
    const agents = [...setups.keys()].sort();
    const deliberative = [...setups.values()].some((s) => s.deliberative !== undefined)
      ? new DeliberativeScheduler(DELIBERATIVE_ADDRESS, this.index, {
          initial: this.scheduleOf(strategy),
        })
      : undefined;
    const run: WallRun = {
      trial,
      world,
      traffic: emptyTraffic(),
      tick: 0,
      bytes: 0,
      late: 0,
      refused: [],
      aborted: [],
      inbox: [],
    };
    const stats = this.transport.stats;
    const controlBytesNow = () =>
      (stats.sent.get("csc-tick")?.bytes ?? 0) + (stats.received.get("csc-step")?.bytes ?? 0);
    const controlBytesBefore = controlBytesNow();
    const stepsBefore = stats.received.get("csc-step")?.messages ?? 0;
    const sections = { worldMs: 0, deliberativeMs: 0, publishMs: 0, waitMs: 0, answersMs: 0 };
    this.emitTrial(trial, strategy, world, agents);
    await this.sendSetups(strategy, trial);
    this.wall = run;
    const limit = options.maxTicks ?? world.horizon + 1000;
    const t0 = performance.now();
    let deliberativeSeq = 0;
    let ticksSent = 0;
    const held = new Map<string, AgentEvent[]>();
    let t = 0;
    try {
      for (; t <= limit && !world.finished(t); t++) {
        if (this.dead) throw this.dead;
        // Tick t opens at t0 + t * tickMs, late or not: time does not wait for anyone.
        const wait = t0 + t * tickMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        sections.waitMs += Math.max(0, wait);
        let lapStart = performance.now();
        run.tick = t;
        const events = world.begin(t);
        sections.worldMs += performance.now() - lapStart;
        lapStart = performance.now();
        const sends: Promise<number>[] = [];
        for (const agentId of agents) {
          const mine = [...(held.get(agentId) ?? []), ...(events.get(agentId) ?? [])];
          // No ticks pile up for an agent that is down (its last will said so): what happened to
          // it waits here and comes with its first tick back, so a restarted agent steps on the
          // present, not on a backlog of ticks whose decisions would apply late.
          if (!this.online.has(agentId)) {
            held.set(agentId, mine);
            continue;
          }
          held.delete(agentId);
          sends.push(
            this.publish(topics.agentIn(site, agentId), "csc-tick", {
              trial,
              strategy,
              tick: t,
              events: mine as Body<"csc-tick">["events"],
            }),
          );
          ticksSent++;
        }
        const agentSends = sends.length;
        if (deliberative) {
          const inbox = sortInbox(run.inbox.splice(0));
          const before = performance.now();
          const out = deliberative.step({ tick: t, events: [], inbox });
          this.tellScheduler(t, inbox, out.messages);
          sections.deliberativeMs += performance.now() - before;
          for (const m of out.messages) {
            add(run.traffic.byRecipient, m.to, 1);
            add(run.traffic.byAgent, DELIBERATIVE_ADDRESS, 1);
            add(run.traffic.byType, m.body.type, 1);
            run.traffic.messages++;
            sends.push(
              this.publish(topics.agentIn(site, m.to), "csc-peer", {
                trial,
                tick: t,
                seq: ++deliberativeSeq,
                body: m.body as Body<"csc-peer">["body"],
              }),
            );
          }
        }
        // Handed to MQTT; the broker's acknowledgements are not waited for (a tick must not
        // slip because one agent's queue is slow), but a failed publish fails the run.
        void Promise.all(sends).then(
          (sizes) => {
            if (deliberative) for (const s of sizes.slice(agentSends)) run.bytes += s;
          },
          (error: Error) => this.fail(error),
        );
        sections.publishMs += performance.now() - lapStart;
        options.onTick?.(t, world);
        this.emit({ kind: "tick", tick: t, world });
      }
    } finally {
      this.wall = undefined;
    }
    run.traffic.bytes = run.bytes;
    const before = performance.now();
    const { rootQuality, executed } = world.result();
    sections.worldMs += performance.now() - before;
    return {
      rootQuality,
      executed,
      traffic: run.traffic,
      ticks: t,
      bytes: run.bytes,
      control: ticksSent + (stats.received.get("csc-step")?.messages ?? 0) - stepsBefore,
      controlBytes: controlBytesNow() - controlBytesBefore,
      wallMs: performance.now() - started,
      sections,
      world,
      lateAnswers: run.late,
      refused: run.refused,
      aborted: run.aborted,
    };
  }
}
