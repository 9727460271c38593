import { describe, expect, it } from "vitest";
import { expectedValue } from "../../model/distribution.js";
import {
  descendantActivities,
  effectiveDeadline,
  effectiveRelease,
  indexModel,
  type ModelIndex,
} from "../../model/model-index.js";
import type { ActivityNode, Link, ModelNode, Qaf, TaskModel } from "../../model/types.js";
import { evaluateQuality, executionOfSchedule } from "../../quality/qaf.js";
import { checkSchedule } from "../../schedule/check.js";
import type { Schedule } from "../../schedule/types.js";
import { act as method } from "../../test-support/ctaems-networks.js";
import { backupSuite } from "./backup.js";
import { initialSchedule } from "./initial-schedule.js";
import { randomSuite } from "./random.js";
import type { CtaemsScenario } from "./types.js";

const index = (model: TaskModel): ModelIndex => {
  const r = indexModel(model);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

interface Slot {
  readonly start: number;
  readonly end: number;
  readonly owner: string;
}

/** Planned intervals by activity, checking each entry's fields on the way. */
function slots(ix: ModelIndex, schedule: Schedule): Map<string, Slot> {
  const out = new Map<string, Slot>();
  for (const r of schedule.resources) {
    expect(r.activities.length).toBeGreaterThan(0);
    for (const e of r.activities) {
      const node = ix.nodes.get(e.activityId) as ActivityNode;
      expect(node.kind).toBe("activity");
      expect(node.resources[0]).toBe(r.resourceId);
      expect(e.priority).toBe(2);
      expect(e.durationTicks).toBe(Math.ceil(expectedValue(node.duration)));
      expect(out.has(e.activityId)).toBe(false);
      out.set(e.activityId, {
        start: e.startTicks!,
        end: e.startTicks! + e.durationTicks!,
        owner: r.resourceId,
      });
    }
  }
  return out;
}

/** The properties every initial schedule must have, checked directly (not via checkSchedule). */
function expectSound(s: CtaemsScenario): void {
  const ix = index(s.model);
  const plan = slots(ix, s.initial);
  // No overlap on any agent, listed in start order.
  for (const r of s.initial.resources) {
    for (let i = 1; i < r.activities.length; i++) {
      const a = plan.get(r.activities[i - 1]!.activityId)!;
      const b = plan.get(r.activities[i]!.activityId)!;
      expect(b.start).toBeGreaterThanOrEqual(a.end);
    }
  }
  // Release and deadline with expected durations.
  for (const [id, p] of plan) {
    expect(p.start).toBeGreaterThanOrEqual(effectiveRelease(ix, id));
    const deadline = effectiveDeadline(ix, id);
    if (deadline !== undefined) expect(p.end).toBeLessThanOrEqual(deadline);
  }
  // Enables: every scheduled target starts once the source's scheduled methods have ended, and
  // only if the source has something scheduled.
  for (const link of s.model.links) {
    const sourceEnds = descendantActivities(ix, link.from).flatMap((a) =>
      plan.has(a) ? [plan.get(a)!.end] : [],
    );
    for (const t of descendantActivities(ix, link.to)) {
      const p = plan.get(t);
      if (!p) continue;
      expect(sourceEnds.length).toBeGreaterThan(0);
      expect(p.start).toBeGreaterThanOrEqual(Math.max(...sourceEnds));
    }
  }
  // And the project's own checker agrees.
  expect(checkSchedule(ix, s.initial)).toEqual([]);
}

describe("initial schedules of generated scenarios", () => {
  const random = randomSuite(11);

  it("are sound for every random scenario", () => {
    for (const s of random) expectSound(s);
  });

  it("are sound for the backup problems", () => {
    for (const s of backupSuite(11).slice(0, 4)) expectSound(s);
  });

  it("earn positive root quality when nothing fails", () => {
    const empty = random.filter((s) => s.params.failure === "empty");
    expect(empty).toHaveLength(24);
    for (const s of empty) {
      const ix = index(s.model);
      expect(evaluateQuality(ix, executionOfSchedule(ix, s.initial)).rootQuality).toBeGreaterThan(
        0,
      );
    }
  });

  it("leave real choices: some methods are not scheduled, and some links bind", () => {
    let scheduled = 0;
    let methods = 0;
    for (const s of random) {
      methods += index(s.model).activities.length;
      scheduled += s.initial.resources.reduce((n, r) => n + r.activities.length, 0);
    }
    expect(scheduled / methods).toBeGreaterThan(0.2);
    expect(scheduled / methods).toBeLessThan(0.8);
    // Some enables target is held back past its release by its source's end.
    const bound = random.some((s) => {
      const ix = index(s.model);
      const plan = slots(ix, s.initial);
      return s.model.links.some((link) => {
        const ends = descendantActivities(ix, link.from).flatMap((a) =>
          plan.has(a) ? [plan.get(a)!.end] : [],
        );
        return descendantActivities(ix, link.to).some((t) => {
          const p = plan.get(t);
          return (
            p !== undefined && p.start === Math.max(...ends) && p.start > effectiveRelease(ix, t)
          );
        });
      });
    });
    expect(bound).toBe(true);
  });
});

// Small hand-built networks for the greedy's rules.
function net(
  groups: readonly {
    id: string;
    qaf: Qaf;
    methods: ActivityNode[];
    release?: number;
    deadline?: number;
  }[],
  links: Link[] = [],
): TaskModel {
  const nodes: ModelNode[] = [
    { kind: "task", id: "root", qaf: "sum", children: groups.map((g) => g.id) },
  ];
  for (const g of groups) {
    nodes.push({
      kind: "task",
      id: g.id,
      qaf: g.qaf,
      children: g.methods.map((m) => m.id),
      ...(g.release !== undefined ? { releaseTicks: g.release } : {}),
      ...(g.deadline !== undefined ? { deadlineTicks: g.deadline } : {}),
    });
    nodes.push(...g.methods);
  }
  return {
    name: "net",
    resources: [{ id: "a" }, { id: "b" }, { id: "c" }],
    root: "root",
    nodes,
    links,
  };
}

const starts = (schedule: Schedule): Record<string, number> =>
  Object.fromEntries(
    schedule.resources.flatMap((r) => r.activities.map((e) => [e.activityId, e.startTicks!])),
  );

describe("initialSchedule", () => {
  it("max: takes the single method with the best expected quality per tick that fits", () => {
    const model = net([
      {
        id: "T",
        qaf: "max",
        deadline: 10,
        methods: [
          method("slow", "a", 10, 12),
          method("quick", "b", 2, 4),
          method("late", "c", 11, 99),
        ],
      },
    ]);
    expect(starts(initialSchedule(model))).toEqual({ quick: 0 });
  });

  it("sum: takes every method that fits; min: all or none", () => {
    const model = net([
      {
        id: "S",
        qaf: "sum",
        deadline: 10,
        methods: [method("s1", "a", 5, 1), method("s2", "b", 20, 1)],
      },
      {
        id: "M",
        qaf: "min",
        deadline: 10,
        methods: [method("m1", "c", 3, 1), method("m2", "b", 20, 1)],
      },
      {
        id: "N",
        qaf: "min",
        deadline: 20,
        methods: [method("n1", "a", 4, 1), method("n2", "c", 4, 1)],
      },
    ]);
    expect(starts(initialSchedule(model))).toEqual({ s1: 0, n1: 5, n2: 0 });
  });

  it("syncsum: starts its methods together at the latest owner availability", () => {
    const model = net([
      { id: "A", qaf: "sum", methods: [method("pre", "a", 6, 1)] },
      { id: "Y", qaf: "syncsum", methods: [method("y1", "a", 3, 1), method("y2", "b", 3, 1)] },
    ]);
    expect(starts(initialSchedule(model))).toEqual({ pre: 0, y1: 6, y2: 6 });
  });

  it("enables: a target waits for the end of its source's scheduled methods", () => {
    const model = net(
      [
        { id: "T", qaf: "sum", release: 10, methods: [method("t1", "c", 2, 1)] },
        { id: "S", qaf: "sum", methods: [method("s1", "a", 4, 1), method("s2", "b", 7, 1)] },
      ],
      [{ kind: "enables", from: "S", to: "T" }],
    );
    // T comes first in the model and has the later release but is still planned after S.
    expect(starts(initialSchedule(model))).toEqual({ s1: 0, s2: 0, t1: 10 });
    const tighter = net(
      [
        { id: "S", qaf: "sum", methods: [method("s1", "a", 4, 1), method("s2", "b", 12, 1)] },
        { id: "T", qaf: "sum", release: 10, methods: [method("t1", "c", 2, 1)] },
      ],
      [{ kind: "enables", from: "S", to: "T" }],
    );
    expect(starts(initialSchedule(tighter))).toEqual({ s1: 0, s2: 0, t1: 12 });
  });

  it("enables: a target whose source has nothing scheduled is not scheduled", () => {
    const model = net(
      [
        { id: "S", qaf: "max", deadline: 3, methods: [method("s1", "a", 4, 1)] },
        { id: "T", qaf: "sum", methods: [method("t1", "b", 2, 1), method("t2", "c", 2, 1)] },
        { id: "U", qaf: "sum", methods: [method("u1", "c", 2, 1)] },
      ],
      [{ kind: "enables", from: "S", to: "t1" }],
    );
    expect(starts(initialSchedule(model))).toEqual({ t2: 0, u1: 2 });
  });

  it("never schedules a method with zero expected quality", () => {
    const model = net([
      { id: "S", qaf: "sum", methods: [method("zero", "a", 2, 0), method("one", "b", 2, 1)] },
    ]);
    expect(starts(initialSchedule(model))).toEqual({ one: 0 });
  });

  it("throws on an invalid model", () => {
    const bad: TaskModel = { ...net([]), root: "nowhere" };
    expect(() => initialSchedule(bad)).toThrow(/invalid model/);
  });
});
