import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import type { ReportedCompletion } from "./execution-monitor.js";
import { operationsToReassign, reassignTargets } from "./failover.js";
import { fenceEpoch, leaseLapsed, takeoverEpoch } from "./fencing.js";

describe("the coordinator's lease", () => {
  const lease = { epoch: 2, leaseMs: 3000, renewedAtMs: 10_000 };
  it("holds up to its length after the last renewal, and lapses past it", () => {
    expect(leaseLapsed(lease, 10_000)).toBe(false);
    expect(leaseLapsed(lease, 13_000)).toBe(false);
    expect(leaseLapsed(lease, 13_001)).toBe(true);
  });
  it("lapses at once when released (a last will) and when none was ever seen", () => {
    expect(leaseLapsed({ ...lease, released: true }, 10_000)).toBe(true);
    expect(leaseLapsed(undefined, 0)).toBe(true);
  });
  it("a new leader's epoch is above the lease's and the journal's", () => {
    expect(takeoverEpoch(2, 3)).toBe(3);
    expect(takeoverEpoch(5, 3)).toBe(6);
    expect(takeoverEpoch(0, 1)).toBe(1);
  });
});

describe("fencing on agents", () => {
  it("refuses a command from an epoch below the highest seen, saying why", () => {
    const v = fenceEpoch(3, 2);
    expect(v.accept).toBe(false);
    expect(v.highest).toBe(3);
    if (!v.accept)
      expect(v.reason).toBe("stale epoch: command from coordinator epoch 2, epoch 3 is in force");
  });
  it("accepts the same epoch, and a higher one becomes the highest", () => {
    expect(fenceEpoch(3, 3)).toEqual({ accept: true, highest: 3 });
    expect(fenceEpoch(3, 4)).toEqual({ accept: true, highest: 4 });
    // A command without an epoch is from epoch 0: stale once any epoch is known.
    expect(fenceEpoch(1, undefined).accept).toBe(false);
    expect(fenceEpoch(0, undefined).accept).toBe(true);
  });
});

describe("which work of a lost agent is reassigned", () => {
  const activity = (id: string, resources: string[]) => ({
    kind: "activity" as const,
    id,
    resources,
    duration: [{ value: 2, probability: 1 }],
    quality: [{ value: 1, probability: 1 }],
  });
  // Job j: j.o0 on m1 then j.o1 on m1 or m2; job k: k.o0 on m1 or m2.
  const model: TaskModel = {
    name: "cell",
    resources: [{ id: "m1" }, { id: "m2" }],
    root: "root",
    nodes: [
      { kind: "task", id: "root", qaf: "sum", children: ["j", "k"] },
      { kind: "task", id: "j", qaf: "min", children: ["j.o0", "j.o1"] },
      { kind: "task", id: "k", qaf: "min", children: ["k.o0"] },
      activity("j.o0", ["m1"]),
      activity("j.o1", ["m1", "m2"]),
      activity("k.o0", ["m1", "m2"]),
    ],
    links: [{ kind: "enables", from: "j.o0", to: "j.o1" }],
  };
  const indexed = indexModel(model);
  if (!indexed.ok) throw new Error(indexed.error[0]?.message);
  const index = indexed.value;
  const installed: Schedule = {
    version: 4,
    resources: [
      {
        resourceId: "m1",
        activities: [
          { activityId: "j.o0", startTicks: 0, durationTicks: 2 },
          { activityId: "j.o1", startTicks: 2, durationTicks: 2 },
          { activityId: "k.o0", startTicks: 6, durationTicks: 2 },
        ],
      },
      { resourceId: "m2", activities: [] },
    ],
  };
  const done = (startTicks: number, endTicks: number): ReportedCompletion => ({
    resourceId: "m1",
    startTicks,
    endTicks,
    quality: 1,
  });

  it("keeps what may have started, moves what cannot have, and skips what is done", () => {
    // At tick 3: j.o0 done, j.o1 planned at 2 with its predecessor done (may be running),
    // k.o0 planned at 6 (cannot have started).
    const r = operationsToReassign(index, installed, new Map([["j.o0", done(0, 2)]]), "m1", 3);
    expect(r).toEqual({ reassign: ["k.o0"], keep: ["j.o1"] });
    // It goes to its alternative, the only other resource here.
    expect(reassignTargets(index, installed, r.reassign, "m1")).toEqual({ "k.o0": "m2" });
  });
  it("an operation whose predecessor is not done cannot have started, even past its planned start", () => {
    const r = operationsToReassign(index, installed, new Map(), "m1", 3);
    expect(r.keep).toEqual(["j.o0"]);
    expect(r.reassign).toEqual(["j.o1", "k.o0"]);
  });
  it("of a sequence whose planned starts have all passed, only the first undone one may run", () => {
    const r = operationsToReassign(index, installed, new Map([["j.o0", done(0, 2)]]), "m1", 7);
    expect(r).toEqual({ reassign: ["k.o0"], keep: ["j.o1"] });
  });
  it("an operation with no alternative resource stays with its agent", () => {
    // j.o0 runs on m1 only: not started at tick -1 (planned at 0), yet it cannot move.
    const r = operationsToReassign(index, installed, new Map(), "m1", -1);
    expect(r.keep).toEqual(["j.o0"]);
    expect(r.reassign).toEqual(["j.o1", "k.o0"]);
  });
  it("nothing to move for an agent with no installed work", () => {
    expect(operationsToReassign(index, installed, new Map(), "m2", 3)).toEqual({
      reassign: [],
      keep: [],
    });
    expect(operationsToReassign(index, undefined, new Map(), "m1", 3)).toEqual({
      reassign: [],
      keep: [],
    });
  });
});
