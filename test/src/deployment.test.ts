import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

// A deployment's shape: `consort broker`, one `consort agent` per machine and `consort
// coordinator`, each its own process, configured by files and flags, on the wall clock.
const bin = join(repoRoot, "apps/cli/bin/consort.js");
const dir = mkdtempSync(join(tmpdir(), "consort-deploy-"));
const children: ChildProcess[] = [];

function start(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let text = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => text, exited };
}

async function waitFor(
  output: () => string,
  pattern: RegExp,
  ms: number,
): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const m = pattern.exec(output());
    if (m) return m;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${pattern}: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("a deployment: broker, agents and coordinator started one by one", () => {
  it("plans, executes on the wall clock and finishes", async () => {
    writeFileSync(
      join(dir, "cell.yaml"),
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, due: 12, operations: [{ resource: m1, duration: 3 }, { resource: m2, duration: 2 }] }",
        "  - { id: b, due: 10, operations: [{ resource: m2, duration: 3 }, { resource: m1, duration: 2 }] }",
        "  - { id: c, due: 14, operations: [{ resource: m1, duration: 2 }] }",
        "",
      ].join("\n"),
    );
    const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const epochMs = Date.now() + 3000;
    const agents = ["m1", "m2"].map((id) => {
      const config = join(dir, `${id}.yaml`);
      writeFileSync(
        config,
        [
          `agentId: ${id}`,
          "site: plant",
          `broker: ${url}`,
          `journal: ${join(dir, `${id}.journal`)}`,
          "clock: wall",
          `epochMs: ${epochMs}`,
          "tickMs: 50",
          "logLevel: warn",
          "simulation: { trialKey: 7, disruptions: [] }",
          "",
        ].join("\n"),
      );
      return start(["agent", "--config", config]);
    });
    for (const a of agents) await waitFor(a.output, /online at/, 15_000);
    const coordinator = start([
      "coordinator",
      "--scenario",
      join(dir, "cell.yaml"),
      "--broker",
      url,
      "--site",
      "plant",
      "--epoch-ms",
      String(epochMs),
      "--tick-ms",
      "50",
      "--wait-agents",
      "20",
      "--exit-when-done",
    ]);
    const code = await Promise.race([
      coordinator.exited,
      new Promise<string>((r) => setTimeout(() => r("timeout"), 45_000)),
    ]);
    expect(code, coordinator.output()).toBe(0);
    expect(coordinator.output()).toMatch(/all done: 5\/5 activities, makespan \d+/);
    for (const a of agents) {
      a.child.kill("SIGTERM");
      expect(await a.exited).toBe(0);
      expect(a.output()).toMatch(/stopped on SIGTERM/);
    }
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  });

  it("a bad agent settings file stops with one readable line", async () => {
    const config = join(dir, "bad.yaml");
    writeFileSync(config, `agentId: m1\njournal: ${join(dir, "bad.journal")}\nclock: sundial\n`);
    const agent = start(["agent", "--config", config]);
    expect(await agent.exited).toBe(65);
    expect(agent.output().trim().split("\n")).toHaveLength(1);
    expect(agent.output()).toMatch(
      /settings: "clock" must be one of "wall", "lockstep", got "sundial" \(from .*bad\.yaml\)/,
    );
  });
});
