import { describe, expect, it } from "vitest";
import { indexModel } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import {
  enablerRecipients,
  frozenSlots,
  monitorCompletion,
  queuedLoad,
  type ReportedCompletion,
  resourceOf,
} from "./execution-monitor.js";

const activity = (id: string, resource: string) => ({
  kind: "activity" as const,
  id,
  resources: [resource],
  duration: [{ value: 2, probability: 1 }],
  quality: [{ value: 1, probability: 1 }],
});
// Job j: j.o0 on m1 then j.o1 on m2; job k: k.o0 on m2; j.o0 also enables task k (whose only
// operation runs on m2) and t.o0 on m3 through the task t.
const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m1" }, { id: "m2" }, { id: "m3" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["j", "k", "t"] },
    { kind: "task", id: "j", qaf: "min", children: ["j.o0", "j.o1"] },
    { kind: "task", id: "k", qaf: "min", children: ["k.o0"] },
    { kind: "task", id: "t", qaf: "min", children: ["t.o0"] },
    activity("j.o0", "m1"),
    activity("j.o1", "m2"),
    activity("k.o0", "m2"),
    activity("t.o0", "m3"),
  ],
  links: [
    { kind: "enables", from: "j.o0", to: "j.o1" },
    { kind: "enables", from: "j.o0", to: "k" },
    { kind: "enables", from: "j.o0", to: "t" },
  ],
};
const indexed = indexModel(model);
if (!indexed.ok) throw new Error(indexed.error[0]?.message);
const index = indexed.value;
const installed: Schedule = {
  version: 3,
  resources: [
    { resourceId: "m1", activities: [{ activityId: "j.o0", startTicks: 0, durationTicks: 2 }] },
    {
      resourceId: "m2",
      activities: [
        { activityId: "j.o1", startTicks: 2, durationTicks: 2 },
        { activityId: "k.o0", startTicks: 4, durationTicks: 2 },
      ],
    },
    { resourceId: "m1b", activities: [{ activityId: "t.o0", startTicks: 2, durationTicks: 2 }] },
  ],
};
const done = (resourceId: string, startTicks: number, endTicks: number): ReportedCompletion => ({
  resourceId,
  startTicks,
  endTicks,
  quality: 1,
});

describe("the execution monitor", () => {
  it("freezes what is done where it ran, and what has surely started, for a repair now", () => {
    const executed = new Map([["j.o0", done("m1", 0, 3)]]);
    // At 4: j.o1, planned at 2, started when its predecessor ended, at 3; so did t.o0, which
    // waits for j.o0 through its task. k.o0, planned at 4 behind j.o1 on m2, has not started.
    expect(frozenSlots(index, installed, executed, [], 4)).toEqual([
      { activityId: "j.o0", resourceId: "m1", startTicks: 0, durationTicks: 3 },
      { activityId: "j.o1", resourceId: "m2", startTicks: 3, durationTicks: 2 },
      { activityId: "t.o0", resourceId: "m1b", startTicks: 3, durationTicks: 2 },
    ]);
    // At 3 they start now, not before: a repair may still place them.
    const ids = (now: number, done = executed) =>
      frozenSlots(index, installed, done, [], now).map((s) => s.activityId);
    expect(ids(3)).toEqual(["j.o0"]);
    // Its predecessor not done: j.o1 cannot have started, whatever the plan said; nor can t.o0,
    // whose enabler points at its task (an agent waits for links into its ancestors too).
    expect(ids(3, new Map())).toEqual(["j.o0"]);
    // An overrun ahead: at 6, j.o1 (planned to end at 4, under way since 3) has not reported.
    // k.o0, planned at 4 behind it on m2, waits and is not frozen at the plan's stale start.
    expect(ids(6)).toEqual(["j.o0", "j.o1", "t.o0"]);
    // A resource that is down now keeps nothing it had planned.
    const down = [{ resourceId: "m2", fromTicks: 1, untilTicks: 9 }];
    expect(frozenSlots(index, installed, executed, down, 4).map((s) => s.activityId)).toEqual([
      "j.o0",
      "t.o0",
    ]);
  });

  it("tells the owners of a completion's link targets, not the reporter, each once", () => {
    // j.o1 and k.o0 both run on m2: one message. t.o0 runs on m1b per the installed schedule.
    expect(enablerRecipients(index, installed, "j.o0", "m1")).toEqual(["m1b", "m2"]);
    expect(enablerRecipients(index, installed, "j.o0", "m2")).toEqual(["m1b"]);
    expect(enablerRecipients(index, installed, "k.o0", "m2")).toEqual([]);
    // Before any schedule, the first capable resource owns an activity.
    expect(enablerRecipients(index, undefined, "j.o0", "m1")).toEqual(["m2", "m3"]);
    expect(resourceOf(index, installed, "t.o0")).toBe("m1b");
    expect(resourceOf(index, undefined, "t.o0")).toBe("m3");
  });

  it("counts the work still queued on each resource", () => {
    const executed = new Map([["j.o1", done("m2", 2, 4)]]);
    expect(queuedLoad(installed, executed)).toEqual({ m1: 2, m2: 2, m1b: 2 });
    expect(queuedLoad(undefined, executed)).toEqual({});
  });
});

describe("monitorCompletion", () => {
  const state = (executed: Map<string, ReportedCompletion>, cancelled: string[] = []) => ({
    index,
    installed,
    executed,
    cancelled: new Set(cancelled),
  });
  it("records a first report, forwards it to the enabled agents, and says when all is done", () => {
    const report = { agentId: "m1", activityId: "j.o0", startTicks: 0, atTicks: 3, quality: 1 };
    expect(monitorCompletion(state(new Map()), report)).toEqual([
      { kind: "record", activityId: "j.o0", completion: done("m1", 0, 3) },
      { kind: "forward", to: "m1b" },
      { kind: "forward", to: "m2" },
    ]);
    // A repeat: forwarded again, not recorded twice.
    expect(monitorCompletion(state(new Map([["j.o0", done("m1", 0, 3)]])), report)).toEqual([
      { kind: "forward", to: "m1b" },
      { kind: "forward", to: "m2" },
    ]);
    // The last one (the rest done or cancelled): all done.
    const rest = new Map([
      ["j.o0", done("m1", 0, 3)],
      ["j.o1", done("m2", 3, 5)],
    ]);
    expect(
      monitorCompletion(state(rest, ["t.o0"]), { agentId: "m2", activityId: "k.o0", atTicks: 7 }),
    ).toEqual([
      { kind: "record", activityId: "k.o0", completion: { ...done("m2", 7, 7), quality: 0 } },
      { kind: "all-done" },
    ]);
  });
});
