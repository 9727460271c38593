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

/**
 * The file side of the journals agents and coordinator keep (one JSON record per line): every
 * commitment is appended and flushed before it is published or acknowledged, so the rules for
 * reading and replacing the file are the same for both.
 */

/** Why a journal could not be read; the message says where (`path:line`). */
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
 * Reads a journal's records (none when the file does not exist). A torn final line (a crash in
 * the middle of a write) belongs to a write that never completed, so nothing was acknowledged on
 * its strength: it is cut off the file before anyone appends. A damaged line elsewhere is an
 * error (`JournalError`), and the file is left as it was. `bytes` is the size of what was read:
 * what another writer appends later is not in it.
 */
export function readJournalFile<T>(path: string): { records: T[]; bytes: number } {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const complete =
    text.endsWith("\n") || text === "" ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  const records: T[] = [];
  complete.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      throw new JournalError(path, i + 1, "not a JSON record; the journal is damaged");
    }
  });
  if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete));
  return { records, bytes: Buffer.byteLength(complete) };
}

/**
 * Replaces a journal by `records`, atomically: they are written to a new file, flushed (always:
 * renamed over the journal unflushed, a crash of the machine could leave an empty file where
 * the records were) and renamed over the old one, so a crash leaves one or the other, never a
 * mix. With `sync`, the rename itself is flushed too. The caller reopens its descriptor.
 */
export function replaceJournalFile(path: string, records: readonly unknown[], sync: boolean): void {
  const next = `${path}.next`;
  const fd = openSync(next, "w");
  try {
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(next, path);
  if (sync) {
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
