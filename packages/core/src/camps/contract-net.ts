import { effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import type { JobShopObjective } from "../solver/types.js";
import type { ReportedCompletion } from "./execution-monitor.js";
import { busyOf, type PendingOperation, placeInOrder } from "./local-scheduler.js";
import { activityPrecedences, compare, jobOf, jobWeight, plannedDurationOf } from "./model-view.js";
import { repairObjective, retimeInOrder } from "./runtime-repair.js";
import type { Interval, ResourceInterval, ResourceSlot, Slot } from "./types.js";

/**
 * Contract net (seeds/multi-agent-planning-in-distributed-environments.txt, "contract net" and
 * market-based allocation; FIPA's cfp -> propose / refuse -> accept / reject): the planner
 * announces one operation to the agents able to run it, each answers from its own local
 * schedule with a bid it can honour and what taking the work would cost it, or refuses; the
 * planner awards the cheapest bid and rejects the others. Pure: times are arguments.
 */

/** One announced operation: who may bid, what it takes, and until when bids are read. */
export interface ContractCall {
  readonly callId: string;
  readonly activityId: string;
  /** The agents able to run it (its alternative resources, the one giving it up excluded). */
  readonly capable: readonly string[];
  readonly durationTicks: Ticks;
  /** It cannot start earlier: its release, its predecessors' planned ends, now. */
  readonly earliestTicks: Ticks;
  /** It should start by this (its start in the schedule in force): later costs `weight` per tick. */
  readonly desiredStartTicks: Ticks;
  /** Its job's tardiness weight. */
  readonly weight: number;
  /** Bids are read until this time; a bid after it is refused. */
  readonly closesAtTicks: Ticks;
}

/** What taking the work costs a bidder, in its own terms. */
export interface BidCost {
  /** Weighted lateness (past each desired start) it adds to its schedule, the new work included. */
  readonly addedWeightedTardiness: number;
  /** Its queued work in ticks, the new work included (a loaded agent costs more). */
  readonly loadTicks: Ticks;
  /** Setup time the new work adds between its neighbours in the sequence. */
  readonly setupTicks: Ticks;
  /** The weighted sum the planner compares (`BidWeights`). */
  readonly total: number;
}

/** A bid: where the bidder would run the work, and at what cost. */
export interface Bid {
  readonly callId: string;
  readonly activityId: string;
  readonly resourceId: string;
  readonly startTicks: Ticks;
  readonly durationTicks: Ticks;
  /** The operation the new work goes before in the bidder's sequence (absent: at the end). */
  readonly before?: string;
  readonly cost: BidCost;
}

export type BidAnswer =
  | { readonly kind: "bid"; readonly bid: Bid }
  /** Not a capable agent, the call is closed, or the agent holds its work (out of contact). */
  | { readonly kind: "refuse"; readonly callId: string; readonly reason: string };

/** How the cost terms add up. Tardiness counts in full; load breaks near ties towards the idle. */
export interface BidWeights {
  readonly tardiness: number;
  readonly load: number;
  readonly setup: number;
}
export const DEFAULT_BID_WEIGHTS: BidWeights = { tardiness: 1, load: 0.01, setup: 1 };

/** What a bidder knows of its own schedule. */
export interface BidderState {
  readonly resourceId: string;
  /** Its schedule in force, any order. */
  readonly slots: readonly Slot[];
  /** Started or finished: kept exactly where they are. */
  readonly pinned: ReadonlySet<string>;
  readonly unavailable: readonly Interval[];
  /** The start it committed to per operation (default: its slot's start): later is late. */
  readonly desiredStart?: ReadonlyMap<string, Ticks>;
  /** Tardiness weight per operation (default 1). */
  readonly weights?: ReadonlyMap<string, number>;
  /** Setup time between two operations in sequence (default none); `before` undefined at the start. */
  readonly setupTicks?: (before: string | undefined, after: string) => Ticks;
  /** Out of contact past its lease: it may not take work. */
  readonly holding?: boolean;
}

/**
 * A bidder's answer from its own local scheduler: the new work is tried at each place in its
 * sequence of unstarted work, what follows shifted right only as far as needed (`placeInOrder`:
 * its other operations never start earlier than committed), and the cheapest place is bid. The
 * agent can honour what it bids: it is exactly the schedule it will run if awarded.
 */
export function bidFor(
  state: BidderState,
  call: ContractCall,
  nowTicks: Ticks,
  weights: BidWeights = DEFAULT_BID_WEIGHTS,
): BidAnswer {
  const refuse = (reason: string): BidAnswer => ({ kind: "refuse", callId: call.callId, reason });
  if (!call.capable.includes(state.resourceId))
    return refuse(`${state.resourceId} cannot run ${call.activityId}`);
  if (nowTicks > call.closesAtTicks)
    return refuse(`call ${call.callId} closed at ${call.closesAtTicks}`);
  if (state.holding) return refuse(`${state.resourceId} holds its work (out of contact)`);
  const placed = bestInsertion(state, call, nowTicks, weights);
  return {
    kind: "bid",
    bid: {
      callId: call.callId,
      activityId: call.activityId,
      resourceId: state.resourceId,
      startTicks: placed.start,
      durationTicks: call.durationTicks,
      ...(placed.before !== undefined ? { before: placed.before } : {}),
      cost: placed.cost,
    },
  };
}

/**
 * The bidder's schedule once awarded: the new work inserted before `before` (or at the end), its
 * unstarted work re-timed in order. What it bid, so the award changes nothing it did not price.
 */
export function scheduleWithAward(
  state: BidderState,
  call: ContractCall,
  before: string | undefined,
  nowTicks: Ticks,
): Slot[] {
  return insertAt(state, call, before, nowTicks).slots;
}

function bestInsertion(
  state: BidderState,
  call: ContractCall,
  nowTicks: Ticks,
  weights: BidWeights,
): { start: Ticks; before: string | undefined; cost: BidCost } {
  const pending = pendingInOrder(state);
  const baseline = tardinessOf(
    state,
    placeInOrder(pending.map(toPending(state, nowTicks)), busy(state)),
  );
  let best: { start: Ticks; before: string | undefined; cost: BidCost; end: Ticks } | undefined;
  for (let k = 0; k <= pending.length; k++) {
    const before = pending[k]?.activityId;
    const { slots, start } = insertAt(state, call, before, nowTicks);
    const mine = slots.filter((s) => !state.pinned.has(s.activityId));
    const tardiness =
      tardinessOf(
        state,
        mine.filter((s) => s.activityId !== call.activityId),
      ) -
      baseline +
      call.weight * Math.max(0, start - call.desiredStartTicks);
    const setup = addedSetup(state, previousOf(state, pending, k), call.activityId, before);
    const load = mine.reduce((n, s) => n + s.durationTicks, 0);
    const total = weights.tardiness * tardiness + weights.load * load + weights.setup * setup;
    const cost = { addedWeightedTardiness: tardiness, loadTicks: load, setupTicks: setup, total };
    const end = start + call.durationTicks;
    if (!best || total < best.cost.total || (total === best.cost.total && end < best.end))
      best = { start, before, cost, end };
  }
  return best!;
}

function insertAt(
  state: BidderState,
  call: ContractCall,
  before: string | undefined,
  nowTicks: Ticks,
): { slots: Slot[]; start: Ticks } {
  const pending = pendingInOrder(state);
  const k =
    before === undefined ? pending.length : pending.findIndex((s) => s.activityId === before);
  const at = k < 0 ? pending.length : k;
  const ops: PendingOperation[] = pending.map(toPending(state, nowTicks));
  ops.splice(at, 0, {
    activityId: call.activityId,
    durationTicks: call.durationTicks,
    earliestTicks: Math.max(nowTicks, call.earliestTicks),
    latestTicks: call.desiredStartTicks,
  });
  const placed = placeInOrder(ops, busy(state));
  const start = placed.find((s) => s.activityId === call.activityId)!.startTicks;
  const pinned = state.slots.filter((s) => state.pinned.has(s.activityId));
  return {
    slots: [...pinned, ...placed].sort(
      (a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId),
    ),
    start,
  };
}

/** What runs just before place `k` of the pending sequence: a pending one, else the last pinned. */
function previousOf(state: BidderState, pending: readonly Slot[], k: number): string | undefined {
  if (k > 0) return pending[k - 1]?.activityId;
  const pinned = state.slots
    .filter((s) => state.pinned.has(s.activityId))
    .sort((a, b) => a.startTicks - b.startTicks);
  return pinned[pinned.length - 1]?.activityId;
}

function pendingInOrder(state: BidderState): Slot[] {
  return state.slots
    .filter((s) => !state.pinned.has(s.activityId))
    .sort((a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId));
}

/** An unstarted operation never moves before now nor before the start it committed to. */
const toPending =
  (state: BidderState, nowTicks: Ticks) =>
  (s: Slot): PendingOperation => ({
    activityId: s.activityId,
    durationTicks: s.durationTicks,
    earliestTicks: Math.max(nowTicks, s.startTicks),
    latestTicks: state.desiredStart?.get(s.activityId) ?? s.startTicks,
  });

function busy(state: BidderState) {
  return busyOf(
    state.unavailable,
    state.slots.filter((s) => state.pinned.has(s.activityId)),
  );
}

/** Weighted lateness past each operation's desired start (default: its start in force). */
function tardinessOf(state: BidderState, slots: readonly Slot[]): number {
  const committed = new Map(state.slots.map((s) => [s.activityId, s.startTicks]));
  let sum = 0;
  for (const s of slots) {
    const desired =
      state.desiredStart?.get(s.activityId) ?? committed.get(s.activityId) ?? s.startTicks;
    sum += (state.weights?.get(s.activityId) ?? 1) * Math.max(0, s.startTicks - desired);
  }
  return sum;
}

function addedSetup(
  state: BidderState,
  previous: string | undefined,
  added: string,
  next: string | undefined,
): Ticks {
  const setup = state.setupTicks;
  if (!setup) return 0;
  return (
    setup(previous, added) +
    (next !== undefined ? setup(added, next) : 0) -
    (next !== undefined ? setup(previous, next) : 0)
  );
}

/** The planner's choice among the answers to one call. */
export type CallOutcome =
  /** Award `winner`; reject `losers`. */
  | { readonly kind: "award"; readonly winner: Bid; readonly losers: readonly Bid[] }
  /** Nobody bid: the work goes to the next repair level (problem adjustment, central re-solve). */
  | { readonly kind: "unawarded"; readonly reason: string };

/**
 * Which bid wins: the lowest total cost, then the earliest end, then the resource id. Bids for
 * another call, from agents not invited, or starting before the work may start are void. With
 * `price` (the planner's view of a bid, e.g. `downstreamPrice`), the lowest price wins first and
 * the bidders' own costs break ties.
 */
export function selectWinner(
  call: ContractCall,
  answers: readonly BidAnswer[],
  price?: (bid: Bid) => number,
): CallOutcome {
  const bids = answers
    .flatMap((a) => (a.kind === "bid" ? [a.bid] : []))
    .filter(
      (b) =>
        b.callId === call.callId &&
        b.activityId === call.activityId &&
        call.capable.includes(b.resourceId) &&
        b.startTicks >= call.earliestTicks,
    );
  if (bids.length === 0) {
    const refusals = answers.filter((a) => a.kind === "refuse").length;
    return {
      kind: "unawarded",
      reason: `no valid bid for ${call.activityId} (${refusals} refused, ${call.capable.length} invited)`,
    };
  }
  const priced = new Map(bids.map((b) => [b, price ? price(b) : 0]));
  const sorted = [...bids].sort(
    (a, b) =>
      priced.get(a)! - priced.get(b)! ||
      a.cost.total - b.cost.total ||
      a.startTicks + a.durationTicks - (b.startTicks + b.durationTicks) ||
      compare(a.resourceId, b.resourceId),
  );
  return { kind: "award", winner: sorted[0]!, losers: sorted.slice(1) };
}

/**
 * The latest start of an operation that keeps its job on time: its job's due date less the
 * longest run of planned work from it to the job's end (it and its successors in the job).
 * Undefined when its job has no due date. A start after it adds the job's weight per tick to
 * the tardiness once the work after it runs back to back.
 */
export function latestOnTimeStart(index: ModelIndex, activityId: string): Ticks | undefined {
  const jobId = jobOf(index, activityId);
  const due = jobId === undefined ? undefined : index.nodes.get(jobId)?.due?.dueTicks;
  if (due === undefined) return undefined;
  const { successors } = activityPrecedences(index);
  const tail = new Map<string, Ticks>();
  const tailOf = (id: string): Ticks => {
    const known = tail.get(id);
    if (known !== undefined) return known;
    tail.set(id, 0); // a cycle (invalid model) stops here
    const node = index.nodes.get(id) as ActivityNode | undefined;
    let after = 0;
    for (const s of successors.get(id) ?? [])
      if (jobOf(index, s) === jobId) after = Math.max(after, tailOf(s));
    const out = (node ? plannedDurationOf(node) : 0) + after;
    tail.set(id, out);
    return out;
  };
  return due - tailOf(activityId);
}

/**
 * The planner's call for one operation of the schedule in force, as it stands now (an earlier
 * award already moved its predecessors): capable agents are its resources but `excluded`; it
 * may start once released, its predecessors have (or are planned to have) ended, and not before
 * now; it should start when the schedule says, new work (a rush order's) as early as it can.
 * (Asking new work only by its latest on-time start, `latestOnTimeStart`, was tried: it leaves a
 * rush job no margin, and the fleet's weighted tardiness came out worse.)
 */
export function contractCall(
  index: ModelIndex,
  installed: Schedule,
  executed: ReadonlyMap<string, ReportedCompletion>,
  activityId: string,
  options: {
    readonly callId: string;
    readonly excluded: readonly string[];
    readonly nowTicks: Ticks;
    readonly closesAtTicks: Ticks;
  },
): ContractCall | undefined {
  const node = index.nodes.get(activityId);
  if (node?.kind !== "activity") return undefined;
  const slots = new Map(
    installed.resources.flatMap((r) => r.activities.map((a) => [a.activityId, a] as const)),
  );
  const { predecessors } = activityPrecedences(index);
  let earliest = Math.max(options.nowTicks, effectiveRelease(index, activityId));
  for (const p of predecessors.get(activityId) ?? []) {
    const done = executed.get(p);
    const planned = slots.get(p);
    const pNode = index.nodes.get(p) as ActivityNode | undefined;
    const end = done
      ? done.endTicks
      : (planned?.startTicks ?? options.nowTicks) +
        (planned?.durationTicks ?? (pNode ? plannedDurationOf(pNode) : 0));
    earliest = Math.max(earliest, end);
  }
  const mine = slots.get(activityId);
  return {
    callId: options.callId,
    activityId,
    capable: node.resources.filter((r) => !options.excluded.includes(r)),
    durationTicks: mine?.durationTicks ?? plannedDurationOf(node as ActivityNode),
    earliestTicks: earliest,
    desiredStartTicks: Math.max(earliest, mine?.startTicks ?? earliest),
    weight: jobWeight(index, jobOf(index, activityId)),
    closesAtTicks: options.closesAtTicks,
  };
}

/**
 * The schedule in force with an award applied: the operation leaves wherever it was and joins
 * the winner at its bid start (the winner's own re-timing arrives as its proposal).
 */
export function applyAward(schedule: Schedule, winner: Bid): Schedule {
  const resources = schedule.resources.some((r) => r.resourceId === winner.resourceId)
    ? schedule.resources
    : [...schedule.resources, { resourceId: winner.resourceId, activities: [] }];
  return {
    ...schedule,
    resources: resources.map((r) => {
      const rest = r.activities.filter((a) => a.activityId !== winner.activityId);
      if (r.resourceId !== winner.resourceId) return { ...r, activities: rest };
      return {
        ...r,
        activities: [
          ...rest,
          {
            activityId: winner.activityId,
            startTicks: winner.startTicks,
            durationTicks: winner.durationTicks,
          },
        ].sort((a, b) => (a.startTicks ?? 0) - (b.startTicks ?? 0)),
      };
    }),
  };
}

/**
 * The planner's price of a bid: the objective of the whole schedule in force once the bid is
 * taken as bid (the work before `before` in the bidder's sequence, the bidder's later work pushed
 * back) and every delay has run down the jobs' successors on other resources (`retimeInOrder`).
 * A bidder sees only its own lateness; this counts the tardiness its delays cause downstream.
 */
export function downstreamPrice(
  index: ModelIndex,
  schedule: Schedule,
  bid: Bid,
  options: {
    readonly nowTicks: Ticks;
    readonly frozen: readonly ResourceSlot[];
    readonly unavailable: readonly ResourceInterval[];
    readonly cancelled?: readonly string[];
    readonly objective: JobShopObjective;
  },
): number {
  const frozen = new Set(options.frozen.map((f) => f.activityId));
  const awarded: Schedule = {
    ...schedule,
    resources: [
      ...schedule.resources,
      ...(schedule.resources.some((r) => r.resourceId === bid.resourceId)
        ? []
        : [{ resourceId: bid.resourceId, activities: [] }]),
    ].map((r) => {
      const rest = r.activities
        .filter((a) => a.activityId !== bid.activityId)
        .sort(
          (a, b) =>
            (a.startTicks ?? 0) - (b.startTicks ?? 0) || compare(a.activityId, b.activityId),
        );
      if (r.resourceId !== bid.resourceId) return { ...r, activities: rest };
      // The bidder's order: its work as it was, the new work before `before` (else last).
      const at = bid.before === undefined ? -1 : rest.findIndex((a) => a.activityId === bid.before);
      const order = [...rest];
      const added = {
        activityId: bid.activityId,
        startTicks: bid.startTicks,
        durationTicks: bid.durationTicks,
      };
      if (at < 0) order.push(added);
      else order.splice(at, 0, added);
      let end = Number.NEGATIVE_INFINITY;
      const activities = order.map((a) => {
        const start = frozen.has(a.activityId)
          ? (a.startTicks ?? 0)
          : Math.max(a.startTicks ?? 0, end);
        end = Math.max(end, start + (a.durationTicks ?? 0));
        return { ...a, startTicks: start };
      });
      return { ...r, activities };
    }),
  };
  const retimed = retimeInOrder(index, awarded, {
    nowTicks: options.nowTicks,
    frozen: options.frozen,
    unavailable: options.unavailable,
    ...(options.cancelled ? { cancelled: options.cancelled } : {}),
  });
  return repairObjective(index, retimed, options.objective);
}
