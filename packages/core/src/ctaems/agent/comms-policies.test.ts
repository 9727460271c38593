import { describe, expect, it } from "vitest";
import { act, build, plan, task } from "../../test-support/ctaems-networks.js";
import { SchedulerAgentCsc } from "../agent.js";
import type { ChildReport, PeerBody } from "../messages.js";
import { buildSetups, type CommsPolicy, DEFAULT_POLICY } from "../setup.js";
import {
  AlwaysBroadcast,
  Cells,
  type CommsStrategy,
  commsStrategy,
  SelectiveBroadcast,
  Silence,
} from "./comms-policies.js";
import { Communication } from "./communication.js";

const child = (id: string, extra: Partial<ChildReport> = {}): ChildReport => ({
  id,
  p: 0.5,
  v: 10,
  pp: 0.8,
  pv: 10,
  busy: 4,
  ...extra,
});

const escalate = (node: string): PeerBody => ({
  type: "escalate",
  node,
  p: 0.2,
  threshold: 0.5,
  children: [child("m")],
});

describe("AlwaysBroadcast", () => {
  const s = new AlwaysBroadcast();
  it("says everything again at every tick, straight to the deliberative scheduler", () => {
    const same = [child("a"), child("b")];
    expect(s.report(same, same)).toBe(true);
    expect(s.announce("p:0.5/1", "p:0.5/1")).toBe(true);
    expect(s.escalateAgain(0.3, 0.3)).toBe(true);
    expect(s.relay()).toBeUndefined();
    s.gather("x", escalate("T"));
    expect(s.summary()).toBeUndefined();
  });
});

describe("SelectiveBroadcast", () => {
  const s = new SelectiveBroadcast(0.05);
  const before = [child("a"), child("b")];
  it("reports the first time, and again only when a profile moved by more than ε", () => {
    expect(s.report(undefined, before)).toBe(true);
    expect(s.report(before, [child("a"), child("b")])).toBe(false);
    expect(s.report(before, [child("a", { p: 0.54 }), child("b")])).toBe(false);
    expect(s.report(before, [child("a", { p: 0.56 }), child("b")])).toBe(true);
  });
  it("weighs the potential by ε, as the scheduled probability, and values by ε of themselves", () => {
    expect(s.report(before, [child("a", { pp: 0.84 }), child("b")])).toBe(false);
    expect(s.report(before, [child("a", { pp: 0.76 }), child("b")])).toBe(false);
    // (A relative 4ε, 0.16 here, kept both of these back.)
    expect(s.report(before, [child("a", { pp: 0.86 }), child("b")])).toBe(true);
    expect(s.report(before, [child("a", { pp: 0.7 }), child("b")])).toBe(true);
    expect(s.report(before, [child("a", { v: 10.4 }), child("b")])).toBe(false);
    expect(s.report(before, [child("a", { pv: 11 }), child("b")])).toBe(true);
  });
  it("reports any crossing of zero, change of state, of the planned start, or of the children", () => {
    const low = [child("a", { p: 0.01 })];
    expect(s.report(low, [child("a", { p: 0 })])).toBe(true);
    expect(s.report(before, [child("a", { s: 3 }), child("b")])).toBe(true);
    const planned = [child("a", { e: 36 }), child("b")];
    expect(s.report(planned, [child("a", { e: 36 }), child("b")])).toBe(false);
    expect(s.report(planned, [child("a", { e: 47 }), child("b")])).toBe(true);
    expect(s.report(before, [child("a", { acc: 9 }), child("b")])).toBe(true);
    expect(s.report(before, [child("a", { final: true }), child("b")])).toBe(true);
    expect(s.report(before, [child("a")])).toBe(true);
    expect(s.report(before, [child("a"), child("c")])).toBe(true);
  });
  it("announces an enabler only when what it says changed; escalations repeat", () => {
    expect(s.announce(undefined, "p:0.5/1")).toBe(true);
    expect(s.announce("p:0.5/1", "p:0.5/1")).toBe(false);
    expect(s.announce("p:0.5/1", "at:7")).toBe(true);
    expect(s.escalateAgain(0.3, 0.3)).toBe(true);
    expect(s.relay()).toBeUndefined();
  });
});

describe("Silence", () => {
  const inner = new SelectiveBroadcast(0.05);
  const s = new Silence(inner, 0.05);
  it("repeats an escalation only when the node fell further by the threshold", () => {
    expect(s.escalateAgain(0.4, 0.4)).toBe(false);
    expect(s.escalateAgain(0.4, 0.37)).toBe(false);
    expect(s.escalateAgain(0.4, 0.3)).toBe(true);
    expect(s.escalateAgain(0.4, 0.5)).toBe(false);
  });
  it("leaves profiles and notices to the policy it wraps", () => {
    const same = [child("a")];
    expect(s.report(same, same)).toBe(false);
    expect(new Silence(new AlwaysBroadcast(), 0.05).report(same, same)).toBe(true);
    expect(s.announce("k", "k")).toBe(false);
    expect(s.relay()).toBeUndefined();
  });
});

describe("Cells", () => {
  const cell = ["a", "b", "c"];
  it("members send through the cell's first member, which alone summarizes", () => {
    const leader = new Cells(new SelectiveBroadcast(0.05), "a", cell);
    const member = new Cells(new SelectiveBroadcast(0.05), "b", cell);
    expect(leader.relay()).toBe("a");
    expect(member.relay()).toBe("a");
    expect(leader.summary()).toBeUndefined();
    leader.gather("b", escalate("T"));
    leader.gather("a", { type: "installed", lock: 4, ok: true });
    expect(leader.summary()).toEqual({
      type: "summary",
      escalations: [{ node: "T", p: 0.2, threshold: 0.5, children: [child("m")] }],
      installed: [{ agent: "a", lock: 4, ok: true }],
    });
    // Said once: the batch is empty again.
    expect(leader.summary()).toBeUndefined();
    member.gather("c", escalate("U"));
    expect(member.summary()).toBeUndefined();
  });
  it("the next member present leads when the leader leaves, with what it gathered meanwhile", () => {
    const member = new Cells(new SelectiveBroadcast(0.05), "b", cell);
    member.gather("c", escalate("U"));
    member.left("a");
    expect(member.relay()).toBe("b");
    expect(member.summary()).toMatchObject({ type: "summary", escalations: [{ node: "U" }] });
    member.left("b");
    member.left("c");
    expect(member.relay()).toBeUndefined();
  });
  it("leaves every other decision to the policy it wraps", () => {
    const s = new Cells(new Silence(new SelectiveBroadcast(0.05), 0.05), "a", cell);
    expect(s.escalateAgain(0.4, 0.39)).toBe(false);
    expect(s.announce("k", "k")).toBe(false);
  });
});

describe("commsStrategy", () => {
  const same = [child("a")];
  it("defaults to selective broadcasting with silence", () => {
    const s = commsStrategy();
    expect(s.name).toBe(DEFAULT_POLICY.name);
    expect(s.report(same, same)).toBe(false);
    expect(s.escalateAgain(0.4, 0.39)).toBe(false);
    expect(s.relay()).toBeUndefined();
  });
  it("builds the policy a setup describes", () => {
    const always: CommsPolicy = {
      name: "always",
      broadcast: "always",
      threshold: 0,
      silence: false,
    };
    const a = commsStrategy(always);
    expect(a).toBeInstanceOf(AlwaysBroadcast);
    expect(a.report(same, same)).toBe(true);
    expect(a.escalateAgain(0.4, 0.4)).toBe(true);
    const c = commsStrategy({ ...DEFAULT_POLICY, cellSize: 2 }, "y", ["x", "y"]);
    expect(c).toBeInstanceOf(Cells);
    expect(c.relay()).toBe("x");
    expect(c.escalateAgain(0.4, 0.39)).toBe(false);
  });
});

describe("an injected strategy", () => {
  // Two agents share the root: each tells the other about its child.
  const index = build([
    task("root", "min", ["A", "B"]),
    task("A", "max", ["a1"]),
    task("B", "max", ["b1"]),
    act("a1", "a", 5, 10, { deadlineTicks: 30 }),
    act("b1", "b", 5, 10, { deadlineTicks: 30 }),
  ]);
  const setups = buildSetups(index, plan([["a", "a1", 3]]), { mode: "csc" });
  const reportsOver = (agent: SchedulerAgentCsc) => {
    let n = 0;
    for (let tick = 0; tick < 12; tick++)
      n += agent
        .step({ tick, events: [], inbox: [] })
        .messages.filter((m) => m.body.type === "report").length;
    return n;
  };
  it("decides what the agent says in place of the setup's policy", () => {
    const mute: CommsStrategy = new (class extends SelectiveBroadcast {
      override report(): boolean {
        return false;
      }
    })(0.05);
    const setup = setups.get("a")!;
    expect(reportsOver(new SchedulerAgentCsc(setup))).toBeGreaterThan(0);
    expect(reportsOver(new SchedulerAgentCsc(setup, { comms: mute }))).toBe(0);
    expect(reportsOver(new SchedulerAgentCsc(setup, { comms: new AlwaysBroadcast() }))).toBe(12);
  });
});

describe("Communication with cells", () => {
  const setup = (agentId: string) =>
    ({ agentId, deliberative: { address: "~d", watch: {} } }) as unknown as ConstructorParameters<
      typeof Communication
    >[0];
  it("a member's escalation goes straight to the scheduler, its install answer to the leader", () => {
    const comms = new Communication(
      setup("b"),
      new Cells(new SelectiveBroadcast(0.05), "b", ["a", "b"]),
    );
    const out: { to: string; body: PeerBody }[] = [];
    comms.toCoordinator(escalate("T"), out);
    comms.toCoordinator({ type: "installed", lock: 1, ok: true }, out);
    expect(out.map((m) => [m.to, m.body.type])).toEqual([
      ["~d", "escalate"],
      ["a", "installed"],
    ]);
  });
});
