import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { reoptimize } from "./deliberative-repair.js";
import {
  admitOrder,
  applyOrder,
  intakeOrder,
  type OrderRequest,
  priorityWeight,
} from "./order-intake.js";

const shop: TaskModel = {
  name: "one machine",
  resources: [{ id: "m1" }, { id: "m2" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0"] },
    {
      kind: "activity",
      id: "a.o0",
      resources: ["m1"],
      duration: [{ value: 2, probability: 1 }],
      quality: [{ value: 1, probability: 1 }],
    },
  ],
  links: [],
};
const index = (m: TaskModel) => {
  const r = indexModel(m);
  if (!r.ok) throw new Error(r.error[0]?.message);
  return r.value;
};
const job = (id: string, dueTicks: number, resources = ["m1"]) => ({
  id,
  dueTicks,
  operations: [{ resources, durationTicks: 5 }],
});

describe("admitOrder", () => {
  it("adds the jobs under the root, their operations chained, not released before now", () => {
    const order: OrderRequest = {
      orderId: "o1",
      jobs: [
        {
          id: "r",
          operations: [
            { resources: ["m1"], durationTicks: 2 },
            { id: "r-last", resources: ["m2"], durationTicks: 3 },
          ],
        },
      ],
    };
    const a = admitOrder(shop, index(shop), order, 10, { m1: 4 });
    expect(a.kind).toBe("accepted");
    if (a.kind !== "accepted") return;
    expect(a.delta.jobIds).toEqual(["r"]);
    expect(a.delta.nodes.map((n) => n.id)).toEqual(["r", "r.o0", "r-last"]);
    expect(a.delta.links).toEqual([{ kind: "enables", from: "r.o0", to: "r-last" }]);
    const task = a.model.nodes.find((n) => n.id === "r");
    expect(task?.kind === "task" && task.releaseTicks).toBe(10);
    expect(a.model.nodes.find((n) => n.id === "root")).toMatchObject({ children: ["a", "r"] });
    // A journalled order replays to the very same model.
    expect(applyOrder(shop, a.delta)).toEqual(a.model);
  });

  it("refuses, saying where, an id already in the model or a resource the site lacks", () => {
    const clash = admitOrder(shop, index(shop), { orderId: "o", jobs: [job("a", 9)] }, 0, {});
    expect(clash).toEqual({ kind: "refused", reason: 'jobs[0]: id "a" is already in the model' });
    const twice = admitOrder(
      shop,
      index(shop),
      {
        orderId: "o",
        jobs: [
          job("x", 9),
          { ...job("y", 9), operations: [{ id: "x", resources: ["m1"], durationTicks: 1 }] },
        ],
      },
      0,
      {},
    );
    expect(twice).toMatchObject({
      kind: "refused",
      reason: 'jobs[1].operations[0]: id "x" is already in the model',
    });
    const unknown = admitOrder(
      shop,
      index(shop),
      { orderId: "o", jobs: [job("x", 9, ["m1", "m9"])] },
      0,
      {},
    );
    expect(unknown).toEqual({
      kind: "refused",
      reason: 'jobs[0].operations[0].resources: "m9" is not a resource of this site (m1, m2)',
    });
  });

  it("weighs a job by its order's priority", () => {
    expect(priorityWeight(undefined)).toBe(1);
    expect(priorityWeight(0)).toBe(1);
    expect(priorityWeight(10)).toBe(2);
    const a = admitOrder(
      shop,
      index(shop),
      { orderId: "o", priority: 30, jobs: [{ ...job("x", 9), weight: 2 }] },
      0,
      {},
    );
    if (a.kind !== "accepted") throw new Error(a.reason);
    expect(a.delta.nodes[0]).toMatchObject({ due: { dueTicks: 9, weight: 8 } });
  });

  it("gets a higher-priority order scheduled ahead of a routine one that came first", () => {
    // Two like jobs on one machine, both due at 7: one of them must be late. The first order is
    // routine, the second urgent; whichever job the urgent order holds goes first.
    const firstOnM1 = (urgent: "x" | "y") => {
      let model = shop;
      for (const id of ["x", "y"] as const) {
        const priority = id === urgent ? 50 : 0;
        const a = admitOrder(
          model,
          index(model),
          { orderId: id, priority, jobs: [job(id, 7)] },
          0,
          {},
        );
        if (a.kind !== "accepted") throw new Error(a.reason);
        model = a.model;
      }
      const solved = reoptimize(index(model), {
        nowTicks: 0,
        objective: "twt",
        seed: 1,
        maxIterations: 200,
        cancelled: ["a.o0"],
      });
      if (!solved.ok) throw new Error(solved.error.reason);
      const m1 = solved.value.schedule.resources.find((r) => r.resourceId === "m1")!;
      return [...m1.activities].sort((p, q) => (p.startTicks ?? 0) - (q.startTicks ?? 0))[0]
        ?.activityId;
    };
    expect(firstOnM1("y")).toBe("y.o0");
    expect(firstOnM1("x")).toBe("x.o0");
  });
});

describe("intakeOrder", () => {
  const state = { model: shop, index: index(shop), accepted: new Set<string>() };
  const arrival = (order: OrderRequest) => ({ from: "ops", messageId: "ops:9:0", order, load: {} });

  it("journals, answers and schedules an accepted order, in that order", () => {
    const { state: next, commands } = intakeOrder(
      state,
      arrival({ orderId: "o1", jobs: [job("x", 9)] }),
      4,
    );
    expect(commands.map((c) => c.kind)).toEqual(["journal", "reply", "repair"]);
    expect(commands[1]).toEqual({
      kind: "reply",
      to: "ops",
      corr: "ops:9:0",
      orderId: "o1",
      accepted: true,
      jobs: 1,
    });
    expect(next.accepted.has("o1")).toBe(true);
    expect(next.index.nodes.has("x.o0")).toBe(true);
    // The state it was given is untouched.
    expect(state.accepted.size).toBe(0);
    // The same order again: the same answer, nothing journalled, nothing re-planned.
    const again = intakeOrder(next, arrival({ orderId: "o1", jobs: [job("x", 9)] }), 5);
    expect(again.state).toBe(next);
    expect(again.commands).toEqual([
      {
        kind: "reply",
        to: "ops",
        corr: "ops:9:0",
        orderId: "o1",
        accepted: true,
        reason: "already accepted",
        jobs: 1,
      },
    ]);
  });

  it("refuses with the reason and changes nothing", () => {
    const { state: next, commands } = intakeOrder(
      state,
      arrival({ orderId: "o2", jobs: [job("y", 9, ["m9"])] }),
      4,
    );
    expect(next).toBe(state);
    expect(commands).toEqual([
      {
        kind: "reply",
        to: "ops",
        corr: "ops:9:0",
        orderId: "o2",
        accepted: false,
        reason: 'jobs[0].operations[0].resources: "m9" is not a resource of this site (m1, m2)',
      },
    ]);
  });
});
