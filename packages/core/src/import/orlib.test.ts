import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import { formatInputError, type InputError } from "./input-error.js";
import { parseOrLibrary } from "./orlib.js";

/** The repository's public benchmark files: src/import -> core -> packages -> the root's data/. */
const shared = new URL("../../../../data/jobshop/", import.meta.url);
const readShared = (file: string) => readFileSync(new URL(file, shared), "utf8");

const failure = (text: string, source = "bad.txt"): InputError => {
  const result = parseOrLibrary(text, source);
  if (result.ok) throw new Error("expected the parse to fail");
  return result.error;
};

const FT06_JOBS = [
  "2  1  0  3  1  6  3  7  5  3  4  6",
  "1  8  2  5  4 10  5 10  0 10  3  4",
  "2  5  3  4  5  8  0  9  1  1  4  7",
  "1  5  0  5  2  5  3  3  4  8  5  9",
  "2  9  1  3  4  5  5  4  0  3  3  1",
  "1  3  3  3  5  9  0 10  4  4  2  1",
];
/** ft06 with lines 1-4 comments, 5 the header, 6.. the jobs; `edit` replaces job lines. */
const ft06 = (edit: (jobs: string[]) => string[] = (j) => j) =>
  ["# a", "# instance ft06", "# b", "# c", "6 6", ...edit([...FT06_JOBS])].join("\n");

describe("parseOrLibrary", () => {
  it.each([
    ["ft06.txt", "ft06", 6, 6],
    ["ft10.txt", "ft10", 10, 10],
    ["la01.txt", "la01", 10, 5],
    ["la16.txt", "la16", 10, 10],
  ])("reads %s as %s, %i jobs x %i machines", (file, name, jobs, machines) => {
    const result = parseOrLibrary(readShared(file), file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const instance = result.value;
    expect(instance.name).toBe(name);
    expect(instance.jobs).toHaveLength(jobs);
    expect(instance.machineIds).toHaveLength(machines);
    for (const job of instance.jobs) {
      expect(job.operations).toHaveLength(machines);
      expect(new Set(job.operations.map((o) => o.machine)).size).toBe(machines);
    }
    expect(indexModel(jobShopToModel(instance)).ok).toBe(true);
  });

  it("uses jobShopIds, release 0 and weight 1", () => {
    const result = parseOrLibrary(readShared("ft06.txt"), "ft06.txt");
    if (!result.ok) throw new Error(formatInputError(result.error));
    const { machineIds, jobs } = result.value;
    expect(machineIds).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    expect(jobs[0]).toEqual({
      id: "j0",
      releaseTicks: 0,
      weight: 1,
      operations: [
        { id: "j0.o0", machine: 2, durationTicks: 1 },
        { id: "j0.o1", machine: 0, durationTicks: 3 },
        { id: "j0.o2", machine: 1, durationTicks: 6 },
        { id: "j0.o3", machine: 3, durationTicks: 7 },
        { id: "j0.o4", machine: 5, durationTicks: 3 },
        { id: "j0.o5", machine: 4, durationTicks: 6 },
      ],
    });
    expect(jobs[5]?.operations[2]).toEqual({ id: "j5.o2", machine: 5, durationTicks: 9 });
  });

  it("names the instance after the file when there is no '# instance' comment", () => {
    const result = parseOrLibrary("1 2\n0 3 1 4\n", "some/dir/my-shop.data.txt");
    expect(result.ok && result.value.name).toBe("my-shop.data");
  });

  it("accepts CRLF line ends, blank lines and tabs", () => {
    const result = parseOrLibrary("\r\n# x\r\n2\t2\r\n\r\n0 1\t1 2\r\n1 3 0 4\r\n\r\n", "x.txt");
    expect(result.ok && result.value.jobs.map((j) => j.operations.length)).toEqual([2, 2]);
  });
});

describe("parseOrLibrary errors", () => {
  it("empty file", () => {
    const e = failure("");
    expect(e).toEqual({ source: "bad.txt", message: expect.stringMatching(/^empty file/) });
    expect(formatInputError(e)).toBe('bad.txt: empty file: expected a header line "jobs machines"');
    expect(failure("  \n\n").message).toMatch(/^empty file/);
  });

  it("comments only: missing header", () => {
    expect(failure("# instance x\n# nothing else\n").message).toMatch(/no header line/);
  });

  it("a header that is not 'jobs machines'", () => {
    expect(failure("# c\njobs machines\n0 1\n")).toMatchObject({
      line: 2,
      column: 1,
      message: 'non-numeric token "jobs" where the header line "jobs machines" was expected',
    });
    expect(failure("6\n")).toMatchObject({ line: 1, message: expect.stringMatching(/1 number$/) });
    expect(failure("6 6 5\n")).toMatchObject({
      line: 1,
      message: expect.stringMatching(/found 3/),
    });
    expect(failure("0 6\n")).toMatchObject({
      line: 1,
      column: 1,
      message: "the number of jobs must be a positive integer, found 0",
    });
  });

  it("non-numeric token, with its column", () => {
    const e = failure(ft06((j) => j.with(2, "2  5  3  x  5  8  0  9  1  1  4  7")));
    expect(e).toMatchObject({ line: 8, column: 10 });
    expect(formatInputError(e)).toBe('bad.txt:8:10: job 3 (j2): non-numeric token "x"');
  });

  it("wrong count of numbers on a job line", () => {
    const short = failure(
      ft06((j) => j.with(1, "1  8  2  5  4 10  5 10  0 10")),
      "ft06.txt",
    );
    expect(formatInputError(short)).toBe(
      "ft06.txt:7: job 2 (j1) has 5 operations, expected 6 (one per machine)",
    );
    const odd = failure(ft06((j) => j.with(1, "1  8  2  5  4 10  5 10  0 10  3")));
    expect(odd).toMatchObject({ line: 7, message: expect.stringMatching(/11 numbers, an odd/) });
    const long = failure(ft06((j) => j.with(0, `${j[0]}  6 1`)));
    expect(long).toMatchObject({
      line: 6,
      message: "job 1 (j0) has 7 operations, expected 6 (one per machine)",
    });
  });

  it("machine index out of range", () => {
    const e = failure(ft06((j) => j.with(3, "1  5  0  5  2  5  3  3  4  8  6  9")));
    expect(e).toMatchObject({
      line: 9,
      column: 31,
      message: "job 4 (j3), operation 6: machine index 6 out of range 0..5",
    });
    expect(failure("1 2\n-1 3 1 4\n").message).toMatch(/machine index -1 out of range 0\.\.1/);
    expect(failure("1 2\n0.5 3 1 4\n").message).toMatch(/0\.5 is not an integer in 0\.\.1/);
  });

  it("machine repeated within a job", () => {
    const e = failure(ft06((j) => j.with(4, "2  9  1  3  4  5  5  4  0  3  1  1")));
    expect(e).toMatchObject({
      line: 10,
      column: 31,
      message:
        "job 5 (j4): machine 1 is repeated (operations 2 and 6); a job visits each machine once",
    });
  });

  it("reads zero durations (public instances have them) into a model that indexes", () => {
    const result = parseOrLibrary("1 2\n0 2 1 0\n", "zero.txt");
    if (!result.ok) throw new Error(formatInputError(result.error));
    expect(result.value.jobs[0]?.operations.map((o) => o.durationTicks)).toEqual([2, 0]);
    expect(indexModel(jobShopToModel(result.value)).ok).toBe(true);
  });

  it("negative or non-integer duration", () => {
    expect(failure(ft06((j) => j.with(5, "1 -3  3  3  5  9  0 10  4  4  2  1")))).toMatchObject({
      line: 11,
      column: 3,
      message: "job 6 (j5), operation 1: duration -3 must be a whole number of ticks, 0 or more",
    });
    expect(failure("1 2\n0 2.5 1 4\n")).toMatchObject({
      line: 2,
      column: 3,
      message: "job 1 (j0), operation 1: duration 2.5 must be a whole number of ticks, 0 or more",
    });
  });

  it("fewer job lines than declared", () => {
    const e = failure(
      ft06((j) => j.slice(0, 4)),
      "ft06.txt",
    );
    expect(formatInputError(e)).toBe(
      "ft06.txt:5: the header declares 6 jobs but only 4 job lines follow",
    );
    expect(failure("2 2\n").message).toBe("the header declares 2 jobs but no job line follows");
  });

  it("more job lines than declared", () => {
    const e = failure(ft06((j) => [...j, "# trailing comment", j[0]!]));
    expect(e).toMatchObject({
      line: 13,
      message: "more job lines than the 6 declared in the header (line 5)",
    });
  });
});
