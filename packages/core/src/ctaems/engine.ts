import {
  effectiveDeadline,
  effectiveRelease,
  type ModelIndex,
  nodeIssues,
} from "../model/model-index.js";
import type { ActivityNode, Distribution, ModelNode, Ticks } from "../model/types.js";
import { type ExecutedActivity, evaluateQuality } from "../quality/qaf.js";
import { sampleOutcome } from "../simulation/outcomes.js";
import type { AgentEvent, CtaemsAgent, TickInput, TickOutput } from "./agent.js";
import { type PeerMessage, sortInbox } from "./messages.js";

/**
 * A change of the world during a run (CSC §2 dynamism): a window moves, a distribution changes,
 * or an activity fails although its model allowed no failure. `announced` changes are told to
 * every agent whose view holds the node; the others happen silently.
 */
export interface ModelChange {
  readonly atTicks: Ticks;
  readonly nodeId: string;
  readonly releaseTicks?: Ticks;
  readonly deadlineTicks?: Ticks;
  readonly duration?: Distribution;
  readonly quality?: Distribution;
  /** Unmodeled failure: the activity earns zero whatever its quality distribution says. */
  readonly failActivity?: true;
  readonly announced: boolean;
}

interface Run {
  readonly activityId: string;
  readonly owner: string;
  readonly start: Ticks;
  readonly end: Ticks;
  readonly quality: number;
}

/**
 * The execution environment of one trial: it owns the true model and the sampled outcomes, starts
 * and ends methods, applies changes, and tells each agent only what happens to its own methods
 * and the announced changes it can see. Outcomes come from the trial key (common random numbers),
 * so every strategy run on the same key meets the same durations and qualities.
 */
export class CtaemsWorld {
  private readonly index: ModelIndex;
  private readonly nodeList: ModelNode[];
  private readonly activityList: ActivityNode[];
  private readonly nodeMap: Map<string, ModelNode>;
  private readonly nodeAt = new Map<string, number>();
  private readonly activityAt = new Map<string, number>();
  private readonly key: number;
  private readonly changes: readonly ModelChange[];
  private readonly viewers: ReadonlyMap<string, readonly string[]>;
  private readonly forcedFailures = new Set<string>();
  private readonly outcomes = new Map<string, { durationTicks: Ticks; quality: number }>();
  private readonly running = new Map<string, Run>();
  private readonly executed: ExecutedActivity[] = [];
  private readonly started = new Set<string>();
  private readonly pendingEvents = new Map<string, AgentEvent[]>();
  readonly horizon: Ticks;

  /**
   * @param viewers for each node id, the agents whose subjective view holds it (who hear of
   * announced changes to it).
   */
  constructor(
    index: ModelIndex,
    trialKey: number,
    viewers: ReadonlyMap<string, readonly string[]>,
    changes: readonly ModelChange[] = [],
    minHorizon = 0,
  ) {
    // The world's own copy of the model's nodes, which changes during the run replace in place:
    // one change costs the same however large the model (indexing it again would not).
    const nodes = [...index.model.nodes];
    const activities = [...index.activities];
    nodes.forEach((n, i) => {
      this.nodeAt.set(n.id, i);
    });
    activities.forEach((a, i) => {
      this.activityAt.set(a.id, i);
    });
    this.nodeList = nodes;
    this.activityList = activities;
    this.nodeMap = new Map(index.nodes);
    this.index = {
      ...index,
      model: { ...index.model, nodes },
      nodes: this.nodeMap,
      activities,
    };
    this.key = trialKey;
    this.viewers = viewers;
    this.changes = [...changes].sort((a, b) => a.atTicks - b.atTicks);
    // The last deadline; where a method has none, the last release plus every method's longest
    // duration (by then anything that can run has run).
    let horizon = 0;
    let unbounded = false;
    let lastRelease = 0;
    let longest = 0;
    for (const node of index.model.nodes) {
      const d = effectiveDeadline(index, node.id);
      if (d !== undefined && d > horizon) horizon = d;
      if (node.kind !== "activity") continue;
      if (d === undefined) unbounded = true;
      lastRelease = Math.max(lastRelease, effectiveRelease(index, node.id));
      longest += Math.max(...node.duration.map((o) => o.value));
    }
    if (unbounded) horizon = Math.max(horizon, lastRelease + longest, minHorizon + longest);
    for (const c of changes)
      if (c.deadlineTicks !== undefined && c.deadlineTicks > horizon) horizon = c.deadlineTicks;
    this.horizon = horizon;
  }

  get model(): ModelIndex {
    return this.index;
  }

  private outcome(activity: ActivityNode): { durationTicks: Ticks; quality: number } {
    let o = this.outcomes.get(activity.id);
    if (!o) {
      o = sampleOutcome(activity, this.key);
      this.outcomes.set(activity.id, o);
    }
    return o;
  }

  private ownerOf(activityId: string): string {
    const node = this.index.nodes.get(activityId);
    if (node?.kind !== "activity") throw new Error(`world: "${activityId}" is not an activity`);
    const owner = node.resources[0];
    if (owner === undefined) throw new Error(`world: activity "${activityId}" has no owner`);
    return owner;
  }

  private event(agentId: string, ev: AgentEvent): void {
    const list = this.pendingEvents.get(agentId) ?? [];
    list.push(ev);
    this.pendingEvents.set(agentId, list);
  }

  private applyChange(c: ModelChange): void {
    const node = this.index.nodes.get(c.nodeId);
    if (!node) throw new Error(`world: change names unknown node "${c.nodeId}"`);
    if (c.failActivity) this.forcedFailures.add(c.nodeId);
    const next = {
      ...node,
      ...(c.releaseTicks !== undefined ? { releaseTicks: c.releaseTicks } : {}),
      ...(c.deadlineTicks !== undefined ? { deadlineTicks: c.deadlineTicks } : {}),
      ...(node.kind === "activity" && c.duration ? { duration: c.duration } : {}),
      ...(node.kind === "activity" && c.quality ? { quality: c.quality } : {}),
    } as ModelNode;
    const issues = nodeIssues(next, `nodes[${this.nodeAt.get(c.nodeId)}]`);
    if (issues.length > 0)
      throw new Error(`world: change of "${c.nodeId}" breaks the model: ${issues[0]?.message}`);
    this.nodeList[this.nodeAt.get(c.nodeId)!] = next;
    this.nodeMap.set(c.nodeId, next);
    const a = this.activityAt.get(c.nodeId);
    if (a !== undefined && next.kind === "activity") this.activityList[a] = next;
    // A new distribution is drawn from the activity's own stream: the same key, the same draws.
    if (next.kind === "activity" && (c.duration || c.quality) && !this.started.has(c.nodeId))
      this.outcomes.set(c.nodeId, sampleOutcome(next, this.key));
    if (c.announced)
      for (const agentId of this.viewers.get(c.nodeId) ?? [])
        this.event(agentId, {
          kind: "changed",
          nodeId: c.nodeId,
          ...(c.releaseTicks !== undefined ? { releaseTicks: c.releaseTicks } : {}),
          ...(c.deadlineTicks !== undefined ? { deadlineTicks: c.deadlineTicks } : {}),
          ...(c.duration ? { duration: c.duration } : {}),
          ...(c.quality ? { quality: c.quality } : {}),
        });
  }

  /** Quality a run earns by CSC §2, given everything that ended before it. */
  private earned(run: Run): number {
    if (run.quality <= 0) return 0;
    if (run.start < effectiveRelease(this.index, run.activityId)) return 0;
    const deadline = effectiveDeadline(this.index, run.activityId);
    if (deadline !== undefined && run.end > deadline) return 0;
    let linked = false;
    for (let n: string | undefined = run.activityId; n !== undefined; n = this.index.parent.get(n))
      if ((this.index.linksTo.get(n) ?? []).some((l) => l.kind === "enables")) linked = true;
    if (!linked) return run.quality;
    const result = evaluateQuality(
      this.index,
      [
        ...this.executed,
        {
          activityId: run.activityId,
          startTicks: run.start,
          endTicks: run.end,
          quality: run.quality,
        },
      ],
      { only: [run.activityId] },
    );
    return result.quality.get(run.activityId) ?? 0;
  }

  /**
   * Opens tick `t`: applies the changes due, ends the runs due, and returns each agent's events.
   * Call once per tick, in increasing order.
   */
  begin(t: Ticks): Map<string, AgentEvent[]> {
    for (const c of this.changes) if (c.atTicks === t) this.applyChange(c);
    const ending = [...this.running.values()]
      .filter((r) => r.end <= t)
      .sort((a, b) => a.end - b.end || (a.activityId < b.activityId ? -1 : 1));
    for (const run of ending) {
      this.running.delete(run.owner);
      const quality = this.earned(run);
      this.executed.push({
        activityId: run.activityId,
        startTicks: run.start,
        endTicks: run.end,
        quality: run.quality,
      });
      this.event(run.owner, {
        kind: "completed",
        activityId: run.activityId,
        startTicks: run.start,
        endTicks: run.end,
        quality,
      });
    }
    const events = new Map(this.pendingEvents);
    this.pendingEvents.clear();
    return events;
  }

  /** Applies one agent's decisions at tick `t`: an abort, then a start. */
  apply(t: Ticks, agentId: string, out: TickOutput): void {
    if (out.abort !== undefined) {
      const run = this.running.get(agentId);
      if (!run || run.activityId !== out.abort)
        throw new Error(`world: ${agentId} aborts "${out.abort}", which it is not running`);
      this.running.delete(agentId);
      this.executed.push({
        activityId: run.activityId,
        startTicks: run.start,
        endTicks: t,
        quality: 0,
      });
    }
    if (out.start !== undefined) {
      const id = out.start;
      if (this.ownerOf(id) !== agentId)
        throw new Error(`world: ${agentId} starts "${id}", which it does not own`);
      if (this.running.has(agentId))
        throw new Error(
          `world: ${agentId} starts "${id}" while running "${this.running.get(agentId)?.activityId}"`,
        );
      if (this.started.has(id)) throw new Error(`world: "${id}" was already started once`);
      const node = this.index.nodes.get(id) as ActivityNode;
      const o = this.outcome(node);
      this.started.add(id);
      this.running.set(agentId, {
        activityId: id,
        owner: agentId,
        start: t,
        end: t + o.durationTicks,
        quality: this.forcedFailures.has(id) ? 0 : o.quality,
      });
    }
  }

  /** An agent left at `t`: what it was running ends now with nothing. */
  depart(t: Ticks, agentId: string): void {
    const run = this.running.get(agentId);
    if (!run) return;
    this.running.delete(agentId);
    this.executed.push({
      activityId: run.activityId,
      startTicks: run.start,
      endTicks: t,
      quality: 0,
    });
  }

  /** What has ended and what runs now (for an observer's view of the run as it goes). */
  progress(): {
    readonly executed: readonly ExecutedActivity[];
    readonly running: readonly { activityId: string; owner: string; startTicks: Ticks }[];
  } {
    return {
      executed: [...this.executed],
      running: [...this.running.values()].map((r) => ({
        activityId: r.activityId,
        owner: r.owner,
        startTicks: r.start,
      })),
    };
  }

  /** Whether the run is over: past the horizon and nothing running. */
  finished(t: Ticks): boolean {
    return t > this.horizon && this.running.size === 0;
  }

  /** What ran, and the root quality by CSC §2 on the final model. */
  result(): { rootQuality: number; executed: readonly ExecutedActivity[] } {
    return {
      rootQuality: evaluateQuality(this.index, this.executed).rootQuality,
      executed: this.executed,
    };
  }
}

/** Message counts of a run. */
export interface TrafficCount {
  messages: number;
  byAgent: Map<string, number>;
  byType: Map<string, number>;
  /** Messages received, by addressee. */
  byRecipient: Map<string, number>;
  /** Encoded bytes, when the run was given a `measure`. */
  bytes: number;
  /** Messages addressed to an agent that had left. */
  lost: number;
}

export interface TrialResult {
  readonly rootQuality: number;
  readonly executed: readonly ExecutedActivity[];
  readonly traffic: TrafficCount;
  readonly ticks: Ticks;
}

/** For each node, the agents whose view holds it. */
export function viewersOf(
  views: Iterable<{ agentId: string; view: { nodes: readonly { id: string }[] } }>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of views)
    for (const n of s.view.nodes) {
      const list = out.get(n.id) ?? [];
      list.push(s.agentId);
      out.set(n.id, list);
    }
  return out;
}

export interface TrialOptions {
  readonly maxTicks?: number;
  /**
   * Agents that leave the run (a process dies): from `atTicks` on the agent is not stepped, what
   * it was running ends with nothing, messages to it are lost, and every other agent hears it
   * left (the broker's last will).
   */
  readonly departures?: readonly { readonly agentId: string; readonly atTicks: Ticks }[];
  /** Encoded size of a message, for the traffic's bytes (the transport's encoding). */
  readonly measure?: (message: PeerMessage) => number;
}

/**
 * Runs one trial in-process, in lock-step: at each tick the world reports, every participant
 * (agents, and a deliberative scheduler if present) steps on the messages sent to it at the tick
 * before, in id order, and the world applies the decisions. The same protocol runs across
 * processes over MQTT; being lock-step and ordered, both give the same result.
 */
export function runTrial(
  world: CtaemsWorld,
  participants: readonly CtaemsAgent[],
  options: TrialOptions = {},
): TrialResult {
  const sorted = [...participants].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = new Set(sorted.map((p) => p.id));
  let inboxes = new Map<string, PeerMessage[]>();
  const seq = new Map<string, number>();
  const traffic: TrafficCount = {
    messages: 0,
    byAgent: new Map(),
    byType: new Map(),
    byRecipient: new Map(),
    bytes: 0,
    lost: 0,
  };
  const limit = options.maxTicks ?? world.horizon + 1000;
  const gone = new Set<string>();
  let t = 0;
  for (; t <= limit && !world.finished(t); t++) {
    const leaving = (options.departures ?? []).filter(
      (d) => d.atTicks === t && !gone.has(d.agentId),
    );
    for (const d of leaving) {
      gone.add(d.agentId);
      world.depart(t, d.agentId);
    }
    const events = world.begin(t);
    for (const d of leaving)
      for (const p of sorted)
        if (!gone.has(p.id)) {
          const list = events.get(p.id) ?? [];
          list.push({ kind: "left", agentId: d.agentId });
          events.set(p.id, list);
        }
    const next = new Map<string, PeerMessage[]>();
    for (const p of sorted) {
      if (gone.has(p.id)) continue;
      const input: TickInput = {
        tick: t,
        events: events.get(p.id) ?? [],
        inbox: sortInbox(inboxes.get(p.id) ?? []),
      };
      const out = p.step(input);
      if (out.start !== undefined || out.abort !== undefined) world.apply(t, p.id, out);
      for (const m of out.messages) {
        if (!ids.has(m.to)) throw new Error(`runTrial: ${p.id} sends to unknown "${m.to}"`);
        const n = (seq.get(p.id) ?? 0) + 1;
        seq.set(p.id, n);
        const message: PeerMessage = { from: p.id, to: m.to, seq: n, body: m.body };
        traffic.messages++;
        traffic.byAgent.set(p.id, (traffic.byAgent.get(p.id) ?? 0) + 1);
        traffic.byType.set(m.body.type, (traffic.byType.get(m.body.type) ?? 0) + 1);
        traffic.byRecipient.set(m.to, (traffic.byRecipient.get(m.to) ?? 0) + 1);
        if (options.measure) traffic.bytes += options.measure(message);
        if (gone.has(m.to)) {
          traffic.lost++;
          continue;
        }
        const list = next.get(m.to) ?? [];
        list.push(message);
        next.set(m.to, list);
      }
    }
    inboxes = next;
  }
  const { rootQuality, executed } = world.result();
  return { rootQuality, executed, traffic, ticks: t };
}
