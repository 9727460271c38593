import { describe, expect, it } from "vitest";
import { baseName, formatInputError, lineColumn } from "./input-error.js";

describe("formatInputError", () => {
  it("prints one compiler-style line", () => {
    expect(formatInputError({ source: "a.txt", message: "empty file" })).toBe("a.txt: empty file");
    expect(formatInputError({ source: "a.txt", line: 7, message: "m" })).toBe("a.txt:7: m");
    expect(
      formatInputError({
        source: "plant.yaml",
        line: 12,
        column: 7,
        path: "jobs[1].operations[0].duration",
        message: "must be a positive integer",
      }),
    ).toBe("plant.yaml:12:7: jobs[1].operations[0].duration: must be a positive integer");
  });

  it("folds a multi-line message onto one line", () => {
    expect(formatInputError({ source: "s", message: "first\n  second\r\nthird\n" })).toBe(
      "s: first second third",
    );
  });
});

describe("helpers", () => {
  it("baseName drops folders and the last extension", () => {
    expect(baseName("data/jobshop/ft06.txt")).toBe("ft06");
    expect(baseName("C:\\x\\ta01.dat")).toBe("ta01");
    expect(baseName("noext")).toBe("noext");
    expect(baseName(".hidden")).toBe(".hidden");
  });

  it("lineColumn is 1-based", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
