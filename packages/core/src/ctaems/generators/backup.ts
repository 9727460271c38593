import type { ActivityNode, ModelNode, Resource, TaskModel, TaskNode } from "../../model/types.js";
import { createRng, type Rng } from "../../random.js";
import type { ScheduledActivity } from "../../schedule/types.js";
import {
  expectedTicks,
  INITIAL_PRIORITY,
  INITIAL_VERSION,
  pad,
  threePointDuration,
  twoPointQuality,
} from "./shared.js";
import type { CtaemsScenario } from "./types.js";

/** Options of the backup problem (CSC §5). */
export interface BackupOptions {
  /** W, the number of windows per problem (CSC §5 runs 1..10). */
  readonly windows: number;
  readonly seed: number;
  /** Number of problems under the root, one primary agent each (CSC §5: 20). */
  readonly problems?: number;
  /** Size of the pool backup owners are drawn from (CSC §5: 10). */
  readonly backupAgents?: number;
}

/** The fixed numbers of CSC §5's backup problem. */
export const BACKUP_DEFAULTS = {
  problems: 20,
  backupAgents: 10,
  /** Backup methods per window. */
  backups: 3,
  /** Window length (release to deadline). */
  windowLength: 40,
  /** Overlap of adjacent windows; window w is [32 w, 32 w + 40]. */
  windowOverlap: 8,
} as const;

/** Start of window `w`: consecutive windows are `40 - 8 = 32` ticks apart. */
export const backupWindowStart = (w: number): number =>
  w * (BACKUP_DEFAULTS.windowLength - BACKUP_DEFAULTS.windowOverlap);

/** Id of problem `k` ("problem-00"). */
export const backupProblemId = (k: number, problems: number = BACKUP_DEFAULTS.problems): string =>
  `problem-${pad(k, Math.max(2, String(problems - 1).length))}`;

/** Id of the primary agent of problem `k` ("primary-00"). */
export const primaryAgentId = (k: number, problems: number = BACKUP_DEFAULTS.problems): string =>
  `primary-${pad(k, Math.max(2, String(problems - 1).length))}`;

/** Id of backup agent `i` of the pool ("backup-0"). */
export const backupAgentId = (i: number): string => `backup-${i}`;

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(
      `generateBackupProblem: ${name} must be an integer >= ${min}, got ${value}`,
    );
}

/** The four methods of one window's max node, from the window's own random stream. */
function windowMethods(
  rng: Rng,
  windowId: string,
  primaryAgent: string,
  start: number,
  end: number,
  backupAgents: number,
): ActivityNode[] {
  // Primary: success probability uniform on the 2-decimal grid of [0.5, 1.0], duration
  // {7, 8, 9} + ds with ds uniform in [-4, 4]; the window's release and deadline.
  const primaryPercent = rng.int(50, 100);
  const ds = rng.int(-4, 4);
  const methods: ActivityNode[] = [
    {
      kind: "activity",
      id: `${windowId}/primary`,
      resources: [primaryAgent],
      duration: threePointDuration(7 + ds, 8 + ds, 9 + ds),
      quality: twoPointQuality(1, primaryPercent),
      releaseTicks: start,
      deadlineTicks: end,
    },
  ];
  // Backups: owner drawn independently from the pool, success in [0.8, 0.9], duration
  // {23, 24, 25}, released 1..7 ticks after the window opens, due at the window's end.
  for (let b = 1; b <= BACKUP_DEFAULTS.backups; b++) {
    const owner = backupAgentId(rng.int(0, backupAgents - 1));
    const percent = rng.int(80, 90);
    const shift = rng.int(1, 7);
    methods.push({
      kind: "activity",
      id: `${windowId}/backup-${b}`,
      resources: [owner],
      duration: threePointDuration(23, 24, 25),
      quality: twoPointQuality(1, percent),
      releaseTicks: start + shift,
      deadlineTicks: end,
    });
  }
  return methods;
}

/**
 * The backup problem of CSC §5: a sum root over 20 min "problems", each with W sum windows
 * ([0, 40], [32, 72], [64, 104], ...), each window with one max node over a primary method (owned
 * by the problem's primary agent) and three backups (owners drawn from a pool of 10 backup
 * agents). The initial schedule holds the primaries only, each at its window's release.
 *
 * Deterministic for (windows, seed): problem k draws from the k-th fork of `createRng(seed)` and
 * its window w from the w-th fork of that, so problem k's first windows are the same for every W
 * (and for every number of problems).
 */
export function generateBackupProblem(options: BackupOptions): CtaemsScenario {
  const { windows, seed } = options;
  const problems = options.problems ?? BACKUP_DEFAULTS.problems;
  const backupAgents = options.backupAgents ?? BACKUP_DEFAULTS.backupAgents;
  checkCount("windows", windows, 1);
  checkCount("problems", problems, 1);
  checkCount("backupAgents", backupAgents, 1);

  const rng = createRng(seed);
  const problemIds: string[] = [];
  const nodes: ModelNode[] = [];
  const initial: { resourceId: string; activities: ScheduledActivity[] }[] = [];

  for (let k = 0; k < problems; k++) {
    const problemRng = rng.fork();
    const problemId = backupProblemId(k, problems);
    const primaryAgent = primaryAgentId(k, problems);
    problemIds.push(problemId);
    const windowIds: string[] = [];
    const windowNodes: ModelNode[] = [];
    const primaries: ScheduledActivity[] = [];
    for (let w = 0; w < windows; w++) {
      const windowRng = problemRng.fork();
      const start = backupWindowStart(w);
      const end = start + BACKUP_DEFAULTS.windowLength;
      const windowId = `${problemId}/w${w}`;
      const anyId = `${windowId}/any`;
      const methods = windowMethods(windowRng, windowId, primaryAgent, start, end, backupAgents);
      const window: TaskNode = {
        kind: "task",
        id: windowId,
        qaf: "sum",
        children: [anyId],
        releaseTicks: start,
        deadlineTicks: end,
      };
      const any: TaskNode = {
        kind: "task",
        id: anyId,
        qaf: "max",
        children: methods.map((m) => m.id),
      };
      windowIds.push(windowId);
      windowNodes.push(window, any, ...methods);
      const primary = methods[0]!;
      primaries.push({
        activityId: primary.id,
        startTicks: start,
        durationTicks: expectedTicks(primary.duration),
        priority: INITIAL_PRIORITY,
      });
    }
    nodes.push({ kind: "task", id: problemId, qaf: "min", children: windowIds }, ...windowNodes);
    initial.push({ resourceId: primaryAgent, activities: primaries });
  }

  const resources: Resource[] = [
    ...Array.from({ length: problems }, (_, k) => ({
      id: primaryAgentId(k, problems),
      kind: "other" as const,
    })),
    ...Array.from({ length: backupAgents }, (_, i) => ({
      id: backupAgentId(i),
      kind: "other" as const,
    })),
  ];
  const name = `backup-w${windows}`;
  const model: TaskModel = {
    name,
    resources,
    root: "root",
    nodes: [{ kind: "task", id: "root", qaf: "sum", children: problemIds }, ...nodes],
    links: [],
  };
  const params: Record<string, number | string> = { windows, seed };
  if (problems !== BACKUP_DEFAULTS.problems) params.problems = problems;
  if (backupAgents !== BACKUP_DEFAULTS.backupAgents) params.backupAgents = backupAgents;
  return {
    name,
    suite: "backup",
    model,
    initial: { version: INITIAL_VERSION, resources: initial },
    params,
  };
}

/** CSC §5's backup runs: W = 1..10 from one seed. */
export function backupSuite(seed: number): CtaemsScenario[] {
  return Array.from({ length: 10 }, (_, i) => generateBackupProblem({ windows: i + 1, seed }));
}
