import { expectedValue } from "../../model/distribution.js";
import type { Ticks } from "../../model/types.js";
import type { PeerBody } from "../messages.js";
import {
  NOTHING,
  probabilityAtMost,
  qualityProfile,
  type TwoPoint,
  valueRange,
} from "../profiles.js";
import type { AgentSetup } from "../setup.js";
import type { Communication } from "./communication.js";
import type { Commitment } from "./local-plan.js";
import { reportOf, type StateManager } from "./state-manager.js";
import { type Entry, type OutgoingMessage, PRIORITY } from "./types.js";
import type { LocalView } from "./view.js";

/**
 * What the agent's own unscheduled work loses to holding its resource for `hold`, with the
 * resource free from `freeFrom` (rather than `busyUntil`).
 */
export type Forgone = (hold: Commitment, freeFrom: Ticks, busyUntil: Ticks) => number;

/** Ticks at the start of a run during which nothing is escalated (profiles still settling). */
const ESCALATION_SETTLE_TICKS = 4;

/**
 * The agent's side of the deliberative scheduler (CSC §3.2.2): it escalates a watched node whose
 * scheduled probability fell below its bar, and checks and takes (or refuses) the start windows
 * the scheduler installs, under its locks (CSC §3.1.2); an install withdrawn gives back what it
 * displaced.
 */
export class DeliberativeClient {
  /** Answers to installs, sent at the start of the next tick. */
  private readonly pendingInstalls: { lock: number; ok: boolean; activity: string }[] = [];
  /** Per install taken: the scheduled methods it lowered (given back if it is withdrawn). */
  private readonly loweredFor = new Map<string, readonly (readonly [string, number])[]>();
  /** Per install taken: the scheduled methods it replaced (given back if it is withdrawn). */
  private readonly replacedFor = new Map<string, readonly (readonly [string, Entry])[]>();
  /** Installs withdrawn while already running: aborted at this tick. */
  private readonly cancelled = new Set<string>();
  private readonly escalatedAt = new Map<string, Ticks>();
  /** Probability of a node when it was last escalated (silence: escalate again only if worse). */
  private readonly escalatedP = new Map<string, number>();
  private readonly setup: AgentSetup;
  private readonly view: LocalView;
  private readonly state: StateManager;
  private readonly comms: Communication;
  private readonly forgone: Forgone;

  constructor(
    setup: AgentSetup,
    view: LocalView,
    state: StateManager,
    comms: Communication,
    forgone: Forgone = () => 0,
  ) {
    this.setup = setup;
    this.view = view;
    this.state = state;
    this.comms = comms;
    this.forgone = forgone;
  }

  /** An install: checked now, answered at the start of the next tick. */
  onInstall(body: Extract<PeerBody, { type: "install" }>): void {
    const ok = this.acceptInstall(
      body.activity,
      body.earliest,
      body.latest,
      body.vouched === true,
      body.replaces ?? [],
    );
    this.pendingInstalls.push({ lock: body.lock, ok, activity: body.activity });
  }

  /**
   * An install withdrawn: dropped (aborted if running), and what it lowered or replaced given
   * back. A scheduled method of another origin named is dropped if it has not started (a swap
   * elsewhere left it earning nothing).
   */
  onCancel(body: Extract<PeerBody, { type: "cancel" }>): void {
    const s = this.state;
    const e = s.schedule.get(body.activity);
    if (e !== undefined && e.origin !== "deliberative") {
      if (s.status.get(body.activity)?.state === "idle") s.schedule.delete(body.activity);
      return;
    }
    if (e?.origin !== "deliberative") return;
    if (s.running === body.activity) this.cancelled.add(body.activity);
    else if (s.status.get(body.activity)?.state !== "idle") return;
    s.schedule.delete(body.activity);
    for (const [mid, priority] of this.loweredFor.get(body.activity) ?? []) {
      const low = s.schedule.get(mid);
      if (low && s.status.get(mid)?.state === "idle") low.priority = priority;
    }
    this.loweredFor.delete(body.activity);
    this.giveBack(body.activity);
  }

  /** Puts back in the schedule what install `id` replaced, where it has not started since. */
  private giveBack(id: string): boolean {
    const s = this.state;
    let any = false;
    for (const [mid, entry] of this.replacedFor.get(id) ?? [])
      if (!s.schedule.has(mid) && s.status.get(mid)?.state === "idle") {
        s.schedule.set(mid, entry);
        any = true;
      }
    this.replacedFor.delete(id);
    return any;
  }

  /**
   * Gives back what an install lowered once the install is given up unstarted (dropped by window
   * sliding, or downgraded as it can no longer help): the methods it displaced lost their place
   * for nothing, and may still run. Only a place still ahead is given back: a method already due
   * would start at once whatever it pushes back, while at low priority it still runs where it
   * harms nothing scheduled. Whether anything was given back.
   */
  restoreDropped(): boolean {
    const s = this.state;
    let any = false;
    for (const [id, lowered] of this.loweredFor) {
      const e = s.schedule.get(id);
      if (s.status.get(id)?.state !== "idle") {
        // Started: what it displaced stays as it is.
        this.loweredFor.delete(id);
        this.replacedFor.delete(id);
        continue;
      }
      if (e !== undefined && e.priority > PRIORITY.low) continue;
      for (const [mid, priority] of lowered) {
        const low = s.schedule.get(mid);
        const ahead = low !== undefined && low.earliest > s.tick;
        if (low && ahead && low.priority < priority && s.status.get(mid)?.state === "idle") {
          low.priority = priority;
          any = true;
        }
      }
      this.loweredFor.delete(id);
      if (this.giveBack(id)) any = true;
    }
    return any;
  }

  /** Whether the running method `id` was withdrawn (and forgets it). */
  takeCancelled(id: string): boolean {
    return this.cancelled.delete(id);
  }

  /** Sends the answers to the installs of the previous tick. */
  answers(out: OutgoingMessage[]): void {
    for (const ans of this.pendingInstalls.splice(0))
      this.comms.toCoordinator(
        { type: "installed", lock: ans.lock, ok: ans.ok, activity: ans.activity },
        out,
      );
  }

  /**
   * Feasibility on the agent's side of a deliberative install (CSC §3.2.2): the window is still
   * open and the method can run in it. Where it would clash with what the agent has committed
   * to (the running method, scheduled methods planned to start before it would end), criticality
   * decides: the install is taken only if its importance clearly exceeds that of everything it
   * displaces; displaced scheduled methods are downgraded (kept, at low priority), a displaced
   * running method gives way when the install can wait no longer. Synchronized starts, earlier
   * installs and enables sources what they enable still needs are never displaced. An install
   * that can earn nothing in its window (its enablers are not expected in time) is refused, even
   * at no cost: taken, it would hold the resource for nothing; vouched, the scheduler's estimate
   * stands, unless it would take over a running method.
   */
  private acceptInstall(
    id: string,
    earliest: Ticks,
    latestAsked: Ticks,
    vouched = false,
    replaces: readonly string[] = [],
  ): boolean {
    const s = this.state;
    const a = this.view.activity(id);
    if (!a || s.status.get(id)?.state !== "idle" || s.enablerFailed(id)) return false;
    // A swap is for a plan that has not moved on: what it replaces has not started.
    if (replaces.some((mid) => s.status.get(mid)?.state !== "idle")) return false;
    const latest = Math.min(latestAsked, this.view.latestStart(id));
    if (latest < s.tick) return false;
    // A running method an install already taken will take over ends now, not when it would have
    // (installs of one batch arrive together; the next is weighed after the first).
    const overtaken = [...s.schedule].some(
      ([mid, e]) =>
        e.preempts === true && e.origin === "deliberative" && s.status.get(mid)?.state === "idle",
    );
    const busyUntil =
      s.running !== undefined && !overtaken ? Math.ceil(s.tick + s.remaining(s.running)) : s.tick;
    const pending = [...s.schedule]
      .filter(
        ([mid, e]) =>
          mid !== id &&
          !replaces.includes(mid) &&
          e.priority > PRIORITY.low &&
          s.status.get(mid)?.state === "idle",
      )
      .sort(([, x], [, y]) => x.earliest - y.earliest);
    const profileAt = (mid: string, at: Ticks, last: Ticks): TwoPoint => {
      const m = this.view.activity(mid);
      if (!m || at > last) return NOTHING;
      const q = qualityProfile(m.quality);
      // The install waits for its enablers no later than its last start: their chance of
      // accruing by then is what it can count on.
      const enabled = mid === id ? s.enablerFactorBy(mid, last) : s.enablerFactor(mid, false);
      const p = q.p * probabilityAtMost(m.duration, this.view.deadline(mid) - at) * enabled;
      return p > 0 ? { p, v: q.v } : NOTHING;
    };
    // Runs the install and the scheduled methods in order (window sliding: each starts when
    // the resource is free again), either in the order the execution controller would take
    // them, or with the install first (taking over the running method if it must). What the
    // scheduled ones lose is their lost chance of ending in time; one that can no longer run
    // is displaced (downgraded), as is one that would have gone before the install.
    const simulate = (
      first: boolean,
    ): { worth: number; cost: number; lowered: string[]; preempts: boolean } | undefined => {
      const preempts = first && busyUntil > latest;
      if (!first && busyUntil > latest) return undefined;
      // An install under a min whose other children are not all scheduled, under way or
      // done: its worth rests on siblings that may never run (installed with it all or nothing,
      // and refused by their owners, the install is withdrawn), while the running method's is
      // at hand.
      if (preempts && s.running !== undefined && this.restsOnUnplanned(id)) return undefined;
      let t = preempts ? s.tick : busyUntil;
      // A running method whose install was withdrawn is given up anyway: it costs nothing.
      // Else it costs what it was expected to earn, and what it would enable (which lies off
      // the path its importance is measured on); one that enables what the agent has not heard
      // of yet is not given up.
      let cost = 0;
      if (preempts && s.running !== undefined && !this.cancelled.has(s.running)) {
        const enabling = s.enablingGain(
          s.running,
          s.profiles.get(s.running)?.cur ?? NOTHING,
          "commitment",
        );
        if (!Number.isFinite(enabling)) return undefined;
        cost = s.runningValue(s.running) + enabling;
      }
      // What it replaces is given up: priced as what it was expected to earn.
      for (const mid of replaces)
        if (s.schedule.has(mid))
          cost += Math.max(0, s.gain(mid, s.profiles.get(mid)?.cur ?? NOTHING));
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
        const m = this.view.activity(mid);
        if (!m) continue;
        if (e === undefined) {
          // It starts no earlier than its enablers are expected to have accrued (or, if they
          // are expected later, at its last start: their chance of accruing by then is counted
          // apart): counted from its window's start, a method whose enabler comes late looks
          // surer of ending by its deadline than it is.
          const at = Math.max(t, earliest, s.tick, Math.min(s.enabledFrom(id), latest));
          if (at > latest) return undefined;
          installStart = at;
          worth = s.gain(id, profileAt(id, at, latest), "install");
          t = at + expectedValue(m.duration);
          // The agent's own unscheduled work the install shuts out is a cost too.
          cost += this.forgone(
            {
              id,
              earliest: at,
              latest: at,
              deadline: this.view.deadline(id),
              mean: expectedValue(m.duration),
              longest: valueRange(m.duration).max,
            },
            preempts ? s.tick : busyUntil,
            busyUntil,
          );
          continue;
        }
        const at = Math.max(t, e.earliest, this.view.release(mid));
        // A synchronized start pushed past its planned tick breaks its group, though the
        // method alone still looks on time.
        if (s.syncOf.has(mid) && at > e.earliest) return undefined;
        const after = profileAt(mid, at, Math.min(e.latest, this.view.latestStart(mid)));
        const loss = s.gain(mid, s.profiles.get(mid)?.cur ?? NOTHING) - s.gain(mid, after);
        // Under "install first", one planned to start before it must give way.
        const givesWay = first && e.earliest < installStart;
        // An earlier install is never displaced, even one whose profile is not yet computed (taken
        // this tick, it looks as if it had nothing to lose).
        if (e.origin === "deliberative" && (after.p <= 0 || givesWay)) return undefined;
        if (loss > 1e-9 || givesWay) {
          // A method that loses is priced at its loss and at what it would enable (lost with
          // it where it gives way, by its lost chance else), unless it is another install, a
          // member of a synchronized start, or an enables source whose only way around is
          // another owner's plan, ordered before this one (`enablingNeeds`): that owner may be
          // giving it up in this very tick, counting on this one.
          if (
            e.origin === "deliberative" ||
            s.syncOf.has(mid) ||
            (s.enablingNeeds(mid, true) && !s.enablingNeeds(mid))
          )
            return undefined;
          const before = s.profiles.get(mid)?.cur ?? NOTHING;
          const lost = s.enablingGain(mid, before, "commitment");
          // One that enables what the agent has not heard of yet is kept.
          if (!Number.isFinite(lost)) return undefined;
          const kept = after.p <= 0 || givesWay ? 0 : s.enablingGain(mid, after, "commitment");
          cost += Math.max(0, loss) + Math.max(0, lost - Math.min(kept, lost));
        }
        if (after.p <= 0 || givesWay) lowered.push(mid);
        if (after.p > 0) t = at + expectedValue(m.duration);
      }
      return { worth, cost, lowered, preempts };
    };
    // A vouched install is priced by the scheduler, which sees more than this agent, though not
    // a method this agent took up since that plan: taking over a running one is weighed here, as
    // the abort it needs would be (an install accepted and then never started would stand in
    // the others' plans until its window closed).
    const trusted = (o: { preempts: boolean }) => vouched && !o.preempts;
    const options = [simulate(false), simulate(true)].filter(
      (o): o is NonNullable<typeof o> =>
        o !== undefined &&
        (trusted(o) || o.worth > 1e-9) &&
        (o.cost <= 1e-9 ||
          (this.setup.mode === "csc" && (trusted(o) || o.worth > 1.2 * o.cost + 1e-9))),
    );
    const choice = options.sort((x, y) => y.worth - y.cost - (x.worth - x.cost))[0];
    if (!choice) return false;
    const lowered: [string, number][] = [];
    for (const mid of choice.lowered) {
      const e = s.schedule.get(mid);
      if (!e) continue;
      lowered.push([mid, e.priority]);
      e.priority = PRIORITY.low;
    }
    this.loweredFor.set(id, lowered);
    const replaced: [string, Entry][] = [];
    for (const mid of replaces) {
      const e = s.schedule.get(mid);
      if (!e) continue;
      replaced.push([mid, e]);
      s.schedule.delete(mid);
    }
    this.replacedFor.set(id, replaced);
    const preempts = s.running !== undefined && busyUntil > latest;
    s.schedule.set(id, {
      earliest,
      latest,
      priority: PRIORITY.high,
      origin: "deliberative",
      ...(preempts ? { preempts: true } : {}),
    });
    return true;
  }

  /** Whether method `id` is under a min with another child not scheduled, under way or done. */
  private restsOnUnplanned(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "min") return false;
    for (const [cid, k] of this.state.childProfiles(parent))
      if (cid !== id && !k.final && k.acc === undefined && k.cur.p <= 0) return true;
    return false;
  }

  /** Deliberative trigger: a watched task whose scheduled probability fell below its bar. */
  escalations(out: OutgoingMessage[]): void {
    const s = this.state;
    const d = this.setup.deliberative;
    if (!d) return;
    for (const [taskId, threshold] of Object.entries(d.watch)) {
      const prof = s.profiles.get(taskId);
      // Profiles need a few ticks to travel up and down the tree before they mean anything.
      if (s.tick < ESCALATION_SETTLE_TICKS) continue;
      if (!prof || prof.final || prof.acc !== undefined) continue;
      if (prof.cur.p >= threshold || prof.pot.p <= prof.cur.p + 0.05) continue;
      // Potential importance (CSC §3.1.3): a node that can no longer help the root (a min
      // above it has already failed) is not worth a repair.
      if (s.gain(taskId, { p: 1, v: prof.pot.v }, "downgrade") <= 1e-9) continue;
      // The deliberative scheduler repairs a node with methods under it; a node above only
      // tasks is repaired through the tasks below it, which are watched themselves.
      const node = this.view.nodes.get(taskId);
      if (
        node?.kind === "task" &&
        node.children.every((c) => this.view.nodes.get(c)?.kind === "task")
      )
        continue;
      const last = this.escalatedAt.get(taskId);
      if (last !== undefined && s.tick - last < 4) continue;
      // The policy says whether a node already escalated is worth saying again (silence: only
      // if it got clearly worse since).
      const before = this.escalatedP.get(taskId);
      if (before !== undefined && !this.comms.strategy.escalateAgain(before, prof.cur.p)) continue;
      this.escalatedAt.set(taskId, s.tick);
      this.escalatedP.set(taskId, prof.cur.p);
      this.comms.toCoordinator(
        {
          type: "escalate",
          node: taskId,
          p: Math.round(prof.cur.p * 1000) / 1000,
          threshold,
          children: [...s.childProfiles(taskId)].map(([id, k]) => reportOf(id, k)),
        },
        out,
      );
    }
  }
}
