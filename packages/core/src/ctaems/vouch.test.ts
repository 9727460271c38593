import { describe, expect, it } from "vitest";
import { act, build, plan, task } from "../test-support/ctaems-networks.js";
import { SchedulerAgentCsc } from "./agent.js";
import { DeliberativeScheduler, PROACTIVE_TICK } from "./deliberative.js";
import { DELIBERATIVE_ADDRESS, setupsFor } from "./experiment.js";
import { VOUCH_SHARE } from "./improve.js";
import type { PeerMessage } from "./messages.js";

describe("a proactive install the scheduler vouches for", () => {
  // x (5) at 2 pushes keep (10) past its deadline: on its own view a loses 10 for 5. With
  // `running`, keep is planned from 0 and under way when x arrives.
  const index = (running = false) =>
    build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["keep"], { releaseTicks: running ? 0 : 2, deadlineTicks: 15 }),
      task("B", "max", ["x"], { releaseTicks: 2, deadlineTicks: 12 }),
      act("keep", "a", 10, 10),
      act("x", "a", 10, 5),
    ]);
  const answer = (vouched: boolean, running = false): boolean | undefined => {
    const setup = setupsFor(index(running), plan([["a", "keep", running ? 0 : 2]]), "consort").get(
      "a",
    );
    if (!setup) throw new Error("no setup for a");
    const agent = new SchedulerAgentCsc(setup);
    const install: PeerMessage = {
      from: DELIBERATIVE_ADDRESS,
      to: "a",
      seq: 1,
      body: {
        type: "install",
        lock: 1,
        activity: "x",
        earliest: 2,
        latest: 2,
        ...(vouched ? { vouched: true } : {}),
      },
    } as PeerMessage;
    const answers: boolean[] = [];
    for (let tick = 0; tick <= 3; tick++) {
      const out = agent.step({ tick, events: [], inbox: tick === 1 ? [install] : [] });
      for (const m of out.messages) if (m.body.type === "installed") answers.push(m.body.ok);
    }
    return answers[0];
  };

  it("is refused by an owner that prices it below what it displaces, unless vouched for", () => {
    expect(answer(false)).toBe(false);
    expect(answer(true)).toBe(true);
  });

  it("is weighed by its owner all the same where it would take over a method under way", () => {
    // The scheduler vouched for the plan it saw: the abort it needs is the owner's to weigh.
    expect(answer(true, true)).toBe(false);
  });

  it("is vouched for only when its estimated gain is a clear share of the expected quality", () => {
    // A sure 5 under a max beside a method worth 100 half the time: about 2.5 on 50, under
    // VOUCH_SHARE (and above the estimate's least gain). b would not start it on its own: at
    // its longest it would hold up b1 (worth 1, due at 15), which it does half the time; b1 is
    // not swapped out, as its min's other part has started.
    const network = (a1Worth: number) =>
      build([
        task("root", "sum", ["A", "B"]),
        task("A", "max", ["a1", "a2"], { deadlineTicks: 25 }),
        task("B", "min", ["b0", "b1"], { deadlineTicks: 25 }),
        act("a1", "a", 10, [
          { value: 0, probability: 0.5 },
          { value: a1Worth, probability: 0.5 },
        ]),
        act(
          "a2",
          "b",
          [
            { value: 10, probability: 0.5 },
            { value: 20, probability: 0.5 },
          ],
          5,
        ),
        act("b0", "c", 10, 1),
        act("b1", "b", 10, 1),
      ]);
    const small = network(100);
    const initial = () =>
      plan([
        ["a", "a1", 0],
        ["b", "b1", 15],
        ["c", "b0", 0],
      ]);
    const sent = (ix: typeof small, initial: ReturnType<typeof plan>) => {
      const d = new DeliberativeScheduler(DELIBERATIVE_ADDRESS, ix, { initial });
      for (let t = 0; t < PROACTIVE_TICK; t++) d.step({ tick: t, events: [], inbox: [] });
      return d
        .step({ tick: PROACTIVE_TICK, events: [], inbox: [] })
        .messages.flatMap((m) => (m.body.type === "install" ? [m.body] : []));
    };
    const installs = sent(small, initial());
    expect(installs.map((b) => b.activity)).toEqual(["a2"]);
    expect(installs[0]?.vouched).toBeUndefined();
    // The same alternative beside a method worth 10 half the time is a clear gain (2 on 6).
    expect(2 / 6).toBeGreaterThan(VOUCH_SHARE);
    expect(sent(network(10), initial())[0]?.vouched).toBe(true);
    // Nor one that takes over the method its owner has under way (its owner weighs that one as
    // it runs): b1 (20) in place of a1 (7), which started at 0 and would end after b1's last
    // start.
    const over = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1"], { deadlineTicks: 50 }),
      task("B", "max", ["b1"], { deadlineTicks: 50 }),
      act("a1", "a", 30, 7),
      act("b1", "a", 40, 20),
    ]);
    const taking = sent(over, plan([["a", "a1", 0]]));
    expect(taking.map((b) => b.activity)).toEqual(["b1"]);
    expect(taking[0]?.vouched).toBeUndefined();
  });
});
