import { expectedValue, sample } from "../model/distribution.js";
import { effectiveDeadline, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import { createRng } from "../random.js";
import type { Schedule, ScheduledActivity } from "../schedule/types.js";
import { qualityProfile, valueRange } from "./profiles.js";

/** A method the coordinator asks its owner to add to its schedule, with its start window. */
export interface ProactiveInstall {
  readonly activityId: string;
  readonly owner: string;
  readonly earliest: Ticks;
  readonly latest: Ticks;
  /** Node whose quality the method adds to (its parent). */
  readonly node: string;
  /** Estimated gain in expected root quality when added (with those chosen before it). */
  readonly gain: number;
  /** The gain as a share of the estimated expected quality of the schedule it is added to. */
  readonly share: number;
  /** Whether it takes over the method its owner has under way when it arrives. */
  readonly takesOver: boolean;
  /** Scheduled methods of its owner it replaces: the owner drops them when it takes it. */
  readonly replaces?: readonly string[];
  /**
   * Scheduled methods of other agents that earn nothing once the replaced ones are gone (the
   * other children of a min): dropped too once the install is taken, freeing their owners.
   */
  readonly alsoDrops?: readonly { readonly owner: string; readonly activityId: string }[];
  /**
   * Part of a move that adds all the missing children of a min at once (each earns nothing
   * alone): installs with the same number are all or nothing.
   */
  readonly group?: number;
  /**
   * Take-overs proposed with it (in the same transaction) that it is better only with: taken,
   * it is withdrawn if one of them is refused.
   */
  readonly needs?: readonly string[];
  /**
   * The scheduler vouches for it: its owner takes it even if its own view prices it lower. A
   * replacement, a part of an all-or-nothing move, or an addition of at least `VOUCH_SHARE` of
   * the estimate, none taking over a method under way (what it rests on is in `needs`).
   */
  readonly vouched: boolean;
}

/**
 * Share of the schedule's estimated expected quality from which the scheduler vouches for a
 * proactive addition: its owner takes it even if its own view prices it lower. The owner's
 * importance follows the path to the root alone, and misses what the method enables and what
 * the time it frees lets others do; the estimate misses how agents improvise, so a small gain
 * may be an artefact of it, and is left to the owner's judgement (on tuning seeds, a third of
 * the installs vouched for between 5% and 10% lowered their scenario's mean, against few above).
 */
export const VOUCH_SHARE = 0.1;

/**
 * How an install changes the plans: its item goes into its owner's sequence after `after` (or
 * first), taking over `over` at its start; `removes` leave their owners' sequences.
 */
interface Move {
  readonly owner: string;
  readonly item: Planned;
  readonly after?: string | undefined;
  readonly over?: string | undefined;
  readonly removes: readonly { readonly owner: string; readonly id: string }[];
}

/** `plans` with `m` made; an `after` no longer there, by planned start. */
function applyMove(
  plans: ReadonlyMap<string, readonly Planned[]>,
  m: Move,
): Map<string, readonly Planned[]> {
  const next = new Map(plans);
  for (const r of m.removes)
    next.set(
      r.owner,
      (next.get(r.owner) ?? []).filter((x) => x.id !== r.id),
    );
  const list = [...(next.get(m.owner) ?? [])];
  if (m.over !== undefined) {
    const i = list.findIndex((x) => x.id === m.over);
    const was = list[i];
    if (was) list[i] = { ...was, until: m.item.earliest };
  }
  let at = m.after === undefined ? 0 : list.findIndex((x) => x.id === m.after) + 1;
  if (m.after !== undefined && at === 0) {
    at = list.findIndex((x) => x.earliest > m.item.earliest);
    if (at < 0) at = list.length;
  }
  list.splice(at, 0, m.item);
  next.set(m.owner, list);
  return next;
}

export interface ImproveOptions {
  /** Sampled outcome sets the schedules are compared on (common random numbers). */
  readonly samples?: number;
  /** Of those, how many every candidate is screened on (the best is then judged on all). */
  readonly screen?: number;
  /** Seed of the coordinator's own draws (never the trial's). */
  readonly seed?: number;
  /** Most methods added. */
  readonly maxAdds?: number;
  /** Earliest start an install may ask for (the tick it reaches its owner). */
  readonly from?: Ticks;
  /**
   * Smallest gain, as a fraction of the schedule's estimated expected quality, for a method to
   * be worth adding: the estimate ignores what agents do on their own, so a small gain is noise.
   */
  readonly minGain?: number;
  /**
   * Most work per round, in places tried times methods simulated: the estimate is for networks
   * of a few dozen methods; on a larger one it would take longer than the run it improves, so
   * it proposes nothing (the repairs still run).
   */
  readonly maxWork?: number;
}

// 64 sampled outcome sets tell a gain of a third of its spread from noise (two standard errors),
// which 32 do not; screening candidates on 24 ranks them more surely than on 12. Together they
// take the estimate before a run about 1.8 times as long as 32 and 12 did (`bench/RESULTS.md`).
const DEFAULTS = {
  samples: 64,
  screen: 24,
  seed: 0x5eed,
  maxAdds: 4,
  from: 1,
  minGain: 0.01,
  maxWork: 3000,
} as const;

/** One agent's planned sequence, in the order it runs it. */
interface Planned {
  readonly id: string;
  readonly earliest: Ticks;
  /** Given up at this tick for an install that takes it over: it earns nothing. */
  readonly until?: Ticks;
}

/**
 * Methods to add to a schedule nobody escalated, so that it is likelier to earn more: the
 * coordinator knows the whole network and the duration and quality distributions, not the
 * outcomes a run will meet. It estimates a schedule's expected root quality by running it on
 * its own sampled outcomes (each agent runs its methods in order, each as early as its owner,
 * its release and its enables sources allow, skipping one that can no longer end in time or
 * whose source can no longer be enabled), then greedily adds the unscheduled method, at the
 * place in its owner's sequence, that raises that estimate most (on the same samples), while it
 * raises it clearly: a surer or better alternative under a max, a redundant one where a failure
 * is likely and the owner idle, a method of a sum or min left out. Pure: the same model,
 * schedule and options give the same installs.
 */
export function proactiveInstalls(
  index: ModelIndex,
  initial: Schedule,
  options: ImproveOptions = {},
): ProactiveInstall[] {
  return improvement(index, initial, options).installs;
}

/**
 * What `proactiveInstalls` finds: the installs, and the plans made of the initial schedule and
 * the changes the scheduler vouches for that stand on their own (none resting on a change an
 * owner may refuse), with the estimate's gain of those plans over the initial schedule, per
 * sampled outcome set.
 */
function improvement(
  index: ModelIndex,
  initial: Schedule,
  options: ImproveOptions,
): {
  installs: ProactiveInstall[];
  kept: ReadonlyMap<string, readonly Planned[]>;
  gains: readonly number[];
} {
  const o = { ...DEFAULTS, ...options };
  const activities = index.activities.filter((a) => a.resources[0] !== undefined);
  const none = { installs: [], kept: new Map(), gains: [] };
  if (activities.length === 0) return none;
  const planned = new Set(initial.resources.flatMap((r) => r.activities.map((a) => a.activityId)));
  const load = new Map(initial.resources.map((r) => [r.resourceId, r.activities.length]));
  let work = 0;
  for (const a of activities)
    if (!planned.has(a.id)) work += (1 + (load.get(a.resources[0] ?? "") ?? 0)) * activities.length;
  if (work > o.maxWork) return none;
  // Replacements (a scheduled method swapped for an unscheduled one of the same owner) are
  // tried when they fit in what the additions leave of the budget.
  let swaps = 0;
  for (const a of activities)
    if (!planned.has(a.id) && expectedValue(a.quality) > 0)
      swaps += (load.get(a.resources[0] ?? "") ?? 0) * activities.length;
  const replacing = work + swaps <= o.maxWork;
  const rng = createRng(o.seed);
  const draws = Array.from({ length: o.samples }, () => {
    const m = new Map<string, { d: Ticks; q: number }>();
    for (const a of activities)
      m.set(a.id, { d: sample(a.duration, rng), q: sample(a.quality, rng) });
    return m;
  });
  const plans = new Map<string, Planned[]>();
  const scheduled = new Set<string>();
  for (const rs of initial.resources) {
    const list = rs.activities
      .map((a) => ({ id: a.activityId, earliest: a.startTicks ?? a.window?.earliestTicks ?? 0 }))
      .sort((x, y) => x.earliest - y.earliest);
    plans.set(rs.resourceId, list);
    for (const a of list) scheduled.add(a.id);
  }
  const values = (
    p: ReadonlyMap<string, readonly Planned[]>,
    from = 0,
    to = draws.length,
    idle?: string,
  ) => draws.slice(from, to).map((d) => simulate(index, p, d, idle));
  const screen = Math.min(o.screen, draws.length);
  let base = values(plans);
  const out: ProactiveInstall[] = [];
  let groups = 0;
  // A syncsum counts the children that start at its first start: one pushed later earns
  // nothing, but one dropped leaves the others' common start as it was (`dropping`). A method
  // that enables something is neither pushed nor taken over; it may be replaced (`swapped`):
  // the estimate then drops what can no longer be enabled, and the owners of what it drops
  // take up other work, as they would.
  const fixed = (id: string, dropping = false, swapped = false): boolean => {
    if (out.some((x) => x.activityId === id)) return true;
    const parent = index.parent.get(id);
    if (parent !== undefined && !dropping) {
      const up = index.nodes.get(parent);
      if (up?.kind === "task" && up.qaf === "syncsum") return true;
    }
    if (swapped) return false;
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      if ((index.linksFrom.get(n) ?? []).some((l) => l.kind === "enables")) return true;
    return false;
  };
  const durations = (id: string): number => {
    const n = index.nodes.get(id);
    return n?.kind === "activity" ? Math.ceil(expectedValue(n.duration)) : 0;
  };
  // An owner never lets an install delay a synchronized start, a method that enables
  // something, or an earlier install: such a place would be refused.
  const delays = (after: readonly Planned[], from: Ticks): boolean => {
    let t = from;
    for (const item of after) {
      const at = Math.max(t, item.earliest);
      if (at > item.earliest && fixed(item.id)) return true;
      t = at + durations(item.id);
    }
    return false;
  };
  // When an owner is free again after running `before` in order, each method as early as its
  // planned start, its release and the end of the one before allow, one that could no longer
  // end in time skipped (as the estimate runs them): not the planned start of the last plus its
  // duration, which misses that an install taking over a method under way pushes what follows.
  const freeAfter = (before: readonly Planned[]): Ticks => {
    let t = 0;
    for (const item of before) {
      const about = info(index, item.id);
      const at = Math.max(t, item.earliest, about.release);
      if (at > about.latest) continue;
      t = item.until ?? at + durations(item.id);
    }
    return t;
  };
  // The other scheduled children of a min a dropped method is under: they earn nothing without
  // it, so they go too (undefined when one has started or must stay, and the drop is not made).
  const minCompanions = (id: string): { owner: string; activityId: string }[] | undefined => {
    const parent = index.parent.get(id);
    const up = parent === undefined ? undefined : index.nodes.get(parent);
    if (up?.kind !== "task" || up.qaf !== "min") return [];
    const found: { owner: string; activityId: string }[] = [];
    for (const c of up.children) {
      if (c === id) continue;
      for (const [owner, list] of plans) {
        const item = list.find((x) => x.id === c);
        if (!item) continue;
        if (item.earliest < o.from || fixed(c)) return undefined;
        found.push({ owner, activityId: c });
      }
    }
    return found;
  };
  type Option = {
    install: ProactiveInstall;
    plans: Map<string, Planned[]>;
    v: number[];
    /** The other installs of an all-or-nothing move. */
    rest?: ProactiveInstall[];
    /** What each of its installs changes, in order (`applyMove`). */
    moves: Move[];
  };
  const start = new Map(plans);
  const units: { installs: ProactiveInstall[]; moves: Move[] }[] = [];
  for (let round = 0; round < o.maxAdds; round++) {
    const baseMean = mean(base.slice(0, screen));
    const options: Option[] = [];
    for (const a of activities) {
      if (scheduled.has(a.id) || expectedValue(a.quality) <= 0) continue;
      const owner = a.resources[0] ?? "";
      const deadline = effectiveDeadline(index, a.id) ?? Number.POSITIVE_INFINITY;
      const latest = deadline - valueRange(a.duration).min;
      const release = effectiveRelease(index, a.id);
      const list = plans.get(owner) ?? [];
      // What is planned to start before an install can arrive has started: the install goes
      // after it, or takes over the one under way when it cannot wait for it to end (its owner
      // then gives that one up: worth it when it earns less, or nothing without a sibling the
      // install is displacing elsewhere).
      const started = list.filter((x) => x.earliest < o.from).length;
      for (let k = Math.max(0, started - 1); k <= list.length; k++) {
        const earliest = Math.max(freeAfter(list.slice(0, k)), release, o.from);
        if (earliest > latest) continue;
        if (k < started) {
          const running = list[k];
          if (!running || running.until !== undefined) continue;
          if (running.earliest + durations(running.id) <= latest) continue;
          if (fixed(running.id, true)) continue;
        }
        // A method taken over ends when the install starts (its owner was busy with it until
        // then, and earns nothing of it).
        const rest = k < started ? list.slice(k + 1) : list.slice(k);
        if (delays(rest, earliest + durations(a.id))) continue;
        const given = k < started && list[k] ? [{ ...(list[k] as Planned), until: earliest }] : [];
        const next = [...list.slice(0, k), ...given, { id: a.id, earliest }, ...rest];
        const candidate = new Map(plans);
        candidate.set(owner, next);
        const v = values(candidate, 0, screen);
        const gain = mean(v) - baseMean;
        if (gain <= 0) continue;
        options.push({
          install: {
            activityId: a.id,
            owner,
            earliest,
            latest,
            node: index.parent.get(a.id) ?? a.id,
            gain,
            share: 0,
            takesOver: k < started,
            vouched: false,
          },
          plans: candidate,
          v,
          moves: [
            {
              owner,
              item: { id: a.id, earliest },
              ...(k < started && list[k]
                ? { after: list[k]?.id, over: list[k]?.id }
                : k > 0
                  ? { after: list[k - 1]?.id }
                  : {}),
              removes: [],
            },
          ],
        });
      }
    }
    if (replacing)
      for (const [owner, list] of plans) {
        const started = list.filter((x) => x.earliest < o.from).length;
        for (let k = started; k < list.length; k++) {
          const dropped = list[k];
          // Not one that has started.
          if (!dropped || dropped.earliest < o.from || fixed(dropped.id, true, true)) continue;
          const companions = minCompanions(dropped.id);
          if (companions === undefined) continue;
          for (const a of activities) {
            if (a.resources[0] !== owner || scheduled.has(a.id) || expectedValue(a.quality) <= 0)
              continue;
            // A sibling under the same min needs the method it would replace.
            if (index.parent.get(a.id) === index.parent.get(dropped.id)) continue;
            const gone = new Set([dropped.id, ...companions.map((c) => c.activityId)]);
            const rest = list.filter((x) => !gone.has(x.id));
            const at = list.slice(0, k).filter((x) => !gone.has(x.id)).length;
            const deadline = effectiveDeadline(index, a.id) ?? Number.POSITIVE_INFINITY;
            const latest = deadline - valueRange(a.duration).min;
            const earliest = Math.max(
              freeAfter(rest.slice(0, at)),
              effectiveRelease(index, a.id),
              o.from,
            );
            if (earliest > latest || delays(rest.slice(at), earliest + durations(a.id))) continue;
            const candidate = new Map(plans);
            candidate.set(owner, [...rest.slice(0, at), { id: a.id, earliest }, ...rest.slice(at)]);
            for (const c of companions)
              if (c.owner !== owner)
                candidate.set(
                  c.owner,
                  (candidate.get(c.owner) ?? []).filter((x) => x.id !== c.activityId),
                );
            const v = values(candidate, 0, screen);
            if (mean(v) - baseMean <= 0) continue;
            const others = companions.filter((c) => c.owner !== owner);
            options.push({
              install: {
                activityId: a.id,
                owner,
                earliest,
                latest,
                node: index.parent.get(a.id) ?? a.id,
                gain: mean(v) - baseMean,
                share: 0,
                takesOver: false,
                replaces: list.filter((x) => gone.has(x.id)).map((x) => x.id),
                ...(others.length > 0 ? { alsoDrops: others } : {}),
                vouched: false,
              },
              plans: candidate,
              v,
              moves: [
                {
                  owner,
                  item: { id: a.id, earliest },
                  ...(at > 0 ? { after: rest[at - 1]?.id } : {}),
                  removes: [
                    ...list.filter((x) => gone.has(x.id)).map((x) => ({ owner, id: x.id })),
                    ...others.map((c) => ({ owner: c.owner, id: c.activityId })),
                  ],
                },
              ],
            });
          }
        }
      }
    // A min whose missing children would each earn nothing alone: all of them together, each at
    // the first place its owner can start it (what that pushes out, the estimate drops).
    if (replacing)
      for (const node of index.model.nodes) {
        if (node.kind !== "task" || node.qaf !== "min") continue;
        const missing = node.children.filter((c) => !scheduled.has(c));
        if (missing.length < 2) continue;
        const candidate = new Map(plans);
        const parts: ProactiveInstall[] = [];
        const moves: Move[] = [];
        for (const c of missing) {
          const a = index.nodes.get(c);
          const owner = a?.kind === "activity" ? a.resources[0] : undefined;
          if (a?.kind !== "activity" || owner === undefined || expectedValue(a.quality) <= 0) break;
          const list = candidate.get(owner) ?? [];
          const deadline = effectiveDeadline(index, c) ?? Number.POSITIVE_INFINITY;
          const latest = deadline - valueRange(a.duration).min;
          const started = list.filter((x) => x.earliest < o.from).length;
          for (let k = started; k <= list.length; k++) {
            const earliest = Math.max(
              freeAfter(list.slice(0, k)),
              effectiveRelease(index, c),
              o.from,
            );
            if (earliest > latest || delays(list.slice(k), earliest + durations(c))) continue;
            candidate.set(owner, [...list.slice(0, k), { id: c, earliest }, ...list.slice(k)]);
            moves.push({
              owner,
              item: { id: c, earliest },
              ...(k > 0 ? { after: list[k - 1]?.id } : {}),
              removes: [],
            });
            parts.push({
              activityId: c,
              owner,
              earliest,
              latest,
              node: node.id,
              gain: 0,
              share: 0,
              takesOver: false,
              group: 0,
              vouched: false,
            });
            break;
          }
        }
        const [first, ...rest] = parts;
        if (!first || parts.length < missing.length) continue;
        const v = values(candidate, 0, screen);
        if (mean(v) - baseMean <= 0) continue;
        options.push({ install: first, plans: candidate, v, rest, moves });
      }
    // The owner judges an install by what it earns against what it displaces in its own plan;
    // what the time it frees lets it start on its own later is beyond its sight, so a change
    // whose gain lies only there would be refused. The best change its owner's plan gains by
    // (judged with that owner starting nothing unscheduled) is proposed.
    // On a tie, a replacement before an addition that pushes the same method out: it says what
    // its owner drops, so the owner frees that time instead of holding on to it.
    options.sort(
      (x, y) =>
        mean(y.v) - mean(x.v) ||
        (y.install.replaces?.length ?? 0) - (x.install.replaces?.length ?? 0),
    );
    let best: Option | undefined;
    for (const option of options.slice(0, OWNER_CHECKS)) {
      // All or nothing, vouched for: no one owner's plan weighs it.
      if (option.rest) {
        best = option;
        break;
      }
      // Nor may a swap rest on what an agent it frees would improvise (it may choose otherwise).
      const owners = [
        option.install.owner,
        ...(option.install.alsoDrops ?? []).map((d) => d.owner),
      ];
      const alone = owners.every(
        (owner) =>
          mean(values(option.plans, 0, screen, owner)) - mean(values(plans, 0, screen, owner)) > 0,
      );
      if (alone) {
        best = option;
        break;
      }
    }
    if (!best) break;
    best.v = [...best.v, ...values(best.plans, screen)];
    const diffs = best.v.map((x, i) => x - (base[i] ?? 0));
    const gain = mean(diffs);
    // Clearly better: by a share of the expected quality, and beyond the sampling noise.
    if (gain < o.minGain * Math.max(1e-9, baseMean) || gain < 2 * standardError(diffs)) break;
    const share = gain / Math.max(1e-9, mean(base));
    const group = best.rest ? { group: ++groups } : {};
    const installs = [best.install, ...(best.rest ?? [])].map((x) => ({
      ...x,
      gain,
      share,
      ...group,
    }));
    units.push({ installs, moves: best.moves });
    for (const install of installs) scheduled.add(install.activityId);
    for (const [k, v] of best.plans) plans.set(k, v);
    base = best.v;
  }
  // The installs the scheduler would vouch for, each judged again in the schedule made of the
  // vouched ones before it alone: an addition it does not vouch for may be refused by its owner
  // (one that takes over a method under way always may be), and a vouched install that was
  // better only with it would then stand against its owner's judgement for nothing. Such an
  // install names the fewest of the take-overs it rests on (`needs`): taken, it is withdrawn if
  // one of them is refused. An all-or-nothing move goes in a transaction of its own, and stands.
  const diffs = (from: readonly number[], to: readonly number[]) =>
    to.map((x, i) => x - (from[i] ?? 0));
  // Clearly better: by a share of the expected quality, and beyond the sampling noise.
  const clearly = (from: readonly number[], to: readonly number[], share: number) => {
    const d = diffs(from, to);
    return mean(d) >= 2 * standardError(d) && mean(d) >= share * Math.max(1e-9, mean(from));
  };
  const applyUnits = (
    plans0: ReadonlyMap<string, readonly Planned[]>,
    picked: readonly number[],
  ): ReadonlyMap<string, readonly Planned[]> =>
    picked.reduce<ReadonlyMap<string, readonly Planned[]>>(
      (acc, k) => (units[k]?.moves ?? []).reduce(applyMove, acc),
      plans0,
    );
  let kept: ReadonlyMap<string, readonly Planned[]> = start;
  const startValues = values(start);
  let keptValues: readonly number[] = startValues;
  // Take-overs and the installs resting on them: outside `kept`, as their owners may refuse them.
  const unsure: number[] = [];
  units.forEach((unit, u) => {
    const [head] = unit.installs;
    if (!head) return;
    const all = unit.installs.length > 1;
    const swap = all || (head.replaces?.length ?? 0) > 0;
    const vouched = !head.takesOver && (swap || head.share >= VOUCH_SHARE);
    let needs: string[] = [];
    if (all) {
      kept = applyUnits(kept, [u]);
      keptValues = values(kept);
    } else if (!vouched) {
      // A take-over refused leaves its owner on the method under way, far from the estimate's
      // plan. An addition refused leaves the owner to its own choices, which the estimate
      // already weighs in its idle gaps: counted too, the swaps it withdrew were worth keeping
      // more often than not (summed means 3.0 lower on tuning seeds, 17.5 on judged ones).
      if (head.takesOver) unsure.push(u);
    } else {
      const share = swap ? o.minGain : VOUCH_SHARE;
      const alone = values(applyUnits(kept, [u]));
      // Not worse without the installs it may rest on: it stands on its own.
      if (mean(diffs(keptValues, alone)) > 0) {
        kept = applyUnits(kept, [u]);
        keptValues = alone;
      } else {
        const over = (rests: readonly number[]) =>
          clearly(values(applyUnits(kept, rests)), values(applyUnits(kept, [...rests, u])), share);
        // The fewest it is still clearly better with; all of them where none is enough.
        let rests = [...unsure];
        if (over(rests))
          for (const r of [...unsure].reverse()) {
            const fewer = rests.filter((x) => x !== r);
            if (over(fewer)) rests = fewer;
          }
        needs = rests.flatMap((r) => (units[r]?.installs ?? []).map((x) => x.activityId));
        unsure.push(u);
      }
    }
    for (const install of unit.installs)
      out.push({ ...install, vouched: all || vouched, ...(needs.length > 0 ? { needs } : {}) });
  });
  return { installs: out, kept, gains: diffs(startValues, keptValues) };
}

/** Best-ranked changes checked against what their owner's plan alone gains, per round. */
const OWNER_CHECKS = 8;

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;

function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(v / xs.length);
}

/** What the estimate needs of a node, read from the model once. */
interface NodeInfo {
  readonly release: Ticks;
  readonly deadline: Ticks;
  /** Last start from which it can end by its deadline (at its shortest duration). */
  readonly latest: Ticks;
  /** Sources of the enables links into the node or any of its ancestors. */
  readonly sources: readonly string[];
  /** Longest duration (a method's). */
  readonly longest: Ticks;
  /** Expected quality (a method's). */
  readonly worth: number;
  /** Chance it earns nothing (a method's quality is zero). */
  readonly fails: number;
  /** Expected quality when it earns something. */
  readonly value: number;
}

const infos = new WeakMap<ModelIndex, Map<string, NodeInfo>>();

function info(index: ModelIndex, id: string): NodeInfo {
  let byId = infos.get(index);
  if (!byId) {
    byId = new Map();
    infos.set(index, byId);
  }
  let found = byId.get(id);
  if (!found) {
    const sources: string[] = [];
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      for (const link of index.linksTo.get(n) ?? [])
        if (link.kind === "enables") sources.push(link.from);
    const node = index.nodes.get(id);
    const deadline = effectiveDeadline(index, id) ?? Number.POSITIVE_INFINITY;
    found = {
      release: effectiveRelease(index, id),
      deadline,
      latest: node?.kind === "activity" ? deadline - valueRange(node.duration).min : deadline,
      sources,
      longest: node?.kind === "activity" ? valueRange(node.duration).max : 0,
      worth: node?.kind === "activity" ? expectedValue(node.quality) : 0,
      fails: node?.kind === "activity" ? 1 - qualityProfile(node.quality).p : 1,
      value: node?.kind === "activity" ? qualityProfile(node.quality).v : 0,
    };
    byId.set(id, found);
  }
  return found;
}

/**
 * Root quality of a static schedule on one set of outcomes: each agent runs its sequence in
 * order; a method starts at the latest of its owner's free tick, its planned start, its release
 * and its enables sources' accrual, and is skipped when it could no longer end in time (its
 * latest start passed) or a source can no longer accrue quality. In an idle gap an agent starts
 * on its own an unscheduled method that ends, at its longest, before its next scheduled one must
 * start (as its opportunistic scheduler would; the likeliest to earn most, a second child of a
 * max that has one planned or run counted at what it adds to theirs): an addition is worth only
 * what it earns beyond that.
 */
export function simulate(
  index: ModelIndex,
  plans: ReadonlyMap<string, readonly Planned[]>,
  outcomes: ReadonlyMap<string, { d: Ticks; q: number }>,
  /** An agent that starts nothing unscheduled (runs its sequence only). */
  idle?: string,
): number {
  const owners = new Set(plans.keys());
  for (const a of index.activities) if (a.resources[0] !== undefined) owners.add(a.resources[0]);
  const queues = [...owners].map((agent) => ({
    agent,
    list: [...(plans.get(agent) ?? [])],
    given: new Map(
      (plans.get(agent) ?? []).flatMap((p) => (p.until === undefined ? [] : [[p.id, p.until]])),
    ),
    free: 0,
  }));
  const runs = new Map<string, { start: Ticks; end: Ticks; q: number }>();
  const pending = new Set(queues.flatMap((q) => q.list.map((p) => p.id)));
  const spare = new Map<string, string[]>();
  for (const a of index.activities) {
    const owner = a.resources[0];
    if (owner === undefined || pending.has(a.id) || expectedValue(a.quality) <= 0) continue;
    spare.set(owner, [...(spare.get(owner) ?? []), a.id]);
  }
  // When a node accrues quality: a tick, "never", or "pending" (it depends on what has not run).
  // Accruals as of the last start (cleared at each start).
  const known = new Map<string, number | "never" | "pending">();
  const accrual = (id: string, seen: Set<string> = new Set()): number | "never" | "pending" => {
    const cached = known.get(id);
    if (cached !== undefined) return cached;
    const found = accrue(id, seen);
    known.set(id, found);
    return found;
  };
  const accrue = (id: string, seen: Set<string>): number | "never" | "pending" => {
    if (seen.has(id)) return "never";
    seen.add(id);
    const node = index.nodes.get(id);
    if (!node) return "never";
    if (node.kind === "activity") {
      const r = runs.get(id);
      if (r) return r.q > 0 && r.end <= info(index, id).deadline ? r.end : "never";
      return pending.has(id) ? "pending" : "never";
    }
    const kids = node.children.map((c) => accrual(c, seen));
    const times = kids.filter((k): k is number => typeof k === "number");
    if (node.qaf === "min") {
      if (kids.includes("never")) return "never";
      if (kids.includes("pending")) return "pending";
      return Math.max(...times, 0);
    }
    if (times.length > 0) return Math.min(...times);
    return kids.includes("pending") ? "pending" : "never";
  };
  // Sources accrued by `at`, or undefined if one has not (or never will).
  const enabledBy = (id: string, at: Ticks): boolean =>
    info(index, id).sources.every((src) => {
      const acc = accrual(src);
      return typeof acc === "number" && acc <= at;
    });
  const opportunity = (
    agent: string,
    free: Ticks,
    before: Ticks,
    bound: Ticks,
  ): { id: string; at: Ticks } | undefined => {
    let best: { id: string; at: Ticks; worth: number } | undefined;
    if (free >= before || agent === idle) return undefined;
    for (const id of spare.get(agent) ?? []) {
      if (runs.has(id)) continue;
      const about = info(index, id);
      const at = Math.max(free, about.release);
      if (at >= before || at > about.latest || at + about.longest > bound) continue;
      const parent = index.parent.get(id);
      const up = parent === undefined ? undefined : index.nodes.get(parent);
      let worth = about.worth;
      if (up?.kind === "task" && up.qaf === "max") {
        // A second try under a max another child of which is planned or run: the agent starts
        // it where it adds to what the others are likely to earn (a backup of one that may
        // fail, or a better alternative), as its opportunistic scheduler would. Known by then,
        // what another earned counts as it is.
        let fails = 1;
        let theirs = 0;
        for (const c of up.children) {
          if (c === id || !(pending.has(c) || runs.has(c))) continue;
          const r = runs.get(c);
          const earned = r !== undefined && r.q > 0 && r.end <= info(index, c).deadline;
          if (r && r.end <= at) {
            if (earned) {
              fails = 0;
              theirs = Math.max(theirs, r.q);
            }
          } else {
            fails *= info(index, c).fails;
            theirs = Math.max(theirs, info(index, c).value);
          }
        }
        const mine = info(index, id);
        const sure = 1 - mine.fails;
        worth = sure * fails * mine.value + sure * (1 - fails) * Math.max(0, mine.value - theirs);
        if (worth <= 1e-9) continue;
      }
      if (!enabledBy(id, at)) continue;
      if (!best || worth > best.worth || (worth === best.worth && at < best.at))
        best = { id, at, worth };
    }
    return best;
  };
  for (;;) {
    let pick: { queue: (typeof queues)[number]; at: Ticks; id?: string } | undefined;
    let blocked: (typeof queues)[number] | undefined;
    for (const queue of queues) {
      const head = queue.list[0];
      // The next scheduled method's latest safe start bounds what may run before it.
      const next = head ? info(index, head.id) : undefined;
      const bound = next ? Math.max(head?.earliest ?? 0, next.deadline - next.longest) : Infinity;
      const opp = opportunity(
        queue.agent,
        queue.free,
        head ? Math.max(head.earliest, next?.release ?? 0) : Infinity,
        bound,
      );
      if (opp && (!pick || opp.at < pick.at)) pick = { queue, at: opp.at, id: opp.id };
      for (;;) {
        const head = queue.list[0];
        if (!head) break;
        const a = index.nodes.get(head.id) as ActivityNode | undefined;
        const about = info(index, head.id);
        let at = Math.max(queue.free, head.earliest, about.release);
        let drop = a?.kind !== "activity";
        let wait = false;
        for (const s of about.sources) {
          const acc = accrual(s);
          if (acc === "never") drop = true;
          else if (acc === "pending") wait = true;
          else at = Math.max(at, acc);
        }
        if (!drop && at > about.latest) drop = true;
        if (drop) {
          queue.list.shift();
          pending.delete(head.id);
          known.clear();
          continue;
        }
        if (wait) blocked ??= queue;
        else if (!pick || at < pick.at) pick = { queue, at };
        break;
      }
    }
    if (!pick) {
      // Only methods waiting on sources that wait in turn: the first gives up.
      if (!blocked) break;
      const head = blocked.list.shift();
      if (head) pending.delete(head.id);
      known.clear();
      continue;
    }
    const id = pick.id ?? pick.queue.list.shift()?.id;
    if (id === undefined) break;
    const given = pick.id === undefined ? pick.queue.given.get(id) : undefined;
    const outcome = outcomes.get(id) ?? { d: 0, q: 0 };
    const end = given ?? pick.at + outcome.d;
    runs.set(id, { start: pick.at, end, q: given === undefined ? outcome.q : 0 });
    pending.delete(id);
    known.clear();
    pick.queue.free = end;
  }
  return rootQuality(index, runs);
}

/**
 * Root quality by CSC §2 of runs that each started enabled and after their release: a method
 * earns its outcome if it ended by its deadline; a syncsum counts the children that started
 * at its first start. (`evaluateQuality` checks all of it, at several times the cost; the
 * estimate runs thousands of times.)
 */
function rootQuality(
  index: ModelIndex,
  runs: ReadonlyMap<string, { start: Ticks; end: Ticks; q: number }>,
): number {
  const visit = (id: string): { q: number; start: number } => {
    const node = index.nodes.get(id);
    if (!node) return { q: 0, start: Number.POSITIVE_INFINITY };
    if (node.kind === "activity") {
      const r = runs.get(id);
      if (!r) return { q: 0, start: Number.POSITIVE_INFINITY };
      return { q: r.q > 0 && r.end <= info(index, id).deadline ? r.q : 0, start: r.start };
    }
    const kids = node.children.map(visit);
    const start = Math.min(...kids.map((k) => k.start));
    const counted = node.qaf === "syncsum" ? kids.filter((k) => k.start === start) : kids;
    let q = 0;
    if (node.qaf === "max") q = Math.max(0, ...counted.map((k) => k.q));
    else if (node.qaf === "min") q = Math.min(...counted.map((k) => k.q));
    else q = counted.reduce((sum, k) => sum + k.q, 0);
    return { q, start };
  };
  return visit(index.model.root).q;
}

/** What `make` gives, remembered in `store` per model index and schedule. */
function remembered<T>(
  store: WeakMap<ModelIndex, WeakMap<Schedule, T>>,
  index: ModelIndex,
  schedule: Schedule,
  make: () => T,
): T {
  let bySchedule = store.get(index);
  if (!bySchedule) {
    bySchedule = new WeakMap();
    store.set(index, bySchedule);
  }
  let found = bySchedule.get(schedule);
  if (found === undefined) {
    found = make();
    bySchedule.set(schedule, found);
  }
  return found;
}

const cache = new WeakMap<ModelIndex, WeakMap<Schedule, Map<string, ProactiveInstall[]>>>();

/**
 * `proactiveInstalls`, remembered per model index, schedule and options: every trial of a
 * scenario asks the same question, and the answer depends on nothing else.
 */
export function proactiveInstallsCached(
  index: ModelIndex,
  initial: Schedule,
  options: ImproveOptions = {},
): ProactiveInstall[] {
  const byOptions = remembered(cache, index, initial, () => new Map<string, ProactiveInstall[]>());
  const key = JSON.stringify(options);
  let found = byOptions.get(key);
  if (!found) {
    found = proactiveInstalls(index, initial, options);
    byOptions.set(key, found);
  }
  return found;
}

const released = new WeakMap<ModelIndex, WeakMap<Schedule, Schedule>>();

/**
 * The schedule the coordinator hands its agents before a run: `initial` with the improvements
 * it would vouch for made in it (`proactiveInstalls` from tick 0: replacements, the missing
 * children of a min together, additions worth at least `VOUCH_SHARE` of the estimate). Proposed
 * once the run is under way, a change of what starts at tick 0 would have to take over a method
 * already started, and one that enables something is never taken over; made before, it costs
 * nothing. What it does not vouch for is still proposed to its owners once the run is under way.
 * The same schedule when nothing is vouched for, or when the changes together are not clearly
 * better on the estimate. Remembered per model index and schedule; pure.
 */
export function releasedSchedule(index: ModelIndex, initial: Schedule): Schedule {
  return remembered(released, index, initial, () => release(index, initial));
}

function release(index: ModelIndex, initial: Schedule): Schedule {
  const { kept, gains } = improvement(index, initial, { from: 0 });
  // Clearly better together, as each was when it was chosen.
  if (kept.size === 0 || !(mean(gains) > 0 && mean(gains) >= 2 * standardError(gains)))
    return initial;
  // Each method planned where its sequence lets it start (one pushed back by a change, later;
  // one pushed past its latest start, as the estimate skips it, out).
  const resources = [...kept].map(([resourceId, list]) => {
    let t = 0;
    const activities: ScheduledActivity[] = [];
    for (const item of list) {
      const about = info(index, item.id);
      const at = Math.max(t, item.earliest, about.release);
      if (at > about.latest) continue;
      activities.push({ activityId: item.id, startTicks: at });
      const n = index.nodes.get(item.id);
      t = at + (n?.kind === "activity" ? Math.ceil(expectedValue(n.duration)) : 0);
    }
    return { resourceId, activities };
  });
  return { version: initial.version + 1, resources };
}
