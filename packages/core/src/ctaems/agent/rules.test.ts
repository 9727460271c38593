import { describe, expect, it } from "vitest";
import type { ModelIndex } from "../../model/model-index.js";
import type { ActivityNode } from "../../model/types.js";
import type { Schedule } from "../../schedule/types.js";
import { act, build, evenly, plan, task } from "../../test-support/ctaems-networks.js";
import { type CtaemsAgent, SchedulerAgentCsc, type TickInput, type TickOutput } from "../agent.js";
import { CtaemsWorld, runTrial, viewersOf } from "../engine.js";
import {
  DELIBERATIVE_ADDRESS,
  lastPlannedStart,
  participantsFor,
  runStrategy,
  setupsFor,
} from "../experiment.js";
import type { ChildReport, PeerMessage } from "../messages.js";
import type { AgentSetup } from "../setup.js";

/** Steps one agent alone through ticks 0..last, handing it `inbox` at the tick given. */
function drive(
  agent: SchedulerAgentCsc,
  last: number,
  inbox: Map<number, PeerMessage[]> = new Map(),
): TickOutput[] {
  const outs: TickOutput[] = [];
  for (let tick = 0; tick <= last; tick++)
    outs.push(agent.step({ tick, events: [], inbox: inbox.get(tick) ?? [] }));
  return outs;
}

/** The agent's answers to installs, in order. */
const installedAnswers = (outs: TickOutput[]): boolean[] =>
  outs.flatMap((o) => o.messages).flatMap((m) => (m.body.type === "installed" ? [m.body.ok] : []));

/** Agent `agent`'s setup under Consort with the initial schedule `initial`. */
function setupOf(index: ModelIndex, initial: Schedule, agent: string): AgentSetup {
  const setup = setupsFor(index, initial, "consort").get(agent);
  if (!setup) throw new Error(`no setup for ${agent}`);
  return setup;
}

/** An install of the deliberative scheduler: start `activity` in [at, latest], transaction `lock`. */
const install = (
  to: string,
  activity: string,
  at: number,
  { latest = at, lock = 1 }: { latest?: number; lock?: number } = {},
): PeerMessage =>
  ({
    from: DELIBERATIVE_ADDRESS,
    to,
    seq: lock,
    body: { type: "install", lock, activity, earliest: at, latest },
  }) as PeerMessage;

/** A neighbour's report to `to` (default "a") of `node`'s children, as its profiles say. */
const reportTo = (from: string, node: string, children: ChildReport[], to = "a"): PeerMessage => ({
  from,
  to,
  seq: 1,
  body: { type: "report", node, children },
});

describe("deliberative installs on the agent's side", () => {
  // "src" (a's, 10 ticks) enables "later" (b's, worth 30); "rival" is worth more than "src" on
  // its own path, and must start by 6.
  // With `unplanned`, "later" also needs "O", which a does not plan.
  const network = (enables: boolean, unplanned = false) =>
    build(
      [
        task("root", "sum", ["S", "R", "O", "later"]),
        task("S", "max", ["src"]),
        task("R", "max", ["rival"]),
        task("O", "max", ["o"]),
        act("src", "a", 10, 5),
        act("rival", "a", 4, 20, { deadlineTicks: 10 }),
        act("o", "a", 3, 1),
        act("later", "b", 3, 30),
      ],
      [
        ...(enables ? [{ kind: "enables" as const, from: "S", to: "later" }] : []),
        ...(unplanned ? [{ kind: "enables" as const, from: "O", to: "later" }] : []),
      ],
    );
  const run = (enables: boolean, unplanned = false) => {
    const index = network(enables, unplanned);
    const setup = setupOf(
      index,
      plan([
        ["a", "src", 0],
        ["b", "later", 12],
      ]),
      "a",
    );
    const agent = new SchedulerAgentCsc(setup);
    return drive(agent, 6, new Map([[4, [install("a", "rival", 5)]]]));
  };
  const answer = (outs: TickOutput[]) => installedAnswers(outs);

  it("a running enables source is not displaced by an install, however important", () => {
    const outs = run(true);
    expect(outs[0]?.start).toBe("src");
    expect(answer(outs)).toEqual([false]);
    expect(outs.some((o) => o.abort !== undefined)).toBe(false);
  });

  it("a running enables source gives way when what it enables is lost anyway (another enabler is not planned)", () => {
    const outs = run(true, true);
    expect(answer(outs)).toEqual([true]);
    expect(outs.find((o) => o.abort !== undefined)?.abort).toBe("src");
  });

  it("a running method that enables nothing gives way to a clearly more important install", () => {
    const outs = run(false);
    expect(outs[0]?.start).toBe("src");
    expect(answer(outs)).toEqual([true]);
    expect(outs.find((o) => o.abort !== undefined)?.abort).toBe("src");
  });
});

/**
 * a runs "src" (10 ticks, worth 5) under the max "S", which enables b's "later" (planned at 12,
 * worth `laterWorth`); at 4 the deliberative scheduler installs a's "rival" (worth 20, by 6),
 * which would take src's place. With `alt`, c's "alt" is a second way to S, and c reports it
 * scheduled or not; with `laterReported`, b reports later planned and sure. Returns a's answers
 * to the install and what it aborted.
 */
function rivalOverRunningSource({
  alt,
  laterWorth = 30,
  laterReported = false,
}: {
  alt?: "scheduled" | "unscheduled";
  laterWorth?: number;
  laterReported?: boolean;
}) {
  const index = build(
    [
      task("root", "sum", ["S", "R", "later"]),
      task("S", "max", alt ? ["src", "alt"] : ["src"]),
      task("R", "max", ["rival"]),
      act("src", "a", 10, 5),
      ...(alt ? [act("alt", "c", 10, 5)] : []),
      act("rival", "a", 4, 20, { deadlineTicks: 10 }),
      act("later", "b", 3, laterWorth),
    ],
    [{ kind: "enables", from: "S", to: "later" }],
  );
  const setup = setupOf(
    index,
    plan([
      ["a", "src", 0],
      ["b", "later", 12],
    ]),
    "a",
  );
  const scheduled = alt === "scheduled";
  const reports = [
    ...(alt
      ? [
          reportTo("c", "S", [
            { id: "alt", p: scheduled ? 1 : 0, v: 5, pp: 1, pv: 5, busy: scheduled ? 10 : 0 },
          ]),
        ]
      : []),
    ...(laterReported
      ? [
          reportTo("b", "root", [
            { id: "later", p: 1, v: laterWorth, pp: 1, pv: laterWorth, busy: 3, e: 12 },
          ]),
        ]
      : []),
  ];
  const outs = drive(
    new SchedulerAgentCsc(setup),
    6,
    new Map([
      [1, reports],
      [4, [install("a", "rival", 5)]],
    ]),
  );
  return {
    answers: installedAnswers(outs),
    abort: outs.find((o) => o.abort !== undefined)?.abort,
  };
}

describe("a running enables source with an alternative nobody runs", () => {
  // As above, with "alt" (c's) a second way to "S": c reports whether it has it scheduled.
  const run = (altScheduled: boolean) =>
    rivalOverRunningSource({ alt: altScheduled ? "scheduled" : "unscheduled" });

  it("is not displaced when the alternative could run but nobody has it scheduled", () => {
    // Its owner may have no time for it: only what is scheduled or done is a way around.
    expect(run(false)).toEqual({ answers: [false], abort: undefined });
  });

  it("gives way when the alternative is scheduled", () => {
    expect(run(true)).toEqual({ answers: [true], abort: "src" });
  });
});

describe("deliberative installs and synchronized starts", () => {
  // "x" (a's, 8 ticks, worth 20) is installed at tick 1 (before a improvises) to start at 4; a's
  // "y1" is planned at 10 with b's "y2". Under a syncsum, "y1" must start at 10 with "y2"; under
  // a sum, a later start is free.
  const run = (qaf: "syncsum" | "sum") => {
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["x"]),
      task("Y", qaf, ["y1", "y2"]),
      act("x", "a", 8, 20),
      act("y1", "a", 3, 2),
      act("y2", "b", 3, 2),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "y1", 10],
        ["b", "y2", 10],
      ]),
      "a",
    );
    const outs = drive(new SchedulerAgentCsc(setup), 5, new Map([[1, [install("a", "x", 4)]]]));
    return installedAnswers(outs);
  };

  it("an install that would push a synchronized start past its tick is refused", () => {
    expect(run("syncsum")).toEqual([false]);
  });

  it("the same install is taken where the later start costs nothing", () => {
    expect(run("sum")).toEqual([true]);
  });

  it("an install taken for a synchronized start's tick starts after it, not in its place", () => {
    // x (a's, worth 20) can start from 10, when a's y1 starts with b's y2: taken at tick 1, to
    // start in [10, 20], it was weighed as going after y1, and goes after it.
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["x"], { releaseTicks: 10, deadlineTicks: 30 }),
      task("Y", "syncsum", ["y1", "y2"]),
      act("x", "a", 8, 20),
      act("y1", "a", 3, 2),
      act("y2", "b", 3, 2),
    ]);
    const initial = plan([
      ["a", "y1", 10],
      ["b", "y2", 10],
    ]);
    const setups = setupsFor(index, initial, "consort");
    const sent = install("a", "x", 10, { latest: 20 });
    const agents: CtaemsAgent[] = [
      ...participantsFor(index, setups).map((p) => ({
        id: p.id,
        step: (input: TickInput) =>
          p.step(
            p.id === "a" && input.tick === 1 ? { ...input, inbox: [...input.inbox, sent] } : input,
          ),
      })),
      // The coordinator's scheduler, silent: the install above is its only word.
      { id: DELIBERATIVE_ADDRESS, step: () => ({ messages: [] }) },
    ];
    const world = new CtaemsWorld(
      index,
      1,
      viewersOf(setups.values()),
      [],
      lastPlannedStart(initial),
    );
    const r = runTrial(world, agents);
    const starts = Object.fromEntries(r.executed.map((e) => [e.activityId, e.startTicks]));
    expect(starts).toEqual({ y1: 10, y2: 10, x: 13 });
    expect(r.rootQuality).toBe(24);
  });

  it("a swap that replaces a synchronized method leaves its group, so the others do not wait", () => {
    const index = build([
      task("root", "sum", ["X", "Y"]),
      task("X", "max", ["x"]),
      task("Y", "syncsum", ["y1", "y2"]),
      act("x", "a", 8, 20),
      act("y1", "a", 3, 2),
      act("y2", "b", 3, 2),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "y1", 10],
        ["b", "y2", 10],
      ]),
      "a",
    );
    const swap = install("a", "x", 4);
    if (swap.body.type === "install") Object.assign(swap.body, { vouched: true, replaces: ["y1"] });
    const outs = drive(new SchedulerAgentCsc(setup), 5, new Map([[1, [swap]]]));
    expect(installedAnswers(outs)).toEqual([true]);
    const withdrawn = outs
      .flatMap((o) => o.messages)
      .filter((m) => m.body.type === "withdraw")
      .map((m) => [m.to, m.body.type === "withdraw" ? m.body.group : ""]);
    expect(withdrawn).toEqual([["b", "Y"]]);
  });
});

/** A whole run of the agents alone (no deliberative scheduler): each method's start, and quality. */
function startsOf(index: ReturnType<typeof build>, initial: ReturnType<typeof plan>) {
  const r = runStrategy(index, initial, "consort", 1, { deliberative: false });
  const starts = Object.fromEntries(r.executed.map((e) => [e.activityId, e.startTicks]));
  return { starts, quality: r.rootQuality };
}

describe("a synchronized start on the run's first tick", () => {
  // a's "y1" and b's "y2", children of the syncsum "Y", are planned together; "z" (a's, after
  // "y1") must end by its deadline, which a start one tick late misses.
  const run = (at: number) => {
    const index = build([
      task("root", "sum", ["Y", "Z"]),
      task("Y", "syncsum", ["y1", "y2"]),
      task("Z", "max", ["z"], { deadlineTicks: at + 8 }),
      act("y1", "a", 4, 3),
      act("y2", "b", 4, 5),
      act("z", "a", 4, 10),
    ]);
    const initial = plan([
      ["a", "y1", at],
      ["a", "z", at + 4],
      ["b", "y2", at],
    ]);
    return startsOf(index, initial);
  };

  it("starts on tick 0 without a readiness round: every member was given that start", () => {
    expect(run(0)).toEqual({ starts: { y1: 0, y2: 0, z: 4 }, quality: 18 });
  });

  it("a start planned later still waits for every member's word, sent a tick ahead", () => {
    expect(run(6).starts).toEqual({ y1: 6, y2: 6, z: 10 });
  });
});

describe("improvising while profiles settle", () => {
  // a has nothing planned: "b" (10 ticks, worth 5) could start at once, and "s" (5 ticks, worth
  // 8) is released at 10 and due by 15. Waiting the settling ticks before "b" would push "s"
  // past its deadline; with "s" released later, the wait costs nothing.
  const run = (release: number) => {
    const index = build([
      task("root", "sum", ["B", "S"]),
      task("B", "sum", ["b"]),
      task("S", "sum", ["s"], { releaseTicks: release, deadlineTicks: release + 5 }),
      act("b", "a", 10, 5),
      act("s", "a", 5, 8),
    ]);
    return startsOf(index, plan([]));
  };

  it("starts at once a method that waiting would make end after another one's release", () => {
    expect(run(10)).toEqual({ starts: { b: 0, s: 10 }, quality: 13 });
  });

  it("waits the settling ticks where the next release leaves room", () => {
    expect(run(20)).toEqual({ starts: { b: 2, s: 20 }, quality: 13 });
  });
});

describe("opportunistic starts under a syncsum", () => {
  // b's "y2" and c's "y3" are planned together at 10; a's "y1" is planned by no one and could
  // run now. A syncsum counts only the children starting at its first start.
  const run = (qaf: "syncsum" | "sum") => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", qaf, ["y1", "y2", "y3"]),
      act("y1", "a", 3, 5),
      act("y2", "b", 3, 10),
      act("y3", "c", 3, 10),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["b", "y2", 10],
        ["c", "y3", 10],
      ]),
      "a",
    );
    return { setup, outs: drive(new SchedulerAgentCsc(setup), 6) };
  };

  it("an agent outside a planned synchronized start does not start its child ahead of it", () => {
    const { setup, outs } = run("syncsum");
    expect(setup.othersSyncGroups?.map((g) => g.id)).toEqual(["Y"]);
    expect(outs.some((o) => o.start === "y1")).toBe(false);
  });

  it("under a sum the same child starts at once", () => {
    const { setup, outs } = run("sum");
    expect(setup.othersSyncGroups).toBeUndefined();
    expect(outs.some((o) => o.start === "y1")).toBe(true);
  });

  it("an agent outside a planned synchronized start joins it at its tick", () => {
    // Started with the others, y1 goes ahead of no one: the syncsum counts all three.
    const { starts, quality } = startsOf(
      build([
        task("root", "sum", ["Y"]),
        task("Y", "syncsum", ["y1", "y2", "y3"]),
        act("y1", "a", 3, 5),
        act("y2", "b", 3, 10),
        act("y3", "c", 3, 10),
      ]),
      plan([
        ["b", "y2", 10],
        ["c", "y3", 10],
      ]),
    );
    expect(starts).toEqual({ y1: 10, y2: 10, y3: 10 });
    expect(quality).toBe(25);
  });
});

describe("an install under a min takes over a running method only with its siblings planned", () => {
  // a runs "r" (sure, worth 8); "x" (a's, worth 20 with b's "y" under a min) must start by 5.
  const run = (siblingScheduled: boolean) => {
    const index = build([
      task("root", "sum", ["R", "M"]),
      task("R", "max", ["r"]),
      task("M", "min", ["x", "y"]),
      act("r", "a", 10, 8),
      act("x", "a", 4, 20, { deadlineTicks: 10 }),
      act("y", "b", 3, 20),
    ]);
    const setup = setupOf(index, plan([["a", "r", 0]]), "a");
    const p = siblingScheduled ? 1 : 0;
    const report = reportTo("b", "M", [
      { id: "y", p, v: 20, pp: 1, pv: 20, busy: siblingScheduled ? 3 : 0 },
    ]);
    const outs = drive(
      new SchedulerAgentCsc(setup),
      6,
      new Map([
        [1, [report]],
        [4, [install("a", "x", 5)]],
      ]),
    );
    return {
      answers: installedAnswers(outs),
      abort: outs.find((o) => o.abort !== undefined)?.abort,
    };
  };

  it("refuses while the other child is planned by no one (its worth may never come)", () => {
    expect(run(false)).toEqual({ answers: [false], abort: undefined });
  });

  it("takes over when the other child is scheduled", () => {
    expect(run(true)).toEqual({ answers: [true], abort: "r" });
  });
});

describe("re-choice: a method of the initial schedule gives way to clearly better own work", () => {
  // a's "a1" (10 ticks, by 18) is planned at 8; "b1" (by 16) and "c1" (by 28), 7 ticks each and
  // worth 10, released at 2 (too late to end before a1), are planned by no one. Kept, "a1" leaves room only for "c1" (after it); freed,
  // the agent runs both. The choice is made once profiles have settled (tick 4).
  const run = (a1Worth: number) => {
    const index = build([
      task("root", "sum", ["A", "B", "C"]),
      task("A", "max", ["a1"]),
      task("B", "max", ["b1"]),
      task("C", "max", ["c1"]),
      act("a1", "a", 10, a1Worth, { deadlineTicks: 18 }),
      act("b1", "a", 7, 10, { releaseTicks: 2, deadlineTicks: 16 }),
      act("c1", "a", 7, 10, { releaseTicks: 2, deadlineTicks: 28 }),
    ]);
    const setup = setupOf(index, plan([["a", "a1", 8]]), "a");
    return drive(new SchedulerAgentCsc(setup), 9).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("a planned method worth little gives way", () => {
    expect(run(2)).toEqual([[4, "b1"]]);
  });

  it("a planned method worth more than what it shuts out is kept", () => {
    expect(run(20)).toEqual([[8, "a1"]]);
  });

  it("is made at the planned start when the better work is released only then", () => {
    // a's "a1" (10 ticks, by 18) is planned at 8; "b1" (7 ticks, by 16, worth 10), planned by
    // no one, is released at 8: before then the freed time would not be taken up at once.
    const starts = (a1Worth: number) => {
      const index = build([
        task("root", "sum", ["A", "B"]),
        task("A", "max", ["a1"]),
        task("B", "max", ["b1"]),
        act("a1", "a", 10, a1Worth, { deadlineTicks: 18 }),
        act("b1", "a", 7, 10, { releaseTicks: 8, deadlineTicks: 16 }),
      ]);
      const setup = setupOf(index, plan([["a", "a1", 8]]), "a");
      return drive(new SchedulerAgentCsc(setup), 9).flatMap((o, tick) =>
        o.start !== undefined ? [[tick, o.start] as const] : [],
      );
    };
    expect(starts(2)).toEqual([[8, "b1"]]);
    expect(starts(20)).toEqual([[8, "a1"]]);
  });

  it("keeps a method under a min at its planned start while another child is planned", () => {
    // a's "m" (10 ticks, by 18, worth 2) and b's "n" are the children of min "M", both planned
    // at 8; "b1" (7 ticks, by 16, worth 10) is released at 8. b starts n on the plan at 8: m
    // giving way then would leave n's work for nothing.
    const index = build([
      task("root", "sum", ["M", "B"]),
      task("M", "min", ["m", "n"]),
      task("B", "max", ["b1"]),
      act("m", "a", 10, 2, { deadlineTicks: 18 }),
      act("n", "b", 10, 10, { deadlineTicks: 18 }),
      act("b1", "a", 7, 10, { releaseTicks: 8, deadlineTicks: 16 }),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "m", 8],
        ["b", "n", 8],
      ]),
      "a",
    );
    const report = reportTo("b", "M", [{ id: "n", p: 1, v: 10, pp: 1, pv: 10, busy: 10 }]);
    const outs = drive(new SchedulerAgentCsc(setup), 9, new Map([[1, [report]]]));
    expect(outs.flatMap((o, tick) => (o.start !== undefined ? [[tick, o.start]] : []))).toEqual([
      [8, "m"],
    ]);
  });
});

describe("re-choice weighs the spread of the planned method and of the work instead", () => {
  // a's "a1" (10 ticks, by 18) is planned at 8; "b1" (7 ticks, released at 2, by 16), planned
  // by no one, fits only if a1 gives way. Each is sure, or a gamble at even odds of twice its
  // expected worth (its spread equals that worth). Less half its spread, a gamble worth 15 is
  // worth less than a sure 10, and a sure 13 more than a gamble worth 10.
  const evens = (worth: number) => evenly(0, 2 * worth);
  const starts = (b1: "sure" | "gamble", a1: "sure" | "gamble" = "sure", b1Worth = 15) => {
    const quality = b1 === "sure" ? b1Worth : evens(b1Worth);
    const index = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1"]),
      task("B", "max", ["b1"]),
      act("a1", "a", 10, a1 === "sure" ? 10 : evens(10), { deadlineTicks: 18 }),
      act("b1", "a", 7, quality, { releaseTicks: 2, deadlineTicks: 16 }),
    ]);
    const setup = setupOf(index, plan([["a", "a1", 8]]), "a");
    return drive(new SchedulerAgentCsc(setup), 9).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("the planned method gives way to surer work worth clearly more", () => {
    expect(starts("sure")).toEqual([[4, "b1"]]);
  });

  it("the planned method is kept against a gamble of the same worth", () => {
    expect(starts("gamble")).toEqual([[8, "a1"]]);
  });

  it("a planned gamble gives way to sure work worth a little more", () => {
    expect(starts("sure", "gamble", 13)).toEqual([[4, "b1"]]);
  });
});

/**
 * a's setup for `index`, with `planned` its one planned method and b's "s" planned to accrue at
 * `eta`, and b's enabler notice for "E" saying it expects that.
 */
const hearingEnablerAt = (
  index: ReturnType<typeof build>,
  planned: readonly [string, number],
  eta: number,
): { setup: AgentSetup; notice: PeerMessage } => {
  const setup = setupOf(
    index,
    plan([
      ["a", ...planned],
      ["b", "s", eta - 10],
    ]),
    "a",
  );
  const notice = {
    from: "b",
    to: "a",
    seq: 1,
    body: { type: "enabler", node: "E", p: 1, pp: 1, eta },
  } as PeerMessage;
  return { setup, notice };
};

describe("re-choice values work from the start its enabler allows", () => {
  // a's "a1" (10 ticks, by 18, worth 10) is planned at 8. "b1" (7 ticks, by 16, worth 15) waits
  // on b's "E", which b expects to accrue at `eta`; "c1" (6 ticks, worth 5) fits before a1 only
  // if a1 gives way. Valued from tick 4, b1 is worth giving a1 up for; from the start E allows
  // (its news a tick after `eta`) it would miss its deadline.
  const starts = (eta: number) => {
    const index = build(
      [
        task("root", "sum", ["A", "B", "C", "E"]),
        task("A", "max", ["a1"]),
        task("B", "max", ["b1"]),
        task("C", "max", ["c1"]),
        task("E", "max", ["s"]),
        act("a1", "a", 10, 10, { deadlineTicks: 18 }),
        act("b1", "a", 7, 15, { releaseTicks: 2, deadlineTicks: 16 }),
        act("c1", "a", 6, 5, { releaseTicks: 3, deadlineTicks: 30 }),
        act("s", "b", 10, 5),
      ],
      [{ kind: "enables", from: "E", to: "b1" }],
    );
    const { setup, notice } = hearingEnablerAt(index, ["a1", 8], eta);
    return drive(new SchedulerAgentCsc(setup), 9, new Map([[1, [notice]]])).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("a planned method is kept for work whose enabler comes too late for it", () => {
    expect(starts(10)).toEqual([[8, "a1"]]);
  });
});

describe("an opportunistic start counts what it enables", () => {
  // a is idle from 0 and can run one of two 10-tick methods, each by 14: "e2" (worth 16), a
  // backup under the max "E" of b's "e1" (under way, 50% sure, worth 20), or "o" (worth 10). "E"
  // enables a's own "t" (worth 20, planned at 20). On its quality alone e2 adds 8 (e1 fails
  // half the time) and o adds 10; e2 also makes t sure to be enabled.
  const firstStart = (enables: boolean): string | undefined => {
    const index = build(
      [
        task("root", "sum", ["E", "O", "T"]),
        task("E", "max", ["e1", "e2"]),
        task("O", "max", ["o"]),
        task("T", "max", ["t"]),
        act("e1", "b", 10, evenly(0, 20)),
        act("e2", "a", 10, 16, { deadlineTicks: 14 }),
        act("o", "a", 10, 10, { deadlineTicks: 14 }),
        act("t", "a", 3, 20, { deadlineTicks: 40 }),
      ],
      enables ? [{ kind: "enables", from: "E", to: "T" }] : [],
    );
    const setup = setupOf(
      index,
      plan([
        ["b", "e1", 0],
        ["a", "t", 20],
      ]),
      "a",
    );
    const heard = reportTo("b", "E", [
      { id: "e1", p: 0.5, v: 20, pp: 0.5, pv: 20, busy: 10, s: 0 },
    ]);
    const outs = drive(new SchedulerAgentCsc(setup), 4, new Map([[0, [heard]]]));
    return outs.find((o) => o.start !== undefined)?.start;
  };

  it("takes up the backup of the enables source over work worth more on its own", () => {
    expect(firstStart(true)).toBe("e2");
  });

  it("takes up the work worth more where nothing is enabled", () => {
    expect(firstStart(false)).toBe("o");
  });
});

describe("an opportunistic start before a scheduled method that waits on its enabler", () => {
  // a's "m" (8 or 12 ticks, by `mDeadline`, worth 5) is planned at 20 and waits on b's "E"; "o"
  // (45 ticks, worth 10) is released at 5. With `busy`, a is at work from 2 on its own choice
  // "r" (30 ticks, worth 4), and o must start by 7 (its deadline is 52). Returns a's starts and
  // aborts, E expected at `eta`.
  const run = ({
    eta,
    mDeadline = 60,
    busy = false,
  }: {
    eta: number;
    mDeadline?: number;
    busy?: boolean;
  }) => {
    const index = build(
      [
        task("root", "sum", ["M", "O", "E", ...(busy ? ["R"] : [])]),
        task("M", "max", ["m"]),
        task("O", "max", ["o"]),
        task("E", "max", ["s"]),
        act("m", "a", evenly(8, 12), 5, { deadlineTicks: mDeadline }),
        act("o", "a", 45, 10, { releaseTicks: 5, ...(busy ? { deadlineTicks: 52 } : {}) }),
        act("s", "b", 10, 5),
        ...(busy ? [task("R", "max", ["r"]), act("r", "a", 30, 4, { releaseTicks: 2 })] : []),
      ],
      [{ kind: "enables", from: "E", to: "m" }],
    );
    const { setup, notice } = hearingEnablerAt(index, ["m", 20], eta);
    const outs = drive(new SchedulerAgentCsc(setup), 8, new Map([[1, [notice]]]));
    return {
      starts: outs.flatMap((o, tick) => (o.start !== undefined ? [[tick, o.start] as const] : [])),
      abort: outs.find((o) => o.abort !== undefined)?.abort,
    };
  };

  // At its longest m must start by 48, and o started at 5 would end at 50. Where E is expected
  // to accrue at 49 (its news at 50), m cannot start before 50 anyway: o costs it nothing.
  // Where E is expected at 30, o would push m past its last safe start.
  it("takes the gap up to the enabler's expected accrual", () => {
    expect(run({ eta: 49 }).starts[0]).toEqual([5, "o"]);
  });

  it("keeps the gap to the method's last safe start where the enabler comes earlier", () => {
    expect(run({ eta: 30 }).starts).toEqual([]);
  });

  // Aborting r for o would rest on E's expected time: an abort cannot be undone, and is not
  // made on it. Where m's own deadline (100) leaves room, o is worth the abort.
  it("an abort does not count on the enabler's expected accrual", () => {
    expect(run({ eta: 49, busy: true })).toEqual({ starts: [[2, "r"]], abort: undefined });
  });

  it("the same abort is made where the scheduled method leaves room without it", () => {
    expect(run({ eta: 49, mDeadline: 100, busy: true })).toEqual({
      starts: [
        [2, "r"],
        [5, "o"],
      ],
      abort: "r",
    });
  });
});

describe("re-choice at the planned tick, of work released at that very tick", () => {
  // a's "a1" (10 ticks, by 30) is planned at 8; "b1" (7 ticks, worth 10, by 18), planned by no
  // one, is released at 8 too. Before 8 the freed time could not be taken up at once; at 8, a
  // cheap "a1" still gives way, and runs after "b1" (it still ends by its deadline).
  const run = (a1Worth: number) => {
    const index = build([
      task("root", "sum", ["A", "B"]),
      task("A", "max", ["a1"]),
      task("B", "max", ["b1"]),
      act("a1", "a", 10, a1Worth, { deadlineTicks: 30 }),
      act("b1", "a", 7, 10, { releaseTicks: 8, deadlineTicks: 18 }),
    ]);
    const setup = setupOf(index, plan([["a", "a1", 8]]), "a");
    const outs: TickOutput[] = [];
    const agent = new SchedulerAgentCsc(setup);
    for (let tick = 0; tick <= 16; tick++) {
      const events =
        tick === 15
          ? [
              {
                kind: "completed" as const,
                activityId: "b1",
                startTicks: 8,
                endTicks: 15,
                quality: 10,
              },
            ]
          : [];
      outs.push(agent.step({ tick, events, inbox: [] }));
    }
    return outs.flatMap((o, tick) => (o.start !== undefined ? [[tick, o.start] as const] : []));
  };

  it("a planned method worth little gives way when it is due", () => {
    expect(run(2)).toEqual([
      [8, "b1"],
      [15, "a1"],
    ]);
  });

  it("a planned method worth more than what it shuts out is kept", () => {
    expect(run(20)).toEqual([[8, "a1"]]);
  });
});

describe("re-choice does not free time for a syncsum child ahead of another one planned", () => {
  // a's "a1" (10 ticks, worth 2, by 30) is planned at 8; its "s1" (7 ticks, worth 10, by 20: not
  // after "a1"), a child of the syncsum "S", is released at 8, where b plans "s2" (b tells a
  // whether it does). A
  // syncsum counts only the children that start with its first: "s1" started alone at 8 takes
  // "s2"'s quality if b starts later, which the worth of "s1" does not count.
  const run = (s2Planned: boolean) => {
    const index = build([
      task("root", "sum", ["A", "S"]),
      task("A", "max", ["a1"]),
      task("S", "syncsum", ["s1", "s2"]),
      act("a1", "a", 10, 2, { deadlineTicks: 30 }),
      act("s1", "a", 7, 10, { releaseTicks: 8, deadlineTicks: 20 }),
      act("s2", "b", 7, 10, { releaseTicks: 8, deadlineTicks: 20 }),
    ]);
    const setup = setupOf(
      index,
      plan([["a", "a1", 8], ...(s2Planned ? [["b", "s2", 8] as [string, string, number]] : [])]),
      "a",
    );
    const p = s2Planned ? 1 : 0;
    const report = reportTo("b", "S", [
      { id: "s2", p, v: 10, pp: 1, pv: 10, busy: s2Planned ? 7 : 0 },
    ]);
    const outs = drive(new SchedulerAgentCsc(setup), 8, new Map([[1, [report]]]));
    return outs.flatMap((o, tick) => (o.start !== undefined ? [[tick, o.start] as const] : []));
  };

  it("with the other child planned, the planned method is kept", () => {
    expect(run(true)).toEqual([[8, "a1"]]);
  });

  it("with no other child planned, the planned method gives way", () => {
    expect(run(false)).toEqual([[8, "s1"]]);
  });
});

describe("an install weighed against the agent's own unscheduled work", () => {
  // "x" (worth 5) is installed on a to start at 2; a's own "o" (6 ticks, by 10) is planned by
  // no one and could run now.
  const run = (ownWorth: number) => {
    const index = build([
      task("root", "sum", ["X", "O"]),
      task("X", "max", ["x"]),
      task("O", "sum", ["o"]),
      act("x", "a", 6, 5),
      act("o", "a", 6, ownWorth, { deadlineTicks: 10 }),
    ]);
    const setup = setupOf(index, plan([]), "a");
    const outs = drive(new SchedulerAgentCsc(setup), 3, new Map([[1, [install("a", "x", 2)]]]));
    return installedAnswers(outs);
  };

  it("is refused when it shuts out more valuable work of the agent's own", () => {
    expect(run(20)).toEqual([false]);
  });

  it("is taken when what it shuts out is worth less", () => {
    expect(run(1)).toEqual([true]);
  });

  it("is taken when the own work is a backup of a method another agent has scheduled", () => {
    // The same, but "O" is a max that also holds b's "p", scheduled at 0 and as likely to fail as
    // not: a's "o" is a backup, worth something only if "p" fails, and repairing that is the
    // deliberative scheduler's to plan.
    const index = build([
      task("root", "sum", ["X", "O"]),
      task("X", "max", ["x"]),
      task("O", "max", ["o", "p"]),
      act("x", "a", 6, 5),
      act("o", "a", 6, 20, { deadlineTicks: 10 }),
      act("p", "b", 6, 20, { deadlineTicks: 10 }),
    ]);
    const backup = (pScheduled: boolean) => {
      const setup = setupOf(index, plan(pScheduled ? [["b", "p", 0]] : []), "a");
      // b's report of "O": "p" scheduled (or not), as b's profiles would say.
      const report = reportTo("b", "O", [
        { id: "p", p: pScheduled ? 0.5 : 0, v: 20, pp: 1, pv: 20, busy: pScheduled ? 6 : 0 },
      ]);
      const outs = drive(
        new SchedulerAgentCsc(setup),
        3,
        new Map([
          [0, [report]],
          [1, [install("a", "x", 2)]],
        ]),
      );
      return installedAnswers(outs);
    };
    expect(backup(true)).toEqual([true]);
    // (With "o" under a sum, above, the same install is refused.)
  });

  it("is refused when the own work is a better alternative than any other child", () => {
    // The same, but b's "p" is worth 10: a's "o" is no backup, it would raise "O" even if "p"
    // succeeds.
    const index = build([
      task("root", "sum", ["X", "O"]),
      task("X", "max", ["x"]),
      task("O", "max", ["o", "p"]),
      act("x", "a", 6, 5),
      act("o", "a", 6, 20, { deadlineTicks: 10 }),
      act("p", "b", 6, 10, { deadlineTicks: 10 }),
    ]);
    const answers = (pScheduled: boolean) => {
      const setup = setupOf(index, plan(pScheduled ? [["b", "p", 0]] : []), "a");
      const p = pScheduled ? 0.5 : 0;
      const report = reportTo("b", "O", [
        { id: "p", p, v: 10, pp: 1, pv: 10, busy: pScheduled ? 6 : 0 },
      ]);
      const outs = drive(
        new SchedulerAgentCsc(setup),
        3,
        new Map([
          [0, [report]],
          [1, [install("a", "x", 2)]],
        ]),
      );
      return installedAnswers(outs);
    };
    expect(answers(true)).toEqual([false]);
    // Planned by no one, "o" is still the best "O" can have.
    expect(answers(false)).toEqual([false]);
  });
});

describe("an opportunistic start under a syncsum with another child planned alone", () => {
  // b plans "y2" (worth 10) alone (no synchronized group) at 9; a's "y1" could start from Y's
  // release (5). b's report says whether "y2" is planned. Started ahead of y2, y1 takes its
  // quality away (a syncsum counts only the children that start with its first).
  const run = (planned: boolean, y1Worth = 5) => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 5 }),
      act("y1", "a", 3, y1Worth),
      act("y2", "b", 3, 10),
    ]);
    const setup = setupOf(index, plan([["b", "y2", 9]]), "a");
    const report = reportTo("b", "Y", [
      { id: "y2", p: planned ? 1 : 0, v: 10, pp: 1, pv: 10, busy: planned ? 3 : 0 },
    ]);
    return drive(new SchedulerAgentCsc(setup), 8, new Map([[1, [report]]])).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("does not go ahead of it at the release when it is worth less", () => {
    expect(run(true)).toEqual([]);
  });

  it("goes ahead of it at the release when it alone is worth more", () => {
    expect(run(true, 20)).toEqual([[5, "y1"]]);
  });

  it("starts at the release once b no longer plans it", () => {
    expect(run(false)).toEqual([[5, "y1"]]);
  });

  it("does not go ahead of it later", () => {
    // Same, with a busy until past the release: a's own "z" runs 0..7.
    const index = build([
      task("root", "sum", ["Y", "Z"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 5 }),
      task("Z", "max", ["z"]),
      act("y1", "a", 3, 5),
      act("y2", "b", 3, 10),
      act("z", "a", 7, 1),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "z", 0],
        ["b", "y2", 9],
      ]),
      "a",
    );
    const report = (p: number) =>
      ({
        from: "b",
        to: "a",
        seq: 1,
        body: {
          type: "report",
          node: "Y",
          children: [{ id: "y2", p, v: 10, pp: 1, pv: 10, busy: p > 0 ? 3 : 0 }],
        },
      }) as PeerMessage;
    const starts = (p: number) => {
      const agent = new SchedulerAgentCsc(setup);
      const outs: TickOutput[] = [];
      for (let tick = 0; tick <= 8; tick++)
        outs.push(
          agent.step({
            tick,
            events:
              tick === 7
                ? [{ kind: "completed", activityId: "z", startTicks: 0, endTicks: 7, quality: 1 }]
                : [],
            inbox: tick === 1 ? [report(p)] : [],
          }),
        );
      return outs.some((o) => o.start === "y1");
    };
    expect(starts(1)).toBe(false);
    expect(starts(0)).toBe(true);
  });
});

/** Steps one agent alone, reporting each method it started as done `durations[id]` ticks later. */
function runAlone(
  agent: SchedulerAgentCsc,
  last: number,
  durations: Record<string, number>,
  inbox: Map<number, PeerMessage[]> = new Map(),
): (readonly [number, string])[] {
  const starts: (readonly [number, string])[] = [];
  const ends = new Map<number, { id: string; start: number }>();
  for (let tick = 0; tick <= last; tick++) {
    const done = ends.get(tick);
    const out = agent.step({
      tick,
      events: done
        ? [
            {
              kind: "completed",
              activityId: done.id,
              startTicks: done.start,
              endTicks: tick,
              quality: 1,
            },
          ]
        : [],
      inbox: inbox.get(tick) ?? [],
    });
    if (out.start !== undefined) {
      starts.push([tick, out.start]);
      ends.set(tick + (durations[out.start] ?? 1), { id: out.start, start: tick });
    }
  }
  return starts;
}

describe("opportunistic starts while profiles settle", () => {
  // a's "t" (5 or 8 ticks) is planned by no one; with a deadline at 8, a start at tick 2 (when
  // the opportunistic scheduler would act) ends in time only half the time.
  const firstStart = (deadline: number) => {
    const index = build([
      task("root", "sum", ["T"]),
      task("T", "max", ["t"]),
      act("t", "a", evenly(5, 8), 10, { deadlineTicks: deadline }),
    ]);
    const setup = setupOf(index, plan([]), "a");
    return runAlone(new SchedulerAgentCsc(setup), 3, { t: 8 })[0];
  };

  it("a method whose window waiting would cut starts at once", () => {
    expect(firstStart(8)).toEqual([0, "t"]);
  });

  it("one with room waits for the profiles", () => {
    expect(firstStart(30)).toEqual([2, "t"]);
  });

  it("a syncsum child at the syncsum's release starts at once", () => {
    // b plans "y2" at 0, the release of "Y"; a's "y1" joins it only if started then too.
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 0, deadlineTicks: 30 }),
      act("y1", "a", 5, 10),
      act("y2", "b", 5, 10),
    ]);
    const setup = setupOf(index, plan([["b", "y2", 0]]), "a");
    expect(runAlone(new SchedulerAgentCsc(setup), 3, { y1: 5 })).toEqual([[0, "y1"]]);
  });

  it("one that fits only now before a scheduled method starts at once", () => {
    // a plans "k" (2 ticks, by 8) at 6; "t" (6 ticks, by 30) ends in time for it only from 0.
    const index = build([
      task("root", "sum", ["T", "K"]),
      task("T", "max", ["t"]),
      task("K", "max", ["k"]),
      act("t", "a", 6, 10, { deadlineTicks: 30 }),
      act("k", "a", 2, 10, { deadlineTicks: 8 }),
    ]);
    const setup = setupOf(index, plan([["a", "k", 6]]), "a");
    expect(runAlone(new SchedulerAgentCsc(setup), 8, { t: 6, k: 2 })).toEqual([
      [0, "t"],
      [6, "k"],
    ]);
  });
});

describe("a downgraded method competes with unscheduled ones on its worth", () => {
  // a's "a1" (10 ticks, by 25, worth 10) is planned at 8. "b1" (6 or 14 ticks, from 2, by 25,
  // worth 10) cannot run before it, and after it only half the time: a1 gives way at tick 4, b1
  // runs (6 ticks here), and a1, kept at low priority, can still run after it. "z" (8 ticks,
  // worth 1, released at 9) could start then too, but would leave a1 no room.
  const starts = () => {
    const index = build([
      task("root", "sum", ["A", "B", "Z"]),
      task("A", "max", ["a1"]),
      task("B", "max", ["b1"]),
      task("Z", "max", ["z"]),
      act("a1", "a", 10, 10, { deadlineTicks: 25 }),
      act("b1", "a", evenly(6, 14), 10, { releaseTicks: 2, deadlineTicks: 25 }),
      act("z", "a", 8, 1, { releaseTicks: 9 }),
    ]);
    const setup = setupOf(index, plan([["a", "a1", 8]]), "a");
    return runAlone(new SchedulerAgentCsc(setup), 30, { a1: 10, b1: 6, z: 8 });
  };

  it("it runs before a less valuable opportunity", () => {
    expect(starts().slice(0, 3)).toEqual([
      [4, "b1"],
      [10, "a1"],
      [20, "z"],
    ]);
  });
});

describe("re-choice with a member of a synchronized start", () => {
  // a's "y1" (worth 10) and b's "y2" start together at 8 (the syncsum's release). a's "o" (7
  // ticks, from 2, by 12, worth 5) fits only if y1 gives way; freed, y1 could not join y2 later
  // (a syncsum counts only the children that start with its first), so it is not counted as
  // still to run.
  const starts = () => {
    const index = build([
      task("root", "sum", ["Y", "O"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 8 }),
      task("O", "max", ["o"]),
      act("y1", "a", 5, 10),
      act("y2", "b", 5, 10),
      act("o", "a", 7, 5, { releaseTicks: 2, deadlineTicks: 12 }),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "y1", 8],
        ["b", "y2", 8],
      ]),
      "a",
    );
    // b says it is ready a tick ahead, as it would.
    const ready = { from: "b", to: "a", seq: 1, body: { type: "ready", group: "Y", at: 7 } };
    return runAlone(
      new SchedulerAgentCsc(setup),
      9,
      { y1: 5, o: 7 },
      new Map([[8, [ready as PeerMessage]]]),
    );
  };

  it("the member is kept unless the work it shuts out is clearly worth more than it", () => {
    expect(starts()).toEqual([[8, "y1"]]);
  });
});

describe("an opportunistic method under way and a pressing alternative under a min", () => {
  // a has nothing planned and takes up "b1" (20 ticks, due at 20, worth 10) at 0. At 5 "m1"
  // (worth 30, from 5, due at 10) can start, now or never; it is under the min "M" with c's "m2",
  // which c reports planned or only possible (nobody has planned it).
  const outs = (m2Planned: boolean) => {
    const index = build([
      task("root", "sum", ["B", "M"]),
      task("B", "max", ["b1"]),
      task("M", "min", ["m1", "m2"]),
      act("b1", "a", 20, 10, { deadlineTicks: 20 }),
      act("m1", "a", 5, 30, { releaseTicks: 5, deadlineTicks: 10 }),
      act("m2", "c", 5, 30),
    ]);
    const setup = setupOf(index, plan([]), "a");
    const m2 = {
      id: "m2",
      p: m2Planned ? 1 : 0,
      v: m2Planned ? 30 : 0,
      pp: 1,
      pv: 30,
      busy: m2Planned ? 5 : 0,
    };
    return drive(new SchedulerAgentCsc(setup), 6, new Map([[2, [reportTo("c", "M", [m2])]]]));
  };

  it("is taken up first", () => {
    expect(outs(false)[0]?.start).toBe("b1");
  });

  it("gives way to it when the min's other child is planned", () => {
    expect(outs(true)[5]).toMatchObject({ abort: "b1", start: "m1" });
  });

  it("is kept when nobody has planned the min's other child: an abort cannot be undone", () => {
    expect(outs(false).some((o) => o.abort !== undefined)).toBe(false);
  });
});

describe("members of a synchronized start waiting for one still busy", () => {
  // a's "y1", b's "y2" and c's "y3" start together at 10 under the syncsum "Y" (due at 20); c
  // never says it is ready. b says it is ready a tick ahead and can wait until 18. y1 takes 5 or
  // 9 ticks (`uncertain`) or always 5: it can start as late as 15, but with all its chance only
  // until 11 when it may take 9.
  const starts = (uncertain: boolean) => {
    const y1 = uncertain ? evenly(5, 9) : 5;
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2", "y3"], { deadlineTicks: 20 }),
      act("y1", "a", y1, 10),
      act("y2", "b", 2, 10),
      act("y3", "c", 2, 10),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "y1", 10],
        ["b", "y2", 10],
        ["c", "y3", 10],
      ]),
      "a",
    );
    const ready = {
      from: "b",
      to: "a",
      seq: 1,
      body: { type: "ready", group: "Y", at: 9, by: 18 },
    };
    return runAlone(
      new SchedulerAgentCsc(setup),
      16,
      { y1: 5 },
      new Map([[10, [ready as PeerMessage]]]),
    );
  };

  it("start without it once waiting would cost one of them part of its chance", () => {
    expect(starts(true)).toEqual([[11, "y1"]]);
  });

  it("wait for it while waiting costs them nothing", () => {
    expect(starts(false)).toEqual([[15, "y1"]]);
  });
});

describe("a scheduled child of a syncsum another child of which has started", () => {
  // a plans "y1" at 6; b's "y2" started at 3 (b's report says so, or not): a syncsum counts only
  // the children that start with its first, so y1 started at 6 would earn nothing.
  const starts = (y2Started: boolean) => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2"]),
      act("y1", "a", 3, 5),
      act("y2", "b", 3, 10),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "y1", 6],
        ["b", "y2", 3],
      ]),
      "a",
    );
    const y2 = { id: "y2", p: 1, v: 10, pp: 1, pv: 10, busy: 3, ...(y2Started ? { s: 3 } : {}) };
    const report = reportTo("b", "Y", [y2]);
    return runAlone(new SchedulerAgentCsc(setup), 8, { y1: 3 }, new Map([[4, [report]]]));
  };

  it("is not started", () => {
    expect(starts(true)).toEqual([]);
  });

  it("is started as planned while the other has not started", () => {
    expect(starts(false)).toEqual([[6, "y1"]]);
  });
});

/**
 * The re-choice network (a's "a1", worth 2, shuts out "b1" and "c1"), with a1 a child of the sum
 * "A", beside `siblings`, and A enabling "T", the max of method `t`.
 */
const enablingShutOut = (siblings: ActivityNode[], t: ActivityNode) =>
  build(
    [
      task("root", "sum", ["A", "B", "C", "T"]),
      task("A", "sum", ["a1", ...siblings.map((m) => m.id)]),
      task("B", "max", ["b1"]),
      task("C", "max", ["c1"]),
      task("T", "max", [t.id]),
      act("a1", "a", 10, 2, { deadlineTicks: 18 }),
      ...siblings,
      act("b1", "a", 7, 10, { releaseTicks: 2, deadlineTicks: 16 }),
      act("c1", "a", 7, 10, { releaseTicks: 2, deadlineTicks: 28 }),
      t,
    ],
    [{ kind: "enables", from: "A", to: "T" }],
  );

describe("re-choice of a method under an enables source another child makes accrue", () => {
  // As in the re-choice above (a's "a1", worth 2, shuts out "b1" and "c1"), but a1 is a child of
  // the sum "A", which enables c's "t"; b's "a2" under A is scheduled (b's report says so) or
  // not. With a2 scheduled, A accrues without a1, and a1 may give way; without, t waits on a1.
  const starts = (a2Scheduled: boolean) => {
    const index = enablingShutOut([act("a2", "b", 3, 5)], act("t", "c", 3, 10));
    const setup = setupOf(
      index,
      plan([
        ["a", "a1", 8],
        ["b", "a2", 0],
      ]),
      "a",
    );
    const a2 = { id: "a2", p: a2Scheduled ? 1 : 0, v: 5, pp: 1, pv: 5, busy: a2Scheduled ? 3 : 0 };
    const report = reportTo("b", "A", [a2]);
    return runAlone(
      new SchedulerAgentCsc(setup),
      9,
      { a1: 10, b1: 7, c1: 7 },
      new Map([[1, [report]]]),
    );
  };

  it("gives way when the source accrues without it", () => {
    expect(starts(true)).toEqual([[4, "b1"]]);
  });

  it("is kept when the source waits on it", () => {
    expect(starts(false)).toEqual([[8, "a1"]]);
  });
});

describe("an unplanned child of a syncsum as an option of the agent's idle gaps", () => {
  // a plans "k1" (10 ticks, from 20, by 30, worth 10) at 20. Its own "o" (19 ticks, from 2, by
  // 40, worth 7) fits only if k1 gives way; "y1" (7 ticks, by 35, worth 6) is a child of the
  // syncsum "Y" (released at 15), whose other child b has scheduled. Run after o, y1 would start
  // past the release, after (or ahead of) b's: it would earn nothing, so o alone does not make
  // k1 give way.
  const starts = () => {
    const index = build([
      task("root", "sum", ["K", "O", "Y"]),
      task("K", "max", ["k1"]),
      task("O", "max", ["o"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 15 }),
      act("k1", "a", 10, 10, { releaseTicks: 20, deadlineTicks: 30 }),
      act("o", "a", 19, 7, { releaseTicks: 2, deadlineTicks: 40 }),
      act("y1", "a", 7, 6, { deadlineTicks: 35 }),
      act("y2", "b", 7, 6),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "k1", 20],
        ["b", "y2", 15],
      ]),
      "a",
    );
    const y2 = { id: "y2", p: 1, v: 6, pp: 1, pv: 6, busy: 7 };
    const report = reportTo("b", "Y", [y2]);
    return runAlone(new SchedulerAgentCsc(setup), 21, { k1: 10, o: 19 }, new Map([[1, [report]]]));
  };

  it("is worth nothing past the syncsum's release", () => {
    expect(starts()[0]).toEqual([20, "k1"]);
  });
});

describe("an install given up unstarted", () => {
  // a plans "m1" (3 ticks, by 14, worth 5) at 10. "x" (6 ticks from 6, worth 20), under a max
  // with b's "x2", is installed at 4 to start at 6: it would push m1 past its deadline, and is
  // taken over it. At 5 b reports x2 done, worth more than x: x can no longer help and is
  // downgraded. "z" (6 ticks, worth 1, from 6) could take the time m1 needs.
  const starts = () => {
    const index = build([
      task("root", "sum", ["M", "X", "Z"]),
      task("M", "max", ["m1"]),
      task("X", "max", ["x", "x2"]),
      task("Z", "max", ["z"]),
      act("m1", "a", 3, 5, { deadlineTicks: 14 }),
      act("x", "a", 6, 20, { releaseTicks: 6 }),
      act("x2", "b", 6, 30),
      act("z", "a", 6, 1, { releaseTicks: 6 }),
    ]);
    const setup = setupOf(index, plan([["a", "m1", 10]]), "a");
    const x2 = (done: boolean) => ({
      id: "x2",
      p: done ? 1 : 0.5,
      v: 30,
      pp: done ? 1 : 0.5,
      pv: 30,
      busy: done ? 0 : 6,
      ...(done ? { s: 0, acc: 5, final: true } : {}),
    });
    const report = (done: boolean) =>
      ({
        from: "b",
        to: "a",
        seq: 1,
        body: { type: "report", node: "X", children: [x2(done)] },
      }) as PeerMessage;
    const agent = new SchedulerAgentCsc(setup);
    const inbox = new Map([
      [1, [report(false)]],
      [4, [install("a", "x", 6)]],
      [5, [report(true)]],
    ]);
    return runAlone(agent, 12, { m1: 3, x: 6, z: 6 }, inbox);
  };

  it("gives back the place of what it displaced", () => {
    expect(starts()).toEqual([[10, "m1"]]);
  });
});

describe("an install given up unstarted once a method it displaced is already due", () => {
  // a plans "d" (7 ticks, by 12) at 3 and "f" (2 ticks, by 12) at 10. "x" (3 ticks, from 8, by
  // 11), under a max with b's "x2", is installed at 2 to start at 8: d and f can no longer run
  // around it, and both are displaced. d, low and too long for the gap before x, does not start
  // at 3. At 4 b reports x2 done, worth more than x: x can no longer help and is downgraded. f's
  // place is still ahead and is given back; d's start is already due, and d started now would
  // end at 11, past f's last start. "z" (7 ticks, worth 1, from 4) could take the time f needs.
  const starts = (dropped: boolean) => {
    const index = build([
      task("root", "sum", ["D", "F", "X", "Z"]),
      task("D", "max", ["d"]),
      task("F", "max", ["f"]),
      task("X", "max", ["x", "x2"]),
      task("Z", "max", ["z"]),
      act("d", "a", 7, 2, { deadlineTicks: 12 }),
      act("f", "a", 2, 2, { deadlineTicks: 12 }),
      act("x", "a", 3, 20, { releaseTicks: 8, deadlineTicks: 11 }),
      act("x2", "b", 6, 30),
      act("z", "a", 7, 1, { releaseTicks: 4 }),
    ]);
    const setup = setupOf(
      index,
      plan([
        ["a", "d", 3],
        ["a", "f", 10],
      ]),
      "a",
    );
    const x2 = (done: boolean) => ({
      id: "x2",
      p: done ? 1 : 0.5,
      v: 30,
      pp: done ? 1 : 0.5,
      pv: 30,
      busy: done ? 0 : 6,
      ...(done ? { s: 0, acc: 5, final: true } : {}),
    });
    const report = (done: boolean) =>
      ({
        from: "b",
        to: "a",
        seq: 1,
        body: { type: "report", node: "X", children: [x2(done)] },
      }) as PeerMessage;
    const inbox = new Map<number, PeerMessage[]>([
      [1, [report(false)]],
      [2, [install("a", "x", 8)]],
    ]);
    if (dropped) inbox.set(4, [report(true)]);
    return runAlone(new SchedulerAgentCsc(setup), 14, { d: 7, f: 2, x: 3, z: 7 }, inbox);
  };

  it("is taken over both while it can help", () => {
    expect(starts(false)).toEqual([
      [8, "x"],
      [11, "z"],
    ]);
  });

  it("gives back the place still ahead, and not the one already due", () => {
    // f left low would lose its time at 4 (to d or z); d given back its place would start then.
    expect(starts(true)).toEqual([
      [10, "f"],
      [12, "z"],
    ]);
  });
});

describe("readiness for a synchronized start, announced a tick ahead", () => {
  // a's "y1" and b's "y2" start together at 6 under "Y", which c's "S" enables. c's notice that
  // S accrued reaches a at 3, or not before the start.
  const readyAt5 = (heard: boolean) => {
    const index = build(
      [
        task("root", "sum", ["S", "Y"]),
        task("S", "max", ["s1"]),
        task("Y", "syncsum", ["y1", "y2"]),
        act("s1", "c", 2, 5),
        act("y1", "a", 3, 10),
        act("y2", "b", 3, 10),
      ],
      [{ kind: "enables", from: "S", to: "Y" }],
    );
    const setup = setupOf(
      index,
      plan([
        ["c", "s1", 0],
        ["a", "y1", 6],
        ["b", "y2", 6],
      ]),
      "a",
    );
    const notice = { from: "c", to: "a", seq: 1, body: { type: "enabler", node: "S", at: 2 } };
    const outs = drive(
      new SchedulerAgentCsc(setup),
      5,
      new Map(heard ? [[3, [notice as PeerMessage]]] : []),
    );
    return (outs[5]?.messages ?? []).some((m) => m.body.type === "ready");
  };

  it("is made once the member's enablers are known to have accrued", () => {
    expect(readyAt5(true)).toBe(true);
  });

  it("is not made while the news of an enabler is still awaited", () => {
    expect(readyAt5(false)).toBe(false);
  });
});

describe("a commitment waiting on an enabler whose chance has fallen", () => {
  // a plans "x" (3 ticks, by 20, worth 10) at 5; c's "S" enables it. "y" (15 ticks, worth 5,
  // from 5) would end past x's last start (17). At 1 c says S now has chance `p` of accruing.
  const starts = (p: number) => {
    const index = build(
      [
        task("root", "sum", ["S", "X", "Y"]),
        task("S", "max", ["s1"]),
        task("X", "max", ["x"]),
        task("Y", "max", ["y"]),
        act("s1", "c", 30, 5),
        act("x", "a", 3, 10, { deadlineTicks: 20 }),
        act("y", "a", 15, 5, { releaseTicks: 5 }),
      ],
      [{ kind: "enables", from: "S", to: "X" }],
    );
    const setup = setupOf(
      index,
      plan([
        ["c", "s1", 0],
        ["a", "x", 5],
      ]),
      "a",
    );
    const notice = { from: "c", to: "a", seq: 1, body: { type: "enabler", node: "S", p, pp: p } };
    return runAlone(
      new SchedulerAgentCsc(setup),
      8,
      { x: 3, y: 15 },
      new Map([[1, [notice as PeerMessage]]]),
    );
  };

  it("gives way to ready work clearly worth more than it at that chance", () => {
    expect(starts(0.2)).toEqual([[5, "y"]]);
  });

  it("keeps the resource for it while the enabler is likely", () => {
    expect(starts(0.9)).toEqual([]);
  });
});

describe("installs of one batch on an agent whose running method the first takes over", () => {
  // "src" (a's, 10 ticks, worth 5) runs from 0; at tick 4 "rival" (worth 20, by 10) is installed
  // to start at 5, taking it over, and "next" (worth 15, by 13) to start at 9, after "rival".
  it("weighs the second as if the method taken over ended now, and keeps the first", () => {
    const index = build([
      task("root", "sum", ["S", "R", "N"]),
      task("S", "max", ["src"]),
      task("R", "max", ["rival"]),
      task("N", "max", ["next"]),
      act("src", "a", 10, 5),
      act("rival", "a", 4, 20, { deadlineTicks: 10 }),
      act("next", "a", 4, 15, { deadlineTicks: 13 }),
    ]);
    const setup = setupOf(index, plan([["a", "src", 0]]), "a");
    const outs = drive(
      new SchedulerAgentCsc(setup),
      10,
      new Map([[4, [install("a", "rival", 5), install("a", "next", 9)]]]),
    );
    // Not refused as if "src" ran on to 10 (nor "rival" lowered for it).
    expect(installedAnswers(outs)).toEqual([true, true]);
    expect(outs.map((o, t) => [t, o.start]).filter(([, s]) => s !== undefined)).toEqual([
      [0, "src"],
      [5, "rival"],
      [9, "next"],
    ]);
  });
});

describe("two installs for one agent in the same tick, the first taking over the running method", () => {
  // a runs "r" (40 ticks, worth 5); "x" (worth 30) must start by 10, so it takes over "r"; "y"
  // (worth 20, due late) is to follow it at 16. Both arrive at tick 4.
  const run = (both: boolean) => {
    const index = build([
      task("root", "sum", ["R", "X", "Y"]),
      task("R", "max", ["r"]),
      task("X", "max", ["x"]),
      task("Y", "max", ["y"]),
      act("r", "a", 40, 5),
      act("x", "a", 10, 30, { deadlineTicks: 20 }),
      act("y", "a", 5, 20, { deadlineTicks: 100 }),
    ]);
    const setup = setupOf(index, plan([["a", "r", 0]]), "a");
    const msg = (activity: string, at: number, lock: number) =>
      install("a", activity, at, { lock });
    const outs = drive(
      new SchedulerAgentCsc(setup),
      24,
      new Map([[4, [msg("x", 5, 1), ...(both ? [msg("y", 16, 2)] : [])]]]),
    );
    return {
      answers: installedAnswers(outs),
      abort: outs.find((o) => o.abort !== undefined)?.abort,
      starts: outs.flatMap((o, tick) => (o.start ? [`${o.start}@${tick}`] : [])),
    };
  };

  it("the first alone takes over", () => {
    expect(run(false)).toMatchObject({ answers: [true], abort: "r" });
  });

  it("the second is weighed with the resource free once the first takes over, and taken", () => {
    expect(run(true)).toEqual({
      answers: [true, true],
      abort: "r",
      starts: ["r@0", "x@5", "y@16"],
    });
  });
});

/** a's answer to "x" installed at tick 2 to start in [12, 16], after `heard` reached it at 0. */
const answerToInstallOfX = (setup: AgentSetup, heard: PeerMessage): boolean[] =>
  installedAnswers(
    drive(
      new SchedulerAgentCsc(setup),
      4,
      new Map([
        [0, [heard]],
        [2, [install("a", "x", 12, { latest: 16 })]],
      ]),
    ),
  );

describe("an install whose enabler will most likely accrue after its last start", () => {
  // a plans "y" (6 ticks, by 20, worth 4) at 14. "x" (4 ticks, by 20, worth 20) is enabled by
  // "E", a max of b's "s" (10 ticks, scheduled) and a's "s2" (planned by no one); "x" is
  // installed at 2 to start from 12, which would push "y" past its deadline. With "E" released
  // at 10, "s" ends at 20 at the earliest: "x" (last start 16) would wait for it in vain.
  const answers = (release: number) => {
    const index = build(
      [
        task("root", "sum", ["Y", "E", "X"]),
        task("Y", "max", ["y"]),
        task("E", "max", ["s", "s2"], { releaseTicks: release }),
        task("X", "max", ["x"]),
        act("y", "a", 6, 4, { deadlineTicks: 20 }),
        act("s", "b", 10, 5),
        act("s2", "a", 10, 5),
        act("x", "a", 4, 20, { deadlineTicks: 20 }),
      ],
      [{ kind: "enables", from: "E", to: "x" }],
    );
    const setup = setupOf(
      index,
      plan([
        ["a", "y", 14],
        ["b", "s", release],
      ]),
      "a",
    );
    const report = reportTo("b", "E", [{ id: "s", p: 1, v: 5, pp: 1, pv: 5, busy: 10 }]);
    return answerToInstallOfX(setup, report);
  };

  it("is refused: it would displace a method for nothing", () => {
    expect(answers(10)).toEqual([false]);
  });

  it("is taken when the enabler can accrue in time", () => {
    expect(answers(0)).toEqual([true]);
  });
});

/**
 * a's answer to an install of "x" (by 20, worth 20, waiting on b's "E") that pushes its planned
 * "y" (6 ticks, by 20, planned at 14) past its deadline, once b's enabler notice says it expects
 * "E" to accrue at `eta`.
 */
const answerWithEnablerExpectedAt = (
  eta: number,
  yWorth: number,
  xDuration: number | ActivityNode["duration"],
): boolean[] => {
  const index = build(
    [
      task("root", "sum", ["Y", "E", "X"]),
      task("Y", "max", ["y"]),
      task("E", "max", ["s"]),
      task("X", "max", ["x"]),
      act("y", "a", 6, yWorth, { deadlineTicks: 20 }),
      act("s", "b", 10, 5),
      act("x", "a", xDuration, 20, { deadlineTicks: 20 }),
    ],
    [{ kind: "enables", from: "E", to: "x" }],
  );
  const { setup, notice } = hearingEnablerAt(index, ["y", 14], eta);
  return answerToInstallOfX(setup, notice);
};

describe("an install whose enabler its steward expects after the install's last start", () => {
  // As above, but "E" holds only b's "s": a sees nothing under it, and knows of it what b's
  // enabler notices say, with when b expects it to accrue.
  const answers = (eta: number) => answerWithEnablerExpectedAt(eta, 4, 4);

  it("is refused", () => {
    expect(answers(20)).toEqual([false]);
  });

  it("is taken when the enabler is expected in time", () => {
    expect(answers(12)).toEqual([true]);
  });
});

describe("an install valued from when its enabler is expected, not from its window's start", () => {
  // a plans "y" (6 ticks, by 20, worth 9) at 14. "x" (4 or 8 ticks, by 20, worth 20) waits on b's
  // "E"; installed to start in [12, 16], it pushes "y" past its deadline. Started at 12 it is
  // sure to end in time (worth clearly more than "y"); started once b's notice that E accrued
  // has reached a, at 16, only half the time (worth less than "y" is sure to earn).
  const answers = (eta: number) => answerWithEnablerExpectedAt(eta, 9, evenly(4, 8));

  it("is refused when the enabler is expected late in the window", () => {
    expect(answers(15)).toEqual([false]);
  });

  it("is taken when the enabler is expected by the window's start", () => {
    expect(answers(11)).toEqual([true]);
  });
});

describe("re-choice of an enables source whose target nothing is planned under", () => {
  // As in the re-choice above (a's "a1", worth 2, shuts out "b1" and "c1"), but a1 is the only
  // child of "A", which enables "T"; T's one method "t" is a's own, planned at 40 or not at all.
  // With t planned, T waits on a1 and a1 is kept; with nothing planned under T, enabling it
  // earns nothing as things are planned, and a1 gives way.
  const starts = (tPlanned: boolean) => {
    const index = enablingShutOut([], act("t", "a", 3, 10, { deadlineTicks: 60 }));
    const planned: [string, string, number][] = [["a", "a1", 8]];
    if (tPlanned) planned.push(["a", "t", 40]);
    const setup = setupOf(index, plan(planned), "a");
    return runAlone(new SchedulerAgentCsc(setup), 9, { a1: 10, b1: 7, c1: 7 });
  };

  it("is kept while what it enables is planned", () => {
    expect(starts(true)).toEqual([[8, "a1"]]);
  });

  it("gives way when nothing is planned under what it enables", () => {
    expect(starts(false)).toEqual([[4, "b1"]]);
  });
});

describe("an install whose enabler is planned too late for its window", () => {
  // "x" (a's, 5 ticks, worth 10) is enabled by E, a sum whose only live child is b's "e2",
  // which b reports planned at 30 for 10 ticks (a's own "e1" is released only at 100). An
  // install of "x" to start by 15 can earn nothing: E is not expected before 40.
  const answers = (latest: number, planned?: number) => {
    const index = build(
      [
        task("root", "sum", ["E", "L"]),
        task("E", "sum", ["e1", "e2"]),
        task("L", "max", ["x"]),
        act("e1", "a", 10, 5, { releaseTicks: 100 }),
        act("e2", "b", 10, 5),
        act("x", "a", 5, 10),
      ],
      [{ kind: "enables", from: "E", to: "L" }],
    );
    const setup = setupOf(index, plan([["b", "e2", 30]]), "a");
    const e2 = { id: "e2", p: 1, v: 5, pp: 1, pv: 5, busy: 10 };
    const report = reportTo("b", "E", [planned === undefined ? e2 : { ...e2, e: planned }]);
    const outs = drive(
      new SchedulerAgentCsc(setup),
      5,
      new Map([
        [1, [report]],
        [3, [install("a", "x", 4, { latest })]],
      ]),
    );
    return installedAnswers(outs);
  };

  it("is refused, though taking it would displace nothing", () => {
    expect(answers(15, 30)).toEqual([false]);
  });

  it("is taken when its window reaches past the enabler's expected accrual", () => {
    expect(answers(45, 30)).toEqual([true]);
  });

  it("is taken when the enabler's owner does not say when it plans it (counted from its release)", () => {
    expect(answers(15)).toEqual([true]);
  });
});

describe("an install pushing back a planned enables source", () => {
  // m plans "src" (10 ticks, worth 5, due by 20) at 10; "S" enables b's "later". The install of
  // "rival" (8 ticks, worth 20, released at 5) at 5 would push "src" past its last start. The
  // owner of "alt", a second way to "S", reports whether it has it scheduled: "n" comes after
  // m in the order of agent ids (m is the steward of "S"), "k" before it.
  const run = (altScheduled: boolean, altOwner = "n") => {
    const index = build(
      [
        task("root", "sum", ["S", "R", "later"]),
        task("S", "sum", ["src", "alt"]),
        task("R", "max", ["rival"]),
        act("src", "m", 10, 5, { deadlineTicks: 20 }),
        act("alt", altOwner, 10, 5),
        act("rival", "m", 8, 20, { releaseTicks: 5, deadlineTicks: 13 }),
        act("later", "b", 3, 30),
      ],
      [{ kind: "enables", from: "S", to: "later" }],
    );
    const setup = setupOf(
      index,
      plan([
        ["m", "src", 10],
        ["b", "later", 25],
      ]),
      "m",
    );
    const report = reportTo(
      altOwner,
      "S",
      [{ id: "alt", p: altScheduled ? 1 : 0, v: 5, pp: 1, pv: 5, busy: altScheduled ? 10 : 0 }],
      "m",
    );
    const outs = drive(
      new SchedulerAgentCsc(setup),
      6,
      new Map([
        [1, [report]],
        [4, [install("m", "rival", 5)]],
      ]),
    );
    return installedAnswers(outs);
  };

  it("is refused while the source's other way is scheduled by no one", () => {
    expect(run(false)).toEqual([false]);
  });

  it("is taken, priced at what the source loses, when its other way is scheduled", () => {
    expect(run(true)).toEqual([true]);
  });

  it("is refused when the other way is only scheduled, by an owner ordered before this one", () => {
    // That owner may be giving it up in this very tick, counting on this agent's "src": of
    // the two, only the steward counts on the other's plan.
    expect(run(true, "k")).toEqual([false]);
  });
});

describe("a running enables source weighed with what it enables", () => {
  // a runs "src", the only way to "S", which enables b's "later"; b reports later planned, sure,
  // worth `laterWorth`. The install of "rival" (worth 20) takes over src only where it is
  // clearly worth more than src and what src enables together.
  const answers = (laterWorth: number) =>
    rivalOverRunningSource({ laterWorth, laterReported: true });

  it("is kept when what it enables is worth much", () => {
    expect(answers(30)).toEqual({ answers: [false], abort: undefined });
  });

  it("gives way when the install is worth clearly more than both", () => {
    expect(answers(4)).toEqual({ answers: [true], abort: "src" });
  });
});

describe("re-choice counts what a backup would enable", () => {
  // a plans "a1" (10 ticks, worth 10, by 18) at 8. "s2" (7 ticks, worth 4, released at 2, by
  // 16), planned by no one, is a's backup of b's "s1" (an even chance, as b reports) under the
  // max "S". With `enables`, S enables c's "T", which c reports planned, worth 40 when enabled.
  // As a backup alone s2 is worth little and a1 is kept; raising S's chance of enabling T, it
  // is worth more than a1, which gives way once the profiles have settled.
  const starts = (enables: boolean) => {
    const index = build(
      [
        task("root", "sum", ["A", "S", "T"]),
        task("A", "max", ["a1"]),
        task("S", "max", ["s1", "s2"]),
        task("T", "max", ["t"]),
        act("a1", "a", 10, 10, { deadlineTicks: 18 }),
        act("s1", "b", 5, evenly(0, 4)),
        act("s2", "a", 7, 4, { releaseTicks: 2, deadlineTicks: 16 }),
        act("t", "c", 3, 40),
      ],
      enables ? [{ kind: "enables", from: "S", to: "T" }] : [],
    );
    const setup = setupOf(
      index,
      plan([
        ["a", "a1", 8],
        ["b", "s1", 0],
        ["c", "t", 20],
      ]),
      "a",
    );
    const reports = [
      reportTo("b", "S", [{ id: "s1", p: 0.5, v: 4, pp: 0.5, pv: 4, busy: 5, s: 0 }]),
      ...(enables
        ? [reportTo("c", "root", [{ id: "T", p: 0.5, v: 40, pp: 0.5, pv: 40, busy: 3, e: 20 }])]
        : []),
    ];
    return runAlone(new SchedulerAgentCsc(setup), 9, { a1: 10, s2: 7 }, new Map([[1, reports]]));
  };

  it("a backup worth little leaves the planned method in place", () => {
    expect(starts(false)).toEqual([[8, "a1"]]);
  });

  it("a backup that raises an enabler's chance takes the planned method's place", () => {
    expect(starts(true)).toEqual([[4, "s2"]]);
  });
});

describe("an opportunistic start under a syncsum, at the release, with another child planned later", () => {
  // b was given "y2" (worth 10) after the schedule was made and says when it can start it: at
  // `e`, after its own work. a's "y1" (3 ticks) could start at Y's release (5); Y is due at 9,
  // so y1 cannot wait past 6. Started at the release, y1 goes ahead of y2 unless y2 starts then
  // too (a syncsum counts only the children that start with its first).
  const run = (e: number, y1Worth = 5) => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 5, deadlineTicks: 9 }),
      act("y1", "a", 3, y1Worth),
      act("y2", "b", 3, 10),
    ]);
    const setup = setupOf(index, plan([]), "a");
    const report = reportTo("b", "Y", [{ id: "y2", p: 1, v: 10, pp: 1, pv: 10, busy: 3, e }]);
    return drive(new SchedulerAgentCsc(setup), 8, new Map([[1, [report]]])).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("does not go ahead of one it cannot wait for when it is worth less", () => {
    expect(run(7)).toEqual([]);
  });

  it("goes ahead of it when it alone is worth more", () => {
    expect(run(7, 20)).toEqual([[5, "y1"]]);
  });

  it("goes ahead of it when worth more by any margin: nothing has started, so no plan is left", () => {
    expect(run(7, 11)).toEqual([[5, "y1"]]);
  });

  it("starts with it when b starts it at the release", () => {
    expect(run(5)).toEqual([[5, "y1"]]);
  });

  it("joins a child starting at the release, whatever is planned later: that start goes ahead of it anyway", () => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2", "y3"], { releaseTicks: 5, deadlineTicks: 9 }),
      act("y1", "a", 3, 5),
      act("y2", "b", 3, 5),
      act("y3", "c", 3, 10),
    ]);
    const setup = setupOf(index, plan([]), "a");
    const report = reportTo("b", "Y", [
      { id: "y2", p: 1, v: 5, pp: 1, pv: 5, busy: 3, e: 5 },
      { id: "y3", p: 1, v: 10, pp: 1, pv: 10, busy: 3, e: 7 },
    ]);
    const starts = drive(new SchedulerAgentCsc(setup), 8, new Map([[1, [report]]])).flatMap(
      (o, tick) => (o.start !== undefined ? [[tick, o.start] as const] : []),
    );
    expect(starts).toEqual([[5, "y1"]]);
  });
});

describe("an opportunistic start under a syncsum released at the run's start, with another child planned later", () => {
  // b plans "y2" (3 ticks, worth 10) at 6; a's "y1" (6 ticks) cannot wait for it: Y is due at 10.
  // At tick 0 a has not heard what y2 is worth, and keeps clear; b's report comes at 1. Nothing
  // has started by then: the choice is still the one at the release, where the child expected to
  // earn more goes.
  const run = (y1Worth: number) => {
    const index = build([
      task("root", "sum", ["Y"]),
      task("Y", "syncsum", ["y1", "y2"], { releaseTicks: 0, deadlineTicks: 10 }),
      act("y1", "a", 6, y1Worth),
      act("y2", "b", 3, 10),
    ]);
    const setup = setupOf(index, plan([["b", "y2", 6]]), "a");
    const report = reportTo("b", "Y", [{ id: "y2", p: 1, v: 10, pp: 1, pv: 10, busy: 3, e: 6 }]);
    return drive(new SchedulerAgentCsc(setup), 5, new Map([[1, [report]]])).flatMap((o, tick) =>
      o.start !== undefined ? [[tick, o.start] as const] : [],
    );
  };

  it("goes ahead of it when worth more by any margin, once it has heard of it", () => {
    expect(run(11)).toEqual([[1, "y1"]]);
  });

  it("keeps clear of it when worth less", () => {
    expect(run(9)).toEqual([]);
  });
});

describe("a running method worth nothing by its quality that makes its enables source accrue sooner", () => {
  // Under the max "M", b's sure "m0" (30 ticks, worth 20) started with a's "m1" (10 ticks, worth
  // 5) and is ahead of it: once a hears of it, "m1" adds nothing to "M"'s quality. With `enables`,
  // "M" enables c's "later" (5 ticks, worth 30, due by 35): "m1" run to its end enables it at 10;
  // the work ahead of it, only at 30, too late for "later" to end in time.
  const run = (enables: boolean) => {
    const index = build(
      [
        task("root", "sum", ["M", "L"]),
        task("M", "max", ["m0", "m1"]),
        task("L", "max", ["later"]),
        act("m0", "b", 30, 20),
        act("m1", "a", 10, 5),
        act("later", "c", 5, 30, { deadlineTicks: 35 }),
      ],
      enables ? [{ kind: "enables", from: "M", to: "L" }] : [],
    );
    const initial = plan([
      ["a", "m1", 0],
      ["b", "m0", 0],
      ["c", "later", 11],
    ]);
    const setups = setupsFor(index, initial, "consort", { deliberative: false });
    const world = new CtaemsWorld(index, 1, viewersOf(setups.values()), [], 11);
    return runTrial(world, participantsFor(index, setups));
  };
  const ran = (r: ReturnType<typeof run>, id: string) =>
    r.executed.find((e) => e.activityId === id);

  it("runs on when its agent has nothing else to do, and the target earns", () => {
    const r = run(true);
    expect(ran(r, "m1")).toMatchObject({ startTicks: 0, endTicks: 10, quality: 5 });
    expect(ran(r, "later")?.startTicks).toBeLessThanOrEqual(12);
    expect(r.rootQuality).toBe(50);
  });

  it("is given up where it hastens nothing", () => {
    const r = run(false);
    expect(ran(r, "m1")?.quality).toBe(0);
    expect(ran(r, "m1")?.endTicks).toBeLessThan(10);
    expect(r.rootQuality).toBe(50);
  });
});

describe("an opportunistic method under way, weighed against a better opportunity", () => {
  // Under the max "M", which enables "later" (c's, planned at 14, worth 30), a's "x" (worth 5,
  // not planned) starts at 2 with b's planned "y" (worth 4): "x" is ahead of it, and b, with
  // "w" to start at 5, gives "y" up. At 3 a's "z" (worth 8) is released and must start by 5,
  // before "x" ends. a hears of "later" as the other owner under "L" (its "l2", worth 1, is
  // released only at 30).
  const run = () => {
    const index = build(
      [
        task("root", "sum", ["M", "Z", "L", "W"]),
        task("M", "max", ["x", "y"]),
        task("Z", "max", ["z"]),
        task("L", "max", ["later", "l2"]),
        task("W", "max", ["w"]),
        act("x", "a", 10, 5),
        act("y", "b", 10, 4),
        act("z", "a", 5, 8, { releaseTicks: 3, deadlineTicks: 10 }),
        act("later", "c", 5, 30, { deadlineTicks: 40 }),
        act("l2", "a", 1, 1, { releaseTicks: 30 }),
        act("w", "b", 5, 3),
      ],
      [{ kind: "enables", from: "M", to: "L" }],
    );
    const initial = plan([
      ["b", "y", 2],
      ["b", "w", 5],
      ["c", "later", 14],
    ]);
    const setups = setupsFor(index, initial, "consort", { deliberative: false });
    const world = new CtaemsWorld(index, 1, viewersOf(setups.values()), [], 14);
    return runTrial(world, participantsFor(index, setups));
  };

  it("runs on for what it enables, which the sibling behind it leaves to it", () => {
    const r = run();
    const ran = (id: string) => r.executed.find((e) => e.activityId === id);
    expect(ran("y")?.quality).toBe(0);
    expect(ran("x")).toMatchObject({ startTicks: 2, endTicks: 12, quality: 5 });
    expect(ran("later")?.quality).toBe(30);
  });
});

describe("a syncsum child planned apart from another agent's, later", () => {
  // Under the syncsum "Y" (it counts only the children that start with its first), a has "y1"
  // planned at 2, b "y2" at 6, after its "w": no start the two share, so no group of the initial
  // schedule. Started at 2, "y1" would leave "y2" nothing.
  const run = () => {
    const index = build([
      task("root", "sum", ["Y", "W"]),
      task("Y", "syncsum", ["y1", "y2"], { deadlineTicks: 40 }),
      task("W", "max", ["w"]),
      act("y1", "a", 5, 10),
      act("y2", "b", 5, 10),
      act("w", "b", 6, 3),
    ]);
    const initial = plan([
      ["a", "y1", 2],
      ["b", "w", 0],
      ["b", "y2", 6],
    ]);
    const setups = setupsFor(index, initial, "consort", { deliberative: false });
    const world = new CtaemsWorld(index, 1, viewersOf(setups.values()), [], 6);
    return { setups, result: runTrial(world, participantsFor(index, setups)) };
  };

  it("waits for it, and the two start together once each has heard the other is ready", () => {
    const { setups, result } = run();
    expect(setups.get("a")?.syncGroups).toEqual([]);
    expect(setups.get("a")?.syncsumOwners).toEqual({ y2: "b" });
    const ran = (id: string) => result.executed.find((e) => e.activityId === id);
    expect(ran("w")?.quality).toBe(3);
    const y1 = ran("y1");
    expect(y1?.startTicks).toBeGreaterThan(6);
    expect(ran("y2")?.startTicks).toBe(y1?.startTicks);
    expect(result.rootQuality).toBe(23);
  });
});
