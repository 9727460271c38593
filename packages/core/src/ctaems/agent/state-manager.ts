import { expectedValue } from "../../model/distribution.js";
import type { TaskNode, Ticks } from "../../model/types.js";
import type { ChildReport, PeerBody } from "../messages.js";
import {
  combine,
  expected,
  NOTHING,
  probabilityAtMost,
  probabilityAtMostGiven,
  qualityProfile,
  type TwoPoint,
} from "../profiles.js";
import type { AgentSetup } from "../setup.js";
import type { CommsStrategy } from "./comms-policies.js";
import {
  type Entry,
  type OutgoingMessage,
  type OwnState,
  PRIORITY,
  type Profile,
} from "./types.js";
import type { LocalView } from "./view.js";

/** What the agent knows of an enables source: accrued at, failed, or pending with a chance. */
export interface SourceState {
  at?: Ticks;
  failed?: boolean;
  p: number;
  pp: number;
}

/** A neighbour's report of a child, and the tick it was heard. */
type Heard = ChildReport & { readonly heard: Ticks };

/**
 * State manager (CSC §3.1.1): the agent's state of the run, and the information the reasoning
 * components act on. It holds the part of the current schedule this agent runs (CSC §3.1.2: each
 * method's start window and priority), what happened to its own methods, what it heard of the
 * nodes it shares and of remote enablers; it computes the profiles of its core nodes
 * (probabilities, CSC §3.1.3) and the importance of a method to the root, and shares the
 * profiles with the agents that share a node.
 */
export class StateManager {
  tick: Ticks = 0;
  /** The own method running now. */
  running: string | undefined;
  readonly status = new Map<string, OwnState>();
  /** The current schedule (CSC §3.1.2). */
  readonly schedule = new Map<string, Entry>();
  /** Scheduled methods of a synchronized start, with their group. */
  readonly syncOf = new Map<string, string>();
  /** Core nodes' profiles as of the last `recompute`. */
  profiles = new Map<string, Profile>();
  /** When the scheduled methods not started are expected to start, as of the last `recompute`. */
  private queued = new Map<string, Ticks>();
  /** Per shared task: its children's profiles as their owners last reported them. */
  private readonly remote = new Map<string, Map<string, Heard>>();
  /** Per shared task: the children's profiles this agent last sent. */
  private readonly lastSent = new Map<string, ChildReport[]>();
  /** Remote enables sources, as their stewards announced them. */
  private readonly enablerState = new Map<
    string,
    { at?: Ticks; failed?: boolean; p?: number; pp?: number; eta?: Ticks }
  >();
  private readonly setup: AgentSetup;
  private readonly view: LocalView;
  private readonly comms: CommsStrategy;

  constructor(setup: AgentSetup, view: LocalView, comms: CommsStrategy) {
    this.setup = setup;
    this.view = view;
    this.comms = comms;
    for (const id of view.own) this.status.set(id, { state: "idle" });
    for (const e of setup.initial) {
      const a = view.activity(e.activityId);
      if (!a) continue;
      this.schedule.set(e.activityId, {
        earliest: e.startTicks,
        latest: view.latestStart(e.activityId),
        priority: PRIORITY.high,
        origin: "initial",
      });
    }
    for (const g of setup.syncGroups)
      for (const m of g.members)
        if (m.agentId === setup.agentId) this.syncOf.set(m.activityId, g.id);
  }

  /** One of its methods ended. */
  completed(activityId: string, start: Ticks, end: Ticks, quality: number): void {
    this.status.set(activityId, { state: "done", start, end, quality });
    if (this.running === activityId) this.running = undefined;
  }

  // ---- enablers ---------------------------------------------------------------------------

  /** What this agent knows of an enables source: accrued at, failed, or pending with a chance. */
  source(id: string): SourceState {
    const ownStatus = this.status.get(id);
    if (ownStatus) {
      if (ownStatus.state === "done")
        return (ownStatus.quality ?? 0) > 0
          ? { at: ownStatus.end ?? 0, p: 1, pp: 1 }
          : { failed: true, p: 0, pp: 0 };
    }
    const prof = this.profiles.get(id);
    if (prof && this.view.core.has(id)) {
      if (prof.acc !== undefined) return { at: prof.acc, p: 1, pp: 1 };
      if (prof.pot.p <= 0 && prof.final) return { failed: true, p: 0, pp: 0 };
    }
    const known = this.enablerState.get(id);
    if (known?.at !== undefined) return { at: known.at, p: 1, pp: 1 };
    if (known?.failed) return { failed: true, p: 0, pp: 0 };
    if (prof && this.view.core.has(id)) return { p: prof.cur.p, pp: prof.pot.p };
    // A source its steward has not scheduled (p 0) may still be run by someone: its potential
    // is what says whether the target can still be enabled.
    if (this.setup.mode === "csc") return { p: known?.p ?? 0.5, pp: known?.pp ?? 1 };
    return { p: 0.5, pp: 1 };
  }

  enablerFailed(id: string): boolean {
    return (this.view.enablersOf.get(id) ?? []).some((s) => this.source(s).failed === true);
  }

  /** The probability that every enabler of `id` accrues (in the current or potential schedule). */
  enablerFactor(id: string, potential: boolean): number {
    let f = 1;
    for (const s of this.view.enablersOf.get(id) ?? []) {
      const src = this.source(s);
      f *= src.at !== undefined ? 1 : potential ? src.pp : src.p;
    }
    return f;
  }

  /**
   * The probability that every enabler of `id` has accrued by tick `by`: a method that may only
   * start once they have cannot wait for them past its latest start. A source's chance of
   * accruing at all (`enablerFactor`) overrates one that will most likely accrue too late. What
   * it sees of the source is used (the runs under way, where the scheduled ones can start at the
   * earliest); a source it cannot see into keeps its chance of accruing at all.
   */
  enablerFactorBy(id: string, by: Ticks): number {
    let f = 1;
    for (const s of this.view.enablersOf.get(id) ?? []) {
      const src = this.source(s);
      if (src.at !== undefined) continue;
      // A source it cannot see into: its steward's expected accrual says whether it is in time.
      const eta = this.enablerState.get(s)?.eta;
      const seen = this.accrualBy(s, by) ?? (eta !== undefined && eta > by ? 0 : src.p);
      f *= Math.min(src.p, seen);
    }
    return f;
  }

  /**
   * The tick from which method `id` can be expected to start as far as its enablers go: the
   * latest expected accrual of those not yet accrued (as this agent sees it, or as the steward
   * last said), a tick later for the news of a remote one. 0 where nothing is known. A method
   * counted as starting before then is counted too likely to end by its deadline.
   */
  enabledFrom(id: string): Ticks {
    let from = 0;
    for (const src of this.view.enablersOf.get(id) ?? []) {
      if (this.source(src).at !== undefined) continue;
      const seen = this.expectedAccrual(src);
      const t = seen ?? this.enablerState.get(src)?.eta;
      if (t === undefined || !Number.isFinite(t)) continue;
      // The news of a source it does not steward arrives a tick after the accrual.
      const news = this.setup.notify[src] !== undefined ? 0 : 1;
      from = Math.max(from, Math.ceil(t) + news);
    }
    return from;
  }

  /**
   * When node `id` is expected to accrue (Infinity if nothing planned can make it), from what
   * this agent sees of the methods under it (undefined where it sees none of them).
   */
  expectedAccrual(id: string, profile?: Profile, parent?: string): Ticks | undefined {
    const node = this.view.nodes.get(id);
    const prof = profile ?? this.profiles.get(id);
    if (prof?.acc !== undefined) return prof.acc;
    if (prof?.final) return Number.POSITIVE_INFINITY;
    if (node === undefined || node.kind === "activity") {
      if (prof === undefined || (node === undefined && profile === undefined)) return undefined;
      if (prof.cur.p <= 0) return Number.POSITIVE_INFINITY;
      // (`busy` is what is left of a run under way, the whole mean of one not started.)
      if (prof.s !== undefined) return this.tick + prof.busy;
      const release = this.view.release(parent ?? id);
      // Its owner's planned start, as it will be: after the work queued ahead of it (`e`).
      const planned = prof.e ?? this.schedule.get(id)?.earliest ?? 0;
      return Math.max(this.tick, release, planned) + prof.busy;
    }
    const kids = this.childProfiles(id, this.profiles);
    if (kids.size === 0) return undefined;
    const times: Ticks[] = [];
    for (const [cid, k] of kids) {
      const t = this.expectedAccrual(cid, k, id);
      if (t === undefined) return undefined;
      times.push(t);
    }
    return node.qaf === "min" ? Math.max(...times) : Math.min(...times);
  }

  /**
   * The chance that node `id` accrues quality by `by`, from what this agent knows of the
   * methods under it (undefined where it sees none of them).
   */
  private accrualBy(id: string, by: Ticks, profile?: Profile, parent?: string): number | undefined {
    const node = this.view.nodes.get(id);
    const prof = profile ?? this.profiles.get(id);
    if (prof?.acc !== undefined) return prof.acc <= by ? 1 : 0;
    if (prof?.final) return 0;
    if (!node) {
      // A method of another agent's, seen only through its owner's reports: its expected end
      // (from its start, or the earliest its owner plans to start it) says whether it will be
      // in time.
      if (prof === undefined || profile === undefined) return undefined;
      if (prof.cur.p <= 0) return 0;
      // (`busy` is what is left of a run under way, the whole mean of one not started.)
      // (Its window is its parent's: the method itself may be outside this agent's view.)
      const release = this.view.release(parent ?? id);
      const from = prof.s !== undefined ? this.tick : Math.max(this.tick, release, prof.e ?? 0);
      return from + prof.busy <= by ? prof.cur.p : 0;
    }
    if (node.kind === "activity") {
      if (prof === undefined || prof.cur.p <= 0) return prof === undefined ? undefined : 0;
      const own = this.status.get(id);
      const start = own?.start ?? prof.s ?? this.queuedStart(id);
      const elapsed = Math.max(0, this.tick - start);
      const limit = Math.min(by, this.view.deadline(id)) - start;
      const p =
        qualityProfile(node.quality).p * probabilityAtMostGiven(node.duration, limit, elapsed);
      return Math.min(prof.cur.p, p);
    }
    const kids = this.childProfiles(id, this.profiles);
    if (kids.size === 0) return undefined;
    const chances: number[] = [];
    for (const [cid, k] of kids) {
      const c = this.accrualBy(cid, by, k, id);
      if (c === undefined) return undefined;
      chances.push(c);
    }
    if (node.qaf === "min") return chances.reduce((a, b) => a * b, 1);
    return 1 - chances.reduce((a, b) => a * (1 - b), 1);
  }

  // ---- profiles (CSC §3.1.3) --------------------------------------------------------------

  private methodProfile(id: string): Profile {
    const a = this.view.activity(id);
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
    const deadline = this.view.deadline(id);
    const meanD = a.duration.reduce((s, o) => s + o.value * o.probability, 0);
    if (st.state === "running" && st.start !== undefined) {
      const p = qp.p * probabilityAtMostGiven(a.duration, deadline - st.start, t - st.start);
      const tp = p > 0 ? { p, v: qp.v } : NOTHING;
      return { cur: tp, pot: tp, busy: Math.max(0, meanD - (t - st.start)), s: st.start };
    }
    const expired = this.view.latestStart(id) < t || this.enablerFailed(id);
    const potStart = Math.max(t, this.view.release(id));
    const potP = expired
      ? 0
      : qp.p * probabilityAtMost(a.duration, deadline - potStart) * this.enablerFactor(id, true);
    const pot = potP > 0 ? { p: potP, v: qp.v } : NOTHING;
    const entry = this.schedule.get(id);
    if (!entry || expired || entry.priority <= PRIORITY.low)
      return { cur: NOTHING, pot, busy: 0, ...(expired ? { final: true } : {}) };
    const planned = Math.max(entry.earliest, this.view.release(id));
    const p =
      qp.p *
      probabilityAtMost(a.duration, deadline - this.queuedStart(id)) *
      this.enablerFactor(id, false);
    if (p <= 0) return { cur: NOTHING, pot, busy: meanD };
    // The start its owner plans: its plan's, or, where the work ahead of it is expected to run
    // past that, the expected end of that work.
    const queued = this.queued.get(id) ?? t;
    return {
      cur: { p, v: qp.v },
      pot,
      busy: meanD,
      e: queued > t ? Math.max(planned, Math.ceil(queued)) : planned,
    };
  }

  /** Profiles of a task's children: own computations for core children, reports for the rest. */
  childProfiles(
    taskId: string,
    profiles: Map<string, Profile> = this.profiles,
  ): Map<string, Profile> {
    const out = new Map<string, Profile>();
    const reports = this.remote.get(taskId);
    if (reports)
      for (const [cid, r] of reports) {
        if (this.view.core.has(cid)) continue;
        out.set(cid, {
          cur: { p: r.p, v: r.v },
          pot: { p: r.pp, v: r.pv },
          busy: this.busyNow(cid, r),
          ...(r.s !== undefined ? { s: r.s } : {}),
          ...(r.e !== undefined ? { e: r.e } : {}),
          ...(r.acc !== undefined ? { acc: r.acc } : {}),
          ...(r.final ? { final: true } : {}),
        });
      }
    const node = this.view.nodes.get(taskId);
    if (node?.kind === "task")
      for (const c of node.children) {
        const p = profiles.get(c);
        if (this.view.core.has(c) && p) out.set(c, p);
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

  /**
   * When each scheduled method not started can start, run in order of planned start after the
   * running method (window sliding, expected durations): one planned before the resource is
   * free starts when it is. An install that takes the running method over starts when planned.
   */
  private queueStarts(): Map<string, Ticks> {
    const t = this.tick;
    let free = this.running !== undefined ? Math.ceil(t + this.remaining(this.running)) : t;
    const out = new Map<string, Ticks>();
    const queue = [...this.schedule]
      .filter(([id, e]) => e.priority > PRIORITY.low && this.status.get(id)?.state === "idle")
      .sort(
        // A synchronized start goes first at its tick, as the controller starts it.
        ([a, x], [b, y]) =>
          x.earliest - y.earliest ||
          Number(this.syncOf.has(b)) - Number(this.syncOf.has(a)) ||
          y.priority - x.priority ||
          (a < b ? -1 : 1),
      );
    for (const [id, e] of queue) {
      const a = this.view.activity(id);
      if (!a) continue;
      const start = Math.max(t, e.earliest, this.view.release(id), e.preempts === true ? t : free);
      out.set(id, start);
      free = Math.max(free, start + expectedValue(a.duration));
    }
    return out;
  }

  /**
   * When this agent's method `id`, not started, is expected to start: no earlier than now, its
   * release and its planned start, and after the work queued ahead of it (`queueStarts`).
   */
  private queuedStart(id: string): Ticks {
    return Math.max(
      this.tick,
      this.view.release(id),
      this.schedule.get(id)?.earliest ?? 0,
      this.queued.get(id) ?? 0,
    );
  }

  /** Recomputes every core node's profile, bottom-up. */
  recompute(): void {
    this.queued = this.queueStarts();
    const profiles = new Map<string, Profile>();
    for (const id of this.view.order) {
      const node = this.view.nodes.get(id);
      if (!node) continue;
      if (node.kind === "activity") profiles.set(id, this.methodProfile(id));
      else profiles.set(id, this.taskProfile(node, this.childProfiles(id, profiles)));
    }
    this.profiles = profiles;
  }

  /** The probability of success if `id` started now. */
  startProfile(id: string): TwoPoint {
    const a = this.view.activity(id);
    if (!a) return NOTHING;
    const qp = qualityProfile(a.quality);
    const p = qp.p * probabilityAtMost(a.duration, this.view.deadline(id) - this.tick);
    return p > 0 ? { p, v: qp.v } : NOTHING;
  }

  // ---- importance (CSC §3.1.3) ------------------------------------------------------------

  /**
   * Expected root quality when `id` (a core node) has profile `tp`, everything else as it is:
   * one evaluation of the path from `id` to the root. With `potential`, every other node takes
   * its potential profile (what could still be achieved); with "planned", every other node its
   * scheduled one (what is planned, siblings under a min included). Siblings in `exclude` are
   * left out of the direct parent. `onPath` sees the profile of each node on the path.
   */
  private rootValue(
    id: string,
    tp: TwoPoint,
    potential: boolean | "downgrade" | "install" | "planned",
    exclude?: ReadonlySet<string>,
    onPath?: (node: string, profile: TwoPoint) => void,
  ): number {
    let child = id;
    let value = tp;
    onPath?.(id, tp);
    for (let n = this.view.parent.get(id); n !== undefined; n = this.view.parent.get(n)) {
      const node = this.view.nodes.get(n);
      if (node?.kind !== "task") break;
      const kids = this.childProfiles(n, this.profiles);
      const list: TwoPoint[] = [value];
      for (const [cid, k] of kids) {
        if (cid === child) continue;
        if (n === this.view.parent.get(id) && exclude?.has(cid)) continue;
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
      onPath?.(n, value);
      child = n;
    }
    return expected(value);
  }

  /**
   * What method `id` succeeding with profile `tp` adds through the enables links on its path,
   * which its importance (`gain`) leaves out: for each node on the path (the method or an
   * ancestor) that enables a target this agent sees, the rise in that node's chance of accruing
   * times the target's worth to the root once enabled (its worth over the node's chance). A
   * target whose other enablers are lost, or that has accrued or closed, adds nothing.
   *
   * As a `commitment` (a planned or running method weighed against giving it up), siblings count
   * as in `gain`; a target of others' that nothing is planned under yet counts at what could
   * still be made of it (the team's repairs and idle time take up what an enabler makes
   * possible: an enables source given up for it is lost for good), its other enablers at their
   * present chances; one not heard of yet keeps the method (it may be worth anything). As an
   * `option` (work the agent might take up), everything counts as planned: a target only as far
   * as work under it is planned, one not heard of as nothing.
   */
  enablingGain(
    id: string,
    tp: TwoPoint,
    as: "commitment" | "option",
    exclude?: ReadonlySet<string>,
  ): number {
    const option = as === "option";
    const potential = option ? "planned" : false;
    const withIt = new Map<string, number>();
    const without = new Map<string, number>();
    this.rootValue(id, tp, potential, exclude, (n, v) => withIt.set(n, v.p));
    this.rootValue(id, NOTHING, potential, exclude, (n, v) => without.set(n, v.p));
    let total = 0;
    for (const [n, pw] of withIt) {
      const rise = pw - (without.get(n) ?? 0);
      if (rise <= 1e-9) continue;
      const now = this.source(n);
      if (now.at !== undefined || now.failed) continue;
      for (const t of this.view.targetsOf(n)) {
        if (!this.enableable(t, n)) continue;
        const own = this.profiles.get(t);
        const prof = own ?? this.reportedProfile(t);
        if (!prof) {
          if (!option) return Number.POSITIVE_INFINITY;
          continue;
        }
        if (prof.final || prof.acc !== undefined) continue;
        // The agent's own targets count as it plans them.
        const planned = option || own !== undefined || prof.cur.p > 0;
        const tt = planned ? prof.cur : prof.pot;
        if (tt.p <= 0) continue;
        const worth = this.rootValue(t, tt, potential) - this.rootValue(t, NOTHING, potential);
        // A potential counts the target's other enablers at their potentials too.
        let others = 1;
        if (!planned)
          for (const o of this.view.sourcesOf(t)) {
            if (o === n) continue;
            const st = this.source(o);
            if (st.at === undefined) others *= Math.min(1, st.p / Math.max(st.pp, 0.05));
          }
        const chance = planned ? now.p : now.pp;
        total += (rise * worth * others) / Math.max(chance, without.get(n) ?? 0, 0.05);
      }
    }
    return total;
  }

  /** The profile of node `id` as its parent's sharers last reported it, if any. */
  private reportedProfile(id: string): Profile | undefined {
    const parent = this.view.parent.get(id);
    return parent === undefined ? undefined : this.childProfiles(parent).get(id);
  }

  /**
   * Marginal value to the root of a method succeeding with profile `tp` (its importance). The
   * benchmark (no messages) evaluates the same path over its own part of the tree only, so it
   * does not repeat its own success under a max and sees no importance beyond its view.
   */
  gain(
    id: string,
    tp: TwoPoint,
    potential: boolean | "downgrade" | "install" | "planned" = false,
    exclude?: ReadonlySet<string>,
  ): number {
    return (
      this.rootValue(id, tp, potential, exclude) - this.rootValue(id, NOTHING, potential, exclude)
    );
  }

  // ---- the running method -----------------------------------------------------------------

  /** Whether target `t` can still be enabled once `source` accrues: no other enabler is lost. */
  private enableable(t: string, source: string): boolean {
    for (const other of this.view.sourcesOf(t)) {
      if (other === source) continue;
      const st = this.source(other);
      if (st.failed || (st.at === undefined && st.p <= 0)) return false;
    }
    return true;
  }

  /**
   * Whether node `t`, seen by this agent, has nothing at or below it planned, running or done:
   * enabling it earns nothing as things are planned (a target that merely could still run may
   * have no owner free to run it, as with an enabler).
   */
  private plannedByNone(t: string): boolean {
    const prof = this.profiles.get(t);
    return (
      this.view.nodes.has(t) && prof !== undefined && prof.acc === undefined && prof.cur.p <= 0
    );
  }

  /**
   * Whether an enables source still waits on method `id`: a source at or above it has not
   * accrued yet, and cannot without it (every node between them is a min, or no other child of
   * it is scheduled or has accrued). What such a method enables is not on the path its
   * importance is measured on, so its importance alone undervalues it. A target whose other
   * enablers are failed, or planned by no one, does not wait on it; nor does one nothing is
   * planned under.
   *
   * With `ordered`, for a planned method its owner may give up in the tick it decides: another
   * child that is only scheduled is a way around it only for the agent first in the order of
   * agent ids among the task's sharers (its steward). Two owners weighing installs of one batch
   * in the same tick, each counting on the other's method, would otherwise both give theirs up;
   * the order lets one of them only. A child under way or accrued is a way around for anyone.
   */
  enablingNeeds(id: string, ordered = false): boolean {
    let child = id;
    for (let n: string | undefined = id; n !== undefined; n = this.view.parent.get(n)) {
      if (n !== id) {
        const node = this.view.nodes.get(n);
        if (node?.kind !== "task") return false;
        // Another child is a way around this method only if it has accrued or is scheduled:
        // one that merely could still run (its potential) may have no owner free to run it.
        if (node.qaf !== "min")
          for (const [cid, k] of this.childProfiles(n, this.profiles))
            if (cid !== child && (k.acc !== undefined || this.wayAround(n, k, ordered)))
              return false;
      }
      if (this.profiles.get(n)?.acc !== undefined) return false;
      if (this.view.targetsOf(n).some((t) => this.enableable(t, n) && !this.plannedByNone(t)))
        return true;
      child = n;
    }
    return false;
  }

  /**
   * Whether a child of task `n` (profile `k`), not accrued, is a way around a sibling
   * (`enablingNeeds`).
   */
  private wayAround(n: string, k: Profile, ordered: boolean): boolean {
    if (!ordered) return k.cur.p > 0;
    if (k.s !== undefined && !k.final) return true;
    return k.cur.p > 0 && this.comesFirst(n);
  }

  /**
   * Whether method `id`, or a node above it, is the source of an enables link whose target can
   * still be enabled (no other enabler of it is lost or planned by no one).
   */
  enablesLive(id: string): boolean {
    for (let n: string | undefined = id; n !== undefined; n = this.view.parent.get(n))
      if (this.view.targetsOf(n).some((t) => this.enableable(t, n))) return true;
    return false;
  }

  /**
   * Whether the running method `id`, worth nothing by its quality (a sibling ahead of it will
   * earn as much), makes an enables source at or above it accrue sooner than the rest of the
   * work under that source would: a target still waiting on the source may then start sooner.
   * Only through max and sum tasks, where the first child to accrue makes the task accrue.
   */
  hastensEnabling(id: string): boolean {
    const end = this.tick + this.remaining(id);
    let child = id;
    for (let n = this.view.parent.get(id); n !== undefined; n = this.view.parent.get(n)) {
      const node = this.view.nodes.get(n);
      if (node?.kind !== "task" || (node.qaf !== "max" && node.qaf !== "sum")) return false;
      if (this.profiles.get(n)?.acc !== undefined) return false;
      for (const [cid, k] of this.childProfiles(n, this.profiles)) {
        if (cid === child) continue;
        const t = this.expectedAccrual(cid, k, n);
        if (t === undefined || t <= end) return false;
      }
      const waiting = (t: string) => {
        const prof = this.profiles.get(t) ?? this.reportedProfile(t);
        return prof?.acc === undefined && prof?.final !== true && this.enableable(t, n);
      };
      if (this.view.targetsOf(n).some((t) => waiting(t) && !this.plannedByNone(t))) return true;
      child = n;
    }
    return false;
  }

  /** Expected ticks until the running method `id` ends, given how long it has run. */
  remaining(id: string): number {
    const a = this.view.activity(id);
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
  runningValue(id: string): number {
    const prof = this.profiles.get(id);
    if (!prof) return 0;
    return this.gain(id, prof.cur, false, this.behind(id));
  }

  /**
   * What the running method, a child of a max and ahead of every sibling not done, adds through
   * the enables links on its path (`enablingGain`): the siblings behind it (`behind`) worth no
   * more than it give way to it, so the max may have nothing else; targets count as far as work
   * is planned under them, as an opportunity's worth counts them. 0 elsewhere.
   */
  runningEnabling(id: string): number {
    const prof = this.profiles.get(id);
    const parent = this.view.parent.get(id);
    const node = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (!prof || node?.kind !== "task" || node.qaf !== "max" || parent === undefined) return 0;
    const kids = this.childProfiles(parent, this.profiles);
    const behind = this.behind(id) ?? new Set<string>();
    // A backup of a sibling ahead of it is weighed on its quality alone, as before.
    for (const [cid, k] of kids) if (cid !== id && !k.final && !behind.has(cid)) return 0;
    // Of the siblings behind it, those worth no more than it, which it leaves nothing.
    const givingWay = new Set<string>();
    for (const cid of behind) if ((kids.get(cid)?.cur.v ?? 0) <= prof.cur.v) givingWay.add(cid);
    return this.enablingGain(id, prof.cur, "option", givingWay);
  }

  /**
   * The siblings that give way to the running method `id`: those not yet started, or started
   * after it (at the same tick, the later by id). Under a min none does: every one is needed.
   */
  private behind(id: string): Set<string> | undefined {
    const parent = this.view.parent.get(id);
    if (parent === undefined) return undefined;
    const node = this.view.nodes.get(parent);
    if (node?.kind === "task" && node.qaf === "min") return undefined;
    const start = this.status.get(id)?.start ?? this.tick;
    const behind = new Set<string>();
    for (const [cid, k] of this.childProfiles(parent, this.profiles)) {
      if (cid === id || k.final) continue;
      if (k.s === undefined || k.s > start || (k.s === start && cid > id)) behind.add(cid);
    }
    return behind;
  }

  // ---- sharing (CSC §3.1.1) ---------------------------------------------------------------

  /** Profile `p` of node `id` as reported: an own method is adjusted by `reachablePotential`. */
  private reachable(id: string, p: Profile): Profile {
    const st = this.status.get(id);
    if (st?.state !== "idle" || this.running === undefined || this.setup.mode !== "csc") return p;
    const freeAt = Math.ceil(this.tick + this.remaining(this.running));
    return reachablePotential(p, this.view.latestStart(id), freeAt);
  }

  /** A neighbour's profiles of the children of a task they share. */
  onReport(body: Extract<PeerBody, { type: "report" }>): void {
    const reports = this.remote.get(body.node) ?? new Map<string, Heard>();
    this.remote.set(body.node, reports);
    for (const r of body.children) reports.set(r.id, { ...r, heard: this.tick });
  }

  /**
   * What a reported child still spends now: a method under way has run since its report (a
   * report is sent again only when its chance or worth moves, not as its run goes on), so what
   * was left then is less by the ticks since. A task's (what is left of its runs and the whole
   * of those not started) is kept as reported.
   */
  private busyNow(id: string, r: Heard): number {
    if (r.s === undefined || r.final || this.view.nodes.get(id)?.kind === "task") return r.busy;
    return Math.max(0, r.busy - (this.tick - r.heard));
  }

  /** A remote enables source's steward says where it stands. */
  onEnabler(body: Extract<PeerBody, { type: "enabler" }>): void {
    const prev = this.enablerState.get(body.node) ?? {};
    this.enablerState.set(body.node, {
      ...prev,
      ...(body.at !== undefined ? { at: body.at } : {}),
      ...(body.failed ? { failed: true } : {}),
      ...(body.p !== undefined ? { p: body.p } : {}),
      ...(body.pp !== undefined ? { pp: body.pp } : {}),
      ...(body.eta !== undefined ? { eta: body.eta } : {}),
    });
  }

  /** Whether this agent relays a task's children to the other owners. */
  private isSteward(taskId: string): boolean {
    return (this.setup.sharers[taskId]?.length ?? 0) > 0 && this.comesFirst(taskId);
  }

  /** Whether this agent comes first, by agent id, among the owners sharing a task. */
  private comesFirst(taskId: string): boolean {
    return (this.setup.sharers[taskId] ?? []).every((o) => o > this.setup.agentId);
  }

  /**
   * Tells the sharers of each task about its children, when the communication policy says the
   * news is worth a message.
   */
  reports(out: OutgoingMessage[]): void {
    for (const [taskId, sharers] of Object.entries(this.setup.sharers)) {
      if (sharers.length === 0) continue;
      const node = this.view.nodes.get(taskId);
      if (node?.kind !== "task") continue;
      // Under a sum with no parent, a child's value to the root does not depend on its
      // siblings, and nobody above needs the sum: nothing to tell.
      if (node.qaf === "sum" && this.view.parent.get(taskId) === undefined) continue;
      const now: ChildReport[] = [];
      if (sharers.length > 1 || this.isSteward(taskId))
        for (const [c, p] of this.childProfiles(taskId, this.profiles))
          now.push(reportOf(c, this.reachable(c, p)));
      else
        for (const c of node.children) {
          const p = this.profiles.get(c);
          if (this.view.core.has(c) && p) now.push(reportOf(c, this.reachable(c, p)));
        }
      now.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (!this.comms.report(this.lastSent.get(taskId), now)) continue;
      this.lastSent.set(taskId, now);
      for (const to of sharers)
        out.push({ to, body: { type: "report", node: taskId, children: now } });
    }
  }
}

/**
 * What the others are told an own method could still achieve (its potential): nothing once
 * its owner, busy with another method to the expected end of it, can no longer start it in its
 * window. A sibling under a min stakes its worth on it, and would otherwise count on a method
 * its owner has no time for.
 */
export function reachablePotential(p: Profile, latestStart: Ticks, freeAt: Ticks): Profile {
  return freeAt > latestStart && p.cur.p <= 0 && !p.final ? { ...p, pot: NOTHING } : p;
}

/** A profile as it travels (rounded to three decimals). */
export function reportOf(id: string, p: Profile): ChildReport {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    id,
    p: r3(p.cur.p),
    v: r3(p.cur.v),
    pp: r3(p.pot.p),
    pv: r3(p.pot.v),
    busy: r3(p.busy),
    ...(p.s !== undefined ? { s: p.s } : {}),
    ...(p.e !== undefined ? { e: p.e } : {}),
    ...(p.acc !== undefined ? { acc: p.acc } : {}),
    ...(p.final ? { final: true } : {}),
  };
}
