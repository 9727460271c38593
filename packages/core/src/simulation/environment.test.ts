import { describe, expect, it } from "vitest";
import { fixed } from "../model/distribution.js";
import type { ActivityNode, TaskModel } from "../model/types.js";
import type { EnvironmentEvent } from "../ports/environment.js";
import { SimulatedClock } from "./clock.js";
import type { Disruption } from "./disruptions.js";
import { SimulatedEnvironment } from "./environment.js";
import type { SampledOutcome } from "./outcomes.js";

const act = (id: string, resources: string[]): ActivityNode => ({
  kind: "activity",
  id,
  resources,
  duration: [
    { value: 4, probability: 0.5 },
    { value: 6, probability: 0.5 },
  ],
  quality: fixed(1),
});

const model: TaskModel = {
  name: "env",
  resources: [{ id: "r1" }, { id: "r2" }],
  root: "T",
  nodes: [
    { kind: "task", id: "T", qaf: "sum", children: ["a", "b", "c", "z"] },
    act("a", ["r1"]),
    act("b", ["r1"]),
    act("c", ["r2", "r1"]),
    act("z", ["r2"]),
  ],
  links: [],
};

const outcomes = new Map<string, SampledOutcome>([
  ["a", { durationTicks: 5, quality: 3 }],
  ["b", { durationTicks: 4, quality: 2 }],
  ["c", { durationTicks: 6, quality: 1 }],
  ["z", { durationTicks: 2, quality: 0 }],
  ["rush0.o0", { durationTicks: 3, quality: 1 }],
]);

interface Delivered {
  readonly at: number;
  readonly event: EnvironmentEvent;
}

function setup(disruptions: Disruption[] = []) {
  const clock = new SimulatedClock();
  const env = new SimulatedEnvironment({ model, clock, outcomes, disruptions });
  const log: Delivered[] = [];
  env.subscribe((event) => log.push({ at: clock.now(), event }));
  const brief = () =>
    log.map(({ at, event }) =>
      event.kind === "changed" || event.kind === "unavailable"
        ? `${at} ${event.kind}`
        : `${at} ${event.kind} ${event.activityId}@${event.atTicks}${event.kind === "failed" ? ` ${event.reason}` : ""}`,
    );
  return { clock, env, log, brief };
}

describe("SimulatedEnvironment: execution", () => {
  it("emits started now and completed after the sampled duration, with the sampled quality", () => {
    const { clock, env, log, brief } = setup();
    env.start("a");
    expect(log).toEqual([]); // delivered from the clock, never inside start()
    clock.runUntil();
    expect(brief()).toEqual(["0 started a@0", "5 completed a@5"]);
    expect(log[1]?.event).toMatchObject({ kind: "completed", quality: 3, resourceId: "r1" });
    expect(env.executed()).toEqual([{ activityId: "a", startTicks: 0, endTicks: 5, quality: 3 }]);
  });

  it("reports a zero-quality outcome as failed at its end", () => {
    const { clock, env, brief } = setup();
    env.start("z");
    clock.runUntil();
    expect(brief()).toEqual(["0 started z@0", "2 failed z@2 outcome"]);
  });

  it("aborts a running activity now, recording it with quality 0, and frees the resource", () => {
    const { clock, env, brief } = setup();
    env.start("a");
    clock.at(2, () => {
      env.abort("a");
      env.start("b");
    });
    clock.runUntil();
    expect(brief()).toEqual([
      "0 started a@0",
      "2 failed a@2 aborted",
      "2 started b@2",
      "6 completed b@6",
    ]);
    expect(env.executed()[0]).toEqual({ activityId: "a", startTicks: 0, endTicks: 2, quality: 0 });
  });

  it("fails a start on a busy resource and leaves the running activity alone", () => {
    const { clock, env, brief } = setup();
    env.start("a");
    clock.at(1, () => env.start("b"));
    clock.runUntil();
    expect(brief()).toEqual(["0 started a@0", "1 failed b@1 resource-busy", "5 completed a@5"]);
  });

  it("ignores a duplicated start of a running or completed activity", () => {
    const { clock, env, brief } = setup();
    env.start("a");
    env.start("a");
    clock.at(7, () => env.start("a"));
    clock.runUntil();
    expect(brief()).toEqual(["0 started a@0", "5 completed a@5"]);
  });

  it("runs on a chosen alternative resource and refuses one that cannot run the activity", () => {
    const { clock, env, log } = setup();
    env.start("c", "r1");
    env.start("b", "r2");
    env.start("nope");
    clock.runUntil();
    expect(log.map((l) => l.event)).toEqual([
      { kind: "started", activityId: "c", resourceId: "r1", atTicks: 0 },
      { kind: "failed", activityId: "b", resourceId: "r2", atTicks: 0, reason: "wrong-resource" },
      {
        kind: "failed",
        activityId: "nope",
        resourceId: "",
        atTicks: 0,
        reason: "unknown-activity",
      },
      { kind: "completed", activityId: "c", resourceId: "r1", atTicks: 6, quality: 1 },
    ]);
  });

  it("gives one agent a view of its own resource only", () => {
    const { clock, env } = setup([
      { kind: "window-change", atTicks: 1, nodeId: "a", deadlineTicks: 9, announced: true },
    ]);
    const r2 = env.forResource("r2");
    const seen: string[] = [];
    r2.subscribe((e) => seen.push("activityId" in e ? `${e.kind} ${e.activityId}` : e.kind));
    env.start("a");
    r2.start("c");
    clock.runUntil();
    expect(seen).toEqual(["started c", "changed", "completed c"]);
  });
});

describe("SimulatedEnvironment: disruptions", () => {
  it("a breakdown fails the running activity, refuses starts until the repair, then a redo runs in full", () => {
    const { clock, env, brief, log } = setup([
      { kind: "breakdown", resourceId: "r1", fromTicks: 2, untilTicks: 6 },
    ]);
    env.start("a");
    env.start("z");
    clock.at(3, () => env.start("b"));
    clock.at(6, () => env.start("a"));
    clock.runUntil();
    expect(brief()).toEqual([
      "0 started a@0",
      "0 started z@0",
      "2 unavailable",
      "2 failed a@2 breakdown",
      "2 failed z@2 outcome", // r2 is unaffected
      "3 failed b@3 resource-unavailable",
      "6 started a@6",
      "11 completed a@11",
    ]);
    expect(log[2]?.event).toEqual({
      kind: "unavailable",
      resourceId: "r1",
      fromTicks: 2,
      untilTicks: 6,
      reason: "breakdown",
    });
    expect(env.executed().filter((e) => e.activityId === "a")).toEqual([
      { activityId: "a", startTicks: 0, endTicks: 2, quality: 0 },
      { activityId: "a", startTicks: 6, endTicks: 11, quality: 3 },
    ]);
  });

  it("a breakdown at the very end of a run lets it complete", () => {
    const { clock, env, brief } = setup([
      { kind: "breakdown", resourceId: "r1", fromTicks: 5, untilTicks: 8 },
    ]);
    env.start("a");
    clock.runUntil();
    expect(brief()).toEqual(["0 started a@0", "5 unavailable", "5 completed a@5"]);
  });

  it("an overrun lengthens the realized duration, unannounced", () => {
    const { clock, env, brief } = setup([
      { kind: "overrun", activityId: "a", factor: 2 },
      { kind: "overrun", activityId: "b", extraTicks: 3 },
    ]);
    env.start("a");
    clock.at(10, () => env.start("b"));
    clock.runUntil();
    expect(brief()).toEqual([
      "0 started a@0",
      "10 completed a@10",
      "10 started b@10",
      "17 completed b@17",
    ]);
  });

  it("a rush order emits changed, and its jobs can run once they have arrived", () => {
    const rush: Disruption = {
      kind: "rush-order",
      atTicks: 4,
      delta: {
        addNodes: [
          { kind: "task", id: "rush0", qaf: "min", children: ["rush0.o0"], releaseTicks: 4 },
          { ...act("rush0.o0", ["r2"]) },
        ],
        addLinks: [],
        attachTo: "T",
      },
    };
    const { clock, env, brief, log } = setup([rush]);
    env.start("rush0.o0");
    clock.at(4, () => env.start("rush0.o0"));
    clock.runUntil();
    expect(brief()).toEqual([
      "0 failed rush0.o0@0 unknown-activity",
      "4 changed",
      "4 started rush0.o0@4",
      "7 completed rush0.o0@7",
    ]);
    expect(log[1]?.event).toEqual({ kind: "changed", atTicks: 4, delta: rush.delta });
    const root = env.currentModel().nodes.find((n) => n.id === "T");
    expect(root?.kind === "task" && root.children).toContain("rush0");
  });

  it("an announced window change emits changed; an unannounced one only changes the true model", () => {
    const { clock, env, log } = setup([
      { kind: "window-change", atTicks: 3, nodeId: "a", deadlineTicks: 20, announced: true },
      { kind: "window-change", atTicks: 5, nodeId: "b", releaseTicks: 9, announced: false },
    ]);
    clock.runUntil();
    expect(log.map((l) => l.event)).toEqual([
      { kind: "changed", atTicks: 3, delta: { update: [{ id: "a", deadlineTicks: 20 }] } },
    ]);
    const b = env.currentModel().nodes.find((n) => n.id === "b");
    expect(b?.releaseTicks).toBe(9);
  });

  it("an offline agent hears nothing about its resource, its starts fail, and held news arrives on return", () => {
    const { clock, env, log, brief } = setup([
      { kind: "offline", resourceId: "r1", fromTicks: 1, untilTicks: 10 },
    ]);
    env.start("a");
    env.start("c");
    clock.at(3, () => env.start("b"));
    clock.runUntil();
    expect(log.filter((l) => l.at >= 1 && l.at < 10).map((l) => l.event)).toEqual([
      { kind: "completed", activityId: "c", resourceId: "r2", atTicks: 6, quality: 1 },
    ]);
    expect(brief()).toEqual([
      "0 started a@0",
      "0 started c@0",
      "6 completed c@6",
      // Held news arrives in the order it happened; the machine kept working meanwhile.
      "10 failed b@3 agent-offline",
      "10 completed a@5",
    ]);
    expect(env.executed()).toContainEqual({
      activityId: "a",
      startTicks: 0,
      endTicks: 5,
      quality: 3,
    });
  });

  it("an offline window can lose the events instead of holding them", () => {
    const { clock, env, brief } = setup([
      { kind: "offline", resourceId: "r1", fromTicks: 1, untilTicks: 10, events: "lost" },
    ]);
    env.start("a");
    clock.runUntil();
    expect(brief()).toEqual(["0 started a@0"]);
    expect(env.executed()).toHaveLength(1);
  });

  it("an unmodeled failure fails an activity whose distribution has no failure; a retry succeeds", () => {
    const { clock, env, brief } = setup([{ kind: "unmodeled-failure", activityId: "b" }]);
    env.start("b");
    clock.at(4, () => env.start("b"));
    clock.runUntil();
    expect(brief()).toEqual([
      "0 started b@0",
      "4 failed b@4 unmodeled-failure",
      "4 started b@4",
      "8 completed b@8",
    ]);
  });
});
