import type { Qaf } from "../model/types.js";
import { combine, type TwoPoint } from "./profiles.js";

/** A node a joint plan repairs: its QAF and what it has and keeps whatever the plan. */
export interface RepairNode {
  readonly qaf: Qaf;
  readonly fixed: readonly TwoPoint[];
}

/** A method an owner could run for one of the nodes. */
export interface RepairOffer {
  /** Index of the node in the plan's nodes. */
  readonly node: number;
  readonly owner: string;
  readonly tp: TwoPoint;
  /** Expected resource ticks it spends. */
  readonly busy: number;
  /**
   * The owner holds an install elsewhere that this offer would take it off: the node that
   * install is for, and the probability of success that node would lose without it.
   */
  readonly displaces?: { readonly node: string; readonly loss: number };
}

/** An owner takes a method only if it makes its node at least this much more likely. */
export const MIN_REPAIR_GAIN = 0.05;

/**
 * An owner is taken off an install elsewhere only if the new method adds this many times what
 * the install it leaves brings (its owner must also judge it worth more, with its own margin).
 */
export const DISPLACE_RATIO = 2;

/**
 * A joint repair plan: each owner takes at most one of the methods offered to it, chosen to make
 * the nodes, together, as likely as possible to succeed (the sum of their probabilities, less
 * what displaced installs take from other nodes). Branch and bound over the owners; adding a
 * method to a node adds at most what it would add to the node as it stands (more alternatives,
 * less each adds), which bounds what the owners still to decide can add. Of two equally likely
 * plans, the one that spends fewer resource ticks. At most one install is displaced per node.
 * Returns the indices of the chosen offers.
 */
export function assignRepairs(
  nodes: readonly RepairNode[],
  offers: readonly RepairOffer[],
  limit = 200_000,
): number[] {
  const chosen: TwoPoint[][] = nodes.map(() => []);
  const probability = (i: number, extra?: TwoPoint): number => {
    const n = nodes[i];
    if (!n) return 0;
    return combine(n.qaf, [...n.fixed, ...(chosen[i] ?? []), ...(extra ? [extra] : [])]).p;
  };
  const marginal = (o: RepairOffer): number => probability(o.node, o.tp) - probability(o.node);
  const admissible = (o: RepairOffer, gain: number): boolean =>
    gain >= MIN_REPAIR_GAIN &&
    (o.displaces === undefined || gain >= DISPLACE_RATIO * o.displaces.loss);
  const net = (o: RepairOffer): number => {
    const gain = marginal(o);
    return admissible(o, gain) ? gain - (o.displaces?.loss ?? 0) : 0;
  };
  const byOwner = new Map<string, number[]>();
  offers.forEach((o, i) => {
    const list = byOwner.get(o.owner) ?? [];
    list.push(i);
    byOwner.set(o.owner, list);
  });
  const bestOf = (owner: string): number =>
    Math.max(0, ...(byOwner.get(owner) ?? []).map((i) => net(offers[i] as RepairOffer)));
  const owners = [...byOwner.keys()].sort((a, b) => bestOf(b) - bestOf(a) || (a < b ? -1 : 1));
  const picked: (number | undefined)[] = owners.map(() => undefined);
  const displaced = new Set<string>();
  let best = { value: -1, picks: [] as (number | undefined)[] };
  let visited = 0;
  const search = (k: number, value: number): void => {
    if (visited++ > limit) return;
    if (value > best.value + 1e-12) best = { value, picks: [...picked] };
    if (k === owners.length) return;
    let bound = value;
    for (let j = k; j < owners.length; j++) bound += bestOf(owners[j] ?? "");
    if (bound <= best.value + 1e-12) return;
    const owner = owners[k] ?? "";
    const options = [...(byOwner.get(owner) ?? [])].sort((x, y) => {
      const a = offers[x] as RepairOffer;
      const b = offers[y] as RepairOffer;
      return net(b) - net(a) || a.busy - b.busy;
    });
    for (const i of options) {
      const o = offers[i] as RepairOffer;
      const gain = marginal(o);
      if (!admissible(o, gain)) continue;
      if (o.displaces && displaced.has(o.displaces.node)) continue;
      if (o.displaces) displaced.add(o.displaces.node);
      chosen[o.node]?.push(o.tp);
      picked[k] = i;
      search(k + 1, value + gain - (o.displaces?.loss ?? 0) - 1e-6 * o.busy);
      chosen[o.node]?.pop();
      picked[k] = undefined;
      if (o.displaces) displaced.delete(o.displaces.node);
    }
    search(k + 1, value);
  };
  const start = nodes.reduce((sum, _, i) => sum + probability(i), 0);
  search(0, start);
  return best.picks.filter((i): i is number => i !== undefined);
}

/**
 * What a node loses if one of the methods installed under it is withdrawn: its probability with
 * all of them (and what it keeps) less its probability without that one.
 */
export function withdrawalLoss(
  qaf: Qaf,
  kept: readonly TwoPoint[],
  installed: readonly TwoPoint[],
  withdrawn: number,
): number {
  const all = combine(qaf, [...kept, ...installed]).p;
  const without = combine(qaf, [...kept, ...installed.filter((_, i) => i !== withdrawn)]).p;
  return all - without;
}
