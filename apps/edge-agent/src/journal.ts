import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Ticks } from "@consort/core/agent";
import type { AnyMessage, Body } from "@consort/protocol";

/** A `csc-peer` message a C-TAEMS agent received (core's `PeerMessage`, and its tick). */
export interface JournalledPeerMessage {
  readonly from: string;
  readonly seq: number;
  /** The tick at which it was sent. */
  readonly tick: number;
  readonly body: Body<"csc-peer">["body"];
}

/**
 * One line of an agent's journal. The journal is the agent's memory across crashes: every
 * commitment is appended (and, by default, flushed to disk) before it is acknowledged or acted
 * on, and a restarted agent rebuilds its state by replaying it.
 */
export type JournalRecord =
  /** A command accepted from the coordinator (its id makes a redelivery a no-op). */
  | { readonly t: "command"; readonly id: string; readonly message: AnyMessage }
  /** The local schedule the agent committed to, for a schedule version. */
  | { readonly t: "schedule"; readonly version: number; readonly slots: Body<"install">["slots"] }
  | {
      readonly t: "start";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly durationTicks: Ticks;
    }
  | {
      readonly t: "complete";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly quality: number;
    }
  | {
      readonly t: "fail";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly reason: string;
    }
  /** A message written to the outbox before it is published. */
  | {
      readonly t: "out";
      readonly topic: string;
      readonly message: AnyMessage;
      readonly retain?: boolean;
    }
  /** The next sequence number of the agent's messages (kept when a journal is compacted). */
  | { readonly t: "seq"; readonly next: number }
  /** The broker acknowledged (PUBACK) the outbox message with this sequence number. */
  | { readonly t: "acked"; readonly seq: number }
  /** A session epoch began (every connection of the agent increments it). */
  | {
      readonly t: "epoch";
      readonly epoch: number;
      /** The seq of this session's last will (no later message reuses it). */
      readonly willSeq?: number;
    }
  /** C-TAEMS: the setup of a run, as received, before the agent acts on it. */
  | {
      readonly t: "csc-setup";
      readonly trial: number;
      readonly strategy: Body<"csc-setup">["strategy"];
      readonly setup: Body<"csc-setup">["setup"];
    }
  /** C-TAEMS: a tick received from the clock master (before it is acknowledged). */
  | ({ readonly t: "csc-tick" } & Body<"csc-tick">)
  /** C-TAEMS: a message received from a peer or the coordinator (before it is acknowledged). */
  | ({ readonly t: "csc-in"; readonly trial: number } & JournalledPeerMessage)
  /**
   * C-TAEMS: a step about to be taken: the tick received last, on these received messages (by
   * sender and seq, in the order given). With the records above it is the step's whole input:
   * replaying them through a fresh agent (a deterministic step function) rebuilds it.
   */
  | {
      readonly t: "csc-step";
      readonly trial: number;
      readonly tick: number;
      readonly inbox: readonly (readonly [from: string, seq: number])[];
    };

export interface JournalOptions {
  /** Flush each record to the disk before returning (survives power loss, not only crashes). */
  readonly sync: boolean;
}

/** Why a journal could not be read; the line says where. */
export class JournalError extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    message: string,
  ) {
    super(`${path}:${line}: ${message}`);
    this.name = "JournalError";
  }
}

/**
 * An append-only file of JSON lines. Appends are synchronous on purpose: the caller may not act on
 * a commitment before it is on disk. A torn last line (a crash in the middle of a write) is
 * ignored on replay; a damaged line elsewhere is an error.
 */
export class Journal {
  private fd: number;

  private constructor(
    readonly path: string,
    private readonly options: JournalOptions,
    /** What the journal held when it was opened (appends are not added: memory stays flat). */
    readonly records: readonly JournalRecord[],
  ) {
    this.fd = openSync(path, "a");
  }

  /** Opens (creating if needed) and replays a journal. */
  static open(path: string, options: JournalOptions = { sync: true }): Journal {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    // A torn final line (a crash in the middle of a write) belongs to a write that never
    // completed, so nothing was acknowledged on its strength: cut it off before appending.
    const complete =
      text.endsWith("\n") || text === "" ? text : text.slice(0, text.lastIndexOf("\n") + 1);
    if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete));
    const records: JournalRecord[] = [];
    complete.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        throw new JournalError(path, i + 1, "not a JSON record; the journal is damaged");
      }
    });
    return new Journal(path, options, records);
  }

  append(record: JournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    if (this.options.sync) fdatasyncSync(this.fd);
  }

  /**
   * Replaces the whole journal by `records` (what a replay still needs), atomically: they are
   * written to a new file, flushed, and renamed over the old one, so a crash leaves one or the
   * other, never a mix.
   */
  rewrite(records: readonly JournalRecord[]): void {
    const next = `${this.path}.next`;
    const fd = openSync(next, "w");
    try {
      writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
      if (this.options.sync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.path);
    if (this.options.sync) {
      const dir = openSync(dirname(this.path), "r");
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
  }

  close(): void {
    closeSync(this.fd);
  }
}
