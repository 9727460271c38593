import { describe, expect, it } from "vitest";
import {
  act,
  build,
  minPairNetwork,
  minSwapNetwork,
  plan,
  task,
} from "../test-support/ctaems-networks.js";
import { DeliberativeScheduler, PROACTIVE_TICK } from "./deliberative.js";
import { DELIBERATIVE_ADDRESS, runStrategy } from "./experiment.js";
import { proactiveInstalls, releasedSchedule, simulate } from "./improve.js";

/** Worth 10 half the time, nothing otherwise. */
const coin = [
  { value: 0, probability: 0.5 },
  { value: 10, probability: 0.5 },
];

describe("proactive improvement of the initial schedule", () => {
  // A max whose scheduled method fails half the time, and a sure alternative on an agent whose
  // own plan leaves it no gap for it (b1 must start by 8).
  const unsure = () =>
    build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1", "a2"], { deadlineTicks: 40 }),
      task("B", "max", ["b1"], { deadlineTicks: 38 }),
      act("a1", "a", 10, coin),
      act("a2", "b", 10, 8),
      act("b1", "b", 30, 1),
    ]);
  const unsurePlan = () =>
    plan([
      ["a", "a1", 0],
      ["b", "b1", 8],
    ]);

  it("adds a sure alternative under a max whose method may fail, in place of a lesser one", () => {
    const installs = proactiveInstalls(unsure(), unsurePlan(), { from: 4 });
    expect(installs.map((i) => [i.activityId, i.owner, i.earliest, i.replaces])).toEqual([
      ["a2", "b", 4, ["b1"]],
    ]);
    // max(a1, 8): 10 half the time, 8 otherwise (9), against 5 for a1 and 1 for b1: 3 on
    // average, estimated on the scheduler's sampled outcomes (a1 earns 10 in 29 of 64).
    expect(installs[0]?.gain).toBe(3.375);
    expect(installs[0]?.latest).toBe(30);
  });

  it("tells a gain of a third of its spread from noise (on enough samples)", () => {
    // c1 earns 20 at even odds (10 on average, spread 10) in place of a sure 7: a true gain of
    // 3. On 32 sampled outcome sets its two standard errors are about 3.5, and it is dropped.
    const index = build([
      task("root", "sum", ["B", "C"]),
      task("B", "max", ["b1"], { deadlineTicks: 38 }),
      task("C", "max", ["c1"], { deadlineTicks: 40 }),
      act("b1", "b", 30, 7),
      act("c1", "b", 30, [
        { value: 0, probability: 0.5 },
        { value: 20, probability: 0.5 },
      ]),
    ]);
    const s = plan([["b", "b1", 8]]);
    const installs = proactiveInstalls(index, s, { from: 4 });
    expect(installs.map((i) => [i.activityId, i.owner, i.earliest, i.replaces])).toEqual([
      ["c1", "b", 4, ["b1"]],
    ]);
    expect(installs[0]?.gain).toBeGreaterThan(2);
    expect(installs[0]?.gain).toBeLessThan(4);
    expect(proactiveInstalls(index, s, { from: 4, samples: 32, screen: 12 })).toEqual([]);
  });

  it("adds no backup an idle agent would start on its own (as its scheduler does)", () => {
    // b is idle: it starts a2 as a backup of a1, whose outcome it does not know yet.
    const idle = build([
      task("root", "sum", ["A"]),
      task("A", "max", ["a1", "a2"], { deadlineTicks: 40 }),
      act("a1", "a", 10, coin),
      act("a2", "b", 10, 8),
    ]);
    expect(proactiveInstalls(idle, plan([["a", "a1", 0]]), { from: 4 })).toEqual([]);
    const plans = new Map([["a", [{ id: "a1", earliest: 0 }]]]);
    const draw = (q1: number) =>
      new Map([
        ["a1", { d: 10, q: q1 }],
        ["a2", { d: 10, q: 8 }],
      ]);
    expect(simulate(idle, plans, draw(0))).toBe(8);
    expect(simulate(idle, plans, draw(10))).toBe(10);
    // Nor one its owner starts once the method before it has failed.
    const same = build([
      task("root", "sum", ["A"]),
      task("A", "max", ["a1", "a2"], { deadlineTicks: 40 }),
      act("a1", "a", 10, coin),
      act("a2", "a", 10, 8),
    ]);
    expect(proactiveInstalls(same, plan([["a", "a1", 0]]), { from: 4 })).toEqual([]);
    // A sure alternative that can only do worse is not started; a better one is.
    const sure = (v: number) =>
      build([
        task("root", "sum", ["A"]),
        task("A", "max", ["a1", "a2"], { deadlineTicks: 40 }),
        act("a1", "a", 10, 10),
        act("a2", "b", 10, v),
      ]);
    const drawSure = (v: number) =>
      new Map([
        ["a1", { d: 10, q: 10 }],
        ["a2", { d: 10, q: v }],
      ]);
    expect(simulate(sure(8), plans, drawSure(8))).toBe(10);
    expect(simulate(sure(12), plans, drawSure(12))).toBe(12);
  });

  it("takes over the method under way when the install cannot wait for it to end", () => {
    const index = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1"], { deadlineTicks: 50 }),
      task("B", "max", ["b1"], { deadlineTicks: 50 }),
      act("a1", "a", 30, 7),
      act("b1", "a", 40, 20),
    ]);
    // a1 started at 0; b1 must start by 10, so it goes in its place (20 for 7).
    const installs = proactiveInstalls(index, plan([["a", "a1", 0]]), { from: 4 });
    expect(installs.map((i) => [i.activityId, i.owner, i.earliest])).toEqual([["b1", "a", 4]]);
    expect(installs[0]?.gain).toBe(13);
    // Of the 7 the schedule earned without it.
    expect(installs[0]?.share).toBeCloseTo(13 / 7);
    expect(installs[0]?.takesOver).toBe(true);
    // With room after a1, a1 is not given up: a starts b1 on its own once a1 ends.
    const roomy = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1"], { deadlineTicks: 80 }),
      task("B", "max", ["b1"], { deadlineTicks: 80 }),
      act("a1", "a", 30, 7),
      act("b1", "a", 40, 20),
    ]);
    const later = proactiveInstalls(roomy, plan([["a", "a1", 0]]), { from: 4 });
    expect(later).toEqual([]);
  });

  it("proposes the change its owner gains by, not one whose gain is what it then starts alone", () => {
    const index = build([
      task("root", "sum", ["X", "Y", "Z", "V"]),
      task("X", "max", ["x"], { releaseTicks: 30, deadlineTicks: 90 }),
      task("Y", "max", ["y"], { releaseTicks: 30, deadlineTicks: 90 }),
      task("Z", "max", ["z"], { releaseTicks: 60, deadlineTicks: 120 }),
      task("V", "max", ["v"]),
      act("x", "a", 55, 5),
      act("y", "a", 30, 1),
      act("z", "a", 40, 19),
      act("v", "b", 10, 1),
    ]);
    // y at 30 pushes x out and frees a for z at 60 (+15), but a would weigh y (1) against x
    // (5) and refuse it; z at 60 earns the same, and a gains by it on its own (19 for 5).
    const initial = plan([
      ["a", "x", 30],
      ["b", "v", 70],
    ]);
    const installs = proactiveInstalls(index, initial, { from: 4 });
    expect(installs.map((i) => [i.activityId, i.earliest])).toEqual([["z", 60]]);
  });

  it("proposes nothing on a network too large for the estimate", () => {
    const index = unsure();
    expect(proactiveInstalls(index, plan([["a", "a1", 0]]), { maxWork: 1 })).toEqual([]);
  });

  it("is the same for the same model and schedule (its draws are its own, from its seed)", () => {
    const index = unsure();
    const initial = plan([["a", "a1", 0]]);
    expect(proactiveInstalls(index, initial)).toEqual(proactiveInstalls(index, initial));
  });

  it("adds nothing that would push a scheduled method past its deadline", () => {
    const index = build([
      task("root", "sum", ["L", "X"]),
      task("L", "max", ["la"], { deadlineTicks: 40 }),
      task("X", "max", ["x"], { deadlineTicks: 40 }),
      act("la", "a", 30, 20),
      act("x", "a", 20, 5),
    ]);
    // x first would cost la (20) for x (5); after la it cannot end by 40.
    expect(proactiveInstalls(index, plan([["a", "la", 0]]))).toEqual([]);
  });

  it("adds nothing to a schedule that already holds every useful method", () => {
    const index = unsure();
    expect(
      proactiveInstalls(
        index,
        plan([
          ["a", "a1", 0],
          ["b", "a2", 0],
        ]),
      ),
    ).toEqual([]);
  });

  it("estimates a method whose enables source failed as earning nothing", () => {
    const index = build(
      [
        task("root", "sum", ["S", "T"]),
        task("S", "max", ["s"]),
        task("T", "max", ["t"]),
        act("s", "a", 5, 1),
        act("t", "b", 5, 7),
      ],
      [{ kind: "enables", from: "S", to: "T" }],
    );
    const plans = new Map([
      ["a", [{ id: "s", earliest: 0 }]],
      ["b", [{ id: "t", earliest: 0 }]],
    ]);
    const ok = new Map([
      ["s", { d: 5, q: 1 }],
      ["t", { d: 5, q: 7 }],
    ]);
    // t waits for s to end, then earns.
    expect(simulate(index, plans, ok)).toBe(8);
    const failed = new Map([
      ["s", { d: 5, q: 0 }],
      ["t", { d: 5, q: 7 }],
    ]);
    expect(simulate(index, plans, failed)).toBe(0);
  });

  // A min of two methods worth 7 (both scheduled), a method worth 20 on the first's owner, and
  // one worth 5 the second's owner could run if it were free: one agent cannot fit 20 besides
  // its part of the min, and the min is worth nothing without it.
  const minGroup = () => minSwapNetwork().index;
  const minPlan = () => minSwapNetwork().initial;

  it("swaps a min for a better method, dropping the min's other parts to free their owners", () => {
    const installs = proactiveInstalls(minGroup(), minPlan(), { from: 4 });
    // s1 in m1's place, and m2 dropped: 20 for the min's 7 (an addition before m1 that pushed it
    // out would earn as much, with b still spending its time on m2). t1 in m2's place would earn
    // more only if a started s1 on its own once freed, which it may not: not proposed. Then b,
    // freed, is given t1 (5).
    expect(
      installs.map((i) => [i.activityId, i.owner, i.earliest, i.replaces, i.alsoDrops, i.gain]),
    ).toEqual([
      ["s1", "a", 4, ["m1"], [{ owner: "b", activityId: "m2" }], 13],
      ["t1", "b", 4, undefined, undefined, 5],
    ]);
  });

  it("adds the missing children of a min together, on several agents, all or nothing", () => {
    const { index, initial } = minPairNetwork();
    // Either alone costs its owner's filler for nothing; both earn 10 for the two fillers' 4.
    const installs = proactiveInstalls(index, initial, { from: 4 });
    expect(installs.map((i) => [i.activityId, i.owner, i.earliest])).toEqual([
      ["ma", "a", 4],
      ["mb", "b", 4],
    ]);
    expect(installs[0]?.group).toBeDefined();
    expect(installs[1]?.group).toBe(installs[0]?.group);
    expect(installs[0]?.gain).toBe(6);
  });

  it("keeps a swap whose gain on the mean is within the sampling noise", () => {
    const model = (quality: number | { value: number; probability: number }[]) =>
      build([
        task("root", "sum", ["X", "Y"]),
        task("X", "max", ["x"], { deadlineTicks: 40 }),
        task("Y", "max", ["y"], { deadlineTicks: 40 }),
        act("x", "a", 30, 10),
        act("y", "a", 30, quality),
      ]);
    const initial = plan([["a", "x", 10]]);
    // 0 or 22: 11 on average against a sure 10, a gain of 10% that the draws cannot tell
    // from noise.
    const risky = [
      { value: 0, probability: 0.5 },
      { value: 22, probability: 0.5 },
    ];
    expect(proactiveInstalls(model(risky), initial, { from: 4 })).toEqual([]);
    // A sure 11 is the same gain on the mean, beyond doubt.
    const sure = proactiveInstalls(model(11), initial, { from: 4 });
    expect(sure.map((i) => [i.activityId, i.replaces])).toEqual([["y", ["x"]]]);
  });

  it("swaps out a child of a syncsum (the others keep their common start), never delays one", () => {
    // a's s1 and b's s2 start together at 5 (s1 must start by then); a's x, worth more than s1,
    // must start by 4.
    const index = build([
      task("root", "sum", ["S", "X"]),
      task("S", "syncsum", ["s1", "s2"], { deadlineTicks: 15 }),
      task("X", "max", ["x"], { deadlineTicks: 14 }),
      act("s1", "a", 10, 2),
      act("s2", "b", 10, 5),
      act("x", "a", 10, 8),
    ]);
    const installs = proactiveInstalls(
      index,
      plan([
        ["a", "s1", 5],
        ["b", "s2", 5],
      ]),
      { from: 4 },
    );
    expect(installs.map((i) => [i.activityId, i.earliest, i.replaces])).toEqual([["x", 4, ["s1"]]]);
    // 8 for 2: s2 still starts at 5 and earns its 5.
    expect(installs[0]?.gain).toBe(6);
  });

  it("swaps nothing that has started", () => {
    // m1 starts before an install could reach a: the min keeps it, and m2 with it.
    const started = plan([
      ["a", "m1", 0],
      ["b", "m2", 0],
    ]);
    expect(proactiveInstalls(minGroup(), started, { from: 4 }).filter((i) => i.replaces)).toEqual(
      [],
    );
  });

  it("swaps an enables source out only for more than it earns and enables", () => {
    // x (a's, worth 1) enables z (b's, worth `enabled`); y (a's, worth 20) fits only in x's
    // place. Without x, z earns nothing: its owner is left to other work.
    const enabling = (enabled: number) =>
      build(
        [
          task("root", "sum", ["X", "Y", "Z"]),
          task("X", "max", ["x"], { deadlineTicks: 40 }),
          task("Y", "max", ["y"], { deadlineTicks: 40 }),
          task("Z", "max", ["z"]),
          act("x", "a", 30, 1),
          act("y", "a", 30, 20),
          act("z", "b", 5, enabled),
        ],
        [{ kind: "enables", from: "X", to: "Z" }],
      );
    const plans = plan([
      ["a", "x", 10],
      ["b", "z", 50],
    ]);
    const swaps = (enabled: number) =>
      proactiveInstalls(enabling(enabled), plans, { from: 4 })
        .filter((i) => i.replaces)
        .map((i) => [i.activityId, i.replaces, i.gain]);
    expect(swaps(1)).toEqual([["y", ["x"], 18]]);
    expect(swaps(30)).toEqual([]);
  });

  it("places what follows a take-over after the install, and never swaps out the method given up", () => {
    const index = build([
      task("root", "sum", ["R", "X", "Y", "Z"]),
      task("R", "max", ["r"], { deadlineTicks: 40 }),
      task("X", "max", ["x"], { deadlineTicks: 50 }),
      task("Y", "max", ["y"], { deadlineTicks: 100 }),
      task("Z", "max", ["z"], { deadlineTicks: 100 }),
      act("r", "a", 30, 7),
      act("x", "a", 40, 20),
      act("y", "a", 40, 10),
      act("z", "a", 40, 1),
    ]);
    // x takes over r (it must start by 10), and a is busy with it until 44: y, in z's place,
    // can start only then (not at 30, when r would have ended), and what it replaces is z, not
    // r, which a aborts for x.
    const installs = proactiveInstalls(
      index,
      plan([
        ["a", "r", 0],
        ["a", "z", 60],
      ]),
      { from: 4 },
    );
    expect(installs.map((i) => [i.activityId, i.earliest, i.takesOver, i.replaces])).toEqual([
      ["x", 4, true, undefined],
      ["y", 44, false, ["z"]],
    ]);
    // With w planned after r, x pushes it to 44 too: y can start at 49, not at w's planned 35
    // plus its 5.
    const pushed = build([
      task("root", "sum", ["R", "X", "Y", "Z", "W"]),
      task("R", "max", ["r"], { deadlineTicks: 40 }),
      task("X", "max", ["x"], { deadlineTicks: 50 }),
      task("Y", "max", ["y"], { deadlineTicks: 100 }),
      task("Z", "max", ["z"], { deadlineTicks: 100 }),
      task("W", "max", ["w"], { deadlineTicks: 60 }),
      act("r", "a", 30, 7),
      act("x", "a", 40, 20),
      act("y", "a", 40, 10),
      act("z", "a", 40, 1),
      act("w", "a", 5, 3),
    ]);
    const later = proactiveInstalls(
      pushed,
      plan([
        ["a", "r", 0],
        ["a", "w", 35],
        ["a", "z", 60],
      ]),
      { from: 4 },
    );
    expect(later.map((i) => [i.activityId, i.earliest, i.replaces])).toEqual([
      ["x", 4, undefined],
      ["y", 49, ["z"]],
    ]);
  });

  it("names the take-over a swap rests on, and withdraws the swap when the take-over is refused", () => {
    // x (a's, worth 20) must start by 10: it takes over r, a's alternative under R. Without r,
    // y (b's, worth 6) is worth swapping in for w (worth 2); with r (worth 7), it adds nothing.
    const index = build([
      task("root", "sum", ["R", "X", "W"]),
      task("R", "max", ["r", "y"], { deadlineTicks: 40 }),
      task("X", "max", ["x"], { deadlineTicks: 50 }),
      task("W", "max", ["w"], { deadlineTicks: 40 }),
      act("r", "a", 30, 7),
      act("x", "a", 40, 20),
      act("y", "b", 30, 6),
      act("w", "b", 30, 2),
    ]);
    const initial = plan([
      ["a", "r", 0],
      ["b", "w", 5],
    ]);
    const installs = proactiveInstalls(index, initial, { from: 4 });
    expect(
      installs.map((i) => [i.activityId, i.takesOver, i.replaces, i.vouched, i.needs]),
    ).toEqual([
      ["x", true, undefined, false, undefined],
      ["y", false, ["w"], true, ["x"]],
    ]);
    // The same swap, with r out of the plan from the start, stands on its own.
    const alone = proactiveInstalls(index, plan([["b", "w", 5]]), { from: 4 });
    const y = alone.find((i) => i.activityId === "y");
    expect(y).toMatchObject({ replaces: ["w"], vouched: true });
    expect(y?.needs).toBeUndefined();
    // Sent in one transaction; the answers name their method.
    const after = (answers: { from: string; ok: boolean; activity?: string }[]) => {
      const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index, { initial });
      for (let t = 0; t < PROACTIVE_TICK; t++) d.step({ tick: t, events: [], inbox: [] });
      const sent = d.step({ tick: PROACTIVE_TICK, events: [], inbox: [] }).messages;
      const lock = sent[0]?.body.type === "install" ? sent[0].body.lock : -1;
      expect(sent.map((m) => [m.to, m.body.type === "install" ? m.body.lock : -1])).toEqual([
        ["a", lock],
        ["b", lock],
      ]);
      const inbox = answers.map(({ from, ok, activity }, seq) => ({
        from,
        to: DELIBERATIVE_ADDRESS,
        seq,
        body: { type: "installed" as const, lock, ok, ...(activity ? { activity } : {}) },
      }));
      return d
        .step({ tick: PROACTIVE_TICK + 2, events: [], inbox })
        .messages.filter((m) => m.body.type === "cancel")
        .map((m) => [m.to, m.body.type === "cancel" ? m.body.activity : ""]);
    };
    // a refuses x: y, which b took, is withdrawn.
    expect(
      after([
        { from: "a", ok: false, activity: "x" },
        { from: "b", ok: true, activity: "y" },
      ]),
    ).toEqual([["b", "y"]]);
    // An answer that names no method stands for all its owner's.
    expect(
      after([
        { from: "a", ok: false },
        { from: "b", ok: true },
      ]),
    ).toEqual([["b", "y"]]);
    // a takes x: y stands, whatever else is refused.
    expect(
      after([
        { from: "a", ok: true, activity: "x" },
        { from: "b", ok: true, activity: "y" },
      ]),
    ).toEqual([]);
  });

  it("is sent by the deliberative scheduler, unasked, at its tick, to the owner", () => {
    const index = unsure();
    const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index, { initial: unsurePlan() });
    for (let t = 0; t < PROACTIVE_TICK; t++)
      expect(d.step({ tick: t, events: [], inbox: [] }).messages).toEqual([]);
    const sent = d.step({ tick: PROACTIVE_TICK, events: [], inbox: [] }).messages;
    expect(sent).toEqual([
      {
        to: "b",
        body: {
          type: "install",
          lock: 1,
          activity: "a2",
          earliest: PROACTIVE_TICK + 1,
          latest: 30,
          // A swap: vouched for, and says what its owner drops.
          vouched: true,
          replaces: ["b1"],
        },
      },
    ]);
    // Once only.
    expect(d.step({ tick: PROACTIVE_TICK + 1, events: [], inbox: [] }).messages).toEqual([]);
    // Without the initial schedule it proposes nothing.
    const bare = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index);
    for (let t = 0; t <= PROACTIVE_TICK; t++)
      expect(bare.step({ tick: t, events: [], inbox: [] }).messages).toEqual([]);
  });
});

describe("the schedule released before the run", () => {
  // a's planned s1 (worth 5) keeps it from u1 (worth 20) in the same stretch; S enables T, and
  // idle c can cover S with s2 (worth 4).
  const handOver = () =>
    build(
      [
        task("root", "sum", ["S", "T", "U"]),
        task("S", "max", ["s1", "s2"], { deadlineTicks: 20 }),
        task("T", "max", ["t1"], { deadlineTicks: 60 }),
        task("U", "sum", ["u1"], { deadlineTicks: 20 }),
        act("s1", "a", 15, 5),
        act("s2", "c", 15, 4),
        act("t1", "b", 10, 10),
        act("u1", "a", 15, 20),
      ],
      [{ kind: "enables", from: "S", to: "T" }],
    );
  const handOverPlan = () =>
    plan([
      ["a", "s1", 0],
      ["b", "t1", 20],
    ]);

  it("makes before the run a swap of a method planned at tick 0", () => {
    const index = handOver();
    const initial = handOverPlan();
    // Once the run is under way, s1 has started and enables T: it is never taken over.
    expect(proactiveInstalls(index, initial, { from: PROACTIVE_TICK + 1 })).toEqual([]);
    // Before it, a swaps s1 for u1, and c is given s2 so that T can still be enabled.
    const released = releasedSchedule(index, initial);
    expect(
      released.resources.map((r) => [
        r.resourceId,
        r.activities.map((a) => [a.activityId, a.startTicks]),
      ]),
    ).toEqual([
      ["a", [["u1", 0]]],
      ["b", [["t1", 20]]],
      ["c", [["s2", 0]]],
    ]);
    expect(released.version).toBe(initial.version + 1);
    // Remembered: every trial of a scenario gets the same schedule.
    expect(releasedSchedule(index, initial)).toBe(released);
    // The agents run it: a starts u1 at once, c covers S, and T still earns (BOS keeps s1).
    const run = runStrategy(index, initial, "consort", 1);
    expect(run.executed.find((e) => e.activityId === "u1")?.startTicks).toBe(0);
    expect(run.executed.some((e) => e.activityId === "s1")).toBe(false);
    expect(run.rootQuality).toBe(34);
    expect(runStrategy(index, initial, "bos", 1).rootQuality).toBe(15);
    // Without the coordinator's scheduler the agents run the initial schedule.
    const alone = runStrategy(index, initial, "consort", 1, { deliberative: false });
    expect(alone.executed.find((e) => e.activityId === "s1")?.startTicks).toBe(0);
  });

  it("hands out the initial schedule itself when it vouches for no change", () => {
    const index = handOver();
    const best = plan([
      ["a", "u1", 0],
      ["c", "s2", 0],
      ["b", "t1", 20],
    ]);
    expect(releasedSchedule(index, best)).toBe(best);
  });
});
