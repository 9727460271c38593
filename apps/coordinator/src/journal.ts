import { closeSync, fdatasyncSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import type { OrderDelta, TaskModel, Ticks } from "@consort/core";

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
    };

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
  close(): void;
}

/**
 * An append-only file of JSON lines (the edge agent's journal design). Appends are synchronous on
 * purpose: nothing may be published on the strength of a record before it is on disk. A torn
 * last line (a crash mid-write) is cut off on open; a damaged line elsewhere is an error.
 */
export class FileJournal implements CoordinatorJournal {
  private readonly fd: number;

  private constructor(
    readonly path: string,
    private readonly sync: boolean,
    readonly records: CoordinatorJournalRecord[],
  ) {
    this.fd = openSync(path, "a");
  }

  static open(path: string, options: { sync: boolean } = { sync: true }): FileJournal {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const complete =
      text.endsWith("\n") || text === "" ? text : text.slice(0, text.lastIndexOf("\n") + 1);
    if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete));
    const records: CoordinatorJournalRecord[] = [];
    complete.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        records.push(JSON.parse(line) as CoordinatorJournalRecord);
      } catch {
        throw new CoordinatorJournalError(path, i + 1, "not a JSON record; the journal is damaged");
      }
    });
    return new FileJournal(path, options.sync, records);
  }

  append(record: CoordinatorJournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    if (this.sync) fdatasyncSync(this.fd);
    this.records.push(record);
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
  close(): void {}
}

/** The epoch the next session will use (its last will is set before it connects). */
export function nextEpoch(records: readonly CoordinatorJournalRecord[]): number {
  let epoch = 0;
  for (const r of records) if (r.t === "epoch") epoch = Math.max(epoch, r.epoch);
  return epoch + 1;
}
