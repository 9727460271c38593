import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// Numbers that would exhaust memory, round silently, stall the run or lose its report are
// refused before any process starts: one line, a usage or data exit code, and quickly.
const dir = mkdtempSync(join(tmpdir(), "consort-bounds-"));
const file = join(dir, "a-file");
writeFileSync(file, "");
const huge = join(dir, "huge.yaml");
writeFileSync(
  huge,
  "name: huge\nresources:\n  - { id: saw, kind: machine }\njobs:\n  - id: j1\n    operations:\n      - { resource: saw, duration: 1e308 }\n",
);

describe("consort fleet refuses out-of-bounds numbers up front", () => {
  const cases: [string, string[], number, RegExp][] = [
    ["a billion breakdowns", ["--breakdowns", "1000000000"], 64, /--breakdowns must be/],
    ["a seed past 2^53", ["--seed", "99999999999999999999"], 64, /--seed must be/],
    ["more agents offline than agents", ["--offline", "99"], 64, /--offline 99: more agents/],
    ["--out under a file", ["--out", join(file, "reports")], 64, /--out .*a file is in the way/],
    [
      "a duration of 1e308",
      ["--scenario", huge],
      65,
      /duration: must be a positive integer at most/,
    ],
  ];
  for (const [what, args, code, line] of cases)
    it(`${what}: one line, exit ${code}`, async () => {
      const started = Date.now();
      const run = await runCli(["fleet", ...args, "--json"], { timeoutMs: 20_000 });
      expect(run.code).toBe(code);
      expect(run.stdout).toBe("");
      expect(run.stderr.split("\n")[0]).toMatch(line);
      expect(Date.now() - started).toBeLessThan(10_000);
    });
});
