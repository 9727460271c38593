/**
 * One task model for both problem families (DESIGN.md "One task model"): the CAMPS job shop and
 * CSC's C-TAEMS task networks.
 *
 * Time is counted in integer ticks. Intervals are half-open: an activity that starts at `s` and
 * lasts `d` occupies [s, s + d) and its end is `s + d`. A release is the earliest start; a
 * deadline is the latest end.
 */
export type Ticks = number;

/** One outcome of a discrete distribution. */
export interface Outcome {
  readonly value: number;
  readonly probability: number;
}

/** A discrete distribution whose probabilities sum to 1; a fixed value is a one-point distribution. */
export type Distribution = readonly Outcome[];

/** What one scheduler agent runs: a machine, a rover. It does one activity at a time. */
export interface Resource {
  readonly id: string;
  readonly name?: string;
  readonly kind?: "machine" | "rover" | "other";
}

/** A soft due date: finishing after `dueTicks` costs `weight` per tick late. */
export interface DueDate {
  readonly dueTicks: Ticks;
  readonly weight: number;
}

/** Quality accumulation functions of CSC §2. */
export type Qaf = "min" | "max" | "sum" | "syncsum";

interface NodeBase {
  readonly id: string;
  /** Earliest start (inclusive). On a task it applies to every descendant activity. */
  readonly releaseTicks?: Ticks;
  /** Latest end (inclusive of the end instant). On a task it applies to every descendant. */
  readonly deadlineTicks?: Ticks;
  /** Soft due date with tardiness weight (CAMPS job due dates). */
  readonly due?: DueDate;
}

/** A leaf of the reward tree (CSC: method; CAMPS: operation). */
export interface ActivityNode extends NodeBase {
  readonly kind: "activity";
  /** Resources able to run it; the first is the preferred one, the rest are alternatives. */
  readonly resources: readonly string[];
  readonly duration: Distribution;
  readonly quality: Distribution;
}

/** An inner node of the reward tree, whose quality is `qaf` over its children's. */
export interface TaskNode extends NodeBase {
  readonly kind: "task";
  readonly qaf: Qaf;
  readonly children: readonly string[];
}

export type ModelNode = ActivityNode | TaskNode;

/**
 * A link between two nodes.
 * - `enables` (CSC NLE): the target may start only once the source has accrued quality; a target
 *   activity (or any descendant of a target task) that starts earlier fails with zero quality.
 * - `precedence` (CAMPS temporal constraint): the target may start only after the source ends;
 *   violating it makes a schedule infeasible but carries no quality rule.
 */
export interface Link {
  readonly kind: "enables" | "precedence";
  readonly from: string;
  readonly to: string;
}

export interface TaskModel {
  readonly name: string;
  readonly resources: readonly Resource[];
  readonly nodes: readonly ModelNode[];
  /** The id of the single root task; team reward is its quality. */
  readonly root: string;
  readonly links: readonly Link[];
}
