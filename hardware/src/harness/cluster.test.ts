import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createRng,
  generateBackupProblem,
  generateJobShopScenario,
  indexModel,
  type ModelChange,
  randomSuite,
  runStrategy,
  type Strategy,
  trialKey,
} from "@consort/core";
import { afterAll, describe, expect, it } from "vitest";
import { CtaemsCluster, groupAgents, someOf } from "./cluster.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tally = (m: ReadonlyMap<string, number>) => Object.fromEntries([...m].sort());

/** Agents as processes over aedes give exactly what the same agents give in one process. */
async function agreeInAndOutOfProcess(
  scenario: { model: Parameters<typeof indexModel>[0]; initial: Parameters<typeof runStrategy>[1] },
  trials: number,
  options: { agentsPerProcess?: number; changes?: readonly ModelChange[] } = {},
): Promise<{ messages: number; bytes: number; processes: number; agents: number }> {
  const indexed = indexModel(scenario.model);
  if (!indexed.ok) throw new Error("bad model");
  const index = indexed.value;
  const strategies: Strategy[] = ["initial", "bos", "consort"];
  const runDir = mkdtempSync(join(tmpdir(), "consort-cluster-test-"));
  dirs.push(runDir);
  const cluster = await CtaemsCluster.start(index, scenario.initial, {
    strategies,
    runDir,
    ...(options.agentsPerProcess !== undefined
      ? { agentsPerProcess: options.agentsPerProcess }
      : {}),
  });
  const processes = cluster.agentProcesses.length;
  let messages = 0;
  let bytes = 0;
  try {
    for (let trial = 0; trial < trials; trial++) {
      const key = trialKey(createRng(100 + trial));
      for (const s of strategies) {
        const changes = options.changes ?? [];
        const local = runStrategy(index, scenario.initial, s, key, { changes });
        const remote = await cluster.run(s, trial, key, { changes });
        expect(remote.rootQuality).toBe(local.rootQuality);
        expect(remote.executed).toEqual(local.executed);
        expect(remote.ticks).toBe(local.ticks);
        expect(remote.traffic.messages).toBe(local.traffic.messages);
        expect(tally(remote.traffic.byType)).toEqual(tally(local.traffic.byType));
        expect(tally(remote.traffic.byAgent)).toEqual(tally(local.traffic.byAgent));
        expect(remote.control).toBe(2 * cluster.agents.length * remote.ticks);
        expect(remote.controlBytes).toBeGreaterThan(remote.control * 10);
        messages += remote.traffic.messages;
        bytes += remote.bytes;
      }
    }
  } finally {
    await cluster.close();
  }
  return { messages, bytes, processes, agents: cluster.agents.length };
}

describe("CtaemsCluster: C-TAEMS agents as processes over a real broker", () => {
  it("matches the in-process run exactly on a small backup problem, deliberative scheduler included", async () => {
    const scenario = generateBackupProblem({ windows: 2, seed: 3, problems: 3, backupAgents: 2 });
    const { messages, bytes } = await agreeInAndOutOfProcess(scenario, 2);
    // Consort's agents did talk over the broker, and every message was counted with its bytes.
    expect(messages).toBeGreaterThan(0);
    expect(bytes).toBeGreaterThan(messages * 10);
  }, 120_000);

  it("matches on a random scenario with enables chains and synchronized starts", async () => {
    const scenario = randomSuite(1).find((s) => s.name.includes("fail-high"))!;
    await agreeInAndOutOfProcess(scenario, 1);
  }, 120_000);

  it("matches with several agents per process, on a job shop with breakdowns", async () => {
    const scenario = generateJobShopScenario({ machines: 7, seed: 2 });
    expect(scenario.changes.length).toBeGreaterThan(0);
    const { messages, processes, agents } = await agreeInAndOutOfProcess(scenario, 1, {
      agentsPerProcess: 3,
      changes: scenario.changes,
    });
    // 7 agents, 3 to a process: 3, 3 and 1, each agent with its own connection and identity.
    expect(agents).toBe(7);
    expect(processes).toBe(3);
    expect(messages).toBeGreaterThan(0);
  }, 120_000);

  it("stops with a readable error when an agent process dies mid-run", async () => {
    const scenario = generateBackupProblem({ windows: 1, seed: 1, problems: 2, backupAgents: 1 });
    const indexed = indexModel(scenario.model);
    if (!indexed.ok) throw new Error("bad model");
    const runDir = mkdtempSync(join(tmpdir(), "consort-cluster-test-"));
    dirs.push(runDir);
    const cluster = await CtaemsCluster.start(indexed.value, scenario.initial, {
      strategies: ["bos"],
      runDir,
    });
    try {
      const victim = cluster.agents[0]!;
      process.kill(cluster.pids.get(victim)!, "SIGKILL");
      await expect(cluster.run("bos", 0, trialKey(createRng(1)))).rejects.toThrow(
        new RegExp(`agent process ${victim} exited \\(SIGKILL\\)`),
      );
    } finally {
      await cluster.close();
    }
  }, 60_000);

  it("stops with a readable error naming the agents when a process hosting several dies", async () => {
    const scenario = generateJobShopScenario({ machines: 5, seed: 1 });
    const indexed = indexModel(scenario.model);
    if (!indexed.ok) throw new Error("bad model");
    const runDir = mkdtempSync(join(tmpdir(), "consort-cluster-test-"));
    dirs.push(runDir);
    const cluster = await CtaemsCluster.start(indexed.value, scenario.initial, {
      strategies: ["consort"],
      runDir,
      agentsPerProcess: 2,
    });
    try {
      const [first, second] = cluster.agents;
      expect(cluster.pids.get(first!)).toBe(cluster.pids.get(second!));
      process.kill(cluster.pids.get(first!)!, "SIGKILL");
      await expect(
        cluster.run("consort", 0, trialKey(createRng(1)), { changes: scenario.changes }),
      ).rejects.toThrow(
        new RegExp(
          `agent process #0 hosting 2 agents \\(${first} … ${second}\\) exited \\(SIGKILL\\)`,
        ),
      );
    } finally {
      await cluster.close();
    }
  }, 60_000);
});

describe("cluster helpers", () => {
  it("groups agents in order, the last group smaller", () => {
    expect(groupAgents(["a", "b", "c", "d", "e"], 2)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(groupAgents(["a", "b"], 1)).toEqual([["a"], ["b"]]);
    expect(groupAgents(["a", "b"], 5)).toEqual([["a", "b"]]);
    expect(() => groupAgents(["a"], 0)).toThrow(/agentsPerProcess must be an integer >= 1/);
  });

  it("names a few of a long list", () => {
    expect(someOf(["a", "b"])).toBe("a, b");
    expect(someOf(["a", "b", "c", "d"], 2)).toBe("a, b and 2 more");
  });
});
