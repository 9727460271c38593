import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "consort-cli-"));
});
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe("consort solve", () => {
  it("solves ft06 to its optimum 55 and reports one JSON object", async () => {
    const run = await runCli(["solve", "data/jobshop/ft06.txt", "--json", "--time-limit", "3"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report).toMatchObject({
      instance: "ft06",
      jobs: 6,
      machines: 6,
      objective: "makespan",
      value: 55,
      feasible: true,
    });
    expect(typeof report.seconds).toBe("number");
  });
  it("solves an instance with zero-length operations to its optimum 28", async () => {
    // The optimum is proven by exhaustive search in packages/core/src/solver/zero-duration.test.ts.
    const run = await runCli([
      "solve",
      "packages/core/src/import/fixtures/orlib/ft06-zero.txt",
      "--json",
      "--iterations",
      "2000",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      instance: "ft06-zero",
      value: 28,
      feasible: true,
    });
  });
  it("prints a readable summary and the schedule without --json", async () => {
    const run = await runCli(["solve", "data/jobshop/la01.txt", "--iterations", "2000"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/la01: 10 jobs x 5 machines, 50 operations \(OR-Library\)/);
    expect(run.stdout).toMatch(/feasible\s+yes/);
    expect(run.stdout).toMatch(/^ {2}m0 {2}j\d+\.o\d+@\d+-\d+/m);
  });
  it("is reproducible for a seed and an iteration budget", async () => {
    const a = await runCli([
      "solve",
      "data/jobshop/ft10.txt",
      "--json",
      "--iterations",
      "3000",
      "--seed",
      "7",
    ]);
    const b = await runCli([
      "solve",
      "data/jobshop/ft10.txt",
      "--json",
      "--iterations",
      "3000",
      "--seed",
      "7",
    ]);
    const strip = (s: string) => {
      const { seconds: _, ...rest } = JSON.parse(s);
      return rest;
    };
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
  });
  it("minimizes total weighted tardiness on request", async () => {
    const run = await runCli([
      "solve",
      "data/jobshop/ft06.txt",
      "--json",
      "--objective",
      "twt",
      "--iterations",
      "500",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.objective).toBe("twt");
    expect(report.value).toBe(report.metrics.totalWeightedTardiness);
  });
});

describe("consort refuses bad input with one line and a non-zero exit", () => {
  const oneLine = (s: string) => {
    const lines = s.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(s).not.toMatch(/\n\s+at /); // no stack trace
    return lines[0]!;
  };
  it("a missing file", async () => {
    const run = await runCli(["solve", "no/such/file.txt"]);
    expect(run.code).toBe(66);
    expect(oneLine(run.stderr)).toBe("consort: no/such/file.txt: no such file");
    expect(run.stdout).toBe("");
  });
  it("a job line with too few numbers names the file and line", async () => {
    const path = await file("short.txt", "2 2\n0 3 1 4\n1 2 0\n");
    const run = await runCli(["solve", path, "--format", "orlib"]);
    expect(run.code).toBe(65);
    expect(oneLine(run.stderr)).toMatch(new RegExp(`^consort: ${path}:3: `));
  });
  it("text that is neither layout", async () => {
    const path = await file("junk.txt", "hello world\n");
    const run = await runCli(["solve", path]);
    expect(run.code).toBe(65);
    expect(oneLine(run.stderr)).toMatch(/junk\.txt/);
  });
  it("a scenario with a wrong type names the line", async () => {
    const path = await file(
      "bad.yaml",
      "name: bad\nresources:\n  - id: m1\njobs:\n  - id: J1\n    operations:\n      - resource: m1\n        duration: fast\n",
    );
    const run = await runCli(["solve", path]);
    expect(run.code).toBe(65);
    expect(oneLine(run.stderr)).toMatch(new RegExp(`^consort: ${path}:8:\\d+: .*duration`));
  });
  it("an unknown flag", async () => {
    const run = await runCli(["solve", "data/jobshop/ft06.txt", "--speed", "3"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/unknown option '--speed'/);
  });
  it("a bad flag value", async () => {
    const run = await runCli(["solve", "data/jobshop/ft06.txt", "--time-limit", "-2"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/--time-limit must be a positive number of seconds, not "-2"/);
    const objective = await runCli(["solve", "data/jobshop/ft06.txt", "--objective", "speed"]);
    expect(objective.code).toBe(64);
    expect(objective.stderr).toMatch(/Allowed choices are makespan, twt/);
  });
});

describe("consort --help", () => {
  it("documents every command", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const command of ["solve", "bench"])
      expect(run.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    const solve = await runCli(["solve", "--help"]);
    for (const flag of ["--format", "--objective", "--time-limit", "--seed", "--json"])
      expect(solve.stdout).toContain(flag);
  });
});
