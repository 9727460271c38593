import { describe, expect, it } from "vitest";
import { checkSchedule } from "../schedule/check.js";
import type { Schedule } from "../schedule/types.js";
import { answerRequest } from "./answer-request.js";
import {
  giveUpWaiting,
  nextRepairStep,
  type RepairLoopState,
  type RepairRequest,
  receiveLocalSchedule,
} from "./repair-loop.js";
import {
  negotiationAgents,
  negotiationEnded,
  startRuntimeNegotiation,
} from "./runtime-negotiation.js";
import { answerRuntimeRequest } from "./runtime-repair.js";
import { indexed, jobShopModel } from "./test-support/fixtures.js";
import type { Assignment, Slot } from "./types.js";

// Job a: a.1 on m1 (5) then a.2 on m2 (5); job b: b.1 on m2 or m3 (5); job c: c.1 on m3 (4) then c.2
// on m2 (3). In force: m1 a.1@0; m2 a.2@5, b.1@10, c.2@15; m3 c.1@0.
const model = jobShopModel([
  {
    id: "a",
    ops: [
      ["m1", 5],
      ["m2", 5],
    ],
    due: 10,
    weight: 2,
  },
  { id: "b", ops: [[["m2", "m3"], 5]], due: 20 },
  {
    id: "c",
    ops: [
      ["m3", 4],
      ["m2", 3],
    ],
    due: 20,
  },
]);
const index = indexed(model);
const inForce: Schedule = {
  version: 3,
  resources: [
    { resourceId: "m1", activities: [{ activityId: "a.1", startTicks: 0, durationTicks: 5 }] },
    {
      resourceId: "m2",
      activities: [
        { activityId: "a.2", startTicks: 5, durationTicks: 5 },
        { activityId: "b.1", startTicks: 10, durationTicks: 5 },
        { activityId: "c.2", startTicks: 15, durationTicks: 3 },
      ],
    },
    { resourceId: "m3", activities: [{ activityId: "c.1", startTicks: 0, durationTicks: 4 }] },
  ],
};
// a.1 overran: it started at 0 and now ends at 9 (the agent's own repair could not help m2).
const frozen = [
  { activityId: "a.1", resourceId: "m1", startTicks: 0, durationTicks: 9 },
  { activityId: "c.1", resourceId: "m3", startTicks: 0, durationTicks: 4 },
];

/** A scheduler agent holding its part of the schedule in force, answering as the edge agent does. */
function agentOf(
  resourceId: string,
  schedule: Schedule,
  started: readonly string[],
  answer: typeof answerRequest = answerRequest,
) {
  const slots: Slot[] = (
    schedule.resources.find((r) => r.resourceId === resourceId)?.activities ?? []
  ).map((a) => ({
    activityId: a.activityId,
    startTicks: a.startTicks ?? 0,
    durationTicks: a.durationTicks ?? 0,
  }));
  const assignments: Assignment[] = slots.map((s) => ({
    activityId: s.activityId,
    resourceId,
    window: { earliestTicks: s.startTicks, latestTicks: s.startTicks },
    durationTicks: s.durationTicks,
  }));
  // Job a weighs 2 (its due date is the tightest), the others 1.
  const weights = new Map(slots.map((s) => [s.activityId, s.activityId.startsWith("a.") ? 2 : 1]));
  let constraints: ReturnType<typeof answerRequest>["constraints"] = [];
  return (request: RepairRequest, nowTicks: number) => {
    const answered = answer(
      { resourceId, assignments, unavailable: [], constraints, slots, fixed: started, weights },
      request,
      nowTicks,
      "greedy",
    );
    constraints = answered.constraints;
    return answered.answer;
  };
}

function drive(
  start: RepairLoopState,
  nowTicks: number,
  agents: Record<string, ReturnType<typeof agentOf>>,
  silent: readonly string[] = [],
) {
  let state = start;
  const asked: string[] = [];
  for (let guard = 0; guard < 50; guard++) {
    const next = nextRepairStep(state, { nowTicks });
    state = next.state;
    const ended = negotiationEnded(next.step);
    if (ended) return { state, step: next.step, ended, asked };
    if (next.step.kind === "wait") {
      state = giveUpWaiting(state);
      continue;
    }
    if (next.step.kind !== "intra-agent" && next.step.kind !== "inter-agent")
      throw new Error(next.step.kind);
    for (const r of next.step.requests) {
      asked.push(`${next.step.kind}:${r.resourceId}`);
      if (silent.includes(r.resourceId)) continue;
      const answer = agents[r.resourceId]!(r, nowTicks);
      const got = receiveLocalSchedule(state, answer);
      expect(got.verdict.kind).toBe("accepted");
      state = got.state;
    }
  }
  throw new Error("no end");
}

describe("run-time negotiated repair", () => {
  it("settles a delay by asking only the agent it binds, which re-times its own schedule", () => {
    const { state: start } = startRuntimeNegotiation({
      model,
      schedule: inForce,
      frozen,
      nowTicks: 4,
      agents: ["m1", "m2", "m3"],
      version: 7,
    });
    const agents = {
      m1: agentOf("m1", inForce, ["a.1"]),
      m2: agentOf("m2", inForce, []),
      m3: agentOf("m3", inForce, ["c.1"]),
    };
    const run = drive(start, 4, agents);
    expect(run.ended).toBe("settled");
    expect(run.asked).toEqual(["intra-agent:m2"]);
    expect(negotiationAgents(run.state, 7)).toEqual(["m2"]);
    if (run.step.kind !== "done") throw new Error("not done");
    const m2 = run.step.schedule.resources.find((r) => r.resourceId === "m2")!.activities;
    // a.2 waits for a.1's new end (9); m2 keeps its sequence (moving heavy a.2 behind the others
    // would meet more windows but delay the weighted work more), each as early as it can.
    expect(m2.map((a) => [a.activityId, a.startTicks])).toEqual([
      ["a.2", 9],
      ["b.1", 14],
      ["c.2", 19],
    ]);
    expect(checkSchedule(index, run.step.schedule, { requireAll: false })).toEqual([]);
  });

  it("asks nobody when the schedule in force has no conflict", () => {
    const { state: start } = startRuntimeNegotiation({
      model,
      schedule: inForce,
      frozen: [{ ...frozen[0]!, durationTicks: 5 }, frozen[1]!],
      nowTicks: 2,
      agents: ["m1", "m2", "m3"],
      version: 7,
    });
    const run = drive(start, 2, {});
    if (run.step.kind !== "done") throw new Error("not done");
    expect(run.step.schedule.resources).toEqual(inForce.resources);
    expect(run.ended).toBe("settled");
    expect(run.asked).toEqual([]);
  });

  it("moves unstarted work planned before now to now, and asks its agent when that collides", () => {
    // At 6, a.1 ended at 9 is still running; m2 had a.2 planned at 5, not started.
    const { state: start } = startRuntimeNegotiation({
      model,
      schedule: inForce,
      frozen,
      nowTicks: 6,
      agents: ["m1", "m2", "m3"],
      version: 7,
    });
    const run = drive(start, 6, {
      m1: agentOf("m1", inForce, ["a.1"]),
      m2: agentOf("m2", inForce, []),
      m3: agentOf("m3", inForce, ["c.1"]),
    });
    expect(run.ended).toBe("settled");
    if (run.step.kind !== "done") throw new Error("not done");
    for (const r of run.step.schedule.resources)
      for (const a of r.activities)
        if (!frozen.some((f) => f.activityId === a.activityId))
          expect(a.startTicks).toBeGreaterThanOrEqual(6);
    expect(checkSchedule(index, run.step.schedule, { requireAll: false })).toEqual([]);
  });

  it("hands over when the agent it needs stays silent, within the round limit", () => {
    const { state: start } = startRuntimeNegotiation({
      model,
      schedule: inForce,
      frozen,
      nowTicks: 4,
      agents: ["m1", "m2", "m3"],
      version: 7,
      maxRounds: 4,
    });
    const run = drive(
      start,
      4,
      { m1: agentOf("m1", inForce, ["a.1"]), m3: agentOf("m3", inForce, ["c.1"]) },
      ["m2"],
    );
    expect(run.ended).toBe("handed-over");
    expect(run.asked.filter((a) => a.endsWith(":m2")).length).toBeGreaterThan(0);
    expect(run.asked.length).toBeLessThanOrEqual(8);
  });

  it("does not ask an agent that may not be asked (offline): its conflict goes to the next level", () => {
    const { state: start } = startRuntimeNegotiation({
      model,
      schedule: inForce,
      frozen,
      nowTicks: 4,
      agents: ["m1", "m3"],
      version: 7,
    });
    const run = drive(start, 4, {
      m1: agentOf("m1", inForce, ["a.1"]),
      m3: agentOf("m3", inForce, ["c.1"]),
    });
    expect(run.ended).toBe("handed-over");
    expect(run.asked.some((a) => a.endsWith(":m2"))).toBe(false);
  });

  it("integrates completions where they ran and work where the planner placed it, whatever an answer says", () => {
    // b.1 was sold to m3 (contract net): m2 does not know yet. a.1 is done (0..9).
    const sold: Schedule = {
      ...inForce,
      resources: inForce.resources.map((r) =>
        r.resourceId === "m2"
          ? { ...r, activities: r.activities.filter((a) => a.activityId !== "b.1") }
          : r.resourceId === "m3"
            ? {
                ...r,
                activities: [
                  ...r.activities,
                  { activityId: "b.1", startTicks: 10, durationTicks: 5 },
                ],
              }
            : r,
      ),
    };
    const { state, requests } = startRuntimeNegotiation({
      model,
      schedule: sold,
      frozen,
      done: new Set(["a.1"]),
      nowTicks: 9,
      agents: ["m1", "m2", "m3"],
      version: 7,
      ask: ["m2"],
    });
    expect(requests.map((r) => [r.kind, r.resourceId, r.version])).toEqual([["revise", "m2", 8]]);
    // m2 answers from its old schedule: b.1 still on it, and a.1 (not its own) at a planned time.
    const got = receiveLocalSchedule(state, {
      resourceId: "m2",
      version: 8,
      slots: [
        { activityId: "a.2", startTicks: 9, durationTicks: 5 },
        { activityId: "b.1", startTicks: 14, durationTicks: 5 },
        { activityId: "c.2", startTicks: 19, durationTicks: 3 },
      ],
    });
    expect(got.verdict.kind).toBe("accepted");
    const next = nextRepairStep(got.state, { nowTicks: 9 });
    expect(next.step.kind, JSON.stringify(next.step)).toBe("done");
    if (next.step.kind !== "done") return;
    const where = (id: string) =>
      next.step.kind === "done"
        ? next.step.schedule.resources.filter((r) => r.activities.some((a) => a.activityId === id))
        : [];
    expect(where("b.1").map((r) => r.resourceId)).toEqual(["m3"]);
    expect(where("a.1").map((r) => r.resourceId)).toEqual(["m1"]);
    expect(where("a.1")[0]!.activities.find((a) => a.activityId === "a.1")).toMatchObject({
      startTicks: 0,
      durationTicks: 9,
    });
  });

  describe("delays propagated by the planner", () => {
    // Job x runs m1 -> m2 -> m3 -> m4; each agent has a short job of its own after x's operation.
    const chainModel = jobShopModel([
      {
        id: "x",
        ops: [
          ["m1", 5],
          ["m2", 5],
          ["m3", 5],
          ["m4", 5],
        ],
        due: 20,
        weight: 1,
      },
      { id: "p", ops: [["m2", 4]], due: 14, weight: 4 },
      { id: "q", ops: [["m3", 2]], due: 40, weight: 1 },
      { id: "r", ops: [["m4", 2]], due: 40, weight: 1 },
    ]);
    const chainIndex = indexed(chainModel);
    const chain: Schedule = {
      version: 3,
      resources: [
        { resourceId: "m1", activities: [{ activityId: "x.1", startTicks: 0, durationTicks: 5 }] },
        ...(["m2", "m3", "m4"] as const).map((m, k) => ({
          resourceId: m,
          activities: [
            { activityId: `x.${k + 2}`, startTicks: 5 * (k + 1), durationTicks: 5 },
            {
              activityId: `${"pqr"[k]}.1`,
              startTicks: 5 * (k + 2),
              durationTicks: k === 0 ? 4 : 2,
            },
          ],
        })),
      ],
    };
    // x.1 overran: it started at 0 and ends at 12.
    const late = [{ activityId: "x.1", resourceId: "m1", startTicks: 0, durationTicks: 12 }];

    it("settles a delay down a chain of agents in one round: every agent it reaches is asked at once", () => {
      const { state: start } = startRuntimeNegotiation({
        model: chainModel,
        schedule: chain,
        frozen: late,
        nowTicks: 5,
        agents: ["m1", "m2", "m3", "m4"],
        version: 7,
      });
      const agents = Object.fromEntries(
        ["m1", "m2", "m3", "m4"].map((m) => [
          m,
          agentOf(m, chain, m === "m1" ? ["x.1"] : [], answerRuntimeRequest),
        ]),
      );
      const run = drive(start, 5, agents);
      expect(run.ended).toBe("settled");
      // One round: m2, m3 and m4 together (one agent a round would take three).
      expect(run.asked).toEqual(["intra-agent:m2", "intra-agent:m3", "intra-agent:m4"]);
      if (run.step.kind !== "done") throw new Error("not done");
      expect(run.step.partial).toBeUndefined();
      const at = (id: string) =>
        run.step.kind === "done"
          ? run.step.schedule.resources
              .flatMap((r) => r.activities)
              .find((a) => a.activityId === id)?.startTicks
          : undefined;
      // Each agent keeps its order: x's operations run back to back from 12; a job of an agent's
      // own that fits whole in the wait takes it (q.1, r.1), the other (p.1) follows x.2.
      expect([at("x.2"), at("x.3"), at("x.4")]).toEqual([12, 17, 22]);
      expect([at("p.1"), at("q.1"), at("r.1")]).toEqual([17, 15, 20]);
      expect(checkSchedule(chainIndex, run.step.schedule, { requireAll: true })).toEqual([]);
    });

    it("bounds only grow, and at the round limit a consistent forecast of the agents' plans settles", () => {
      const { state: start } = startRuntimeNegotiation({
        model: chainModel,
        schedule: chain,
        frozen: late,
        nowTicks: 5,
        agents: ["m1", "m2", "m3", "m4"],
        version: 7,
        maxRounds: 1,
      });
      // Agents that reorder to spare their heavy jobs (the plan-time answer): m2 puts p first and
      // x.2 ends after the bound m3 was given for x.3.
      const agents = Object.fromEntries(
        ["m1", "m2", "m3", "m4"].map((m) => [m, agentOf(m, chain, m === "m1" ? ["x.1"] : [])]),
      );
      let state = start;
      const bound = new Map<string, number>();
      let step = nextRepairStep(state, { nowTicks: 5 });
      for (let guard = 0; guard < 10 && !negotiationEnded(step.step); guard++) {
        state = step.state;
        if (step.step.kind === "intra-agent")
          for (const r of step.step.requests) {
            if (r.kind === "reassign") throw new Error("no reassignment at run time");
            for (const c of r.constraints) {
              const e = c.earliestStartTicks ?? 0;
              expect(e).toBeGreaterThanOrEqual(bound.get(c.activityId) ?? 0);
              bound.set(c.activityId, e);
            }
            state = receiveLocalSchedule(state, agents[r.resourceId]!(r, 5)).state;
          }
        step = nextRepairStep(state, { nowTicks: 5 });
      }
      expect(negotiationEnded(step.step)).toBe("settled");
      if (step.step.kind !== "done") throw new Error("not done");
      expect(step.step.partial).toBe(true);
      expect(checkSchedule(chainIndex, step.step.schedule, { requireAll: true })).toEqual([]);
      // Nothing unstarted before now, nothing earlier than where it stood.
      for (const r of step.step.schedule.resources)
        for (const a of r.activities)
          if (a.activityId !== "x.1") expect(a.startTicks).toBeGreaterThanOrEqual(5);
    });
  });
});
