import { expectedValue } from "../model/distribution.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import type { CtaemsAgent, OutgoingMessage, TickInput, TickOutput } from "./agent.js";
import { type ProactiveInstall, proactiveInstallsCached } from "./improve.js";
import { assignRepairs, type RepairOffer, withdrawalLoss } from "./joint-repair.js";
import type { ChildReport, PeerBody } from "./messages.js";
import {
  combine,
  NOTHING,
  probabilityAtMost,
  qualityProfile,
  type TwoPoint,
  valueRange,
} from "./profiles.js";

/** One way to raise a node's probability: methods to add, what they cost, what they give. */
export interface DeliberativeOption {
  readonly methods: readonly string[];
  /** The node's probability of success with the option added. */
  readonly p: number;
  /** Expected resource ticks the option spends. */
  readonly busy: number;
  /** The node's expected quality with the option added. */
  readonly ev: number;
}

/**
 * The Pareto frontier of options (CSC §3.2.2): subsets of up to `maxSize` candidate methods,
 * each scored by the node's resulting probability (children combined by the node's QAF), its
 * busy cost and the node's expected quality; an option survives if no other is at least as
 * likely and as good for at most the cost.
 */
export function paretoOptions(
  qaf: Parameters<typeof combine>[0],
  current: readonly TwoPoint[],
  candidates: readonly { id: string; tp: TwoPoint; busy: number; now?: TwoPoint }[],
  maxSize = 2,
): DeliberativeOption[] {
  const options: DeliberativeOption[] = [];
  const pick = (from: number, chosen: typeof candidates): void => {
    if (chosen.length > 0) {
      // A candidate left out stays as it is now (under a min, it still counts).
      const rest = candidates.filter((c) => !chosen.includes(c)).map((c) => c.now ?? NOTHING);
      const got = combine(qaf, [...current, ...rest, ...chosen.map((c) => c.tp)]);
      options.push({
        methods: chosen.map((c) => c.id),
        p: got.p,
        ev: got.p * got.v,
        busy: chosen.reduce((s, c) => s + c.busy, 0),
      });
    }
    if (chosen.length === maxSize) return;
    for (let i = from; i < candidates.length; i++) {
      const c = candidates[i];
      if (c) pick(i + 1, [...chosen, c]);
    }
  };
  pick(0, []);
  return options
    .filter(
      (o) =>
        !options.some(
          (x) =>
            x !== o &&
            x.p >= o.p &&
            x.busy <= o.busy &&
            x.ev >= o.ev - 1e-9 &&
            (x.p > o.p || x.busy < o.busy || x.ev > o.ev + 1e-9),
        ),
    )
    .sort((a, b) => a.busy - b.busy || b.p - a.p);
}

/**
 * The option to install. CSC §3.2.2 takes the cheapest that reaches the node's bar (else the
 * likeliest): busy ticks stand for what the owners could do elsewhere. But under a max, the
 * cheapest may be a method of much lower quality than one barely dearer. So a dearer option,
 * as likely as the bar asks (or as the cheapest), is taken when it gives more expected quality
 * per resource tick than the cheapest does: the best such.
 */
export function chooseOption(
  frontier: readonly DeliberativeOption[],
  threshold: number,
): DeliberativeOption | undefined {
  // Of two options, the cheaper (of equal cost, the likelier); of two, the likelier.
  const cheaper = (a: DeliberativeOption, b: DeliberativeOption) =>
    a.busy < b.busy || (a.busy === b.busy && a.p > b.p) ? a : b;
  const likelier = (a: DeliberativeOption, b: DeliberativeOption) =>
    a.p > b.p || (a.p === b.p && a.busy < b.busy) ? a : b;
  const reaching = frontier.filter((o) => o.p >= threshold);
  const base =
    reaching.length > 0
      ? reaching.reduce(cheaper)
      : frontier.length > 0
        ? frontier.reduce(likelier)
        : undefined;
  if (!base) return undefined;
  const bar = Math.min(threshold, base.p);
  const rate = (o: DeliberativeOption): number => o.ev / Math.max(1, o.busy);
  let choice = base;
  for (const o of frontier)
    if (o.p >= bar && o.ev > choice.ev + 1e-9 && rate(o) >= rate(base)) choice = o;
  return choice;
}

interface Transaction {
  readonly lock: number;
  readonly node: string;
  /** Methods whose owners have not answered yet. */
  readonly waiting: Set<string>;
  /** Methods refused, and taken. */
  readonly refused: string[];
  /** Owner → the methods installed on it in this transaction. */
  readonly methods: ReadonlyMap<string, readonly string[]>;
  /** The job, to try the next option if an owner refuses. */
  readonly job: Job;
  /** In a joint plan of several jobs: the job each method was installed for. */
  readonly jobOf?: ReadonlyMap<string, Job>;
  /** All or nothing (a min needs every child): a refusal withdraws the parts taken. */
  readonly atomic: boolean;
  readonly accepted: string[];
  /**
   * Per install: the installs of this transaction it rests on; taken, it is withdrawn if one of
   * them is refused (`ProactiveInstall.needs`).
   */
  readonly needs?: ReadonlyMap<string, readonly string[]>;
  /** A late repair's: sent without waiting for the lock (see `step`). */
  readonly urgent: boolean;
  /** Proposed unasked (`proact`): a refusal says the owner is busier than planned, no more. */
  readonly proactive?: boolean;
  /** Per install: methods of other agents dropped once its owner took it (`alsoDrops`). */
  readonly drops?: ReadonlyMap<string, readonly { owner: string; activityId: string }[]>;
}

/** Ticks an install commits its owner to, and the method it is for. */
interface Commitment {
  readonly from: Ticks;
  readonly to: Ticks;
  readonly method: string;
}

/** A method the scheduler could install under a job's node. */
interface Candidate {
  readonly id: string;
  readonly tp: TwoPoint;
  readonly busy: number;
  readonly owner: string;
  readonly window: [Ticks, Ticks];
  readonly now: TwoPoint;
  /** A proactive install the scheduler vouches for (`VOUCH_SHARE`). */
  readonly vouched?: boolean;
  /** The install elsewhere its owner would be taken off (a late repair's offers only). */
  readonly displaces?: { readonly method: string; readonly node: string; readonly loss: number };
  /** Scheduled methods of its owner the install replaces (a proactive swap's). */
  readonly replaces?: readonly string[];
  /** Scheduled methods of other agents dropped once the install is taken. */
  readonly alsoDrops?: readonly { readonly owner: string; readonly activityId: string }[];
  /** Installs of the same transaction it rests on: withdrawn if one is refused. */
  readonly needs?: readonly string[];
}

interface Job {
  readonly node: string;
  readonly threshold: number;
  readonly children: ChildReport[];
  /** Options tried so far for this escalation. */
  readonly attempt: number;
}

/** Options tried for one escalation before the scheduler gives up on it. */
const MAX_ATTEMPTS = 3;

/**
 * Ticks before a candidate's last safe start at which a joint plan is made: the install reaches
 * its owner the next tick, and the owner starts it then.
 */
const JOINT_LEAD = 1;

/**
 * Tick at which the scheduler proposes its improvements of the initial schedule: agents' profiles
 * have travelled the tree by then, so an owner weighs an install against what it displaces.
 */
export const PROACTIVE_TICK = 3;

/** Assignments a joint plan examines before it settles for the best found. */
const JOINT_SEARCH_LIMIT = 200_000;

/**
 * The deliberative scheduler the coordinator hosts (CSC §3.2.2). Agents escalate a task whose
 * scheduled probability fell below its threshold, with the profiles of its children they know.
 * It builds the Pareto frontier of the options the children's potential profiles offer, keeps
 * those it judges feasible (the method can still start in its window, and its owner is not
 * already committed by an earlier install of ours over that window), takes the cheapest option
 * that reaches the threshold (or the likeliest one), and installs start windows on the owners.
 * Installs are serialized by a lock: one transaction at a time, released when every owner
 * answered; escalations that arrive meanwhile wait their turn. The repairs of failures under
 * maxes whose windows are closing are held until due and planned together, in one transaction
 * (`planJointly`). A failure reported after that plan was made is repaired at once, in a
 * transaction of its own that does not wait for the lock, and may take an agent off a second
 * try the plan gave another gap (a later start costs the repair part of its chance).
 */
export class DeliberativeScheduler implements CtaemsAgent {
  readonly id: string;
  private readonly index: ModelIndex;
  private readonly queue: Job[] = [];
  /** Open transactions by lock: at most one under the lock, and late repairs' (`urgent`). */
  private readonly transactions = new Map<number, Transaction>();
  private nextLock = 1;
  /** Per agent: ticks committed by installs. */
  private readonly committed = new Map<string, Commitment[]>();
  /** Methods installed and taken, with the profile they were installed with. */
  private readonly installed = new Map<string, TwoPoint>();
  /** Methods whose owner refused them: not offered again. */
  private readonly refusedMethods = new Set<string>();
  private readonly depths = new Map<string, number>();
  /** Installs made and refused, for reports. */
  readonly stats = { escalations: 0, installs: 0, refused: 0 };

  /** The schedule the agents were given, which the scheduler improves once at the start. */
  private readonly initial: Schedule | undefined;
  private proactiveDone = false;

  /**
   * @param options.initial the schedule the agents run (`scheduleFor`: the initial one with the
   * changes made before the run, `releasedSchedule`): given, the scheduler proposes at
   * `PROACTIVE_TICK` the methods that make it likelier to earn more (`proactiveInstalls`), though
   * nobody escalated anything; its owners weigh them.
   */
  constructor(id: string, index: ModelIndex, options: { initial?: Schedule } = {}) {
    this.id = id;
    this.index = index;
    this.initial = options.initial;
  }

  /** Gives back the ticks an install of `method` committed `agent` to. */
  private uncommit(agent: string, method: string): void {
    const list = this.committed.get(agent);
    const i = list?.findIndex((c) => c.method === method) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** Whether `agent` has no commitment overlapping [from, to). */
  private free(agent: string, from: Ticks, to: Ticks): boolean {
    return (this.committed.get(agent) ?? []).every((c) => to <= c.from || from >= c.to);
  }

  /** Whether the transaction under the lock is still waiting for answers. */
  private locked(): boolean {
    return [...this.transactions.values()].some((x) => !x.urgent);
  }

  step(input: TickInput): TickOutput {
    const t = input.tick;
    const out: OutgoingMessage[] = [];
    const escalate = (e: {
      node: string;
      threshold: number;
      children: readonly ChildReport[];
    }): void => {
      this.stats.escalations++;
      if (!this.queue.some((q) => q.node === e.node))
        this.queue.push({
          node: e.node,
          threshold: e.threshold,
          children: [...e.children],
          attempt: 0,
        });
    };
    // An answer names its method; one that does not stands for all of its owner's.
    const answered = (agent: string, lock: number, ok: boolean, activity?: string): void => {
      const x = this.transactions.get(lock);
      if (!x) return;
      const mine = x.methods.get(agent) ?? [];
      for (const method of activity === undefined ? mine : mine.filter((m) => m === activity)) {
        if (!x.waiting.delete(method)) continue;
        if (ok) x.accepted.push(method);
        else {
          x.refused.push(method);
          this.stats.refused++;
        }
      }
    };
    for (const msg of input.inbox) {
      const body = msg.body;
      if (body.type === "escalate") escalate(body);
      else if (body.type === "installed") answered(msg.from, body.lock, body.ok, body.activity);
      else if (body.type === "summary") {
        // A cell leader's summary: its members' escalations and answers, as if each came alone.
        for (const e of body.escalations) escalate(e);
        for (const a of body.installed) answered(a.agent, a.lock, a.ok, a.activity);
      }
    }
    for (const done of [...this.transactions.values()]) {
      if (done.waiting.size > 0) continue;
      this.transactions.delete(done.lock);
      // Feasibility is the owners' to judge: a refused method is taken off the options, its
      // window given back, and the next option tried (a bounded number of times).
      const ownerOf = new Map<string, string>();
      for (const [agent, list] of done.methods) for (const m of list) ownerOf.set(m, agent);
      // An all-or-nothing option with a refusal: the parts taken are withdrawn too; elsewhere,
      // those taken that rest on one refused (and on those, in turn).
      const withdrawn = new Set(done.atomic && done.refused.length > 0 ? done.accepted : []);
      const lost = (m: string) => done.refused.includes(m) || withdrawn.has(m);
      for (let more = true; more; ) {
        more = false;
        for (const m of done.accepted)
          if (!withdrawn.has(m) && (done.needs?.get(m) ?? []).some(lost)) {
            withdrawn.add(m);
            more = true;
          }
      }
      for (const method of withdrawn) {
        const agent = ownerOf.get(method) ?? "";
        this.installed.delete(method);
        this.uncommit(agent, method);
        out.push({ to: agent, body: { type: "cancel", lock: done.lock, activity: method } });
      }
      // A swap taken: the methods of other agents that earn nothing without what it replaced
      // are dropped, freeing their owners.
      for (const method of done.accepted) {
        if (withdrawn.has(method)) continue;
        for (const d of done.drops?.get(method) ?? [])
          out.push({
            to: d.owner,
            body: { type: "cancel", lock: done.lock, activity: d.activityId },
          });
      }
      for (const method of done.refused) {
        this.installed.delete(method);
        if (!done.proactive) this.refusedMethods.add(method);
        this.uncommit(ownerOf.get(method) ?? "", method);
      }
      const retry = new Set<Job>();
      for (const method of done.refused) retry.add(done.jobOf?.get(method) ?? done.job);
      for (const job of retry)
        if (job.attempt + 1 < MAX_ATTEMPTS)
          this.queue.unshift({ ...job, attempt: job.attempt + 1 });
    }
    // Enabling nodes before what they enable (CSC §3.2.2: a repair may need the nodes that
    // enable the problem node scheduled first); otherwise first come, first served.
    this.queue.sort((a, b) => this.enablesDepth(a.node) - this.enablesDepth(b.node));
    // A repair whose failure became known only after its stretch was planned (its last safe
    // start has come) loses its chance of success with every tick: it does not wait for the
    // lock, and may take an agent off a second try elsewhere (`candidatesOf`).
    if (this.locked()) {
      const late = this.queue.filter((j) => this.joinable(j, t) && this.late(j, t));
      if (late.length > 0) {
        for (const j of late) this.queue.splice(this.queue.indexOf(j), 1);
        this.planJointly(late, t, out, true);
      }
    }
    while (!this.locked() && this.queue.length > 0) {
      // Repairs of the gaps under a max wait until they are due, and those queued then are
      // planned together: they compete for the same agents, and one plan for all of them can
      // give each gap an agent where first come, first served would not.
      const joint = this.queue.filter((j) => this.joinable(j, t));
      if (joint.length > 0 && joint.length === this.queue.length) {
        if (!joint.some((j) => this.due(j, t))) break;
        this.queue.length = 0;
        this.planJointly(joint, t, out, false);
        continue;
      }
      const job = this.queue.find((j) => !this.joinable(j, t)) ?? this.queue[0];
      if (!job) break;
      this.queue.splice(this.queue.indexOf(job), 1);
      this.plan(job, t, out);
    }
    if (this.transactions.size === 0 && !this.proactiveDone && t >= PROACTIVE_TICK) {
      this.proactiveDone = true;
      this.proact(t, out);
    }
    return { messages: out };
  }

  /**
   * Proposes the improvements of the initial schedule found from the model alone (never from
   * what a run meets): each owner judges its install against what it would displace.
   */
  private proact(t: Ticks, out: OutgoingMessage[]): void {
    if (!this.initial) return;
    const picks: { c: Candidate; job: Job }[] = [];
    const found: ProactiveInstall[] = [];
    for (const p of proactiveInstallsCached(this.index, this.initial, { from: t + 1 })) {
      const child = this.index.nodes.get(p.activityId);
      if (child?.kind !== "activity" || !this.free(p.owner, p.earliest, p.earliest + 1)) continue;
      found.push(p);
      const deadline = effectiveDeadline(this.index, p.activityId) ?? Number.POSITIVE_INFINITY;
      const qp = qualityProfile(child.quality);
      const prob = qp.p * probabilityAtMost(child.duration, deadline - p.earliest);
      const c: Candidate = {
        id: p.activityId,
        tp: { p: prob, v: qp.v },
        busy: expectedValue(child.duration),
        owner: p.owner,
        window: [p.earliest, p.latest],
        now: NOTHING,
        // Not one that takes over a method under way: its owner weighs that one as it runs. A
        // swap is vouched for whatever its share once clearly better (its owner sees what it
        // drops, not what the time it frees and the method it adds earn elsewhere; on tuning
        // seeds, vouching only from VOUCH_SHARE kept about a third less of the swaps' gain).
        ...(p.vouched ? { vouched: true } : {}),
        ...(p.needs && p.needs.length > 0 ? { needs: p.needs } : {}),
        ...(p.replaces && p.replaces.length > 0 ? { replaces: p.replaces } : {}),
        ...(p.alsoDrops && p.alsoDrops.length > 0 ? { alsoDrops: p.alsoDrops } : {}),
      };
      // Not escalated, so a refusal is not retried.
      picks.push({ c, job: { node: p.node, threshold: 1, children: [], attempt: MAX_ATTEMPTS } });
    }
    // The parts of a min's group go all or nothing, in a transaction of their own; a refusal
    // withdraws the others.
    const groups = new Map<number, { c: Candidate; job: Job }[]>();
    const singles: { c: Candidate; job: Job }[] = [];
    for (const [i, pick] of picks.entries()) {
      const group = found[i]?.group;
      if (group === undefined) singles.push(pick);
      else groups.set(group, [...(groups.get(group) ?? []), pick]);
    }
    // One that rests on an install not sent (its owner's window is taken) is not sent either.
    let sent = singles;
    for (let dropped = true; dropped; ) {
      const ids = new Set(sent.map((x) => x.c.id));
      const next = sent.filter((x) => (x.c.needs ?? []).every((n) => ids.has(n)));
      dropped = next.length < sent.length;
      sent = next;
    }
    for (const [atomic, batch] of [
      [false, sent] as const,
      ...[...groups.values()].map((g) => [true, g] as const),
    ]) {
      const lock = this.nextLock;
      this.install(batch, atomic, out);
      const made = this.transactions.get(lock);
      if (made) this.transactions.set(lock, { ...made, proactive: true });
    }
  }

  /**
   * Whether a job may wait and be planned with others: the repair of a failure under a max (one
   * of its alternatives ran and failed; a gap nobody ever planned is filled at once, while its
   * owners' schedules can still take it), whose window is closing (its methods' last safe
   * starts are less than one of them away), that enables nothing and none of whose children
   * does (a later start would delay what it enables). Failures cluster in time, and the
   * repairs of those in the same stretch compete for the same agents.
   */
  private joinable(job: Job, t: Ticks): boolean {
    const node = this.index.nodes.get(job.node);
    if (node?.kind !== "task" || node.qaf !== "max") return false;
    // A gap left by a failure: nothing planned there had to be filled before.
    if (!job.children.some((c) => c.final === true && c.s !== undefined && c.p <= 0)) return false;
    const window = this.lastSafeStart(job);
    if (window === undefined || window.safe - t > window.longest) return false;
    for (let n: string | undefined = job.node; n !== undefined; n = this.index.parent.get(n))
      if ((this.index.linksFrom.get(n) ?? []).some((l) => l.kind === "enables")) return false;
    for (const c of node.children)
      if ((this.index.linksFrom.get(c) ?? []).some((l) => l.kind === "enables")) return false;
    return true;
  }

  /**
   * The earliest last safe start among a job's methods (the last start from which a method ends
   * by its deadline at its longest duration), and the longest of their durations.
   */
  private lastSafeStart(job: Job): { safe: Ticks; longest: Ticks } | undefined {
    const node = this.index.nodes.get(job.node);
    if (node?.kind !== "task") return undefined;
    let safe = Number.POSITIVE_INFINITY;
    let longest = 0;
    for (const c of node.children) {
      const child = this.index.nodes.get(c);
      if (child?.kind !== "activity") continue;
      const deadline = effectiveDeadline(this.index, c) ?? Number.POSITIVE_INFINITY;
      const max = valueRange(child.duration).max;
      safe = Math.min(safe, deadline - max);
      longest = Math.max(longest, max);
    }
    return Number.isFinite(safe) ? { safe, longest } : undefined;
  }

  /**
   * Whether a job must be planned now: an install sent now starts next tick, and one of its
   * methods could not wait a tick longer and still end by its deadline at its longest.
   */
  private due(job: Job, t: Ticks): boolean {
    const window = this.lastSafeStart(job);
    return window === undefined || window.safe <= t + JOINT_LEAD;
  }

  /**
   * Whether a job missed the plan of its stretch: the tick its joint plan was due has passed
   * (the failure was reported too late for it).
   */
  private late(job: Job, t: Ticks): boolean {
    const window = this.lastSafeStart(job);
    return window !== undefined && window.safe - t < JOINT_LEAD;
  }

  /** Length of the longest chain of enables links into a node or its ancestors. */
  private enablesDepth(id: string, seen: ReadonlySet<string> = new Set()): number {
    const cached = this.depths.get(id);
    if (cached !== undefined) return cached;
    let depth = 0;
    for (let n: string | undefined = id; n !== undefined; n = this.index.parent.get(n))
      for (const link of this.index.linksTo.get(n) ?? [])
        if (link.kind === "enables" && !seen.has(link.from))
          depth = Math.max(depth, 1 + this.enablesDepth(link.from, new Set([...seen, id])));
    this.depths.set(id, depth);
    return depth;
  }

  /**
   * What a job's node has now, and the methods that could be installed under it. With
   * `displace`, an owner committed to one install elsewhere that can be given up
   * (`displacement`) is offered too, with what giving it up costs.
   */
  private candidatesOf(job: Job, t: Ticks, displace = false) {
    const node = this.index.nodes.get(job.node);
    if (node?.kind !== "task") return undefined;
    const reported = new Map(job.children.map((c) => [c.id, c]));
    const current: TwoPoint[] = [];
    const candidates: Candidate[] = [];
    for (const childId of node.children) {
      const r = reported.get(childId);
      const child = this.index.nodes.get(childId);
      const busyNow = r !== undefined && (r.final === true || r.s !== undefined || r.p > 0);
      const taken = this.installed.get(childId);
      const now: TwoPoint =
        taken && !(r && r.p >= taken.p) ? taken : r ? { p: r.p, v: r.v } : NOTHING;
      if (
        busyNow ||
        child?.kind !== "activity" ||
        taken !== undefined ||
        this.refusedMethods.has(childId)
      ) {
        current.push(now);
        continue;
      }
      const owner = child.resources[0];
      const deadline = effectiveDeadline(this.index, childId) ?? Number.POSITIVE_INFINITY;
      const earliest = Math.max(t + 1, effectiveRelease(this.index, childId));
      const latest = deadline - valueRange(child.duration).min;
      const busy = expectedValue(child.duration);
      // Feasible: the method can still start in its window, and the owner is not committed by
      // an earlier install over the window it needs (or, with `displace`, only by one it may
      // give up).
      const end = earliest + Math.ceil(busy);
      const clashes =
        owner === undefined
          ? []
          : (this.committed.get(owner) ?? []).filter((c) => end > c.from && earliest < c.to);
      const displaces =
        displace && clashes.length === 1 ? this.displacement(clashes[0]?.method ?? "") : undefined;
      if (
        owner === undefined ||
        latest < earliest ||
        (clashes.length > 0 && displaces === undefined)
      ) {
        current.push(now);
        continue;
      }
      const qp = qualityProfile(child.quality);
      const p = qp.p * probabilityAtMost(child.duration, deadline - earliest);
      if (p <= 0) {
        current.push(now);
        continue;
      }
      candidates.push({
        id: childId,
        tp: { p, v: qp.v },
        busy,
        owner,
        window: [earliest, latest],
        now,
        ...(displaces ? { displaces } : {}),
      });
    }
    return { node, current, candidates };
  }

  /**
   * Whether the install of `method` may be given up for a late repair, and what its node would
   * lose: it must be an extra try under a max (another method is installed there too). Its
   * owner is sent a withdrawal with the new install, and weighs the install against nothing.
   */
  private displacement(method: string): { method: string; node: string; loss: number } | undefined {
    const parent = this.index.parent.get(method);
    const node = parent === undefined ? undefined : this.index.nodes.get(parent);
    if (parent === undefined || node?.kind !== "task" || node.qaf !== "max") return undefined;
    const tries = node.children.filter((c) => this.installed.has(c));
    const at = tries.indexOf(method);
    if (tries.length < 2 || at < 0) return undefined;
    const tps = tries.map((c) => this.installed.get(c) ?? NOTHING);
    return { method, node: parent, loss: withdrawalLoss("max", [], tps, at) };
  }

  private plan(job: Job, t: Ticks, out: OutgoingMessage[]): void {
    const found = this.candidatesOf(job, t);
    if (!found) return;
    const { node, current, candidates } = found;
    // Under a min every child is needed: an option may hold them all, installed all or
    // nothing.
    const frontier = paretoOptions(
      node.qaf,
      current,
      candidates,
      node.qaf === "min" ? Math.max(2, node.children.length) : 2,
    );
    const now = combine(node.qaf, [...current, ...candidates.map((c) => c.now)]).p;
    const choice = chooseOption(frontier, job.threshold);
    // Nothing to install unless it makes the node clearly more likely to succeed.
    if (!choice || choice.p < now + 0.05) return;
    const picks = choice.methods
      .map((id) => candidates.find((x) => x.id === id))
      .filter((c): c is Candidate => c !== undefined);
    this.install(
      picks.map((c) => ({ c, job })),
      node.qaf === "min" && choice.methods.length > 1,
      out,
    );
  }

  /**
   * A joint plan for several jobs (`assignRepairs`): each owner takes at most one of the methods
   * offered to it, chosen to make the nodes, together, as likely as possible to succeed. A late
   * job's offers may take an owner off an extra try elsewhere (`urgent`: sent at once, without
   * the lock).
   */
  private planJointly(
    jobs: readonly Job[],
    t: Ticks,
    out: OutgoingMessage[],
    urgent: boolean,
  ): void {
    const plans = jobs.flatMap((job) => {
      const found = this.candidatesOf(job, t, this.late(job, t));
      return found ? [{ job, ...found }] : [];
    });
    const offers: (RepairOffer & { c: Candidate })[] = plans.flatMap((pl, i) =>
      pl.candidates.map((c) => ({
        node: i,
        owner: c.owner,
        tp: c.tp,
        busy: c.busy,
        c,
        ...(c.displaces ? { displaces: { node: c.displaces.node, loss: c.displaces.loss } } : {}),
      })),
    );
    const chosen = assignRepairs(
      plans.map((pl) => ({
        qaf: pl.node.qaf,
        fixed: [...pl.current, ...pl.candidates.map((c) => c.now)],
      })),
      offers,
      JOINT_SEARCH_LIMIT,
    );
    this.install(
      chosen.flatMap((i) => {
        const o = offers[i];
        const job = o ? plans[o.node]?.job : undefined;
        return o && job ? [{ c: o.c, job }] : [];
      }),
      false,
      out,
      urgent,
    );
  }

  /** Sends the installs of one transaction, under one lock. */
  private install(
    picks: readonly { c: Candidate; job: Job }[],
    atomic: boolean,
    out: OutgoingMessage[],
    urgent = false,
  ): void {
    const first = picks[0];
    if (!first) return;
    const lock = this.nextLock++;
    const waiting = new Set<string>();
    const methods = new Map<string, string[]>();
    const jobOf = new Map<string, Job>();
    const drops = new Map<string, readonly { owner: string; activityId: string }[]>();
    const needs = new Map<string, readonly string[]>();
    for (const { c, job } of picks) {
      if (c.alsoDrops) drops.set(c.id, c.alsoDrops);
      const id = c.id;
      jobOf.set(id, job);
      const [earliest, latest] = c.window;
      if (c.displaces) {
        // The owner is taken off the extra try first (it aborts it if under way).
        const gone = c.displaces.method;
        this.installed.delete(gone);
        this.uncommit(c.owner, gone);
        out.push({ to: c.owner, body: { type: "cancel", lock, activity: gone } });
      }
      const list = this.committed.get(c.owner) ?? [];
      list.push({ from: earliest, to: earliest + Math.ceil(c.busy), method: id });
      this.committed.set(c.owner, list);
      this.installed.set(id, c.tp);
      waiting.add(id);
      methods.set(c.owner, [...(methods.get(c.owner) ?? []), id]);
      if (c.needs && c.needs.length > 0) needs.set(id, c.needs);
      this.stats.installs++;
      const body: PeerBody = {
        type: "install",
        lock,
        activity: id,
        earliest,
        latest,
        ...(c.vouched ? { vouched: true } : {}),
        ...(c.replaces ? { replaces: c.replaces } : {}),
      };
      out.push({ to: c.owner, body });
    }
    if (waiting.size > 0)
      this.transactions.set(lock, {
        lock,
        node: first.job.node,
        waiting,
        refused: [],
        methods,
        job: first.job,
        jobOf,
        atomic,
        accepted: [],
        urgent,
        ...(drops.size > 0 ? { drops } : {}),
        ...(needs.size > 0 ? { needs } : {}),
      });
  }
}
