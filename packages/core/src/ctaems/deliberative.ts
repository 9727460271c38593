import { expectedValue } from "../model/distribution.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import type { CtaemsAgent, OutgoingMessage, TickInput, TickOutput } from "./agent.js";
import { proactiveInstallsCached } from "./improve.js";
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
}

/**
 * The Pareto frontier of options (CSC §3.2.2): subsets of up to `maxSize` candidate methods,
 * each scored by the node's resulting probability (children combined by the node's QAF) and its
 * busy cost; an option survives if no other is at least as likely for at most the cost.
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
      const p = combine(qaf, [...current, ...rest, ...chosen.map((c) => c.tp)]).p;
      options.push({
        methods: chosen.map((c) => c.id),
        p,
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
          (x) => x !== o && x.p >= o.p && x.busy <= o.busy && (x.p > o.p || x.busy < o.busy),
        ),
    )
    .sort((a, b) => a.busy - b.busy || b.p - a.p);
}

interface Transaction {
  readonly lock: number;
  readonly node: string;
  readonly waiting: Set<string>;
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
  /** Proposed unasked (`proact`): a refusal says the owner is busier than planned, no more. */
  readonly proactive?: boolean;
}

/** A method the scheduler could install under a job's node. */
interface Candidate {
  readonly id: string;
  readonly tp: TwoPoint;
  readonly busy: number;
  readonly owner: string;
  readonly window: [Ticks, Ticks];
  readonly now: TwoPoint;
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
 * (`planJointly`).
 */
export class DeliberativeScheduler implements CtaemsAgent {
  readonly id: string;
  private readonly index: ModelIndex;
  private readonly queue: Job[] = [];
  private transaction: Transaction | undefined;
  private nextLock = 1;
  /** Per agent: ticks committed by installs, as [from, to) intervals. */
  private readonly committed = new Map<string, [Ticks, Ticks][]>();
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
   * @param options.initial the initial schedule the agents run: given, the scheduler proposes at
   * `PROACTIVE_TICK` the methods that make it likelier to earn more (`proactiveInstalls`), though
   * nobody escalated anything.
   */
  constructor(id: string, index: ModelIndex, options: { initial?: Schedule } = {}) {
    this.id = id;
    this.index = index;
    this.initial = options.initial;
  }

  private free(agent: string, from: Ticks, to: Ticks): boolean {
    return (this.committed.get(agent) ?? []).every(([a, b]) => to <= a || from >= b);
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
    const answered = (agent: string, lock: number, ok: boolean): void => {
      if (this.transaction?.lock !== lock) return;
      this.transaction.waiting.delete(agent);
      if (ok && !this.transaction.accepted.includes(agent)) this.transaction.accepted.push(agent);
      if (!ok) {
        this.transaction.refused.push(agent);
        this.stats.refused++;
      }
    };
    for (const msg of input.inbox) {
      const body = msg.body;
      if (body.type === "escalate") escalate(body);
      else if (body.type === "installed") answered(msg.from, body.lock, body.ok);
      else if (body.type === "summary") {
        // A cell leader's summary: its members' escalations and answers, as if each came alone.
        for (const e of body.escalations) escalate(e);
        for (const a of body.installed) answered(a.agent, a.lock, a.ok);
      }
    }
    if (this.transaction && this.transaction.waiting.size === 0) {
      const done = this.transaction;
      this.transaction = undefined;
      // Feasibility is the owners' to judge: a refused method is taken off the options, its
      // window given back, and the next option tried (a bounded number of times).
      // An all-or-nothing option with a refusal: the parts taken are withdrawn too.
      const withdrawn = done.atomic && done.refused.length > 0 ? done.accepted : [];
      for (const agent of withdrawn)
        for (const method of done.methods.get(agent) ?? []) {
          this.installed.delete(method);
          this.committed.get(agent)?.pop();
          out.push({ to: agent, body: { type: "cancel", lock: done.lock, activity: method } });
        }
      for (const agent of done.refused)
        for (const method of done.methods.get(agent) ?? []) {
          this.installed.delete(method);
          if (!done.proactive) this.refusedMethods.add(method);
          // Transactions are serialized: this one's windows are the owner's last ones.
          this.committed.get(agent)?.pop();
        }
      const retry = new Set<Job>();
      for (const agent of done.refused)
        for (const method of done.methods.get(agent) ?? [])
          retry.add(done.jobOf?.get(method) ?? done.job);
      for (const job of retry)
        if (job.attempt + 1 < MAX_ATTEMPTS)
          this.queue.unshift({ ...job, attempt: job.attempt + 1 });
    }
    // Enabling nodes before what they enable (CSC §3.2.2: a repair may need the nodes that
    // enable the problem node scheduled first); otherwise first come, first served.
    this.queue.sort((a, b) => this.enablesDepth(a.node) - this.enablesDepth(b.node));
    while (!this.transaction && this.queue.length > 0) {
      // Repairs of the gaps under a max wait until they are due, and those queued then are
      // planned together: they compete for the same agents, and one plan for all of them can
      // give each gap an agent where first come, first served would not.
      const joint = this.queue.filter((j) => this.joinable(j, t));
      if (joint.length > 0 && joint.length === this.queue.length) {
        if (!joint.some((j) => this.due(j, t))) break;
        this.queue.length = 0;
        this.planJointly(joint, t, out);
        continue;
      }
      const job = this.queue.find((j) => !this.joinable(j, t)) ?? this.queue[0];
      if (!job) break;
      this.queue.splice(this.queue.indexOf(job), 1);
      this.plan(job, t, out);
    }
    if (!this.transaction && !this.proactiveDone && t >= PROACTIVE_TICK) {
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
    for (const p of proactiveInstallsCached(this.index, this.initial, { from: t + 1 })) {
      const child = this.index.nodes.get(p.activityId);
      if (child?.kind !== "activity" || !this.free(p.owner, p.earliest, p.earliest + 1)) continue;
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
      };
      // Not escalated, so a refusal is not retried.
      picks.push({ c, job: { node: p.node, threshold: 1, children: [], attempt: MAX_ATTEMPTS } });
    }
    this.install(picks, false, out);
    if (this.transaction) this.transaction = { ...this.transaction, proactive: true };
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

  /** What a job's node has now, and the methods that could be installed under it. */
  private candidatesOf(job: Job, t: Ticks) {
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
      // an earlier install over the window it needs.
      if (
        owner === undefined ||
        latest < earliest ||
        !this.free(owner, earliest, earliest + Math.ceil(busy))
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
      });
    }
    return { node, current, candidates };
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
    const choice = frontier.find((o) => o.p >= job.threshold) ?? frontier[frontier.length - 1];
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
   * A joint plan for several jobs: each owner takes at most one of the methods offered to it,
   * chosen to make the nodes, together, as likely as possible to succeed (the sum of their
   * probabilities). Branch and bound over the owners; adding a method to a node adds at most
   * what it would add to the node as it stands (more alternatives, less each adds), which bounds
   * what the owners still to decide can add. An owner takes a method only if it makes its node
   * clearly (5 points) more likely to succeed.
   */
  private planJointly(jobs: readonly Job[], t: Ticks, out: OutgoingMessage[]): void {
    const plans = jobs.flatMap((job) => {
      const found = this.candidatesOf(job, t);
      return found ? [{ job, ...found, chosen: [] as TwoPoint[] }] : [];
    });
    const offers = new Map<string, { plan: number; c: Candidate }[]>();
    plans.forEach((pl, i) => {
      for (const c of pl.candidates) {
        const list = offers.get(c.owner) ?? [];
        list.push({ plan: i, c });
        offers.set(c.owner, list);
      }
    });
    const probability = (i: number, extra?: TwoPoint): number => {
      const pl = plans[i];
      if (!pl) return 0;
      const rest = pl.candidates.map((c) => c.now);
      return combine(pl.node.qaf, [...pl.current, ...rest, ...pl.chosen, ...(extra ? [extra] : [])])
        .p;
    };
    const marginal = (i: number, tp: TwoPoint): number => probability(i, tp) - probability(i);
    const owners = [...offers.keys()].sort((a, b) => {
      const best = (o: string) =>
        Math.max(...(offers.get(o) ?? []).map((x) => marginal(x.plan, x.c.tp)));
      return best(b) - best(a) || (a < b ? -1 : 1);
    });
    const picked: ({ plan: number; c: Candidate } | undefined)[] = owners.map(() => undefined);
    let best: { value: number; picks: ({ plan: number; c: Candidate } | undefined)[] } = {
      value: -1,
      picks: [],
    };
    let visited = 0;
    const total = (): number => plans.reduce((sum, _, i) => sum + probability(i), 0);
    const search = (k: number, value: number): void => {
      if (visited++ > JOINT_SEARCH_LIMIT) return;
      if (value > best.value + 1e-12) best = { value, picks: [...picked] };
      if (k === owners.length) return;
      let bound = value;
      for (let j = k; j < owners.length; j++)
        bound += Math.max(
          0,
          ...(offers.get(owners[j] ?? "") ?? []).map((x) => marginal(x.plan, x.c.tp)),
        );
      if (bound <= best.value + 1e-12) return;
      const owner = owners[k] ?? "";
      const options = [...(offers.get(owner) ?? [])].sort(
        (x, y) => marginal(y.plan, y.c.tp) - marginal(x.plan, x.c.tp) || x.c.busy - y.c.busy,
      );
      for (const o of options) {
        const gain = marginal(o.plan, o.c.tp);
        if (gain < 0.05) continue;
        const pl = plans[o.plan];
        if (!pl) continue;
        pl.chosen.push(o.c.tp);
        picked[k] = o;
        // Of two equally likely plans, the one that spends fewer resource ticks.
        search(k + 1, value + gain - 1e-6 * o.c.busy);
        pl.chosen.pop();
        picked[k] = undefined;
      }
      search(k + 1, value);
    };
    search(0, total());
    this.install(
      best.picks
        .filter((x): x is { plan: number; c: Candidate } => x !== undefined)
        .map((x) => ({ c: x.c, job: plans[x.plan]?.job ?? jobs[0]! })),
      false,
      out,
    );
  }

  /** Sends the installs of one transaction, under one lock. */
  private install(
    picks: readonly { c: Candidate; job: Job }[],
    atomic: boolean,
    out: OutgoingMessage[],
  ): void {
    const first = picks[0];
    if (!first) return;
    const lock = this.nextLock++;
    const waiting = new Set<string>();
    const methods = new Map<string, string[]>();
    const jobOf = new Map<string, Job>();
    for (const { c, job } of picks) {
      const id = c.id;
      jobOf.set(id, job);
      const [earliest, latest] = c.window;
      const list = this.committed.get(c.owner) ?? [];
      list.push([earliest, earliest + Math.ceil(c.busy)]);
      this.committed.set(c.owner, list);
      this.installed.set(id, c.tp);
      waiting.add(c.owner);
      methods.set(c.owner, [...(methods.get(c.owner) ?? []), id]);
      this.stats.installs++;
      const body: PeerBody = { type: "install", lock, activity: id, earliest, latest };
      out.push({ to: c.owner, body });
    }
    if (waiting.size > 0)
      this.transaction = {
        lock,
        node: first.job.node,
        waiting,
        refused: [],
        methods,
        job: first.job,
        jobOf,
        atomic,
        accepted: [],
      };
  }
}
