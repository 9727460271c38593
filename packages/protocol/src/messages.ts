import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { CHANNEL_KINDS, CHANNELS } from "./catalogue.js";
import type { TopicKind } from "./topics.js";

/**
 * The message catalogue: every performative (KQML / FIPA tradition), its body schema, and the
 * topics that carry it. Wire shapes only — the apps map them to and from core's domain types.
 */
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]*$" });
const Ticks = Type.Integer({
  minimum: -1_000_000_000_000,
  maximum: 1_000_000_000_000,
  description: "simulated or wall time in ticks",
});
const Version = Type.Integer({
  minimum: 0,
  description: "schedule version; a stale one is rejected",
});
const Probability = Type.Number({ minimum: 0, maximum: 1 });
const Text = Type.String({ maxLength: 2000 });

export const WireDistribution = Type.Array(
  Type.Object(
    { value: Type.Number({ minimum: 0 }), probability: Probability },
    { additionalProperties: false },
  ),
  {
    minItems: 1,
    maxItems: 64,
  },
);

export const WireWindow = Type.Object(
  { earliestTicks: Ticks, latestTicks: Ticks },
  { additionalProperties: false, description: "allowed start times, both ends inclusive" },
);

export const WireNode = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("activity"),
      id: Id,
      resources: Type.Array(Id, { minItems: 1, maxItems: 32 }),
      duration: WireDistribution,
      quality: WireDistribution,
      releaseTicks: Type.Optional(Ticks),
      deadlineTicks: Type.Optional(Ticks),
      due: Type.Optional(
        Type.Object(
          { dueTicks: Ticks, weight: Type.Number({ minimum: 0 }) },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("task"),
      id: Id,
      qaf: Type.Union([
        Type.Literal("min"),
        Type.Literal("max"),
        Type.Literal("sum"),
        Type.Literal("syncsum"),
      ]),
      children: Type.Array(Id, { maxItems: 10_000 }),
      releaseTicks: Type.Optional(Ticks),
      deadlineTicks: Type.Optional(Ticks),
      due: Type.Optional(
        Type.Object(
          { dueTicks: Ticks, weight: Type.Number({ minimum: 0 }) },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
]);

export const WireLink = Type.Object(
  { kind: Type.Union([Type.Literal("enables"), Type.Literal("precedence")]), from: Id, to: Id },
  { additionalProperties: false },
);

/** An agent's subjective view (CSC §2): never more than the agent may know. */
export const WireView = Type.Object(
  {
    agentId: Id,
    root: Id,
    own: Type.Array(Id, { maxItems: 10_000 }),
    nodes: Type.Array(WireNode, { maxItems: 10_000 }),
    links: Type.Array(WireLink, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

export const WireSlot = Type.Object(
  {
    activityId: Id,
    startTicks: Type.Optional(Ticks),
    window: Type.Optional(WireWindow),
    durationTicks: Type.Optional(Type.Integer({ minimum: 0 })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const Slots = Type.Array(WireSlot, { maxItems: 10_000 });

/** A model node id inside a body (never a topic level, so it may hold "/"). */
const NodeName = Type.String({ minLength: 1, maxLength: 256 });
const Quality = Type.Number({ minimum: 0 });

/** One child's profile as a C-TAEMS agent reports it (CSC §3.1.3). */
export const WireChildReport = Type.Object(
  {
    id: NodeName,
    p: Probability,
    v: Quality,
    pp: Probability,
    pv: Quality,
    busy: Type.Number({ minimum: 0 }),
    s: Type.Optional(Ticks),
    e: Type.Optional(Ticks),
    acc: Type.Optional(Ticks),
    final: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false },
);
const Reports = Type.Array(WireChildReport, { maxItems: 10_000 });
const Lock = Type.Integer({ minimum: 0 });

/** What C-TAEMS agents and the deliberative scheduler tell each other (core's PeerBody). */
export const WirePeerBody = Type.Union([
  Type.Object(
    { type: Type.Literal("report"), node: NodeName, children: Reports },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal("enabler"),
      node: NodeName,
      at: Type.Optional(Ticks),
      failed: Type.Optional(Type.Literal(true)),
      p: Type.Optional(Probability),
      pp: Type.Optional(Probability),
      eta: Type.Optional(Ticks),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal("ready"), group: NodeName, at: Ticks, by: Type.Optional(Ticks) },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal("withdraw"), group: NodeName }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal("escalate"),
      node: NodeName,
      p: Probability,
      threshold: Probability,
      children: Reports,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal("install"),
      lock: Lock,
      activity: NodeName,
      earliest: Ticks,
      latest: Ticks,
      vouched: Type.Optional(Type.Boolean()),
      replaces: Type.Optional(Type.Array(NodeName)),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal("cancel"), lock: Lock, activity: NodeName },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal("installed"),
      lock: Lock,
      ok: Type.Boolean(),
      activity: Type.Optional(NodeName),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal("summary"),
      escalations: Type.Array(
        Type.Object(
          { node: NodeName, p: Probability, threshold: Probability, children: Reports },
          { additionalProperties: false },
        ),
        { maxItems: 10_000 },
      ),
      installed: Type.Array(
        Type.Object(
          { agent: Id, lock: Lock, ok: Type.Boolean(), activity: Type.Optional(NodeName) },
          { additionalProperties: false },
        ),
        { maxItems: 10_000 },
      ),
    },
    { additionalProperties: false },
  ),
]);

/** What the simulated world tells a C-TAEMS agent at a tick (core's AgentEvent). */
export const WireAgentEvent = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("completed"),
      activityId: NodeName,
      startTicks: Ticks,
      endTicks: Ticks,
      quality: Quality,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("changed"),
      nodeId: NodeName,
      releaseTicks: Type.Optional(Ticks),
      deadlineTicks: Type.Optional(Ticks),
      duration: Type.Optional(WireDistribution),
      quality: Type.Optional(WireDistribution),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal("left"), agentId: Id }, { additionalProperties: false }),
]);

const Trial = Type.Integer({ minimum: 0, description: "trial number within a benchmark run" });

export const bodies = {
  /** Retained on agent/{id}/state: who the agent is and whether it is online. */
  descriptor: Type.Object(
    {
      agentId: Id,
      resourceId: Id,
      resourceKind: Type.Optional(
        Type.Union([Type.Literal("machine"), Type.Literal("rover"), Type.Literal("other")]),
      ),
      status: Type.Union([Type.Literal("online"), Type.Literal("offline")]),
      epoch: Type.Integer({
        minimum: 0,
        description: "session epoch; a will from an older epoch is stale",
      }),
      coordinatorEpoch: Type.Optional(
        Type.Integer({
          minimum: 0,
          description:
            "the highest coordinator (fencing) epoch this agent has accepted: a coordinator starting afresh leads above it",
        }),
      ),
      software: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
  /** Retained on coordinator/state. */
  "coordinator-state": Type.Object(
    {
      coordinatorId: Id,
      status: Type.Union([Type.Literal("online"), Type.Literal("offline")]),
      epoch: Type.Integer({
        minimum: 0,
        description: "the leader's fencing epoch; agents refuse commands from a lower one",
      }),
      leaseMs: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 3_600_000,
          description:
            "the lease: the leader renews this state at least this often; a standby takes over once it has heard nothing for longer",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  /** Planner -> agent: the agent's view and its operations with desirability windows (CAMPS). */
  assign: Type.Object(
    { scheduleVersion: Version, view: WireView, slots: Slots },
    { additionalProperties: false },
  ),
  /** Agent -> planner: the local schedule it built within the windows. */
  propose: Type.Object({ scheduleVersion: Version, slots: Slots }, { additionalProperties: false }),
  /** Planner -> agent: inter-agent constraints (tightened windows) to repair a conflict. */
  constrain: Type.Object(
    { scheduleVersion: Version, slots: Slots, reason: Type.Optional(Text) },
    { additionalProperties: false },
  ),
  /** Planner -> agent: the integrated schedule to execute. */
  install: Type.Object({ scheduleVersion: Version, slots: Slots }, { additionalProperties: false }),
  /** Either way: a command or proposal taken. */
  accept: Type.Object(
    { ref: Id, scheduleVersion: Type.Optional(Version) },
    { additionalProperties: false },
  ),
  /** Either way: a command or proposal refused, and why. */
  reject: Type.Object(
    { ref: Id, scheduleVersion: Type.Optional(Version), reason: Text },
    { additionalProperties: false },
  ),
  /** Agent -> coordinator: execution news (policy-driven silence: deviations, not "on track"). */
  inform: Type.Object(
    {
      event: Type.Union([
        Type.Literal("started"),
        Type.Literal("completed"),
        Type.Literal("aborted"),
        Type.Literal("repaired"),
      ]),
      activityId: Id,
      atTicks: Ticks,
      /** For `completed`: when the run began, so the planner knows what really ran. */
      startTicks: Type.Optional(Ticks),
      quality: Type.Optional(Type.Number({ minimum: 0 })),
      scheduleVersion: Version,
    },
    { additionalProperties: false },
  ),
  /** Agent -> coordinator: a disruption the agent could not absorb alone (escalation). */
  failure: Type.Object(
    {
      cause: Type.Union([
        Type.Literal("breakdown"),
        Type.Literal("overrun"),
        Type.Literal("window"),
        Type.Literal("offline"),
        Type.Literal("other"),
      ]),
      activityIds: Type.Array(Id, { maxItems: 10_000 }),
      fromTicks: Ticks,
      untilTicks: Type.Optional(Ticks),
      scheduleVersion: Version,
      detail: Type.Optional(Text),
    },
    { additionalProperties: false },
  ),
  /**
   * Contract net, announce. Planner -> each capable agent: a call for proposals to take over one
   * operation (a lost agent's, one with alternative resources). `window.earliestTicks` is when it
   * may start, `window.latestTicks` when it should; bids are read until `deadline`. The agent
   * answers `bid` or `refuse` with `corr` = this message's id.
   */
  cfp: Type.Object(
    {
      callId: Id,
      activity: WireNode,
      window: WireWindow,
      durationTicks: Type.Integer({ minimum: 0 }),
      weight: Type.Number({ minimum: 0, description: "its job's tardiness weight" }),
      deadline: Ticks,
      scheduleVersion: Version,
    },
    { additionalProperties: false },
  ),
  /**
   * Contract net, propose. Agent -> planner: where it would run the called operation, from its
   * own local schedule (it can honour this), and what that costs it.
   */
  bid: Type.Object(
    {
      callId: Id,
      activityId: Id,
      startTicks: Ticks,
      durationTicks: Type.Integer({ minimum: 0 }),
      before: Type.Optional(Id),
      cost: Type.Object(
        {
          addedWeightedTardiness: Type.Number(),
          loadTicks: Type.Number({ minimum: 0 }),
          setupTicks: Type.Number(),
          total: Type.Number(),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  /** Contract net, refuse. Agent -> planner: it will not bid on the call, and why. */
  refuse: Type.Object({ callId: Id, reason: Text }, { additionalProperties: false }),
  /**
   * Contract net, accept-proposal. Planner -> the winning agent, journalled by the planner first:
   * the operation is its own at its bid. The agent journals it and acknowledges (`accept`, `ref`
   * = the call id) within `leaseTicks`, or the award lapses and the work is placed again.
   * Losing bidders hear `reject` with `ref` = the call id.
   */
  award: Type.Object(
    {
      callId: Id,
      activityId: Id,
      startTicks: Ticks,
      durationTicks: Type.Integer({ minimum: 0 }),
      before: Type.Optional(Id),
      leaseTicks: Type.Integer({ minimum: 1 }),
      scheduleVersion: Version,
    },
    { additionalProperties: false },
  ),
  /** Selective broadcast of a node's profile (CSC §3.1.3) to its link neighbours. */
  profile: Type.Object(
    {
      nodeId: Id,
      probability: Probability,
      busyCycles: Type.Optional(Type.Number({ minimum: 0 })),
      importance: Type.Number({ minimum: 0 }),
      potential: Type.Optional(
        Type.Boolean({ description: "a potential rather than current-schedule profile" }),
      ),
    },
    { additionalProperties: false },
  ),
  /** Operator -> manager: an order of jobs. */
  order: Type.Object(
    {
      orderId: Id,
      priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
      jobs: Type.Array(
        Type.Object(
          {
            id: Id,
            releaseTicks: Type.Optional(Ticks),
            dueTicks: Type.Optional(Ticks),
            weight: Type.Optional(Type.Number({ minimum: 0 })),
            operations: Type.Array(
              Type.Object(
                {
                  id: Type.Optional(Id),
                  resources: Type.Array(Id, { minItems: 1, maxItems: 32 }),
                  durationTicks: Type.Integer({ minimum: 1 }),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 1000 },
            ),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 1000 },
      ),
    },
    { additionalProperties: false },
  ),
  /**
   * Simulated runs only: the clock master's time. Every process advances its simulated clock to
   * `nowTicks`, handles what falls due, and answers with `idle`.
   */
  clock: Type.Object(
    {
      nowTicks: Ticks,
      step: Type.Integer({ minimum: 0 }),
      final: Type.Optional(Type.Boolean({ description: "the run is over" })),
    },
    { additionalProperties: false },
  ),
  /**
   * Simulated runs only: the agent has handled everything up to `atTicks`. With the counts of
   * point-to-point messages it has sent and received, the clock master can tell that no message
   * is in flight before it moves time on (conservative lock-step synchronization).
   */
  idle: Type.Object(
    {
      atTicks: Ticks,
      step: Type.Integer({ minimum: 0 }),
      nextEventTicks: Type.Optional(Ticks),
      sent: Type.Integer({ minimum: 0 }),
      received: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
  /**
   * C-TAEMS runs (CSC): one coordination message between agents, or between an agent and the
   * coordinator's deliberative scheduler. `seq` is the sender's count within the trial; the
   * receiver handles a tick's messages in (sender, seq) order whatever order they arrived in.
   */
  "csc-peer": Type.Object(
    {
      trial: Trial,
      tick: Ticks,
      seq: Type.Integer({ minimum: 1 }),
      body: WirePeerBody,
    },
    { additionalProperties: false },
  ),
  /**
   * C-TAEMS lock-step runs: the clock master opens tick `tick` for one agent, with what the
   * world did to it and how many `csc-peer` messages were sent to it at the tick before (it
   * steps once all of them are in).
   */
  "csc-tick": Type.Object(
    {
      trial: Trial,
      strategy: Type.Union([Type.Literal("initial"), Type.Literal("bos"), Type.Literal("consort")]),
      tick: Ticks,
      /**
       * Lock-step: step once this many `csc-peer` messages sent at the tick before are in.
       * Absent on the wall clock: step at once, on every message that has arrived so far.
       */
      expect: Type.Optional(Type.Integer({ minimum: 0 })),
      events: Type.Array(WireAgentEvent, { maxItems: 10_000 }),
    },
    { additionalProperties: false },
  ),
  /**
   * C-TAEMS: what one agent is given for a run (trial) of a strategy, before its first tick: its
   * `AgentSetup` (subjective view, initial schedule, sharers, policy...), checked by core's
   * `parseAgentSetup` where it enters the agent. Journalled by the agent before it acts on it.
   */
  "csc-setup": Type.Object(
    {
      trial: Trial,
      strategy: Type.Union([Type.Literal("initial"), Type.Literal("bos"), Type.Literal("consort")]),
      setup: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown()),
    },
    { additionalProperties: false },
  ),
  /** C-TAEMS lock-step runs: the agent's decision at `tick` and how many messages it sent whom. */
  "csc-step": Type.Object(
    {
      trial: Trial,
      tick: Ticks,
      start: Type.Optional(NodeName),
      abort: Type.Optional(NodeName),
      sent: Type.Array(
        Type.Object(
          { to: Id, count: Type.Integer({ minimum: 1 }) },
          { additionalProperties: false },
        ),
        { maxItems: 100_000 },
      ),
      /** Of those, how many of each body type, and their encoded bytes in all. */
      types: Type.Array(
        Type.Object(
          {
            type: Type.String({ minLength: 1, maxLength: 32 }),
            count: Type.Integer({ minimum: 1 }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 64 },
      ),
      bytes: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
  /**
   * Coordinator -> operators: the installed plan, its objectives as measured on it (makespan,
   * weighted tardiness) and, unless the plan is too large for one payload, per resource the slots.
   */
  plan: Type.Object(
    {
      scheduleVersion: Version,
      objectives: Type.Record(Type.String({ maxLength: 64 }), Type.Number()),
      agents: Type.Integer({ minimum: 0 }),
      activities: Type.Integer({ minimum: 0 }),
      resources: Type.Optional(
        Type.Array(Type.Object({ resourceId: Id, slots: Slots }, { additionalProperties: false }), {
          maxItems: 10_000,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  /**
   * Coordinator -> the operator who sent an order (on its replies topic, `corr` = the order
   * message's id): the order was taken (journalled, to be scheduled) or refused, and why.
   */
  "order-reply": Type.Object(
    {
      orderId: Id,
      accepted: Type.Boolean(),
      reason: Type.Optional(Text),
      /** For an accepted order: how many jobs joined the model. */
      jobs: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
} satisfies Record<string, TSchema>;

export type MessageType = keyof typeof bodies;
export const MESSAGE_TYPES = Object.keys(bodies) as MessageType[];
export type Body<T extends MessageType> = Static<(typeof bodies)[T]>;

/** Which message types each topic carries (from the catalogue); anything else there is dropped. */
export const TOPIC_MESSAGES: Readonly<Record<TopicKind, readonly MessageType[]>> =
  Object.fromEntries(CHANNEL_KINDS.map((kind) => [kind, CHANNELS[kind].messages])) as Record<
    TopicKind,
    readonly MessageType[]
  >;

/** The envelope every payload travels in. */
export const Envelope = Type.Object(
  {
    v: Type.Literal(1, { description: "envelope version" }),
    id: Id,
    type: Type.String({ maxLength: 64 }),
    from: Id,
    to: Type.Optional(Id),
    corr: Type.Optional(Id),
    epoch: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "the sender's session epoch, when its seq restarts at 0 with each session (a restarted coordinator, a one-shot operator command); receivers deduplicate by (from, epoch, seq)",
      }),
    ),
    seq: Type.Integer({
      minimum: 0,
      description: "the sender's outbox sequence; receivers deduplicate by (from, epoch, seq)",
    }),
    at: Type.Number({ description: "sender's clock, milliseconds" }),
    body: Type.Unknown(),
  },
  { additionalProperties: false },
);

export interface Message<T extends MessageType = MessageType> {
  readonly v: 1;
  readonly id: string;
  readonly type: T;
  readonly from: string;
  readonly to?: string;
  readonly corr?: string;
  readonly epoch?: number;
  readonly seq: number;
  readonly at: number;
  readonly body: Body<T>;
}

/** A message of any type, narrowed by `type` in an exhaustive switch. */
export type AnyMessage = { [T in MessageType]: Message<T> }[MessageType];
