import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { checkSchedule } from "../schedule/check.js";
import type { Schedule } from "../schedule/types.js";
import { answerRequest } from "./answer-request.js";
import { placeInOrder } from "./local-scheduler.js";
import {
  answerRuntimeRequest,
  gateCentralRepair,
  pinHorizon,
  placeBackfilling,
  propagatedBounds,
  retimeInOrder,
  reviseInOrder,
  scheduleChurn,
  slackLatestStarts,
  startedSlots,
} from "./runtime-repair.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";

const activity = (id: string, resources: string[], value: number) => ({
  kind: "activity" as const,
  id,
  resources,
  duration: [{ value, probability: 1 }],
  quality: [{ value: 1, probability: 1 }],
});
// Job a: a.o0 on m1 (4), a.o1 on m2 (3). Job b: b.o0 on m2 (2). Job c: c.o0 on m1 (2).
const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m1" }, { id: "m2" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a", "b", "c"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0", "a.o1"] },
    { kind: "task", id: "b", qaf: "min", children: ["b.o0"] },
    { kind: "task", id: "c", qaf: "min", children: ["c.o0"] },
    activity("a.o0", ["m1"], 4),
    activity("a.o1", ["m2"], 3),
    activity("b.o0", ["m2"], 2),
    activity("c.o0", ["m1"], 2),
  ],
  links: [{ kind: "enables", from: "a.o0", to: "a.o1" }],
};
const r = indexModel(model);
if (!r.ok) throw new Error("bad model");
const index = r.value;
const plan: Schedule = {
  version: 1,
  resources: [
    {
      resourceId: "m1",
      activities: [
        { activityId: "a.o0", startTicks: 0, durationTicks: 4 },
        { activityId: "c.o0", startTicks: 4, durationTicks: 2 },
      ],
    },
    {
      resourceId: "m2",
      activities: [
        { activityId: "a.o1", startTicks: 4, durationTicks: 3 },
        { activityId: "b.o0", startTicks: 7, durationTicks: 2 },
      ],
    },
  ],
};
const startOf = (s: Schedule, id: string) =>
  s.resources.flatMap((x) => x.activities).find((a) => a.activityId === id)?.startTicks;

describe("negotiated repair at run time: each agent keeps its order, delays propagate", () => {
  it("an overrun of a.o0 (ends at 6) pushes its successor on m2 and what follows it, nothing else earlier", () => {
    const out = retimeInOrder(index, plan, {
      nowTicks: 6,
      frozen: [{ activityId: "a.o0", resourceId: "m1", startTicks: 0, durationTicks: 6 }],
      unavailable: [],
    });
    expect(startOf(out, "c.o0")).toBe(6);
    expect(startOf(out, "a.o1")).toBe(6);
    expect(startOf(out, "b.o0")).toBe(9);
    expect(checkSchedule(index, out, { requireAll: true })).toEqual([]);
  });

  it("works around unavailable time and never moves an operation earlier", () => {
    const out = retimeInOrder(index, plan, {
      nowTicks: 0,
      frozen: [],
      unavailable: [{ resourceId: "m2", fromTicks: 3, untilTicks: 8 }],
    });
    expect(startOf(out, "a.o1")).toBe(8);
    expect(startOf(out, "b.o0")).toBe(11);
    expect(startOf(out, "a.o0")).toBe(0);
  });
});

describe("churn", () => {
  it("counts operations moved, resequenced and reassigned, done ones aside", () => {
    const after: Schedule = {
      version: 2,
      resources: [
        {
          resourceId: "m1",
          activities: [
            { activityId: "a.o0", startTicks: 0, durationTicks: 4 },
            { activityId: "c.o0", startTicks: 4, durationTicks: 2 },
          ],
        },
        {
          resourceId: "m2",
          activities: [
            { activityId: "b.o0", startTicks: 4, durationTicks: 2 },
            { activityId: "a.o1", startTicks: 6, durationTicks: 3 },
          ],
        },
      ],
    };
    expect(scheduleChurn(plan, after)).toEqual({ moved: 2, resequenced: 2, reassigned: 0 });
    expect(scheduleChurn(plan, plan)).toEqual({ moved: 0, resequenced: 0, reassigned: 0 });
    expect(scheduleChurn(plan, after, new Set(["b.o0", "a.o1"]))).toEqual({
      moved: 0,
      resequenced: 0,
      reassigned: 0,
    });
  });
});

describe("the run-time quality gate", () => {
  const none = { moved: 0, resequenced: 0, reassigned: 0 };
  it("keeps the distributed plan unless the central one beats it by the threshold after churn", () => {
    // 100 vs 90: 10% better, above a 5% threshold...
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 90, churn: none },
        threshold: 0.05,
      }).keep,
    ).toBe("central");
    // ...but not once its 8 moves (weight 1 each) are charged.
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 90, churn: { moved: 4, resequenced: 4, reassigned: 0 } },
        threshold: 0.05,
      }).keep,
    ).toBe("distributed");
    expect(
      gateCentralRepair({
        distributed: { value: 100, churn: none },
        central: { value: 96, churn: none },
        threshold: 0.05,
      }).keep,
    ).toBe("distributed");
  });

  it("keeps the distributed plan when the central one is no better on the objective, only less churn", () => {
    // Both on time (0.043: the makespan's thousandth); central moves one operation fewer.
    const gate = gateCentralRepair({
      distributed: { value: 0.043, churn: { moved: 4, resequenced: 1, reassigned: 3 } },
      central: { value: 0.043, churn: { moved: 3, resequenced: 1, reassigned: 3 } },
      threshold: 0.05,
    });
    expect(gate.central).toBeLessThan(gate.distributed * 0.95);
    expect(gate.keep).toBe("distributed");
  });
});

describe("the central re-solve's frozen horizon", () => {
  it("pins what starts before the horizon when its predecessors are pinned too", () => {
    const pins = pinHorizon(index, plan, [], 5).map((p) => p.activityId);
    // a.o0 (0) and a.o1 (4, after a.o0) and c.o0 (4) start before 5; b.o0 (7) does not.
    expect(pins.sort()).toEqual(["a.o0", "a.o1", "c.o0"]);
    // a.o1 cannot be pinned while a.o0 is not (a job's prefix only).
    const late: Schedule = {
      version: 1,
      resources: [
        { resourceId: "m1", activities: [{ activityId: "a.o0", startTicks: 6, durationTicks: 4 }] },
        { resourceId: "m2", activities: [{ activityId: "a.o1", startTicks: 2, durationTicks: 3 }] },
      ],
    };
    expect(pinHorizon(index, late, [], 5)).toEqual([]);
  });
});

describe("keeping the order, filling gaps", () => {
  it("an operation takes a gap before its predecessor in the order only when it fits whole", () => {
    const ops = [
      { activityId: "x", durationTicks: 5, earliestTicks: 12 },
      { activityId: "y", durationTicks: 1, earliestTicks: 11 },
      { activityId: "z", durationTicks: 3, earliestTicks: 10 },
    ];
    const busy = [{ fromTicks: 0, untilTicks: 10 }];
    expect(placeBackfilling(ops, busy)).toEqual([
      { activityId: "x", startTicks: 12, durationTicks: 5 },
      { activityId: "y", startTicks: 11, durationTicks: 1 },
      { activityId: "z", startTicks: 17, durationTicks: 3 },
    ]);
    // Never later than keeping the order strictly.
    const strict = placeInOrder(
      ops.map((o) => ({ ...o, latestTicks: Number.POSITIVE_INFINITY })),
      busy,
    );
    for (const p of placeBackfilling(ops, busy))
      expect(p.startTicks).toBeLessThanOrEqual(
        strict.find((q) => q.activityId === p.activityId)!.startTicks,
      );
  });

  it("an agent's run-time revision keeps its order, honours its bounds, and moves nothing earlier", () => {
    const out = reviseInOrder({
      slots: [
        { activityId: "r", startTicks: 0, durationTicks: 6 },
        { activityId: "x", startTicks: 6, durationTicks: 5 },
        { activityId: "y", startTicks: 11, durationTicks: 1 },
        { activityId: "z", startTicks: 12, durationTicks: 3 },
      ],
      fixed: ["r"],
      nowTicks: 4,
      constraints: [{ activityId: "x", earliestStartTicks: 12 }],
      unavailable: [],
    });
    expect(out.slots.map((x) => [x.activityId, x.startTicks])).toEqual([
      ["r", 0],
      ["y", 11],
      ["x", 12],
      ["z", 17],
    ]);
    expect(out.moved).toEqual(["x", "z"]);
  });

  it("answers a negotiation's bounds in its order where the plan-time answer reorders to spare its weighted work", () => {
    // On m2: a.2 (weight 1) then b.1 (weight 4); a.2 must now wait until 9 for its predecessor.
    const agent = {
      resourceId: "m2",
      assignments: [
        {
          activityId: "a.2",
          resourceId: "m2",
          window: { earliestTicks: 5, latestTicks: 5 },
          durationTicks: 5,
        },
        {
          activityId: "b.1",
          resourceId: "m2",
          window: { earliestTicks: 6, latestTicks: 6 },
          durationTicks: 5,
        },
      ],
      unavailable: [],
      constraints: [],
      slots: [
        { activityId: "a.2", startTicks: 5, durationTicks: 5 },
        { activityId: "b.1", startTicks: 10, durationTicks: 5 },
      ],
      fixed: [],
      weights: new Map([
        ["a.2", 1],
        ["b.1", 4],
      ]),
    };
    const request = {
      kind: "revise" as const,
      resourceId: "m2",
      version: 3,
      constraints: [{ activityId: "a.2", earliestStartTicks: 9 }],
    };
    const planned = answerRequest(agent, request, 4, "greedy").answer.slots;
    expect(planned.map((x) => x.activityId)).toEqual(["b.1", "a.2"]);
    const inForce = answerRuntimeRequest(agent, request, 4, "greedy");
    expect(inForce.answer.slots.map((x) => [x.activityId, x.startTicks])).toEqual([
      ["a.2", 9],
      ["b.1", 14],
    ]);
    expect(inForce.answer.version).toBe(3);
    expect(inForce.constraints).toEqual([{ activityId: "a.2", earliestStartTicks: 9 }]);
  });

  it("retiming with gaps filled is never later than retiming in strict order", () => {
    const strict = retimeInOrder(index, plan, {
      nowTicks: 0,
      frozen: [],
      unavailable: [{ resourceId: "m2", fromTicks: 3, untilTicks: 8 }],
    });
    const filled = retimeInOrder(index, plan, {
      nowTicks: 0,
      frozen: [],
      unavailable: [{ resourceId: "m2", fromTicks: 3, untilTicks: 8 }],
      backfill: true,
    });
    for (const id of ["a.o0", "a.o1", "b.o0", "c.o0"])
      expect(startOf(filled, id)!).toBeLessThanOrEqual(startOf(strict, id)!);
    expect(checkSchedule(index, filled, { requireAll: true })).toEqual([]);
  });
});

describe("the planner's propagation in a run-time negotiation", () => {
  // Job x runs m1 -> m2 -> m3; job y (on m3) follows x.3 there; job w (on m2) follows x.2 there.
  const chain = indexed(
    jobShopModel([
      {
        id: "x",
        ops: [
          ["m1", 5],
          ["m2", 5],
          ["m3", 5],
        ],
      },
      { id: "y", ops: [["m3", 2]] },
      { id: "w", ops: [["m2", 1]] },
    ]),
  );
  const inForce: Schedule = {
    version: 4,
    resources: [
      { resourceId: "m1", activities: [{ activityId: "x.1", startTicks: 0, durationTicks: 5 }] },
      {
        resourceId: "m2",
        activities: [
          { activityId: "x.2", startTicks: 5, durationTicks: 5 },
          { activityId: "w.1", startTicks: 10, durationTicks: 1 },
        ],
      },
      {
        resourceId: "m3",
        activities: [
          { activityId: "x.3", startTicks: 10, durationTicks: 5 },
          { activityId: "y.1", startTicks: 15, durationTicks: 2 },
        ],
      },
    ],
  };

  it("an overrun reaches the whole chain of agents at once, as hard earliest starts of job successors", () => {
    // x.1 started at 0 and now ends at 9 (it is running at 5).
    const overran: Schedule = {
      ...inForce,
      resources: inForce.resources.map((r) =>
        r.resourceId === "m1"
          ? { ...r, activities: [{ activityId: "x.1", startTicks: 0, durationTicks: 9 }] }
          : r,
      ),
    };
    const { forecast, bounds } = propagatedBounds(chain, overran, { nowTicks: 5, unavailable: [] });
    // x.2 waits for x.1 (9), x.3 for x.2's forecast end (14): two agents in one round. What
    // follows on the same resource (w.1, y.1) is its agent's own business: no bound.
    expect(bounds.map((b) => [b.activityId, b.earliestStartTicks])).toEqual([
      ["x.2", 9],
      ["x.3", 14],
    ]);
    expect(startOf(forecast, "y.1")).toBe(19);
    expect(checkSchedule(chain, forecast, { requireAll: true })).toEqual([]);
  });

  it("asks nothing of a consistent schedule, and takes what started before now as it is", () => {
    const { bounds, forecast } = propagatedBounds(chain, inForce, { nowTicks: 7, unavailable: [] });
    expect(bounds).toEqual([]);
    expect(startOf(forecast, "x.2")).toBe(5);
    expect(startOf(forecast, "w.1")).toBe(10);
  });
});

describe("each operation's slack in a schedule in force", () => {
  it("reaches its job successor's start on another resource, else its due date, never before its start", () => {
    // Job a: a.1 on m1 (5), a.2 on m2 (5), due 30; job b: b.1 on m2 (3), due 4 (late already).
    const shop = indexed(
      jobShopModel([
        {
          id: "a",
          ops: [
            ["m1", 5],
            ["m2", 5],
          ],
          due: 30,
        },
        { id: "b", ops: [["m2", 3]], due: 4 },
      ]),
    );
    const s: Schedule = {
      version: 2,
      resources: [
        { resourceId: "m1", activities: [{ activityId: "a.1", startTicks: 0, durationTicks: 5 }] },
        {
          resourceId: "m2",
          activities: [
            { activityId: "b.1", startTicks: 2, durationTicks: 3 },
            { activityId: "a.2", startTicks: 12, durationTicks: 5 },
          ],
        },
      ],
    };
    const slack = slackLatestStarts(shop, s);
    // a.1 may end as late as a.2 starts (12); a.2 as late as its due date (30); b.1 is late
    // already: it may not start later than it does.
    expect(Object.fromEntries(slack)).toEqual({ "a.1": 7, "a.2": 25, "b.1": 2 });
  });
});

describe("what a negotiated plan shows started", () => {
  it("is its slots before now, where the agents put them", () => {
    // c.o0 was planned at 4 but held back to 6 by a.o0's overrun: at 5 it has not started.
    const agreed: Schedule = {
      version: 3,
      resources: [
        {
          resourceId: "m1",
          activities: [
            { activityId: "a.o0", startTicks: 0, durationTicks: 6 },
            { activityId: "c.o0", startTicks: 6, durationTicks: 2 },
          ],
        },
        { resourceId: "m2", activities: [{ activityId: "a.o1", startTicks: 6, durationTicks: 3 }] },
      ],
    };
    expect(startedSlots(agreed, 5)).toEqual([
      { activityId: "a.o0", resourceId: "m1", startTicks: 0, durationTicks: 6 },
    ]);
  });
});
