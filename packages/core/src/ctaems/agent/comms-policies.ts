import type { ChildReport, PeerBody } from "../messages.js";
import { type CommsPolicy, DEFAULT_POLICY } from "../setup.js";

/**
 * How much an agent says, and to whom: each decision the agent's communication takes is asked
 * of this strategy. One implementation per policy: `AlwaysBroadcast` and `SelectiveBroadcast`
 * say what goes out; `Silence` and `Cells` wrap another and change one decision each
 * (escalation repeats, and the route to the deliberative scheduler). `commsStrategy` builds the
 * one a setup's `CommsPolicy` describes. A strategy keeps state for one agent: one per agent.
 */
export interface CommsStrategy {
  readonly name: string;
  /**
   * State manager (CSC §3.1.1): whether the children profiles of a shared task go out, given the
   * last ones sent (`undefined`: none yet). Both lists are sorted by child id.
   */
  report(before: readonly ChildReport[] | undefined, now: readonly ChildReport[]): boolean;
  /**
   * Execution controller (CSC §3.1.4): whether an enables source's notice goes out, given the key
   * of the last one sent (`undefined`: none yet).
   */
  announce(before: string | undefined, now: string): boolean;
  /**
   * Deliberative trigger (CSC §3.2.2): whether a node escalated at probability `before` is
   * escalated again at `p` (escalations are at least 4 ticks apart whatever the policy).
   */
  escalateAgain(before: number, p: number): boolean;
  /**
   * Who carries this agent's messages for the deliberative scheduler: `undefined` for the
   * scheduler itself, else a cell leader (this agent itself when it leads).
   */
  relay(): string | undefined;
  /** An agent left the run. */
  left(agentId: string): void;
  /** An escalation or install answer relayed through this agent (`from` may be itself). */
  gather(from: string, body: PeerBody): void;
  /** What this agent sends the deliberative scheduler for the tick on its relays' behalf. */
  summary(): PeerBody | undefined;
}

/** The baseline: every profile to every sharer, every enabler notice, at every tick. */
export class AlwaysBroadcast implements CommsStrategy {
  readonly name: string;
  constructor(name = "always") {
    this.name = name;
  }
  report(_before: readonly ChildReport[] | undefined, _now: readonly ChildReport[]): boolean {
    return true;
  }
  announce(_before: string | undefined, _now: string): boolean {
    return true;
  }
  escalateAgain(_before: number, _p: number): boolean {
    return true;
  }
  /** Straight to the deliberative scheduler. */
  relay(): string | undefined {
    return undefined;
  }
  left(_agentId: string): void {}
  /** Nobody relays through this agent. */
  gather(_from: string, _body: PeerBody): void {}
  summary(): PeerBody | undefined {
    return undefined;
  }
}

/**
 * Selective broadcasting: a profile only when it moved by more than `threshold` ε since the last
 * one sent (see `moved`), an enabler notice only when what it says changed.
 */
export class SelectiveBroadcast extends AlwaysBroadcast {
  readonly threshold: number;
  constructor(threshold: number, name = "selective") {
    super(name);
    this.threshold = threshold;
  }
  override report(
    before: readonly ChildReport[] | undefined,
    now: readonly ChildReport[],
  ): boolean {
    return (
      !before ||
      before.length !== now.length ||
      now.some((r, i) => {
        const b = before[i];
        return b === undefined || b.id !== r.id || moved(r, b, this.threshold);
      })
    );
  }
  override announce(before: string | undefined, now: string): boolean {
    return before !== now;
  }
}

/**
 * Whether a profile moved enough to be worth a message: the scheduled or the potential
 * probability by more than ε, a value by ε of itself, anything crossing zero or changing
 * state, or the start its owner plans (others time their starts and what it enables by it).
 * The potential weighs as much as the scheduled probability: under a min, a receiver
 * values its own methods against what each open sibling can still achieve (its potential), so a
 * stale potential misprices them. (A looser 4ε of itself let a sibling's potential lag by up to
 * 0.08 at ε = 0.02; on the job shop that flipped which operation an idle machine took up, and
 * selective broadcasting lost up to 3.7% of always-broadcast's quality.)
 */
export function moved(a: ChildReport, b: ChildReport, eps: number): boolean {
  const zero = (x: number, y: number) => x > 0 !== y > 0;
  return (
    zero(a.p, b.p) ||
    zero(a.pp, b.pp) ||
    Math.abs(a.p - b.p) > eps ||
    Math.abs(a.pp - b.pp) > eps ||
    Math.abs(a.v - b.v) > eps * Math.max(a.v, b.v) ||
    Math.abs(a.pv - b.pv) > eps * Math.max(a.pv, b.pv) ||
    a.s !== b.s ||
    a.e !== b.e ||
    a.acc !== b.acc ||
    a.final !== b.final
  );
}

/** Delegates every decision to `inner`: the base of the policies that change only some. */
abstract class Wrapping implements CommsStrategy {
  readonly name: string;
  protected readonly inner: CommsStrategy;
  constructor(inner: CommsStrategy, name: string) {
    this.inner = inner;
    this.name = name;
  }
  report(before: readonly ChildReport[] | undefined, now: readonly ChildReport[]): boolean {
    return this.inner.report(before, now);
  }
  announce(before: string | undefined, now: string): boolean {
    return this.inner.announce(before, now);
  }
  escalateAgain(before: number, p: number): boolean {
    return this.inner.escalateAgain(before, p);
  }
  relay(): string | undefined {
    return this.inner.relay();
  }
  left(agentId: string): void {
    this.inner.left(agentId);
  }
  gather(from: string, body: PeerBody): void {
    this.inner.gather(from, body);
  }
  summary(): PeerBody | undefined {
    return this.inner.summary();
  }
}

/**
 * Policy-driven silence: deviations only, nothing to say "still as I said". An escalation is
 * said once and repeated only when the node's probability fell further by `threshold`. Liveness
 * comes from the broker (keep-alive and last will), not from messages.
 */
export class Silence extends Wrapping {
  readonly threshold: number;
  constructor(inner: CommsStrategy, threshold: number, name = `${inner.name}+silence`) {
    super(inner, name);
    this.threshold = threshold;
  }
  override escalateAgain(before: number, p: number): boolean {
    return p <= before - this.threshold;
  }
}

/**
 * Hierarchical clustering: agents form cells; each cell's leader (its first member still
 * present, so the next one takes over when it leaves) gathers its members' escalations and
 * install answers and sends the deliberative scheduler one summary per tick.
 */
export class Cells extends Wrapping {
  private readonly self: string;
  private readonly cell: readonly string[];
  private readonly departed = new Set<string>();
  private readonly escalations: {
    node: string;
    p: number;
    threshold: number;
    children: ChildReport[];
  }[] = [];
  private readonly installed: { agent: string; lock: number; ok: boolean; activity?: string }[] =
    [];

  /** `cell`: every member, in leadership order; `self`: this agent, one of them. */
  constructor(inner: CommsStrategy, self: string, cell: readonly string[], name = inner.name) {
    super(inner, name);
    this.self = self;
    this.cell = cell;
  }

  /** The cell's leader: its first member still present. */
  override relay(): string | undefined {
    return this.cell.find((m) => !this.departed.has(m));
  }

  override left(agentId: string): void {
    this.departed.add(agentId);
    super.left(agentId);
  }

  override gather(from: string, body: PeerBody): void {
    if (body.type === "escalate")
      this.escalations.push({
        node: body.node,
        p: body.p,
        threshold: body.threshold,
        children: [...body.children],
      });
    else if (body.type === "installed")
      this.installed.push({
        agent: from,
        lock: body.lock,
        ok: body.ok,
        ...(body.activity !== undefined ? { activity: body.activity } : {}),
      });
  }

  /** The leader's summary of what it gathered since its last one (a member sends none). */
  override summary(): PeerBody | undefined {
    if (this.relay() !== this.self) return undefined;
    if (this.escalations.length === 0 && this.installed.length === 0) return undefined;
    return {
      type: "summary",
      escalations: this.escalations.splice(0),
      installed: this.installed.splice(0),
    };
  }
}

/**
 * The strategy a policy describes (default `DEFAULT_POLICY`), for agent `self`, in `cell` when
 * the setup gives it one.
 */
export function commsStrategy(
  policy: CommsPolicy = DEFAULT_POLICY,
  self = "",
  cell?: readonly string[],
): CommsStrategy {
  let s: CommsStrategy =
    policy.broadcast === "always"
      ? new AlwaysBroadcast(policy.name)
      : new SelectiveBroadcast(policy.threshold, policy.name);
  if (policy.silence) s = new Silence(s, policy.threshold, policy.name);
  if (cell !== undefined) s = new Cells(s, self, cell, policy.name);
  return s;
}
