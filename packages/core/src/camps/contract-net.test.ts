import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import {
  applyAward,
  type BidAnswer,
  type BidderState,
  bidFor,
  type ContractCall,
  contractCall,
  downstreamPrice,
  latestOnTimeStart,
  scheduleWithAward,
  selectWinner,
} from "./contract-net.js";

const call: ContractCall = {
  callId: "c1",
  activityId: "x",
  capable: ["m2", "m3"],
  durationTicks: 4,
  earliestTicks: 5,
  desiredStartTicks: 5,
  weight: 2,
  closesAtTicks: 10,
};

const idle = (resourceId: string): BidderState => ({
  resourceId,
  slots: [],
  pinned: new Set(),
  unavailable: [],
});

describe("a bidder's answer comes from its own local schedule", () => {
  it("an idle capable agent bids the earliest start at no added tardiness", () => {
    const a = bidFor(idle("m2"), call, 0);
    expect(a.kind).toBe("bid");
    if (a.kind !== "bid") return;
    expect(a.bid.startTicks).toBe(5);
    expect(a.bid.cost.addedWeightedTardiness).toBe(0);
    expect(a.bid.cost.loadTicks).toBe(4);
  });

  it("refuses work it cannot run, a closed call, and while it holds its work", () => {
    expect(bidFor(idle("m1"), call, 0).kind).toBe("refuse");
    expect(bidFor(idle("m2"), call, 11).kind).toBe("refuse");
    expect(bidFor({ ...idle("m2"), holding: true }, call, 0).kind).toBe("refuse");
  });

  it("fits the work into a gap rather than delaying committed work", () => {
    // Busy [0,5) and [12,20): the gap [5,12) takes 4 ticks without moving anything.
    const state: BidderState = {
      ...idle("m2"),
      slots: [
        { activityId: "a", startTicks: 0, durationTicks: 5 },
        { activityId: "b", startTicks: 12, durationTicks: 8 },
      ],
      pinned: new Set(["a"]),
    };
    const a = bidFor(state, call, 0);
    if (a.kind !== "bid") throw new Error("expected a bid");
    expect(a.bid.startTicks).toBe(5);
    expect(a.bid.before).toBe("b");
    expect(a.bid.cost.addedWeightedTardiness).toBe(0);
    // What it is awarded is what it bid: b stays where it was.
    expect(scheduleWithAward(state, call, a.bid.before, 0)).toEqual([
      { activityId: "a", startTicks: 0, durationTicks: 5 },
      { activityId: "x", startTicks: 5, durationTicks: 4 },
      { activityId: "b", startTicks: 12, durationTicks: 8 },
    ]);
  });

  it("prices the delay it causes: a heavy committed job goes first, the call waits", () => {
    // b (weight 10) fills [5,13): inserting x before it delays b by 4 (cost 40); after it,
    // x starts 8 late at weight 2 (cost 16).
    const state: BidderState = {
      ...idle("m2"),
      slots: [{ activityId: "b", startTicks: 5, durationTicks: 8 }],
      weights: new Map([["b", 10]]),
    };
    const a = bidFor(state, call, 0);
    if (a.kind !== "bid") throw new Error("expected a bid");
    expect(a.bid.startTicks).toBe(13);
    expect(a.bid.before).toBeUndefined();
    expect(a.bid.cost.addedWeightedTardiness).toBe(16);
  });

  it("counts setup added between neighbours", () => {
    const state: BidderState = {
      ...idle("m2"),
      setupTicks: (before, after) => (before === undefined ? 0 : before[0] === after[0] ? 0 : 3),
      slots: [{ activityId: "b", startTicks: 0, durationTicks: 2 }],
      pinned: new Set(["b"]),
    };
    const a = bidFor(state, call, 0);
    if (a.kind !== "bid") throw new Error("expected a bid");
    expect(a.bid.cost.setupTicks).toBe(3);
  });

  it("never bids a start before now, its busy time or the call's earliest", () => {
    const state: BidderState = {
      ...idle("m3"),
      unavailable: [{ fromTicks: 0, untilTicks: 9 }],
    };
    const a = bidFor(state, call, 7);
    if (a.kind !== "bid") throw new Error("expected a bid");
    expect(a.bid.startTicks).toBe(9);
  });
});

describe("the planner's choice", () => {
  const bid = (resourceId: string, total: number, start = 5): BidAnswer => ({
    kind: "bid",
    bid: {
      callId: "c1",
      activityId: "x",
      resourceId,
      startTicks: start,
      durationTicks: 4,
      cost: { addedWeightedTardiness: total, loadTicks: 0, setupTicks: 0, total },
    },
  });

  it("awards the cheapest bid and rejects the others", () => {
    const out = selectWinner(call, [bid("m2", 9), bid("m3", 3)]);
    expect(out.kind).toBe("award");
    if (out.kind !== "award") return;
    expect(out.winner.resourceId).toBe("m3");
    expect(out.losers.map((b) => b.resourceId)).toEqual(["m2"]);
  });

  it("breaks cost ties by the earlier end, then the resource id", () => {
    const out = selectWinner(call, [bid("m3", 1, 6), bid("m2", 1, 7)]);
    expect(out.kind === "award" && out.winner.resourceId).toBe("m3");
    const tie = selectWinner(call, [bid("m3", 1), bid("m2", 1)]);
    expect(tie.kind === "award" && tie.winner.resourceId).toBe("m2");
  });

  it("voids bids from agents not invited, for another call, or too early", () => {
    const other = bid("m2", 0);
    if (other.kind !== "bid") throw new Error("expected a bid");
    const out = selectWinner(call, [
      bid("m1", 0),
      { kind: "bid", bid: { ...other.bid, callId: "c0" } },
      bid("m3", 0, 4),
      { kind: "refuse", callId: "c1", reason: "busy" },
    ]);
    expect(out.kind).toBe("unawarded");
  });
});

describe("the call for a lost agent's operation", () => {
  const activity = (id: string, resources: string[], value = 2) => ({
    kind: "activity" as const,
    id,
    resources,
    duration: [{ value, probability: 1 }],
    quality: [{ value: 1, probability: 1 }],
  });
  const model: TaskModel = {
    name: "cell",
    resources: [{ id: "m1" }, { id: "m2" }, { id: "m3" }],
    root: "root",
    nodes: [
      { kind: "task", id: "root", qaf: "sum", children: ["j"] },
      {
        kind: "task",
        id: "j",
        qaf: "min",
        children: ["j.o0", "j.o1"],
        due: { dueTicks: 10, weight: 3 },
      },
      activity("j.o0", ["m1"]),
      activity("j.o1", ["m1", "m2", "m3"], 3),
    ],
    links: [{ kind: "enables", from: "j.o0", to: "j.o1" }],
  };
  const r = indexModel(model);
  if (!r.ok) throw new Error("bad model");
  const installed: Schedule = {
    version: 3,
    resources: [
      {
        resourceId: "m1",
        activities: [
          { activityId: "j.o0", startTicks: 0, durationTicks: 2 },
          { activityId: "j.o1", startTicks: 2, durationTicks: 3 },
        ],
      },
    ],
  };

  it("invites the other capable agents, from its predecessor's end, with its job's weight", () => {
    const done = new Map([["j.o0", { resourceId: "m1", startTicks: 0, endTicks: 3, quality: 1 }]]);
    const c = contractCall(r.value, installed, done, "j.o1", {
      callId: "c",
      excluded: ["m1"],
      nowTicks: 1,
      closesAtTicks: 2,
    });
    expect(c).toMatchObject({
      capable: ["m2", "m3"],
      earliestTicks: 3,
      desiredStartTicks: 3,
      durationTicks: 3,
      weight: 3,
    });
  });

  it("a new operation (a rush order's) should start as early as it can", () => {
    const c = contractCall(r.value, { version: 1, resources: [] }, new Map(), "j.o1", {
      callId: "c",
      excluded: [],
      nowTicks: 0,
      closesAtTicks: 2,
    });
    // j.o0 is planned from 0 for 2 ticks: any later start of j.o1 costs its weight per tick.
    expect(c).toMatchObject({ earliestTicks: 2, desiredStartTicks: 2, weight: 3 });
  });

  it("the latest start that keeps a job on time: its due date less the work from there on", () => {
    // j is due at 10; j.o1 takes 3, j.o0 2 more before it.
    expect(latestOnTimeStart(r.value, "j.o1")).toBe(7);
    expect(latestOnTimeStart(r.value, "j.o0")).toBe(5);
  });

  it("a call whose new work should start by its latest on-time start lets a bidder keep its committed work first", () => {
    // m2 runs a (weight 2) over [2,6). The new j.o1 (3 ticks, from 2) before a would push a
    // 3 ticks late (cost 6); after a it starts at 6, which keeps j on time.
    const c = {
      ...contractCall(r.value, { version: 1, resources: [] }, new Map(), "j.o1", {
        callId: "c",
        excluded: ["m1", "m3"],
        nowTicks: 0,
        closesAtTicks: 2,
      })!,
      desiredStartTicks: latestOnTimeStart(r.value, "j.o1")!,
    };
    const state: BidderState = {
      resourceId: "m2",
      slots: [{ activityId: "a", startTicks: 2, durationTicks: 4 }],
      pinned: new Set(),
      unavailable: [],
      weights: new Map([["a", 2]]),
    };
    const slack = bidFor(state, c, 0);
    expect(slack.kind === "bid" && slack.bid).toMatchObject({ startTicks: 6 });
    expect(slack.kind === "bid" && slack.bid.cost.addedWeightedTardiness).toBe(0);
    // Charged from its earliest start instead, it would jump the queue and delay a.
    const eager = bidFor(state, { ...c, desiredStartTicks: 2 }, 0);
    expect(eager.kind === "bid" && eager.bid).toMatchObject({ startTicks: 2, before: "a" });
  });

  it("an award moves the operation to the winner", () => {
    const after = applyAward(installed, {
      callId: "c",
      activityId: "j.o1",
      resourceId: "m3",
      startTicks: 4,
      durationTicks: 3,
      cost: { addedWeightedTardiness: 0, loadTicks: 3, setupTicks: 0, total: 0.03 },
    });
    expect(
      after.resources.find((x) => x.resourceId === "m1")!.activities.map((a) => a.activityId),
    ).toEqual(["j.o0"]);
    expect(after.resources.find((x) => x.resourceId === "m3")!.activities).toEqual([
      { activityId: "j.o1", startTicks: 4, durationTicks: 3 },
    ]);
  });
});

describe("the planner prices a bid downstream", () => {
  const activity = (id: string, resources: string[], value: number) => ({
    kind: "activity" as const,
    id,
    resources,
    duration: [{ value, probability: 1 }],
    quality: [{ value: 1, probability: 1 }],
  });
  // P (due 6, weight 4): P.1 on m1 then P.2 on m2, 3 ticks each. X (due 20): X.1 on m1 or m3.
  const model: TaskModel = {
    name: "cell",
    resources: [{ id: "m1" }, { id: "m2" }, { id: "m3" }],
    root: "root",
    nodes: [
      { kind: "task", id: "root", qaf: "sum", children: ["P", "X"] },
      {
        kind: "task",
        id: "P",
        qaf: "min",
        children: ["P.1", "P.2"],
        due: { dueTicks: 6, weight: 4 },
      },
      { kind: "task", id: "X", qaf: "min", children: ["X.1"], due: { dueTicks: 20, weight: 1 } },
      activity("P.1", ["m1"], 3),
      activity("P.2", ["m2"], 3),
      activity("X.1", ["m1", "m3"], 2),
    ],
    links: [{ kind: "enables", from: "P.1", to: "P.2" }],
  };
  const r = indexModel(model);
  if (!r.ok) throw new Error("bad model");
  const installed: Schedule = {
    version: 1,
    resources: [
      { resourceId: "m1", activities: [{ activityId: "P.1", startTicks: 0, durationTicks: 3 }] },
      { resourceId: "m2", activities: [{ activityId: "P.2", startTicks: 3, durationTicks: 3 }] },
    ],
  };
  const xCall: ContractCall = {
    callId: "c",
    activityId: "X.1",
    capable: ["m1", "m3"],
    durationTicks: 2,
    earliestTicks: 0,
    desiredStartTicks: 0,
    weight: 1,
    closesAtTicks: 5,
  };
  const cost = (total: number) => ({
    addedWeightedTardiness: 0,
    loadTicks: 2,
    setupTicks: 0,
    total,
  });
  // m1 would run X first (cheap for m1: P.1 is one agent's 2 ticks), m3 later on its own.
  const onM1: BidAnswer = {
    kind: "bid",
    bid: {
      callId: "c",
      activityId: "X.1",
      resourceId: "m1",
      startTicks: 0,
      durationTicks: 2,
      before: "P.1",
      cost: cost(1),
    },
  };
  const onM3: BidAnswer = {
    kind: "bid",
    bid: {
      callId: "c",
      activityId: "X.1",
      resourceId: "m3",
      startTicks: 4,
      durationTicks: 2,
      cost: cost(5),
    },
  };
  const price = (bid: Parameters<typeof downstreamPrice>[2]) =>
    downstreamPrice(r.value, installed, bid, {
      nowTicks: 0,
      frozen: [],
      unavailable: [],
      objective: "twt",
    });

  it("counts the tardiness a bid's delays cause on other resources", () => {
    if (onM1.kind !== "bid" || onM3.kind !== "bid") throw new Error("bids");
    // Before P.1, X pushes P.1 to 2 and P.2 (on m2) to 5: P ends at 8, 2 late, weight 4.
    expect(Math.floor(price(onM1.bid))).toBe(8);
    expect(Math.floor(price(onM3.bid))).toBe(0);
  });

  it("the cheapest bid by the bidders' own costs loses to the one that hurts nobody downstream", () => {
    const own = selectWinner(xCall, [onM1, onM3]);
    expect(own.kind === "award" && own.winner.resourceId).toBe("m1");
    const planner = selectWinner(xCall, [onM1, onM3], price);
    expect(planner.kind === "award" && planner.winner.resourceId).toBe("m3");
  });
});
