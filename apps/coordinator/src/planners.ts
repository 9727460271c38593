import {
  admitJobs,
  balanceJobGroups,
  type JobMove,
  type JobPlanner,
  type JobShopObjective,
  linkedJobGroups,
  type ModelIndex,
  managedJobsOf,
  type PlanAcrossOptions,
  type PlannerCell,
  plannerCells,
  plannerIds,
  planWithJobMoves,
  type ResourceInterval,
  type ResourceSlot,
  type Schedule,
  type Ticks,
} from "@consort/core";

/**
 * The planner roles of a coordinator with several planners (`--planners N`), in one process.
 * The decisions are core's (see core `camps/planners.ts` for the design: planners own jobs, a
 * cell is the resources a planner's jobs may request, planners commit in turn around each
 * other's calendar, and a late job may move to another planner); this class only keeps the
 * job -> planner table and routes the model to those functions. With one planner the
 * coordinator does not use it at all, so the default run is unchanged.
 */
export class Planners {
  readonly ids: readonly string[];
  private assignments: JobPlanner[] = [];
  private readonly moves: JobMove[] = [];
  private readonly admitted: { atTicks: Ticks; jobId: string; plannerId: string }[] = [];
  private lastIndex: ModelIndex | undefined;

  constructor(count: number) {
    this.ids = plannerIds(count);
  }

  /**
   * The initial plan: the manager balances the jobs, the planners plan in turn, and late jobs
   * are tried on another planner. On success the table holds the plan's assignment.
   */
  plan(
    index: ModelIndex,
    options: {
      readonly nowTicks: Ticks;
      readonly objective: JobShopObjective;
      readonly seed: number;
      readonly maxIterations: number;
      readonly unavailable: readonly ResourceInterval[];
      readonly frozen: readonly ResourceSlot[];
      readonly cancelled: readonly string[];
      readonly version: number;
    },
  ): { ok: true; schedule: Schedule } | { ok: false; reason: string } {
    this.lastIndex = index;
    const jobs = managedJobsOf(index);
    const planners = this.ids.map((id) => ({ id }));
    const groups = linkedJobGroups(index);
    const balance = balanceJobGroups(jobs, groups, planners);
    if (balance.unassigned.length > 0)
      return { ok: false, reason: `no planner runs ${balance.unassigned.join(", ")}` };
    const pinned = groups.filter((g) => g.length > 1).flat();
    const across: PlanAcrossOptions = { ...options };
    const planned = planWithJobMoves(
      index,
      { jobs, planners, assignments: balance.assignments, pinned },
      across,
    );
    if (!planned.ok)
      return { ok: false, reason: `${planned.error.plannerId}: ${planned.error.reason}` };
    this.assignments = [...planned.value.assignments];
    this.moves.push(...planned.value.moves);
    return { ok: true, schedule: planned.value.schedule };
  }

  /** The model changed (an order): its new jobs join the planners by load. */
  onModel(index: ModelIndex, nowTicks: Ticks): void {
    this.lastIndex = index;
    if (this.assignments.length === 0) return; // not planned yet: the plan balances them all
    const r = admitJobs(
      managedJobsOf(index),
      this.assignments,
      this.ids.map((id) => ({ id })),
    );
    this.assignments = r.assignments;
    for (const a of r.admitted) this.admitted.push({ atTicks: nowTicks, ...a });
  }

  /** What the fleet report shows: each planner's cell, jobs and load; the moves tried. */
  report(): {
    planners: PlannerCell[];
    jobMoves: JobMove[];
    admitted: { atTicks: Ticks; jobId: string; plannerId: string }[];
  } {
    const jobs = this.lastIndex ? managedJobsOf(this.lastIndex) : [];
    // Jobs cancelled from the model since leave the table with it.
    const present = new Set(jobs.map((j) => j.id));
    return {
      planners: plannerCells(
        jobs,
        this.assignments.filter((a) => present.has(a.jobId)),
        this.ids,
      ),
      jobMoves: [...this.moves],
      admitted: [...this.admitted],
    };
  }
}
