import { expectedValue } from "../model/distribution.js";
import type { ActivityNode, Distribution, ModelNode, TaskNode, Ticks } from "../model/types.js";
import type { ChildReport, PeerBody, PeerMessage } from "./messages.js";
import {
  combine,
  expected,
  NOTHING,
  probabilityAtMost,
  probabilityAtMostGiven,
  qualityProfile,
  type TwoPoint,
  valueRange,
} from "./profiles.js";
import { type AgentSetup, type CommsPolicy, DEFAULT_POLICY } from "./setup.js";

/** What the environment tells an agent at a tick. */
export type AgentEvent =
  /** One of its methods ended; `quality` is what it earned (zero on failure). */
  | {
      readonly kind: "completed";
      readonly activityId: string;
      readonly startTicks: Ticks;
      readonly endTicks: Ticks;
      readonly quality: number;
    }
  /** An announced model change on a node of its view (CSC §2 dynamism). */
  | {
      readonly kind: "changed";
      readonly nodeId: string;
      readonly releaseTicks?: Ticks;
      readonly deadlineTicks?: Ticks;
      readonly duration?: Distribution;
      readonly quality?: Distribution;
    }
  /** An agent left the run (its process died or was stopped: the broker's last will). */
  | { readonly kind: "left"; readonly agentId: string };

export interface TickInput {
  readonly tick: Ticks;
  readonly events: readonly AgentEvent[];
  /** Messages sent to this agent at the previous tick. */
  readonly inbox: readonly PeerMessage[];
}

export interface OutgoingMessage {
  readonly to: string;
  readonly body: PeerBody;
}

export interface TickOutput {
  /** Abort the running method (applied before `start`). */
  readonly abort?: string;
  /** Start this method now; the agent must be idle (or have aborted). */
  readonly start?: string;
  readonly messages: readonly OutgoingMessage[];
}

/** A C-TAEMS agent as a pure state machine: one call per tick, in lock-step. */
export interface CtaemsAgent {
  readonly id: string;
  step(input: TickInput): TickOutput;
}

/** Scheduled-method priorities (CSC §3.1.2). */
export const PRIORITY = { low: 1, medium: 2, high: 3 } as const;

interface Entry {
  earliest: Ticks;
  latest: Ticks;
  priority: number;
  /** Who put it there: the initial schedule, the deliberative scheduler, or the agent itself. */
  origin: "initial" | "deliberative" | "opportunistic";
  /** An install taken over the running method: it starts as soon as it may. */
  preempts?: boolean;
}

interface OwnState {
  state: "idle" | "running" | "done";
  start?: Ticks;
  end?: Ticks;
  quality?: number;
}

interface Profile {
  cur: TwoPoint;
  pot: TwoPoint;
  busy: number;
  s?: Ticks;
  acc?: Ticks;
  final?: boolean;
}

/** Ticks at the start of a run during which nothing is escalated (profiles still settling). */
const ESCALATION_SETTLE_TICKS = 4;

/** Ticks at the start of a run before the opportunistic scheduler acts. */
const OPPORTUNISTIC_SETTLE_TICKS = 2;

/**
 * One scheduler agent of CSC (§3): a state manager keeping profiles of its subjective view and
 * exchanging them with the agents that share a node; an execution controller with distributed
 * window sliding and synchronized starts; an opportunistic scheduler; a downgrader. In "bos"
 * mode it is the Benchmark Opportunistic Scheduler (§4): the same local reasoning with no
 * messages, so every remote node is only what its model says. In "initial" mode it runs its
 * part of the initial schedule and nothing else.
 */
export class SchedulerAgentCsc implements CtaemsAgent {
  readonly id: string;
  private readonly setup: AgentSetup;
  private readonly nodes = new Map<string, ModelNode>();
  private readonly parent = new Map<string, string>();
  private readonly own: readonly string[];
  private readonly core = new Set<string>();
  /** Core nodes bottom-up (children before parents). */
  private readonly order: string[] = [];
  private readonly enablersOf = new Map<string, string[]>();
  private readonly status = new Map<string, OwnState>();
  private readonly schedule = new Map<string, Entry>();
  private readonly remote = new Map<string, Map<string, ChildReport>>();
  private readonly lastSent = new Map<string, ChildReport[]>();
  private readonly enablerState = new Map<
    string,
    { at?: Ticks; failed?: boolean; p?: number; pp?: number }
  >();
  private readonly announced = new Map<string, string>();
  private readonly readies = new Map<string, Map<string, Ticks | "withdrawn">>();
  private readonly myReady = new Map<string, Ticks>();
  private readonly escalatedAt = new Map<string, Ticks>();
  private readonly pendingInstalls: { lock: number; ok: boolean }[] = [];
  /** Per install taken: the scheduled methods it lowered (given back if it is withdrawn). */
  private readonly loweredFor = new Map<string, readonly (readonly [string, number])[]>();
  /** Installs withdrawn while already running: aborted at this tick. */
  private readonly cancelled = new Set<string>();
  private profiles = new Map<string, Profile>();
  private running: string | undefined;
  private tick: Ticks = 0;
  private readonly syncOf = new Map<string, string>();
  private readonly policy: CommsPolicy;
  /** Agents known to have left the run. */
  private readonly departed = new Set<string>();
  /** Probability of a node when it was last escalated (silence: escalate again only if worse). */
  private readonly escalatedP = new Map<string, number>();
  /** Cell leader: what its members escalated and answered since its last summary. */
  private readonly batch: {
    escalations: { node: string; p: number; threshold: number; children: ChildReport[] }[];
    installed: { agent: string; lock: number; ok: boolean }[];
  } = { escalations: [], installed: [] };

  constructor(setup: AgentSetup) {
    this.policy = setup.policy ?? DEFAULT_POLICY;
    this.setup = setup;
    this.id = setup.agentId;
    for (const node of setup.view.nodes) this.nodes.set(node.id, node);
    for (const node of setup.view.nodes)
      if (node.kind === "task") for (const c of node.children) this.parent.set(c, node.id);
    this.own = [...setup.view.own].sort();
    for (const id of this.own) {
      this.status.set(id, { state: "idle" });
      for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
        this.core.add(n);
    }
    // Bottom-up order: by depth, deepest first.
    const depth = (id: string): number => {
      let d = 0;
      for (let n = this.parent.get(id); n !== undefined; n = this.parent.get(n)) d++;
      return d;
    };
    this.order.push(...[...this.core].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : 1)));
    for (const id of this.own) {
      const sources: string[] = [];
      for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
        for (const link of setup.view.links)
          if (link.kind === "enables" && link.to === n) sources.push(link.from);
      this.enablersOf.set(id, sources);
    }
    for (const e of setup.initial) {
      const a = this.activity(e.activityId);
      if (!a) continue;
      this.schedule.set(e.activityId, {
        earliest: e.startTicks,
        latest: this.latestStart(e.activityId),
        priority: PRIORITY.high,
        origin: "initial",
      });
    }
    for (const g of setup.syncGroups)
      for (const m of g.members) if (m.agentId === this.id) this.syncOf.set(m.activityId, g.id);
  }

  // ---- model helpers ---------------------------------------------------------------------

  private activity(id: string): ActivityNode | undefined {
    const n = this.nodes.get(id);
    return n?.kind === "activity" ? n : undefined;
  }

  private release(id: string): Ticks {
    let r = 0;
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n)) {
      const v = this.nodes.get(n)?.releaseTicks;
      if (v !== undefined && v > r) r = v;
    }
    return r;
  }

  private deadline(id: string): Ticks {
    let d = Number.POSITIVE_INFINITY;
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n)) {
      const v = this.nodes.get(n)?.deadlineTicks;
      if (v !== undefined && v < d) d = v;
    }
    return d;
  }

  /** The last start from which the method can still meet its deadline. */
  private latestStart(id: string): Ticks {
    const a = this.activity(id);
    if (!a) return -1;
    return this.deadline(id) - valueRange(a.duration).min;
  }

  // ---- enablers ---------------------------------------------------------------------------

  /** What this agent knows of an enables source: accrued at, failed, or pending with a chance. */
  private source(id: string): { at?: Ticks; failed?: boolean; p: number; pp: number } {
    const ownStatus = this.status.get(id);
    if (ownStatus) {
      if (ownStatus.state === "done")
        return (ownStatus.quality ?? 0) > 0
          ? { at: ownStatus.end ?? 0, p: 1, pp: 1 }
          : { failed: true, p: 0, pp: 0 };
    }
    const prof = this.profiles.get(id);
    if (prof && this.core.has(id)) {
      if (prof.acc !== undefined) return { at: prof.acc, p: 1, pp: 1 };
      if (prof.pot.p <= 0 && prof.final) return { failed: true, p: 0, pp: 0 };
    }
    const known = this.enablerState.get(id);
    if (known?.at !== undefined) return { at: known.at, p: 1, pp: 1 };
    if (known?.failed) return { failed: true, p: 0, pp: 0 };
    if (prof && this.core.has(id)) return { p: prof.cur.p, pp: prof.pot.p };
    // A source its steward has not scheduled (p 0) may still be run by someone: its potential
    // is what says whether the target can still be enabled.
    if (this.setup.mode === "csc") return { p: known?.p ?? 0.5, pp: known?.pp ?? 1 };
    return { p: 0.5, pp: 1 };
  }

  /** Whether every enabler of the method has accrued by now (as far as this agent knows). */
  private enabled(id: string): boolean {
    for (const s of this.enablersOf.get(id) ?? []) {
      const src = this.source(s);
      if (src.at !== undefined && src.at <= this.tick) continue;
      // Without messages a remote source is never known to have accrued: the benchmark trusts
      // the initial schedule, whose planned start already waits for it, and otherwise waits.
      if (
        this.setup.mode === "bos" &&
        !this.status.has(s) &&
        !this.core.has(s) &&
        this.schedule.get(id)?.origin === "initial"
      )
        continue;
      return false;
    }
    return true;
  }

  private enablerFailed(id: string): boolean {
    return (this.enablersOf.get(id) ?? []).some((s) => this.source(s).failed === true);
  }

  private enablerFactor(id: string, potential: boolean): number {
    let f = 1;
    for (const s of this.enablersOf.get(id) ?? []) {
      const src = this.source(s);
      f *= src.at !== undefined ? 1 : potential ? src.pp : src.p;
    }
    return f;
  }

  // ---- profiles ---------------------------------------------------------------------------

  private methodProfile(id: string): Profile {
    const a = this.activity(id);
    const st = this.status.get(id);
    if (!a || !st) return { cur: NOTHING, pot: NOTHING, busy: 0 };
    const t = this.tick;
    if (st.state === "done") {
      const q = st.quality ?? 0;
      const tp = q > 0 ? { p: 1, v: q } : NOTHING;
      return {
        cur: tp,
        pot: tp,
        busy: 0,
        final: true,
        ...(st.start !== undefined ? { s: st.start } : {}),
        ...(q > 0 && st.end !== undefined ? { acc: st.end } : {}),
      };
    }
    const qp = qualityProfile(a.quality);
    const deadline = this.deadline(id);
    const meanD = a.duration.reduce((s, o) => s + o.value * o.probability, 0);
    if (st.state === "running" && st.start !== undefined) {
      const p = qp.p * probabilityAtMostGiven(a.duration, deadline - st.start, t - st.start);
      const tp = p > 0 ? { p, v: qp.v } : NOTHING;
      return { cur: tp, pot: tp, busy: Math.max(0, meanD - (t - st.start)), s: st.start };
    }
    const expired = this.latestStart(id) < t || this.enablerFailed(id);
    const potStart = Math.max(t, this.release(id));
    const potP = expired
      ? 0
      : qp.p * probabilityAtMost(a.duration, deadline - potStart) * this.enablerFactor(id, true);
    const pot = potP > 0 ? { p: potP, v: qp.v } : NOTHING;
    const entry = this.schedule.get(id);
    if (!entry || expired || entry.priority <= PRIORITY.low)
      return { cur: NOTHING, pot, busy: 0, ...(expired ? { final: true } : {}) };
    const est = Math.max(t, entry.earliest, this.release(id));
    const p = qp.p * probabilityAtMost(a.duration, deadline - est) * this.enablerFactor(id, false);
    return { cur: p > 0 ? { p, v: qp.v } : NOTHING, pot, busy: meanD };
  }

  /** Profiles of a task's children: own computations for core children, reports for the rest. */
  private childProfiles(taskId: string, profiles: Map<string, Profile>): Map<string, Profile> {
    const out = new Map<string, Profile>();
    const reports = this.remote.get(taskId);
    if (reports)
      for (const [cid, r] of reports) {
        if (this.core.has(cid)) continue;
        out.set(cid, {
          cur: { p: r.p, v: r.v },
          pot: { p: r.pp, v: r.pv },
          busy: r.busy,
          ...(r.s !== undefined ? { s: r.s } : {}),
          ...(r.acc !== undefined ? { acc: r.acc } : {}),
          ...(r.final ? { final: true } : {}),
        });
      }
    const node = this.nodes.get(taskId);
    if (node?.kind === "task")
      for (const c of node.children) {
        const p = profiles.get(c);
        if (this.core.has(c) && p) out.set(c, p);
      }
    return out;
  }

  private taskProfile(task: TaskNode, kids: Map<string, Profile>): Profile {
    const list = [...kids.values()];
    const cur = combine(
      task.qaf,
      list.map((k) => k.cur),
    );
    const pot = combine(
      task.qaf,
      list.map((k) => k.pot),
    );
    let busy = 0;
    let s: Ticks | undefined;
    const accs: Ticks[] = [];
    let allFinal = list.length > 0;
    for (const k of list) {
      busy += k.busy;
      if (k.s !== undefined && (s === undefined || k.s < s)) s = k.s;
      if (k.acc !== undefined) accs.push(k.acc);
      if (!k.final) allFinal = false;
    }
    let acc: Ticks | undefined;
    if (task.qaf === "min") {
      if (accs.length === list.length && list.length > 0) acc = Math.max(...accs);
    } else if (accs.length > 0) acc = Math.min(...accs);
    const final = allFinal || (task.qaf === "min" && list.some((k) => k.final && k.pot.p === 0));
    return {
      cur: final && task.qaf === "min" && pot.p === 0 ? NOTHING : cur,
      pot,
      busy,
      ...(s !== undefined ? { s } : {}),
      ...(acc !== undefined ? { acc } : {}),
      ...(final ? { final: true } : {}),
    };
  }

  private recompute(): void {
    const profiles = new Map<string, Profile>();
    for (const id of this.order) {
      const node = this.nodes.get(id);
      if (!node) continue;
      if (node.kind === "activity") profiles.set(id, this.methodProfile(id));
      else profiles.set(id, this.taskProfile(node, this.childProfiles(id, profiles)));
    }
    this.profiles = profiles;
  }

  /**
   * Expected root quality when `id` (a core node) has profile `tp`, everything else as it is:
   * one evaluation of the path from `id` to the root. With `potential`, every other node takes
   * its potential profile (what could still be achieved). Siblings in `exclude` are left out of
   * the direct parent.
   */
  private rootValue(
    id: string,
    tp: TwoPoint,
    potential: boolean | "downgrade" | "install",
    exclude?: ReadonlySet<string>,
  ): number {
    let child = id;
    let value = tp;
    for (let n = this.parent.get(id); n !== undefined; n = this.parent.get(n)) {
      const node = this.nodes.get(n);
      if (node?.kind !== "task") break;
      const kids = this.childProfiles(n, this.profiles);
      const list: TwoPoint[] = [value];
      for (const [cid, k] of kids) {
        if (cid === child) continue;
        if (n === this.parent.get(id) && exclude?.has(cid)) continue;
        // Downgrader: can the node still succeed with this method's help? Siblings under a
        // min count with what they could still achieve; siblings under a max or sum count only
        // once they have achieved it (a planned sibling may yet fail).
        if (potential === "downgrade")
          list.push(node.qaf === "min" ? k.pot : k.final ? k.cur : NOTHING);
        else if (
          (potential === false || potential === "install") &&
          node.qaf === "min" &&
          !k.final &&
          this.setup.mode === "csc"
        )
          // Under a min every sibling must succeed, and a sibling still open is what its owners
          // (or the team's repairs) can still make of it: its scheduled profile alone would make
          // this method look worthless wherever a sibling is not planned yet, or waits on an
          // enabler. (Counting only siblings under way cost a job shop, where a job is the min
          // of a chain of operations, two thirds of its quality, for no gain on the backup
          // problem and 0.4% on the random set.)
          list.push(k.pot.p > k.cur.p ? k.pot : k.cur);
        else list.push(potential === true ? k.pot : k.cur);
      }
      value = combine(node.qaf, list);
      child = n;
    }
    return expected(value);
  }

  /**
   * Marginal value to the root of a method succeeding with profile `tp` (its importance). The
   * benchmark (no messages) evaluates the same path over its own part of the tree only, so it
   * does not repeat its own success under a max and sees no importance beyond its view.
   */
  private gain(
    id: string,
    tp: TwoPoint,
    potential: boolean | "downgrade" | "install" = false,
    exclude?: ReadonlySet<string>,
  ): number {
    return (
      this.rootValue(id, tp, potential, exclude) - this.rootValue(id, NOTHING, potential, exclude)
    );
  }

  // ---- messages ---------------------------------------------------------------------------

  private handle(msg: PeerMessage): void {
    const body = msg.body;
    switch (body.type) {
      case "report": {
        const reports = this.remote.get(body.node) ?? new Map<string, ChildReport>();
        this.remote.set(body.node, reports);
        for (const r of body.children) reports.set(r.id, r);
        return;
      }
      case "enabler": {
        const prev = this.enablerState.get(body.node) ?? {};
        this.enablerState.set(body.node, {
          ...prev,
          ...(body.at !== undefined ? { at: body.at } : {}),
          ...(body.failed ? { failed: true } : {}),
          ...(body.p !== undefined ? { p: body.p } : {}),
          ...(body.pp !== undefined ? { pp: body.pp } : {}),
        });
        return;
      }
      case "ready": {
        const g = this.readies.get(body.group) ?? new Map<string, Ticks | "withdrawn">();
        this.readies.set(body.group, g);
        g.set(msg.from, body.at);
        return;
      }
      case "withdraw": {
        const g = this.readies.get(body.group) ?? new Map<string, Ticks | "withdrawn">();
        this.readies.set(body.group, g);
        g.set(msg.from, "withdrawn");
        return;
      }
      case "install": {
        const ok = this.acceptInstall(body.activity, body.earliest, body.latest);
        this.pendingInstalls.push({ lock: body.lock, ok });
        return;
      }
      case "cancel": {
        const e = this.schedule.get(body.activity);
        if (e?.origin !== "deliberative") return;
        if (this.running === body.activity) this.cancelled.add(body.activity);
        else if (this.status.get(body.activity)?.state !== "idle") return;
        this.schedule.delete(body.activity);
        for (const [mid, priority] of this.loweredFor.get(body.activity) ?? []) {
          const low = this.schedule.get(mid);
          if (low && this.status.get(mid)?.state === "idle") low.priority = priority;
        }
        this.loweredFor.delete(body.activity);
        return;
      }
      case "escalate":
        // A member of this agent's cell: it leads, so it summarizes for the coordinator.
        this.batch.escalations.push({
          node: body.node,
          p: body.p,
          threshold: body.threshold,
          children: [...body.children],
        });
        return;
      case "installed":
        this.batch.installed.push({ agent: msg.from, lock: body.lock, ok: body.ok });
        return;
      default:
        return;
    }
  }

  /** Whether a node is, or lies under, the source of an enables link this agent sees. */
  private enablesSomething(id: string): boolean {
    for (let n: string | undefined = id; n !== undefined; n = this.parent.get(n))
      if (this.setup.view.links.some((l) => l.kind === "enables" && l.from === n)) return true;
    return false;
  }

  /**
   * Feasibility on the agent's side of a deliberative install (CSC §3.2.2): the window is still
   * open and the method can run in it. Where it would clash with what the agent has committed
   * to (the running method, scheduled methods planned to start before it would end), criticality
   * decides: the install is taken only if its importance clearly exceeds that of everything it
   * displaces; displaced scheduled methods are downgraded (kept, at low priority), a displaced
   * running method gives way when the install can wait no longer. Synchronized starts, earlier
   * installs and enables sources are never displaced.
   */
  private acceptInstall(id: string, earliest: Ticks, latestAsked: Ticks): boolean {
    const a = this.activity(id);
    if (!a || this.status.get(id)?.state !== "idle" || this.enablerFailed(id)) return false;
    const latest = Math.min(latestAsked, this.latestStart(id));
    if (latest < this.tick) return false;
    const busyUntil =
      this.running !== undefined ? Math.ceil(this.tick + this.remaining(this.running)) : this.tick;
    const pending = [...this.schedule]
      .filter(
        ([mid, e]) =>
          mid !== id && e.priority > PRIORITY.low && this.status.get(mid)?.state === "idle",
      )
      .sort(([, x], [, y]) => x.earliest - y.earliest);
    const profileAt = (mid: string, at: Ticks, last: Ticks): TwoPoint => {
      const m = this.activity(mid);
      if (!m || at > last) return NOTHING;
      const q = qualityProfile(m.quality);
      const p =
        q.p *
        probabilityAtMost(m.duration, this.deadline(mid) - at) *
        this.enablerFactor(mid, false);
      return p > 0 ? { p, v: q.v } : NOTHING;
    };
    // Runs the install and the scheduled methods in order (window sliding: each starts when
    // the resource is free again), either in the order the execution controller would take
    // them, or with the install first (taking over the running method if it must). What the
    // scheduled ones lose is their lost chance of ending in time; one that can no longer run
    // is displaced (downgraded), as is one that would have gone before the install.
    const simulate = (
      first: boolean,
    ): { worth: number; cost: number; lowered: string[] } | undefined => {
      const preempts = first && busyUntil > latest;
      if (!first && busyUntil > latest) return undefined;
      let t = preempts ? this.tick : busyUntil;
      let cost = preempts && this.running !== undefined ? this.runningValue(this.running) : 0;
      let worth = 0;
      const lowered: string[] = [];
      const order: [string, Entry | undefined][] = first
        ? [[id, undefined], ...pending]
        : [...pending];
      if (!first) {
        const at = order.findIndex(([, e]) => e !== undefined && e.earliest > earliest);
        order.splice(at < 0 ? order.length : at, 0, [id, undefined]);
      }
      let installStart = Number.POSITIVE_INFINITY;
      for (const [mid, e] of order) {
        const m = this.activity(mid);
        if (!m) continue;
        if (e === undefined) {
          const at = Math.max(t, earliest, this.tick);
          if (at > latest) return undefined;
          installStart = at;
          worth = this.gain(id, profileAt(id, at, latest), "install");
          t = at + expectedValue(m.duration);
          continue;
        }
        const at = Math.max(t, e.earliest, this.release(mid));
        const after = profileAt(mid, at, Math.min(e.latest, this.latestStart(mid)));
        const loss = this.gain(mid, this.profiles.get(mid)?.cur ?? NOTHING) - this.gain(mid, after);
        // Under "install first", one planned to start before it must give way.
        const givesWay = first && e.earliest < installStart;
        if (loss > 1e-9 || givesWay) {
          if (e.origin === "deliberative" || this.syncOf.has(mid) || this.enablesSomething(mid))
            return undefined;
          cost += Math.max(0, loss);
        }
        if (after.p <= 0 || givesWay) lowered.push(mid);
        if (after.p > 0) t = at + expectedValue(m.duration);
      }
      return { worth, cost, lowered };
    };
    const options = [simulate(false), simulate(true)].filter(
      (o): o is NonNullable<typeof o> =>
        o !== undefined &&
        (o.cost <= 1e-9 || (this.setup.mode === "csc" && o.worth > 1.2 * o.cost + 1e-9)),
    );
    const choice = options.sort((x, y) => y.worth - y.cost - (x.worth - x.cost))[0];
    if (!choice) return false;
    const lowered: [string, number][] = [];
    for (const mid of choice.lowered) {
      const e = this.schedule.get(mid);
      if (!e) continue;
      lowered.push([mid, e.priority]);
      e.priority = PRIORITY.low;
    }
    this.loweredFor.set(id, lowered);
    const preempts = this.running !== undefined && busyUntil > latest;
    this.schedule.set(id, {
      earliest,
      latest,
      priority: PRIORITY.high,
      origin: "deliberative",
      ...(preempts ? { preempts: true } : {}),
    });
    return true;
  }

  private reportOf(id: string, p: Profile): ChildReport {
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      id,
      p: r3(p.cur.p),
      v: r3(p.cur.v),
      pp: r3(p.pot.p),
      pv: r3(p.pot.v),
      busy: r3(p.busy),
      ...(p.s !== undefined ? { s: p.s } : {}),
      ...(p.acc !== undefined ? { acc: p.acc } : {}),
      ...(p.final ? { final: true } : {}),
    };
  }

  /**
   * Selective broadcasting: whether a profile moved enough to be worth a message: the scheduled
   * probability by more than the policy's threshold ε, the potential one by 4ε of itself (only
   * "can it still help?" hangs on it), a value by ε of itself, or anything crossing zero or
   * changing state.
   */
  private static moved(a: ChildReport, b: ChildReport, eps: number): boolean {
    const zero = (x: number, y: number) => x > 0 !== y > 0;
    return (
      zero(a.p, b.p) ||
      zero(a.pp, b.pp) ||
      Math.abs(a.p - b.p) > eps ||
      Math.abs(a.pp - b.pp) > 4 * eps * Math.max(a.pp, b.pp) ||
      Math.abs(a.v - b.v) > eps * Math.max(a.v, b.v) ||
      Math.abs(a.pv - b.pv) > eps * Math.max(a.pv, b.pv) ||
      a.s !== b.s ||
      a.acc !== b.acc ||
      a.final !== b.final
    );
  }

  /** Whether this agent relays a task's children to the other owners. */
  private isSteward(taskId: string): boolean {
    const others = this.setup.sharers[taskId] ?? [];
    return others.length > 0 && others.every((o) => o > this.id);
  }

  /** State manager: tell the sharers of each task about the children this agent sees moved. */
  private reports(out: OutgoingMessage[]): void {
    for (const [taskId, sharers] of Object.entries(this.setup.sharers)) {
      if (sharers.length === 0) continue;
      const node = this.nodes.get(taskId);
      if (node?.kind !== "task") continue;
      // Under a sum with no parent, a child's value to the root does not depend on its
      // siblings, and nobody above needs the sum: nothing to tell.
      if (node.qaf === "sum" && this.parent.get(taskId) === undefined) continue;
      const now: ChildReport[] = [];
      if (sharers.length > 1 || this.isSteward(taskId))
        for (const [c, p] of this.childProfiles(taskId, this.profiles))
          now.push(this.reportOf(c, p));
      else
        for (const c of node.children) {
          const p = this.profiles.get(c);
          if (this.core.has(c) && p) now.push(this.reportOf(c, p));
        }
      now.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const before = this.lastSent.get(taskId);
      const changed =
        this.policy.broadcast === "always" ||
        !before ||
        before.length !== now.length ||
        now.some((r, i) => {
          const b = before[i];
          return (
            b === undefined || b.id !== r.id || SchedulerAgentCsc.moved(r, b, this.policy.threshold)
          );
        });
      if (!changed) continue;
      this.lastSent.set(taskId, now);
      for (const to of sharers)
        out.push({ to, body: { type: "report", node: taskId, children: now } });
    }
  }

  /** Execution controller: announce enables sources this agent stewards as they accrue or fail. */
  private enablerNotices(out: OutgoingMessage[]): void {
    for (const [sourceId, watchers] of Object.entries(this.setup.notify)) {
      const src = this.source(sourceId);
      const prof = this.profiles.get(sourceId);
      const p = Math.round((prof?.cur.p ?? src.p) * 10) / 10;
      const pp = Math.round((prof?.pot.p ?? src.pp) * 10) / 10;
      const key = src.at !== undefined ? `at:${src.at}` : src.failed ? "failed" : `p:${p}/${pp}`;
      if (this.announced.get(sourceId) === key && this.policy.broadcast !== "always") continue;
      this.announced.set(sourceId, key);
      const body: PeerBody =
        src.at !== undefined
          ? { type: "enabler", node: sourceId, at: src.at }
          : src.failed
            ? { type: "enabler", node: sourceId, failed: true }
            : { type: "enabler", node: sourceId, p, pp };
      for (const to of watchers) {
        if (to === this.id) this.handle({ from: this.id, to, seq: 0, body });
        else out.push({ to, body });
      }
    }
  }

  // ---- decisions --------------------------------------------------------------------------

  /** The probability of success if `id` started now. */
  private startProfile(id: string): TwoPoint {
    const a = this.activity(id);
    if (!a) return NOTHING;
    const qp = qualityProfile(a.quality);
    const p = qp.p * probabilityAtMost(a.duration, this.deadline(id) - this.tick);
    return p > 0 ? { p, v: qp.v } : NOTHING;
  }

  private canStartNow(id: string): boolean {
    const st = this.status.get(id);
    return (
      st?.state === "idle" &&
      this.release(id) <= this.tick &&
      this.latestStart(id) >= this.tick &&
      this.enabled(id) &&
      !this.enablerFailed(id)
    );
  }

  /** The next scheduled (not downgraded) method still to run, other than `except`. */
  private nextCommitment(except?: string): Entry | undefined {
    let next: Entry | undefined;
    for (const [id, e] of this.schedule) {
      if (id === except || e.priority <= PRIORITY.low) continue;
      if (this.status.get(id)?.state !== "idle") continue;
      if (!next || e.earliest < next.earliest) next = e;
    }
    return next;
  }

  /**
   * The last tick by which the resource must be free again so that no scheduled method is
   * harmed: each must still be able to start in time to end by its deadline at its longest
   * duration, in order, and a synchronized one must start when planned.
   */
  private freeBy(): Ticks {
    const pending = [...this.schedule]
      .filter(([id, e]) => e.priority > PRIORITY.low && this.status.get(id)?.state === "idle")
      .sort(([, a], [, b]) => a.earliest - b.earliest);
    // Walk backwards: the latest start of each, given the ones after it.
    let bound = Number.POSITIVE_INFINITY;
    for (let i = pending.length - 1; i >= 0; i--) {
      const item = pending[i];
      if (!item) continue;
      const [id, e] = item;
      const a = this.activity(id);
      if (!a) continue;
      const longest = valueRange(a.duration).max;
      const latest = this.syncOf.has(id)
        ? e.earliest
        : Math.max(e.earliest, Math.min(this.deadline(id), bound) - longest);
      bound = latest;
    }
    return bound;
  }

  /**
   * Opportunistic scheduler (CSC §3.2.1): in an idle gap, the unscheduled method with the highest
   * criticality (importance times probability of success if started now) that harms nothing
   * scheduled: it must end before the next scheduled method's last start, and must not break a
   * synchronized start.
   */
  private bestOpportunity(): { id: string; gain: number } | undefined {
    // Until profiles have travelled the tree, an agent knows too little to improvise.
    if (this.setup.mode === "csc" && this.tick < OPPORTUNISTIC_SETTLE_TICKS) return undefined;
    const freeBy = this.freeBy();
    let best: { id: string; gain: number } | undefined;
    for (const id of this.own) {
      if (this.schedule.has(id) || this.syncOf.has(id) || !this.canStartNow(id)) continue;
      const a = this.activity(id);
      if (!a) continue;
      if (this.tick + valueRange(a.duration).max > freeBy) continue;
      if (this.setup.mode === "csc" && this.worthWaiting(id, a, freeBy)) continue;
      const tp = this.startProfile(id);
      if (tp.p <= 0) continue;
      const g = this.gain(id, tp);
      if (g > 1e-9 && (!best || g > best.gain + 1e-12)) best = { id, gain: g };
    }
    return best;
  }

  /**
   * Whether an unscheduled method is better left for later. Until its last safe start (the last
   * from which it ends by its deadline at its longest duration) a later start costs it nothing,
   * and waiting keeps the resource free for what turns out to be needed:
   *
   * - while an alternative under its max, worth at least as much, is under way and its outcome
   *   is unknown, the method may yet prove useless;
   * - where a deliberative scheduler repairs the gaps failures leave under maxes jointly (its
   *   plan is made just before that last safe start), its plan may need this agent elsewhere.
   *
   * Only a method whose window is closing waits (its last safe start is less than its length
   * away): with more room, the resource would likely take other work meanwhile, and a start now
   * hedges against what the model does not foresee. A method without a deadline does not wait
   * (it has no last safe start), nor one that enables something (what it enables would wait
   * with it), nor one that, started at its last safe start, would hold up something scheduled.
   */
  private worthWaiting(id: string, a: ActivityNode, freeBy: Ticks): boolean {
    const longest = valueRange(a.duration).max;
    const last = this.deadline(id) - longest;
    if (!Number.isFinite(last) || this.tick >= last || this.enablesSomething(id)) return false;
    // Only in a closing window (its last safe start less than the method's length away).
    if (last - this.tick > longest) return false;
    // Started at its last safe start, it would hold up something scheduled: the later start
    // is not free.
    if (last + longest > freeBy) return false;
    const parent = this.parent.get(id);
    const up = parent === undefined ? undefined : this.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "max") return false;
    const mine = qualityProfile(a.quality).v;
    let underWay = false;
    let empty = true;
    let failed = false;
    for (const [cid, k] of this.childProfiles(parent, this.profiles)) {
      if (cid === id) continue;
      if (k.cur.p > 0) empty = false;
      if (k.final && k.s !== undefined && k.cur.p <= 0) failed = true;
      // An alternative worth at least as much, still running or planned, outcome unknown.
      if (!k.final && k.cur.p > 0 && k.cur.v >= mine) underWay = true;
    }
    // A gap left by a failure, which the deliberative scheduler repairs with the others of its
    // stretch (`DeliberativeScheduler`).
    const repaired = empty && failed && this.setup.deliberative !== undefined;
    return underWay || repaired;
  }

  /** Expected ticks until the running method `id` ends, given how long it has run. */
  private remaining(id: string): number {
    const a = this.activity(id);
    const start = this.status.get(id)?.start;
    if (!a || start === undefined) return 0;
    const elapsed = this.tick - start;
    let alive = 0;
    let sum = 0;
    for (const o of a.duration)
      if (o.value > elapsed) {
        alive += o.probability;
        sum += o.probability * (o.value - elapsed);
      }
    return alive > 0 ? sum / alive : 0;
  }

  /** The value still expected from the running method, counting only siblings ahead of it. */
  private runningValue(id: string): number {
    const prof = this.profiles.get(id);
    const parent = this.parent.get(id);
    if (!prof || parent === undefined) return 0;
    const start = this.status.get(id)?.start ?? this.tick;
    const behind = new Set<string>();
    // Under a min no sibling gives way: every one is needed.
    const node = this.nodes.get(parent);
    if (node?.kind === "task" && node.qaf === "min") return this.gain(id, prof.cur);
    for (const [cid, k] of this.childProfiles(parent, this.profiles)) {
      if (cid === id || k.final) continue;
      // A sibling not yet started, or started after this one, gives way to it.
      if (k.s === undefined || k.s > start || (k.s === start && cid > id)) behind.add(cid);
    }
    return this.gain(id, prof.cur, false, behind);
  }

  /** Downgrader (CSC §3.2.3): methods that can no longer help the root drop to low priority. */
  private downgrade(): boolean {
    let any = false;
    for (const [id, e] of this.schedule) {
      if (e.priority <= PRIORITY.low || this.status.get(id)?.state !== "idle") continue;
      const a = this.activity(id);
      if (!a) continue;
      const pot = this.profiles.get(id)?.pot ?? NOTHING;
      const best = { p: pot.p > 0 ? 1 : 0, v: qualityProfile(a.quality).v };
      if (pot.p <= 0 || this.gain(id, best, "downgrade") <= 1e-9) {
        e.priority = PRIORITY.low;
        any = true;
      }
    }
    return any;
  }

  /** Whether a synchronized method may start now; records and announces readiness. */
  private syncReady(id: string, out: OutgoingMessage[]): boolean {
    const group = this.syncOf.get(id);
    if (group === undefined || this.setup.mode !== "csc") return true;
    const members = this.setup.syncGroups.find((g) => g.id === group)?.members ?? [];
    const others = [...new Set(members.map((m) => m.agentId))].filter((a) => a !== this.id);
    if (!this.myReady.has(group)) {
      this.myReady.set(group, this.tick);
      for (const to of others) out.push({ to, body: { type: "ready", group, at: this.tick } });
    }
    const seen = this.readies.get(group);
    // Everyone else is ready (or withdrew), or waiting longer would miss the method's window.
    // Start once everyone has heard everyone: all others ready, and our own "ready" delivered.
    const allReady =
      others.every((a) => seen?.has(a)) && (this.myReady.get(group) ?? this.tick) < this.tick;
    return allReady || this.tick >= this.latestStart(id);
  }

  private withdraw(id: string, out: OutgoingMessage[]): void {
    const group = this.syncOf.get(id);
    if (group === undefined || this.setup.mode !== "csc") return;
    const members = this.setup.syncGroups.find((g) => g.id === group)?.members ?? [];
    for (const to of new Set(members.map((m) => m.agentId)))
      if (to !== this.id) out.push({ to, body: { type: "withdraw", group } });
    this.syncOf.delete(id);
  }

  /** The scheduled method to start now, dropping the ones that can no longer run. */
  private scheduledStart(out: OutgoingMessage[]): string | undefined {
    const ready: [string, Entry][] = [];
    for (const [id, e] of this.schedule) {
      const st = this.status.get(id);
      if (st?.state !== "idle") continue;
      if (this.latestStart(id) < this.tick || this.enablerFailed(id) || e.latest < this.tick) {
        // Window sliding gives up: the method is dropped from the schedule.
        this.schedule.delete(id);
        this.withdraw(id, out);
        continue;
      }
      if (e.priority <= PRIORITY.low && this.setup.mode === "csc") continue;
      if (e.earliest > this.tick || !this.canStartNow(id)) continue;
      ready.push([id, e]);
    }
    ready.sort(
      ([a, x], [b, y]) => y.priority - x.priority || x.earliest - y.earliest || (a < b ? -1 : 1),
    );
    for (const [id] of ready) if (this.syncReady(id, out)) return id;
    // Announce readiness a tick ahead for a synchronized start due next tick, so that every
    // member has heard every other by then and they start on the planned tick.
    if (this.setup.mode === "csc")
      for (const [id, e] of this.schedule) {
        const group = this.syncOf.get(id);
        if (group === undefined || this.myReady.has(group) || e.priority <= PRIORITY.low) continue;
        if (e.earliest !== this.tick + 1 || this.status.get(id)?.state !== "idle") continue;
        if (this.nextCommitment()?.earliest !== e.earliest) continue;
        this.myReady.set(group, this.tick);
        const members = this.setup.syncGroups.find((g) => g.id === group)?.members ?? [];
        for (const to of new Set(members.map((m) => m.agentId)))
          if (to !== this.id) out.push({ to, body: { type: "ready", group, at: this.tick } });
      }
    return undefined;
  }

  /** A downgraded method still worth running when nothing else is (CSC: it may yet add quality). */
  private downgradedStart(): string | undefined {
    let best: { id: string; gain: number } | undefined;
    const freeBy = this.freeBy();
    for (const [id, e] of this.schedule) {
      if (e.priority > PRIORITY.low || this.syncOf.has(id) || !this.canStartNow(id)) continue;
      if (e.earliest > this.tick) continue;
      // Like an opportunistic one, it must harm nothing still scheduled.
      const a = this.activity(id);
      if (!a || this.tick + valueRange(a.duration).max > freeBy) continue;
      const g = this.gain(id, this.startProfile(id));
      if (g > 1e-9 && (!best || g > best.gain)) best = { id, gain: g };
    }
    return best?.id;
  }

  /**
   * A deliberative install that must start now or never (or that was taken over the running
   * method, and may start), and can.
   */
  private urgentInstall(): string | undefined {
    for (const [id, e] of this.schedule)
      if (
        e.origin === "deliberative" &&
        e.priority > PRIORITY.low &&
        (e.latest <= this.tick + 1 || e.preempts === true) &&
        e.earliest <= this.tick &&
        this.canStartNow(id)
      )
        return id;
    return undefined;
  }

  /** Deliberative trigger: a watched task whose scheduled probability fell below its bar. */
  private escalations(out: OutgoingMessage[]): void {
    const d = this.setup.deliberative;
    if (!d) return;
    for (const [taskId, threshold] of Object.entries(d.watch)) {
      const prof = this.profiles.get(taskId);
      // Profiles need a few ticks to travel up and down the tree before they mean anything.
      if (this.tick < ESCALATION_SETTLE_TICKS) continue;
      if (!prof || prof.final || prof.acc !== undefined) continue;
      if (prof.cur.p >= threshold || prof.pot.p <= prof.cur.p + 0.05) continue;
      // Potential importance (CSC §3.1.3): a node that can no longer help the root (a min
      // above it has already failed) is not worth a repair.
      if (this.gain(taskId, { p: 1, v: prof.pot.v }, "downgrade") <= 1e-9) continue;
      // The deliberative scheduler repairs a node with methods under it; a node above only
      // tasks is repaired through the tasks below it, which are watched themselves.
      const node = this.nodes.get(taskId);
      if (node?.kind === "task" && node.children.every((c) => this.nodes.get(c)?.kind === "task"))
        continue;
      const last = this.escalatedAt.get(taskId);
      if (last !== undefined && this.tick - last < 4) continue;
      // Silence: said once, repeated only if the node got clearly worse since.
      const before = this.escalatedP.get(taskId);
      if (
        this.policy.silence &&
        before !== undefined &&
        prof.cur.p > before - this.policy.threshold
      )
        continue;
      this.escalatedAt.set(taskId, this.tick);
      this.escalatedP.set(taskId, prof.cur.p);
      this.toCoordinator(
        {
          type: "escalate",
          node: taskId,
          p: Math.round(prof.cur.p * 1000) / 1000,
          threshold,
          children: [...this.childProfiles(taskId, this.profiles)].map(([id, k]) =>
            this.reportOf(id, k),
          ),
        },
        out,
      );
    }
  }

  /** The cell's leader: its first member still present. */
  private cellLeader(): string | undefined {
    return this.setup.cell?.find((m) => !this.departed.has(m));
  }

  /**
   * Sends to the deliberative scheduler, or, in a cell, to the cell's leader (the leader keeps
   * its own for its summary).
   */
  private toCoordinator(body: PeerBody, out: OutgoingMessage[]): void {
    const d = this.setup.deliberative;
    if (!d) return;
    const leader = this.cellLeader();
    if (leader === undefined) out.push({ to: d.address, body });
    else if (leader !== this.id) out.push({ to: leader, body });
    else this.handle({ from: this.id, to: this.id, seq: 0, body });
  }

  /** A cell leader's summary of the tick for the coordinator. */
  private summarize(out: OutgoingMessage[]): void {
    const d = this.setup.deliberative;
    if (!d || this.cellLeader() !== this.id) return;
    if (this.batch.escalations.length === 0 && this.batch.installed.length === 0) return;
    out.push({
      to: d.address,
      body: {
        type: "summary",
        escalations: this.batch.escalations.splice(0),
        installed: this.batch.installed.splice(0),
      },
    });
  }

  step(input: TickInput): TickOutput {
    this.tick = input.tick;
    const out: OutgoingMessage[] = [];
    for (const ev of input.events) {
      if (ev.kind === "completed") {
        this.status.set(ev.activityId, {
          state: "done",
          start: ev.startTicks,
          end: ev.endTicks,
          quality: ev.quality,
        });
        if (this.running === ev.activityId) this.running = undefined;
      } else if (ev.kind === "left") {
        this.departed.add(ev.agentId);
      } else {
        const node = this.nodes.get(ev.nodeId);
        if (!node) continue;
        this.nodes.set(ev.nodeId, {
          ...node,
          ...(ev.releaseTicks !== undefined ? { releaseTicks: ev.releaseTicks } : {}),
          ...(ev.deadlineTicks !== undefined ? { deadlineTicks: ev.deadlineTicks } : {}),
          ...(node.kind === "activity" && ev.duration ? { duration: ev.duration } : {}),
          ...(node.kind === "activity" && ev.quality ? { quality: ev.quality } : {}),
        } as ModelNode);
      }
    }
    if (this.setup.mode === "csc") for (const msg of input.inbox) this.handle(msg);
    for (const ans of this.pendingInstalls.splice(0))
      this.toCoordinator({ type: "installed", lock: ans.lock, ok: ans.ok }, out);

    if (this.setup.mode === "initial") return this.stepInitial();

    this.recompute();
    if (this.setup.mode === "csc" && this.downgrade()) this.recompute();

    let abort: string | undefined;
    let start: string | undefined;
    if (this.running !== undefined) {
      const id = this.running;
      const entry = this.schedule.get(id);
      const value = this.runningValue(id);
      if (this.setup.mode === "csc") {
        const alt = this.bestOpportunity();
        const opportunistic = !entry || entry.origin === "opportunistic";
        const a = this.activity(id);
        const scale = a ? qualityProfile(a.quality).v : 1;
        // An install that must start now, taken over this method when it was accepted, still
        // has to be worth more than what this one brings by now. Earlier installs stay.
        const install = entry?.origin !== "deliberative" ? this.urgentInstall() : undefined;
        const urgent =
          install !== undefined && this.gain(install, this.startProfile(install)) > 1.2 * value;
        // An alternative is worth an abort only if it cannot wait until this method ends.
        const pressing =
          alt !== undefined && this.latestStart(alt.id) < this.tick + this.remaining(id);
        if (
          value <= 1e-9 ||
          urgent ||
          this.cancelled.delete(id) ||
          (opportunistic && alt && pressing && alt.gain > 1.2 * value + 0.01 * scale)
        ) {
          abort = id;
          this.status.set(id, {
            state: "done",
            start: this.status.get(id)?.start ?? 0,
            quality: 0,
          });
          this.schedule.delete(id);
          this.running = undefined;
        }
      }
    }
    if (this.running === undefined) {
      start = this.scheduledStart(out);
      if (start === undefined) {
        const best = this.bestOpportunity();
        if (best) {
          start = best.id;
          this.schedule.set(best.id, {
            earliest: this.tick,
            latest: this.tick,
            priority: PRIORITY.medium,
            origin: "opportunistic",
          });
        } else if (this.setup.mode === "csc") start = this.downgradedStart();
      }
      if (start !== undefined) {
        this.running = start;
        this.status.set(start, { state: "running", start: this.tick });
      }
    }
    if (this.setup.mode === "csc") {
      if (start !== undefined || abort !== undefined) this.recompute();
      this.enablerNotices(out);
      this.reports(out);
      this.escalations(out);
      this.summarize(out);
    }
    return {
      ...(abort !== undefined ? { abort } : {}),
      ...(start !== undefined ? { start } : {}),
      messages: out,
    };
  }

  /** Initial schedule execution: each planned method at its time, or as soon after as idle. */
  private stepInitial(): TickOutput {
    if (this.running !== undefined) return { messages: [] };
    for (const e of this.setup.initial) {
      const st = this.status.get(e.activityId);
      if (st?.state !== "idle" || e.startTicks > this.tick) continue;
      if (this.latestStart(e.activityId) < this.tick) continue;
      const local = (this.enablersOf.get(e.activityId) ?? []).every((s) => {
        const own = this.status.get(s);
        return !own || (own.state === "done" && (own.quality ?? 0) > 0);
      });
      if (!local) continue;
      this.running = e.activityId;
      this.status.set(e.activityId, { state: "running", start: this.tick });
      return { start: e.activityId, messages: [] };
    }
    return { messages: [] };
  }
}
