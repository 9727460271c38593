import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { checkSchedule } from "../schedule/check.js";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { reoptimize } from "./deliberative-repair.js";
import { runCampsInProcess } from "./in-process.js";
import { buildLocalSchedule } from "./local-scheduler.js";
import { assignOperations } from "./planner-windows.js";
import {
  finishWithSchedule,
  giveUpWaiting,
  nextRepairStep,
  type RepairLoopState,
  type RepairRequest,
  type RepairStep,
  receiveLocalSchedule,
  startRepairLoop,
} from "./repair-loop.js";
import { indexed, jobShopModel, slot } from "./test-support/fixtures.js";
import { collides } from "./timeline.js";
import {
  type Assignment,
  isStale,
  type LocalSchedule,
  type ResourceInterval,
  type Slot,
} from "./types.js";

const w = (
  activityId: string,
  resourceId: string,
  e: number,
  l: number,
  d: number,
): Assignment => ({
  activityId,
  resourceId,
  window: { earliestTicks: e, latestTicks: l },
  durationTicks: d,
});

function receiveAll(state: RepairLoopState, answers: LocalSchedule[]): RepairLoopState {
  let s = state;
  for (const a of answers) {
    const r = receiveLocalSchedule(s, a);
    expect(r.verdict).toEqual({ kind: "accepted" });
    s = r.state;
  }
  return s;
}

function requestsOf(st: RepairStep): readonly RepairRequest[] {
  if (st.kind === "intra-agent" || st.kind === "inter-agent" || st.kind === "problem-adjustment")
    return st.requests;
  throw new Error(`no requests in a ${st.kind} step`);
}

function step(state: RepairLoopState): { state: RepairLoopState; step: RepairStep } {
  return nextRepairStep(state, { nowTicks: 0 });
}

describe("versions", () => {
  it("an answer for an older version than the current one is stale", () => {
    expect(isStale(1, 2)).toBe(true);
    expect(isStale(2, 2)).toBe(false);
    expect(isStale(3, 2)).toBe(false);
  });

  it("receiveLocalSchedule accepts current answers, idempotently, and rejects the rest", () => {
    const model = jobShopModel([{ id: "A", ops: [["m1", 3]] }]);
    const s0 = startRepairLoop({ model, assignments: [w("A.1", "m1", 0, 5, 3)], version: 4 });
    expect(s0.awaiting).toEqual(["m1"]);
    const ok = receiveLocalSchedule(s0, {
      resourceId: "m1",
      version: 4,
      slots: [slot("A.1", 0, 3)],
    });
    expect(ok.verdict).toEqual({ kind: "accepted" });
    expect(ok.state.awaiting).toEqual([]);
    expect(
      receiveLocalSchedule(ok.state, { resourceId: "m1", version: 4, slots: [slot("A.1", 0, 3)] })
        .verdict,
    ).toEqual({ kind: "accepted" });
    expect(receiveLocalSchedule(s0, { resourceId: "m1", version: 3, slots: [] }).verdict).toEqual({
      kind: "stale",
      version: 3,
      current: 4,
    });
    expect(receiveLocalSchedule(s0, { resourceId: "m1", version: 5, slots: [] }).verdict.kind).toBe(
      "unknown-version",
    );
    expect(receiveLocalSchedule(s0, { resourceId: "m9", version: 4, slots: [] }).verdict.kind).toBe(
      "unknown-agent",
    );
  });
});

describe("the repair loop, step by step", () => {
  /** A.1 (m1, 3) -> A.2 (m2, 2). */
  const model = jobShopModel([
    {
      id: "A",
      ops: [
        ["m1", 3],
        ["m2", 2],
      ],
    },
  ]);
  const assignments = [w("A.1", "m1", 0, 5, 3), w("A.2", "m2", 3, 8, 2)];

  it("waits for every agent, then ends at once when there is no hard conflict", () => {
    let s = startRepairLoop({ model, assignments, version: 1 });
    expect(step(s).step).toEqual({ kind: "wait", awaiting: ["m1", "m2"] });
    s = receiveAll(s, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      { resourceId: "m2", version: 1, slots: [slot("A.2", 3, 2)] },
    ]);
    const r = step(s);
    expect(r.step).toMatchObject({ kind: "done", deliberative: false, softConflicts: [] });
    expect(step(r.state).step).toBe(r.step);
  });

  it("first asks the successor's agent for an intra-agent adjustment; a stale answer is rejected", () => {
    let s = startRepairLoop({ model, assignments, version: 1 });
    s = receiveAll(s, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      { resourceId: "m2", version: 1, slots: [slot("A.2", 1, 2)] },
    ]);
    const r = step(s);
    expect(r.step).toEqual({
      kind: "intra-agent",
      round: 1,
      requests: [
        {
          kind: "revise",
          resourceId: "m2",
          version: 2,
          constraints: [expect.objectContaining({ activityId: "A.2", earliestStartTicks: 3 })],
        },
      ],
    });
    expect(
      receiveLocalSchedule(r.state, { resourceId: "m2", version: 1, slots: [slot("A.2", 1, 2)] })
        .verdict.kind,
    ).toBe("stale");
    const s2 = receiveAll(r.state, [{ resourceId: "m2", version: 2, slots: [slot("A.2", 3, 2)] }]);
    expect(step(s2).step).toMatchObject({ kind: "done" });
  });

  it("giveUpWaiting lets the loop go on with the last answers", () => {
    let s = startRepairLoop({ model, assignments, version: 1 });
    s = receiveAll(s, [
      { resourceId: "m1", version: 1, slots: [slot("A.1", 0, 3)] },
      { resourceId: "m2", version: 1, slots: [slot("A.2", 3, 2)] },
    ]);
    const asked = { ...s, awaiting: ["m2"] };
    expect(step(asked).step.kind).toBe("wait");
    expect(step(giveUpWaiting(asked)).step.kind).toBe("done");
  });
});

describe("escalation, wait-for cycles and deliberative repair", () => {
  /** A: P (m1, 5) -> S (m2, 3); B: Q (m2, 5) -> R (m1, 3). Each agent starts a successor too early. */
  const model = jobShopModel([
    {
      id: "A",
      ops: [
        ["m1", 5],
        ["m2", 3],
      ],
    },
    {
      id: "B",
      ops: [
        ["m2", 5],
        ["m1", 3],
      ],
    },
  ]);
  const assignments = [
    w("A.1", "m1", 0, 20, 5),
    w("A.2", "m2", 5, 25, 3),
    w("B.1", "m2", 0, 20, 5),
    w("B.2", "m1", 5, 25, 3),
  ];
  const initial: LocalSchedule[] = [
    { resourceId: "m1", version: 1, slots: [slot("B.2", 0, 3), slot("A.1", 4, 5)] },
    { resourceId: "m2", version: 1, slots: [slot("A.2", 0, 3), slot("B.1", 4, 5)] },
  ];
  const ignore = (s: RepairLoopState, st: RepairStep): RepairLoopState => {
    return receiveAll(
      s,
      requestsOf(st).map((r) => ({
        resourceId: r.resourceId,
        version: r.version,
        slots: initial.find((i) => i.resourceId === r.resourceId)!.slots,
      })),
    );
  };

  it("agents that cannot help make the loop add inter-agent constraints, in waves, breaking the cycle", () => {
    let s = receiveAll(
      startRepairLoop({ model, assignments, version: 1, options: { patience: 1 } }),
      initial,
    );
    let r = step(s);
    expect(r.step.kind).toBe("intra-agent");
    s = ignore(r.state, r.step);
    r = step(s);
    expect(r.step).toMatchObject({
      kind: "inter-agent",
      round: 2,
      wave: 1,
      requests: [
        {
          kind: "constrain",
          resourceId: "m1",
          constraints: [{ activityId: "B.2", earliestStartTicks: 9 }],
        },
      ],
      deferred: ["m2"],
      brokenWaits: [{ waiter: "m1", on: "m2", activityId: "B.2", priority: 1 }],
    });
    expect(r.state.log.some((l) => l.message.includes("oscillation"))).toBe(true);
    const v1 = requestsOf(r.step)[0]!.version;
    s = receiveAll(r.state, [
      { resourceId: "m1", version: v1, slots: [slot("A.1", 4, 5), slot("B.2", 9, 3)] },
    ]);
    r = step(s);
    expect(r.step).toMatchObject({
      kind: "inter-agent",
      wave: 2,
      requests: [
        {
          kind: "constrain",
          resourceId: "m2",
          constraints: [{ activityId: "A.2", earliestStartTicks: 9 }],
        },
      ],
      deferred: [],
    });
    const v2 = requestsOf(r.step)[0]!.version;
    s = receiveAll(r.state, [
      { resourceId: "m2", version: v2, slots: [slot("B.1", 4, 5), slot("A.2", 9, 3)] },
    ]);
    expect(step(s).step).toMatchObject({ kind: "done", deliberative: false });
  });

  it("when nothing converges, it ends in deliberative repair, whose schedule is installed", () => {
    let s = receiveAll(
      startRepairLoop({ model, assignments, version: 1, options: { patience: 1 } }),
      initial,
    );
    let r = step(s);
    for (let i = 0; i < 50 && r.step.kind !== "deliberative"; i++) {
      s = ignore(r.state, r.step);
      r = step(s);
    }
    expect(r.step.kind).toBe("deliberative");
    if (r.step.kind !== "deliberative") return;
    const index = indexed(r.step.model);
    const solved = reoptimize(index, {
      nowTicks: 0,
      objective: "makespan",
      seed: 1,
      maxIterations: 100,
      resourceOf: r.step.resourceOf,
    });
    if (!solved.ok) throw new Error(solved.error.reason);
    const done = finishWithSchedule(r.state, solved.value.schedule);
    expect(done.step).toMatchObject({ kind: "done", deliberative: true });
    expect(done.installs.map((i) => i.resourceId)).toEqual(["m1", "m2"]);
    if (done.step.kind !== "done") throw new Error(done.step.kind);
    expect(checkSchedule(index, done.step.schedule, { requireAll: true })).toEqual([]);
    expect(step(done.state).step).toBe(done.step);
  });

  it("stops after maxRounds", () => {
    let s = receiveAll(
      startRepairLoop({ model, assignments, version: 1, options: { maxRounds: 1, patience: 5 } }),
      initial,
    );
    let r = step(s);
    s = ignore(r.state, r.step);
    r = step(s);
    expect(r.step).toMatchObject({
      kind: "deliberative",
      reason: expect.stringContaining("1 rounds"),
    });
  });
});

describe("problem adjustment", () => {
  it("a deadline blocked by unavailable time: overtime, then the agent reschedules", () => {
    const model = jobShopModel([{ id: "B", ops: [["m1", 4]], deadline: 6 }]);
    const index = indexed(model);
    const unavailable: ResourceInterval[] = [{ resourceId: "m1", fromTicks: 2, untilTicks: 10 }];
    const assignments = assignOperations(index);
    const built = buildLocalSchedule({
      resourceId: "m1",
      assignments,
      nowTicks: 0,
      heuristic: "greedy",
      unavailable: [{ fromTicks: 2, untilTicks: 10 }],
    });
    expect(built.slots).toEqual([slot("B.1", 10, 4)]);
    let s = receiveAll(startRepairLoop({ model, assignments, version: 1, unavailable }), [
      { resourceId: "m1", version: 1, slots: built.slots },
    ]);
    const r = step(s);
    expect(r.step).toMatchObject({
      kind: "problem-adjustment",
      adjustments: [{ kind: "overtime", resourceId: "m1", fromTicks: 2, untilTicks: 6 }],
      requests: [
        {
          kind: "reassign",
          resourceId: "m1",
          version: 2,
          unavailable: [{ fromTicks: 6, untilTicks: 10 }],
        },
      ],
    });
    const request = requestsOf(r.step)[0]!;
    if (request.kind !== "reassign") throw new Error(request.kind);
    const rebuilt = buildLocalSchedule({
      resourceId: "m1",
      assignments: request.assignments,
      nowTicks: 0,
      heuristic: "greedy",
      unavailable: request.unavailable,
    });
    s = receiveAll(r.state, [{ resourceId: "m1", version: 2, slots: rebuilt.slots }]);
    expect(step(s).step).toMatchObject({ kind: "done", deliberative: false });
  });
});

describe("property: the whole CAMPS cycle ends in a feasible schedule", () => {
  it("integrate + repair loop (+ deliberative repair when needed) pass the checker", () => {
    fc.assert(
      fc.property(
        jobShopArbitrary({ maxJobs: 6, maxMachines: 4 }),
        fc.constantFrom("greedy" as const, "least-constraining" as const),
        fc.array(
          fc.record({
            m: fc.nat(),
            from: fc.integer({ min: 0, max: 80 }),
            len: fc.integer({ min: 1, max: 20 }),
          }),
          { maxLength: 2 },
        ),
        fc.integer({ min: 0, max: 5 }),
        (instance, heuristic, downs, now) => {
          const index = indexed(jobShopToModel(instance));
          const unavailable = downs.map((d) => ({
            resourceId: instance.machineIds[d.m % instance.machineIds.length]!,
            fromTicks: d.from,
            untilTicks: d.from + d.len,
          }));
          const run = runCampsInProcess(index, {
            heuristic,
            unavailable,
            nowTicks: now,
            maxIterations: 200,
          });
          if (!run.ok) throw new Error(run.error.reason);
          expect(checkSchedule(index, run.value.schedule, { requireAll: true })).toEqual([]);
          const slots: (Slot & { resourceId: string })[] = run.value.schedule.resources.flatMap(
            (r) =>
              r.activities.map((a) => ({
                resourceId: r.resourceId,
                activityId: a.activityId,
                startTicks: a.startTicks!,
                durationTicks: a.durationTicks!,
              })),
          );
          for (const s of slots) {
            expect(s.startTicks).toBeGreaterThanOrEqual(now);
            for (const u of unavailable.filter((x) => x.resourceId === s.resourceId))
              expect(collides(s.startTicks, s.durationTicks, u)).toBe(false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("on random job shops most runs converge by negotiation alone", () => {
    const instances = fc.sample(jobShopArbitrary({ maxJobs: 8, maxMachines: 5 }), {
      numRuns: 60,
      seed: 7,
    });
    let negotiated = 0;
    for (const instance of instances) {
      const run = runCampsInProcess(indexed(jobShopToModel(instance)), { maxIterations: 200 });
      if (run.ok && run.value.outcome === "negotiated") negotiated++;
    }
    expect(negotiated).toBeGreaterThanOrEqual(50);
  });
});
