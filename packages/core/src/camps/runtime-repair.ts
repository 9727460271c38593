import { ancestors, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import { scheduleMetrics } from "../schedule/metrics.js";
import type { Schedule } from "../schedule/types.js";
import type { JobShopObjective } from "../solver/types.js";
import { answerRequest } from "./answer-request.js";
import { type LocalHeuristic, mergeConstraints } from "./local-scheduler.js";
import { activityPrecedences, compare, plannedDurationOf } from "./model-view.js";
import type { RepairRequest } from "./repair-loop.js";
import { addBusy, type Busy, earliestFit, mergeIntervals } from "./timeline.js";
import type { Interval, ResourceInterval, ResourceSlot, Slot, StartConstraint } from "./types.js";

/**
 * Distributed repair first at run time (issue 15 item 3): a disruption goes to the agent's own
 * repair, then to negotiated repair between agents, contract net, problem adjustment, and only
 * then to a central re-solve, which must beat the negotiated plan by more than the quality gate
 * once the churn it causes (operations moved or resequenced) is counted. Pure.
 */

/** Where a run-time repair was settled, lowest first. */
export const REPAIR_LEVELS = [
  "local",
  "negotiated",
  "contractNet",
  "problemAdjustment",
  "central",
] as const;
export type RepairLevel = (typeof REPAIR_LEVELS)[number];

/** How many repairs settled at each level. */
export type RepairsByLevel = Record<RepairLevel, number>;

export function emptyRepairsByLevel(): RepairsByLevel {
  return { local: 0, negotiated: 0, contractNet: 0, problemAdjustment: 0, central: 0 };
}

/**
 * Negotiated repair between agents, as it converges (CAMPS inter-agent constraint adjustment:
 * each agent keeps its sequence and honours the earliest starts its predecessors' new ends
 * impose): every unfrozen operation keeps its resource and its place in its resource's
 * sequence and starts at the earliest time at or after its committed start that follows its
 * resource predecessor, its job and link predecessors, its release and now, clear of
 * unavailable time and frozen slots. Operations only move later, and only as far as a delay
 * forces them: the least churn that restores feasibility.
 */
export function retimeInOrder(
  index: ModelIndex,
  schedule: Schedule,
  options: {
    readonly nowTicks: Ticks;
    readonly frozen: readonly ResourceSlot[];
    readonly unavailable: readonly ResourceInterval[];
    /** Activities left out (cancelled). */
    readonly cancelled?: readonly string[];
    /**
     * Each operation may also take an idle gap before its resource predecessor's end when it fits
     * there whole (`placeBackfilling`): what an agent keeping its order does. Default false.
     */
    readonly backfill?: boolean;
  },
): Schedule {
  const now = options.nowTicks;
  const cancelled = new Set(options.cancelled ?? []);
  const frozen = new Map(options.frozen.map((f) => [f.activityId, f]));
  const { predecessors } = activityPrecedences(index);
  const end = new Map<string, Ticks>();
  for (const f of frozen.values()) end.set(f.activityId, f.startTicks + f.durationTicks);
  const busy = new Map<string, Busy>();
  const addTo = (resourceId: string, fromTicks: Ticks, untilTicks: Ticks) =>
    busy.set(resourceId, addBusy(busy.get(resourceId) ?? [], { fromTicks, untilTicks }));
  for (const u of options.unavailable)
    busy.set(u.resourceId, mergeIntervals([...(busy.get(u.resourceId) ?? []), u]));
  for (const f of frozen.values())
    addTo(f.resourceId, f.startTicks, f.startTicks + f.durationTicks);

  // Each resource's unfrozen operations in their order; they are placed when their resource
  // predecessor and their other predecessors are placed (a topological sweep).
  const queues = schedule.resources.map((r) => ({
    resourceId: r.resourceId,
    left: [...r.activities]
      .filter((a) => !frozen.has(a.activityId) && !cancelled.has(a.activityId))
      .sort(
        (a, b) => (a.startTicks ?? 0) - (b.startTicks ?? 0) || compare(a.activityId, b.activityId),
      ),
    placed: [] as { activityId: string; startTicks: Ticks; durationTicks: Ticks }[],
    lastEnd: Number.NEGATIVE_INFINITY,
  }));
  const scheduled = new Set(queues.flatMap((q) => q.left.map((a) => a.activityId)));
  const ready = (id: string) =>
    (predecessors.get(id) ?? []).every(
      (p) => cancelled.has(p) || end.has(p) || (!scheduled.has(p) && !frozen.has(p)),
    );
  for (let progress = true; progress; ) {
    progress = false;
    for (const q of queues) {
      while (q.left.length > 0 && ready(q.left[0]!.activityId)) {
        const a = q.left.shift()!;
        const node = index.nodes.get(a.activityId) as ActivityNode | undefined;
        const duration = a.durationTicks ?? (node ? plannedDurationOf(node) : 0);
        let t = Math.max(
          now,
          a.startTicks ?? now,
          options.backfill ? Number.NEGATIVE_INFINITY : q.lastEnd,
          effectiveRelease(index, a.activityId),
        );
        for (const p of predecessors.get(a.activityId) ?? []) t = Math.max(t, end.get(p) ?? t);
        const start = earliestFit(busy.get(q.resourceId) ?? [], t, duration);
        addTo(q.resourceId, start, start + duration);
        end.set(a.activityId, start + duration);
        q.lastEnd = start + duration;
        q.placed.push({ activityId: a.activityId, startTicks: start, durationTicks: duration });
        progress = true;
      }
    }
  }
  return {
    version: schedule.version,
    resources: queues.map((q) => {
      const kept = [...frozen.values()]
        .filter((f) => f.resourceId === q.resourceId)
        .map((f) => ({
          activityId: f.activityId,
          startTicks: f.startTicks,
          durationTicks: f.durationTicks,
        }));
      // A cycle between resource orders and precedences leaves operations unplaced: they keep
      // their times (the central level repairs what this cannot).
      const stuck = q.left.map((a) => ({
        activityId: a.activityId,
        startTicks: a.startTicks ?? now,
        durationTicks: a.durationTicks ?? 0,
      }));
      return {
        resourceId: q.resourceId,
        activities: [...kept, ...q.placed, ...stuck].sort(
          (a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId),
        ),
      };
    }),
  };
}

/**
 * The planner's side of a run-time negotiation, monotone: from the agents' latest plans it
 * forecasts where every operation lands if each agent keeps its sequence (`retimeInOrder`, what
 * started standing where it is) and asks, as a hard earliest start, each unstarted operation
 * whose job or link predecessors will end after it starts to wait for their forecast end. A
 * delay so reaches the whole chain of agents it runs through in one round, instead of one agent
 * a round. The forecast only moves operations later, so bounds only grow (the agents merge them
 * with those they hold): the rounds cannot oscillate; they end once no agent reorders its work
 * into a new conflict, or the forecast itself is taken (`forecast`, a consistent schedule).
 */
export function propagatedBounds(
  index: ModelIndex,
  schedule: Schedule,
  options: {
    readonly nowTicks: Ticks;
    readonly unavailable: readonly ResourceInterval[];
    readonly cancelled?: readonly string[];
    /** What ran, where it really ran (besides what the plans show started before now). */
    readonly frozen?: readonly ResourceSlot[];
  },
): { readonly forecast: Schedule; readonly bounds: readonly StartConstraint[] } {
  const now = options.nowTicks;
  const frozen = new Map((options.frozen ?? []).map((f) => [f.activityId, f]));
  // What an agent's plan shows started before now has started: agents place nothing unstarted
  // before now. It stays where it is.
  for (const r of schedule.resources)
    for (const a of r.activities)
      if ((a.startTicks ?? now) < now && !frozen.has(a.activityId))
        frozen.set(a.activityId, {
          activityId: a.activityId,
          resourceId: r.resourceId,
          startTicks: a.startTicks ?? now,
          durationTicks: a.durationTicks ?? 0,
        });
  const forecast = retimeInOrder(index, schedule, {
    nowTicks: now,
    backfill: true,
    frozen: [...frozen.values()],
    unavailable: options.unavailable,
    ...(options.cancelled ? { cancelled: options.cancelled } : {}),
  });
  const end = new Map<string, Ticks>();
  for (const r of forecast.resources)
    for (const a of r.activities)
      end.set(a.activityId, (a.startTicks ?? 0) + (a.durationTicks ?? 0));
  const { predecessors } = activityPrecedences(index);
  const bounds: StartConstraint[] = [];
  for (const r of schedule.resources)
    for (const a of r.activities) {
      if (frozen.has(a.activityId)) continue;
      let need = Number.NEGATIVE_INFINITY;
      let why = "";
      for (const p of predecessors.get(a.activityId) ?? []) {
        const e = end.get(p);
        if (e !== undefined && e > need) {
          need = e;
          why = p;
        }
      }
      if (need > (a.startTicks ?? now))
        bounds.push({
          activityId: a.activityId,
          earliestStartTicks: need,
          reason: `${why} is forecast to end at ${need}`,
        });
    }
  bounds.sort((a, b) => compare(a.activityId, b.activityId));
  return { forecast, bounds };
}

/**
 * How late each operation of a schedule in force may start without touching another agent's work
 * or its job's tardiness: its end may reach the start of its earliest job or link successor on
 * another resource, or, with none placed, the due date above it (or its planned end, if that is
 * later already). A delay within it is the agent's alone to repair (the `local` level): the
 * planner installs these as the windows' latest starts, and the agent escalates only what its
 * own repair pushes past them. What follows on the same resource is the agent's own sequence, not
 * a bound. Operations with nothing after them and no due date are left out (no bound).
 */
export function slackLatestStarts(index: ModelIndex, schedule: Schedule): Map<string, Ticks> {
  const { successors } = activityPrecedences(index);
  const placed = new Map<string, { resourceId: string; start: Ticks; duration: Ticks }>();
  for (const r of schedule.resources)
    for (const a of r.activities)
      placed.set(a.activityId, {
        resourceId: r.resourceId,
        start: a.startTicks ?? 0,
        duration: a.durationTicks ?? 0,
      });
  const out = new Map<string, Ticks>();
  for (const [id, o] of placed) {
    let latestEnd = Number.POSITIVE_INFINITY;
    let bound = false;
    for (const s of successors.get(id) ?? []) {
      const p = placed.get(s);
      if (!p) continue;
      bound = true;
      if (p.resourceId !== o.resourceId) latestEnd = Math.min(latestEnd, p.start);
    }
    if (!bound)
      for (const n of ancestors(index, id)) {
        const due = index.nodes.get(n)?.due;
        if (due) latestEnd = Math.min(latestEnd, Math.max(due.dueTicks, o.start + o.duration));
      }
    if (Number.isFinite(latestEnd)) out.set(id, Math.max(o.start, latestEnd - o.duration));
  }
  return out;
}

/** An operation to place keeping its order: it starts no earlier than `earliestTicks`. */
export interface OrderedOperation {
  readonly activityId: string;
  readonly durationTicks: Ticks;
  readonly earliestTicks: Ticks;
}

/**
 * Places operations in the given order, each at the earliest fit at or after its earliest start,
 * in any idle gap the operations before it left whole (backfilling). No operation starts later
 * than keeping the order strictly (`placeInOrder`) would put it: those before it end by then.
 */
export function placeBackfilling(operations: readonly OrderedOperation[], busy: Busy): Slot[] {
  let timeline: Busy = busy;
  const out: Slot[] = [];
  for (const op of operations) {
    const start = earliestFit(timeline, op.earliestTicks, op.durationTicks);
    out.push({ activityId: op.activityId, startTicks: start, durationTicks: op.durationTicks });
    timeline = addBusy(timeline, { fromTicks: start, untilTicks: start + op.durationTicks });
  }
  return out;
}

/**
 * A scheduler agent's revision of a schedule in force (run-time negotiation): it keeps its order
 * and moves each unstarted operation to the earliest fit at or after where it stands (and now, and
 * its earliest-start bounds), filling gaps a delay leaves. Reordering to spare its own work would
 * push a job's next operations on other agents, which it cannot see; keeping the order never
 * delays an operation more than the delays that reach it, so the negotiation settles at once.
 */
export function reviseInOrder(input: {
  readonly slots: readonly Slot[];
  /** What started or ran: it stays. Default: what starts before now. */
  readonly fixed?: readonly string[];
  readonly nowTicks: Ticks;
  readonly constraints: readonly StartConstraint[];
  readonly unavailable: readonly Interval[];
}): { readonly slots: Slot[]; readonly moved: string[] } {
  const now = input.nowTicks;
  const fixedIds = input.fixed ? new Set(input.fixed) : undefined;
  const isFixed = (s: Slot) => (fixedIds ? fixedIds.has(s.activityId) : s.startTicks < now);
  const earliest = new Map<string, Ticks>();
  for (const c of input.constraints)
    if (c.earliestStartTicks !== undefined)
      earliest.set(
        c.activityId,
        Math.max(earliest.get(c.activityId) ?? c.earliestStartTicks, c.earliestStartTicks),
      );
  const fixed = input.slots.filter(isFixed);
  const movable = input.slots
    .filter((s) => !isFixed(s))
    .sort((a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId));
  const busy = mergeIntervals([
    ...input.unavailable,
    ...fixed.map((f) => ({ fromTicks: f.startTicks, untilTicks: f.startTicks + f.durationTicks })),
  ]);
  const placed = placeBackfilling(
    movable.map((s) => ({
      activityId: s.activityId,
      durationTicks: s.durationTicks,
      earliestTicks: Math.max(now, s.startTicks, earliest.get(s.activityId) ?? now),
    })),
    busy,
  );
  const was = new Map(movable.map((s) => [s.activityId, s.startTicks]));
  return {
    slots: [...fixed, ...placed].sort(
      (a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId),
    ),
    moved: placed
      .filter((s) => was.get(s.activityId) !== s.startTicks)
      .map((s) => s.activityId)
      .sort(compare),
  };
}

/** How much a repair changed the schedule in force, over operations not done yet. */
export interface ScheduleChurn {
  /** Operations whose start or resource changed. */
  readonly moved: number;
  /** Operations now after another operation on their resource than before (order changed). */
  readonly resequenced: number;
  /** Operations on another resource. */
  readonly reassigned: number;
}

/** The churn from `before` to `after`, ignoring operations in `done` and any not in both. */
export function scheduleChurn(
  before: Schedule,
  after: Schedule,
  done: ReadonlySet<string> = new Set(),
): ScheduleChurn {
  const place = (s: Schedule) => {
    const out = new Map<string, { resourceId: string; start: Ticks; previous: string }>();
    for (const r of s.resources) {
      const order = [...r.activities]
        .filter((a) => !done.has(a.activityId))
        .sort(
          (a, b) =>
            (a.startTicks ?? 0) - (b.startTicks ?? 0) || compare(a.activityId, b.activityId),
        );
      for (const [i, a] of order.entries())
        out.set(a.activityId, {
          resourceId: r.resourceId,
          start: a.startTicks ?? 0,
          previous: order[i - 1]?.activityId ?? "",
        });
    }
    return out;
  };
  const b = place(before);
  const a = place(after);
  let moved = 0;
  let resequenced = 0;
  let reassigned = 0;
  for (const [id, x] of a) {
    const y = b.get(id);
    if (!y) continue;
    if (x.resourceId !== y.resourceId) reassigned++;
    if (x.resourceId !== y.resourceId || x.start !== y.start) moved++;
    if (x.resourceId === y.resourceId && x.previous !== y.previous) resequenced++;
  }
  return { moved, resequenced, reassigned };
}

/** The objective the quality gate compares (lower is better), as the coordinator measures it. */
export function repairObjective(
  index: ModelIndex,
  schedule: Schedule,
  objective: JobShopObjective,
): number {
  const m = scheduleMetrics(index, schedule);
  return objective === "makespan"
    ? m.makespanTicks
    : m.totalWeightedTardiness + m.makespanTicks / 1000;
}

/** What the gate weighs: each operation moved or resequenced costs this much objective. */
export const DEFAULT_CHURN_WEIGHT = 1;

/**
 * The run-time quality gate: keep the distributed (negotiated, contract-net) plan unless the
 * central re-solve is better by more than `threshold` (a fraction) once each plan's churn is
 * charged `churnWeight` per operation moved or resequenced, and better on the objective itself.
 */
export function gateCentralRepair(input: {
  readonly distributed: { readonly value: number; readonly churn: ScheduleChurn };
  readonly central: { readonly value: number; readonly churn: ScheduleChurn };
  readonly threshold: number;
  readonly churnWeight?: number;
}): {
  readonly keep: "distributed" | "central";
  readonly distributed: number;
  readonly central: number;
} {
  const w = input.churnWeight ?? DEFAULT_CHURN_WEIGHT;
  const cost = (x: { value: number; churn: ScheduleChurn }) =>
    x.value + w * (x.churn.moved + x.churn.resequenced);
  const distributed = cost(input.distributed);
  const central = cost(input.central);
  // Central must also be better on the objective itself: a re-solve that only moves fewer
  // operations is no reason to leave the level that settled it (on a small objective one
  // operation's churn would otherwise pass any relative threshold).
  const better =
    central < distributed * (1 - input.threshold) && input.central.value < input.distributed.value;
  return {
    keep: better ? "central" : "distributed",
    distributed,
    central,
  };
}

/**
 * What a negotiated plan shows started: its slots before now, where the agents say they are (an
 * agent places nothing unstarted before now; completions stand where they ran). The central
 * re-solve the gate weighs keeps these, not the planner's older guesses of when work started
 * (an operation held back by an overrun ahead of it starts later than planned).
 */
export function startedSlots(schedule: Schedule, nowTicks: Ticks): ResourceSlot[] {
  return schedule.resources.flatMap((r) =>
    r.activities
      .filter((a) => (a.startTicks ?? nowTicks) < nowTicks)
      .map((a) => ({
        activityId: a.activityId,
        resourceId: r.resourceId,
        startTicks: a.startTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
  );
}

/**
 * The central re-solve's frozen horizon (pinning): besides what has started, the operations of
 * `schedule` that start before `untilTicks` stay where they are, in start order, as long as all
 * their predecessors are kept too (a re-solve keeps each job's prefix). Near-term work does not
 * jump around; the solver reshapes what lies beyond.
 */
export function pinHorizon(
  index: ModelIndex,
  schedule: Schedule,
  frozen: readonly ResourceSlot[],
  untilTicks: Ticks,
): ResourceSlot[] {
  const { predecessors } = activityPrecedences(index);
  const kept = new Map(frozen.map((f) => [f.activityId, f]));
  const near = schedule.resources
    .flatMap((r) =>
      r.activities.map((a) => ({
        activityId: a.activityId,
        resourceId: r.resourceId,
        startTicks: a.startTicks ?? 0,
        durationTicks: a.durationTicks ?? 0,
      })),
    )
    .filter((s) => !kept.has(s.activityId) && s.startTicks < untilTicks)
    .sort((a, b) => a.startTicks - b.startTicks || compare(a.activityId, b.activityId));
  for (const s of near)
    if ((predecessors.get(s.activityId) ?? []).every((p) => kept.has(p))) kept.set(s.activityId, s);
  return [...kept.values()];
}

/**
 * What a scheduler agent with a schedule in force answers a run-time negotiation's request: it
 * adds the bounds to those it holds and revises keeping its order (`reviseInOrder`). A
 * reassignment (problem adjustment) is a new plan: built as `answerRequest` does.
 */
export function answerRuntimeRequest(
  agent: Parameters<typeof answerRequest>[0],
  request: RepairRequest,
  nowTicks: number,
  heuristic: LocalHeuristic,
): ReturnType<typeof answerRequest> {
  if (request.kind === "reassign") return answerRequest(agent, request, nowTicks, heuristic);
  const constraints = mergeConstraints(agent.constraints, request.constraints);
  const revised = reviseInOrder({
    slots: agent.slots,
    ...(agent.fixed ? { fixed: agent.fixed } : {}),
    nowTicks,
    constraints,
    unavailable: agent.unavailable,
  });
  return {
    assignments: agent.assignments,
    unavailable: agent.unavailable,
    constraints,
    answer: { resourceId: agent.resourceId, version: request.version, slots: revised.slots },
  };
}
