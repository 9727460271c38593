import type { Ticks } from "../../model/types.js";
import type { PeerBody } from "../messages.js";
import { expected, NOTHING, probabilityAtMost } from "../profiles.js";
import type { AgentSetup } from "../setup.js";
import type { CommsStrategy } from "./comms-policies.js";
import type { StateManager } from "./state-manager.js";
import { type Entry, type OutgoingMessage, PRIORITY, type TickOutput } from "./types.js";
import type { LocalView } from "./view.js";

/** What a member of a synchronized group said with its readiness. */
interface Readiness {
  readonly at: Ticks;
  /** The last start its method can wait for without losing chance (none said: no limit). */
  readonly by?: Ticks;
}

/**
 * Execution controller (CSC §3.1.4): runs the schedule. Its distributed window-sliding scheduler
 * delays a scheduled method until its enabling conditions are met, remote ones included (the
 * stewards of enables sources announce them), and drops it once one has failed or its window
 * has closed; the members of a synchronized start tell one another when they are ready and start
 * together.
 */
export class ExecutionController {
  /**
   * Per synchronized group: when each other member said it was ready (and until when it can
   * wait, if it said), or that it withdrew.
   */
  private readonly readies = new Map<string, Map<string, Readiness | "withdrawn">>();
  /** Per synchronized group: when this agent said it was ready. */
  private readonly myReady = new Map<string, Ticks>();
  /** Per enables source this agent stewards: what it last announced. */
  private readonly announced = new Map<string, string>();
  private readonly setup: AgentSetup;
  private readonly view: LocalView;
  private readonly state: StateManager;
  private readonly comms: CommsStrategy;

  constructor(setup: AgentSetup, view: LocalView, state: StateManager, comms: CommsStrategy) {
    this.setup = setup;
    this.view = view;
    this.state = state;
    this.comms = comms;
  }

  private get id(): string {
    return this.setup.agentId;
  }

  /** Whether every enabler of the method has accrued by now (as far as this agent knows). */
  enabled(id: string): boolean {
    const s = this.state;
    for (const src of this.view.enablersOf.get(id) ?? []) {
      const known = s.source(src);
      if (known.at !== undefined && known.at <= s.tick) continue;
      // Without messages a remote source is never known to have accrued: the benchmark trusts
      // the initial schedule, whose planned start already waits for it, and otherwise waits.
      if (
        this.setup.mode === "bos" &&
        !s.status.has(src) &&
        !this.view.core.has(src) &&
        s.schedule.get(id)?.origin === "initial"
      )
        continue;
      return false;
    }
    return true;
  }

  canStartNow(id: string): boolean {
    const s = this.state;
    const st = s.status.get(id);
    return (
      st?.state === "idle" &&
      this.view.release(id) <= s.tick &&
      this.view.latestStart(id) >= s.tick &&
      this.enabled(id) &&
      !s.enablerFailed(id)
    );
  }

  /** The next scheduled (not downgraded) method still to run, other than `except`. */
  nextCommitment(except?: string): Entry | undefined {
    return this.nextCommitted(except)?.[1];
  }

  /** `nextCommitment`, with its method's id. */
  private nextCommitted(except?: string): [string, Entry] | undefined {
    let next: [string, Entry] | undefined;
    for (const [id, e] of this.state.schedule) {
      if (id === except || e.priority <= PRIORITY.low) continue;
      if (this.state.status.get(id)?.state !== "idle") continue;
      if (!next || e.earliest < next[1].earliest) next = [id, e];
    }
    return next;
  }

  /** Whether a synchronized method may start now; records and announces readiness. */
  private syncReady(id: string, out: OutgoingMessage[]): boolean {
    const tick = this.state.tick;
    if (this.setup.mode !== "csc") return true;
    const planned = this.state.syncOf.get(id);
    // A syncsum child in no group of the initial schedule (an install, or a start planned apart
    // from the others') meets the other children planned under its syncsum the same way, in a
    // group named after the syncsum (`partnersOf`).
    const partners = planned === undefined ? this.partnersOf(id) : [];
    if (partners.length > 0 && this.waitingCosts(id, partners)) return true;
    const group = planned ?? (partners.length > 0 ? this.view.parent.get(id) : undefined);
    if (group === undefined) return true;
    const others = planned !== undefined ? this.othersIn(planned) : partners;
    // A start the initial schedule put on the run's first tick needs no readiness round, nor a
    // word: every member was given the same start, and nothing can have held one back before it
    // (waiting for the round cost the whole group a tick, and with it what a tick decides later).
    const entry = this.state.schedule.get(id);
    if (tick === 0 && entry?.origin === "initial" && entry.earliest === 0) return true;
    if (!this.myReady.has(group)) this.announceReady(group, id, others, out);
    const seen = this.readies.get(group);
    const since = this.myReady.get(group) ?? tick;
    // Everyone else is ready (or withdrew), or waiting longer would miss the method's window.
    // Start once everyone has heard everyone: all others ready, and our own "ready" delivered.
    const allReady = others.every((a) => seen?.has(a)) && since < tick;
    // Those ready wait for the others no longer than the first of them can without losing part
    // of its method's chance of ending in time: each has heard every other's limit, so they
    // start together, and a member still busy elsewhere does not cost them their window.
    // (Waiting to the last start the shortest duration allows left the ready members' methods
    // little chance, and a syncsum only what starts with its first.)
    let heard = 0;
    let limit = this.view.safeStart(id);
    for (const said of seen?.values() ?? [])
      if (said !== "withdrawn") {
        heard++;
        limit = Math.min(limit, said.by ?? Number.POSITIVE_INFINITY);
      }
    // Partners met since need not say they are ready at all (one may be held back by an
    // enabler): past its own limit, this one goes alone.
    const overdue = (heard > 0 || planned === undefined) && since < tick && tick >= limit;
    return allReady || overdue || tick >= this.view.latestStart(id);
  }

  /**
   * The owners of the other children of method `id`'s syncsum that they plan and have not
   * started, each expected to start (as its owner last said) by `id`'s last safe start: a
   * syncsum counts only the children that start with its first, so `id` started now, ahead of
   * them, would leave them nothing, and started with them, both earn. None where `id` is no
   * syncsum child, or the initial schedule synchronized several agents' starts under it (they
   * keep to their group).
   */
  private partnersOf(id: string): string[] {
    const parent = this.view.parent.get(id);
    const up = parent === undefined ? undefined : this.view.nodes.get(parent);
    if (parent === undefined || up?.kind !== "task" || up.qaf !== "syncsum") return [];
    const grouped = (g: { id: string; members: readonly { agentId: string }[] }) =>
      g.id === parent && new Set(g.members.map((m) => m.agentId)).size > 1;
    if ([...this.setup.syncGroups, ...(this.setup.othersSyncGroups ?? [])].some(grouped)) return [];
    const by = this.view.safeStart(id);
    const met = this.myReady.has(parent);
    const heard = this.readies.get(parent);
    const owners = new Set<string>();
    for (const [cid, k] of this.state.childProfiles(parent)) {
      if (cid === id || k.s !== undefined || k.final || k.cur.p <= 0) continue;
      if (k.e === undefined || k.e > by) continue;
      const owner = this.setup.syncsumOwners?.[cid];
      if (owner === undefined || owner === this.id) continue;
      // One expected to start now starts with this one without a word; once either has said
      // it is ready, they start on each other's word.
      if (k.e > this.state.tick || met || heard?.has(owner)) owners.add(owner);
    }
    return [...owners].sort();
  }

  /**
   * Whether waiting for partners (`partnersOf`) to start method `id` with them costs the agent's
   * next commitment more than their children would earn: pushed back to when the last of them
   * is expected to start (the tick after it said it is ready), `id` is less likely to end before
   * that commitment's last start. Started now, alone, it leaves their children nothing.
   */
  private waitingCosts(id: string, partners: readonly string[]): boolean {
    const s = this.state;
    const parent = this.view.parent.get(id);
    const a = this.view.activity(id);
    if (parent === undefined || a === undefined) return false;
    let theirs = 0;
    let at = s.tick;
    const heard = this.readies.get(parent);
    for (const [cid, k] of s.childProfiles(parent)) {
      const owner = this.setup.syncsumOwners?.[cid];
      if (cid === id || owner === undefined || !partners.includes(owner)) continue;
      if (k.s !== undefined || k.final || k.cur.p <= 0) continue;
      theirs += expected(k.cur);
      const said = heard?.get(owner);
      at = Math.max(at, said !== undefined && said !== "withdrawn" ? s.tick + 1 : (k.e ?? s.tick));
    }
    const found = this.nextCommitted(id);
    if (found === undefined) return false;
    const [next, entry] = found;
    const room = (from: Ticks) => probabilityAtMost(a.duration, entry.latest - from);
    const lost = s.gain(next, s.profiles.get(next)?.cur ?? NOTHING) * (room(s.tick) - room(at));
    return lost > theirs;
  }

  /** The other members of synchronized group `group`. */
  private othersIn(group: string): string[] {
    const members = this.setup.syncGroups.find((g) => g.id === group)?.members ?? [];
    return [...new Set(members.map((m) => m.agentId))].filter((a) => a !== this.id);
  }

  /** Tells the other members of `group` that this agent is ready to start `id`, and by when. */
  private announceReady(
    group: string,
    id: string,
    others: readonly string[],
    out: OutgoingMessage[],
  ): void {
    const tick = this.state.tick;
    const by = this.view.safeStart(id);
    this.myReady.set(group, tick);
    // Without a deadline it can wait for ever, and says no limit.
    const limit = Number.isFinite(by) ? { by } : {};
    for (const to of others) out.push({ to, body: { type: "ready", group, at: tick, ...limit } });
  }

  /** Leaves the synchronized group of a dropped method, telling its other members. */
  withdraw(id: string, out: OutgoingMessage[]): void {
    const group = this.state.syncOf.get(id);
    if (group === undefined || this.setup.mode !== "csc") return;
    const members = this.setup.syncGroups.find((g) => g.id === group)?.members ?? [];
    for (const to of new Set(members.map((m) => m.agentId)))
      if (to !== this.id) out.push({ to, body: { type: "withdraw", group } });
    this.state.syncOf.delete(id);
  }

  /** A member of a synchronized group is ready to start. */
  onReady(from: string, body: Extract<PeerBody, { type: "ready" }>): void {
    const g = this.readies.get(body.group) ?? new Map<string, Readiness | "withdrawn">();
    this.readies.set(body.group, g);
    g.set(from, body.by === undefined ? { at: body.at } : { at: body.at, by: body.by });
  }

  /** A member of a synchronized group dropped its method. */
  onWithdraw(from: string, body: Extract<PeerBody, { type: "withdraw" }>): void {
    const g = this.readies.get(body.group) ?? new Map<string, Readiness | "withdrawn">();
    this.readies.set(body.group, g);
    g.set(from, "withdrawn");
  }

  /** The scheduled method to start now, dropping the ones that can no longer run. */
  scheduledStart(out: OutgoingMessage[]): string | undefined {
    const s = this.state;
    const ready: [string, Entry][] = [];
    for (const [id, e] of s.schedule) {
      const st = s.status.get(id);
      if (st?.state !== "idle") continue;
      if (this.view.latestStart(id) < s.tick || s.enablerFailed(id) || e.latest < s.tick) {
        // Window sliding gives up: the method is dropped from the schedule.
        s.schedule.delete(id);
        this.withdraw(id, out);
        continue;
      }
      if (e.priority <= PRIORITY.low && this.setup.mode === "csc") continue;
      if (e.earliest > s.tick || !this.canStartNow(id)) continue;
      ready.push([id, e]);
    }
    // A synchronized start planned for now goes first: later, it would break its group (a
    // syncsum counts only the children that start with its first), while what is planned with
    // it can still wait (an install taken for the same tick was weighed as starting after it).
    const syncNow = (id: string, e: Entry) => s.syncOf.has(id) && e.earliest === s.tick;
    ready.sort(
      ([a, x], [b, y]) =>
        Number(syncNow(b, y)) - Number(syncNow(a, x)) ||
        y.priority - x.priority ||
        x.earliest - y.earliest ||
        (a < b ? -1 : 1),
    );
    for (const [id] of ready) if (this.syncReady(id, out)) return id;
    // Announce readiness a tick ahead for a synchronized start due next tick, so that every
    // member has heard every other by then and they start on the planned tick. Only once its
    // enablers are known to have accrued: a member still waiting for the news of one would
    // start late, and the others, started without it, would leave it nothing to earn (a
    // syncsum counts only the children that start with its first); told later, they wait.
    if (this.setup.mode === "csc")
      for (const [id, e] of s.schedule) {
        const group = s.syncOf.get(id);
        if (group === undefined || this.myReady.has(group) || e.priority <= PRIORITY.low) continue;
        if (e.earliest !== s.tick + 1 || s.status.get(id)?.state !== "idle") continue;
        if (!this.enabled(id)) continue;
        if (this.nextCommitment()?.earliest !== e.earliest) continue;
        this.announceReady(group, id, this.othersIn(group), out);
      }
    return undefined;
  }

  /**
   * A deliberative install that must start now or never (or that was taken over the running
   * method, and may start), and can.
   */
  urgentInstall(): string | undefined {
    for (const [id, e] of this.state.schedule)
      if (
        e.origin === "deliberative" &&
        e.priority > PRIORITY.low &&
        (e.latest <= this.state.tick + 1 || e.preempts === true) &&
        e.earliest <= this.state.tick &&
        this.canStartNow(id)
      )
        return id;
    return undefined;
  }

  /** Starts method `id` now. */
  start(id: string): void {
    this.state.running = id;
    this.state.status.set(id, { state: "running", start: this.state.tick });
  }

  /** Aborts the running method `id`: it ends with nothing and leaves the schedule. */
  abort(id: string): void {
    this.state.status.set(id, {
      state: "done",
      start: this.state.status.get(id)?.start ?? 0,
      quality: 0,
    });
    this.state.schedule.delete(id);
    this.state.running = undefined;
  }

  /**
   * Announces the enables sources this agent stewards as they accrue or fail (and their chances
   * meanwhile), as often as the communication policy says.
   */
  enablerNotices(out: OutgoingMessage[]): void {
    for (const [sourceId, watchers] of Object.entries(this.setup.notify)) {
      const src = this.state.source(sourceId);
      const prof = this.state.profiles.get(sourceId);
      const p = Math.round((prof?.cur.p ?? src.p) * 10) / 10;
      const pp = Math.round((prof?.pot.p ?? src.pp) * 10) / 10;
      const key = src.at !== undefined ? `at:${src.at}` : src.failed ? "failed" : `p:${p}/${pp}`;
      if (!this.comms.announce(this.announced.get(sourceId), key)) continue;
      this.announced.set(sourceId, key);
      const body =
        src.at !== undefined
          ? ({ type: "enabler", node: sourceId, at: src.at } as const)
          : src.failed
            ? ({ type: "enabler", node: sourceId, failed: true } as const)
            : ({ type: "enabler", node: sourceId, p, pp, ...this.eta(sourceId) } as const);
      for (const to of watchers) {
        if (to === this.id) this.state.onEnabler(body);
        else out.push({ to, body });
      }
    }
  }

  /** When an enables source is expected to accrue, if anything planned can make it. */
  private eta(sourceId: string): { eta?: number } {
    const t = this.state.expectedAccrual(sourceId);
    return t !== undefined && Number.isFinite(t) ? { eta: Math.ceil(t) } : {};
  }

  /** Initial schedule execution: each planned method at its time, or as soon after as idle. */
  stepInitial(): TickOutput {
    const s = this.state;
    if (s.running !== undefined) return { messages: [] };
    for (const e of this.setup.initial) {
      const st = s.status.get(e.activityId);
      if (st?.state !== "idle" || e.startTicks > s.tick) continue;
      if (this.view.latestStart(e.activityId) < s.tick) continue;
      const local = (this.view.enablersOf.get(e.activityId) ?? []).every((src) => {
        const own = s.status.get(src);
        return !own || (own.state === "done" && (own.quality ?? 0) > 0);
      });
      if (!local) continue;
      this.start(e.activityId);
      return { start: e.activityId, messages: [] };
    }
    return { messages: [] };
  }
}
