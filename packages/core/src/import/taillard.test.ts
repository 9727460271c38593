import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatInputError, type InputError } from "./input-error.js";
import { parseOrLibrary } from "./orlib.js";
import { parseTaillard } from "./taillard.js";

const shared = new URL("../../../../data/jobshop/", import.meta.url);
const fixture = new URL("./fixtures/taillard/ft06.txt", import.meta.url);

const failure = (text: string, source = "ta.txt"): InputError => {
  const result = parseTaillard(text, source);
  if (result.ok) throw new Error("expected the parse to fail");
  return result.error;
};

/** A 2x3 instance in Taillard's layout without labels: header line 1, times 2-3, orders 4-5. */
const small = (edit: (rows: string[]) => string[] = (r) => r) =>
  ["2 3", ...edit(["4 5 6", "7 8 9", "1 2 3", "3 1 2"])].join("\n");

describe("parseTaillard", () => {
  it("reads ft06 in Taillard's layout as the same instance as the OR-Library file", () => {
    const taillard = parseTaillard(readFileSync(fixture, "utf8"), "fixtures/taillard/ft06.txt");
    const orlib = parseOrLibrary(readFileSync(new URL("ft06.txt", shared), "utf8"), "ft06.txt");
    if (!taillard.ok) throw new Error(formatInputError(taillard.error));
    expect(orlib.ok).toBe(true);
    expect(taillard.value).toEqual(orlib.ok && orlib.value);
  });

  it("reads the layout without labels; times are in processing order, machines from 1", () => {
    const result = parseTaillard(small(), "dir/tiny.txt");
    expect(result.ok && result.value).toEqual({
      name: "tiny",
      machineIds: ["m0", "m1", "m2"],
      jobs: [
        {
          id: "j0",
          releaseTicks: 0,
          weight: 1,
          operations: [
            { id: "j0.o0", machine: 0, durationTicks: 4 },
            { id: "j0.o1", machine: 1, durationTicks: 5 },
            { id: "j0.o2", machine: 2, durationTicks: 6 },
          ],
        },
        {
          id: "j1",
          releaseTicks: 0,
          weight: 1,
          operations: [
            { id: "j1.o0", machine: 2, durationTicks: 7 },
            { id: "j1.o1", machine: 0, durationTicks: 8 },
            { id: "j1.o2", machine: 1, durationTicks: 9 },
          ],
        },
      ],
    });
  });

  it("ignores extra header numbers (seeds, bounds) and '#' comments", () => {
    const text = "# instance tiny2\n2 3 840612802 398197754 20 10\n4 5 6\n7 8 9\n1 2 3\n3 1 2\n";
    const result = parseTaillard(text, "x.txt");
    expect(result.ok && result.value.name).toBe("tiny2");
  });
});

describe("parseTaillard errors", () => {
  it("empty file / missing header", () => {
    expect(failure("")).toEqual({
      source: "ta.txt",
      message: 'empty file: expected a header line "jobs machines"',
    });
    expect(failure("Nb of jobs, Nb of Machines\n")).toMatchObject({
      line: 1,
      message: 'no header line "jobs machines" before the matrices',
    });
    expect(failure("Times\n1 2\n")).toMatchObject({ line: 1, message: /no header line/ });
  });

  it("non-numeric token", () => {
    expect(failure(small((r) => r.with(1, "7 eight 9")))).toMatchObject({
      line: 3,
      column: 3,
      message: 'non-numeric token "eight"',
    });
    expect(failure("2 3 seed\n").message).toMatch(/non-numeric token "seed"/);
  });

  it("wrong count of numbers on a row", () => {
    expect(failure(small((r) => r.with(1, "7 8")))).toMatchObject({
      line: 3,
      message: "processing-time row of job 2 (j1) has 2 numbers, expected 3",
    });
    expect(failure(small((r) => r.with(2, "1 2 3 4")))).toMatchObject({
      line: 4,
      message: "machine-order row of job 1 (j0) has 4 numbers, expected 3",
    });
  });

  it("machine index out of range", () => {
    const e = failure(
      small((r) => r.with(3, "3 4 2")),
      "tiny.txt",
    );
    expect(formatInputError(e)).toBe(
      "tiny.txt:5:3: job 2 (j1), operation 2: machine 4 out of range 1..3",
    );
    expect(failure(small((r) => r.with(2, "0 1 2"))).message).toBe(
      "job 1 (j0), operation 1: machine 0 out of range 1..3 (Taillard's layout numbers machines from 1)",
    );
  });

  it("order row not a permutation (machine repeated)", () => {
    expect(failure(small((r) => r.with(3, "3 1 3")))).toMatchObject({
      line: 5,
      column: 5,
      message:
        "machine order of job 2 (j1) is not a permutation of 1..3: machine 3 appears twice (operations 1 and 3)",
    });
  });

  it("reads zero durations", () => {
    const result = parseTaillard(
      small((r) => r.with(0, "4 0 6")),
      "zero.txt",
    );
    if (!result.ok) throw new Error(formatInputError(result.error));
    expect(result.value.jobs[0]?.operations.map((o) => o.durationTicks)).toEqual([4, 0, 6]);
  });

  it("negative or non-integer duration", () => {
    expect(failure(small((r) => r.with(0, "4 -5 6")))).toMatchObject({
      line: 2,
      column: 3,
      message: "job 1 (j0), operation 2: duration -5 must be a whole number of ticks, 0 or more",
    });
    expect(failure(small((r) => r.with(1, "7 8 9.5")))).toMatchObject({
      line: 3,
      column: 5,
      message: "job 2 (j1), operation 3: duration 9.5 must be a whole number of ticks, 0 or more",
    });
  });

  it("fewer or more rows than declared", () => {
    expect(failure(small((r) => r.slice(0, 3)))).toMatchObject({
      line: 1,
      message:
        "the header declares 2 jobs: expected 4 rows (2 of processing times, then 2 of machine orders), found 3",
    });
    expect(failure(small((r) => [...r, "2 3 1"]))).toMatchObject({
      line: 6,
      message: expect.stringMatching(/^more rows than declared: the header \(line 1\) declares 2/),
    });
  });

  it("fewer or more rows than declared, with Times / Machines labels", () => {
    const labelled = (times: string[], machines: string[]) =>
      ["Nb of jobs, Nb of Machines", "2 3 0 0", "Times", ...times, "Machines", ...machines].join(
        "\n",
      );
    expect(failure(labelled(["4 5 6"], ["1 2 3", "3 1 2"]))).toMatchObject({
      line: 2,
      message: "the header declares 2 jobs but the processing-time matrix has 1 row",
    });
    expect(failure(labelled(["4 5 6", "7 8 9", "1 1 1"], ["1 2 3", "3 1 2"]))).toMatchObject({
      line: 6,
      message: "more processing-time rows than the 2 jobs declared in the header (line 2)",
    });
    expect(failure(labelled(["4 5 6", "7 8 9"], ["1 2 3", "3 1 2", "2 3 1"]))).toMatchObject({
      line: 9,
      message: "more machine-order rows than the 2 jobs declared in the header (line 2)",
    });
  });

  it("a file with several instances", () => {
    const one = readFileSync(fixture, "utf8");
    expect(failure(one + one)).toMatchObject({
      line: 17,
      message: expect.stringMatching(/^a second instance starts here/),
    });
  });
});
