import {
  type CtaemsWorld,
  expectedValue,
  type ModelIndex,
  type PeerBody,
  probabilityDrops,
  type Schedule,
  type TreeNodeView,
  type TreeView,
  taskTreeView,
} from "@consort/core";
import type { CscCoordinator, CscEvent } from "../csc/csc-coordinator.js";
import type { ExecutedBar, FleetReport, ReportDisruption, ReportRepair } from "../report/types.js";
import type {
  AgentView,
  DashboardSnapshot,
  PlannedBar,
  RateView,
  TimelineEntry,
} from "./read-model.js";

/** The C-TAEMS part of a dashboard snapshot: root quality so far and the task tree. */
export interface CtaemsView {
  readonly rootQuality: number;
  readonly expectedRootQuality: number;
  /** Root quality so far and expected, tick by tick (thinned to at most HISTORY_LIMIT points). */
  readonly history: readonly {
    readonly tick: number;
    readonly rootQuality: number;
    readonly expected: number;
  }[];
  readonly tree: readonly (TreeNodeView & { readonly criticality: number })[];
  readonly horizon: number;
  readonly escalations: number;
  readonly installs: number;
  readonly refused: number;
}

/** Falls in a node's probability smaller than this are not worth a line in the timeline. */
const DROP_THRESHOLD = 0.25;
const TIMELINE_LIMIT = 500;
const HISTORY_LIMIT = 400;
const RATE_WINDOW_MS = 10_000;

const round = (x: number) => Math.round(x * 100) / 100;

interface Install {
  readonly lock: number;
  readonly activity: string;
  readonly agent: string;
  readonly atTicks: number;
  readonly atMs: number;
  readonly why: string;
  /** Set once its owner answered. */
  answered?: boolean;
}

/**
 * What an operator of a C-TAEMS run looks at, kept from the C-TAEMS coordinator's own events:
 * the agents, each agent's methods as planned and as run, the root quality so far, each node's
 * probability and criticality on the task tree (core's `taskTreeView`, from what ran, what runs
 * and what is planned), and a timeline of the nodes whose probability fell, the escalations that
 * reached the deliberative scheduler and what it installed where. The snapshot has the job-shop
 * dashboard's shape (the page draws the same Gantt and tables) plus `ctaems`.
 */
export class CscDashboardReadModel {
  private index: ModelIndex;
  private world: CtaemsWorld | undefined;
  private trial = 0;
  private tick = 0;
  private agentIds: readonly string[];
  private readonly agents = new Map<string, AgentView>();
  /** Methods planned and not started: the initial schedule's, then what was installed. */
  private planned = new Map<string, number>();
  private readonly installs = new Map<string, Install>();
  private readonly locks = new Map<number, Install[]>();
  private readonly escalatedBy = new Map<string, string>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly repairs: ReportRepair[] = [];
  /** Every install sent, answered or not (a report of the run so far lists those awaited). */
  private readonly sent: Install[] = [];
  private readonly disruptions: ReportDisruption[] = [];
  private history: { tick: number; rootQuality: number; expected: number }[] = [];
  /** The tree's probabilities, as of the last tick. */
  private view: TreeView | undefined;
  /** The criticalities, recomputed at most every `criticalityEveryMs` (they cost far more). */
  private critical: { tick: number; atMs: number; byId: Map<string, number> } | undefined;
  private readonly criticalityEveryMs: number;
  private counts = { escalations: 0, installs: 0, refused: 0 };
  private readonly rateSamples: { atMs: number; totals: Map<string, [number, number]> }[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;
  private readonly startedMs: number;

  constructor(
    private readonly coordinator: CscCoordinator,
    private readonly site: string,
    private readonly now: () => number = Date.now,
    options: { readonly criticalityEveryMs?: number } = {},
  ) {
    this.criticalityEveryMs = options.criticalityEveryMs ?? 1000;
    this.index = coordinator.index;
    this.agentIds = coordinator.agents();
    this.startedMs = now();
    this.planFrom(coordinator.initial);
    // Agents that came online before the dashboard did (their retained descriptors).
    for (const agentId of this.agentIds) {
      const epoch = coordinator.epochOf(agentId);
      if (epoch !== undefined)
        this.agents.set(agentId, { agentId, online: coordinator.isOnline(agentId), epoch });
    }
    this.view = this.compute(0);
    this.stop = coordinator.onEvent((e) => this.apply(e));
  }

  close(): void {
    this.stop();
    this.listeners.clear();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private planFrom(schedule: CscCoordinator["initial"]): void {
    this.planned = new Map();
    for (const r of schedule.resources)
      for (const a of r.activities)
        if (a.startTicks !== undefined) this.planned.set(a.activityId, a.startTicks);
  }

  private note(entry: Omit<TimelineEntry, "atMs">): void {
    this.timeline.push({ ...entry, atMs: this.now() });
    if (this.timeline.length > TIMELINE_LIMIT) this.timeline.shift();
  }

  private compute(tick: number, criticality = false): TreeView {
    const progress = this.world?.progress() ?? { executed: [], running: [] };
    const started = new Set([
      ...progress.executed.map((e) => e.activityId),
      ...progress.running.map((r) => r.activityId),
    ]);
    const planned = new Map([...this.planned].filter(([id]) => !started.has(id)));
    return taskTreeView(
      this.world?.model ?? this.index,
      { tick, executed: progress.executed, running: progress.running, planned },
      { criticality },
    );
  }

  private apply(e: CscEvent): void {
    switch (e.kind) {
      case "trial":
        this.world = e.world;
        this.trial = e.trial;
        this.tick = 0;
        this.agentIds = [...e.agents];
        this.planFrom(e.schedule);
        this.released(e.initial, e.schedule);
        this.installs.clear();
        this.locks.clear();
        this.history = [];
        this.critical = undefined;
        this.view = this.compute(0);
        break;
      case "agent": {
        const before = this.agents.get(e.agentId);
        this.agents.set(e.agentId, {
          agentId: e.agentId,
          online: e.online,
          epoch: e.epoch,
          lastSeenMs: this.now(),
        });
        if (before && before.online !== e.online)
          this.note({
            atTicks: this.tick,
            kind: "agent",
            text: `${e.agentId} ${e.online ? "back online" : "offline"} (epoch ${e.epoch})`,
            resourceId: e.agentId,
          });
        break;
      }
      case "heard": {
        const a = this.agents.get(e.agentId);
        if (a) this.agents.set(e.agentId, { ...a, lastSeenMs: this.now() });
        return; // the page sees it on its next tick; no change event per answer
      }
      case "tick":
        this.world = e.world;
        this.onTick(e.tick);
        break;
      case "scheduler-in":
        this.fromAgent(e.tick, e.from, e.body);
        break;
      case "scheduler-out":
        this.fromScheduler(e.tick, e.to, e.body);
        break;
    }
    for (const l of this.listeners) l();
  }

  private onTick(tick: number): void {
    this.tick = tick;
    const before = this.view;
    const after = this.compute(tick);
    this.view = after;
    this.history.push({
      tick,
      rootQuality: after.rootQuality,
      expected: round(after.expectedRootQuality),
    });
    // Thinned by halves: a long run keeps its shape in a bounded series.
    if (this.history.length > HISTORY_LIMIT)
      this.history = this.history.filter((_, i) => i % 2 === 0 || i === this.history.length - 1);
    this.sampleRates();
    if (!before) return;
    const drops = probabilityDrops(before, after, DROP_THRESHOLD);
    if (drops.length === 0) return;
    const methods = new Set(this.index.activities.map((a) => a.id));
    const ended = new Map(this.world?.progress().executed.map((x) => [x.activityId, x]));
    const failed = drops
      .filter((d) => d.status === "failed" && methods.has(d.nodeId))
      .map(
        (d) => `${d.nodeId} ${this.aborted(ended.get(d.nodeId)) ? "aborted" : "earned nothing"}`,
      );
    const cause =
      failed.length > 0 ? failed.join(", ") : "less time left, or an enabler's odds fell";
    const text = `probability fell: ${drops
      .slice(0, 6)
      .map((d) => `${d.nodeId} ${d.from.toFixed(2)}\u2192${d.to.toFixed(2)}`)
      .join(", ")}${drops.length > 6 ? ` and ${drops.length - 6} more` : ""} (${cause})`;
    const top = drops[0]!;
    this.note({ atTicks: tick, kind: "disruption", text, trigger: top.nodeId });
    this.disruptions.push({
      kind: "probability-drop",
      atTicks: tick,
      detail: text,
      ...(methods.has(top.nodeId) ? { activityId: top.nodeId } : {}),
    });
  }

  private fromAgent(tick: number, from: string, body: PeerBody): void {
    if (body.type === "escalate") this.escalated(tick, from, body);
    else if (body.type === "installed") this.answered(tick, from, body.lock, body.ok);
    else if (body.type === "summary") {
      for (const x of body.escalations) this.escalated(tick, from, x);
      for (const a of body.installed) this.answered(tick, a.agent, a.lock, a.ok);
    }
  }

  private escalated(
    tick: number,
    from: string,
    e: { node: string; p: number; threshold: number },
  ): void {
    this.counts.escalations++;
    const why = `${from} escalated ${e.node}: its probability ${e.p.toFixed(2)} fell below ${e.threshold.toFixed(2)}`;
    this.escalatedBy.set(e.node, why);
    this.note({ atTicks: tick, kind: "escalation", text: why, trigger: e.node, resourceId: from });
  }

  /**
   * What the deliberative scheduler changed in the initial schedule before the run (the
   * schedule the agents were given, `scheduleFor`): each method it planned, and each it took out.
   */
  private released(initial: Schedule, given: Schedule): void {
    if (given === initial) return;
    const startsOf = (s: Schedule) =>
      new Map(
        s.resources.flatMap((r) =>
          r.activities.map(
            (a) => [a.activityId, { agent: r.resourceId, at: a.startTicks }] as const,
          ),
        ),
      );
    const before = startsOf(initial);
    const after = startsOf(given);
    for (const [id, { agent, at }] of after) {
      if (before.has(id)) continue;
      this.counts.installs++;
      const node = this.index.parent.get(id) ?? id;
      this.repairs.push({
        atTicks: 0,
        trigger: "before the run",
        strategy: `deliberative: ${id} on ${agent}`,
        version: given.version,
        latencyMs: 0,
        affectedAgents: 1,
      });
      this.note({
        atTicks: 0,
        kind: "repair",
        strategy: "deliberative",
        text: `before the run, planned ${id} on ${agent} at ${at ?? 0}, under ${node}`,
        trigger: node,
        version: given.version,
        resourceId: agent,
      });
    }
    for (const [id, { agent }] of before)
      if (!after.has(id))
        this.note({
          atTicks: 0,
          kind: "repair",
          strategy: "deliberative",
          text: `before the run, took ${id} out of ${agent}'s plan`,
          version: given.version,
          resourceId: agent,
        });
  }

  private fromScheduler(tick: number, to: string, body: PeerBody): void {
    if (body.type === "install") {
      this.counts.installs++;
      const node = this.index.parent.get(body.activity) ?? body.activity;
      const why = this.escalatedBy.get(node) ?? `${node} needed it`;
      const install: Install = {
        lock: body.lock,
        activity: body.activity,
        agent: to,
        atTicks: tick,
        atMs: this.now(),
        why,
      };
      this.installs.set(body.activity, install);
      this.sent.push(install);
      this.locks.set(body.lock, [...(this.locks.get(body.lock) ?? []), install]);
      this.planned.set(body.activity, body.earliest);
      this.note({
        atTicks: tick,
        kind: "repair",
        strategy: "deliberative",
        text: `installed ${body.activity} on ${to}, to start in [${body.earliest}, ${body.latest}], under ${node} (lock ${body.lock}; ${why})`,
        trigger: node,
        version: body.lock,
        resourceId: to,
      });
    } else if (body.type === "cancel") {
      this.planned.delete(body.activity);
      this.installs.delete(body.activity);
      this.note({
        atTicks: tick,
        kind: "repair-failed",
        strategy: "deliberative",
        text: `withdrew ${body.activity} from ${to} (lock ${body.lock}: another owner refused its part)`,
        resourceId: to,
      });
    }
  }

  private answered(tick: number, agent: string, lock: number, ok: boolean): void {
    const mine = (this.locks.get(lock) ?? []).filter((i) => i.agent === agent);
    for (const i of mine) {
      i.answered = true;
      if (!ok) {
        this.planned.delete(i.activity);
        this.installs.delete(i.activity);
      }
      this.repairs.push({
        atTicks: i.atTicks,
        trigger: i.why,
        strategy: ok
          ? `deliberative: ${i.activity} on ${agent}`
          : `refused: ${i.activity} on ${agent}`,
        version: lock,
        latencyMs: this.now() - i.atMs,
        affectedAgents: 1,
      });
    }
    if (!ok) this.counts.refused++;
    this.note({
      atTicks: tick,
      kind: ok ? "repair" : "repair-failed",
      strategy: "deliberative",
      text: `${agent} ${ok ? "took" : "refused"} ${mine.map((i) => i.activity).join(", ") || `lock ${lock}`}`,
      version: lock,
      resourceId: agent,
    });
  }

  private sampleRates(): void {
    const stats = this.coordinator.trafficStats;
    const totals = new Map<string, [number, number]>();
    for (const [type, c] of stats.sent) totals.set(`out:${type}`, [c.messages, c.bytes]);
    for (const [type, c] of stats.received) totals.set(`in:${type}`, [c.messages, c.bytes]);
    const atMs = this.now();
    this.rateSamples.push({ atMs, totals });
    while (this.rateSamples.length > 2 && this.rateSamples[0]!.atMs < atMs - RATE_WINDOW_MS)
      this.rateSamples.shift();
  }

  private rates(): RateView[] {
    this.sampleRates();
    const last = this.rateSamples[this.rateSamples.length - 1]!;
    const first = this.rateSamples[0]!;
    const span = Math.max(1, (last.atMs - first.atMs) / 1000);
    return [...last.totals]
      .map(([key, [total, bytes]]) => {
        const [direction, type] = key.split(":") as ["in" | "out", string];
        const [t0, b0] = first.totals.get(key) ?? [0, 0];
        return {
          type,
          direction,
          total,
          bytes,
          perSecond: first === last ? 0 : (total - t0) / span,
          bytesPerSecond: first === last ? 0 : (bytes - b0) / span,
        };
      })
      .sort((a, b) => b.total - a.total);
  }

  /** Whether a run ended before any of its outcomes could (its agent stopped it). */
  private aborted(e: { activityId: string; startTicks: number; endTicks: number } | undefined) {
    const node = e && this.index.nodes.get(e.activityId);
    if (!e || node?.kind !== "activity") return false;
    return e.endTicks - e.startTicks < Math.min(...node.duration.map((o) => o.value));
  }

  /** The top-level task a method serves (the root's child above it), for colouring. */
  private jobOf(id: string): string {
    const root = this.index.model.root;
    let n = id;
    for (let guard = 0; guard < 1000; guard++) {
      const p = this.index.parent.get(n);
      if (p === undefined || p === root) return n;
      n = p;
    }
    return n;
  }

  /** The tree view, computed afresh when asked between ticks (a trial not begun yet). */
  get tree(): TreeView {
    this.view ??= this.compute(this.tick);
    return this.view;
  }

  /** Each node's criticality, fresh unless computed less than `criticalityEveryMs` ago. */
  private criticalities(): Map<string, number> {
    const c = this.critical;
    if (c && (c.tick === this.tick || this.now() - c.atMs < this.criticalityEveryMs)) return c.byId;
    const view = this.compute(this.tick, true);
    const byId = new Map(view.nodes.map((n) => [n.id, n.criticality ?? 0]));
    this.critical = { tick: this.tick, atMs: this.now(), byId };
    return byId;
  }

  snapshot(): DashboardSnapshot & { readonly family: "ctaems"; readonly ctaems: CtaemsView } {
    const progress = this.world?.progress() ?? { executed: [], running: [] };
    const view = this.tree;
    const critical = this.criticalities();
    const byId = new Map(view.nodes.map((n) => [n.id, n]));
    const executed: ExecutedBar[] = progress.executed.map((e) => {
      const node = this.index.nodes.get(e.activityId);
      const owner = node?.kind === "activity" ? (node.resources[0] ?? "") : "";
      // Aborted: stopped before its time (quality 0 and shorter than any outcome); failed: ran
      // and earned nothing (by its outcome or the tree's rules).
      const earned = byId.get(e.activityId)?.quality ?? e.quality;
      const status = this.aborted(e) ? "aborted" : earned > 0 ? "completed" : ("failed" as const);
      return {
        resourceId: owner,
        activityId: e.activityId,
        jobId: this.jobOf(e.activityId),
        startTicks: e.startTicks,
        endTicks: e.endTicks,
        status,
        quality: e.quality,
      };
    });
    const running = progress.running.map((r) => {
      const node = this.index.nodes.get(r.activityId);
      const length = node?.kind === "activity" ? Math.ceil(expectedValue(node.duration)) : 1;
      return {
        resourceId: r.owner,
        activityId: r.activityId,
        jobId: this.jobOf(r.activityId),
        startTicks: r.startTicks,
        endTicks: Math.max(this.tick + 1, r.startTicks + length),
      };
    });
    const started = new Set([
      ...executed.map((b) => b.activityId),
      ...running.map((r) => r.activityId),
    ]);
    const planned: PlannedBar[] = [...running];
    for (const [id, start] of this.planned) {
      if (started.has(id)) continue;
      const node = this.index.nodes.get(id);
      if (node?.kind !== "activity") continue;
      planned.push({
        resourceId: node.resources[0] ?? "",
        activityId: id,
        jobId: this.jobOf(id),
        startTicks: Math.max(start, this.tick),
        endTicks: Math.max(start, this.tick) + Math.ceil(expectedValue(node.duration)),
      });
    }
    const runningOn = new Map(progress.running.map((r) => [r.owner, r.activityId]));
    const agents = this.agentIds.map((id) => {
      const a = this.agents.get(id) ?? { agentId: id, online: false };
      const current = runningOn.get(id);
      return current ? { ...a, current } : a;
    });
    return {
      family: "ctaems",
      site: this.site,
      nowTicks: this.tick,
      atMs: this.now(),
      version: this.trial,
      resources: this.agentIds,
      agents,
      planned,
      executed: executed.filter((b) => b.status === "completed"),
      // Runs that earned nothing or were stopped: drawn as failed attempts.
      attempts: executed.filter((b) => b.status !== "completed"),
      downtime: [],
      jobs: [],
      orders: [],
      timeline: [...this.timeline],
      rates: this.rates(),
      completed: progress.executed.length,
      activities: this.index.activities.length,
      ctaems: {
        rootQuality: view.rootQuality,
        expectedRootQuality: round(view.expectedRootQuality),
        history: [...this.history],
        tree: view.nodes.map((n) => ({
          ...n,
          p: round(n.p),
          v: round(n.v),
          criticality: round(critical.get(n.id) ?? 0),
        })),
        horizon: this.world?.horizon ?? 0,
        ...this.counts,
      },
    };
  }

  /**
   * The self-contained report for [fromTicks, untilTicks] of the run: what ran (failed and
   * aborted runs too), the nodes whose probability fell, what was installed where, the root
   * quality so far and the task tree.
   */
  report(fromTicks = 0, untilTicks = Number.POSITIVE_INFINITY): FleetReport {
    const s = this.snapshot();
    const inPeriod = (a: number, b: number) => b >= fromTicks && a <= untilTicks;
    const executed = [...s.attempts, ...s.executed].filter((b) =>
      inPeriod(b.startTicks, b.endTicks),
    );
    const end = Math.max(0, ...executed.map((b) => b.endTicks));
    const sum = (d: "in" | "out", k: "total" | "bytes") =>
      s.rates.filter((r) => r.direction === d).reduce((n, r) => n + r[k], 0);
    const wallSeconds = (this.now() - this.startedMs) / 1000;
    const objectives = {
      makespan: end,
      totalWeightedTardiness: 0,
      meanLeadTime: 0,
      totalWait: 0,
      quality: s.ctaems.rootQuality,
    };
    return {
      scenario: this.index.model.name,
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
      objectives,
      // No solver runs on a C-TAEMS network afterwards: the reference is the expected root
      // quality of the plan as it stands (what ran, plus what is planned at its odds).
      reference: { ...objectives, quality: s.ctaems.expectedRootQuality, solverSeconds: 0 },
      disruptions: this.disruptions.filter((d) => inPeriod(d.atTicks, d.atTicks)),
      repairs: [
        ...this.repairs,
        // Sent, and not answered yet: no latency to tell.
        ...this.sent
          .filter((i) => !i.answered)
          .map((i) => ({
            atTicks: i.atTicks,
            trigger: i.why,
            strategy: `deliberative: ${i.activity} on ${i.agent} (no answer yet)`,
            version: i.lock,
            latencyMs: Number.NaN,
            affectedAgents: 1,
          })),
      ].filter((r) => inPeriod(r.atTicks, r.atTicks)),
      localRepairs: 0,
      escalations: s.ctaems.escalations,
      messages: sum("in", "total") + sum("out", "total"),
      bytes: sum("in", "bytes") + sum("out", "bytes"),
      perAgent: [],
      executed,
      downtime: [],
      resourceOrder: s.resources,
      taskTree: s.ctaems.tree.map((n) => ({
        id: n.id,
        depth: n.depth,
        kind: n.kind,
        ...(n.qaf !== undefined ? { qaf: n.qaf } : {}),
        ...(n.owner !== undefined ? { owner: n.owner } : {}),
        status: n.status,
        probability: n.p,
        criticality: n.criticality,
        quality: n.quality,
      })),
    };
  }
}
