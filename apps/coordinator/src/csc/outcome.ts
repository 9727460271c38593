import {
  type ExecutedActivity,
  effectiveDeadline,
  effectiveRelease,
  type ModelIndex,
} from "@consort/core";

/** Where each method of a C-TAEMS run ended up. */
export interface CscBreakdown {
  /** Ran to its end with a quality above zero. */
  readonly succeeded: number;
  /** Ran to its end and failed (its sampled quality was zero). */
  readonly failed: number;
  /** Aborted by its agent. */
  readonly aborted: number;
  /** Never started, and could no longer add quality by the end of the run. */
  readonly skipped: number;
  /** Never started, and could still have run (only in a run cut short). */
  readonly open: number;
}

/** A C-TAEMS run's figures in the terms of a fleet report. */
export interface CscOutcome {
  /** Methods in the model. */
  readonly activities: number;
  /** Methods whose outcome is final (every part of the breakdown but `open`). */
  readonly completed: number;
  readonly breakdown: CscBreakdown;
  /** No method ran twice, started outside its window, or overlapped another on its agent. */
  readonly feasible: boolean;
  readonly violations: readonly string[];
}

/**
 * Checks what ran against the model, independently of the world that ran it: every method is
 * sorted into the breakdown, and the runs are checked for repeats, starts outside the method's
 * window ([release, deadline)), and overlaps on one agent. A run may end after its deadline (a
 * duration is uncertain until it ends); it then earns nothing, which the quality shows.
 */
export function cscOutcome(
  index: ModelIndex,
  executed: readonly ExecutedActivity[],
  aborted: readonly string[],
  endTick: number,
  finished: boolean,
): CscOutcome {
  const violations: string[] = [];
  const runs = new Map<string, ExecutedActivity[]>();
  for (const e of executed) {
    const list = runs.get(e.activityId) ?? [];
    list.push(e);
    runs.set(e.activityId, list);
  }
  const abortedSet = new Set(aborted);
  let succeeded = 0;
  let failed = 0;
  let abortedCount = 0;
  let skipped = 0;
  let open = 0;
  const byAgent = new Map<string, { id: string; start: number; end: number }[]>();
  for (const a of index.activities) {
    const mine = runs.get(a.id) ?? [];
    if (mine.length > 1) violations.push(`${a.id} ran ${mine.length} times`);
    const run = mine[0];
    const release = effectiveRelease(index, a.id);
    const deadline = effectiveDeadline(index, a.id);
    if (run === undefined) {
      const shortest = Math.min(...a.duration.map((o) => o.value));
      if (finished || (deadline !== undefined && endTick + shortest > deadline)) skipped++;
      else open++;
      continue;
    }
    if (abortedSet.has(a.id)) abortedCount++;
    else if (run.quality > 0) succeeded++;
    else failed++;
    for (const r of mine) {
      if (r.startTicks < release)
        violations.push(`${a.id} started at ${r.startTicks}, before its release ${release}`);
      if (deadline !== undefined && r.startTicks >= deadline)
        violations.push(`${a.id} started at ${r.startTicks}, at or after its deadline ${deadline}`);
      const owner = a.resources[0] ?? "?";
      const list = byAgent.get(owner) ?? [];
      list.push({ id: a.id, start: r.startTicks, end: r.endTicks });
      byAgent.set(owner, list);
    }
  }
  for (const [agent, list] of byAgent) {
    list.sort((x, y) => x.start - y.start);
    for (let i = 1; i < list.length; i++)
      if (list[i]!.start < list[i - 1]!.end)
        violations.push(
          `${list[i]!.id} started at ${list[i]!.start} on ${agent} while ${list[i - 1]!.id} ran until ${list[i - 1]!.end}`,
        );
  }
  return {
    activities: index.activities.length,
    completed: succeeded + failed + abortedCount + skipped,
    breakdown: { succeeded, failed, aborted: abortedCount, skipped, open },
    feasible: violations.length === 0,
    violations,
  };
}
