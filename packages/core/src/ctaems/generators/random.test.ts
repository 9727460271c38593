import { describe, expect, it } from "vitest";
import { expectedValue, probabilityPositive } from "../../model/distribution.js";
import { indexModel } from "../../model/model-index.js";
import type { ActivityNode, TaskModel, TaskNode } from "../../model/types.js";
import { generateRandomScenario, LEVELS, type Level, randomSuite } from "./random.js";

const activities = (model: TaskModel): ActivityNode[] =>
  model.nodes.filter((n): n is ActivityNode => n.kind === "activity");
const tasks = (model: TaskModel): TaskNode[] =>
  model.nodes.filter((n): n is TaskNode => n.kind === "task");
const windowOf = (id: string): number => Number(id.slice(1, id.indexOf("/")));

const FAILURE_RANGE: Record<Level, [number, number]> = {
  empty: [0, 0],
  low: [0.05, 0.15],
  medium: [0.15, 0.25],
  high: [0.3, 0.4],
};
const LINKS: Record<Level, number> = { empty: 0, low: 2, medium: 4, high: 7 };

describe("randomSuite (CSC §5)", () => {
  const suite = randomSuite(2024);

  it("crosses 4 NLE classes, 4 failure classes and 6 overlap levels: 96 >= 86 scenarios", () => {
    expect(suite.length).toBe(96);
    expect(suite.length).toBeGreaterThanOrEqual(86);
    expect(new Set(suite.map((s) => s.name)).size).toBe(suite.length);
    const combos = new Set(
      suite.map((s) => `${s.params.nle}|${s.params.failure}|${s.params.overlap}`),
    );
    for (const nle of LEVELS)
      for (const failure of LEVELS)
        for (let overlap = 0; overlap < 6; overlap++)
          expect(combos.has(`${nle}|${failure}|${overlap}`)).toBe(true);
    for (const s of suite) {
      expect(s.suite).toBe("random");
      expect(s.name).toBe(
        `random-nle-${s.params.nle}-fail-${s.params.failure}-ov${s.params.overlap}`,
      );
      expect(s.model.name).toBe(s.name);
    }
    expect(new Set(suite.map((s) => s.params.seed)).size).toBe(suite.length);
  });

  it("builds valid models", () => {
    for (const s of suite) {
      const r = indexModel(s.model);
      if (!r.ok) throw new Error(`${s.name}: ${JSON.stringify(r.error)}`);
    }
  });

  it("has 4 agents, 3 windows of 60 ticks overlapping by 6 per level, 3 tasks each", () => {
    for (const s of suite) {
      const { model } = s;
      const ov = 6 * Number(s.params.overlap);
      expect(model.resources.map((r) => r.id)).toEqual([
        "agent-0",
        "agent-1",
        "agent-2",
        "agent-3",
      ]);
      const byId = new Map(model.nodes.map((n) => [n.id, n]));
      const root = byId.get("root") as TaskNode;
      expect(root.qaf).toBe("sum");
      expect(root.children).toEqual(["w0", "w1", "w2"]);
      root.children.forEach((w, k) => {
        const window = byId.get(w) as TaskNode;
        expect(window.qaf).toBe("sum");
        expect(window.releaseTicks).toBe(k * (60 - ov));
        expect(window.deadlineTicks).toBe(k * (60 - ov) + 60);
        expect(window.children).toEqual([`${w}/t0`, `${w}/t1`, `${w}/t2`]);
        for (const t of window.children) {
          const task = byId.get(t) as TaskNode;
          expect(["max", "sum", "min", "syncsum"]).toContain(task.qaf);
          expect(task.children.length).toBeGreaterThanOrEqual(2);
          expect(task.children.length).toBeLessThanOrEqual(3);
          expect(task.children).toEqual(task.children.map((_, i) => `${t}/m${i}`));
          const methods = task.children.map((m) => byId.get(m) as ActivityNode);
          const owners = methods.map((m) => m.resources[0]);
          expect(new Set(owners).size).toBe(methods.length);
          for (const m of methods) expect(m.resources).toHaveLength(1);
          if (task.qaf === "max") {
            const values = methods.map((m) => Math.max(...m.quality.map((o) => o.value)));
            expect(new Set(values).size).toBe(values.length);
          }
        }
      });
    }
  });

  it("draws every QAF, and both 2 and 3 methods per task", () => {
    const qafs = new Set(suite.flatMap((s) => tasks(s.model).map((t) => t.qaf)));
    expect([...qafs].sort()).toEqual(["max", "min", "sum", "syncsum"]);
    const sizes = new Set(
      suite.flatMap((s) =>
        tasks(s.model)
          .filter((t) => /\/t\d$/.test(t.id))
          .map((t) => t.children.length),
      ),
    );
    expect([...sizes].sort()).toEqual([2, 3]);
  });

  it("gives methods three durations {b-2, b, b+3} and a success value in [5, 20]", () => {
    for (const s of suite) {
      for (const a of activities(s.model)) {
        const [low, mid, high] = a.duration;
        expect(a.duration.map((o) => o.probability)).toEqual([0.25, 0.5, 0.25]);
        expect(low!.value).toBe(Math.max(1, mid!.value - 2));
        expect(high!.value).toBe(mid!.value + 3);
        expect(high!.value).toBeLessThanOrEqual(60);
        const v = Math.max(...a.quality.map((o) => o.value));
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(5);
        expect(v).toBeLessThanOrEqual(20);
      }
    }
  });

  it("oversubscribes the windows: expected work per agent per window is 1.0-1.6x their length", () => {
    let work = 0;
    for (const s of suite) for (const a of activities(s.model)) work += expectedValue(a.duration);
    const perAgentWindow = work / (suite.length * 4 * 3);
    expect(perAgentWindow / 60).toBeGreaterThanOrEqual(1.0);
    expect(perAgentWindow / 60).toBeLessThanOrEqual(1.6);
  });

  it("sets failure probabilities by class", () => {
    for (const s of suite) {
      const [lo, hi] = FAILURE_RANGE[s.params.failure as Level];
      const seen = new Set<number>();
      for (const a of activities(s.model)) {
        const pf = 1 - probabilityPositive(a.quality);
        expect(pf).toBeGreaterThanOrEqual(lo - 1e-9);
        expect(pf).toBeLessThanOrEqual(hi + 1e-9);
        expect(Math.abs(pf * 100 - Math.round(pf * 100))).toBeLessThan(1e-9);
        seen.add(Math.round(pf * 100));
        if (s.params.failure === "empty") expect(a.quality).toHaveLength(1);
        else expect(a.quality[0]).toEqual({ value: 0, probability: expect.closeTo(pf, 9) });
      }
      // The jitter really varies the rate within a scenario.
      if (s.params.failure !== "empty") expect(seen.size).toBeGreaterThan(1);
    }
  });

  it("adds 0 / 2 / 4 / 7 enables links between tasks of consecutive windows, acyclic", () => {
    for (const s of suite) {
      const links = s.model.links;
      expect(links).toHaveLength(LINKS[s.params.nle as Level]);
      expect(new Set(links.map((l) => `${l.from}->${l.to}`)).size).toBe(links.length);
      for (const l of links) {
        expect(l.kind).toBe("enables");
        expect(l.from).toMatch(/^w\d\/t\d$/);
        expect(l.to).toMatch(/^w\d\/t\d$/);
        expect(windowOf(l.to)).toBe(windowOf(l.from) + 1);
      }
      if (s.params.nle === "high") {
        const chain = links.some(
          (a) =>
            windowOf(a.from) === 0 && links.some((b) => b.from === a.to && windowOf(b.to) === 2),
        );
        expect(chain).toBe(true);
      }
    }
  });
});

describe("generateRandomScenario", () => {
  const base = { nle: "medium", failure: "low", overlap: 3, seed: 99 } as const;

  it("is deterministic for its options and differs between seeds", () => {
    const a = generateRandomScenario(base);
    expect(generateRandomScenario(base)).toEqual(a);
    expect(generateRandomScenario({ ...base, seed: 100 }).model).not.toEqual(a.model);
    expect(a.params).toEqual({ nle: "medium", failure: "low", overlap: 3, seed: 99 });
  });

  it("keeps the tree of a seed across classes: only failures and links change", () => {
    const a = generateRandomScenario(base);
    const b = generateRandomScenario({ ...base, nle: "high", failure: "empty", overlap: 0 });
    const shape = (m: TaskModel) =>
      m.nodes.map((n) =>
        n.kind === "task"
          ? [n.id, n.qaf, n.children]
          : [n.id, n.resources, n.duration, Math.max(...n.quality.map((o) => o.value))],
      );
    expect(shape(b.model)).toEqual(shape(a.model));
    expect(b.model.links.length).not.toBe(a.model.links.length);
  });

  it("rejects an overlap level outside 0..5", () => {
    expect(() => generateRandomScenario({ ...base, overlap: 6 })).toThrow(RangeError);
    expect(() => generateRandomScenario({ ...base, overlap: -1 })).toThrow(RangeError);
  });

  it("lets the suite use fewer overlap levels", () => {
    const small = randomSuite(3, { overlaps: 2 });
    expect(small).toHaveLength(32);
    expect(new Set(small.map((s) => s.params.overlap))).toEqual(new Set([0, 1]));
    expect(randomSuite(3, { overlaps: 2 }).map((s) => s.params.seed)).toEqual(
      small.map((s) => s.params.seed),
    );
    expect(() => randomSuite(3, { overlaps: 0 })).toThrow(RangeError);
  });
});
