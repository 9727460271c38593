import { describe, expect, it } from "vitest";
import type { ModelIndex } from "../../model/model-index.js";
import type { Qaf } from "../../model/types.js";
import type { Schedule } from "../../schedule/types.js";
import { act, build, plan, task } from "../../test-support/ctaems-networks.js";
import { setupsFor } from "../experiment.js";
import type { ChildReport } from "../messages.js";
import type { AgentSetup } from "../setup.js";
import { commsStrategy } from "./comms-policies.js";
import { reachablePotential, reportOf, StateManager } from "./state-manager.js";
import { PRIORITY, type Profile } from "./types.js";
import { LocalView } from "./view.js";

/** The state manager of the agent `setup` is for. */
const stateOf = (setup: AgentSetup): StateManager =>
  new StateManager(
    setup,
    new LocalView(setup.view),
    commsStrategy(setup.policy, setup.agentId, setup.cell),
  );

/** E (of `qaf`) over a's "e1" and b's "e2", worth 5 each, enables L, a's "later" (worth 10). */
const enabling = (qaf: Qaf, e1: number, e2: number) =>
  build(
    [
      task("root", "sum", ["E", "L"]),
      task("E", qaf, ["e1", "e2"]),
      task("L", "max", ["later"]),
      act("e1", "a", e1, 5),
      act("e2", "b", e2, 5),
      act("later", "a", 5, 10),
    ],
    [{ kind: "enables", from: "E", to: "L" }],
  );

/** Agent a's state at tick 2, having heard b's report of "e2" (a child of E). */
const aHearsOfE2 = (index: ModelIndex, schedule: Schedule, e2: ChildReport): StateManager => {
  const setup = setupsFor(index, schedule, "consort").get("a");
  if (!setup) throw new Error("no setup for a");
  const state = stateOf(setup);
  state.tick = 2;
  state.onReport({ type: "report", node: "E", children: [e2] });
  return state;
};

describe("reachablePotential", () => {
  const open: Profile = { cur: { p: 0, v: 0 }, pot: { p: 0.8, v: 10 }, busy: 0 };

  it("an unscheduled method its owner is busy past its last start could achieve nothing", () => {
    expect(reachablePotential(open, 20, 25).pot).toEqual({ p: 0, v: 0 });
  });

  it("keeps the potential while the owner can still reach it, or once it is planned", () => {
    expect(reachablePotential(open, 20, 20).pot.p).toBe(0.8);
    const planned = { ...open, cur: { p: 0.8, v: 10 } };
    expect(reachablePotential(planned, 20, 25).pot.p).toBe(0.8);
  });
});

describe("a neighbour's method under way, as reported", () => {
  // E (a syncsum) enables "later"; "e1" is a's, "e2" is b's. b reports e2 running since 1 with
  // 40 ticks left, at tick 2; its report is not sent again while its chance does not move.
  const heardAt2 = () =>
    aHearsOfE2(
      enabling("syncsum", 60, 41),
      plan([
        ["a", "e1", 0],
        ["b", "e2", 1],
      ]),
      { id: "e2", p: 1, v: 5, pp: 1, pv: 5, busy: 40, s: 1 },
    );

  it("has run on since its report: it ends when it was expected to then", () => {
    const state = heardAt2();
    expect(state.expectedAccrual("E")).toBe(42);
    state.tick = 12;
    expect(state.expectedAccrual("E")).toBe(42);
    expect(state.enabledFrom("later")).toBe(42);
  });

  it("is expected at any moment once it runs past its expected end", () => {
    const state = heardAt2();
    state.tick = 50;
    expect(state.expectedAccrual("E")).toBe(50);
  });
});

describe("a neighbour's method scheduled and not started, as reported", () => {
  // E (a sum) enables "later"; "e1" is a's and unscheduled, "e2" is b's, planned at 30 with a
  // mean of 10 ticks. What E enables can start no earlier than e2's planned end.
  const heard = (planned: number | undefined) => {
    const e2 = { id: "e2", p: 1, v: 5, pp: 1, pv: 5, busy: 10 };
    const state = aHearsOfE2(
      enabling("sum", 10, 10),
      plan([["b", "e2", 30]]),
      planned === undefined ? e2 : { ...e2, e: planned },
    );
    state.recompute();
    return state;
  };

  it("is expected to end after its planned start, not after its window opens", () => {
    const state = heard(30);
    expect(state.expectedAccrual("E")).toBe(40);
    // (a stewards E: it hears of nothing a tick late.)
    expect(state.enabledFrom("later")).toBe(40);
    // Not in time for a method that must start by 20; in time for one that may wait to 45.
    expect(state.enablerFactorBy("later", 20)).toBe(0);
    expect(state.enablerFactorBy("later", 45)).toBe(1);
  });

  it("without a planned start (an older peer) is counted from its window's release", () => {
    const state = heard(undefined);
    expect(state.expectedAccrual("E")).toBe(12);
    expect(state.enablerFactorBy("later", 20)).toBe(1);
  });

  it("its owner reports the planned start until it starts", () => {
    const index = build(
      [task("root", "sum", ["E"]), task("E", "sum", ["e2"]), act("e2", "b", 10, 5)],
      [],
    );
    const setup = setupsFor(index, plan([["b", "e2", 30]]), "consort").get("b");
    if (!setup) throw new Error("no setup for b");
    const state = stateOf(setup);
    state.tick = 2;
    state.recompute();
    const report = reportOf(
      "e2",
      state.profiles.get("e2") ?? { cur: { p: 0, v: 0 }, pot: { p: 0, v: 0 }, busy: 0 },
    );
    expect(report.e).toBe(30);
  });
});

describe("a scheduled method behind the running one", () => {
  /**
   * Agent a at tick 5, running "x" (30 ticks, from 0), with methods of 10 ticks scheduled after
   * it: [id, planned start, its task's deadline]. Each is alone under a task of its own.
   */
  const runningX = (rest: [string, number, number?][]): StateManager => {
    const index = build([
      task("root", "sum", ["X", ...rest.map(([id]) => id.toUpperCase())]),
      task("X", "sum", ["x"]),
      ...rest.map(([id, , deadline]) =>
        task(
          id.toUpperCase(),
          "sum",
          [id],
          deadline === undefined ? {} : { deadlineTicks: deadline },
        ),
      ),
      act("x", "a", 30, 5),
      ...rest.map(([id]) => act(id, "a", 10, 5)),
    ]);
    const schedule = plan([
      ["a", "x", 0],
      ...rest.map(([id, at]): [string, string, number] => ["a", id, at]),
    ]);
    const setup = setupsFor(index, schedule, "consort").get("a");
    if (!setup) throw new Error("no setup for a");
    const state = stateOf(setup);
    state.running = "x";
    state.status.set("x", { state: "running", start: 0 });
    state.tick = 5;
    state.recompute();
    return state;
  };
  const p = (state: StateManager, id: string) => state.profiles.get(id)?.cur.p;

  // "y" (by its deadline) is scheduled from 5, as an install taken while "x" runs would be. It
  // cannot start before "x" ends, at 30.
  it("is counted from the running method's end, not from its planned start", () => {
    expect(p(runningX([["y", 5, 35]]), "y")).toBe(0);
    expect(p(runningX([["y", 5, 40]]), "y")).toBe(1);
  });

  it("and after what is scheduled before it on the same resource", () => {
    const state = runningX([
      ["y", 5],
      ["z", 15, 48],
    ]);
    // y starts at 30, z after it at 40: it ends at 50, past its deadline.
    expect(p(state, "y")).toBe(1);
    expect(p(state, "z")).toBe(0);
    // Once y is given up (downgraded), z follows x at once.
    const y = state.schedule.get("y");
    if (y) state.schedule.set("y", { ...y, priority: PRIORITY.low });
    state.recompute();
    expect(p(state, "z")).toBe(1);
  });

  it("its owner reports the start the running method and the queue allow, not the planned one", () => {
    const state = runningX([
      ["y", 5],
      ["z", 15],
      ["w", 60],
    ]);
    const e = (id: string) => state.profiles.get(id)?.e;
    // y follows x (ends at 30), z follows y; w's planned start is later than both.
    expect(e("y")).toBe(30);
    expect(e("z")).toBe(40);
    expect(e("w")).toBe(60);
  });

  it("is expected to accrue after the queue ahead of it, as an enables source's notice says", () => {
    const state = runningX([
      ["y", 5],
      ["z", 15],
    ]);
    // z starts at 40 (after x, then y) and runs 10 ticks: not at 15 + 10.
    expect(state.expectedAccrual("y")).toBe(40);
    expect(state.expectedAccrual("z")).toBe(50);
  });

  it("a synchronized start goes first at its tick, as the controller starts it", () => {
    const state = runningX([
      ["y", 40],
      ["z", 40],
    ]);
    state.syncOf.set("z", "Z");
    state.recompute();
    const e = (id: string) => state.profiles.get(id)?.e;
    expect(e("z")).toBe(40);
    expect(e("y")).toBe(50);
  });

  it("unless it is to take the running method over", () => {
    const state = runningX([["y", 5, 35]]);
    const y = state.schedule.get("y");
    if (!y) throw new Error("y is not scheduled");
    state.schedule.set("y", { ...y, preempts: true });
    state.recompute();
    expect(p(state, "y")).toBe(1);
  });
});
