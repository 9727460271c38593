import { expectedValue } from "../../model/distribution.js";
import type { ActivityNode, Ticks } from "../../model/types.js";
import {
  expected,
  NOTHING,
  probabilityAtMost,
  qualityProfile,
  type TwoPoint,
  valueRange,
} from "../profiles.js";
import type { AgentSetup } from "../setup.js";
import type { ExecutionController } from "./execution-controller.js";
import { type Commitment, idlePlan, idleValue, type LocalOption } from "./local-plan.js";
import type { StateManager } from "./state-manager.js";
import { PRIORITY } from "./types.js";
import type { LocalView } from "./view.js";

/** Ticks at the start of a run before the opportunistic scheduler acts. */
const OPPORTUNISTIC_SETTLE_TICKS = 2;

/** Ticks at the start of a run before a scheduled method may give way (`rechoose`). */
const RECHOICE_SETTLE_TICKS = 4;

/**
 * A method worth starting now, and its worth: its importance-weighted value to the root, and in
 * Consort's mode what it enables (`OpportunisticScheduler.enabling`).
 */
export interface Opportunity {
  readonly id: string;
  readonly gain: number;
}

/**
 * Whether a commitment gives way to the work its time would hold instead: that work is clearly
 * worth more (by a fifth, and a hundredth of the method's value), as an abort must be.
 */
export function givesWay(keep: number, instead: number, scale: number): boolean {
  return instead > 1.2 * keep + 0.01 * scale;
}

/** Weight of a bet's spread against its worth, in a re-choice (see `outweighs`). */
export const RECHOICE_RISK = 0.5;

/** A bet on one outcome: its expected worth, and its chance of earning anything. */
export interface Bet {
  readonly worth: number;
  readonly p: number;
}

/** Standard deviation of a two-point bet's worth (it earns worth / p with probability p). */
function spread(b: Bet): number {
  return b.p > 0 && b.p < 1 ? b.worth * Math.sqrt((1 - b.p) / b.p) : 0;
}

/**
 * Whether `instead` outweighs keeping to `keep` (a commitment the others plan around): it must
 * give way by `givesWay`, and also on the bets' worths less a share of their spreads (a
 * risk-averse certainty equivalent). The model counts chances, deadlines and enablers, not how
 * the others react once the plan is left (a min's or a syncsum's members dropping theirs,
 * backups no longer needed): a small edge of a wide gamble over a surer plan is mostly noise in
 * what it leaves out, while a surer choice over a wide plan is not held back.
 */
export function outweighs(keep: Bet, instead: Bet, scale: number): boolean {
  return (
    givesWay(keep.worth, instead.worth, scale) &&
    instead.worth - RECHOICE_RISK * spread(instead) > keep.worth - RECHOICE_RISK * spread(keep)
  );
}

/**
 * Whether starting method `a` (due by `deadline`, with the resource needed again by `freeBy`,
 * earning nothing if started after `lastUseful`) at `until` rather than at `tick` costs it:
 * started then, it would earn nothing, would no longer end before the resource is needed, or
 * would be less likely to end by its deadline. A gap so tight that the settling ticks would
 * cost it.
 */
export function waitingCosts(
  a: ActivityNode,
  deadline: Ticks,
  freeBy: Ticks,
  lastUseful: Ticks,
  tick: Ticks,
  until: Ticks,
): boolean {
  return (
    until > lastUseful ||
    until + valueRange(a.duration).max > freeBy ||
    probabilityAtMost(a.duration, deadline - until) <
      probabilityAtMost(a.duration, deadline - tick) - 1e-9
  );
}

/**
 * Opportunistic scheduler (CSC §3.2.1): in an idle gap, the unscheduled method with the highest
 * criticality (importance times probability of success if started now) that harms nothing
 * scheduled. In "bos" mode it is the Benchmark Opportunistic Scheduler (CSC §4): the same choice
 * over the agent's own view, with no messages.
 */
export class OpportunisticScheduler {
  private readonly setup: AgentSetup;
  private readonly view: LocalView;
  private readonly state: StateManager;
  private readonly controller: ExecutionController;

  constructor(
    setup: AgentSetup,
    view: LocalView,
    state: StateManager,
    controller: ExecutionController,
  ) {
    this.setup = setup;
    this.view = view;
    this.state = state;
    this.controller = controller;
  }

  /**
   * The last tick by which the resource must be free again so that no scheduled method is
   * harmed: each must still be able to start in time to end by its deadline at its longest
   * duration, in order, and a synchronized one must start when planned. Unless `sure`, one that
   * waits on its enablers needs the resource no earlier than they are expected to accrue; `sure`
   * is for an abort, which cannot be undone: it does not count on an expected time.
   */
  private freeBy(sure = false): Ticks {
    const s = this.state;
    const pending = [...s.schedule]
      .filter(([id, e]) => e.priority > PRIORITY.low && s.status.get(id)?.state === "idle")
      .sort(([, a], [, b]) => a.earliest - b.earliest);
    // Walk backwards: the latest start of each, given the ones after it.
    let bound = Number.POSITIVE_INFINITY;
    for (let i = pending.length - 1; i >= 0; i--) {
      const item = pending[i];
      if (!item) continue;
      const [id, e] = item;
      const a = this.view.activity(id);
      if (!a) continue;
      const longest = valueRange(a.duration).max;
      // It cannot start before its enablers are expected to have accrued: the resource is not
      // needed before then.
      const from =
        this.setup.mode === "csc" && !sure ? Math.max(e.earliest, s.enabledFrom(id)) : e.earliest;
      const latest = s.syncOf.has(id)
        ? e.earliest
        : Math.max(from, Math.min(this.view.deadline(id), bound) - longest);
      bound = latest;
    }
    return bound;
  }

  /**
   * The best unscheduled method to start in this idle gap: it must end before the next scheduled
   * method's last start (`freeBy`, `sure` as there), and must not break a synchronized start.
   */
  bestOpportunity(sure = false): Opportunity | undefined {
    const s = this.state;
    // Until profiles have travelled the tree, an agent knows too little to improvise, unless
    // waiting would cost the method its chance of ending by its deadline, or the agent the
    // release of its next option (`freeForNext`).
    const settling = this.setup.mode === "csc" && s.tick < OPPORTUNISTIC_SETTLE_TICKS;
    const freeBy = this.freeBy(sure);
    let best: Opportunity | undefined;
    for (const id of this.view.own) {
      if (s.schedule.has(id) || s.syncOf.has(id) || !this.controller.canStartNow(id)) continue;
      const a = this.view.activity(id);
      if (!a) continue;
      if (s.tick + valueRange(a.duration).max > freeBy) continue;
      if (settling) {
        // A syncsum child earns nothing once another child has started without it, which one
        // planned as early as possible does at the release.
        const release = this.view.release(id);
        const useful = Math.min(
          this.lastSyncStart(id),
          this.isSyncsumChild(id) && s.tick <= release ? release : Number.POSITIVE_INFINITY,
        );
        const deadline = this.view.deadline(id);
        if (
          !waitingCosts(
            a,
            deadline,
            this.freeForNext(id, a, freeBy),
            useful,
            s.tick,
            OPPORTUNISTIC_SETTLE_TICKS,
          )
        )
          continue;
      }
      if (this.setup.mode === "csc" && (this.breaksSync(id) || this.worthWaiting(id, a, freeBy)))
        continue;
      const tp = s.startProfile(id);
      if (tp.p <= 0) continue;
      const g = this.netOfAhead(id, s.gain(id, tp) + this.enabling(id, tp), tp);
      if (g > 1e-9 && (!best || g > best.gain + 1e-12)) best = { id, gain: g };
    }
    return best;
  }

  /**
   * When the resource must be free again for method `id` (`a`), started now, to leave the agent's
   * next chances whole: `freeBy`, or earlier the release of another of its options that `id`
   * would end before at its longest (a syncsum child a later start would leave out, the next
   * window's work). Waiting for profiles to settle may cost that release, not only a deadline.
   */
  private freeForNext(id: string, a: ActivityNode, freeBy: Ticks): Ticks {
    const end = this.state.tick + valueRange(a.duration).max;
    let bound = freeBy;
    for (const o of this.options(id))
      if (o.release > this.state.tick && o.release >= end) bound = Math.min(bound, o.release);
    return bound;
  }

  /**
   * The agent's pending commitments (scheduled, not downgraded, not started), as a local plan
   * sees them, leaving out `except`.
   */
  commitments(except?: string): Commitment[] {
    const s = this.state;
    const out: Commitment[] = [];
    for (const [id, e] of s.schedule) {
      if (id === except || e.priority <= PRIORITY.low || s.status.get(id)?.state !== "idle")
        continue;
      const a = this.view.activity(id);
      if (!a) continue;
      out.push({
        id,
        earliest: Math.max(e.earliest, this.view.release(id)),
        latest: Math.min(e.latest, this.view.latestStart(id)),
        deadline: this.view.deadline(id),
        mean: expectedValue(a.duration),
        longest: valueRange(a.duration).max,
        ...(s.syncOf.has(id) ? { sync: true } : {}),
      });
    }
    return out;
  }

  /**
   * The methods the agent could take up in its idle gaps: unscheduled or downgraded, not failed
   * and not spoiling a synchronized start, each valued by its importance at its chance of
   * success from a start (enablers included). Alternatives under one max form a group.
   */
  options(except?: string): LocalOption[] {
    const out: LocalOption[] = [];
    for (const id of this.view.own) {
      const e = this.state.schedule.get(id);
      if (id === except || (e && e.priority > PRIORITY.low)) continue;
      const o = this.optionOf(id);
      if (o) out.push(o);
    }
    return out;
  }

  /** Method `id` as an option of the agent's idle gaps, if it is one (see `options`). */
  private optionOf(id: string, freed = false): LocalOption | undefined {
    const s = this.state;
    if ((s.syncOf.has(id) && !freed) || s.status.get(id)?.state !== "idle") return undefined;
    if (s.enablerFailed(id) || this.breaksSync(id)) return undefined;
    const a = this.view.activity(id);
    if (!a) return undefined;
    const q = qualityProfile(a.quality);
    // What enables it counts as far as it is planned: an enabler nobody runs enables nothing.
    const f = s.enablerFactor(id, false);
    if (q.p * f <= 0) return undefined;
    // Its worth as things are planned: under a min, a sibling nobody runs makes it worthless;
    // what it would enable counts too.
    const g =
      s.gain(id, { p: q.p * f, v: q.v }, "planned") +
      s.enablingGain(id, { p: q.p * f, v: q.v }, "option");
    if (g <= 1e-9) return undefined;
    const deadline = this.view.deadline(id);
    const lastSync = this.lastSyncStart(id);
    // It starts no earlier than its enablers are expected to have accrued: valued from a start
    // it cannot make, a method whose enabler comes late looks surer of its deadline than it is.
    const enabledFrom = s.enabledFrom(id);
    const onTime = (at: Ticks) =>
      probabilityAtMost(a.duration, deadline - Math.max(at, enabledFrom));
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    return {
      id,
      release: this.view.release(id),
      latest: this.view.latestStart(id),
      mean: expectedValue(a.duration),
      longest: valueRange(a.duration).max,
      ...(up?.kind === "task" && up.qaf === "max" && parent !== undefined ? { group: parent } : {}),
      value: (at) => (Math.max(at, enabledFrom) > lastSync ? 0 : g * onTime(at)),
      chance: (at) => q.p * f * onTime(at),
    };
  }

  /**
   * The last start at which method `id` still earns anything under a syncsum (which counts only
   * the children that start with its first): the start of another child already under way, or,
   * with another child scheduled, the syncsum's release (as `breaksSync`: past it, a start goes
   * ahead of the others' or after them). Unbounded elsewhere.
   */
  /** Whether method `id` is a child of a syncsum another child of which is planned, unstarted. */
  private aheadOfPlannedSibling(id: string): boolean {
    const parent = this.view.parent.get(id);
    if (parent === undefined || !this.isSyncsumChild(id)) return false;
    for (const [cid, k] of this.state.childProfiles(parent))
      if (cid !== id && k.s === undefined && !k.final && k.cur.p > 0) return true;
    return false;
  }

  /** Whether method `id` is a child of a syncsum. */
  private isSyncsumChild(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    return up?.kind === "task" && up.qaf === "syncsum";
  }

  private lastSyncStart(id: string): Ticks {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "syncsum")
      return Number.POSITIVE_INFINITY;
    let last = Number.POSITIVE_INFINITY;
    for (const [cid, k] of this.state.childProfiles(parent)) {
      if (cid === id) continue;
      if (k.s !== undefined) last = Math.min(last, k.s);
      else if (!k.final && k.cur.p > 0) last = Math.min(last, this.view.release(id));
    }
    return last;
  }

  /**
   * What holding the resource for `hold` (an install, pinned at its start) costs in the agent's
   * own unscheduled work: the worth of its idle gaps as they are (the resource free from
   * `busyUntil`) less their worth with the hold (free from `freeFrom`, earlier when the hold
   * takes over the running method). Installs are weighed against it: an install that takes an
   * agent's free time from surer, more valuable work of its own, or pushes its next commitment
   * past the room for what would follow, loses what its best local decision would have earned.
   */
  forgone(hold: Commitment, freeFrom: Ticks, busyUntil: Ticks): number {
    const pending = this.commitments(hold.id);
    // An alternative under a max counts only where it is the best the max can have (better
    // than every other child planned, done or still possible). A backup's worth hangs on
    // another alternative failing (which the agent may not even hear of), and where another
    // agent could do better the deliberative scheduler, with every agent's time in view, fills
    // the max with that one.
    const options = this.options(hold.id).filter(
      (o) => o.group === undefined || this.bestOfMax(o.id, o.group),
    );
    if (options.length === 0) return 0;
    const before = idleValue(busyUntil, pending, options);
    const after = idleValue(freeFrom, [...pending, { ...hold, sync: true }], options);
    return Math.max(0, before - after);
  }

  /** Whether method `id` is under a min another child of which is planned, running or done. */
  private minSiblingPlanned(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "min") return false;
    for (const [cid, k] of this.state.childProfiles(parent))
      if (cid !== id && k.cur.p > 0) return true;
    return false;
  }

  /** Whether method `id` is better than every other child of max `group` planned or possible. */
  private bestOfMax(id: string, group: string): boolean {
    const a = this.view.activity(id);
    if (!a) return false;
    const mine = qualityProfile(a.quality).v;
    for (const [cid, k] of this.state.childProfiles(group)) {
      if (cid === id) continue;
      if (k.cur.p > 0 && k.cur.v >= mine) return false;
      if (k.pot.p > 0 && k.pot.v >= mine) return false;
    }
    return true;
  }

  /**
   * Re-choice (the agent's best local decision, kept against its schedule): a method of the
   * initial schedule gives way (is downgraded) when the agent's own unscheduled work that the
   * freed time lets it take up is clearly worth more than the method and the idle gaps around
   * it. The initial schedule was fixed before anything ran; keeping to it can hold an agent on
   * a method of little worth that leaves no room, later, for surer or more valuable ones. The
   * method's worth counts what it enables (`enablingGain`: an enables source is kept while what
   * it enables is worth keeping it for); installs and methods overdue are kept. A method due at
   * this very tick may still give way: work released at its planned start could not be taken up
   * at once before, so this is the first tick the choice can be made (a member of a synchronized
   * start due now is kept: the others start with it now; so is a method under a min while another
   * child is planned: its owner starts on the plan now, too late to hear that its work would go
   * for nothing). Returns the methods that gave way (one at a time; a synchronized one must then
   * leave its group).
   */
  rechoose(): string[] {
    const s = this.state;
    if (this.setup.mode !== "csc" || s.running !== undefined) return [];
    // Profiles must have travelled: the choice rests on what the others plan.
    if (s.tick < RECHOICE_SETTLE_TICKS) return [];
    const pending = this.commitments();
    for (const c of pending) {
      const e = s.schedule.get(c.id);
      if (e?.origin !== "initial" || c.earliest < s.tick) continue;
      if (c.earliest === s.tick && (c.sync || this.minSiblingPlanned(c.id))) continue;
      const a = this.view.activity(c.id);
      if (!a) continue;
      const cur = s.profiles.get(c.id)?.cur ?? NOTHING;
      const keep = s.gain(c.id, cur) + s.enablingGain(c.id, cur, "commitment");
      const options = this.options();
      const withIt = keep + idleValue(s.tick, pending, options);
      const rest = pending.filter((x) => x.id !== c.id);
      // Freed, the method is one more option (it may still run, later or at once), unless it
      // is a member of a synchronized start: it leaves its group, and once another member has
      // started at the planned tick, a start at any other tick earns nothing.
      const freed = c.sync ? undefined : this.optionOf(c.id, true);
      const without = idlePlan(s.tick, rest, freed ? [...options, freed] : options);
      // Decided only when it matters now (the freed time is taken up at once), on the
      // freshest news of the others' plans.
      if (without.first?.at !== s.tick || without.first.id === c.id) continue;
      // Nor for a syncsum child while another child is planned and not started: started ahead
      // of it, it takes that child's quality (a syncsum counts only the children that start
      // with its first), which its own worth does not count.
      if (this.aheadOfPlannedSibling(without.first.id)) continue;
      const first = without.first;
      const chosen =
        options.find((o) => o.id === first.id) ?? (freed?.id === first.id ? freed : undefined);
      const keepP = s.profiles.get(c.id)?.cur.p ?? 0;
      const bet = { worth: without.value, p: chosen?.chance?.(first.at) ?? 1 };
      if (!outweighs({ worth: withIt, p: keepP }, bet, qualityProfile(a.quality).v)) continue;
      e.priority = PRIORITY.low;
      return [c.id];
    }
    const stalled = this.stalled();
    return stalled === undefined ? [] : [stalled];
  }

  /**
   * A commitment due now that waits for the news of an enabler holds the resource idle, and
   * keeps from it the work that would not end before the commitment's last start. It gives way
   * (is downgraded, and may still run later at low priority) when that work is clearly worth
   * more than the commitment at the enabler's present chance: an enabler whose chance has
   * fallen may never come, and the wait would then have cost both. Only when nothing else
   * scheduled can start now; synchronized starts are kept, and a commitment's worth counts what
   * it enables.
   */
  private stalled(): string | undefined {
    const s = this.state;
    const due: string[] = [];
    for (const [id, e] of s.schedule) {
      if (e.priority <= PRIORITY.low || s.status.get(id)?.state !== "idle") continue;
      if (e.earliest > s.tick || this.view.release(id) > s.tick) continue;
      if (this.controller.canStartNow(id)) return undefined;
      due.push(id);
    }
    for (const id of due) {
      const e = s.schedule.get(id);
      const a = this.view.activity(id);
      if (!e || !a || s.syncOf.has(id) || s.enablerFailed(id)) continue;
      if (this.controller.enabled(id) || this.view.latestStart(id) < s.tick) continue;
      const cur = s.profiles.get(id)?.cur ?? NOTHING;
      const keep = s.gain(id, cur) + s.enablingGain(id, cur, "commitment");
      const priority = e.priority;
      e.priority = PRIORITY.low;
      const low = this.downgradedStart();
      const best = this.bestOpportunity();
      e.priority = priority;
      const alt = Math.max(low?.gain ?? 0, best?.gain ?? 0);
      if (!givesWay(keep, alt, qualityProfile(a.quality).v)) continue;
      e.priority = PRIORITY.low;
      return id;
    }
    return undefined;
  }

  /**
   * Puts the chosen method in the schedule, at medium priority so that what the deliberative
   * scheduler installs (at high priority) is not affected.
   */
  insert(id: string): void {
    this.state.schedule.set(id, {
      earliest: this.state.tick,
      latest: this.state.tick,
      priority: PRIORITY.medium,
      origin: "opportunistic",
    });
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
    const tick = this.state.tick;
    const longest = valueRange(a.duration).max;
    const last = this.view.deadline(id) - longest;
    if (!Number.isFinite(last) || tick >= last || this.view.enablesSomething(id)) return false;
    // Only in a closing window (its last safe start less than the method's length away).
    if (last - tick > longest) return false;
    // Started at its last safe start, it would hold up something scheduled: the later start
    // is not free.
    if (last + longest > freeBy) return false;
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "max") return false;
    const mine = qualityProfile(a.quality).v;
    let underWay = false;
    let empty = true;
    let failed = false;
    for (const [cid, k] of this.state.childProfiles(parent)) {
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

  /**
   * What method `id`, a syncsum child started now, takes away from the other children planned
   * (not to start now) and not started: a start now goes ahead of such a child and leaves it
   * nothing (a syncsum counts only the children that start with its first). Past the release,
   * where a start planned as early as possible would have been made, any such child is planned
   * later; up to it, one whose owner said it starts later (after the work ahead of it, say).
   * Their expected quality, as their owners last said; 0 elsewhere.
   */
  private takenAhead(id: string): number {
    const parent = this.view.parent.get(id);
    if (parent === undefined || !this.isSyncsumChild(id)) return 0;
    const t = this.state.tick;
    const early = t <= this.view.release(id);
    const kids = this.state.childProfiles(parent);
    // Another child starting now goes ahead of the later ones anyway: joined, it takes nothing.
    for (const [cid, k] of kids)
      if (cid !== id && (k.s === t || (k.s === undefined && k.cur.p > 0 && k.e === t))) return 0;
    let ahead = 0;
    // Up to the release, only one its owner said it starts at a tick this one could not wait
    // for (past its last safe start) is gone ahead of: one it could join, the others expect it
    // to start with at the release, as they plan theirs.
    const latest = this.view.safeStart(id);
    for (const [cid, k] of kids)
      if (
        cid !== id &&
        k.s === undefined &&
        !k.final &&
        k.cur.p > 0 &&
        (!early || (k.e !== undefined && k.e > latest))
      )
        ahead += expected(k.cur);
    return ahead;
  }

  /**
   * The worth `g` of starting method `id` now (profile `tp`), net of what it takes away from
   * the children of its syncsum it goes ahead of (`takenAhead`), in the same proportion.
   */
  private netOfAhead(id: string, g: number, tp: TwoPoint): number {
    const ahead = this.setup.mode === "csc" ? this.takenAhead(id) : 0;
    const own = expected(tp);
    return ahead > 0 && own > 0 ? g * Math.max(0, 1 - ahead / own) : g;
  }

  /**
   * Whether starting method `id` now, unplanned, would spoil a syncsum above it: a syncsum counts
   * only the children that start at its first child's start, so a child started after another
   * one earns nothing, and one started ahead of a synchronized start other agents still plan
   * there (or, past the release, of another child planned alone) takes their quality away (it
   * goes ahead of a start other agents plan only where it alone is expected to earn more). Its
   * importance is measured as under a sum, so it alone would start it.
   */
  private breaksSync(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "syncsum") return false;
    const kids = this.state.childProfiles(parent);
    for (const [cid, k] of kids)
      if (cid !== id && k.s !== undefined && k.s !== this.state.tick) return true;
    // Past the release, going ahead of another child planned alone leaves that plan: worth it
    // only where this one alone, started now, is expected to earn clearly more (`givesWay`; its
    // chance of ending by the deadline included); the other's owner then gives it up
    // (`Downgrader.syncMissed`). At the release nothing has started yet, and the other child
    // cannot be waited for (`takenAhead`): of the two, the one expected to earn more goes.
    const mine = this.view.activity(id);
    const ahead = this.takenAhead(id);
    const scale = mine ? qualityProfile(mine.quality).v : 0;
    const now = expected(this.state.startProfile(id));
    // The choice at the release is still open a tick later, when the others' plans have been
    // heard, and at the start of a run until the agent may improvise: no child has started.
    const atRelease =
      this.state.tick <= Math.max(this.view.release(id) + 1, OPPORTUNISTIC_SETTLE_TICKS);
    if (ahead > 0 && (atRelease ? now <= ahead : !givesWay(ahead, now, scale))) return true;
    const own = mine ? expected(qualityProfile(mine.quality)) : 0;
    // A start other agents plan, not under way: started ahead of it, this one takes what it
    // would earn, which is worth it only where this one alone is expected to earn more.
    return (this.setup.othersSyncGroups ?? []).some((g) => {
      if (g.id !== parent) return false;
      // Planned to start now, it is joined, not gone ahead of.
      if (g.members.every((m) => kids.get(m.activityId)?.e === this.state.tick)) return false;
      let theirs = 0;
      for (const m of g.members) {
        const k = kids.get(m.activityId);
        if (k !== undefined && (k.s !== undefined || k.final)) return false;
        const a = this.view.activity(m.activityId);
        // As its owner last said (nothing, once it no longer plans it), else as the model has it.
        const q = k !== undefined ? k.cur : a ? qualityProfile(a.quality) : undefined;
        // What it would earn unknown: it is kept clear.
        if (q === undefined) return true;
        theirs += expected(q);
      }
      return theirs >= own;
    });
  }

  /**
   * What method `id` started now with profile `tp` adds through what it enables, as things are
   * planned (`StateManager.enablingGain` as an option). Nothing until profiles have travelled:
   * before the others' plans are heard, an enables source looks like the only way to its
   * targets. BOS's mode weighs a method's quality alone.
   */
  private enabling(id: string, tp: TwoPoint): number {
    if (this.setup.mode !== "csc" || this.state.tick < OPPORTUNISTIC_SETTLE_TICKS) return 0;
    return this.state.enablingGain(id, tp, "option");
  }

  /**
   * The downgraded method most worth starting now, with its worth (CSC §3.2.3: downgraded
   * methods stay in the schedule, as they may yet add quality).
   */
  downgradedStart(): Opportunity | undefined {
    const s = this.state;
    let best: Opportunity | undefined;
    const freeBy = this.freeBy();
    for (const [id, e] of s.schedule) {
      if (e.priority > PRIORITY.low || s.syncOf.has(id) || !this.controller.canStartNow(id))
        continue;
      if (e.earliest > s.tick) continue;
      // Like an opportunistic one, it must harm nothing still scheduled.
      const a = this.view.activity(id);
      if (!a || s.tick + valueRange(a.duration).max > freeBy || this.breaksSync(id)) continue;
      const tp = s.startProfile(id);
      const g = this.netOfAhead(id, s.gain(id, tp) + this.enabling(id, tp), tp);
      if (g > 1e-9 && (!best || g > best.gain)) best = { id, gain: g };
    }
    return best;
  }
}
