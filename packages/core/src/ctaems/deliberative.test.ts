import { describe, expect, it } from "vitest";
import {
  act,
  build,
  minPairNetwork,
  minSwapNetwork,
  plan,
  task,
} from "../test-support/ctaems-networks.js";
import { type CtaemsAgent, SchedulerAgentCsc, type TickInput } from "./agent.js";
import { chooseOption, DeliberativeScheduler, PROACTIVE_TICK } from "./deliberative.js";
import { CtaemsWorld, runTrial, viewersOf } from "./engine.js";
import {
  DELIBERATIVE_ADDRESS,
  lastPlannedStart,
  participantsFor,
  runStrategy,
  setupsFor,
} from "./experiment.js";
import type { ChildReport, PeerBody, PeerMessage } from "./messages.js";

const idle = (id: string): ChildReport => ({ id, p: 0, v: 0, pp: 1, pv: 10, busy: 0 });

/** An escalation of `node`, at p 0 against a bar of 0.5, with the children its steward knows. */
const escalation = (node: string, children: ChildReport[]): PeerBody => ({
  type: "escalate",
  node,
  p: 0,
  threshold: 0.5,
  children,
});

/** Steps the coordinator once with the given messages; returns what it sent. */
function step(d: DeliberativeScheduler, tick: number, from: string[], bodies: PeerBody[]) {
  const inbox: PeerMessage[] = bodies.map((body, i) => ({
    from: from[i] ?? "x",
    to: d.id,
    seq: i + 1,
    body,
  }));
  const input: TickInput = { tick, events: [], inbox };
  return d.step(input).messages;
}

/**
 * A Consort run of agents given exactly `schedule`, with the coordinator's scheduler: the run-time
 * repairs alone (`runStrategy` first makes the changes the scheduler vouches for before the run).
 */
function runGiven(index: Parameters<typeof setupsFor>[0], schedule: ReturnType<typeof plan>) {
  const setups = setupsFor(index, schedule, "consort");
  const world = new CtaemsWorld(
    index,
    1,
    viewersOf(setups.values()),
    [],
    lastPlannedStart(schedule),
  );
  return runTrial(world, participantsFor(index, setups, schedule));
}

describe("deliberative scheduler (CSC §3.2.2)", () => {
  // A min whose two methods nobody planned, and two fillers the initial schedule holds.
  const minModel = (deadline: number) =>
    build([
      task("root", "sum", ["M", "L1", "L2"]),
      task("M", "min", ["ma", "mb"], { deadlineTicks: deadline }),
      task("L1", "max", ["la"]),
      task("L2", "max", ["lb"]),
      act("ma", "a", 5, 10),
      act("mb", "b", 5, 10),
      act("la", "a", 20, 2, { deadlineTicks: 40 }),
      act("lb", "b", 20, 2, { deadlineTicks: 40 }),
    ]);

  it("repairs a min whose children nobody planned: all of them in one transaction", () => {
    const index = minModel(40);
    const initial = plan([
      ["a", "la", 10],
      ["b", "lb", 10],
    ]);
    const withRepair = runStrategy(index, initial, "consort", 1);
    const ran = withRepair.executed.map((e) => e.activityId).sort();
    expect(ran).toEqual(["la", "lb", "ma", "mb"]);
    expect(withRepair.rootQuality).toBe(14);
    // Each owner also counts on the other's part of an open min, so here both halves run on
    // the agents' own initiative too; the initial schedule alone runs neither.
    const without = runStrategy(index, initial, "consort", 1, { deliberative: false });
    expect(without.rootQuality).toBe(14);
    expect(runStrategy(index, initial, "initial", 1).rootQuality).toBe(4);
  });

  it("withdraws the parts of an all-or-nothing option that were taken when one is refused", () => {
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, minModel(40));
    const escalate = escalation("M", [idle("ma"), idle("mb")]);
    const installs = step(d, 5, ["a"], [escalate]);
    expect(installs.map((m) => [m.to, m.body.type])).toEqual([
      ["a", "install"],
      ["b", "install"],
    ]);
    const lock = (installs[0]?.body as { lock?: number } | undefined)?.lock ?? -1;
    const after = step(
      d,
      7,
      ["a", "b"],
      [
        { type: "installed", lock, ok: true },
        { type: "installed", lock, ok: false },
      ],
    );
    expect(after).toContainEqual({ to: "a", body: { type: "cancel", lock, activity: "ma" } });
    // Without mb the min cannot be repaired: nothing else is offered.
    expect(after.filter((m) => m.body.type === "install")).toEqual([]);
  });

  it("an owner that cannot take its part refuses, and the taken part is given back", () => {
    // b is busy with something worth far more until after M's deadline.
    const index = build([
      task("root", "sum", ["M", "L1", "B"]),
      task("M", "min", ["ma", "mb"], { deadlineTicks: 30 }),
      task("L1", "max", ["la"]),
      task("B", "max", ["big"]),
      act("ma", "a", 5, 10),
      act("mb", "b", 5, 10),
      act("la", "a", 20, 2, { deadlineTicks: 40 }),
      act("big", "b", 35, 50, { deadlineTicks: 40 }),
    ]);
    const r = runGiven(
      index,
      plan([
        ["a", "la", 10],
        ["b", "big", 0],
      ]),
    );
    // a may run its part in the idle time before its own method (it counts on b's part of an
    // open min); b never gives up the method worth far more, and a's own method runs as planned.
    expect(r.executed.some((e) => e.activityId === "mb")).toBe(false);
    expect(r.executed.find((e) => e.activityId === "big")?.quality).toBe(50);
    expect(r.executed.find((e) => e.activityId === "la")?.quality).toBe(2);
    expect(r.rootQuality).toBe(52);
  });

  it("an owner weighs an install against what it would displace, by criticality", () => {
    // a runs a planned method when the coordinator asks it for something due sooner.
    const model = (planned: number) =>
      build([
        task("root", "sum", ["X", "L"]),
        task("X", "max", ["xa"], { deadlineTicks: 20 }),
        task("L", "max", ["low"]),
        act("xa", "a", 10, 9),
        act("low", "a", 30, planned, { deadlineTicks: 60 }),
      ]);
    const initial = plan([["a", "low", 0]]);
    // Worth more than what is left of the running method: it gives way.
    const taken = runGiven(model(2), initial);
    expect(taken.executed.find((e) => e.activityId === "xa")?.quality).toBe(9);
    expect(taken.rootQuality).toBe(9);
    expect(runStrategy(model(2), initial, "consort", 1, { deliberative: false }).rootQuality).toBe(
      2,
    );
    // Worth less: refused, the planned method runs on.
    const kept = runGiven(model(50), initial);
    expect(kept.executed.some((e) => e.activityId === "xa")).toBe(false);
    expect(kept.rootQuality).toBe(50);
    // Known before the run, xa goes first in the schedule a is given, and low still runs after.
    const released = runStrategy(model(2), initial, "consort", 1);
    expect(released.executed.map((e) => [e.activityId, e.startTicks])).toEqual([
      ["xa", 0],
      ["low", 10],
    ]);
    expect(released.rootQuality).toBe(11);
  });

  it("a node that can no longer help the root is not escalated", () => {
    // P needs A and B; A's only method fails at once, so B is not worth repairing.
    const model = (fa: number) =>
      build([
        task("root", "sum", ["P"]),
        task("P", "min", ["A", "B"]),
        task("A", "max", ["fa"]),
        task("B", "max", ["b1"], { releaseTicks: 10, deadlineTicks: 40 }),
        act("fa", "a", 1, fa),
        act("b1", "b", 5, 5),
      ]);
    const escalated = (fa: number): string[] => {
      const index = model(fa);
      const initial = plan([["a", "fa", 0]]);
      const setups = setupsFor(index, initial, "consort");
      const nodes: string[] = [];
      const agents: CtaemsAgent[] = participantsFor(index, setups).map((p) => ({
        id: p.id,
        step: (input: TickInput) => {
          const out = p.step(input);
          for (const m of out.messages) if (m.body.type === "escalate") nodes.push(m.body.node);
          return out;
        },
      }));
      const world = new CtaemsWorld(
        index,
        1,
        viewersOf(setups.values()),
        [],
        lastPlannedStart(initial),
      );
      runTrial(world, agents);
      return nodes;
    };
    expect(escalated(0)).not.toContain("B");
    // The same node is escalated when A succeeded and P still hangs on B.
    expect(escalated(3)).toContain("B");
  });

  it("tries the next option when an owner refuses", () => {
    const index = build([
      task("root", "sum", ["X"]),
      task("X", "max", ["xa", "xb"], { deadlineTicks: 60 }),
      act("xa", "a", 5, 8),
      act("xb", "b", 8, 5),
    ]);
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
    const escalate = escalation("X", [idle("xa"), idle("xb")]);
    // The cheapest option first: xa on a.
    const first = step(d, 5, ["a"], [escalate]);
    expect(first.map((m) => [m.to, (m.body as { activity?: string }).activity])).toEqual([
      ["a", "xa"],
    ]);
    const lock = (first[0]?.body as { lock?: number } | undefined)?.lock ?? -1;
    const next = step(d, 7, ["a"], [{ type: "installed", lock, ok: false }]);
    expect(next.map((m) => [m.to, (m.body as { activity?: string }).activity])).toEqual([
      ["b", "xb"],
    ]);
    expect(d.stats).toMatchObject({ installs: 2, refused: 1 });
  });

  it("under a max, takes a dearer method that gives more quality per tick than the cheapest", () => {
    // xa is the cheapest. An xb that costs a tick more and is worth twice as much is taken; one
    // that costs twice as much for barely more than xa is not.
    const sent = (xb: [number, number]) => {
      const index = build([
        task("root", "sum", ["X"]),
        task("X", "max", ["xa", "xb"], { deadlineTicks: 60 }),
        act("xa", "a", 10, 8),
        act("xb", "b", ...xb),
      ]);
      const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
      return step(d, 5, ["a"], [escalation("X", [idle("xa"), idle("xb")])]).map((m) => [
        m.to,
        (m.body as { activity?: string }).activity,
      ]);
    };
    expect(sent([11, 16])).toEqual([["b", "xb"]]);
    expect(sent([20, 9])).toEqual([["a", "xa"]]);
  });

  it("chooses the cheapest option that reaches the bar unless a dearer one earns more per tick", () => {
    const o = (methods: string, p: number, busy: number, ev: number) => ({
      methods: [methods],
      p,
      busy,
      ev,
    });
    const cheap = o("a", 0.9, 10, 9);
    const richer = o("b", 0.9, 12, 14);
    const slower = o("c", 0.95, 30, 15);
    const unlikely = o("d", 0.3, 11, 20);
    expect(chooseOption([cheap, richer, slower], 0.8)).toBe(richer);
    expect(chooseOption([cheap, slower], 0.8)).toBe(cheap);
    // Not as likely as the bar asks: not taken, however rich.
    expect(chooseOption([cheap, unlikely], 0.8)).toBe(cheap);
    // Nothing reaches the bar: the likeliest.
    expect(chooseOption([cheap, slower], 0.99)).toBe(slower);
    expect(chooseOption([], 0.5)).toBeUndefined();
  });

  it("plans the gaps under maxes queued together so that each gets an agent", () => {
    // Under X and Y a method failed. X can be filled by a or by b; Y only by a. First come,
    // first served would give X the cheaper a, and leave Y with nobody.
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["xf", "xa", "xb"], { deadlineTicks: 40 }),
      task("Y", "max", ["yf", "ya"], { deadlineTicks: 40 }),
      act("xf", "f", 8, 5),
      act("yf", "f", 8, 5),
      act("xa", "a", 6, 5),
      act("xb", "b", 8, 5),
      act("ya", "a", 6, 5),
    ]);
    const failed = (id: string): ChildReport => ({ ...idle(id), pp: 0, pv: 0, s: 0, final: true });
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
    // Their windows are closing (last safe start 32, less than a method away): they wait.
    expect(step(d, 25, ["a"], [escalation("X", [failed("xf"), idle("xa"), idle("xb")])])).toEqual(
      [],
    );
    expect(step(d, 26, ["a"], [escalation("Y", [failed("yf"), idle("ya")])])).toEqual([]);
    // Due at 40 - 8 - 1: both planned at once, under one lock.
    const sent = step(d, 31, [], []);
    expect(sent.map((m) => [m.to, (m.body as { activity?: string }).activity]).sort()).toEqual([
      ["a", "ya"],
      ["b", "xb"],
    ]);
    expect(new Set(sent.map((m) => (m.body as { lock?: number }).lock)).size).toBe(1);
  });

  it("a gap reported after its stretch was planned takes an agent off a second try elsewhere", () => {
    const chancy = [
      { value: 0, probability: 0.15 },
      { value: 5, probability: 0.85 },
    ];
    const d78 = [
      { value: 7, probability: 0.5 },
      { value: 8, probability: 0.5 },
    ];
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["xf", "xa", "xb"], { deadlineTicks: 40 }),
      task("Y", "max", ["yf", "ya"], { deadlineTicks: 40 }),
      act("xf", "f", 8, 5),
      act("yf", "g", 8, 5),
      act("xa", "a", d78, chancy),
      act("xb", "b", d78, chancy),
      act("ya", "a", d78, chancy),
    ]);
    const failed = (id: string): ChildReport => ({ ...idle(id), pp: 0, pv: 0, s: 0, final: true });
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
    expect(step(d, 25, ["a"], [escalation("X", [failed("xf"), idle("xa"), idle("xb")])])).toEqual(
      [],
    );
    // Due at 40 - 8 - 1: X alone, so both its owners try it.
    const first = step(d, 31, [], []);
    expect(first.map((m) => [m.to, (m.body as { activity?: string }).activity]).sort()).toEqual([
      ["a", "xa"],
      ["b", "xb"],
    ]);
    // Y's failure comes a tick too late, while X's installs still wait for answers: a is taken
    // off its second try of X at once, under a lock of its own.
    const late = step(d, 32, ["a"], [escalation("Y", [failed("yf"), idle("ya")])]);
    expect(
      late.map((m) => [m.to, m.body.type, (m.body as { activity?: string }).activity]),
    ).toEqual([
      ["a", "cancel", "xa"],
      ["a", "install", "ya"],
    ]);
    const lockOf = (ms: typeof first) => (ms[0]?.body as { lock?: number } | undefined)?.lock;
    expect(lockOf(late)).not.toBe(lockOf(first));
    // Reported in time, Y is in the plan: a goes to Y, and X has b alone.
    const d2 = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
    step(d2, 25, ["a"], [escalation("X", [failed("xf"), idle("xa"), idle("xb")])]);
    step(d2, 26, ["a"], [escalation("Y", [failed("yf"), idle("ya")])]);
    const both = step(d2, 31, [], []);
    expect(both.map((m) => [m.to, (m.body as { activity?: string }).activity]).sort()).toEqual([
      ["a", "ya"],
      ["b", "xb"],
    ]);
  });

  // The min on a and b, and s1 (a, 20) and t1 (b, 5) unplanned: only dropping the min on both
  // agents makes room for both.
  const swapModel = () => minSwapNetwork().index;
  const swapPlan = () => minSwapNetwork().initial;

  it("a proactive swap names what its owner drops, and drops the min's other part once taken", () => {
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, swapModel(), {
      initial: swapPlan(),
    });
    for (let t = 0; t < PROACTIVE_TICK; t++) step(d, t, [], []);
    const sent = step(d, PROACTIVE_TICK, [], []);
    // s1 in m1's place on a, and t1 for b once freed of m2.
    expect(sent.map((m) => [m.to, (m.body as { activity?: string }).activity])).toEqual([
      ["a", "s1"],
      ["b", "t1"],
    ]);
    const install = sent[0]?.body as Extract<PeerBody, { type: "install" }>;
    const owner = "a";
    const other = "b";
    expect(install.replaces).toEqual(["m1"]);
    // Its owner cannot see what the freed agent earns: the scheduler vouches for it.
    expect(install.vouched).toBe(true);
    // Nothing is dropped elsewhere until the owner took it.
    expect(step(d, PROACTIVE_TICK + 1, [], [])).toEqual([]);
    const ok: PeerBody = { type: "installed", lock: install.lock, ok: true };
    expect(step(d, PROACTIVE_TICK + 2, [owner, other], [ok, ok])).toEqual([
      {
        to: other,
        body: { type: "cancel", lock: install.lock, activity: "m2" },
      },
    ]);
    // Refused, nothing is dropped.
    const d2 = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, swapModel(), {
      initial: swapPlan(),
    });
    for (let t = 0; t <= PROACTIVE_TICK; t++) step(d2, t, [], []);
    const no: PeerBody = { type: "installed", lock: install.lock, ok: false };
    expect(step(d2, PROACTIVE_TICK + 2, [owner, other], [no, ok])).toEqual([]);
  });

  it("sends a min's missing children proposed together all or nothing, vouched for", () => {
    const { index, initial } = minPairNetwork();
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index, { initial });
    for (let t = 0; t < PROACTIVE_TICK; t++) step(d, t, [], []);
    const sent = step(d, PROACTIVE_TICK, [], []);
    expect(
      sent.map((m) => {
        const b = m.body as Extract<PeerBody, { type: "install" }>;
        return [m.to, b.activity, b.lock, b.vouched];
      }),
    ).toEqual([
      ["a", "ma", 1, true],
      ["b", "mb", 1, true],
    ]);
    // b refuses: a's part is withdrawn.
    const yes: PeerBody = { type: "installed", lock: 1, ok: true };
    const no: PeerBody = { type: "installed", lock: 1, ok: false };
    expect(step(d, PROACTIVE_TICK + 2, ["a", "b"], [yes, no])).toEqual([
      { to: "a", body: { type: "cancel", lock: 1, activity: "ma" } },
    ]);
  });

  it("the owner of a swap drops the method it replaces, and gets it back if the swap is withdrawn", () => {
    // a plans x (worth 10) at 10; the scheduler swaps it for y (worth 2 on a's view).
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["x"], { deadlineTicks: 40 }),
      task("Y", "max", ["y"], { deadlineTicks: 40 }),
      act("x", "a", 30, 10),
      act("y", "a", 30, 2),
    ]);
    const drive = (inbox: Map<number, PeerBody[]>, last = 10) => {
      const setup = setupsFor(index, plan([["a", "x", 10]]), "consort").get("a");
      if (!setup) throw new Error("no setup for a");
      const agent = new SchedulerAgentCsc(setup);
      const outs = [];
      for (let tick = 0; tick <= last; tick++)
        outs.push(
          agent.step({
            tick,
            events: [],
            inbox: (inbox.get(tick) ?? []).map((body, i) => ({
              from: DELIBERATIVE_ADDRESS,
              to: "a",
              seq: i + 1,
              body,
            })),
          }),
        );
      return {
        started: outs.flatMap((o, tick) => (o.start ? [[tick, o.start]] : [])),
        answers: outs
          .flatMap((o) => o.messages)
          .flatMap((m) => (m.body.type === "installed" ? [m.body.ok] : [])),
      };
    };
    const swap: PeerBody = {
      type: "install",
      lock: 1,
      activity: "y",
      earliest: 10,
      latest: 10,
      vouched: true,
      replaces: ["x"],
    };
    expect(drive(new Map([[5, [swap]]]))).toEqual({ started: [[10, "y"]], answers: [true] });
    // Withdrawn before it started, x has its place back.
    const cancel: PeerBody = { type: "cancel", lock: 1, activity: "y" };
    expect(
      drive(
        new Map([
          [5, [swap]],
          [7, [cancel]],
        ]),
      ),
    ).toEqual({
      started: [[10, "x"]],
      answers: [true],
    });
    // A swap of a method that has started is refused: the plan it was made for has moved on.
    expect(drive(new Map([[12, [{ ...swap, earliest: 12, latest: 12 }]]]), 14)).toEqual({
      started: [[10, "x"]],
      answers: [false],
    });
  });
});
