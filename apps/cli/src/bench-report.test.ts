import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { median, writeSection } from "./bench-report.js";

describe("writeSection", () => {
  it("creates the file, then replaces only its own section", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "consort-bench-")), "RESULTS.md");
    await writeSection(file, "a", "first A");
    await writeSection(file, "b", "first B");
    await writeSection(file, "a", "second A");
    const text = await readFile(file, "utf8");
    expect(text).toContain("<!-- bench:a -->\nsecond A\n<!-- /bench:a -->");
    expect(text).toContain("<!-- bench:b -->\nfirst B\n<!-- /bench:b -->");
    expect(text).not.toContain("first A");
    expect(text.indexOf("bench:a")).toBeLessThan(text.indexOf("bench:b"));
  });
  it("keeps text outside the sections", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "consort-bench-")), "RESULTS.md");
    await writeFile(file, "# Results\n\nnotes by hand\n");
    await writeSection(file, "x", "X");
    expect(await readFile(file, "utf8")).toMatch(/^# Results\n\nnotes by hand\n\n<!-- bench:x -->/);
  });
});

describe("median", () => {
  it("of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
