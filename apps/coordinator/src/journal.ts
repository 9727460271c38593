import { closeSync, fdatasyncSync, fstatSync, openSync, statSync, writeSync } from "node:fs";
import type { OrderDelta, TaskModel, Ticks } from "@consort/core";
import { JournalError, readJournalFile, replaceJournalFile } from "@consort/protocol/journal";

/** One resource's part of an installed schedule, as journalled. */
export interface JournalledResource {
  readonly resourceId: string;
  readonly activities: readonly {
    readonly activityId: string;
    readonly startTicks: Ticks;
    readonly durationTicks: Ticks;
  }[];
}

/**
 * One line of the coordinator's journal: its commitments, each appended (and flushed) before it
 * is published or acknowledged, so a restarted coordinator resumes where it stood.
 */
export type CoordinatorJournalRecord =
  /** A session began; its commands carry this epoch, so their ids never repeat earlier ones. */
  | { readonly t: "epoch"; readonly epoch: number }
  /** An accepted order, as what it added to the model (replayed exactly, whatever the load). */
  | {
      readonly t: "order";
      readonly from: string;
      readonly atTicks: Ticks;
      readonly delta: OrderDelta;
    }
  /** The model as a CAMPS problem adjustment left it. */
  | { readonly t: "model"; readonly model: TaskModel }
  /** A schedule version about to be used in commands: versions only grow, across restarts too. */
  | { readonly t: "version"; readonly version: number }
  /** The schedule installed (about to be sent to the agents). */
  | {
      readonly t: "installed";
      readonly version: number;
      readonly resources: readonly JournalledResource[];
    }
  /** An agent reported an activity completed. */
  | {
      readonly t: "done";
      readonly activityId: string;
      readonly resourceId: string;
      readonly startTicks: Ticks;
      readonly endTicks: Ticks;
      readonly quality: number;
    }
  /** An agent escalated a period when its resource is unavailable. */
  | {
      readonly t: "unavailable";
      readonly resourceId: string;
      readonly fromTicks: Ticks;
      readonly untilTicks: Ticks;
    }
  /**
   * Lock-step time moved on (the clock master's step, before its `clock` message goes out): a
   * restarted clock master resumes from there, never behind what the agents have seen.
   */
  | { readonly t: "clock"; readonly nowTicks: Ticks; readonly step: number }
  /**
   * Several planners: the manager's whole job -> planner table, each time it changes (the plan,
   * an order's jobs admitted, a job moved), with the moves made so far; the last one wins.
   */
  | {
      readonly t: "planners";
      readonly assignments: readonly { readonly jobId: string; readonly plannerId: string }[];
      readonly moves: readonly JournalledJobMove[];
    };

/** A job moved between planners, as journalled (at the initial plan or at run time). */
export interface JournalledJobMove {
  readonly jobId: string;
  readonly fromPlannerId: string;
  readonly toPlannerId: string;
  readonly reason: string;
  readonly accepted: boolean;
  readonly valueBefore: number;
  readonly valueAfter: number;
  /** When it was made at run time, and by what disruption; absent for the initial plan's. */
  readonly atTicks?: Ticks;
  readonly trigger?: string;
}

/** Why a journal could not be read; the message says the file and line. */
export class CoordinatorJournalError extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    message: string,
  ) {
    super(`${path}:${line}: ${message}`);
    this.name = "CoordinatorJournalError";
  }
}

/** Where the coordinator appends its commitments; the file journal or, in tests, memory. */
export interface CoordinatorJournal {
  readonly records: readonly CoordinatorJournalRecord[];
  append(record: CoordinatorJournalRecord): void;
  /** Whether another process has written to it since this one opened it (a shared file). */
  writtenByOthers?(): boolean;
  /** Replaces every record with `records` (which must replay to the same state), atomically. */
  rewrite(records: readonly CoordinatorJournalRecord[]): void;
  close(): void;
}

/**
 * An append-only file of JSON lines (the edge agent's journal design). Appends are synchronous on
 * purpose: nothing may be published on the strength of a record before it is on disk. A torn
 * last line (a crash mid-write) is cut off on open; a damaged line elsewhere is an error.
 */
export class FileJournal implements CoordinatorJournal {
  private fd: number;

  private constructor(
    readonly path: string,
    private readonly sync: boolean,
    readonly records: CoordinatorJournalRecord[],
    /** The bytes the records were read from: what another writer appends later is not in them. */
    size: number,
  ) {
    this.fd = openSync(path, "a");
    this.size = size;
  }

  /** The file's size as this process left it. */
  private size: number;

  static open(path: string, options: { sync: boolean } = { sync: true }): FileJournal {
    let read: { records: CoordinatorJournalRecord[]; bytes: number };
    try {
      read = readJournalFile<CoordinatorJournalRecord>(path);
    } catch (error) {
      if (error instanceof JournalError)
        throw new CoordinatorJournalError(
          error.path,
          error.line,
          "not a JSON record; the journal is damaged",
        );
      throw error;
    }
    // The size read, not the size at open: a line another coordinator appended in between (a
    // leader still writing while this one starts) was not replayed, and must count as theirs.
    return new FileJournal(path, options.sync, read.records, read.bytes);
  }

  append(record: CoordinatorJournalRecord): void {
    this.size += writeSync(this.fd, `${JSON.stringify(record)}\n`);
    if (this.sync) fdatasyncSync(this.fd);
    this.records.push(record);
  }

  /**
   * Written to a temporary file, flushed, then renamed over the journal: a crash leaves either
   * the old journal or the new one, never a mix.
   */
  rewrite(records: readonly CoordinatorJournalRecord[]): void {
    replaceJournalFile(this.path, records, this.sync);
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
    this.size = fstatSync(this.fd).size;
    this.records.splice(0, this.records.length, ...records);
  }

  /** Another writer appended (the size moved) or replaced the file (compaction: a new inode). */
  writtenByOthers(): boolean {
    const mine = fstatSync(this.fd);
    if (mine.size !== this.size) return true;
    try {
      return statSync(this.path).ino !== mine.ino;
    } catch {
      return true;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A journal in memory: for simulated runs and tests, where nothing outlives the process. */
export class MemoryJournal implements CoordinatorJournal {
  readonly records: CoordinatorJournalRecord[] = [];
  append(record: CoordinatorJournalRecord): void {
    this.records.push(record);
  }
  rewrite(records: readonly CoordinatorJournalRecord[]): void {
    this.records.splice(0, this.records.length, ...records);
  }
  close(): void {}
}

/** The epoch the next session will use (its last will is set before it connects). */
export function nextEpoch(records: readonly CoordinatorJournalRecord[]): number {
  let epoch = 0;
  for (const r of records) if (r.t === "epoch") epoch = Math.max(epoch, r.epoch);
  return epoch + 1;
}

/**
 * The same state in fewer records: every accepted order (their ids answer resends), the model a
 * problem adjustment left (after the orders, so it wins on replay), the highest version, the last
 * installed schedule, each completion once, the unavailabilities, the last epoch, the last
 * lock-step time and the last planner table.
 */
export function compactJournal(
  records: readonly CoordinatorJournalRecord[],
): CoordinatorJournalRecord[] {
  const orders: CoordinatorJournalRecord[] = [];
  const done = new Map<string, CoordinatorJournalRecord>();
  const unavailable: CoordinatorJournalRecord[] = [];
  let model: CoordinatorJournalRecord | undefined;
  let installed: CoordinatorJournalRecord | undefined;
  let clock: CoordinatorJournalRecord | undefined;
  let planners: CoordinatorJournalRecord | undefined;
  let version = 0;
  let epoch = 0;
  let modelAfterOrders = false;
  for (const r of records) {
    switch (r.t) {
      case "epoch":
        epoch = Math.max(epoch, r.epoch);
        break;
      case "order":
        orders.push(r);
        // An order after an adjusted model adds to it: the model record must come first then.
        if (model) modelAfterOrders = false;
        break;
      case "model":
        model = r;
        modelAfterOrders = true;
        break;
      case "version":
        version = Math.max(version, r.version);
        break;
      case "installed":
        version = Math.max(version, r.version);
        installed = r;
        break;
      case "done":
        if (!done.has(r.activityId)) done.set(r.activityId, r);
        break;
      case "unavailable":
        unavailable.push(r);
        break;
      case "clock":
        clock = r;
        break;
      case "planners":
        planners = r;
        break;
    }
  }
  // A model record followed by orders cannot be reordered safely: keep the journal as it is.
  if (model && !modelAfterOrders) return [...records];
  return [
    ...(epoch > 0 ? [{ t: "epoch" as const, epoch }] : []),
    ...orders,
    ...(model ? [model] : []),
    ...(version > 0 ? [{ t: "version" as const, version }] : []),
    ...(installed ? [installed] : []),
    ...done.values(),
    ...unavailable,
    ...(clock ? [clock] : []),
    ...(planners ? [planners] : []),
  ];
}
