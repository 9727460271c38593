import {
  admitJobs,
  balanceJobGroups,
  type CellRepairOptions,
  type JobMove,
  type JobPlanner,
  type JobShopObjective,
  type LeadTimeExtension,
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
  repairAcrossPlanners,
  type Schedule,
  type Ticks,
} from "@consort/core";
import type { CoordinatorJournalRecord, JournalledJobMove } from "./journal.js";

/**
 * The planner roles of a coordinator with several planners (`--planners N`), in one process.
 * The decisions are core's (see core `camps/planners.ts` for the design: planners own jobs, a
 * cell is the resources a planner's jobs may request, planners commit in turn around each
 * other's calendar, and a late job may move to another planner); this class only keeps the
 * job -> planner table and routes the model to those functions. With one planner the
 * coordinator does not use it at all, so the default run is unchanged. The table is journalled
 * whole each time it changes (`journalRecord`), and a resumed coordinator `restore`s it.
 */
export class Planners {
  readonly ids: readonly string[];
  private assignments: JobPlanner[] = [];
  private moves: JournalledJobMove[] = [];
  private readonly extended: (LeadTimeExtension & { atTicks: Ticks; trigger: string })[] = [];
  private cellRepairs = 0;
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
  onModel(index: ModelIndex, nowTicks: Ticks): boolean {
    this.lastIndex = index;
    if (this.assignments.length === 0) return false; // not planned yet: the plan balances them all
    const r = admitJobs(
      managedJobsOf(index),
      this.assignments,
      this.ids.map((id) => ({ id })),
    );
    this.assignments = r.assignments;
    for (const a of r.admitted) this.admitted.push({ atTicks: nowTicks, ...a });
    return r.admitted.length > 0;
  }

  /**
   * A run-time repair past the agents' negotiated one (`schedule`; `before` is the schedule in
   * force when the disruption came): each planner with a job made later repairs in its cell,
   * then problem adjustment moves a job to another planner or prolongs its lead time (core
   * `repairAcrossPlanners`). `adjusted`: problem adjustment decided it; `changed`: the table
   * changed, to be journalled before the schedule is installed.
   */
  repair(
    index: ModelIndex,
    input: { readonly before: Schedule; readonly schedule: Schedule },
    options: CellRepairOptions,
    trigger: string,
  ): { schedule: Schedule; adjusted: boolean; changed: boolean } {
    this.lastIndex = index;
    if (this.assignments.length === 0) return { ...input, adjusted: false, changed: false };
    const jobs = managedJobsOf(index);
    const cells = plannerCells(jobs, this.assignments, this.ids);
    const r = repairAcrossPlanners(
      index,
      {
        ...input,
        assignments: this.assignments,
        planners: this.ids,
        pinned: linkedJobGroups(index)
          .filter((g) => g.length > 1)
          .flat(),
        cells: Object.fromEntries(cells.map((c) => [c.id, c.resources])),
      },
      options,
    );
    this.cellRepairs += r.cellRepairs.length;
    const atTicks = options.nowTicks;
    for (const e of r.extended) this.extended.push({ ...e, atTicks, trigger });
    if (r.move) {
      this.assignments = [...r.assignments];
      this.moves.push({ ...r.move, accepted: true, atTicks, trigger });
    }
    return { schedule: r.schedule, adjusted: r.outcome !== "settled", changed: !!r.move };
  }

  /** The whole table, as the journal keeps it. */
  journalRecord(): Extract<CoordinatorJournalRecord, { t: "planners" }> {
    return { t: "planners", assignments: [...this.assignments], moves: [...this.moves] };
  }

  /**
   * A resumed coordinator: the journalled table, and jobs of the model it lacks (an order
   * journalled just before a crash) admitted by load, as they would have been.
   */
  restore(
    index: ModelIndex,
    record: Extract<CoordinatorJournalRecord, { t: "planners" }>,
    nowTicks: Ticks,
  ): void {
    this.lastIndex = index;
    this.assignments = record.assignments.map((a) => ({ ...a }));
    this.moves = [...record.moves];
    this.onModel(index, nowTicks);
  }

  /** What the fleet report shows: each planner's cell, jobs and load; the moves tried. */
  report(): {
    planners: PlannerCell[];
    jobMoves: (JobMove & { atTicks?: Ticks; trigger?: string })[];
    admitted: { atTicks: Ticks; jobId: string; plannerId: string }[];
    /** Run time: lead times prolonged (problem adjustment that moved nothing), repairs in a cell. */
    leadTimeExtensions: (LeadTimeExtension & { atTicks: Ticks; trigger: string })[];
    cellRepairs: number;
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
      leadTimeExtensions: [...this.extended],
      cellRepairs: this.cellRepairs,
    };
  }
}
