import { describe, expect, it } from "vitest";
import { expectedValue, probabilityPositive } from "../../model/distribution.js";
import { indexModel } from "../../model/model-index.js";
import type { ActivityNode, ModelNode, TaskModel, TaskNode } from "../../model/types.js";
import { checkSchedule } from "../../schedule/check.js";
import { backupSuite, generateBackupProblem } from "./backup.js";

const nodeMap = (model: TaskModel): Map<string, ModelNode> =>
  new Map(model.nodes.map((n) => [n.id, n]));
const task = (nodes: Map<string, ModelNode>, id: string): TaskNode => {
  const n = nodes.get(id);
  if (n?.kind !== "task") throw new Error(`${id} is not a task`);
  return n;
};
const activity = (nodes: Map<string, ModelNode>, id: string): ActivityNode => {
  const n = nodes.get(id);
  if (n?.kind !== "activity") throw new Error(`${id} is not an activity`);
  return n;
};
const activities = (model: TaskModel): ActivityNode[] =>
  model.nodes.filter((n): n is ActivityNode => n.kind === "activity");
const isTwoDecimals = (p: number): boolean => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9;
const pid = (k: number): string => `problem-${String(k).padStart(2, "0")}`;

describe("generateBackupProblem (CSC §5)", () => {
  const W = 4;
  const scenario = generateBackupProblem({ windows: W, seed: 42 });
  const { model } = scenario;
  const nodes = nodeMap(model);

  it("names the scenario and records its parameters", () => {
    expect(scenario.name).toBe("backup-w4");
    expect(scenario.suite).toBe("backup");
    expect(scenario.params).toEqual({ windows: 4, seed: 42 });
    expect(indexModel(model).ok).toBe(true);
  });

  it("has a sum root over 20 min problems of W sum windows with the §5 intervals", () => {
    const root = task(nodes, model.root);
    expect(root.qaf).toBe("sum");
    expect(root.children).toEqual(Array.from({ length: 20 }, (_, k) => pid(k)));
    for (let k = 0; k < 20; k++) {
      const problem = task(nodes, pid(k));
      expect(problem.qaf).toBe("min");
      expect(problem.children).toHaveLength(W);
      problem.children.forEach((windowId, w) => {
        const window = task(nodes, windowId);
        expect(window.id).toBe(`${pid(k)}/w${w}`);
        expect(window.qaf).toBe("sum");
        expect([window.releaseTicks, window.deadlineTicks]).toEqual([32 * w, 32 * w + 40]);
        expect(window.children).toEqual([`${windowId}/any`]);
        const any = task(nodes, `${windowId}/any`);
        expect(any.qaf).toBe("max");
        expect(any.children).toEqual([
          `${windowId}/primary`,
          `${windowId}/backup-1`,
          `${windowId}/backup-2`,
          `${windowId}/backup-3`,
        ]);
      });
    }
    // First windows: [0, 40], [32, 72], [64, 104].
    expect(task(nodes, "problem-07/w2").releaseTicks).toBe(64);
    expect(task(nodes, "problem-07/w2").deadlineTicks).toBe(104);
    expect(activities(model)).toHaveLength(20 * W * 4);
  });

  it("gives each problem its own primary agent and draws backup owners from a pool of 10", () => {
    const pool = new Set(Array.from({ length: 10 }, (_, i) => `backup-${i}`));
    const primaries = new Set<string>();
    for (const a of activities(model)) {
      expect(a.resources).toHaveLength(1);
      const owner = a.resources[0]!;
      if (a.id.endsWith("/primary")) {
        expect(owner).toBe(`primary-${a.id.slice("problem-".length, "problem-".length + 2)}`);
        primaries.add(owner);
      } else expect(pool.has(owner)).toBe(true);
    }
    expect(primaries.size).toBe(20);
    expect(model.resources.map((r) => r.id).sort()).toEqual([...primaries, ...pool].sort());
  });

  it("draws primaries as §5 says: P(q=1) in [0.5, 1], durations {7,8,9}+ds, ds in [-4, 4]", () => {
    for (const a of activities(model).filter((x) => x.id.endsWith("/primary"))) {
      const p = probabilityPositive(a.quality);
      expect(p).toBeGreaterThanOrEqual(0.5);
      expect(p).toBeLessThanOrEqual(1);
      expect(isTwoDecimals(p)).toBe(true);
      if (p === 1) expect(a.quality).toEqual([{ value: 1, probability: 1 }]);
      else
        expect(a.quality).toEqual([
          { value: 0, probability: expect.closeTo(1 - p, 9) },
          { value: 1, probability: p },
        ]);
      const ds = a.duration[0]!.value - 7;
      expect(ds).toBeGreaterThanOrEqual(-4);
      expect(ds).toBeLessThanOrEqual(4);
      expect(a.duration).toEqual([
        { value: 7 + ds, probability: 0.25 },
        { value: 8 + ds, probability: 0.5 },
        { value: 9 + ds, probability: 0.25 },
      ]);
      const window = task(nodes, a.id.slice(0, -"/primary".length));
      expect(a.releaseTicks).toBe(window.releaseTicks);
      expect(a.deadlineTicks).toBe(window.deadlineTicks);
    }
  });

  it("draws backups as §5 says: P(q=1) in [0.8, 0.9], durations {23,24,25}, shift 1..7", () => {
    for (const a of activities(model).filter((x) => x.id.includes("/backup-"))) {
      const p = probabilityPositive(a.quality);
      expect(p).toBeGreaterThanOrEqual(0.8);
      expect(p).toBeLessThanOrEqual(0.9);
      expect(isTwoDecimals(p)).toBe(true);
      expect(a.quality.map((o) => o.value)).toEqual([0, 1]);
      expect(a.duration).toEqual([
        { value: 23, probability: 0.25 },
        { value: 24, probability: 0.5 },
        { value: 25, probability: 0.25 },
      ]);
      const window = task(nodes, a.id.replace(/\/backup-\d$/, ""));
      const shift = a.releaseTicks! - window.releaseTicks!;
      expect(shift).toBeGreaterThanOrEqual(1);
      expect(shift).toBeLessThanOrEqual(7);
      expect(a.deadlineTicks).toBe(window.deadlineTicks);
    }
  });

  it("schedules only the primaries, each at its window's release, with priority 2", () => {
    const { initial } = scenario;
    expect(initial.resources).toHaveLength(20);
    for (const r of initial.resources) {
      expect(r.resourceId).toMatch(/^primary-\d\d$/);
      expect(r.activities).toHaveLength(W);
      r.activities.forEach((e, w) => {
        expect(e.activityId).toBe(`problem-${r.resourceId.slice(-2)}/w${w}/primary`);
        expect(e.startTicks).toBe(32 * w);
        expect(e.priority).toBe(2);
        const a = activity(nodes, e.activityId);
        expect(e.durationTicks).toBe(Math.ceil(expectedValue(a.duration)));
        expect(e.durationTicks).toBe(a.duration[1]!.value);
      });
    }
    const indexed = indexModel(model);
    if (!indexed.ok) throw new Error("invalid model");
    expect(checkSchedule(indexed.value, initial)).toEqual([]);
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const again = generateBackupProblem({ windows: W, seed: 42 });
    expect(again.model).toEqual(model);
    expect(again.initial).toEqual(scenario.initial);
    const other = generateBackupProblem({ windows: W, seed: 43 });
    expect(other.model.nodes).not.toEqual(model.nodes);
  });

  it("keeps problem k's first windows when W grows", () => {
    const big = nodeMap(generateBackupProblem({ windows: 10, seed: 42 }).model);
    for (const n of model.nodes) {
      if (n.kind === "activity" || n.id.includes("/")) expect(big.get(n.id)).toEqual(n);
    }
  });

  it("rejects bad options", () => {
    expect(() => generateBackupProblem({ windows: 0, seed: 1 })).toThrow(RangeError);
    expect(() => generateBackupProblem({ windows: 1.5, seed: 1 })).toThrow(RangeError);
    expect(() => generateBackupProblem({ windows: 1, seed: 1, backupAgents: 0 })).toThrow(
      RangeError,
    );
  });

  it("honours the problems and backupAgents options", () => {
    const small = generateBackupProblem({ windows: 2, seed: 42, problems: 3, backupAgents: 2 });
    expect(task(nodeMap(small.model), "root").children).toHaveLength(3);
    expect(small.model.resources.map((r) => r.id)).toEqual([
      "primary-00",
      "primary-01",
      "primary-02",
      "backup-0",
      "backup-1",
    ]);
    expect(small.params).toEqual({ windows: 2, seed: 42, problems: 3, backupAgents: 2 });
    // The first three problems are the same as in the 20-problem instance.
    const full = nodeMap(generateBackupProblem({ windows: 2, seed: 42 }).model);
    expect(nodeMap(small.model).get("problem-02/w1/primary")).toEqual(
      full.get("problem-02/w1/primary"),
    );
  });
});

describe("backupSuite", () => {
  const suite = backupSuite(7);

  it("runs W = 1..10", () => {
    expect(suite.map((s) => s.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `backup-w${i + 1}`),
    );
    expect(suite.map((s) => s.params.windows)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("has valid models of 30 agents, and at W = 10 800 methods and over 1000 nodes", () => {
    for (const s of suite) {
      expect(indexModel(s.model).ok).toBe(true);
      expect(s.model.resources).toHaveLength(30);
      const owners = new Set(activities(s.model).map((a) => a.resources[0]));
      // 20 primaries plus the backup agents actually used: with 60+ draws, all 10 of the pool.
      expect(owners.size).toBe(30);
    }
    const w10 = suite[9]!.model;
    expect(activities(w10)).toHaveLength(800);
    expect(w10.nodes.length).toBeGreaterThan(1000);
  });

  it("uses the whole range of every draw", () => {
    const all = activities(suite[9]!.model);
    const primaries = all.filter((a) => a.id.endsWith("/primary"));
    const backups = all.filter((a) => a.id.includes("/backup-"));
    const ds = new Set(primaries.map((a) => a.duration[0]!.value - 7));
    expect([...ds].sort((a, b) => a - b)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    const shifts = new Set(backups.map((a) => a.releaseTicks! - (a.deadlineTicks! - 40)));
    expect([...shifts].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const ps = primaries.map((a) => probabilityPositive(a.quality));
    expect(Math.min(...ps)).toBeLessThan(0.6);
    expect(Math.max(...ps)).toBeGreaterThan(0.9);
    const pb = backups.map((a) => probabilityPositive(a.quality));
    expect(Math.min(...pb)).toBe(0.8);
    expect(Math.max(...pb)).toBe(0.9);
    // Two backups of one window may share an owner (independent draws).
    const shared = new Set<string>();
    for (const b of backups) {
      const key = `${b.id.replace(/\/backup-\d$/, "")}|${b.resources[0]}`;
      if (shared.has(key)) return;
      shared.add(key);
    }
    throw new Error("no window has two backups of the same owner");
  });
});
