import type {
  ActivityNode,
  Link,
  ModelNode,
  Qaf,
  Resource,
  TaskModel,
  TaskNode,
} from "../../model/types.js";
import { createRng, type Rng } from "../../random.js";
import { initialSchedule } from "./initial-schedule.js";
import { shuffle, threePointDuration, twoPointQuality } from "./shared.js";
import type { CtaemsScenario } from "./types.js";

/** A subclass of CSC §5's random scenarios, for NLE chains and for failure rates alike. */
export type Level = "empty" | "low" | "medium" | "high";

/** The four subclasses, in increasing order. */
export const LEVELS: readonly Level[] = ["empty", "low", "medium", "high"];

/** Options of one random scenario. */
export interface RandomScenarioOptions {
  /** NLE-chain class: how many enables links join tasks of consecutive windows. */
  readonly nle: Level;
  /** Failure class: how likely a method is to yield zero quality. */
  readonly failure: Level;
  /** Window overlap level 0..5: consecutive windows overlap by `6 * overlap` ticks. */
  readonly overlap: number;
  readonly seed: number;
}

/**
 * The shape of the random scenarios. The numbers were chosen so that windows are
 * oversubscribed and the choice of methods matters:
 *
 * - 4 agents (CSC §5: "four agents"), 3 windows of 60 ticks, 3 tasks per window, 2 or 3 methods
 *   per task on distinct agents: 7.5 methods per window on average, 1.875 per agent.
 * - Method durations {base - 2, base, base + 3} with base uniform in [26, 56]: the expected
 *   duration is base + 0.25, 41.25 on average, so the expected work per agent per window is
 *   1.875 * 41.25 = 77 ticks, 1.29x the window length (about 1.0x counting only what the
 *   QAFs need: one method of a max task, all of the others). The longest method (59) still fits
 *   in a window. Overlap only tightens this: three windows cover 180 - 2 * 6 * overlap ticks.
 */
export const RANDOM_SHAPE = {
  agents: 4,
  windows: 3,
  windowLength: 60,
  tasksPerWindow: 3,
  minMethods: 2,
  maxMethods: 3,
  baseDuration: { min: 26, max: 56 },
  successValue: { min: 5, max: 20 },
  /** Ticks of overlap per overlap level. */
  overlapStep: 6,
  overlapLevels: 6,
} as const;

/** QAF of a task, drawn with these weights. */
const QAF_WEIGHTS: readonly (readonly [Qaf, number])[] = [
  ["max", 3],
  ["sum", 2],
  ["min", 1],
  ["syncsum", 1],
];

/** Probability of the zero-quality outcome, in percent, per failure class (before jitter). */
export const FAILURE_PERCENT: Readonly<Record<Level, number>> = {
  empty: 0,
  low: 10,
  medium: 20,
  high: 35,
};

/** Per-method jitter of the failure probability, in percent (not applied to "empty"). */
export const FAILURE_JITTER_PERCENT = 5;

/** Largest failure probability, in percent. */
const MAX_FAILURE_PERCENT = 90;

/**
 * Number of enables links per NLE class. A link joins a task of window k to one of window k + 1;
 * in "high", the first two links form a length-3 chain w0 → w1 → w2.
 */
export const NLE_LINKS: Readonly<Record<Level, number>> = {
  empty: 0,
  low: 2,
  medium: 4,
  high: 7,
};

/** Start of window `k` at overlap level `overlap`. */
export const randomWindowStart = (k: number, overlap: number): number =>
  k * (RANDOM_SHAPE.windowLength - RANDOM_SHAPE.overlapStep * overlap);

export const randomScenarioName = (nle: Level, failure: Level, overlap: number): string =>
  `random-nle-${nle}-fail-${failure}-ov${overlap}`;

const agentId = (i: number): string => `agent-${i}`;
const windowId = (k: number): string => `w${k}`;
const taskId = (k: number, t: number): string => `w${k}/t${t}`;

function drawQaf(rng: Rng): Qaf {
  const total = QAF_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let u = rng.int(1, total);
  for (const [qaf, w] of QAF_WEIGHTS) {
    u -= w;
    if (u <= 0) return qaf;
  }
  return "max";
}

/** The tree without failure outcomes: each method's owner, durations and success value. */
interface DrawnMethod {
  readonly id: string;
  readonly owner: string;
  readonly base: number;
  readonly value: number;
}
interface DrawnTask {
  readonly id: string;
  readonly qaf: Qaf;
  readonly methods: readonly DrawnMethod[];
}

function drawStructure(rng: Rng): DrawnTask[][] {
  const { agents, windows, tasksPerWindow, minMethods, maxMethods, baseDuration, successValue } =
    RANDOM_SHAPE;
  const agentIds = Array.from({ length: agents }, (_, i) => agentId(i));
  const values = Array.from(
    { length: successValue.max - successValue.min + 1 },
    (_, i) => successValue.min + i,
  );
  return Array.from({ length: windows }, (_, k) =>
    Array.from({ length: tasksPerWindow }, (_, t): DrawnTask => {
      const id = taskId(k, t);
      const qaf = drawQaf(rng);
      const n = rng.int(minMethods, maxMethods);
      const owners = shuffle(rng, agentIds).slice(0, n);
      // Siblings under a max get distinct success values, so there is a best one.
      const distinct = qaf === "max" ? shuffle(rng, values).slice(0, n) : undefined;
      const methods = owners.map(
        (owner, m): DrawnMethod => ({
          id: `${id}/m${m}`,
          owner,
          base: rng.int(baseDuration.min, baseDuration.max),
          value: distinct?.[m] ?? rng.int(successValue.min, successValue.max),
        }),
      );
      return { id, qaf, methods };
    }),
  );
}

/** Failure percent of one method: the class's rate with ±5 jitter, within [0, 90]. */
function failurePercent(rng: Rng, failure: Level): number {
  const jitter = rng.int(-FAILURE_JITTER_PERCENT, FAILURE_JITTER_PERCENT);
  if (failure === "empty") return 0;
  return Math.min(MAX_FAILURE_PERCENT, Math.max(0, FAILURE_PERCENT[failure] + jitter));
}

/**
 * Enables links between tasks of consecutive windows, without duplicates; in "high" the first
 * two form a w0 → w1 → w2 chain. Links only point forward in time, so there is no cycle.
 */
function drawLinks(rng: Rng, nle: Level): Link[] {
  const { windows, tasksPerWindow } = RANDOM_SHAPE;
  const count = NLE_LINKS[nle];
  const links: Link[] = [];
  const key = (l: Link): string => `${l.from}->${l.to}`;
  const seen = new Set<string>();
  const add = (from: string, to: string): void => {
    const link: Link = { kind: "enables", from, to };
    if (seen.has(key(link))) return;
    seen.add(key(link));
    links.push(link);
  };
  const task = (k: number): string => taskId(k, rng.int(0, tasksPerWindow - 1));
  if (nle === "high" && windows >= 3) {
    const middle = task(1);
    add(task(0), middle);
    add(middle, task(2));
  }
  // All remaining candidate pairs, shuffled, taken in order: no duplicates, no retry loop.
  const candidates: [string, string][] = [];
  for (let k = 0; k + 1 < windows; k++)
    for (let a = 0; a < tasksPerWindow; a++)
      for (let b = 0; b < tasksPerWindow; b++) candidates.push([taskId(k, a), taskId(k + 1, b)]);
  for (const [from, to] of shuffle(rng, candidates)) {
    if (links.length >= count) break;
    add(from, to);
  }
  return links;
}

/**
 * One random scenario of CSC §5's second experiment: a sum root over three sum windows whose
 * overlap grows with `overlap`, three tasks per window (max, sum, min or syncsum), methods on
 * four agents, failure rates set by `failure`, and enables chains between windows set by `nle`.
 * The initial schedule is `initialSchedule(model)`.
 *
 * The structure (QAFs, owners, durations, success values), the failure jitter and the links come
 * from three separate forks of `createRng(seed)`, so one seed gives the same tree in every class.
 */
export function generateRandomScenario(options: RandomScenarioOptions): CtaemsScenario {
  const { nle, failure, overlap, seed } = options;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= RANDOM_SHAPE.overlapLevels)
    throw new RangeError(
      `generateRandomScenario: overlap must be an integer in [0, ${RANDOM_SHAPE.overlapLevels - 1}], got ${overlap}`,
    );
  if (!LEVELS.includes(nle)) throw new RangeError(`generateRandomScenario: bad nle "${nle}"`);
  if (!LEVELS.includes(failure))
    throw new RangeError(`generateRandomScenario: bad failure "${failure}"`);

  const rng = createRng(seed);
  const structureRng = rng.fork();
  const failureRng = rng.fork();
  const linkRng = rng.fork();

  const structure = drawStructure(structureRng);
  const nodes: ModelNode[] = [];
  const windowIds: string[] = [];
  structure.forEach((tasks, k) => {
    const start = randomWindowStart(k, overlap);
    const window: TaskNode = {
      kind: "task",
      id: windowId(k),
      qaf: "sum",
      children: tasks.map((t) => t.id),
      releaseTicks: start,
      deadlineTicks: start + RANDOM_SHAPE.windowLength,
    };
    windowIds.push(window.id);
    nodes.push(window);
    for (const task of tasks) {
      nodes.push({
        kind: "task",
        id: task.id,
        qaf: task.qaf,
        children: task.methods.map((m) => m.id),
      });
      for (const m of task.methods) {
        const fail = failurePercent(failureRng, failure);
        const method: ActivityNode = {
          kind: "activity",
          id: m.id,
          resources: [m.owner],
          duration: threePointDuration(Math.max(1, m.base - 2), m.base, m.base + 3),
          quality: twoPointQuality(m.value, 100 - fail),
        };
        nodes.push(method);
      }
    }
  });

  const name = randomScenarioName(nle, failure, overlap);
  const resources: Resource[] = Array.from({ length: RANDOM_SHAPE.agents }, (_, i) => ({
    id: agentId(i),
    kind: "other",
  }));
  const model: TaskModel = {
    name,
    resources,
    root: "root",
    nodes: [{ kind: "task", id: "root", qaf: "sum", children: windowIds }, ...nodes],
    links: drawLinks(linkRng, nle),
  };
  return {
    name,
    suite: "random",
    model,
    initial: initialSchedule(model),
    params: { nle, failure, overlap, seed },
  };
}

/**
 * CSC §5's random set: every NLE class crossed with every failure class, each at increasing
 * window overlap (levels 0..overlaps-1; 4 x 4 x 6 = 96 scenarios by default, the paper ran 86).
 * Scenario i's seed is the i-th draw of `createRng(seed)`, in nle, failure, overlap order.
 */
export function randomSuite(seed: number, options: { overlaps?: number } = {}): CtaemsScenario[] {
  const overlaps = options.overlaps ?? RANDOM_SHAPE.overlapLevels;
  if (!Number.isInteger(overlaps) || overlaps < 1 || overlaps > RANDOM_SHAPE.overlapLevels)
    throw new RangeError(
      `randomSuite: overlaps must be an integer in [1, ${RANDOM_SHAPE.overlapLevels}], got ${overlaps}`,
    );
  const rng = createRng(seed);
  const out: CtaemsScenario[] = [];
  for (const nle of LEVELS)
    for (const failure of LEVELS)
      for (let overlap = 0; overlap < overlaps; overlap++)
        out.push(generateRandomScenario({ nle, failure, overlap, seed: rng.int(0, 0x7fffffff) }));
  return out;
}
