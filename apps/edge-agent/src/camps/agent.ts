import {
  type ActivityNode,
  type Assignment,
  answerRequest,
  answerRuntimeRequest,
  type BidderState,
  bidFor,
  type Clock,
  type ContractCall,
  type EnvironmentEvent,
  fenceEpoch,
  type Interval,
  isStale,
  type LocalHeuristic,
  repairLocally,
  type SimulatedClock,
  type Slot,
  type StartConstraint,
  scheduleWithAward,
  type Ticks,
  type TimerHandle,
} from "@consort/core/agent";
import {
  type AnyMessage,
  type Body,
  fromWireConstraint,
  type MessageType,
  parseTopic,
  topics,
  fromWireSlot as toSlot,
  toWireSlot as toWire,
} from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Logger } from "pino";
import type { CampsSnapshot, Journal, JournalRecord } from "../journal.js";
import type { SimulatedResource } from "./sim-resource.js";

export interface AgentIdentity {
  readonly agentId: string;
  readonly site: string;
  readonly resourceId: string;
}

export interface AgentPorts {
  readonly transport: MqttTransport;
  readonly journal: Journal;
  readonly clock: Clock;
  /** The resource: a simulated one, or a device adapter behind `DeviceResource`. */
  readonly resource: Pick<
    SimulatedResource,
    "subscribe" | "start" | "resume" | "abort" | "learn" | "realizedDuration" | "brokenAt"
  >;
  /** Lock-step: resolves once no device news is awaited (the agent reports idle after it). */
  readonly settle?: () => Promise<void>;
  readonly logger: Logger;
  /** Set in lock-step simulated runs: the clock the clock master's `clock` messages drive. */
  readonly lockstep?: SimulatedClock;
  /** The agent's lease on the wall clock (see settings): out of contact longer, it holds. */
  readonly leaseMs?: number;
  /**
   * Failed runs of one activity in a row (a device that disconnects, stalls, times out or
   * faults) after which the agent stops retrying alone and escalates (default 3).
   */
  readonly maxAttempts?: number;
}

/** Failed runs of one activity in a row before the agent escalates them, by default. */
export const DEFAULT_MAX_ATTEMPTS = 3;

type Wire<T extends MessageType> = Body<T>;

/** The commands a CAMPS scheduler agent acts on, from its inbox. */
export type CampsCommand = Extract<
  AnyMessage,
  {
    type: "assign" | "constrain" | "install" | "inform" | "accept" | "reject" | "cfp" | "award";
  }
>;

/** Point-to-point traffic, all time, for the clock master's conservation check. */
const COUNTED: ReadonlySet<string> = new Set([
  "propose",
  "inform",
  "failure",
  "accept",
  "reject",
  "bid",
  "refuse",
]);

/**
 * A scheduler agent (CAMPS): it owns one resource's schedule, builds it within the planner's
 * windows, executes it, repairs what it can alone and escalates the rest. Every decision is a
 * core function; this class moves messages, time and events to and from them, and journals each
 * commitment before acting on it or acknowledging it.
 */
export class SchedulerAgent {
  private version = 0;
  private view: Wire<"assign">["view"] | undefined;
  private assignments: Assignment[] = [];
  private constraints: StartConstraint[] = [];
  private slots: Slot[] = [];
  /**
   * `slots` is a schedule in force (installed since the last assignment): a negotiation then
   * revises it keeping its order, as its local repair does.
   */
  private inForce = false;
  private readonly started = new Map<string, { atTicks: Ticks; durationTicks: Ticks }>();
  private readonly finished = new Map<
    string,
    { atTicks: Ticks; quality: number; startTicks?: Ticks }
  >();
  private readonly remoteDone = new Set<string>();
  private readonly commands = new Set<string>();
  private unavailable: Interval[] = [];
  private running: string | undefined;
  private readonly timers = new Map<string, TimerHandle>();
  private seq = 0;
  private sentCount = 0;
  private readonly pending = new Set<Promise<void>>();
  private epoch = 0;
  /** The highest coordinator (fencing) epoch seen, journalled with the command that carried it. */
  private coordinatorEpoch = 0;
  private step = -1;
  private stopped = false;
  /** Wall-clock instant the lease last restarted (start, reconciled); else the broker's last packet. */
  private lastContactMs = Date.now();
  /** Out of contact past the lease: nothing new starts until the coordinator's install. */
  private holding: { announcedAtMs: number | undefined } | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  /** Inbox messages refused: retained replays, commands addressed to another agent. */
  private refusedCount = 0;
  /** The coordinator epoch whose schedule versions `version` counts. */
  private versionEpoch = 0;
  /** Commands refused by fencing (from a coordinator epoch below the one held). */
  private fencedCount = 0;
  /** Failed runs in a row of each activity since it last completed or was escalated. */
  private readonly failures = new Map<string, number>();
  /** Contract-net calls heard (journalled as commands), by call id: what an award refers to. */
  private readonly calls = new Map<string, { call: ContractCall; node: ActivityNode }>();
  /** Outbox records the broker has not acknowledged yet, by seq (kept by a compaction). */
  private readonly outbox = new Map<number, Extract<JournalRecord, { t: "out" }>>();

  constructor(
    readonly identity: AgentIdentity,
    private readonly ports: AgentPorts,
    private readonly heuristic: LocalHeuristic,
  ) {}

  /** Replays the journal, comes online under a new session epoch, and resumes. */
  async start(): Promise<void> {
    const unacked = this.replay(this.ports.journal.records);
    // Lock-step, restarted with a schedule: while this agent was down its unstarted work may have
    // been re-awarded. It starts nothing new until the coordinator's install (it reconciles an
    // agent back in a new session) says what is still its own.
    if (this.ports.lockstep && this.epoch > 0 && this.slots.length > 0)
      this.holding = { announcedAtMs: Date.now() };
    this.epoch += 1;
    this.ports.journal.append({ t: "epoch", epoch: this.epoch });
    // A long-lived agent's journal stays bounded: rewritten now and then as its state.
    this.ports.journal.compactWith(() => [this.journalSnapshot()]);
    this.ports.resource.subscribe((event) => this.onEnvironment(event));
    // Re-attach to the run that was under way before anything new is heard: a persistent
    // session's queue (time moving on, new commands) must find the machine as it really is.
    this.resumeExecution();
    const { transport } = this.ports;
    transport.onMessage((message, topic, _bytes, retained) =>
      this.onMessage(message, topic, retained),
    );
    // Back after a broken link, the broker has sent the last will ("offline"): say online again,
    // or the coordinator's lease on this agent runs out and its work moves while it still runs it.
    transport.onReconnect(() => {
      if (this.stopped) return;
      if (this.holding) this.holding.announcedAtMs = Date.now();
      this.descriptor("online");
      if (!this.ports.lockstep) this.resendCompletions();
    });
    await transport.subscribe(topics.agentIn(this.identity.site, this.identity.agentId));
    // The leader's lease (retained): a new leader's epoch fences off the old one's commands even
    // before the new one has sent this agent anything.
    await transport.subscribe(topics.coordinatorState(this.identity.site));
    if (this.ports.lockstep) await transport.subscribe(topics.clock(this.identity.site));
    // Messages written to the outbox but never acknowledged go out again, with their own seq.
    for (const record of unacked) this.track(this.publishRecorded(record));
    this.descriptor("online");
    await this.flush();
    const leaseMs = this.ports.leaseMs;
    if (leaseMs !== undefined) {
      this.lastContactMs = Date.now();
      this.watchdog = setInterval(() => this.watch(leaseMs), 200);
      this.watchdog.unref();
    }
  }

  /**
   * The agent's side of its lease. Out of contact longer than the lease (a partition, or the
   * process stopped), the coordinator may have reassigned its unstarted work: it holds, says it
   * is online again once connected, and resumes on the coordinator's install.
   */
  private watch(leaseMs: number): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.holding && this.outOfContactMs(now) > leaseMs) this.hold();
    if (!this.holding || !this.ports.transport.connected) return;
    // Holding, connected: say online, and again each lease while no install comes (the
    // coordinator's answer lost, or no coordinator yet): the wait has a timeout and a next step.
    const at = this.holding.announcedAtMs;
    if (at === undefined || now - at > leaseMs) {
      this.holding.announcedAtMs = now;
      this.descriptor("online");
    }
  }

  /**
   * Since the last sign of the broker: its last packet (keepalive answers included), not the
   * socket's state, which mqtt.js only finds dead up to two keepalives into a partition.
   */
  private outOfContactMs(now: number): number {
    return now - Math.max(this.lastContactMs, this.ports.transport.lastHeardMs);
  }

  private hold(): void {
    this.holding = { announcedAtMs: undefined };
    this.ports.logger.warn(
      { leaseMs: this.ports.leaseMs },
      "out of contact past the lease: holding unstarted work until the coordinator reconciles",
    );
  }

  /**
   * On the wall clock, after a broken link: the completions of the schedule in force, again. One
   * that a broker acknowledged and then lost (restarted without persistence) would leave the
   * coordinator, and the agents whose work it enables, waiting for it for ever. A repeat is
   * harmless: the coordinator records a completion once.
   */
  private resendCompletions(): void {
    for (const slot of this.slots) {
      const done = this.finished.get(slot.activityId);
      if (!done) continue;
      this.send("inform", {
        event: "completed",
        activityId: slot.activityId,
        atTicks: done.atTicks,
        ...(done.startTicks !== undefined ? { startTicks: done.startTicks } : {}),
        quality: done.quality,
        scheduleVersion: this.version,
      });
    }
  }

  /**
   * The retained descriptor; the last will (set at connect) says the same with "offline". It
   * carries the highest coordinator epoch accepted, so that a coordinator starting on an empty
   * journal (wiped, or on a new machine) leads above it instead of being fenced off for ever.
   */
  static descriptor(
    identity: AgentIdentity,
    status: "online" | "offline",
    epoch: number,
    coordinatorEpoch = 0,
  ): Wire<"descriptor"> {
    return {
      agentId: identity.agentId,
      resourceId: identity.resourceId,
      status,
      epoch,
      ...(coordinatorEpoch > 0 ? { coordinatorEpoch } : {}),
      software: "consort-edge-agent/0.1.0",
    };
  }

  /** The epoch the next session will use (for the last will, set before connecting). */
  static nextEpoch(records: readonly JournalRecord[]): number {
    let epoch = 0;
    for (const r of records) if (r.t === "epoch" || r.t === "snapshot") epoch = r.epoch;
    return epoch + 1;
  }

  /** The highest coordinator epoch on the journal (for the last will, set before connecting). */
  static coordinatorEpochOf(records: readonly JournalRecord[]): number {
    let epoch = 0;
    for (const r of records) {
      if (r.t === "command") epoch = Math.max(epoch, r.message.epoch ?? 0);
      if (r.t === "snapshot") epoch = Math.max(epoch, r.coordinatorEpoch);
    }
    return epoch;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    for (const t of this.timers.values()) this.ports.clock.cancel(t);
    this.descriptor("offline");
    await this.flush();
  }

  /** Waits until every message sent so far is acknowledged by the broker. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  // ---- journal replay -------------------------------------------------------------------------

  private replay(records: readonly JournalRecord[]): Extract<JournalRecord, { t: "out" }>[] {
    const outbox = this.outbox;
    for (const r of records) {
      switch (r.t) {
        case "snapshot":
          this.restore(r);
          break;
        case "epoch":
          this.epoch = r.epoch;
          break;
        case "command":
          this.coordinatorEpoch = Math.max(this.coordinatorEpoch, r.message.epoch ?? 0);
          // A leader's announcement is journalled for its epoch only: it is not a command
          // (the clock master's received count must not see it).
          if (r.message.type === "coordinator-state") break;
          this.commands.add(r.id);
          this.enterEpoch(r.message.epoch ?? 0);
          this.apply(r.message, false);
          break;
        case "schedule":
          this.version = r.version;
          this.slots = r.slots.map(toSlot);
          break;
        case "start":
          this.started.set(r.activityId, { atTicks: r.atTicks, durationTicks: r.durationTicks });
          break;
        case "complete":
          this.finished.set(r.activityId, {
            atTicks: r.atTicks,
            quality: r.quality,
            ...startOf(this.started.get(r.activityId)),
          });
          this.started.delete(r.activityId);
          this.failures.delete(r.activityId);
          break;
        case "fail":
          this.started.delete(r.activityId);
          // Counted as it was live: an escalation then (its message is in the outbox) reset it.
          this.countFailure(r.activityId);
          break;
        case "out":
          outbox.set(r.message.seq, r);
          this.seq = Math.max(this.seq, r.message.seq + 1);
          if (COUNTED.has(r.message.type)) this.sentCount++;
          break;
        case "acked":
          outbox.delete(r.seq);
          break;
      }
    }
    return [...outbox.values()];
  }

  /** What every record so far replays to, as one record (the journal's compaction). */
  private journalSnapshot(): CampsSnapshot {
    return {
      t: "snapshot",
      epoch: this.epoch,
      coordinatorEpoch: this.coordinatorEpoch,
      versionEpoch: this.versionEpoch,
      version: this.version,
      seq: this.seq,
      sent: this.sentCount,
      commands: [...this.commands],
      ...(this.view ? { view: this.view } : {}),
      assignments: this.assignments,
      constraints: this.constraints,
      slots: this.slots.map(toWire),
      ...(this.inForce ? { inForce: true } : {}),
      started: [...this.started],
      finished: [...this.finished],
      remoteDone: [...this.remoteDone],
      failures: [...this.failures],
      calls: [...this.calls],
      outbox: [...this.outbox.values()].sort((a, b) => a.message.seq - b.message.seq),
    };
  }

  /** A snapshot's state (replaces what earlier records built: there are none before it). */
  private restore(r: CampsSnapshot): void {
    this.epoch = r.epoch;
    this.coordinatorEpoch = r.coordinatorEpoch;
    this.versionEpoch = r.versionEpoch;
    this.version = r.version;
    this.seq = r.seq;
    this.sentCount = r.sent;
    for (const id of r.commands) this.commands.add(id);
    this.view = r.view;
    this.assignments = [...r.assignments];
    this.constraints = [...r.constraints];
    this.slots = r.slots.map(toSlot);
    this.inForce = r.inForce ?? false;
    for (const [id, run] of r.started) this.started.set(id, run);
    for (const [id, done] of r.finished) this.finished.set(id, done);
    for (const id of r.remoteDone) this.remoteDone.add(id);
    for (const [id, n] of r.failures) this.failures.set(id, n);
    for (const [id, c] of r.calls) this.calls.set(id, c);
    for (const o of r.outbox) this.outbox.set(o.message.seq, o);
    // The resource learns what the replayed commands taught it: our activities in the view, and
    // those taken on by award.
    if (r.view)
      for (const node of r.view.nodes)
        if (node.kind === "activity" && r.view.own.includes(node.id))
          this.ports.resource.learn(node as ActivityNode);
    const assigned = new Set(r.assignments.map((a) => a.activityId));
    for (const [, c] of r.calls) if (assigned.has(c.node.id)) this.ports.resource.learn(c.node);
  }

  // ---- messages in ----------------------------------------------------------------------------

  private onMessage(message: AnyMessage, topic: string, retained = false): void {
    if (this.stopped) return;
    if (message.type === "clock") {
      if (parseTopic(topic)?.site !== this.identity.site) return;
      this.onClock(message.body);
      return;
    }
    const where = parseTopic(topic);
    if (message.type === "coordinator-state") {
      if (where?.site !== this.identity.site || message.body.status !== "online") return;
      if (message.body.epoch <= this.coordinatorEpoch) return;
      // A new leader: its epoch is journalled (as the message that announced it) before it counts.
      this.ports.journal.append({ t: "command", id: message.id, message });
      this.coordinatorEpoch = message.body.epoch;
      return;
    }
    // Only this site's inbox: a broker shared across runs may still hold another site's queue.
    if (
      where?.kind !== "agent-in" ||
      where.site !== this.identity.site ||
      where.agentId !== this.identity.agentId
    )
      return;
    // A retained message on the command channel is a replay of an old order, not a command.
    if (retained) {
      this.refusedCount++;
      return;
    }
    // Addressed to another agent (a copy of its command in our inbox): not ours to act on or count.
    if (message.to !== undefined && message.to !== this.identity.agentId) {
      this.refusedCount++;
      this.ports.logger.warn(
        { id: message.id, to: message.to, type: message.type },
        "dropped a command addressed to another agent",
      );
      return;
    }
    if (this.commands.has(message.id)) return; // a redelivery of a command already journalled
    this.commands.add(message.id);
    // Fencing: a replaced leader (paused, partitioned, its queue flushed late) is refused.
    const fence = fenceEpoch(this.coordinatorEpoch, message.epoch);
    if (!fence.accept) {
      this.fencedCount++;
      this.ports.logger.warn(
        { id: message.id, type: message.type, epoch: message.epoch ?? 0, holds: fence.highest },
        `refused a command from stale coordinator epoch ${message.epoch ?? 0}: this agent holds epoch ${fence.highest}`,
      );
      if (message.type !== "accept" && message.type !== "reject")
        this.send("reject", { ref: message.id, reason: fence.reason });
      this.afterWork();
      return;
    }
    this.coordinatorEpoch = fence.highest;
    // Journal first: a command is ours once it is on disk, and only then do we act or answer.
    this.ports.journal.append({ t: "command", id: message.id, message });
    this.enterEpoch(message.epoch ?? 0);
    this.apply(message, true);
    this.afterWork();
  }

  /** One handler per kind of command a CAMPS agent accepts; `live` is false during replay. */
  private readonly handlers: {
    readonly [K in CampsCommand["type"]]: (id: string, body: Body<K>, live: boolean) => void;
  } = {
    assign: (id, body, live) => this.onAssign(id, body, live),
    constrain: (id, body, live) => this.onConstrain(id, body, live),
    install: (id, body, live) => this.onInstall(id, body, live),
    inform: (_id, body, live) => {
      this.remoteDone.add(body.activityId);
      if (live) this.tryStartNext();
    },
    // Answers to our proposals: the planner's next command carries what matters.
    accept: () => {},
    reject: () => {},
    cfp: (_id, body, live) => this.onCallForProposals(body, live),
    award: (_id, body, live) => this.onAward(body, live),
  };

  /** Applies a command; anything else on the inbox is journalled and counted, not acted on. */
  private apply(message: AnyMessage, live: boolean): void {
    const handler = this.handlers[message.type as CampsCommand["type"]] as
      | ((id: string, body: unknown, live: boolean) => void)
      | undefined;
    handler?.(message.id, message.body, live);
  }

  /**
   * Schedule versions are compared within a coordinator epoch: a leader of a newer epoch (past
   * fencing) may number afresh, as one that started on an empty journal does.
   */
  private enterEpoch(epoch: number): void {
    if (epoch <= this.versionEpoch) return;
    if (this.versionEpoch > 0) this.version = 0;
    this.versionEpoch = epoch;
  }

  /** A command for an older schedule version than the one in force is refused, and said so. */
  private refuseStale(id: string, version: number, live: boolean): boolean {
    if (!isStale(version, this.version)) return false;
    if (live)
      this.send("reject", {
        ref: id,
        scheduleVersion: version,
        reason: `stale: version ${this.version} is in force`,
      });
    return true;
  }

  /** A (re)assignment: new windows, constraints dropped, a new local schedule (CAMPS). */
  private onAssign(id: string, body: Wire<"assign">, live: boolean): void {
    if (this.refuseStale(id, body.scheduleVersion, live)) return;
    this.version = body.scheduleVersion;
    this.view = body.view;
    this.inForce = false;
    for (const node of body.view.nodes)
      if (node.kind === "activity" && body.view.own.includes(node.id))
        this.ports.resource.learn(node as ActivityNode);
    const assignments = body.slots.map((s) => ({
      activityId: s.activityId,
      resourceId: this.identity.resourceId,
      window: s.window ?? { earliestTicks: s.startTicks ?? 0, latestTicks: s.startTicks ?? 0 },
      durationTicks: s.durationTicks ?? 0,
    }));
    this.answer(
      {
        kind: "reassign",
        resourceId: this.identity.resourceId,
        version: this.version,
        assignments,
        unavailable: this.unavailable,
      },
      live,
    );
  }

  /** CAMPS intra-agent constraint adjustment: add the planner's bounds and revise our schedule. */
  private onConstrain(id: string, body: Wire<"constrain">, live: boolean): void {
    if (this.refuseStale(id, body.scheduleVersion, live)) return;
    this.version = body.scheduleVersion;
    const constraints = body.slots.map((s) => fromWireConstraint(s, body.reason));
    this.answer(
      { kind: "revise", resourceId: this.identity.resourceId, version: this.version, constraints },
      live,
    );
  }

  /** Answers a planner request exactly as core's in-process reference agent does. */
  private answer(request: Parameters<typeof answerRequest>[1], live: boolean): void {
    const answered = (this.inForce ? answerRuntimeRequest : answerRequest)(
      {
        resourceId: this.identity.resourceId,
        assignments: this.assignments,
        unavailable: this.unavailable,
        constraints: this.constraints,
        slots: this.fixedOr(this.slots),
        // What ran or runs stays; the rest is revised from now, weighing each job's work.
        fixed: [...this.finished.keys(), ...this.started.keys()],
        weights: this.jobWeights(),
      },
      request,
      this.ports.clock.now(),
      this.heuristic,
    );
    this.assignments = [...answered.assignments];
    this.constraints = [...answered.constraints];
    if (live) this.propose(answered.answer.slots);
  }

  /** The current slots, with what already ran or runs pinned where it actually is. */
  private fixedOr(slots: readonly Slot[]): Slot[] {
    const fixed = new Map(this.fixedSlots().map((f) => [f.activityId, f]));
    const out = slots.map((s) => fixed.get(s.activityId) ?? s);
    for (const f of fixed.values())
      if (!out.some((s) => s.activityId === f.activityId)) out.push(f);
    return out.sort((a, b) => a.startTicks - b.startTicks);
  }

  private onInstall(id: string, body: Wire<"install">, live: boolean): void {
    if (this.refuseStale(id, body.scheduleVersion, live)) return;
    this.version = body.scheduleVersion;
    this.slots = body.slots.map(toSlot);
    this.inForce = true;
    // The schedule in force is the planner's word: what it holds is ours (work moved away is not,
    // work moved here is), and the bounds of the negotiation that led to it are spent.
    const windows = new Map(this.assignments.map((a) => [a.activityId, a.window]));
    // The planner's slack: how late each may start without touching another agent's work.
    const slack = new Map(
      body.slots.flatMap((s) => (s.window ? [[s.activityId, s.window.latestTicks] as const] : [])),
    );
    this.assignments = this.slots.map((s) => {
      const w = windows.get(s.activityId);
      return {
        activityId: s.activityId,
        resourceId: this.identity.resourceId,
        window: {
          earliestTicks: Math.min(w?.earliestTicks ?? s.startTicks, s.startTicks),
          latestTicks: slack.get(s.activityId) ?? w?.latestTicks ?? s.startTicks,
        },
        durationTicks: s.durationTicks,
      };
    });
    this.constraints = [];
    if (!live) return;
    this.ports.journal.append({ t: "schedule", version: this.version, slots: body.slots });
    this.send("accept", { ref: id, scheduleVersion: this.version });
    // Reconciled: the schedule in force no longer holds what was reassigned.
    if (this.holding?.announcedAtMs !== undefined) {
      this.holding = undefined;
      this.lastContactMs = Date.now();
    }
    this.armTimers();
    this.tryStartNext();
  }

  // ---- contract net ---------------------------------------------------------------------------

  /** What this agent knows of its own schedule, for a bid (core's `bidFor`). */
  private bidderState(): BidderState {
    const pinned = new Set([...this.finished.keys(), ...this.started.keys()]);
    const weights = this.jobWeights();
    return {
      resourceId: this.identity.resourceId,
      slots: this.fixedOr(this.slots),
      pinned,
      unavailable: this.unavailable,
      weights,
      ...(this.holding ? { holding: true } : {}),
    };
  }

  /** The weight of each operation in force: its job's (the due date above it in our view). */
  private jobWeights(): Map<string, number> {
    const weights = new Map<string, number>();
    if (this.view)
      for (const s of this.slots) {
        const due = ancestorsInView(this.view, s.activityId)
          .map((id) => this.view!.nodes.find((n) => n.id === id))
          .find((n) => n?.due !== undefined)?.due;
        if (due) weights.set(s.activityId, due.weight);
      }
    return weights;
  }

  /** Contract net, announce: bid from our own local schedule, or refuse and say why. */
  private onCallForProposals(body: Wire<"cfp">, live: boolean): void {
    if (body.activity.kind !== "activity") return;
    const call: ContractCall = {
      callId: body.callId,
      activityId: body.activity.id,
      capable: body.activity.resources,
      durationTicks: body.durationTicks,
      earliestTicks: body.window.earliestTicks,
      desiredStartTicks: body.window.latestTicks,
      weight: body.weight,
      closesAtTicks: body.deadline,
    };
    this.calls.set(body.callId, { call, node: body.activity as ActivityNode });
    if (!live) return;
    const answer = bidFor(this.bidderState(), call, this.ports.clock.now());
    if (answer.kind === "refuse")
      this.send("refuse", { callId: body.callId, reason: answer.reason });
    else {
      const { resourceId: _, ...bid } = answer.bid;
      this.send("bid", bid);
    }
  }

  /**
   * Contract net, award: the work is ours at our bid. The award is on the journal (as the command
   * that carried it) before we take the work into our schedule and acknowledge it.
   */
  private onAward(body: Wire<"award">, live: boolean): void {
    const known = this.calls.get(body.callId);
    if (!known || this.holding) {
      if (live)
        this.send("reject", {
          ref: body.callId,
          reason: known ? "holding its work (out of contact)" : `no call ${body.callId} heard`,
        });
      return;
    }
    this.ports.resource.learn(known.node);
    this.assignments = [
      ...this.assignments.filter((a) => a.activityId !== body.activityId),
      {
        activityId: body.activityId,
        resourceId: this.identity.resourceId,
        window: {
          earliestTicks: known.call.earliestTicks,
          latestTicks: known.call.desiredStartTicks,
        },
        durationTicks: body.durationTicks,
      },
    ];
    if (!live) return; // the schedule that followed is on the journal
    this.slots = scheduleWithAward(
      this.bidderState(),
      known.call,
      body.before,
      this.ports.clock.now(),
    );
    this.ports.journal.append({
      t: "schedule",
      version: this.version,
      slots: this.slots.map(toWire),
    });
    this.send("accept", { ref: body.callId, scheduleVersion: this.version });
    this.propose(this.slots);
    this.armTimers();
    this.tryStartNext();
  }

  private fixedSlots(): Slot[] {
    const out: Slot[] = [];
    for (const [activityId, f] of this.finished) {
      const s = this.slots.find((x) => x.activityId === activityId);
      // Where it really ran when known (a completion records its start), not where it was planned.
      const start = f.startTicks ?? s?.startTicks ?? f.atTicks;
      out.push({ activityId, startTicks: start, durationTicks: f.atTicks - start });
    }
    for (const [activityId, r] of this.started)
      out.push({ activityId, startTicks: r.atTicks, durationTicks: r.durationTicks });
    return out;
  }

  private propose(slots: readonly Slot[]): void {
    this.send("propose", { scheduleVersion: this.version, slots: slots.map(toWire) });
  }

  // ---- execution ------------------------------------------------------------------------------

  private armTimers(): void {
    for (const t of this.timers.values()) this.ports.clock.cancel(t);
    this.timers.clear();
    for (const slot of this.slots) {
      if (this.finished.has(slot.activityId) || this.started.has(slot.activityId)) continue;
      this.timers.set(
        slot.activityId,
        this.ports.clock.at(slot.startTicks, () => {
          this.timers.delete(slot.activityId);
          this.tryStartNext();
          this.afterWork();
        }),
      );
    }
  }

  private resumeExecution(): void {
    for (const [activityId, run] of this.started) {
      this.running = activityId;
      this.ports.resource.resume(activityId, run.atTicks);
    }
    this.armTimers();
    this.tryStartNext();
  }

  /**
   * Starts the next activity of the sequence when its time has come, the resource is free and
   * working, and its enablers are done — local ones here, remote ones as the planner forwards
   * their completion (CSC §3.1.4 window sliding: it waits past its planned start if it must).
   */
  private tryStartNext(): void {
    if (this.running || this.stopped) return;
    // Checked here too: after a pause, overdue start timers may run before the watchdog.
    const leaseMs = this.ports.leaseMs;
    if (leaseMs !== undefined && !this.holding && this.outOfContactMs(Date.now()) > leaseMs)
      this.hold();
    if (this.holding) return;
    const now = this.ports.clock.now();
    const next = this.slots.find(
      (s) => !this.finished.has(s.activityId) && !this.started.has(s.activityId),
    );
    if (!next || next.startTicks > now) return;
    const down =
      this.unavailable.find((u) => u.fromTicks <= now && now < u.untilTicks) ??
      this.ports.resource.brokenAt(now);
    if (down) {
      this.retryAt(down.untilTicks);
      return;
    }
    if (!this.enabled(next.activityId)) return;
    const durationTicks =
      this.ports.resource.realizedDuration(next.activityId) ?? next.durationTicks;
    this.ports.journal.append({
      t: "start",
      activityId: next.activityId,
      atTicks: now,
      durationTicks,
    });
    this.started.set(next.activityId, { atTicks: now, durationTicks });
    this.running = next.activityId;
    this.ports.resource.start(next.activityId);
  }

  private retryTimer: { at: Ticks; handle: TimerHandle } | undefined;

  /** One pending retry of `tryStartNext`, at the earliest time asked for. */
  private retryAt(time: Ticks): void {
    if (this.retryTimer && this.retryTimer.at <= time) return;
    if (this.retryTimer) this.ports.clock.cancel(this.retryTimer.handle);
    const handle = this.ports.clock.at(time, () => {
      this.retryTimer = undefined;
      this.tryStartNext();
      this.afterWork();
    });
    this.retryTimer = { at: time, handle };
  }

  private enabled(activityId: string): boolean {
    if (!this.view) return true;
    const targets = new Set([activityId, ...ancestorsInView(this.view, activityId)]);
    for (const link of this.view.links) {
      if (!targets.has(link.to)) continue;
      const local = this.view.own.includes(link.from);
      // A predecessor this agent could run may have been placed elsewhere (contract net).
      const done = this.remoteDone.has(link.from) || (local && this.finished.has(link.from));
      if (!done) return false;
    }
    return true;
  }

  private onEnvironment(event: EnvironmentEvent): void {
    if (this.stopped) return;
    switch (event.kind) {
      case "started":
        break;
      case "completed": {
        const planned = this.slots.find((s) => s.activityId === event.activityId);
        const run = this.started.get(event.activityId);
        this.ports.journal.append({
          t: "complete",
          activityId: event.activityId,
          atTicks: event.atTicks,
          quality: event.quality,
        });
        this.finished.set(event.activityId, {
          atTicks: event.atTicks,
          quality: event.quality,
          ...startOf(run),
        });
        this.started.delete(event.activityId);
        this.failures.delete(event.activityId);
        this.running = undefined;
        this.send("inform", {
          event: "completed",
          activityId: event.activityId,
          atTicks: event.atTicks,
          ...(run ? { startTicks: run.atTicks } : {}),
          quality: event.quality,
          scheduleVersion: this.version,
        });
        // An overrun (or a late start) pushes what follows: repair locally, escalate the rest.
        const plannedEnd = planned ? planned.startTicks + planned.durationTicks : event.atTicks;
        if (run && event.atTicks > plannedEnd)
          this.repair(
            { kind: "overrun", activityId: event.activityId, newEndTicks: event.atTicks },
            "overrun",
          );
        break;
      }
      case "failed": {
        this.ports.journal.append({
          t: "fail",
          activityId: event.activityId,
          atTicks: event.atTicks,
          reason: event.reason,
        });
        this.started.delete(event.activityId);
        if (this.running === event.activityId) this.running = undefined;
        const attempts = this.countFailure(event.activityId);
        if (attempts !== undefined) this.escalateFailures(event.activityId, attempts, event.reason);
        // The activity stays in the sequence and runs again (the restart model), from the next
        // tick at the earliest: retrying within the tick could loop on a start that fails at once.
        this.retryAt(this.ports.clock.now() + 1);
        this.afterWork();
        return;
      }
      case "unavailable": {
        this.unavailable.push({ fromTicks: event.fromTicks, untilTicks: event.untilTicks });
        this.repair(
          { kind: "unavailable", fromTicks: event.fromTicks, untilTicks: event.untilTicks },
          "breakdown",
        );
        break;
      }
      case "changed":
        break; // model changes reach agents as new assignments from the planner
    }
    this.tryStartNext();
    this.afterWork();
  }

  /**
   * Counts a failed run of `activityId`; returns the count when it reaches the bound (and resets
   * it: the next runs get a bound of their own), undefined below it.
   */
  private countFailure(activityId: string): number | undefined {
    const n = (this.failures.get(activityId) ?? 0) + 1;
    if (n < (this.ports.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
      this.failures.set(activityId, n);
      return undefined;
    }
    this.failures.delete(activityId);
    return n;
  }

  /**
   * A device that failed the same activity `attempts` times in a row is not retried alone: its
   * resource counts as broken down for the activity's planned length, and the coordinator hears
   * it (`failure`, cause breakdown), so it can move the activity to another machine or later.
   * The agent starts nothing on the resource meanwhile, then tries again under the schedule in
   * force.
   */
  private escalateFailures(activityId: string, attempts: number, reason: string): void {
    const now = this.ports.clock.now();
    const slot = this.slots.find((s) => s.activityId === activityId);
    const untilTicks = now + Math.max(1, slot?.durationTicks ?? 1);
    this.unavailable.push({ fromTicks: now, untilTicks });
    this.ports.logger.warn({ activityId, attempts, reason }, "device failures escalated");
    this.send("failure", {
      cause: "breakdown",
      activityIds: [activityId],
      fromTicks: now,
      untilTicks,
      scheduleVersion: this.version,
      detail: `${attempts} runs failed in a row, the last: ${reason}`.slice(0, 500),
    });
  }

  /** CAMPS: the agent repairs its own schedule first and escalates only what it cannot fix. */
  private repair(
    disruption:
      | { kind: "unavailable"; fromTicks: Ticks; untilTicks: Ticks }
      | { kind: "overrun"; activityId: string; newEndTicks: Ticks },
    cause: "breakdown" | "overrun",
  ): void {
    const result = repairLocally({
      slots: this.slots,
      assignments: this.assignments,
      nowTicks: this.ports.clock.now(),
      disruption,
      unavailable: this.unavailable.filter(
        (u) =>
          !(
            disruption.kind === "unavailable" &&
            u.fromTicks === disruption.fromTicks &&
            u.untilTicks === disruption.untilTicks
          ),
      ),
      fixed: [...this.finished.keys()],
      // What is planned before now but waits (an overrun ahead of it) moves on, and may escalate.
      started: [...this.started.keys()],
      // A schedule in force: its operations' successors on other agents count on its order.
      keepOrder: true,
    });
    this.slots = [...result.slots];
    this.unavailable = [...result.unavailable];
    this.ports.journal.append({
      t: "schedule",
      version: this.version,
      slots: this.slots.map(toWire),
    });
    this.armTimers();
    if (result.escalate.length > 0) {
      this.send("failure", {
        cause,
        activityIds: [...result.escalate],
        fromTicks:
          disruption.kind === "unavailable" ? disruption.fromTicks : this.ports.clock.now(),
        ...(disruption.kind === "unavailable" ? { untilTicks: disruption.untilTicks } : {}),
        scheduleVersion: this.version,
        detail: `${result.moved.length} moved locally, ${result.escalate.length} cannot meet their windows`,
      });
    } else if (result.moved.length > 0) {
      // Repaired alone: report the deviation (the new times), not "still on track".
      this.propose(this.slots);
    }
  }

  // ---- lock-step simulated time ---------------------------------------------------------------

  private onClock(body: Wire<"clock">): void {
    const sim = this.ports.lockstep;
    if (!sim || body.step < this.step) return;
    // The same step again: the clock master did not hear our idle report; say it again.
    if (body.step === this.step) {
      this.afterWork();
      return;
    }
    this.step = body.step;
    if (body.nowTicks > sim.now()) sim.advanceTo(body.nowTicks);
    else sim.advanceTo(sim.now());
    this.tryStartNext();
    this.afterWork();
  }

  /** After any work in a lock-step run: once the broker has everything, tell the clock master. */
  private afterWork(): void {
    const sim = this.ports.lockstep;
    if (!sim || this.step < 0) return;
    sim.advanceTo(sim.now()); // events due now (e.g. a start just made) are handled in this step
    const step = this.step;
    // Wait for what is in flight now (not for later idle reports, which would wait for this one).
    const inflight = [...this.pending];
    void Promise.all(inflight).then(async () => {
      // Device news awaited now (a start to confirm, an end to see) keeps the clock where it is.
      await this.ports.settle?.();
      if (this.stopped || step !== this.step) return;
      const next = sim.nextEventTime();
      this.send("idle", {
        atTicks: sim.now(),
        step,
        ...(next !== undefined ? { nextEventTicks: next } : {}),
        sent: this.sentCount,
        received: this.commands.size,
      });
    });
  }

  // ---- messages out ---------------------------------------------------------------------------

  private descriptor(status: "online" | "offline"): void {
    const message = makeMessage(
      "descriptor",
      this.identity.agentId,
      SchedulerAgent.descriptor(this.identity, status, this.epoch, this.coordinatorEpoch),
      {
        seq: this.seq++,
        at: Date.now(),
      },
    );
    const topic = topics.agentState(this.identity.site, this.identity.agentId);
    const record = { t: "out" as const, topic, message, retain: true };
    this.ports.journal.append(record);
    this.outbox.set(message.seq, record);
    this.track(this.publishRecorded(record));
  }

  /** The outbox: journal the message, then publish it; the PUBACK is journalled too. */
  private send<T extends MessageType>(type: T, body: Body<T>): void {
    const message = makeMessage(type, this.identity.agentId, body, {
      seq: this.seq++,
      at: Date.now(),
    }) as AnyMessage;
    const topic = topics.agentOut(this.identity.site, this.identity.agentId);
    const record = { t: "out" as const, topic, message };
    this.ports.journal.append(record);
    this.outbox.set(message.seq, record);
    if (COUNTED.has(type)) this.sentCount++;
    this.track(this.publishRecorded(record));
  }

  private async publishRecorded(record: Extract<JournalRecord, { t: "out" }>): Promise<void> {
    await this.ports.transport.publish(record.topic, record.message, {
      retain: record.retain ?? false,
    });
    if (this.stopped) return;
    this.ports.journal.append({ t: "acked", seq: record.message.seq });
    this.outbox.delete(record.message.seq);
  }

  private track(promise: Promise<void>): void {
    const p = promise.catch((error: unknown) =>
      this.ports.logger.error({ err: error }, "publish failed"),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** For tests and the fleet report. */
  snapshot() {
    return {
      version: this.version,
      epoch: this.epoch,
      slots: this.slots,
      finished: Object.fromEntries(this.finished),
      started: Object.fromEntries(this.started),
      refused: this.refusedCount,
      fenced: this.fencedCount,
    };
  }
}

const startOf = (run: { atTicks: Ticks } | undefined) => (run ? { startTicks: run.atTicks } : {});

function ancestorsInView(view: Wire<"assign">["view"], id: string): string[] {
  const parent = new Map<string, string>();
  for (const n of view.nodes)
    if (n.kind === "task") for (const c of n.children) parent.set(c, n.id);
  const out: string[] = [];
  for (let p = parent.get(id); p !== undefined; p = parent.get(p)) out.push(p);
  return out;
}
