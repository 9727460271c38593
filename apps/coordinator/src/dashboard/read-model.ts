import type { Schedule, TaskModel, Ticks } from "@consort/core";
import type { Coordinator, CoordinatorEvent } from "../coordinator.js";
import { interruptedAttempts } from "../report/jobs.js";
import type { ExecutedBar, FleetReport, ReportDisruption, ReportRepair } from "../report/types.js";

/**
 * What an operator looks at, kept up to date from the coordinator's own events (it never asks an
 * agent): agents, the schedule planned and as executed, failed attempts and downtime, orders and
 * jobs with their lateness, disruptions and the repairs that answered them, message rates.
 */
export interface DashboardSnapshot {
  readonly site: string;
  readonly nowTicks: Ticks;
  readonly atMs: number;
  readonly version: number;
  readonly resources: readonly string[];
  readonly agents: readonly AgentView[];
  readonly planned: readonly PlannedBar[];
  readonly executed: readonly ExecutedBar[];
  readonly attempts: readonly ExecutedBar[];
  readonly downtime: readonly DowntimeView[];
  readonly jobs: readonly JobView[];
  readonly orders: readonly OrderView[];
  readonly timeline: readonly TimelineEntry[];
  readonly rates: readonly RateView[];
  readonly completed: number;
  readonly activities: number;
}

export interface AgentView {
  readonly agentId: string;
  readonly online: boolean;
  readonly epoch?: number;
  readonly lastSeenMs?: number;
  /** What its installed schedule has it running now (agents report deviations, not progress). */
  readonly current?: string;
}

export interface PlannedBar {
  readonly resourceId: string;
  readonly activityId: string;
  readonly jobId: string;
  readonly startTicks: Ticks;
  readonly endTicks: Ticks;
}

export interface DowntimeView {
  readonly resourceId: string;
  readonly fromTicks: Ticks;
  readonly untilTicks: Ticks;
  readonly reason: string;
}

export interface JobView {
  readonly jobId: string;
  readonly dueTicks?: Ticks;
  /** When its last operation ended, once every operation has. */
  readonly endTicks?: Ticks;
  /** The planned end of what is not done yet. */
  readonly plannedEndTicks?: Ticks;
  /** Ticks past the due date (0 when on time): as executed when done, else as planned. */
  readonly latenessTicks?: number;
  readonly done: number;
  readonly operations: number;
}

export interface OrderView {
  readonly orderId: string;
  readonly from: string;
  readonly jobs: number;
  readonly accepted: boolean;
  readonly reason?: string;
  readonly atTicks: Ticks;
}

export interface TimelineEntry {
  readonly atTicks: Ticks;
  readonly atMs: number;
  readonly kind:
    | "disruption"
    | "repair"
    | "local-repair"
    | "order"
    | "agent"
    | "repair-failed"
    /** C-TAEMS: an agent told the deliberative scheduler a node's probability fell too low. */
    | "escalation";
  readonly text: string;
  /** For a repair: which CAMPS step settled it, what set it off, and the version installed. */
  readonly strategy?: string;
  readonly trigger?: string;
  readonly version?: number;
  readonly latencyMs?: number;
  readonly resourceId?: string;
}

export interface RateView {
  readonly type: string;
  readonly direction: "in" | "out";
  readonly total: number;
  readonly bytes: number;
  /** Over the last RATE_WINDOW_MS. */
  readonly perSecond: number;
  readonly bytesPerSecond: number;
}

const RATE_WINDOW_MS = 10_000;
const TIMELINE_LIMIT = 500;

export class DashboardReadModel {
  private model: TaskModel;
  private nodeParent = new Map<string, string>();
  private version = 0;
  private planned: Schedule | undefined;
  private readonly agents = new Map<string, AgentView>();
  private readonly executed = new Map<string, ExecutedBar>();
  private readonly attempts: ExecutedBar[] = [];
  private readonly downtime: DowntimeView[] = [];
  private readonly orders: OrderView[] = [];
  private readonly timeline: TimelineEntry[] = [];
  private readonly repairs: ReportRepair[] = [];
  private readonly traffic = new Map<
    string,
    { type: string; direction: "in" | "out"; total: number; bytes: number; recent: number[][] }
  >();
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;
  private readonly startedMs = Date.now();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly site: string,
    private readonly now: () => number = Date.now,
  ) {
    this.model = coordinator.currentModel;
    this.indexModel();
    for (const [activityId, e] of coordinator.record.executed)
      this.executed.set(activityId, this.bar(activityId, e.resourceId, e.startTicks, e.endTicks));
    if (coordinator.schedule) this.setPlanned(coordinator.schedule);
    this.stop = coordinator.onEvent((e) => this.apply(e));
  }

  /** Stops listening to the coordinator. */
  close(): void {
    this.stop();
    this.listeners.clear();
  }

  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private indexModel(): void {
    this.nodeParent = new Map();
    for (const n of this.model.nodes)
      if (n.kind === "task") for (const c of n.children) this.nodeParent.set(c, n.id);
  }

  /** The job of an activity: its ancestor just under the root (itself for a one-level tree). */
  private jobOf(activityId: string): string {
    let id = activityId;
    for (let guard = 0; guard < 1000; guard++) {
      const p = this.nodeParent.get(id);
      if (p === undefined || p === this.model.root) return id;
      id = p;
    }
    return id;
  }

  private bar(
    activityId: string,
    resourceId: string,
    startTicks: Ticks,
    endTicks: Ticks,
    status: "completed" | "failed" | "aborted" = "completed",
  ): ExecutedBar {
    return {
      resourceId,
      activityId,
      jobId: this.jobOf(activityId),
      startTicks,
      endTicks,
      status,
    };
  }

  private setPlanned(schedule: Schedule): void {
    this.planned = schedule;
    this.version = Math.max(this.version, schedule.version);
  }

  private note(entry: Omit<TimelineEntry, "atMs">): void {
    this.timeline.push({ ...entry, atMs: this.now() });
    if (this.timeline.length > TIMELINE_LIMIT) this.timeline.shift();
  }

  private apply(e: CoordinatorEvent): void {
    switch (e.kind) {
      case "message": {
        this.count(e.type, e.direction, e.bytes);
        if (e.direction === "in" && e.peer !== undefined && this.agents.has(e.peer)) {
          const a = this.agents.get(e.peer)!;
          this.agents.set(e.peer, { ...a, lastSeenMs: this.now() });
        }
        return; // rates reach the page on its next tick; no change event per message
      }
      case "agent": {
        const before = this.agents.get(e.agentId);
        this.agents.set(e.agentId, {
          agentId: e.agentId,
          online: e.online,
          ...(e.epoch !== undefined ? { epoch: e.epoch } : {}),
          lastSeenMs: this.now(),
        });
        if (before && before.online !== e.online)
          this.note({
            atTicks: e.atTicks,
            kind: "agent",
            text: `${e.agentId} ${e.online ? "back online" : "offline"} (epoch ${e.epoch ?? "?"})`,
            resourceId: e.agentId,
          });
        break;
      }
      case "activity":
        if (e.event === "aborted")
          this.attempts.push(
            this.bar(e.activityId, e.agentId, e.startTicks ?? e.atTicks, e.atTicks, "aborted"),
          );
        break;
      case "done":
        this.executed.set(
          e.activityId,
          this.bar(e.activityId, e.resourceId, e.startTicks, e.endTicks),
        );
        break;
      case "failure": {
        this.note({
          atTicks: e.atTicks,
          kind: "disruption",
          text: `${e.cause} on ${e.agentId} from ${e.fromTicks}${e.untilTicks !== undefined ? ` until ${e.untilTicks}` : ""}: escalated ${e.activityIds.length} activities${e.detail ? ` (${e.detail})` : ""}`,
          resourceId: e.agentId,
        });
        break;
      }
      case "unavailable": {
        this.downtime.push({
          resourceId: e.resourceId,
          fromTicks: e.fromTicks,
          untilTicks: e.untilTicks,
          reason: e.reason,
        });
        // An agent's breakdown cut its run short; an operator's mark-down is a planning fact only.
        if (e.reason === "breakdown") this.interrupted(e.resourceId, e.fromTicks);
        else
          this.note({
            atTicks: e.fromTicks,
            kind: "disruption",
            text: `${e.resourceId} down ${e.fromTicks}\u2013${e.untilTicks}: ${e.reason}`,
            resourceId: e.resourceId,
          });
        break;
      }
      case "installed":
        this.setPlanned(e.schedule);
        break;
      case "local-repair":
        this.setPlanned(e.schedule);
        this.note({
          atTicks: e.atTicks,
          kind: "local-repair",
          text: `${e.agentId} repaired its own schedule (local step): new times reported, nobody else affected`,
          strategy: "local",
          resourceId: e.agentId,
        });
        break;
      case "repaired": {
        const r: ReportRepair = {
          atTicks: e.atTicks,
          trigger: e.trigger,
          strategy: e.strategy,
          version: e.version,
          latencyMs: e.latencyMs,
          affectedAgents: e.affectedAgents,
        };
        this.repairs.push(r);
        this.note({
          atTicks: e.atTicks,
          kind: "repair",
          text: `${e.trigger}: ${e.strategy} installed version ${e.version} on ${e.affectedAgents} agents in ${e.latencyMs} ms`,
          strategy: e.strategy,
          trigger: e.trigger,
          version: e.version,
          latencyMs: e.latencyMs,
        });
        break;
      }
      case "order":
        this.orders.push({
          orderId: e.orderId,
          from: e.from,
          jobs: e.jobs,
          accepted: e.accepted,
          ...(e.reason !== undefined ? { reason: e.reason } : {}),
          atTicks: e.atTicks,
        });
        this.note({
          atTicks: e.atTicks,
          kind: "order",
          text: e.accepted
            ? `order ${e.orderId} from ${e.from} accepted: ${e.jobs} jobs`
            : `order ${e.orderId} from ${e.from} refused: ${e.reason ?? "?"}`,
        });
        break;
      case "model":
        this.model = e.model;
        this.indexModel();
        break;
      case "repair-failed":
        this.note({
          atTicks: this.coordinator.nowTicks,
          kind: "repair-failed",
          text: `repair after ${e.trigger} failed: ${e.error}; the schedule in force stays`,
        });
        break;
      case "rejected":
      case "all-done":
        break;
    }
    for (const l of this.listeners) l();
  }

  /**
   * Agents retry an interrupted run silently; what a breakdown cut short is the planned slot that
   * was under way on that resource when it began: a failed attempt, besides its later retry.
   */
  private interrupted(resourceId: string, atTicks: Ticks): void {
    this.attempts.push(
      ...interruptedAttempts(
        this.planned,
        resourceId,
        atTicks,
        (a) => this.executed.has(a),
        (a) => this.jobOf(a),
      ),
    );
  }

  private count(type: string, direction: "in" | "out", bytes: number): void {
    const key = `${direction}:${type}`;
    let t = this.traffic.get(key);
    if (!t) {
      t = { type, direction, total: 0, bytes: 0, recent: [] };
      this.traffic.set(key, t);
    }
    t.total += 1;
    t.bytes += bytes;
    const now = this.now();
    t.recent.push([now, bytes]);
    while (t.recent.length > 0 && t.recent[0]![0]! < now - RATE_WINDOW_MS) t.recent.shift();
  }

  /** Failed and aborted attempts so far (for a report's Gantt besides what completed). */
  get failedAttempts(): readonly ExecutedBar[] {
    return this.attempts;
  }

  snapshot(): DashboardSnapshot {
    const now = this.coordinator.nowTicks;
    const resources = this.model.resources.map((r) => r.id);
    const planned: PlannedBar[] = [];
    for (const r of this.planned?.resources ?? [])
      for (const a of r.activities) {
        const start = a.startTicks ?? 0;
        planned.push({
          resourceId: r.resourceId,
          activityId: a.activityId,
          jobId: this.jobOf(a.activityId),
          startTicks: start,
          endTicks: start + (a.durationTicks ?? 0),
        });
      }
    const agents = resources.map((id) => {
      const a = this.agents.get(id) ?? { agentId: id, online: false };
      const current = planned.find(
        (p) =>
          p.resourceId === id &&
          p.startTicks <= now &&
          now < p.endTicks &&
          !this.executed.has(p.activityId),
      );
      return current ? { ...a, current: current.activityId } : a;
    });
    const windowStart = this.now() - RATE_WINDOW_MS;
    const span = Math.min(RATE_WINDOW_MS, Math.max(1000, this.now() - this.startedMs)) / 1000;
    const rates = [...this.traffic.values()]
      .map((t) => {
        const recent = t.recent.filter(([at]) => at! >= windowStart);
        return {
          type: t.type,
          direction: t.direction,
          total: t.total,
          bytes: t.bytes,
          perSecond: recent.length / span,
          bytesPerSecond: recent.reduce((s, [, b]) => s + b!, 0) / span,
        };
      })
      .sort((a, b) => b.total - a.total);
    const activities = this.model.nodes.filter((n) => n.kind === "activity").length;
    return {
      site: this.site,
      nowTicks: now,
      atMs: this.now(),
      version: this.version,
      resources,
      agents,
      planned,
      executed: [...this.executed.values()],
      attempts: [...this.attempts],
      downtime: [...this.downtime],
      jobs: this.jobs(planned),
      orders: [...this.orders],
      timeline: [...this.timeline],
      rates,
      completed: this.executed.size,
      activities,
    };
  }

  private jobs(planned: readonly PlannedBar[]): JobView[] {
    const root = this.model.nodes.find((n) => n.id === this.model.root);
    const jobIds = root?.kind === "task" ? root.children : [];
    const byId = new Map(this.model.nodes.map((n) => [n.id, n]));
    const ops = new Map<string, string[]>();
    for (const n of this.model.nodes)
      if (n.kind === "activity") {
        const j = this.jobOf(n.id);
        ops.set(j, [...(ops.get(j) ?? []), n.id]);
      }
    const plannedEnd = new Map(planned.map((p) => [p.activityId, p.endTicks]));
    return jobIds.map((jobId) => {
      const node = byId.get(jobId);
      const mine = ops.get(jobId) ?? [];
      const done = mine.filter((a) => this.executed.has(a));
      const due = node?.due?.dueTicks ?? node?.deadlineTicks;
      const endTicks =
        done.length === mine.length && mine.length > 0
          ? Math.max(...done.map((a) => this.executed.get(a)!.endTicks))
          : undefined;
      const open = mine.filter((a) => !this.executed.has(a)).map((a) => plannedEnd.get(a));
      const plannedEndTicks =
        open.length > 0 && open.every((x) => x !== undefined)
          ? Math.max(...(open as number[]))
          : undefined;
      const finish = endTicks ?? plannedEndTicks;
      return {
        jobId,
        ...(due !== undefined ? { dueTicks: due } : {}),
        ...(endTicks !== undefined ? { endTicks } : {}),
        ...(plannedEndTicks !== undefined ? { plannedEndTicks } : {}),
        ...(due !== undefined && finish !== undefined
          ? { latenessTicks: Math.max(0, finish - due) }
          : {}),
        done: done.length,
        operations: mine.length,
      };
    });
  }

  /**
   * The self-contained report of the fleet for [fromTicks, untilTicks] of a deployment: what
   * ran, failed attempts, downtime, due dates and lateness, disruptions and repairs.
   */
  report(fromTicks = 0, untilTicks = Number.POSITIVE_INFINITY): FleetReport {
    const s = this.snapshot();
    const inPeriod = (a: number, b: number) => b >= fromTicks && a <= untilTicks;
    const executed = s.executed.filter((b) => inPeriod(b.startTicks, b.endTicks));
    const attempts = s.attempts.filter((b) => inPeriod(b.startTicks, b.endTicks));
    const downtime = s.downtime.filter((d) => inPeriod(d.fromTicks, d.untilTicks));
    const disruptions: ReportDisruption[] = s.timeline
      .filter((t) => t.kind === "disruption" && inPeriod(t.atTicks, t.atTicks))
      .map((t) => ({
        kind: "breakdown" as const,
        atTicks: t.atTicks,
        ...(t.resourceId ? { resourceId: t.resourceId } : {}),
        detail: t.text,
      }));
    const repairs = this.repairs.filter((r) => inPeriod(r.atTicks, r.atTicks));
    const end = Math.max(0, ...executed.map((b) => b.endTicks));
    const rec = this.coordinator.record;
    const sum = (d: "in" | "out", k: "total" | "bytes") =>
      s.rates.filter((r) => r.direction === d).reduce((n, r) => n + r[k], 0);
    const wallSeconds = (this.now() - this.startedMs) / 1000;
    return {
      scenario: this.model.name,
      seed: 0,
      site: this.site,
      agents: s.resources.length,
      processes: s.resources.length,
      activities: s.activities,
      completed: s.completed,
      feasible: true,
      violations: [],
      endTicks: Math.min(end, untilTicks),
      wallSeconds,
      ticksPerSecond: wallSeconds > 0 ? s.nowTicks / wallSeconds : 0,
      objectives: objectivesOf(s.jobs, end),
      reference: { ...objectivesOf(s.jobs, end), solverSeconds: 0 },
      disruptions,
      repairs,
      localRepairs: rec.localRepairs.length,
      escalations: rec.escalations.length,
      messages: sum("in", "total") + sum("out", "total"),
      bytes: sum("in", "bytes") + sum("out", "bytes"),
      perAgent: [...this.coordinator.perAgent].map(([agentId, t]) => ({
        agentId,
        sent: t.received,
        received: t.sent,
        bytesSent: t.bytesReceived,
        bytesReceived: t.bytesSent,
      })),
      executed: [...attempts, ...executed],
      downtime,
      jobs: s.jobs.map((j) => ({
        jobId: j.jobId,
        ...(j.dueTicks !== undefined ? { dueTicks: j.dueTicks } : {}),
        ...(j.endTicks !== undefined ? { endTicks: j.endTicks } : {}),
        ...(j.latenessTicks !== undefined && j.endTicks !== undefined
          ? { latenessTicks: j.latenessTicks }
          : {}),
      })),
      resourceOrder: s.resources,
    };
  }
}

function objectivesOf(jobs: readonly JobView[], end: number) {
  const late = jobs.filter((j) => j.endTicks !== undefined && j.latenessTicks !== undefined);
  return {
    makespan: end,
    totalWeightedTardiness: late.reduce((s, j) => s + (j.latenessTicks ?? 0), 0),
    meanLeadTime: 0,
    totalWait: 0,
    quality: jobs.filter((j) => j.endTicks !== undefined).length,
  };
}
