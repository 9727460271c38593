import {
  ancestors,
  descendantActivities,
  effectiveDeadline,
  effectiveRelease,
  type ModelIndex,
} from "../../model/model-index.js";
import type { ActivityNode, ModelNode, Ticks } from "../../model/types.js";
import type { ExecutedActivity } from "../../quality/qaf.js";
import type { SampledOutcome } from "../../simulation/outcomes.js";

/** What a MIP solver returns. Values of variables it leaves out are 0. */
export interface MipSolution {
  /**
   * - `optimal`: proved optimal (the HiGHS adapter asks for a zero relative gap);
   * - `time-limit`: stopped by the time limit (or another limit); `values` holds the best
   *   solution found, if any;
   * - `infeasible`: no solution exists (never the case for a POS problem: running nothing is one);
   * - `error`: the solver failed; see `message`.
   */
  readonly status: "optimal" | "time-limit" | "infeasible" | "error";
  /** Objective of the best solution found (NaN when there is none). */
  readonly objective: number;
  /** Proven bound on the objective: an upper bound when maximizing. */
  readonly bound: number;
  /** Variable values by LP name; a variable that is absent is 0. */
  readonly values: ReadonlyMap<string, number>;
  /** Solver wall-clock seconds, when the solver reports them. */
  readonly seconds?: number;
  /** What went wrong, for `error`. */
  readonly message?: string;
}

/** Solves a MIP given in CPLEX LP format. The adapter lives outside core (HiGHS in the CLI). */
export type MipSolver = (lp: string, options: { timeLimitSeconds: number }) => Promise<MipSolution>;

/** A Prescient Optimal Solution problem: the MIP, and how to read a schedule out of a solution. */
export interface PosProblem {
  /** The MIP in CPLEX LP format, maximizing the root quality. */
  readonly lp: string;
  /** The activities a solution runs, each with its known outcome, by start then model order. */
  decode(values: ReadonlyMap<string, number>): ExecutedActivity[];
  readonly variables: number;
  readonly constraints: number;
  /**
   * An upper bound on the POS quality that ignores agent capacity and sync starts: each task's
   * QAF over its children's bounds, counting the activities that can earn within their windows
   * after the earliest possible accrual of their enablers.
   */
  readonly upperBound: number;
}

type Terms = [number, string][];

/** Accumulates a CPLEX LP-format model with short generated names. */
class LpWriter {
  private readonly rows: string[] = [];
  private readonly bounds: string[] = [];
  private readonly binaries: string[] = [];
  private readonly counters = new Map<string, number>();
  variables = 0;
  constraints = 0;

  /** A fresh variable named `prefix` + a counter; continuous vars are in [0, upper]. */
  variable(prefix: string, kind: "binary" | "continuous", upper?: number): string {
    const k = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, k + 1);
    const name = `${prefix}${k}`;
    this.variables++;
    if (kind === "binary") this.binaries.push(name);
    else if (upper !== undefined && Number.isFinite(upper)) this.bounds.push(`${name} <= ${upper}`);
    return name;
  }

  /** Adds `sum(terms) <= rhs`, merging repeated variables and dropping zero coefficients. */
  le(terms: Terms, rhs: number): void {
    const merged = new Map<string, number>();
    for (const [c, v] of terms) merged.set(v, (merged.get(v) ?? 0) + c);
    const parts: string[] = [];
    for (const [v, c] of merged) {
      if (c === 0) continue;
      const sign = c < 0 ? "-" : "+";
      const abs = Math.abs(c);
      parts.push(abs === 1 ? `${sign} ${v}` : `${sign} ${abs} ${v}`);
    }
    if (parts.length === 0) {
      if (rhs < 0) throw new Error("POS formulation: an empty row with a negative bound");
      return;
    }
    const lines: string[] = [];
    for (let i = 0; i < parts.length; i += 16) lines.push(parts.slice(i, i + 16).join(" "));
    this.rows.push(` r${this.constraints}: ${lines.join("\n  ")} <= ${rhs}`);
    this.constraints++;
  }

  text(objective: Terms): string {
    const obj = objective.map(([c, v]) => `${c < 0 ? "-" : "+"} ${Math.abs(c)} ${v}`).join(" ");
    const out = ["Maximize", ` obj: ${obj}`, "Subject To", ...this.rows];
    if (this.bounds.length > 0) out.push("Bounds", ...this.bounds.map((b) => ` ${b}`));
    if (this.binaries.length > 0) {
      out.push("Binary");
      for (let i = 0; i < this.binaries.length; i += 16)
        out.push(` ${this.binaries.slice(i, i + 16).join(" ")}`);
    }
    out.push("End", "");
    return out.join("\n");
  }
}

/** One start variable: the activity starts at `tick` when the variable is 1. */
interface Start {
  readonly tick: Ticks;
  readonly name: string;
}

/** What POS knows about one activity in the trial, and its start variables. */
interface Act {
  readonly node: ActivityNode;
  readonly agent: string;
  readonly quality: number;
  readonly duration: Ticks;
  readonly release: Ticks;
  readonly deadline: Ticks;
  /** Starts that earn the sampled quality (`x`): in the window, every enabler accrued. */
  readonly earning: readonly Start[];
  /** Starts that earn nothing (`y`) but set the start of the tasks above (see below). */
  readonly blank: readonly Start[];
  /** Both, by tick. */
  readonly runs: readonly Start[];
}

/**
 * Builds the Prescient Optimal Solution MIP of CSC §4 for one trial: every activity's duration
 * and quality are known (`outcomes`), and the MIP picks start ticks that maximize the root
 * quality as `evaluateQuality` computes it. Time-indexed:
 *
 * - `x` (binary): activity m starts at tick t and earns its sampled quality, for t from its
 *   release and the earliest possible accrual of its enablers to its deadline minus its
 *   duration; an activity runs at most once; one activity at a time per agent (its first
 *   resource), one row per maximal set of overlapping start variables.
 * - Only activities that can help get `x` variables: positive sampled quality, a start that
 *   fits the window after the earliest possible accrual of every enabler, and a path to the root
 *   quality or to an enables source that matters.
 * - No run needs to end after `horizon`, the latest release plus the total duration of the
 *   activities that may run: past the latest release, a tick where nothing runs can be cut out
 *   of any schedule (everything later moves one tick earlier) keeping every release, deadline,
 *   enables order and sync start, so every quality.
 * - enables: an activity may start at t only if every source (of it or of an ancestor) has
 *   accrued by t. An activity accrues at its end; `a` (accrual by tick t) variables carry it up
 *   through tasks: max/sum any child, min every child, syncsum any counted child.
 * - quality `q` of tasks: sum and min directly; max picks one child (`z`, `w`); syncsum picks
 *   a sync tick `v` before which nothing below it starts, and counts (`u`) the children with a
 *   run below them starting at it (that is then the child's start, and the syncsum's).
 * - A run that earns nothing only matters through the start it gives the tasks above it, and
 *   that only helps a syncsum with a task child: a blank run (`y`) below the child at the sync
 *   tick makes the child count. So activities below a task child of a syncsum also get `y`
 *   variables at every tick from 0 to the horizon (a syncsum over tasks costs variables). A blank run starts its ancestors early, so a task whose enablers
 *   have not accrued when a blank run below it starts is disabled (`d`), quality 0, as it is
 *   when that run is its first. Without syncsums over tasks there are no blank runs: removing a
 *   run that earns nothing never lowers any quality nor delays any accrual.
 *
 * Every feasible schedule of the MIP is a schedule whose `evaluateQuality` root quality is at
 * least the MIP objective, and every schedule is matched by a MIP solution with its quality;
 * so the MIP optimum is the prescient optimum.
 */
export function buildPosProblem(
  index: ModelIndex,
  outcomes: ReadonlyMap<string, SampledOutcome>,
): PosProblem {
  const node = (id: string): ModelNode => {
    const n = index.nodes.get(id);
    if (!n) throw new Error(`POS: unknown node "${id}"`);
    return n;
  };
  const isTask = (id: string): boolean => node(id).kind === "task";

  // Activities below a task child of some syncsum: the only ones a blank run may help.
  const belowSyncTask = new Set<string>();
  for (const n of index.model.nodes)
    if (n.kind === "task" && n.qaf === "syncsum")
      for (const c of n.children)
        if (isTask(c)) for (const m of descendantActivities(index, c)) belowSyncTask.add(m);

  const facts = new Map<string, Omit<Act, "earning" | "blank" | "runs">>();
  let latestRelease = 0;
  let totalDuration = 0;
  for (const a of index.activities) {
    const outcome = outcomes.get(a.id);
    if (!outcome) throw new Error(`POS: no sampled outcome for activity "${a.id}"`);
    if (!Number.isInteger(outcome.durationTicks) || outcome.durationTicks <= 0)
      throw new Error(`POS: activity "${a.id}" has duration ${outcome.durationTicks}`);
    const agent = a.resources[0];
    if (agent === undefined) throw new Error(`POS: activity "${a.id}" names no resource`);
    const release = effectiveRelease(index, a.id);
    if (outcome.quality > 0) latestRelease = Math.max(latestRelease, release);
    if (outcome.quality > 0 || belowSyncTask.has(a.id)) totalDuration += outcome.durationTicks;
    facts.set(a.id, {
      node: a,
      agent,
      quality: outcome.quality,
      duration: outcome.durationTicks,
      release,
      deadline: effectiveDeadline(index, a.id) ?? Number.POSITIVE_INFINITY,
    });
  }
  const horizon = latestRelease + totalDuration;

  const enablersCache = new Map<string, string[]>();
  /** Enables sources of a node or of any of its ancestors. */
  const enablers = (id: string): string[] => {
    const cached = enablersCache.get(id);
    if (cached) return cached;
    const out = new Set<string>();
    for (let n: string | undefined = id; n !== undefined; n = index.parent.get(n))
      for (const link of index.linksTo.get(n) ?? [])
        if (link.kind === "enables") out.add(link.from);
    const list = [...out];
    enablersCache.set(id, list);
    return list;
  };

  // Earliest tick at which each node can accrue positive quality, ignoring agent capacity
  // (Infinity: never). A lower bound in every schedule, so it prunes start ticks soundly.
  const accrual = new Map<string, number>();
  const earliestStart = new Map<string, number>();
  const visiting = new Set<string>();
  const earliestAccrual = (id: string): number => {
    const known = accrual.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`POS: enables links form a cycle through "${id}"`);
    visiting.add(id);
    const n = node(id);
    let at: number;
    if (n.kind === "activity") {
      const f = facts.get(id)!;
      let es = f.release;
      for (const s of enablers(id)) es = Math.max(es, earliestAccrual(s));
      earliestStart.set(id, es);
      const deadline = Math.min(f.deadline, horizon);
      at = f.quality > 0 && es + f.duration <= deadline ? es + f.duration : Infinity;
    } else {
      const times = n.children.map(earliestAccrual);
      at = n.qaf === "min" ? Math.max(...times) : Math.min(...times);
    }
    visiting.delete(id);
    accrual.set(id, at);
    return at;
  };
  for (const n of index.model.nodes) earliestAccrual(n.id);
  const possible = (id: string): boolean => (accrual.get(id) ?? Infinity) < Infinity;

  // Which nodes matter: `qu` quality flows to the root; `acc` accrual time enables something.
  const qu = new Set<string>();
  const acc = new Set<string>();
  const used = new Set<string>();
  const use = (id: string): void => {
    if (used.has(id)) return;
    used.add(id);
    for (const s of enablers(id)) markAcc(s);
  };
  const markQu = (id: string): void => {
    if (qu.has(id) || !possible(id)) return;
    qu.add(id);
    const n = node(id);
    if (n.kind === "activity") use(id);
    else for (const c of n.children) markQu(c);
  };
  const markAcc = (id: string): void => {
    if (acc.has(id) || !possible(id)) return;
    acc.add(id);
    const n = node(id);
    if (n.kind === "activity") use(id);
    else for (const c of n.children) markAcc(c);
  };
  markQu(index.model.root);
  const matters = (id: string): boolean => qu.has(id) || acc.has(id);

  // Blank runs: activities below a task child (that can earn) of a syncsum that matters.
  const blanks = new Set<string>();
  for (const id of [...qu, ...acc]) {
    const n = node(id);
    if (n.kind === "task" && n.qaf === "syncsum")
      for (const c of n.children)
        if (isTask(c) && possible(c)) for (const m of descendantActivities(index, c)) blanks.add(m);
  }

  const lp = new LpWriter();
  const acts = new Map<string, Act>();
  for (const a of index.activities) {
    if (!used.has(a.id) && !blanks.has(a.id)) continue;
    const f = facts.get(a.id)!;
    const earning: Start[] = [];
    if (used.has(a.id)) {
      const latest = Math.min(f.deadline, horizon) - f.duration;
      for (let t = earliestStart.get(a.id)!; t <= latest; t++)
        earning.push({ tick: t, name: lp.variable("x", "binary") });
    }
    const blank: Start[] = [];
    if (blanks.has(a.id))
      for (let t = 0; t + f.duration <= horizon; t++)
        blank.push({ tick: t, name: lp.variable("y", "binary") });
    const runs = [...earning, ...blank].sort((p, q) => p.tick - q.tick);
    acts.set(a.id, { ...f, earning, blank, runs });
  }
  const act = (id: string): Act | undefined => acts.get(id);

  /** Activities with start variables below a node (the node itself for an activity). */
  const belowCache = new Map<string, Act[]>();
  const actsBelow = (id: string): Act[] => {
    const cached = belowCache.get(id);
    if (cached) return cached;
    const n = node(id);
    const out: Act[] =
      n.kind === "activity" ? (acts.has(id) ? [acts.get(id)!] : []) : n.children.flatMap(actsBelow);
    belowCache.set(id, out);
    return out;
  };

  const terms = (starts: readonly Start[], coefficient: number): Terms =>
    starts.map((s) => [coefficient, s.name] as [number, string]);
  for (const a of acts.values()) lp.le(terms(a.runs, 1), 1);

  // Agent capacity: for each agent, one row per start tick whose set of running start
  // variables is not contained in the next start tick's set (those sets are the maximal ones).
  const byAgent = new Map<string, Act[]>();
  for (const a of acts.values()) {
    const list = byAgent.get(a.agent);
    if (list) list.push(a);
    else byAgent.set(a.agent, [a]);
  }
  for (const list of byAgent.values()) {
    if (list.length < 2) continue;
    const startTicks = [...new Set(list.flatMap((a) => a.runs.map((s) => s.tick)))].sort(
      (p, q) => p - q,
    );
    startTicks.forEach((t, i) => {
      const next = startTicks[i + 1];
      const running: Terms = [];
      let endsBeforeNext = next === undefined;
      const activities = new Set<Act>();
      for (const a of list) {
        for (const s of a.runs) {
          if (s.tick > t || s.tick + a.duration <= t) continue;
          running.push([1, s.name]);
          activities.add(a);
          if (next !== undefined && s.tick + a.duration <= next) endsBeforeNext = true;
        }
      }
      if (endsBeforeNext && activities.size > 1) lp.le(running, 1);
    });
  }

  // Blank runs and task enablers: for each activity with blank runs, the tasks above it that
  // matter and have enablers.
  const blankGuards = new Map<Act, string[]>();
  for (const a of acts.values()) {
    if (a.blank.length === 0) continue;
    const guarded = ancestors(index, a.node.id).filter((t) => matters(t) && enablers(t).length > 0);
    if (guarded.length > 0) blankGuards.set(a, guarded);
  }

  // Ticks at which each task's accrual is asked: the start ticks of the activities it enables,
  // the blank runs below the tasks it enables, and its parent's ticks when the parent's accrual
  // depends on it.
  const askedTicks = new Map<string, Set<Ticks>>();
  const ask = (id: string, ticks: Iterable<Ticks>): void => {
    if (!isTask(id)) return;
    const set = askedTicks.get(id) ?? new Set<Ticks>();
    for (const t of ticks) set.add(t);
    askedTicks.set(id, set);
  };
  for (const a of acts.values())
    for (const s of enablers(a.node.id))
      ask(
        s,
        a.earning.map((x) => x.tick),
      );
  for (const [a, guarded] of blankGuards)
    for (const t of guarded)
      for (const s of enablers(t))
        ask(
          s,
          a.blank.map((y) => y.tick),
        );
  // Pre-order over the tree: a parent's asked ticks are final before its children get them.
  const preorder: string[] = [];
  const walk = (id: string): void => {
    preorder.push(id);
    const n = node(id);
    if (n.kind === "task") for (const c of n.children) walk(c);
  };
  walk(index.model.root);
  const accrualVars = new Map<string, Map<Ticks, string>>();
  for (const id of preorder) {
    const n = node(id);
    if (n.kind !== "task" || !acc.has(id)) continue;
    const ticks = askedTicks.get(id) ?? new Set<Ticks>();
    for (const c of n.children) if (acc.has(c)) ask(c, ticks);
    const earliest = accrual.get(id)!;
    const vars = new Map<Ticks, string>();
    for (const t of [...ticks].sort((p, q) => p - q))
      if (t >= earliest) vars.set(t, lp.variable("a", "continuous", 1));
    accrualVars.set(id, vars);
  }

  // Accrual of a node by tick t as a linear expression (empty: it cannot have accrued).
  const accrued = (id: string, t: Ticks): Terms => {
    const a = act(id);
    if (a) {
      const out: Terms = [];
      for (const s of a.earning) if (s.tick + a.duration <= t) out.push([1, s.name]);
      return out;
    }
    const name = accrualVars.get(id)?.get(t);
    return name === undefined ? [] : [[1, name]];
  };

  // Upper bounds of node qualities ignoring capacity.
  const upper = new Map<string, number>();
  const upperOf = (id: string): number => {
    const known = upper.get(id);
    if (known !== undefined) return known;
    const n = node(id);
    let ub = 0;
    if (!possible(id)) ub = 0;
    else if (n.kind === "activity") ub = facts.get(id)!.quality;
    else {
      const ubs = n.children.map(upperOf);
      ub =
        n.qaf === "min"
          ? Math.min(...ubs)
          : n.qaf === "max"
            ? Math.max(...ubs)
            : ubs.reduce(sum, 0);
    }
    upper.set(id, ub);
    return ub;
  };

  // Quality of a node as a linear expression (tasks in `qu` get a variable).
  const qualityVars = new Map<string, string>();
  for (const id of preorder)
    if (isTask(id) && qu.has(id)) qualityVars.set(id, lp.variable("q", "continuous", upperOf(id)));
  const quality = (id: string, coefficient = 1): Terms => {
    const a = act(id);
    if (a) return terms(a.earning, coefficient * a.quality);
    const name = qualityVars.get(id);
    return name === undefined ? [] : [[coefficient, name]];
  };

  // Enables: an activity started by t needs every source accrued by t (cumulative form).
  for (const a of acts.values()) {
    for (const s of enablers(a.node.id)) {
      const before: Terms = [];
      for (const x of a.earning) {
        before.push([1, x.name]);
        lp.le([...before, ...negate(accrued(s, x.tick))], 0);
      }
    }
  }

  // A blank run at t below a task whose enablers have not all accrued by t disables it.
  const disabled = new Map<string, string>();
  for (const [a, guarded] of blankGuards) {
    for (const t of guarded) {
      let d = disabled.get(t);
      if (d === undefined) {
        d = lp.variable("d", "continuous", 1);
        disabled.set(t, d);
      }
      for (const s of enablers(t))
        for (const y of a.blank) lp.le([[1, y.name], [-1, d], ...negate(accrued(s, y.tick))], 0);
    }
  }
  for (const [t, d] of disabled) {
    const qt = qualityVars.get(t);
    if (qt !== undefined)
      lp.le(
        [
          [1, qt],
          [upperOf(t), d],
        ],
        upperOf(t),
      );
    for (const a of accrualVars.get(t)?.values() ?? [])
      lp.le(
        [
          [1, a],
          [1, d],
        ],
        1,
      );
  }

  // Tasks.
  for (const id of preorder) {
    const n = node(id);
    if (n.kind !== "task" || !matters(id)) continue;
    const children = n.children.filter(possible);
    const qn = qualityVars.get(id);
    const accVars = accrualVars.get(id) ?? new Map<Ticks, string>();

    if (n.qaf === "syncsum") {
      syncsum(id, children, qn, accVars);
      continue;
    }
    if (qn !== undefined) {
      if (n.qaf === "sum") lp.le([[1, qn], ...children.flatMap((c) => quality(c, -1))], 0);
      else if (n.qaf === "min") for (const c of children) lp.le([[1, qn], ...quality(c, -1)], 0);
      else if (children.length === 1) lp.le([[1, qn], ...quality(children[0]!, -1)], 0);
      else {
        // max: the quality of at most one chosen child.
        const contributions: Terms = [];
        const choices: Terms = [];
        for (const c of children) {
          const a = act(c);
          if (a) {
            const z = lp.variable("z", "continuous", 1);
            lp.le([[1, z], ...terms(a.earning, -1)], 0);
            choices.push([1, z]);
            contributions.push([a.quality, z]);
          } else {
            const z = lp.variable("z", "binary");
            const w = lp.variable("w", "continuous", upperOf(c));
            lp.le([[1, w], ...quality(c, -1)], 0);
            lp.le(
              [
                [1, w],
                [-upperOf(c), z],
              ],
              0,
            );
            choices.push([1, z]);
            contributions.push([1, w]);
          }
        }
        lp.le(choices, 1);
        lp.le([[1, qn], ...negate(contributions)], 0);
      }
    }
    for (const [t, a] of accVars) {
      if (n.qaf === "min") for (const c of children) lp.le([[1, a], ...negate(accrued(c, t))], 0);
      else lp.le([[1, a], ...children.flatMap((c) => negate(accrued(c, t)))], 0);
    }
  }

  function syncsum(
    id: string,
    children: readonly string[],
    qn: string | undefined,
    accVars: ReadonlyMap<Ticks, string>,
  ): void {
    // The sync tick v: nothing below starts before it.
    const below = actsBelow(id);
    const ticks = [...new Set(below.flatMap((a) => a.runs.map((s) => s.tick)))].sort(
      (p, q) => p - q,
    );
    const v = new Map<Ticks, string>();
    for (const t of ticks) v.set(t, lp.variable("v", "binary"));
    lp.le(
      [...v.values()].map((name) => [1, name] as [number, string]),
      1,
    );
    for (const a of below) {
      const before: Terms = [];
      a.runs.forEach((r, i) => {
        before.push([1, r.name]);
        if (a.runs[i + 1]?.tick === r.tick) return;
        const sync: Terms = [];
        for (const [t, name] of v) if (t <= r.tick) sync.push([-1, name]);
        lp.le([...before, ...sync], 0);
      });
    }
    // A child counts when a run below it starts at the sync tick: an earning run for an
    // activity child, any run for a task child.
    const counted = new Map<string, Terms>();
    for (const c of children) {
      const startsAt = new Map<Ticks, Terms>();
      const runs = isTask(c) ? actsBelow(c).flatMap((a) => a.runs) : (act(c)?.earning ?? []);
      for (const r of runs) {
        const list = startsAt.get(r.tick) ?? [];
        list.push([-1, r.name]);
        startsAt.set(r.tick, list);
      }
      const u: Terms = [];
      for (const [t, starting] of startsAt) {
        const name = lp.variable("u", "continuous", 1);
        lp.le([[1, name], ...starting], 0);
        lp.le(
          [
            [1, name],
            [-1, v.get(t)!],
          ],
          0,
        );
        u.push([1, name]);
      }
      counted.set(c, u);
    }
    if (qn !== undefined) {
      const contributions: Terms = [];
      for (const c of children) {
        const u = counted.get(c)!;
        const a = act(c);
        if (a) for (const [, name] of u) contributions.push([a.quality, name]);
        else if (qualityVars.has(c)) {
          const w = lp.variable("w", "continuous", upperOf(c));
          lp.le([[1, w], ...quality(c, -1)], 0);
          lp.le([[1, w], ...u.map(([, name]) => [-upperOf(c), name] as [number, string])], 0);
          contributions.push([1, w]);
        }
      }
      lp.le([[1, qn], ...negate(contributions)], 0);
    }
    for (const [t, a] of accVars) {
      const g: Terms = [];
      for (const c of children) {
        const by = accrued(c, t);
        if (by.length === 0) continue;
        const name = lp.variable("g", "continuous", 1);
        lp.le([[1, name], ...negate(counted.get(c)!)], 0);
        lp.le([[1, name], ...negate(by)], 0);
        g.push([1, name]);
      }
      lp.le([[1, a], ...negate(g)], 0);
    }
  }

  const root = index.model.root;
  let objective = quality(root);
  if (objective.length === 0) {
    // Nothing can earn quality: a one-variable model whose optimum is 0.
    objective = [[1, lp.variable("q", "continuous", 0)]];
  }
  const text = lp.text(objective);
  const activities = [...acts.values()];
  return {
    lp: text,
    variables: lp.variables,
    constraints: lp.constraints,
    upperBound: upperOf(root),
    decode(values) {
      const out: ExecutedActivity[] = [];
      for (const a of activities) {
        const run = a.runs.find((s) => (values.get(s.name) ?? 0) > 0.5);
        if (run)
          out.push({
            activityId: a.node.id,
            startTicks: run.tick,
            endTicks: run.tick + a.duration,
            quality: a.quality,
          });
      }
      return out.sort((p, q) => p.startTicks - q.startTicks);
    },
  };
}

const sum = (a: number, b: number): number => a + b;
const negate = (terms: Terms): Terms => terms.map(([c, v]) => [-c, v] as [number, string]);
