import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JournalError, readJournalFile, replaceJournalFile } from "./journal-file.js";

describe("journal files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consort-journal-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads nothing from a file that does not exist yet", () => {
    expect(readJournalFile(join(dir, "none.jsonl"))).toEqual({ records: [], bytes: 0 });
  });

  it("cuts a torn last line off the file and returns the complete records", () => {
    const path = join(dir, "j.jsonl");
    writeFileSync(path, '{"a":1}\n{"a":2}\n{"a":');
    const read = readJournalFile<{ a: number }>(path);
    expect(read.records).toEqual([{ a: 1 }, { a: 2 }]);
    expect(read.bytes).toBe(16);
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n{"a":2}\n');
  });

  it("refuses a damaged line before the end, says where, and leaves the file as it was", () => {
    const path = join(dir, "j.jsonl");
    const text = '{"a":1}\nnot json\n{"a":3}\n{"a":';
    writeFileSync(path, text);
    let error: unknown;
    try {
      readJournalFile(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JournalError);
    expect((error as JournalError).line).toBe(2);
    expect((error as Error).message).toBe(`${path}:2: not a JSON record; the journal is damaged`);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  it("replaces the records as a whole and leaves no temporary file", () => {
    const path = join(dir, "j.jsonl");
    writeFileSync(path, '{"a":1}\n{"a":2}\n');
    replaceJournalFile(path, [{ b: 1 }], true);
    expect(readJournalFile(path).records).toEqual([{ b: 1 }]);
    expect(() => readFileSync(`${path}.next`)).toThrow(/ENOENT/);
  });
});
