import {
  type Assignment,
  activityPrecedences,
  applyAward,
  applyOrder,
  assignOperations,
  type Bid,
  type BidAnswer,
  type Clock,
  type ContractCall,
  contractCall,
  DEFAULT_CHURN_WEIGHT,
  downstreamPrice,
  emptyRepairsByLevel,
  finishWithSchedule,
  frozenSlots,
  gateCentralRepair,
  giveUpWaiting,
  indexModel,
  intakeOrder,
  type JobShopObjective,
  type LocalSchedule,
  type ModelIndex,
  monitorCompletion,
  negotiationAgents,
  nextRepairStep,
  operationsToReassign,
  pinHorizon,
  queuedLoad,
  type RepairLevel,
  type RepairLoopState,
  type RepairRequest,
  type RepairsByLevel,
  type ResourceInterval,
  type ResourceSlot,
  reassignTargets,
  receiveLocalSchedule,
  reoptimize,
  repairObjective,
  type Schedule,
  type ScheduleChurn,
  SimulatedClock,
  scheduleChurn,
  scheduleMetrics,
  selectWinner,
  slackLatestStarts,
  startedSlots,
  startRepairLoop,
  startRuntimeNegotiation,
  subjectiveView,
  type TaskModel,
  type Ticks,
  type TimerHandle,
} from "@consort/core";
import {
  type AnyMessage,
  type Body,
  fromWireSlot,
  type MessageType,
  parseTopic,
  topics,
  toWireConstraint,
  toWireNode,
} from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Logger } from "pino";
import { ClockMaster } from "./clock-master.js";
import {
  type CoordinatorJournal,
  type CoordinatorJournalRecord,
  compactJournal,
  nextEpoch,
} from "./journal.js";
import { Planners } from "./planners.js";

type WireSlot = Body<"install">["slots"][number];

export interface CoordinatorOptions {
  readonly site: string;
  readonly coordinatorId: string;
  readonly objective: JobShopObjective;
  readonly seed: number;
  /** Solver iterations of deliberative planning (the initial plan's quality gate, the loop's fallback). */
  readonly repairIterations: number;
  /**
   * Solver iterations of a repair after an escalation or a rush order, where the time to a
   * repaired schedule counts. Default: `repairIterations`.
   */
  readonly urgentRepairIterations?: number;
  /** Lock-step simulated time: the coordinator is the clock master. */
  readonly lockstep: boolean;
  /**
   * Lock-step, watched by a person (the dashboard): at least this many wall milliseconds per
   * simulated tick, at most 2 s per step. Decisions and outcomes are the same, only slower.
   */
  readonly paceMs?: number;
  /** The wall clock of a deployment (when not lock-step): node-schedule ticks shared with the agents. */
  readonly clock?: Clock;
  /** Re-solve centrally when that beats the negotiated plan by more than this fraction. Default 0.05. */
  readonly qualityGate?: number;
  /**
   * Where commitments (accepted orders, versions, installed schedules, completions) are written
   * before they are published or acknowledged; a coordinator started on the same journal resumes
   * from it, in a new session epoch. Without one, nothing survives the process.
   */
  readonly journal?: CoordinatorJournal;
  /** On start, a journal longer than this many records is rewritten compacted. Default 10,000. */
  readonly compactAbove?: number;
  /** One line for a person on what happened (orders taken or refused, work all done, resumed). */
  readonly notify?: (line: string) => void;
  /**
   * The leader's lease: its state (with its fencing epoch) is renewed on the coordinator-state
   * channel every third of it, and a standby takes over once it has heard nothing for longer.
   * Without it (simulated runs), the state is published once.
   */
  readonly leaseMs?: number;
  /**
   * On the wall clock: an agent offline (its last will) for longer than this has its unstarted
   * operations that have an alternative resource reassigned (problem adjustment). Off without it.
   */
  readonly agentLeaseMs?: number;
  /**
   * Lock-step: an agent lost (killed by the fleet's script) for this many simulated ticks has its
   * unstarted operations that have an alternative resource re-awarded, as `agentLeaseMs` does on
   * the wall clock. Off without it.
   */
  readonly agentLeaseTicks?: Ticks;
  /** The lowest epoch this session may use (a standby taking over: above the lease it saw). */
  readonly minEpoch?: number;
  /**
   * On the wall clock, how long an answer the coordinator waits on may take (default 5000 ms).
   * Past it: a negotiation goes on without the proposals still owed; an install not yet accepted
   * is sent again to those agents (three times at most, each wait twice the last), then left to
   * their reconciliation when they say they are online. Lock-step runs need none: the clock
   * master's quiet fleet says when no answer can come.
   */
  readonly replyTimeoutMs?: number;
  /**
   * Lock-step runs: after this long with nothing heard while agents still hold time back, the
   * current clock step is sent again (at most 3 times a step). Default 2000 ms.
   */
  readonly clockResendMs?: number;
  /**
   * Planner roles the manager balances jobs across (`planners.ts`). Default 1: the single
   * planner's negotiated plan, unchanged.
   */
  readonly planners?: number;
  /**
   * How work changes hands at run time (an agent offline past its lease, an agent that cannot
   * meet its windows, a rush order's operations): `contract-net` announces each operation to the
   * agents able to run it and awards the cheapest bid; `central` has the planner's deliberative
   * re-solve place it. Default `contract-net`.
   */
  readonly reassignment?: "contract-net" | "central";
  /**
   * Run-time repairs (breakdowns, overruns, rush orders): `distributed` (default) settles each at
   * the lowest level that works — the agent's own repair, negotiated repair (agents keep their
   * sequences, delays propagate), contract net — and re-solves centrally only when that beats the
   * distributed plan by more than `qualityGate` after the churn penalty; `central` re-solves
   * every repair centrally (the policy the distributed one is measured against).
   */
  readonly runtimeRepair?: "distributed" | "central";
  /** Contract net timing in ticks: bids are read for `bidTicks` (default 5); an award unacknowledged for `awardLeaseTicks` (default 10) lapses. */
  readonly contractNet?: { readonly bidTicks?: number; readonly awardLeaseTicks?: number };
  /** The central re-solve keeps operations starting within this many ticks of now. Default 3. */
  readonly frozenHorizonTicks?: number;
  /** Objective charged per operation a repair moves or resequences. Default 1. */
  readonly churnWeight?: number;
}

/** The default of `replyTimeoutMs`. */
export const DEFAULT_REPLY_TIMEOUT_MS = 5000;
/** Sends of an install, the first included, before the coordinator stops asking for its accept. */
const INSTALL_SENDS = 4;

/**
 * What the coordinator did or learnt, as it happens: the feed of the dashboard's read model, the
 * metrics and the operator's log. Listeners must not throw or call back into the coordinator.
 */
export type CoordinatorEvent =
  | {
      readonly kind: "agent";
      readonly agentId: string;
      readonly online: boolean;
      readonly epoch?: number;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "message";
      readonly direction: "in" | "out";
      readonly type: string;
      readonly bytes: number;
      readonly peer?: string;
    }
  | {
      readonly kind: "activity";
      readonly agentId: string;
      readonly event: "started" | "completed" | "aborted" | "repaired";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly startTicks?: Ticks;
    }
  | {
      readonly kind: "failure";
      readonly agentId: string;
      readonly cause: string;
      readonly activityIds: readonly string[];
      readonly fromTicks: Ticks;
      readonly untilTicks?: Ticks;
      readonly detail?: string;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "unavailable";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
      readonly reason: string;
    }
  | {
      readonly kind: "installed";
      readonly schedule: Schedule;
      readonly trigger: string;
      readonly strategy: string;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "repaired";
      readonly version: number;
      readonly trigger: string;
      readonly strategy: string;
      readonly latencyMs: number;
      readonly affectedAgents: number;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "local-repair";
      readonly agentId: string;
      readonly schedule: Schedule;
      readonly atTicks: Ticks;
    }
  | {
      readonly kind: "order";
      readonly orderId: string;
      readonly from: string;
      readonly jobs: number;
      readonly accepted: boolean;
      readonly reason?: string;
      readonly atTicks: Ticks;
    }
  | { readonly kind: "model"; readonly model: TaskModel }
  | { readonly kind: "rejected"; readonly agentId: string; readonly reason: string }
  | { readonly kind: "repair-failed"; readonly trigger: string; readonly error: string }
  | {
      readonly kind: "done";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly endTicks: Ticks;
      readonly quality: number;
    }
  | { readonly kind: "all-done"; readonly completed: number; readonly atTicks: Ticks };

/** What happened, for the fleet report. */
export interface CoordinatorRecord {
  readonly executed: Map<
    string,
    { resourceId: string; startTicks: Ticks; endTicks: Ticks; quality: number }
  >;
  readonly repairs: {
    atTicks: Ticks;
    trigger: string;
    strategy: string;
    version: number;
    latencyMs: number;
    affectedAgents: number;
  }[];
  readonly escalations: {
    atTicks: Ticks;
    agentId: string;
    cause: string;
    activityIds: readonly string[];
  }[];
  readonly localRepairs: { atTicks: Ticks; agentId: string }[];
  readonly offline: { atTicks: Ticks; agentId: string; online: boolean }[];
  readonly orders: { atTicks: Ticks; orderId: string; jobs: number }[];
  /** Orders refused, with the reason sent to their sender. */
  readonly refusedOrders: { atTicks: Ticks; orderId: string; reason: string }[];
  /** Run-time repairs past the agents' own: where each was settled and what it changed. */
  readonly runtimeRepairs: {
    atTicks: Ticks;
    trigger: string;
    level: Exclude<RepairLevel, "local">;
    churn: ScheduleChurn;
  }[];
  /** Contract-net calls: the operation, who won (absent: nobody), and how many bid. */
  readonly awards: {
    atTicks: Ticks;
    activityId: string;
    resourceId?: string;
    bids: number;
    invited: number;
  }[];
}

/** Where the run-time repairs of a record were settled (the agents' own repairs as `local`). */
export function repairsByLevel(record: CoordinatorRecord): RepairsByLevel {
  const out = emptyRepairsByLevel();
  out.local = record.localRepairs.length;
  for (const r of record.runtimeRepairs) out[r.level] += 1;
  return out;
}

/** One contract-net round under way: its calls one operation at a time, then a settling repair. */
interface Auction {
  readonly trigger: string;
  readonly startedMs: number;
  readonly atTicks: Ticks;
  readonly queue: string[];
  readonly excluded: readonly string[];
  /** The schedule in force when the disruption came (churn is measured from it). */
  readonly before: Schedule | undefined;
  readonly placed: { activityId: string; resourceId: string }[];
  readonly unplaced: string[];
  /** Called once every operation has been called for. */
  readonly done?: (placed: Auction["placed"], unplaced: readonly string[]) => void;
  open?:
    | {
        call: ContractCall;
        invited: Set<string>;
        answers: BidAnswer[];
        timer?: TimerHandle;
      }
    | undefined;
  award?: { bid: Bid; timer?: TimerHandle } | undefined;
}

/**
 * The coordinator: the CAMPS manager (orders -> jobs with release and due dates) and planner
 * (assignments with desirability windows, integration, the repair loop, installation), the
 * deliberative repair step, the execution monitor that forwards enabler completions, and in
 * simulated runs the clock master. Decisions are core functions; this class moves messages.
 */
export class Coordinator {
  private model: TaskModel;
  private index: ModelIndex;
  private seq = 0;
  private version = 0;
  private loop: RepairLoopState | undefined;
  private loopTrigger: { trigger: string; startedMs: number; atTicks: Ticks } | undefined;
  private installed: Schedule | undefined;
  private installing:
    | {
        version: number;
        awaiting: Set<string>;
        startedMs: number;
        trigger: string;
        strategy: string;
        atTicks: Ticks;
      }
    | undefined;
  private readonly viewSent = new Map<string, string>();
  /** The slack (window latest starts) each agent was last installed with, as a signature. */
  private readonly slackSent = new Map<string, string>();
  private readonly unavailable: ResourceInterval[] = [];
  private readonly cancelled = new Set<string>();
  readonly clockMaster = new ClockMaster();
  /** The coordinator's own timers (rush orders, scripted kills) in simulated runs. */
  readonly timers = new SimulatedClock(0);
  private readonly epochs = new Map<string, number>();
  /** The session epoch of each agent the fleet's script killed (`lost`), at the kill. */
  private readonly killedEpochs = new Map<string, number>();
  /** The id of each agent's last descriptor handled. */
  private readonly descriptorIds = new Map<string, string>();
  readonly record: CoordinatorRecord = {
    executed: new Map(),
    repairs: [],
    escalations: [],
    localRepairs: [],
    offline: [],
    orders: [],
    refusedOrders: [],
    runtimeRepairs: [],
    awards: [],
  };
  private auction: Auction | undefined;
  private callSeq = 0;
  /** The loop under way is a run-time negotiation (not the plan's): how it is settled. */
  private negotiating:
    | { level: "negotiated" | "contractNet"; before: Schedule | undefined; startVersion: number }
    | undefined;
  /** Agents asked in a negotiation: the next install goes to them even where their part is unchanged. */
  private readonly owedInstall = new Set<string>();
  /** Agents whose own repair fell short (a failure): the next negotiation asks them first. */
  private readonly reviseFirst = new Set<string>();
  /** Agents past their lease while another repair was under way: their work moves after it. */
  private readonly lostOwed = new Set<string>();
  /** Each agent's spells offline in lock-step, so a lease timer acts on its own spell only. */
  private readonly lostSpells = new Map<string, number>();
  /**
   * Agents sent a view ahead of an install, and its version: their proposal of that version
   * answers the view (it may be read after the install's accept), not a local repair.
   */
  private readonly viewEchoes = new Map<string, number>();
  /** Winners whose next proposal reports an award taken, not a local repair. */
  private readonly awardProposals = new Set<string>();
  private finishedResolve: (() => void) | undefined;
  readonly finished: Promise<void>;
  private done = false;
  private lastProgressMs = Date.now();
  /** This session's epoch: in every message's id, so no id repeats one of an earlier session. */
  private epoch = 1;
  /** The highest schedule version on the journal (commands never use one beyond it). */
  private journalledVersion = 0;
  private acceptedOrders: ReadonlySet<string> = new Set<string>();
  /** A repair owed once the negotiation under way has installed its schedule (an order came). */
  private pendingRepair: string | undefined;
  /** What the journal held when this session began. */
  private resumedFrom: { orders: number; installed: boolean; done: number } | undefined;

  constructor(
    model: TaskModel,
    private readonly transport: MqttTransport,
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.model = model;
    this.index = mustIndex(model);
    this.finished = new Promise((resolve) => {
      this.finishedResolve = resolve;
    });
    if ((options.planners ?? 1) > 1) {
      const planners = new Planners(options.planners ?? 1);
      this.planners = planners;
      this.onEvent((e) => {
        // An order's jobs get a planner, journalled before the order is answered.
        if (e.kind === "model" && planners.onModel(mustIndex(e.model), this.nowTicks))
          this.commit(planners.journalRecord());
      });
    }
  }

  /** The planner roles, with more than one planner. */
  readonly planners: Planners | undefined;

  private readonly listeners: ((event: CoordinatorEvent) => void)[] = [];

  /** Calls `listener` on every event from now on; returns the function that stops it. */
  onEvent(listener: (event: CoordinatorEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private emit(event: CoordinatorEvent): void {
    for (const l of this.listeners) l(event);
  }

  /**
   * An order from an operator outside MQTT (the dashboard), taken exactly like one from the
   * orders topic: journalled before it is acknowledged, then scheduled by a repair.
   */
  submitOrder(body: Body<"order">, from: string): void {
    const message = makeMessage("order", from, body, {
      seq: this.seq++,
      epoch: this.epoch,
      at: Date.now(),
    }) as Extract<AnyMessage, { type: "order" }>;
    this.onReport(message);
    this.maybeAdvance();
  }

  /**
   * An operator marks a resource down over [from, until): journalled like a reported breakdown,
   * and a deliberative repair moves its work around the interval.
   */
  markDown(resourceId: string, fromTicks: Ticks, untilTicks: Ticks, reason: string): void {
    if (!this.index.resourceIds.has(resourceId)) throw new Error(`${resourceId} is not a resource`);
    const interval = { resourceId, fromTicks, untilTicks };
    this.commit({ t: "unavailable", ...interval });
    this.unavailable.push(interval);
    this.emit({ kind: "unavailable", ...interval, reason });
    // An operator's decision: the planner re-solves around it at once.
    if (this.planned) this.deliberativeRepair(`${reason} on ${resourceId}`);
  }

  get currentModel(): TaskModel {
    return this.model;
  }

  get schedule(): Schedule | undefined {
    return this.installed;
  }

  get nowTicks(): Ticks {
    if (this.options.lockstep || !this.options.clock) return this.clockMaster.nowTicks;
    return Math.max(0, this.options.clock.now());
  }

  /**
   * Resumes from the journal (if any), opens a new session epoch, then listens. Messages queued
   * by the broker while the coordinator was away (a persistent session) meet the resumed state.
   */
  async start(backlog: readonly [AnyMessage, string, number][] = []): Promise<void> {
    const journal = this.options.journal;
    this.epoch = Math.max(this.epoch, this.options.minEpoch ?? 0);
    if (journal) {
      this.replay(journal.records);
      this.epoch = Math.max(nextEpoch(journal.records), this.options.minEpoch ?? 0);
      // A long-lived coordinator's journal would grow without end: start from its state instead.
      if (journal.records.length > (this.options.compactAbove ?? 10_000))
        journal.rewrite(compactJournal(journal.records));
      journal.append({ t: "epoch", epoch: this.epoch });
    }
    this.transport.onMessage((message, topic, bytes, retained) =>
      this.onMessage(message, topic, bytes, retained),
    );
    // What a standby heard while the leader was silent: reports the frozen leader never handled.
    for (const [message, topic, bytes] of backlog) this.onMessage(message, topic, bytes);
    const { site } = this.options;
    // The lease channel first: its retained state (an earlier leader's epoch) is heard early.
    await this.transport.subscribe(topics.coordinatorState(site));
    await this.transport.subscribe(topics.filters.allAgentStates(site));
    await this.transport.subscribe(topics.filters.allAgentOut(site));
    await this.transport.subscribe(topics.orders(site));
    // After a reconnection to a resumed session (a broker restarted over Redis), the agents'
    // retained descriptors come again only on a new SUBSCRIBE: without them, an agent that came
    // online meanwhile would stay unknown. Repeats of descriptors already seen are skipped.
    this.transport.onReconnect((sessionPresent) => {
      if (sessionPresent && !this.stepped)
        this.transport
          .subscribe(topics.filters.allAgentStates(site), { again: true })
          .catch((error: Error) => {
            this.logger.warn({ error: error.message }, "could not subscribe again to agent states");
          });
    });
    await this.publishLease();
    const leaseMs = this.options.leaseMs;
    if (leaseMs !== undefined) {
      this.renewedAtMs = Date.now();
      this.renewal = setInterval(() => this.renew(leaseMs), Math.max(50, Math.floor(leaseMs / 3)));
    }
  }

  private renewal: ReturnType<typeof setInterval> | undefined;
  private renewedAtMs = 0;
  private stepped: string | undefined;
  private steppedResolve: ((reason: string) => void) | undefined;
  /** Resolves with the reason once this coordinator has stepped down (a newer leader). */
  readonly steppedDown: Promise<string> = new Promise((resolve) => {
    this.steppedResolve = resolve;
  });

  private publishLease(): Promise<number> {
    return this.publish(
      topics.coordinatorState(this.options.site),
      "coordinator-state",
      {
        coordinatorId: this.options.coordinatorId,
        status: "online",
        epoch: this.epoch,
        ...(this.options.leaseMs !== undefined ? { leaseMs: this.options.leaseMs } : {}),
      },
      { retain: true },
    );
  }

  /**
   * Renews the lease; but a renewal due long ago means this process was not running (paused,
   * swapped out) and may have been replaced: it skips one renewal, so that a newer leader's state
   * (queued for it) is heard before it claims the channel again. Agents fence off whatever it
   * sends meanwhile.
   */
  private renew(leaseMs: number): void {
    if (this.stepped) return;
    const now = Date.now();
    const overdue = now - this.renewedAtMs > leaseMs;
    this.renewedAtMs = now;
    if (overdue) {
      this.logger.warn({ leaseMs }, "lease renewal overdue: checking for a newer leader first");
      return;
    }
    void this.publishLease();
  }

  /** Stops commanding for good: a coordinator with a higher epoch leads now. */
  stepDown(reason: string): void {
    if (this.stepped) return;
    this.stepped = reason;
    this.clearReplyTimers();
    clearTimeout(this.unrenewed?.timer);
    this.unrenewed = undefined;
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = undefined;
    this.options.notify?.(`stepped down: ${reason}`);
    this.steppedResolve?.(reason);
  }

  /**
   * A simulated kill -9 (the fleet's coordinator crashes): this instance stops dead. It publishes,
   * journals and decides nothing more and its timers are dropped; whatever it held in memory
   * (replies owed, reports not yet handled) dies with it. The caller drops its connection.
   */
  halt(): void {
    this.stepped ??= "halted";
    this.stopLease();
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
  }

  /** Stops renewing the lease (the process is stopping). */
  stopLease(): void {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = undefined;
    clearTimeout(this.unrenewed?.timer);
    this.unrenewed = undefined;
    for (const t of this.agentLeases.values()) clearTimeout(t);
    this.agentLeases.clear();
    this.clearReplyTimers();
  }

  private replyTimer: ReturnType<typeof setTimeout> | undefined;
  private installTimer: ReturnType<typeof setTimeout> | undefined;

  private clearReplyTimers(): void {
    clearTimeout(this.replyTimer);
    clearTimeout(this.installTimer);
    this.replyTimer = undefined;
    this.installTimer = undefined;
  }

  /** The wall-clock wait for an answer; undefined in lock-step runs (see `replyTimeoutMs`). */
  private get replyTimeoutMs(): number | undefined {
    return this.options.lockstep
      ? undefined
      : (this.options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS);
  }

  /**
   * A negotiation waits on proposals: past the timeout it goes on without those still owed (an
   * agent offline, its answer lost or refused as stale), as the repair loop provides.
   */
  private armReplyTimeout(): void {
    const timeoutMs = this.replyTimeoutMs;
    if (timeoutMs === undefined) return;
    clearTimeout(this.replyTimer);
    this.replyTimer = setTimeout(() => {
      this.replyTimer = undefined;
      const loop = this.loop;
      if (!loop || loop.final || loop.awaiting.length === 0 || this.stepped) return;
      this.logger.warn(
        { awaiting: loop.awaiting, timeoutMs },
        "no proposal within the reply timeout: negotiating without it",
      );
      this.options.notify?.(
        `no proposal from ${loop.awaiting.join(", ")} within ${timeoutMs} ms: negotiating without it`,
      );
      this.loop = giveUpWaiting(loop);
      this.drive();
    }, timeoutMs);
    this.replyTimer.unref?.();
  }

  /**
   * An install waits on each affected agent's accept: past the timeout those still silent get it
   * again (same version, their part as it stands), with the wait doubled; after the last send an
   * agent that never accepted gets the schedule in force when it says it is online (reconcile).
   */
  private armInstallTimeout(version: number, sends: number, waitMs: number): void {
    clearTimeout(this.installTimer);
    this.installTimer = setTimeout(() => {
      this.installTimer = undefined;
      const inst = this.installing;
      if (!inst || inst.version !== version || inst.awaiting.size === 0 || this.stepped) return;
      if (this.done) return;
      const silent = [...inst.awaiting];
      if (sends >= INSTALL_SENDS) {
        this.logger.warn(
          { version, agents: silent, sends },
          "install not accepted: left to the agents' reconciliation when they are back",
        );
        this.options.notify?.(
          `schedule version ${version} not accepted by ${silent.join(", ")} after ${sends} sends: they get it when they say they are online`,
        );
        return;
      }
      this.logger.warn(
        { version, agents: silent, waitedMs: waitMs },
        "install not accepted within the reply timeout: sending it again",
      );
      for (const agentId of silent) this.sendInstall(agentId);
      this.armInstallTimeout(version, sends + 1, waitMs * 2);
    }, waitMs);
    this.installTimer.unref?.();
  }

  /** The agent's part of the schedule in force, as an install. */
  private sendInstall(agentId: string): void {
    if (!this.installed) return;
    const mine = this.installed.resources.find((r) => r.resourceId === agentId);
    this.sendTo(agentId, "install", {
      scheduleVersion: this.installed.version,
      slots: (mine?.activities ?? []).map((a) => ({
        activityId: a.activityId,
        startTicks: a.startTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
    });
  }

  private onCoordinatorState(message: AnyMessage, retained: boolean): void {
    if (message.type !== "coordinator-state") return;
    const body = message.body;
    // A gone leader's epoch (its last will, or its clean stop), perhaps of an earlier deployment
    // whose journal is lost: even an equal one, as its command ids would repeat that leader's.
    if (body.status === "offline" && body.epoch >= this.epoch) {
      this.learnEpoch(body.epoch, `the last state of ${body.coordinatorId}`);
      return;
    }
    // Its own state comes back too; a leader and its standby may share a user, not an epoch.
    if (body.epoch === this.epoch) return;
    // Retained, before leading: a live leader's lease, or the last word of one long gone?
    if (body.status === "online" && body.epoch > this.epoch && retained && !this.planned)
      this.awaitRenewal(body.epoch, body.coordinatorId, body.leaseMs);
    else if (body.status === "online" && body.epoch > this.epoch)
      this.stepDown(`${body.coordinatorId} leads in epoch ${body.epoch} (this one: ${this.epoch})`);
    else if (body.epoch < this.epoch && !this.stepped)
      // A replaced leader's late renewal or last will overwrote the retained state: claim it back.
      void this.publishLease();
  }

  /**
   * Before it first commands, a coordinator that learns of a higher epoch still in force on the
   * site (a wiped journal, a new machine) moves above it, journalled before it is used: agents
   * would otherwise fence off everything it sends. Once it has commanded, its epoch stays: only
   * a newer leader (stepDown) changes who leads, so a replaced leader never wins again.
   */
  private learnEpoch(seen: number, from: string): void {
    if (this.planned || this.stepped || seen < this.epoch) return;
    const epoch = seen + 1;
    this.options.journal?.append({ t: "epoch", epoch });
    this.logger.warn(
      { epoch, was: this.epoch, seen },
      `epoch ${seen} is still remembered by ${from}: leading in epoch ${epoch}`,
    );
    this.epoch = epoch;
    void this.publishLease();
  }

  /** A retained lease of a higher epoch heard before leading, not yet seen renewed. */
  private unrenewed: { epoch: number; timer: ReturnType<typeof setTimeout> } | undefined;

  /**
   * A live leader renews its lease within it (then this one steps down); a leader that is gone
   * (stopped cleanly, or its will lost) does not, and this one leads above its epoch.
   */
  private awaitRenewal(epoch: number, holder: string, leaseMs: number | undefined): void {
    if (this.unrenewed && this.unrenewed.epoch >= epoch) return;
    clearTimeout(this.unrenewed?.timer);
    const waitMs = (leaseMs ?? this.options.leaseMs ?? 3000) + 1000;
    const timer = setTimeout(() => {
      this.unrenewed = undefined;
      this.learnEpoch(epoch, `the lease of ${holder}, not renewed for ${waitMs} ms`);
    }, waitMs);
    this.unrenewed = { epoch, timer };
  }

  /** The session epoch in force (1 without a journal). */
  get sessionEpoch(): number {
    return this.epoch;
  }

  /** What a resumed session found on its journal; undefined on a first start. */
  get resumed(): { orders: number; installed: boolean; done: number } | undefined {
    return this.resumedFrom;
  }

  /**
   * After a restart, when a schedule was installed: re-solves from now (what is done and what
   * has surely started stay frozen) and installs the result on every agent, under a new version.
   * The journalled schedule may never have reached the agents (the process died between its
   * journal line and the publish), and its start times have slipped while it was down.
   * Returns false when there is nothing to resume (plan from scratch).
   */
  resume(): boolean {
    if (!this.installed) return false;
    this.planned = true;
    this.deliberativeRepair("resumed from the journal", true);
    this.checkFinished();
    return true;
  }

  /**
   * A standby that took over: re-installs the journalled schedule unchanged, under a new version,
   * on every agent (each learns the new epoch; its slots do not move). Returns false when there
   * is nothing to resume (plan from scratch).
   */
  takeOver(): boolean {
    if (!this.installed) return false;
    this.planned = true;
    const now = this.nowTicks;
    this.install(this.installed, "took over", "journalled schedule", Date.now(), now, true);
    this.checkFinished();
    return true;
  }

  /**
   * Lock-step, after a crash (a new session on the journal of the one that died): back at the
   * journalled time, one step on, so that every agent reports the counts of the sessions before
   * (commands to an agent wait until it has). Once the agents online have, the reports queued
   * for it while it was away are handled, then the journalled schedule is re-installed unchanged
   * under a new version (as a standby's takeover): no slot moves. Returns false when the journal
   * holds no schedule (plan from scratch).
   */
  resumeLockstep(): boolean {
    if (!this.options.lockstep || !this.installed) return false;
    this.planned = true;
    // Killed at a step boundary (the fleet quiet: every command sent had been received), each
    // agent holds the view of the journalled model. A kill between an install's journal line and
    // its delivery would need the views sent again (an assign, which the agent answers).
    for (const r of this.index.resourceIds)
      this.viewSent.set(r, subjectiveView(this.index, r).own.join(","));
    this.takeOverOwed = true;
    const body = this.clockMaster.resync();
    this.commit({ t: "clock", nowTicks: body.nowTicks, step: body.step });
    this.lastAdvanceMs = Date.now();
    this.publishClock(body);
    return true;
  }
  private takeOverOwed = false;

  private replay(records: readonly CoordinatorJournalRecord[]): void {
    if (records.length === 0) return;
    let model = this.model;
    const accepted = new Set(this.acceptedOrders);
    let clock: { nowTicks: Ticks; step: number } | undefined;
    let planners: Extract<CoordinatorJournalRecord, { t: "planners" }> | undefined;
    for (const r of records) {
      switch (r.t) {
        case "epoch":
          break; // the next session's epoch follows the last (nextEpoch)
        case "order": {
          model = applyOrder(model, r.delta) ?? model;
          accepted.add(r.delta.orderId);
          this.record.orders.push({
            atTicks: r.atTicks,
            orderId: r.delta.orderId,
            jobs: r.delta.jobIds.length,
          });
          break;
        }
        case "model":
          model = r.model;
          break;
        case "version":
          this.version = Math.max(this.version, r.version);
          this.journalledVersion = Math.max(this.journalledVersion, r.version);
          break;
        case "installed":
          this.version = Math.max(this.version, r.version);
          this.journalledVersion = Math.max(this.journalledVersion, r.version);
          this.installed = { version: r.version, resources: r.resources };
          break;
        case "done":
          this.record.executed.set(r.activityId, {
            resourceId: r.resourceId,
            startTicks: r.startTicks,
            endTicks: r.endTicks,
            quality: r.quality,
          });
          break;
        case "unavailable":
          this.unavailable.push({
            resourceId: r.resourceId,
            fromTicks: r.fromTicks,
            untilTicks: r.untilTicks,
          });
          break;
        case "clock":
          clock = r;
          break;
        case "planners":
          planners = r;
          break;
        default:
          assertNever(r);
      }
    }
    this.model = model;
    this.index = mustIndex(model);
    this.acceptedOrders = accepted;
    if (clock && this.options.lockstep) {
      this.clockMaster.restore(clock.step, clock.nowTicks);
      this.timers.advanceTo(clock.nowTicks);
    }
    if (planners) this.planners?.restore(this.index, planners, this.nowTicks);
    this.resumedFrom = {
      orders: this.acceptedOrders.size,
      installed: this.installed !== undefined,
      done: this.record.executed.size,
    };
  }

  /**
   * Appends a commitment before anything is sent on its strength. A journal another coordinator
   * has written to since (a standby that took over on the shared file) fences this one off.
   */
  private commit(record: CoordinatorJournalRecord): boolean {
    const journal = this.options.journal;
    if (this.stepped) return false;
    if (!journal) return true;
    if (journal.writtenByOthers?.()) {
      this.stepDown("another coordinator has written to the journal");
      return false;
    }
    journal.append(record);
    return true;
  }

  /** Resolves once these agents have announced themselves online, or this one has stepped down. */
  async waitForAgents(agentIds: readonly string[], timeoutMs: number): Promise<void> {
    const started = Date.now();
    // Also until a retained lease of a higher epoch is known to be live or gone: the epoch to
    // lead in depends on it.
    while (agentIds.some((a) => !this.clockMaster.isOnline(a)) || this.unrenewed) {
      // Stepped down (a newer leader, or its journal taken over): it hears no descriptor any
      // more, and waiting would only end in a false "not online" after the whole timeout.
      if (this.stepped) return;
      if (Date.now() - started > timeoutMs) {
        const missing = agentIds.filter((a) => !this.clockMaster.isOnline(a));
        throw new Error(`agents not online after ${timeoutMs} ms: ${missing.join(", ")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Marks an agent as expected (a restart in progress): time waits for its first idle report. */
  expect(agentId: string): void {
    this.clockMaster.setOnline(agentId, true);
    // Back in a new session it holds its unstarted work (some may have been re-awarded meanwhile)
    // until it has the schedule in force: sent on its first idle report, so time waits for it.
    if (this.options.lockstep) this.reconcileOwed.add(agentId);
  }
  private readonly reconcileOwed = new Set<string>();

  /** Marks an agent gone at once (e.g. killed by the fleet's script), before its will arrives. */
  lost(agentId: string): void {
    // Its last will says nothing new, and it may come late, after `expect` for its successor.
    const epoch = this.epochs.get(agentId);
    if (epoch !== undefined) this.killedEpochs.set(agentId, epoch);
    this.clockMaster.setOnline(agentId, false);
    this.record.offline.push({ atTicks: this.nowTicks, agentId, online: false });
    const leaseTicks = this.options.lockstep ? this.options.agentLeaseTicks : undefined;
    if (leaseTicks === undefined) return;
    const spell = (this.lostSpells.get(agentId) ?? 0) + 1;
    this.lostSpells.set(agentId, spell);
    this.timers.at(this.nowTicks + leaseTicks, () => {
      if (this.lostSpells.get(agentId) !== spell || this.clockMaster.isOnline(agentId)) return;
      if (!this.stepped) this.reassignLost(agentId);
    });
  }

  /** Plans from scratch: assignments, local schedules, the repair loop, installation. */
  private planned = false;

  plan(trigger = "initial plan"): void {
    this.planned = true;
    this.watchClock();
    if (this.options.lockstep && this.clockMaster.step === 0)
      this.publishClock({ nowTicks: 0, step: 0 });
    const now = this.nowTicks;
    if (this.planners && this.planAcrossPlanners(this.planners, trigger, now)) return;
    const done = new Set(this.record.executed.keys());
    const activityIds = this.index.activities
      .filter((a) => !done.has(a.id) && !this.cancelled.has(a.id))
      .map((a) => a.id);
    const assignments = assignOperations(this.index, { nowTicks: now, activityIds });
    this.version += 1;
    this.loop = startRepairLoop({
      model: this.model,
      assignments,
      version: this.version,
      unavailable: this.unavailable.filter((u) => u.untilTicks > now),
    });
    this.loopTrigger = { trigger, startedMs: Date.now(), atTicks: now };
    const byResource = groupBy(assignments, (a) => a.resourceId);
    for (const [resourceId, mine] of byResource) this.sendAssign(resourceId, mine, this.version);
    this.drive();
  }

  /** The planners plan their jobs in turn; false (and logged) if they could not. */
  private planAcrossPlanners(planners: Planners, trigger: string, now: Ticks): boolean {
    const started = Date.now();
    const planned = planners.plan(this.index, {
      nowTicks: now,
      objective: this.options.objective,
      seed: this.options.seed,
      maxIterations: this.options.repairIterations,
      unavailable: this.unavailable.filter((u) => u.untilTicks > now),
      frozen: this.frozenSlots(now),
      cancelled: [...this.cancelled],
      version: this.version + 1,
    });
    if (!planned.ok) {
      this.logger.error({ reason: planned.reason }, "planners could not plan; one planner plans");
      return false;
    }
    this.commit(planners.journalRecord());
    this.install(planned.schedule, trigger, `${planners.ids.length} planners`, started, now);
    return true;
  }

  /**
   * Several planners, at run time: each repairs in its cell what the lower levels left later;
   * what it cannot, problem adjustment (core `repairAcrossPlanners`). A moved job's new planner
   * is journalled before the schedule is installed.
   */
  private repairAcrossPlanners(
    trigger: string,
    input: { before: Schedule; schedule: Schedule },
    level: "negotiated" | "contractNet",
    context: { frozen: ResourceSlot[]; unavailable: ResourceInterval[]; cancelled: string[] },
  ): { schedule: Schedule; level: Exclude<RepairLevel, "local"> } {
    const planners = this.planners;
    if (!planners) return { schedule: input.schedule, level };
    const r = planners.repair(
      this.index,
      input,
      {
        nowTicks: this.nowTicks,
        objective: this.options.objective,
        seed: this.options.seed,
        maxIterations: this.options.urgentRepairIterations ?? this.options.repairIterations,
        ...context,
        version: this.version + 1,
      },
      trigger,
    );
    if (r.changed) this.commit(planners.journalRecord());
    return { schedule: r.schedule, level: r.adjusted ? "problemAdjustment" : level };
  }

  // ---- messages in ----------------------------------------------------------------------------

  private onMessage(message: AnyMessage, topic: string, bytes: number, retained = false): void {
    const where = parseTopic(topic);
    // Only this site's channels: a persistent session on a broker that served another site (its
    // subscriptions and queue kept in Redis) still delivers that site's reports and leases.
    if (!where || where.site !== this.options.site || this.stepped) return;
    if (where.kind === "coordinator-state") {
      this.onCoordinatorState(message, retained);
      return;
    }
    this.lastProgressMs = Date.now();
    if (where.kind === "agent-out" || where.kind === "agent-state")
      this.traffic(message.from).add(0, 0, 1, bytes);
    this.emit({ kind: "message", direction: "in", type: message.type, bytes, peer: message.from });
    if (where.kind === "agent-state" && message.type === "descriptor") {
      // A retained copy of the descriptor already handled (a subscription made again) is no news.
      if (retained && this.descriptorIds.get(message.from) === message.id) return;
      this.descriptorIds.set(message.from, message.id);
      this.onDescriptor(message.body, retained);
    } else if (where.kind === "agent-out") {
      if (message.type !== "idle") this.clockMaster.countReceived(message.from);
      this.onReport(message);
    } else if (where.kind === "orders" && message.type === "order") {
      this.ordersInFlight = Math.max(0, this.ordersInFlight - 1);
      this.onReport(message);
    }
    this.maybeAdvance();
  }

  private onDescriptor(body: Body<"descriptor">, retained = false): void {
    // A higher epoch is always news. An equal one only when retained from before this session
    // subscribed (an earlier deployment's, whose command ids this one's would repeat): an agent
    // saying it now holds the epoch this session announced is the agent following it.
    const seen = body.coordinatorEpoch;
    if (seen !== undefined && (seen > this.epoch || (seen === this.epoch && retained)))
      this.learnEpoch(seen, `agent ${body.agentId}`);
    const known = this.epochs.get(body.agentId);
    const online = body.status === "online";
    // A last will can arrive after its agent already came back (DESIGN.md hazard): an "offline"
    // from an older session epoch is stale. An "online" always counts, and sets the epoch.
    if (!online && known !== undefined && body.epoch < known) return;
    const killed = this.killedEpochs.get(body.agentId);
    if (!online && killed !== undefined && body.epoch <= killed) return;
    this.epochs.set(body.agentId, body.epoch);
    const was = this.clockMaster.isOnline(body.agentId);
    this.clockMaster.setOnline(body.agentId, online);
    if (was !== online && known !== undefined)
      this.record.offline.push({ atTicks: this.nowTicks, agentId: body.agentId, online });
    this.emit({
      kind: "agent",
      agentId: body.agentId,
      online,
      epoch: body.epoch,
      atTicks: this.nowTicks,
    });
    if (this.options.lockstep || this.options.agentLeaseMs === undefined) return;
    if (!online && was) this.armAgentLease(body.agentId, this.options.agentLeaseMs);
    // Back after a spell offline, or holding its work after a pause: the schedule in force.
    if (online && known !== undefined) this.reconcile(body.agentId);
  }

  private readonly agentLeases = new Map<string, ReturnType<typeof setTimeout>>();

  /** The wall-clock wait before a silent agent's work moves: the timeout, then the next step. */
  private armAgentLease(agentId: string, leaseMs: number): void {
    clearTimeout(this.agentLeases.get(agentId));
    const timer = setTimeout(() => {
      this.agentLeases.delete(agentId);
      if (!this.clockMaster.isOnline(agentId) && !this.stepped) this.reassignLost(agentId);
    }, leaseMs);
    timer.unref();
    this.agentLeases.set(agentId, timer);
  }

  /**
   * An agent offline past its lease: its unstarted operations with an alternative resource move
   * (the resource is closed from the end of what it may still be running, then a deliberative
   * re-solve places them). What may have started stays with it.
   */
  private reassignLost(agentId: string): void {
    if (!this.installed || this.done) return;
    if (this.auction || this.loop) {
      this.lostOwed.add(agentId);
      return;
    }
    const now = this.nowTicks;
    const { reassign, keep } = operationsToReassign(
      this.index,
      this.installed,
      this.record.executed,
      agentId,
      now,
    );
    if (reassign.length === 0) {
      this.options.notify?.(
        `${agentId} offline past its lease: nothing to reassign (${keep.length} operations may have started or have no alternative)`,
      );
      return;
    }
    if ((this.options.reassignment ?? "contract-net") === "contract-net") {
      this.startAuction(`${agentId} offline past its lease`, reassign, [agentId], (placed, left) =>
        this.options.notify?.(
          `${agentId} offline past its lease: ${placed.length} unstarted operations reassigned (${placed.map((p) => `${p.activityId} -> ${p.resourceId}`).join(", ")}) by contract net${left.length > 0 ? `; ${left.length} left to the central re-solve (${left.join(", ")})` : ""}`,
        ),
      );
      return;
    }
    const targets = reassignTargets(this.index, this.installed, reassign, agentId);
    this.options.notify?.(
      `${agentId} offline past its lease: ${reassign.length} unstarted operations reassigned (${reassign.map((id) => `${id} -> ${targets[id]}`).join(", ")})`,
    );
    this.deliberativeRepair(`${agentId} offline past its lease`, false, targets);
    for (const [id, to] of Object.entries(targets)) this.forwardEnablers(id, to);
  }

  /** Completions already forwarded to an operation's old owner are owed to its new one. */
  private forwardEnablers(activityId: string, to: string): void {
    const { predecessors } = activityPrecedences(this.index);
    for (const p of predecessors.get(activityId) ?? []) {
      const done = this.record.executed.get(p);
      if (!done || done.resourceId === to) continue;
      this.sendTo(to, "inform", {
        event: "completed",
        activityId: p,
        atTicks: done.endTicks,
        startTicks: done.startTicks,
        quality: done.quality,
        scheduleVersion: this.version,
      });
    }
  }

  /**
   * An agent back after a spell offline: it gets its part of the schedule in force, which ends
   * any hold on its unstarted work (what was reassigned is no longer in it).
   */
  private reconcile(agentId: string): void {
    clearTimeout(this.agentLeases.get(agentId));
    this.agentLeases.delete(agentId);
    if (!this.installed) return;
    this.sendInstall(agentId);
    // The completions it waits on, again: a forward lost while it was away (a broker restart
    // loses what it held in memory) would leave it waiting for an enabler for ever.
    const mine = this.installed.resources.find((r) => r.resourceId === agentId);
    const { predecessors } = activityPrecedences(this.index);
    const sent = new Set<string>();
    for (const a of mine?.activities ?? []) {
      if (this.record.executed.has(a.activityId)) continue;
      for (const p of predecessors.get(a.activityId) ?? []) {
        const done = this.record.executed.get(p);
        if (!done || done.resourceId === agentId || sent.has(p)) continue;
        sent.add(p);
        this.sendTo(agentId, "inform", {
          event: "completed",
          activityId: p,
          atTicks: done.endTicks,
          startTicks: done.startTicks,
          quality: done.quality,
          scheduleVersion: this.installed.version,
        });
      }
    }
  }

  /**
   * Reports that drive decisions wait in the inbox until the fleet is quiet, then are handled in
   * a fixed order (sender, sequence), so a seed gives the same decisions whatever order the
   * broker delivered them in. Bookkeeping (idle, accept) is handled at once.
   */
  private readonly inbox: AnyMessage[] = [];

  private onReport(message: AnyMessage): void {
    if (
      message.type === "propose" ||
      message.type === "inform" ||
      message.type === "failure" ||
      message.type === "order"
    ) {
      this.inbox.push(message);
      if (!this.options.lockstep) this.processInbox();
      return;
    }
    this.handleReport(message);
  }

  private processInbox(): void {
    // Orders of a higher priority are dated (queued behind less work) before the others.
    const rank = (m: AnyMessage) => (m.type === "order" ? -(m.body.priority ?? 0) : 1);
    const batch = this.inbox
      .splice(0)
      .sort(
        (a, b) => rank(a) - rank(b) || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.seq - b.seq),
      );
    for (const message of batch) {
      if (message.type === "order") this.onOrder(message);
      else this.handleReport(message);
    }
  }

  private handleReport(message: AnyMessage): void {
    switch (message.type) {
      case "idle":
        if (this.clockMaster.onIdle(message.from, message.body, message.seq)) {
          const held = this.held.get(message.from) ?? [];
          this.held.delete(message.from);
          for (const deliver of held) deliver();
        }
        if (this.reconcileOwed.delete(message.from)) this.reconcile(message.from);
        return;
      case "propose":
        this.onPropose(message.from, message.body);
        return;
      case "accept":
        this.onAccept(message.from, message.body);
        return;
      case "reject":
        if (this.auction?.award && message.body.ref === this.auction.award.bid.callId) {
          if (message.from === this.auction.award.bid.resourceId) this.lapseAward();
          return;
        }
        this.emit({ kind: "rejected", agentId: message.from, reason: message.body.reason });
        this.logger.warn(
          { agent: message.from, reason: message.body.reason },
          "agent rejected a command",
        );
        return;
      case "inform":
        this.onInform(message.from, message.body);
        return;
      case "failure":
        this.onFailure(message.from, message.body);
        return;
      case "bid":
        this.onBidAnswer(message.from, {
          kind: "bid",
          bid: { ...message.body, resourceId: message.from },
        });
        return;
      case "refuse":
        this.onBidAnswer(message.from, {
          kind: "refuse",
          callId: message.body.callId,
          reason: message.body.reason,
        });
        return;
      case "descriptor":
      case "coordinator-state":
      case "assign":
      case "constrain":
      case "install":
      case "cfp":
      case "award":
      case "profile":
      case "order":
      case "order-reply":
      case "plan":
      case "clock":
      case "csc-setup":
      case "csc-tick":
      case "csc-peer":
      case "csc-step":
        return; // the topic catalogue keeps these off agents' report topics; C-TAEMS runs have their own clock master
      default:
        assertNever(message);
    }
  }

  private onPropose(agentId: string, body: Body<"propose">): void {
    const proposal: LocalSchedule = {
      resourceId: agentId,
      version: body.scheduleVersion,
      slots: body.slots.map(fromWireSlot),
    };
    if (this.loop && !this.loop.final) {
      const { state, verdict } = receiveLocalSchedule(this.loop, proposal);
      this.loop = state;
      if (verdict.kind !== "accepted") this.logger.debug({ agentId, verdict }, "proposal dropped");
      this.drive();
      return;
    }
    // Outside a negotiation a proposal reports a local repair (a deviation): note the new times.
    if (this.installed && body.scheduleVersion === this.installed.version) {
      // The answer to the view sent ahead of an install: the install, not it, is in force.
      const echo = this.viewEchoes.get(agentId);
      this.viewEchoes.delete(agentId);
      if (echo === body.scheduleVersion) return;
      if (!this.awardProposals.delete(agentId)) {
        this.record.localRepairs.push({ atTicks: this.nowTicks, agentId });
        this.logger.debug(
          { agentId, version: body.scheduleVersion, slots: body.slots.length },
          "local repair reported",
        );
      }
      const repaired: Schedule = {
        ...this.installed,
        resources: this.installed.resources.map((r) =>
          r.resourceId === agentId
            ? {
                resourceId: r.resourceId,
                activities: body.slots.map((s) => ({
                  activityId: s.activityId,
                  startTicks: s.startTicks ?? 0,
                  durationTicks: s.durationTicks ?? 0,
                })),
              }
            : r,
        ),
      };
      // The schedule in force now: a restarted coordinator re-installs it as it is.
      this.commit({ t: "installed", version: repaired.version, resources: journalOf(repaired) });
      this.installed = repaired;
      this.emit({
        kind: "local-repair",
        agentId,
        schedule: this.installed,
        atTicks: this.nowTicks,
      });
    }
  }

  private onAccept(agentId: string, body: Body<"accept">): void {
    const award = this.auction?.award;
    if (award && body.ref === award.bid.callId) {
      if (agentId === award.bid.resourceId) this.confirmAward();
      return;
    }
    const inst = this.installing;
    if (!inst || body.scheduleVersion !== inst.version) return;
    inst.awaiting.delete(agentId);
    if (inst.awaiting.size === 0) {
      const latencyMs = Date.now() - inst.startedMs;
      this.record.repairs.push({
        atTicks: inst.atTicks,
        trigger: inst.trigger,
        strategy: inst.strategy,
        version: inst.version,
        latencyMs,
        affectedAgents: this.affected,
      });
      this.installing = undefined;
      this.emit({
        kind: "repaired",
        version: inst.version,
        trigger: inst.trigger,
        strategy: inst.strategy,
        latencyMs,
        affectedAgents: this.affected,
        atTicks: inst.atTicks,
      });
      this.logger.info(
        { version: inst.version, latencyMs, trigger: inst.trigger },
        "schedule installed on every affected agent",
      );
    }
  }
  private affected = 0;

  private onInform(agentId: string, body: Body<"inform">): void {
    this.emit({
      kind: "activity",
      agentId,
      event: body.event,
      activityId: body.activityId,
      atTicks: body.atTicks,
      ...(body.startTicks !== undefined ? { startTicks: body.startTicks } : {}),
    });
    if (body.event !== "completed") return;
    const commands = monitorCompletion(
      {
        index: this.index,
        installed: this.installed,
        executed: this.record.executed,
        cancelled: this.cancelled,
      },
      {
        agentId,
        activityId: body.activityId,
        atTicks: body.atTicks,
        ...(body.startTicks !== undefined ? { startTicks: body.startTicks } : {}),
        ...(body.quality !== undefined ? { quality: body.quality } : {}),
      },
    );
    for (const command of commands) {
      switch (command.kind) {
        case "record":
          // Not journalled (a newer leader holds the journal): not ours to record or act on.
          if (!this.commit({ t: "done", activityId: command.activityId, ...command.completion }))
            return;
          this.record.executed.set(command.activityId, command.completion);
          this.emit({ kind: "done", activityId: command.activityId, ...command.completion });
          break;
        case "forward":
          // CSC §3.1.4 window sliding across agents: the owner of an enabled activity learns it.
          this.sendTo(command.to, "inform", { ...body });
          break;
        case "all-done":
          this.checkFinished();
          break;
        default:
          assertNever(command);
      }
    }
  }

  private onFailure(agentId: string, body: Body<"failure">): void {
    this.emit({
      kind: "failure",
      agentId,
      cause: body.cause,
      activityIds: body.activityIds,
      fromTicks: body.fromTicks,
      ...(body.untilTicks !== undefined ? { untilTicks: body.untilTicks } : {}),
      ...(body.detail !== undefined ? { detail: body.detail } : {}),
      atTicks: this.nowTicks,
    });
    this.record.escalations.push({
      atTicks: this.nowTicks,
      agentId,
      cause: body.cause,
      activityIds: body.activityIds,
    });
    if (body.untilTicks !== undefined) {
      const interval = {
        resourceId: agentId,
        fromTicks: body.fromTicks,
        untilTicks: body.untilTicks,
      };
      this.commit({ t: "unavailable", ...interval });
      this.unavailable.push(interval);
      this.emit({ kind: "unavailable", ...interval, reason: body.cause });
    }
    // An agent that cannot meet its windows sells what another agent could run (contract net).
    const mine = new Set(
      this.installed?.resources
        .find((r) => r.resourceId === agentId)
        ?.activities.map((a) => a.activityId) ?? [],
    );
    const now = this.nowTicks;
    const started = new Set(this.frozenSlots(now).map((f) => f.activityId));
    // Work the seller may start before the award reaches it stays with it (no run twice): only
    // what is planned beyond a call and an award's lease is offered.
    const horizon =
      now +
      (this.options.contractNet?.bidTicks ?? DEFAULT_BID_TICKS) +
      (this.options.contractNet?.awardLeaseTicks ?? DEFAULT_AWARD_LEASE_TICKS);
    const plannedStart = new Map(
      this.installed?.resources
        .find((r) => r.resourceId === agentId)
        ?.activities.map((a) => [a.activityId, a.startTicks ?? 0]) ?? [],
    );
    const sell = body.activityIds.filter(
      (id) =>
        mine.has(id) &&
        !started.has(id) &&
        (plannedStart.get(id) ?? 0) > horizon &&
        (this.index.nodes.get(id) as { resources?: string[] } | undefined)?.resources?.some(
          (r) => r !== agentId,
        ),
    );
    this.reviseFirst.add(agentId);
    this.runtimeRepair(`${body.cause} on ${agentId}`, sell, [agentId]);
  }

  /**
   * Manager: an order's jobs join the model with release and due dates set from the load, its
   * priority weighing on them. The order is journalled before its sender hears "accepted", and a
   * repair schedules it; a refused order changes nothing and its sender hears why.
   */
  private onOrder(message: Extract<AnyMessage, { type: "order" }>): void {
    const body = message.body;
    const now = this.nowTicks;
    const step = intakeOrder(
      { model: this.model, index: this.index, accepted: this.acceptedOrders },
      {
        from: message.from,
        messageId: message.id,
        order: body,
        load: queuedLoad(this.installed, this.record.executed),
      },
      now,
    );
    this.model = step.state.model;
    this.index = step.state.index;
    this.acceptedOrders = step.state.accepted;
    for (const command of step.commands) {
      switch (command.kind) {
        case "journal":
          this.commit({
            t: "order",
            from: command.from,
            atTicks: command.atTicks,
            delta: command.delta,
          });
          this.record.orders.push({ atTicks: now, orderId: body.orderId, jobs: body.jobs.length });
          this.done = false;
          this.emit({ kind: "model", model: this.model });
          this.emit({
            kind: "order",
            orderId: body.orderId,
            from: message.from,
            jobs: body.jobs.length,
            accepted: true,
            atTicks: now,
          });
          this.options.notify?.(
            `order ${body.orderId} from ${message.from} accepted: ${body.jobs.length} jobs, ${command.delta.nodes.length - body.jobs.length} operations`,
          );
          break;
        case "reply": {
          const { kind: _, to, corr, ...reply } = command;
          if (!reply.accepted && reply.reason !== undefined) {
            this.record.refusedOrders.push({
              atTicks: now,
              orderId: body.orderId,
              reason: reply.reason,
            });
            this.logger.warn({ order: body.orderId, reason: reply.reason }, "order refused");
            this.emit({
              kind: "order",
              orderId: body.orderId,
              from: message.from,
              jobs: body.jobs.length,
              accepted: false,
              reason: reply.reason,
              atTicks: now,
            });
            this.options.notify?.(`order ${body.orderId} from ${to} refused: ${reply.reason}`);
          }
          void this.publish(topics.orderReplies(this.options.site, to), "order-reply", reply, {
            corr,
          });
          break;
        }
        case "repair":
          // Before the first plan, the plan will include the order; during a negotiation, after it.
          if (!this.planned) break;
          if (this.loop) this.pendingRepair = command.trigger;
          else this.runtimeRepair(command.trigger);
          break;
        default:
          assertNever(command);
      }
    }
  }

  // ---- planning and repair --------------------------------------------------------------------

  /** Runs the repair loop until it waits for answers or is done. */
  private drive(): void {
    this.driveSteps();
    // Answers owed (requests just sent, or still awaited): the wait has a timeout.
    if (this.loop && !this.loop.final && this.loop.awaiting.length > 0) this.armReplyTimeout();
  }

  private driveSteps(): void {
    for (let guard = 0; guard < 1000 && this.loop; guard++) {
      const { state, step } = nextRepairStep(this.loop, { nowTicks: this.nowTicks });
      this.loop = state;
      switch (step.kind) {
        case "wait":
          return;
        case "intra-agent":
        case "inter-agent":
          for (const r of step.requests) this.sendRequest(r);
          if (step.requests.length > 0) return;
          continue;
        case "problem-adjustment":
          this.commit({ t: "model", model: step.model });
          this.model = step.model;
          this.index = mustIndex(step.model);
          this.emit({ kind: "model", model: step.model });
          for (const r of step.requests) this.sendRequest(r);
          if (step.requests.length > 0) return;
          continue;
        case "deliberative": {
          if (this.negotiating) {
            this.endNegotiation(undefined, step.reason);
            return;
          }
          const solved = reoptimize(mustIndex(step.model), {
            nowTicks: this.nowTicks,
            frozen: step.frozen,
            unavailable: step.unavailable,
            resourceOf: step.resourceOf,
            cancelled: step.cancelled,
            objective: this.options.objective,
            seed: this.options.seed,
            maxIterations: this.options.repairIterations,
            version: this.version,
          });
          if (!solved.ok) {
            this.logger.error({ error: solved.error }, "deliberative repair failed");
            this.loop = undefined;
            return;
          }
          const finished = finishWithSchedule(this.loop, solved.value.schedule);
          this.loop = finished.state;
          continue;
        }
        case "done": {
          if (this.negotiating) {
            this.endNegotiation(
              step.schedule,
              step.partial ? "settled on the forecast of the agents' last plans" : "settled",
            );
            return;
          }
          const trigger = this.loopTrigger;
          this.loop = undefined;
          const better = step.deliberative ? undefined : this.qualityGate(step.schedule);
          this.install(
            better ?? step.schedule,
            trigger?.trigger ?? "plan",
            step.deliberative
              ? "deliberative"
              : better
                ? "negotiated, then deliberative (quality gate)"
                : "negotiated",
            trigger?.startedMs ?? Date.now(),
            trigger?.atTicks ?? this.nowTicks,
          );
          this.afterRepair();
          return;
        }
      }
    }
  }

  /**
   * The deliberative step's quality gate: the negotiated schedule is kept unless a central
   * re-solve of the same problem is better by more than `qualityGate` (a fraction), since the
   * agents' local heuristics can settle far from a good plan on dense shops.
   */
  private qualityGate(negotiated: Schedule): Schedule | undefined {
    const now = this.nowTicks;
    const solved = reoptimize(this.index, {
      nowTicks: now,
      frozen: this.frozenSlots(now),
      unavailable: this.unavailable.filter((u) => u.untilTicks > now),
      cancelled: [...this.cancelled],
      objective: this.options.objective,
      seed: this.options.seed,
      maxIterations: this.options.repairIterations,
      version: this.version + 1,
    });
    if (!solved.ok || solved.value.violations.length > 0) return undefined;
    const value = (s: Schedule) => {
      const m = scheduleMetrics(this.index, s);
      return this.options.objective === "makespan"
        ? m.makespanTicks
        : m.totalWeightedTardiness + m.makespanTicks / 1000;
    };
    const mine = value(negotiated);
    const central = value(solved.value.schedule);
    return central < mine * (1 - (this.options.qualityGate ?? 0.05))
      ? solved.value.schedule
      : undefined;
  }

  /** Deliberative repair (CAMPS problem adjustment by central re-solve) after an escalation. */
  private deliberativeRepair(
    trigger: string,
    toEveryAgent = false,
    /** Activities moved to another resource (a lost agent's), and where. */
    moved: Readonly<Record<string, string>> = {},
  ): void {
    if (this.auction) {
      this.pendingRepair = trigger;
      return;
    }
    const started = Date.now();
    const now = this.nowTicks;
    const before = this.installed;
    // What moves to another resource cannot have started (operationsToReassign): not frozen.
    const frozen = this.frozenSlots(now).filter((f) => moved[f.activityId] === undefined);
    const resourceOf: Record<string, string> = {};
    if (this.installed)
      for (const r of this.installed.resources)
        for (const a of r.activities)
          resourceOf[a.activityId] = moved[a.activityId] ?? r.resourceId;
    const solved = reoptimize(this.index, {
      nowTicks: now,
      frozen,
      unavailable: this.unavailable.filter((u) => u.untilTicks > now),
      resourceOf,
      cancelled: [...this.cancelled],
      objective: this.options.objective,
      seed: this.options.seed,
      maxIterations: this.options.urgentRepairIterations ?? this.options.repairIterations,
      version: this.version + 1,
    });
    if (!solved.ok) {
      this.emit({ kind: "repair-failed", trigger, error: String(solved.error) });
      this.logger.error(
        { error: solved.error, trigger },
        "deliberative repair failed; keeping the current schedule",
      );
      return;
    }
    if (!toEveryAgent) this.recordRepair(trigger, "central", before, solved.value.schedule, now);
    this.install(solved.value.schedule, trigger, "deliberative", started, now, toEveryAgent);
  }

  // ---- distributed repair first, contract net -------------------------------------------------

  /**
   * A run-time repair past the agent's own (issue 15): with `runtimeRepair: central`, a central
   * re-solve; otherwise work to place or sell (`sell`, and operations not in the schedule in
   * force, such as a rush order's) goes to contract net first, then negotiated repair settles
   * the times, and the central re-solve replaces it only through the churn-charged gate.
   */
  private runtimeRepair(
    trigger: string,
    sell: readonly string[] = [],
    excluded: readonly string[] = [],
  ): void {
    if ((this.options.runtimeRepair ?? "distributed") === "central" || !this.installed) {
      this.deliberativeRepair(trigger);
      return;
    }
    if (this.auction || this.loop) {
      this.pendingRepair = trigger;
      return;
    }
    const scheduled = new Set(
      this.installed.resources.flatMap((r) => r.activities.map((a) => a.activityId)),
    );
    const unplaced = this.index.activities
      .map((a) => a.id)
      .filter(
        (id) => !scheduled.has(id) && !this.record.executed.has(id) && !this.cancelled.has(id),
      );
    if ((this.options.reassignment ?? "contract-net") === "central") {
      // Work to place goes to the central re-solve; the rest settles distributed first.
      if (unplaced.length > 0) this.deliberativeRepair(trigger);
      else this.settle(trigger, "negotiated", this.installed, Date.now(), this.nowTicks);
      return;
    }
    const toPlace = [...inPrecedenceOrder(this.index, unplaced), ...sell];
    if (toPlace.length > 0) {
      this.startAuction(trigger, toPlace, excluded);
      return;
    }
    this.settle(trigger, "negotiated", this.installed, Date.now(), this.nowTicks);
  }

  /** Announces `activityIds` one at a time (each call sees the awards before it). */
  private startAuction(
    trigger: string,
    activityIds: readonly string[],
    excluded: readonly string[],
    done?: Auction["done"],
  ): void {
    this.auction = {
      trigger,
      startedMs: Date.now(),
      atTicks: this.nowTicks,
      queue: [...activityIds],
      excluded,
      before: this.installed,
      placed: [],
      unplaced: [],
      ...(done ? { done } : {}),
    };
    this.nextCall();
  }

  private nextCall(): void {
    const a = this.auction;
    if (!a) return;
    const now = this.nowTicks;
    const bidTicks = this.options.contractNet?.bidTicks ?? DEFAULT_BID_TICKS;
    while (a.queue.length > 0) {
      const activityId = a.queue.shift()!;
      if (this.record.executed.has(activityId) || this.cancelled.has(activityId)) continue;
      const call = contractCall(
        this.index,
        this.installed ?? { version: this.version, resources: [] },
        this.record.executed,
        activityId,
        {
          callId: `cn${this.epoch}.${++this.callSeq}`,
          excluded: a.excluded,
          nowTicks: now,
          closesAtTicks: now + bidTicks,
        },
      );
      const node = this.index.nodes.get(activityId);
      const invited = new Set((call?.capable ?? []).filter((r) => this.clockMaster.isOnline(r)));
      if (!call || !node || invited.size === 0) {
        a.unplaced.push(activityId);
        this.record.awards.push({ atTicks: now, activityId, bids: 0, invited: 0 });
        continue;
      }
      a.open = { call, invited, answers: [] };
      for (const agentId of invited)
        this.sendTo(agentId, "cfp", {
          callId: call.callId,
          activity: toWireNode(node),
          window: { earliestTicks: call.earliestTicks, latestTicks: call.desiredStartTicks },
          durationTicks: call.durationTicks,
          weight: call.weight,
          deadline: call.closesAtTicks,
          scheduleVersion: this.version,
        });
      // On the wall clock the call closes at its deadline; lock-step closes it once all is quiet.
      if (!this.options.lockstep)
        a.open.timer = this.later(call.closesAtTicks, () => this.closeCall(call.callId));
      return;
    }
    this.finishAuction();
  }

  private onBidAnswer(agentId: string, answer: BidAnswer): void {
    const open = this.auction?.open;
    const callId = answer.kind === "bid" ? answer.bid.callId : answer.callId;
    if (!open || open.call.callId !== callId || !open.invited.has(agentId)) return;
    if (open.answers.some((x) => (x.kind === "bid" ? x.bid.resourceId : "") === agentId)) return;
    open.answers.push(answer);
    if (open.answers.length >= open.invited.size) this.closeCall(callId);
  }

  /**
   * Closes the open call: the cheapest bid is awarded (journalled first: the schedule in force
   * with the operation on the winner), the others rejected.
   */
  private closeCall(callId: string): void {
    const a = this.auction;
    const open = a?.open;
    if (!a || !open || open.call.callId !== callId) return;
    this.cancelLater(open.timer);
    a.open = undefined;
    const bids = open.answers.filter((x) => x.kind === "bid").length;
    // Between several bids, the planner's price counts the tardiness each causes downstream.
    const now = this.nowTicks;
    const outcome = selectWinner(
      open.call,
      open.answers,
      bids > 1 && this.installed
        ? (bid) =>
            downstreamPrice(this.index, this.installed!, bid, {
              nowTicks: now,
              frozen: this.frozenSlots(now),
              unavailable: this.unavailable.filter((u) => u.untilTicks > now),
              cancelled: [...this.cancelled],
              objective: this.options.objective,
            })
        : undefined,
    );
    if (outcome.kind === "unawarded") {
      this.logger.info({ call: callId, reason: outcome.reason }, "contract net: not awarded");
      a.unplaced.push(open.call.activityId);
      this.record.awards.push({
        atTicks: this.nowTicks,
        activityId: open.call.activityId,
        bids,
        invited: open.invited.size,
      });
      this.nextCall();
      return;
    }
    const winner = outcome.winner;
    this.record.awards.push({
      atTicks: this.nowTicks,
      activityId: winner.activityId,
      resourceId: winner.resourceId,
      bids,
      invited: open.invited.size,
    });
    const moved = applyAward(this.installed ?? { version: this.version, resources: [] }, winner);
    this.commit({ t: "installed", version: this.version, resources: journalledResources(moved) });
    this.installed = { ...moved, version: this.version };
    const leaseTicks = this.options.contractNet?.awardLeaseTicks ?? DEFAULT_AWARD_LEASE_TICKS;
    a.award = { bid: winner };
    this.sendTo(winner.resourceId, "award", {
      callId,
      activityId: winner.activityId,
      startTicks: winner.startTicks,
      durationTicks: winner.durationTicks,
      ...(winner.before !== undefined ? { before: winner.before } : {}),
      leaseTicks,
      scheduleVersion: this.version,
    });
    for (const loser of outcome.losers)
      this.sendTo(loser.resourceId, "reject", {
        ref: callId,
        reason: `awarded to ${winner.resourceId} at cost ${winner.cost.total.toFixed(2)}`,
      });
    if (!this.options.lockstep)
      a.award.timer = this.later(this.nowTicks + leaseTicks, () => {
        if (this.auction?.award?.bid.callId === callId) this.lapseAward();
      });
  }

  /**
   * A wall-clock timer at `ticks` on the deployment's clock; without one (tests), after a second
   * per tick from now, so a call or an award never waits for ever.
   */
  private later(ticks: Ticks, fn: () => void): TimerHandle {
    // Never sooner than a second of wall time: short ticks on a loaded machine must not close a
    // call before its answers can arrive (the callbacks check that their call is still open).
    const startedMs = Date.now();
    const run = () => {
      const waitMs = startedMs + MIN_CONTRACT_WAIT_MS - Date.now();
      if (waitMs <= 0) fn();
      else setTimeout(fn, waitMs).unref?.();
    };
    const clock = this.options.clock;
    if (clock) return clock.at(ticks, run);
    const timer = setTimeout(run, Math.max(1, ticks - this.nowTicks) * 1000);
    timer.unref?.();
    return timer as unknown as TimerHandle;
  }

  private cancelLater(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    if (this.options.clock) this.options.clock.cancel(handle);
    else clearTimeout(handle as unknown as ReturnType<typeof setTimeout>);
  }

  /** The winner acknowledged its award (journalled on its side): the next call. */
  private confirmAward(): void {
    const a = this.auction;
    const award = a?.award;
    if (!a || !award) return;
    this.cancelLater(award.timer);
    a.award = undefined;
    a.placed.push({ activityId: award.bid.activityId, resourceId: award.bid.resourceId });
    this.awardProposals.add(award.bid.resourceId);
    this.forwardEnablers(award.bid.activityId, award.bid.resourceId);
    this.nextCall();
  }

  /** An award refused or not acknowledged in its lease: the operation goes to the next level. */
  private lapseAward(): void {
    const a = this.auction;
    const award = a?.award;
    if (!a || !award) return;
    this.cancelLater(award.timer);
    a.award = undefined;
    this.logger.warn({ call: award.bid.callId }, "contract net: award lapsed");
    a.unplaced.push(award.bid.activityId);
    this.nextCall();
  }

  private finishAuction(): void {
    const a = this.auction;
    if (!a) return;
    this.auction = undefined;
    a.done?.(a.placed, a.unplaced);
    const lost = a.excluded[0];
    if (a.unplaced.length > 0) {
      // Nobody took it: the planner's central re-solve places it.
      const targets =
        lost !== undefined
          ? reassignTargets(this.index, this.installed, a.unplaced, lost)
          : ({} as Record<string, string>);
      this.deliberativeRepair(a.trigger, false, targets);
      for (const [id, to] of Object.entries(targets)) this.forwardEnablers(id, to);
    } else this.settle(a.trigger, "contractNet", a.before, a.startedMs, a.atTicks);
    this.afterRepair();
  }

  /** Once no repair is under way: the repair owed (an order came), then work of agents lost meanwhile. */
  private afterRepair(): void {
    if (this.auction || this.loop) return;
    if (this.pendingRepair !== undefined) {
      const owed = this.pendingRepair;
      this.pendingRepair = undefined;
      this.runtimeRepair(owed);
    }
    for (const agentId of [...this.lostOwed].sort()) {
      if (this.auction || this.loop) return;
      this.lostOwed.delete(agentId);
      if (!this.clockMaster.isOnline(agentId)) this.reassignLost(agentId);
    }
  }

  /**
   * Settles a distributed repair by negotiation (CAMPS intra- and inter-agent constraint
   * adjustment on the schedule in force): the agents a delay binds get the earliest starts it
   * imposes, revise their own schedules and propose, round after round (`drive`, with the reply
   * timeout; lock-step goes on without answers that will not come). Settled, it passes the gate;
   * not settled within its rounds, the repair goes to the central re-solve.
   */
  private settle(
    trigger: string,
    level: "negotiated" | "contractNet",
    before: Schedule | undefined,
    startedMs: number,
    atTicks: Ticks,
  ): void {
    if (!this.installed) return;
    const now = this.nowTicks;
    this.negotiating = { level, before, startVersion: this.version };
    this.loopTrigger = { trigger, startedMs, atTicks };
    const started = startRuntimeNegotiation({
      model: this.model,
      schedule: this.installed,
      frozen: this.frozenSlots(now),
      done: new Set(this.record.executed.keys()),
      nowTicks: now,
      agents: this.clockMaster.onlineAgents,
      version: this.version,
      unavailable: this.unavailable.filter((u) => u.untilTicks > now),
      cancelled: [...this.cancelled],
      ask: [...this.reviseFirst],
    });
    this.reviseFirst.clear();
    this.loop = started.state;
    for (const r of started.requests) this.sendRequest(r);
    this.drive();
  }

  /** A run-time negotiation ended: `negotiated` if it settled, else the central level takes it. */
  private endNegotiation(negotiated: Schedule | undefined, why: string): void {
    const n = this.negotiating;
    const t = this.loopTrigger;
    if (!n || !t || !this.loop) return;
    for (const agentId of negotiationAgents(this.loop, n.startVersion))
      this.owedInstall.add(agentId);
    this.logger.debug({ trigger: t.trigger, log: this.loop.log }, "run-time negotiation ended");
    this.loop = undefined;
    this.loopTrigger = undefined;
    this.negotiating = undefined;
    // The gate weighs whole plans: one that left out work still owed would look cheaper.
    const missing = negotiated ? this.missingFrom(negotiated) : [];
    if (negotiated && missing.length === 0) {
      this.logger.debug({ trigger: t.trigger, why }, "run-time negotiation settled");
      this.gateAndInstall(negotiated, t.trigger, n.level, n.before, t.startedMs, t.atTicks);
    } else {
      if (missing.length > 0) why = `the agreed plan leaves out ${missing.slice(0, 5).join(", ")}`;
      this.logger.info(
        { trigger: t.trigger, why },
        "negotiated repair did not settle: central re-solve",
      );
      this.deliberativeRepair(t.trigger);
    }
    this.afterRepair();
  }

  /** Operations of the schedule in force, not done or cancelled, that `schedule` does not place. */
  private missingFrom(schedule: Schedule): string[] {
    const placed = new Set(
      schedule.resources.flatMap((r) => r.activities.map((a) => a.activityId)),
    );
    return (this.installed?.resources ?? [])
      .flatMap((r) => r.activities.map((a) => a.activityId))
      .filter((id) => !placed.has(id) && !this.record.executed.has(id) && !this.cancelled.has(id));
  }

  /**
   * The negotiated schedule stands unless the central re-solve — pinned over the frozen horizon —
   * is better by more than the quality gate once each plan's churn against the schedule before
   * the disruption is charged.
   */
  private gateAndInstall(
    agreed: Schedule,
    trigger: string,
    level: "negotiated" | "contractNet",
    before: Schedule | undefined,
    startedMs: number,
    atTicks: Ticks,
  ): void {
    if (!this.installed) return;
    const now = this.nowTicks;
    const frozen = this.frozenSlots(now);
    const unavailable = this.unavailable.filter((u) => u.untilTicks > now);
    const cancelled = [...this.cancelled];
    // Several planners: in-cell repair, then problem adjustment, before the central level.
    const { schedule: negotiated, level: reached } = this.repairAcrossPlanners(
      trigger,
      { before: before ?? this.installed, schedule: agreed },
      level,
      { frozen, unavailable, cancelled },
    );
    const resourceOf: Record<string, string> = {};
    for (const r of negotiated.resources)
      for (const x of r.activities) resourceOf[x.activityId] = r.resourceId;
    const solved = reoptimize(this.index, {
      nowTicks: now,
      // What started, as the agents' plans show it (the planner's guess may be stale).
      frozen: pinHorizon(
        this.index,
        negotiated,
        startedSlots(negotiated, now),
        now + (this.options.frozenHorizonTicks ?? 3),
      ),
      unavailable,
      resourceOf,
      cancelled,
      objective: this.options.objective,
      seed: this.options.seed,
      maxIterations: this.options.urgentRepairIterations ?? this.options.repairIterations,
      version: this.version + 1,
      // Warm: the solver improves the negotiated plan, charged for each operation it resequences.
      warmStart: negotiated,
      churnWeight: this.options.churnWeight ?? DEFAULT_CHURN_WEIGHT,
      // And from scratch, as the central-only policy would: the better, churn charged, is kept.
      coldIterations: this.options.urgentRepairIterations ?? this.options.repairIterations,
    });
    const done = new Set(this.record.executed.keys());
    const base = before ?? this.installed;
    const measure = (schedule: Schedule) => ({
      value: repairObjective(this.index, schedule, this.options.objective),
      churn: scheduleChurn(base, schedule, done),
    });
    const mine = measure(negotiated);
    let chosen: Schedule = negotiated;
    let settled: Exclude<RepairLevel, "local"> = reached;
    if (!solved.ok || solved.value.violations.length > 0)
      this.logger.debug(
        {
          trigger,
          why: solved.ok ? solved.value.violations.slice(0, 3) : solved.error,
        },
        "run-time quality gate: no central plan to weigh",
      );
    if (solved.ok && solved.value.violations.length === 0) {
      const central = measure(solved.value.schedule);
      const gate = gateCentralRepair({
        distributed: mine,
        central,
        threshold: this.options.qualityGate ?? 0.05,
        ...(this.options.churnWeight !== undefined
          ? { churnWeight: this.options.churnWeight }
          : {}),
      });
      this.logger.debug(
        {
          trigger,
          keep: gate.keep,
          distributed: { ...mine, cost: gate.distributed },
          central: { ...central, cost: gate.central },
        },
        "run-time quality gate",
      );
      if (gate.keep === "central") {
        chosen = solved.value.schedule;
        settled = "central";
      }
    }
    this.recordRepair(trigger, settled, base, chosen, atTicks);
    this.install(
      chosen,
      trigger,
      settled === "central" ? "deliberative (churn-charged gate)" : settled,
      startedMs,
      atTicks,
    );
  }

  private recordRepair(
    trigger: string,
    level: Exclude<RepairLevel, "local">,
    before: Schedule | undefined,
    after: Schedule,
    atTicks: Ticks,
  ): void {
    const churn = before
      ? scheduleChurn(before, after, new Set(this.record.executed.keys()))
      : { moved: 0, resequenced: 0, reassigned: 0 };
    this.record.runtimeRepairs.push({ atTicks, trigger, level, churn });
  }

  /** What a repair now must keep (core's execution monitor). */
  private frozenSlots(now: Ticks): ResourceSlot[] {
    return frozenSlots(this.index, this.installed, this.record.executed, this.unavailable, now);
  }

  private install(
    schedule: Schedule,
    trigger: string,
    strategy: string,
    startedMs: number,
    atTicks: Ticks,
    /** Send to every agent, not only to those whose part changed. */
    toEveryAgent = false,
  ): void {
    this.version = Math.max(this.version + 1, schedule.version);
    const version = this.version;
    const previous = this.installed;
    this.installed = { ...schedule, version };
    const journalled = journalOf(schedule);
    this.commit({ t: "installed", version, resources: journalled });
    this.journalledVersion = Math.max(this.journalledVersion, version);
    const awaiting = new Set<string>();
    // Each operation's slack (its window's latest start): a delay within it is its agent's to
    // repair alone. An agent whose slack changed gets the install too, so none is left too wide.
    const slack = slackLatestStarts(this.index, schedule);
    for (const r of schedule.resources) {
      const before = previous?.resources.find((p) => p.resourceId === r.resourceId);
      const windows = JSON.stringify(r.activities.map((a) => slack.get(a.activityId) ?? null));
      const changed =
        !before ||
        JSON.stringify(before.activities.map(slotKey)) !==
          JSON.stringify(r.activities.map(slotKey)) ||
        this.slackSent.get(r.resourceId) !== windows;
      if (!changed && previous && !toEveryAgent && !this.owedInstall.has(r.resourceId)) continue;
      awaiting.add(r.resourceId);
      this.slackSent.set(r.resourceId, windows);
      const slots: WireSlot[] = r.activities.map((a) => {
        const latest = slack.get(a.activityId);
        return {
          activityId: a.activityId,
          startTicks: a.startTicks ?? 0,
          durationTicks: a.durationTicks ?? 0,
          ...(latest !== undefined
            ? { window: { earliestTicks: a.startTicks ?? 0, latestTicks: latest } }
            : {}),
        };
      });
      // An agent that has not seen some of these activities gets its view first.
      const view = subjectiveView(this.index, r.resourceId);
      const signature = view.own.join(",");
      if (this.viewSent.get(r.resourceId) !== signature) {
        this.viewEchoes.set(r.resourceId, version);
        this.sendAssignSlots(
          r.resourceId,
          slots.map((s) => ({
            ...s,
            window: { earliestTicks: s.startTicks ?? 0, latestTicks: s.startTicks ?? 0 },
          })),
          version,
        );
      }
      this.sendTo(r.resourceId, "install", { scheduleVersion: version, slots });
    }
    this.owedInstall.clear();
    this.affected = awaiting.size;
    this.installing = { version, awaiting, startedMs, trigger, strategy, atTicks };
    const timeoutMs = this.replyTimeoutMs;
    if (timeoutMs !== undefined && awaiting.size > 0) this.armInstallTimeout(version, 1, timeoutMs);
    this.emit({ kind: "installed", schedule: this.installed, trigger, strategy, atTicks });
    if (awaiting.size === 0) this.onAccept("", { ref: "none", scheduleVersion: version });
    const metrics = scheduleMetrics(this.index, this.installed);
    const slots = journalled.reduce((n, r) => n + r.activities.length, 0);
    void this.publish(topics.plans(this.options.site), "plan", {
      scheduleVersion: version,
      objectives: {
        makespanTicks: metrics.makespanTicks,
        totalWeightedTardiness: metrics.totalWeightedTardiness,
        meanLeadTimeTicks: metrics.meanLeadTimeTicks,
      },
      agents: schedule.resources.length,
      activities: this.index.activities.length,
      // The slots themselves unless they would not fit one payload (DEFAULT_LIMITS, 256 KiB).
      ...(slots <= PLAN_SLOTS_LIMIT ? { resources: journalled.map(toPlanResource) } : {}),
    });
  }

  private sendRequest(r: RepairRequest): void {
    if (r.kind === "reassign") {
      this.sendAssign(r.resourceId, r.assignments, r.version);
      return;
    }
    this.sendTo(r.resourceId, "constrain", {
      scheduleVersion: r.version,
      slots: r.constraints.map(toWireConstraint),
      reason: r.kind,
    });
  }

  private sendAssign(
    resourceId: string,
    assignments: readonly Assignment[],
    version: number,
  ): void {
    this.sendAssignSlots(
      resourceId,
      assignments.map((a) => ({
        activityId: a.activityId,
        window: a.window,
        durationTicks: a.durationTicks,
      })),
      version,
    );
  }

  private sendAssignSlots(resourceId: string, slots: WireSlot[], version: number): void {
    const view = subjectiveView(this.index, resourceId);
    this.viewSent.set(resourceId, view.own.join(","));
    this.sendTo(resourceId, "assign", {
      scheduleVersion: version,
      view: {
        agentId: resourceId,
        root: view.root,
        own: [...view.own],
        nodes: view.nodes.map(toWireNode),
        links: [...view.links],
      },
      slots,
    });
  }

  private checkFinished(): void {
    const remaining = this.index.activities.filter(
      (a) => !this.record.executed.has(a.id) && !this.cancelled.has(a.id),
    );
    // A coordinator that stepped down declares nothing: the run is its successor's to finish.
    if (remaining.length === 0 && !this.done && !this.stepped) {
      this.done = true;
      this.emit({ kind: "all-done", completed: this.record.executed.size, atTicks: this.nowTicks });
      this.options.notify?.(
        `all done: ${this.record.executed.size}/${this.index.activities.length} activities`,
      );
      if (this.options.lockstep)
        this.publishClock({
          nowTicks: this.nowTicks,
          step: this.clockMaster.step + 1,
          final: true,
        });
      this.stop();
      this.finishedResolve?.();
    }
  }

  // ---- lock-step time -------------------------------------------------------------------------

  /** Moves simulated time on when the fleet is quiet. */
  maybeAdvance(): void {
    if (!this.options.lockstep || this.done || !this.planned) return;
    for (let guard = 0; guard < 10_000; guard++) {
      if (this.stepped || !this.clockMaster.quiet() || this.ordersInFlight > 0) return;
      // Quiet: first the decisions this step owes, in a fixed order.
      if (this.inbox.length > 0) {
        this.processInbox();
        continue;
      }
      if (this.takeOverOwed && this.installed) {
        this.takeOverOwed = false;
        const now = this.nowTicks;
        this.install(
          this.installed,
          "resumed after a crash",
          "journalled schedule",
          Date.now(),
          now,
          true,
        );
        this.checkFinished();
        continue;
      }
      // Quiet with a call open: every answer that will come is in. An award still not
      // acknowledged when all is quiet will not be (the winner refused it or is gone).
      if (this.auction?.open) {
        this.closeCall(this.auction.open.call.callId);
        continue;
      }
      if (this.auction?.award) {
        this.lapseAward();
        continue;
      }
      if (this.loop && !this.loop.final && this.loop.awaiting.length > 0) {
        // Quiet, yet answers are owed: they will not come (e.g. refused as stale). Go on without.
        this.loop = giveUpWaiting(this.loop);
        this.drive();
        continue;
      }
      // Then the coordinator's own timers due now (they may send commands).
      if (this.timers.advanceTo(this.clockMaster.nowTicks) > 0) continue;
      if (this.done) return;
      const next = this.clockMaster.nextEvent(this.timers.nextEventTime());
      if (next === undefined) {
        this.logger.warn(
          { now: this.nowTicks },
          "nothing left to happen but activities remain unfinished",
        );
        return;
      }
      if (this.paced(next)) return;
      const body = this.clockMaster.advance(next);
      // Journalled before anything happens at the new time: a restarted clock master resumes here.
      this.commit({ t: "clock", nowTicks: body.nowTicks, step: body.step });
      this.lastAdvanceMs = Date.now();
      this.timers.advanceTo(body.nowTicks);
      this.publishClock(body);
      return;
    }
  }

  private lastAdvanceMs = 0;
  private paceTimer: ReturnType<typeof setTimeout> | undefined;

  /** Whether the step to `next` must wait for the wall clock (`paceMs`); if so, it is armed. */
  private paced(next: Ticks): boolean {
    const paceMs = this.options.paceMs;
    if (paceMs === undefined || paceMs <= 0) return false;
    if (this.paceTimer !== undefined) return true;
    const dueMs =
      this.lastAdvanceMs + Math.min(2000, Math.max(1, next - this.clockMaster.nowTicks) * paceMs);
    const waitMs = dueMs - Date.now();
    if (waitMs <= 0) return false;
    this.paceTimer = setTimeout(() => {
      this.paceTimer = undefined;
      // Waiting on the clock is progress, not a stall.
      this.lastProgressMs = Date.now();
      this.lastAdvanceMs = 0;
      this.maybeAdvance();
    }, waitMs);
    this.paceTimer.unref?.();
    return true;
  }

  /** Milliseconds since anything arrived (to detect a stuck run). */
  get idleMs(): number {
    return Date.now() - this.lastProgressMs;
  }

  /** Stops the coordinator's own timers (the lock-step clock watch); it sends nothing more of itself. */
  stop(): void {
    if (this.clockWatch !== undefined) clearInterval(this.clockWatch);
    this.clockWatch = undefined;
  }

  private clockWatch: ReturnType<typeof setInterval> | undefined;
  private resent = { step: -1, count: 0, atMs: 0 };

  /**
   * A clock step or an idle report can be lost on the way (a broker killed between taking it and
   * passing it on), and lock-step time would then wait for ever. So, on the wall clock, a step
   * the fleet has been silent on for `clockResendMs` goes out again: an agent that missed it
   * acts on it, one that had it reports idle again. Three times at most, then the run is stuck
   * for its supervisor to see (`idleMs` is not reset by this).
   */
  private watchClock(): void {
    if (!this.options.lockstep || this.clockWatch !== undefined) return;
    const afterMs = this.options.clockResendMs ?? 2000;
    this.clockWatch = setInterval(() => {
      const now = Date.now();
      if (this.done || now - this.lastProgressMs < afterMs || now - this.resent.atMs < afterMs)
        return;
      const waiting = this.clockMaster.waitingFor();
      if (waiting.length === 0) return; // orders in flight, not agents, hold time back
      const step = this.clockMaster.step;
      if (this.resent.step !== step) this.resent = { step, count: 0, atMs: 0 };
      if (this.resent.count >= 3) return;
      this.resent = { step, count: this.resent.count + 1, atMs: now };
      this.logger.warn(
        { step, waiting: waiting.map((w) => `${w.agentId} (${w.reason})`) },
        "lock-step time is stuck; sending the clock step again",
      );
      this.publishClock({ nowTicks: this.clockMaster.nowTicks, step });
    }, afterMs / 4);
    this.clockWatch.unref?.();
  }

  private publishClock(body: Body<"clock">): void {
    void this.publish(topics.clock(this.options.site), "clock", body);
  }

  // ---- messages out ---------------------------------------------------------------------------

  private sendTo<T extends MessageType>(agentId: string, type: T, body: Body<T>): void {
    // Versions only grow: whatever the repair loop asked an agent, an install comes after it.
    const v = (body as { scheduleVersion?: number }).scheduleVersion;
    if (v !== undefined) {
      this.version = Math.max(this.version, v);
      // A restarted coordinator must not reuse a version an agent already holds (it would be stale).
      if (v > this.journalledVersion) {
        this.commit({ t: "version", version: v });
        this.journalledVersion = v;
      }
    }
    const deliver = () => {
      this.clockMaster.countSent(agentId);
      void this.publish(topics.agentIn(this.options.site, agentId), type, body, {
        to: agentId,
      }).then((bytes) => this.traffic(agentId).add(1, bytes, 0, 0));
    };
    // A resumed clock master counts an agent's commands from its first report on (ClockMaster).
    if (this.clockMaster.needsRebase(agentId)) {
      this.held.set(agentId, [...(this.held.get(agentId) ?? []), deliver]);
      return;
    }
    deliver();
  }

  /** Commands waiting for their agent's first report to a resumed clock master. */
  private readonly held = new Map<string, (() => void)[]>();

  /** Messages and bytes between the coordinator and each agent (every agent message passes here). */
  readonly perAgent = new Map<string, Traffic>();
  private traffic(agentId: string): Traffic {
    let t = this.perAgent.get(agentId);
    if (!t) {
      t = new Traffic();
      this.perAgent.set(agentId, t);
    }
    return t;
  }

  /** An order the fleet's script is about to publish: time waits until it has arrived. */
  expectOrder(): void {
    this.ordersInFlight += 1;
  }
  private ordersInFlight = 0;

  private async publish<T extends MessageType>(
    topic: string,
    type: T,
    body: Body<T>,
    options: { retain?: boolean; to?: string; corr?: string } = {},
  ): Promise<number> {
    if (this.stepped) return 0;
    const message = makeMessage(type, this.options.coordinatorId, body, {
      seq: this.seq++,
      epoch: this.epoch,
      at: Date.now(),
      ...(options.to ? { to: options.to } : {}),
      ...(options.corr ? { corr: options.corr } : {}),
    }) as AnyMessage;
    try {
      const bytes = await this.transport.publish(topic, message, {
        retain: options.retain ?? false,
      });
      this.emit({
        kind: "message",
        direction: "out",
        type,
        bytes,
        ...(options.to ? { peer: options.to } : {}),
      });
      return bytes;
    } catch (error) {
      this.logger.error({ err: error, topic, type }, "publish failed");
      return 0;
    }
  }
}

/** Messages and bytes one way and the other. */
export class Traffic {
  sent = 0;
  bytesSent = 0;
  received = 0;
  bytesReceived = 0;
  add(sent: number, bytesSent: number, received: number, bytesReceived: number): void {
    this.sent += sent;
    this.bytesSent += bytesSent;
    this.received += received;
    this.bytesReceived += bytesReceived;
  }
}

/** Contract net on the wall clock: how long a call is open, and an award's lease, in ticks. */
const DEFAULT_BID_TICKS = 5;
const DEFAULT_AWARD_LEASE_TICKS = 10;

/** The least wall time a contract-net call stays open or an award waits for its acknowledgement. */
const MIN_CONTRACT_WAIT_MS = 1000;

/** Past this many slots a plan message carries its objectives only (it would not fit 256 KiB). */
const PLAN_SLOTS_LIMIT = 4000;

const toPlanResource = (r: {
  resourceId: string;
  activities: readonly { activityId: string; startTicks: Ticks; durationTicks: Ticks }[];
}) => ({
  resourceId: r.resourceId,
  slots: r.activities.map((a) => ({
    activityId: a.activityId,
    startTicks: a.startTicks,
    durationTicks: a.durationTicks,
  })),
});

function journalledResources(schedule: Schedule) {
  return schedule.resources.map((r) => ({
    resourceId: r.resourceId,
    activities: r.activities.map((a) => ({
      activityId: a.activityId,
      startTicks: a.startTicks ?? 0,
      durationTicks: a.durationTicks ?? 0,
    })),
  }));
}

/** Activities with each after its predecessors among them (a rush order's job chains). */
function inPrecedenceOrder(index: ModelIndex, ids: readonly string[]): string[] {
  const { predecessors } = activityPrecedences(index);
  const left = new Set(ids);
  const out: string[] = [];
  while (left.size > 0) {
    const next = [...left].find((id) => !(predecessors.get(id) ?? []).some((p) => left.has(p)));
    const id = next ?? [...left][0]!;
    left.delete(id);
    out.push(id);
  }
  return out;
}

function mustIndex(model: TaskModel): ModelIndex {
  const r = indexModel(model);
  if (!r.ok) throw new Error(`invalid model: ${r.error[0]?.path}: ${r.error[0]?.message}`);
  return r.value;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    m.set(k, [...(m.get(k) ?? []), i]);
  }
  return m;
}

/** A schedule's resources as the journal holds them. */
const journalOf = (schedule: Schedule) =>
  schedule.resources.map((r) => ({
    resourceId: r.resourceId,
    activities: r.activities.map((a) => ({
      activityId: a.activityId,
      startTicks: a.startTicks ?? 0,
      durationTicks: a.durationTicks ?? 0,
    })),
  }));

const slotKey = (a: { activityId: string; startTicks?: number; durationTicks?: number }) =>
  `${a.activityId}@${a.startTicks}+${a.durationTicks}`;

function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}
