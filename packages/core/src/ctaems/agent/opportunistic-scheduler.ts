import type { ActivityNode, Ticks } from "../../model/types.js";
import { qualityProfile, valueRange } from "../profiles.js";
import type { AgentSetup } from "../setup.js";
import type { ExecutionController } from "./execution-controller.js";
import type { StateManager } from "./state-manager.js";
import { PRIORITY } from "./types.js";
import type { LocalView } from "./view.js";

/** Ticks at the start of a run before the opportunistic scheduler acts. */
const OPPORTUNISTIC_SETTLE_TICKS = 2;

/** A method worth starting now, and its importance-weighted value to the root. */
export interface Opportunity {
  readonly id: string;
  readonly gain: number;
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
   * duration, in order, and a synchronized one must start when planned.
   */
  private freeBy(): Ticks {
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
      const latest = s.syncOf.has(id)
        ? e.earliest
        : Math.max(e.earliest, Math.min(this.view.deadline(id), bound) - longest);
      bound = latest;
    }
    return bound;
  }

  /**
   * The best unscheduled method to start in this idle gap: it must end before the next scheduled
   * method's last start, and must not break a synchronized start.
   */
  bestOpportunity(): Opportunity | undefined {
    const s = this.state;
    // Until profiles have travelled the tree, an agent knows too little to improvise.
    if (this.setup.mode === "csc" && s.tick < OPPORTUNISTIC_SETTLE_TICKS) return undefined;
    const freeBy = this.freeBy();
    let best: Opportunity | undefined;
    for (const id of this.view.own) {
      if (s.schedule.has(id) || s.syncOf.has(id) || !this.controller.canStartNow(id)) continue;
      const a = this.view.activity(id);
      if (!a) continue;
      if (s.tick + valueRange(a.duration).max > freeBy) continue;
      if (this.setup.mode === "csc" && (this.breaksSync(id) || this.worthWaiting(id, a, freeBy)))
        continue;
      const tp = s.startProfile(id);
      if (tp.p <= 0) continue;
      const g = s.gain(id, tp);
      if (g > 1e-9 && (!best || g > best.gain + 1e-12)) best = { id, gain: g };
    }
    return best;
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
   * Whether starting method `id` now, unplanned, would spoil a syncsum above it: a syncsum counts
   * only the children that start at its first child's start, so a child started after another
   * one earns nothing, and one started ahead of a synchronized start other agents still plan
   * there takes their quality away. Its importance is measured as under a sum, so it alone
   * would start it.
   */
  private breaksSync(id: string): boolean {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "syncsum") return false;
    const kids = this.state.childProfiles(parent);
    for (const [cid, k] of kids)
      if (cid !== id && k.s !== undefined && k.s !== this.state.tick) return true;
    return (this.setup.othersSyncGroups ?? []).some(
      (g) =>
        g.id === parent &&
        g.members.every((m) => {
          const k = kids.get(m.activityId);
          return k === undefined || (k.s === undefined && !k.final);
        }),
    );
  }

  /**
   * A downgraded method still worth running when nothing else is (CSC §3.2.3: downgraded
   * methods stay in the schedule, as they may yet add quality).
   */
  downgradedStart(): string | undefined {
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
      const g = s.gain(id, s.startProfile(id));
      if (g > 1e-9 && (!best || g > best.gain)) best = { id, gain: g };
    }
    return best?.id;
  }
}
