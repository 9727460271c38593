import type { ModelNode, PeerBody, StartConstraint } from "@consort/core";
import { Value } from "@sinclair/typebox/value";
import { describe, expect, it } from "vitest";
import { WireAgentEvent, WireNode, WirePeerBody, WireSlot, WireView } from "./messages.js";
import {
  fromWireAgentEvent,
  fromWireConstraint,
  fromWireNode,
  fromWirePeerBody,
  fromWireSlot,
  OPEN_LATEST,
  toWireAgentEvent,
  toWireAssignment,
  toWireConstraint,
  toWireNode,
  toWirePeerBody,
  toWireSlot,
  toWireView,
} from "./wire.js";

describe("start constraints", () => {
  it("send an open bound as a sentinel and read it back as absent", () => {
    const open: StartConstraint = { activityId: "j1.o2" };
    const wire = toWireConstraint(open);
    expect(Value.Check(WireSlot, wire)).toBe(true);
    expect(wire.window).toEqual({ earliestTicks: 0, latestTicks: OPEN_LATEST });
    expect(fromWireConstraint(wire)).toEqual(open);
  });
  it("keep both bounds and the reason", () => {
    const c: StartConstraint = { activityId: "a", earliestStartTicks: 5, latestStartTicks: 9 };
    expect(fromWireConstraint(toWireConstraint(c), "repair")).toEqual({ ...c, reason: "repair" });
  });
});

describe("slots", () => {
  it("round-trip a scheduled slot", () => {
    const s = { activityId: "a", startTicks: 4, durationTicks: 3 };
    expect(Value.Check(WireSlot, toWireSlot(s))).toBe(true);
    expect(fromWireSlot(toWireSlot(s))).toEqual(s);
  });
  it("read a window-only slot as starting at its earliest", () => {
    expect(
      fromWireSlot({ activityId: "a", window: { earliestTicks: 7, latestTicks: 20 } }),
    ).toEqual({ activityId: "a", startTicks: 7, durationTicks: 0 });
  });
  it("send an assignment's window and duration", () => {
    const wire = toWireAssignment({
      activityId: "a",
      resourceId: "m1",
      window: { earliestTicks: 2, latestTicks: 8 },
      durationTicks: 3,
    });
    expect(Value.Check(WireSlot, wire)).toBe(true);
    expect(wire).toEqual({
      activityId: "a",
      window: { earliestTicks: 2, latestTicks: 8 },
      durationTicks: 3,
    });
  });
});

const activity: ModelNode = {
  kind: "activity",
  id: "j1.o1",
  resources: ["m1", "m2"],
  duration: [{ value: 3, probability: 1 }],
  quality: [{ value: 1, probability: 1 }],
  releaseTicks: 0,
  due: { dueTicks: 40, weight: 2 },
};
const task: ModelNode = { kind: "task", id: "j1", qaf: "min", children: ["j1.o1"] };

describe("nodes and views", () => {
  it("round-trip nodes through shapes the schema accepts", () => {
    for (const n of [activity, task]) {
      expect(Value.Check(WireNode, toWireNode(n)), n.id).toBe(true);
      expect(fromWireNode(toWireNode(n))).toEqual(n);
    }
  });
  it("leave out what the schema would refuse", () => {
    const extra = { ...activity, name: "drill" } as ModelNode;
    expect(Value.Check(WireNode, toWireNode(extra))).toBe(true);
  });
  it("send a view without its resources", () => {
    const wire = toWireView({
      agentId: "m1",
      root: "j1",
      own: ["j1.o1"],
      nodes: [task, activity],
      links: [{ kind: "precedence", from: "j1.o1", to: "j1.o2" }],
      resources: [{ id: "m1" }],
    } as Parameters<typeof toWireView>[0]);
    expect(Value.Check(WireView, wire)).toBe(true);
  });
});

describe("C-TAEMS bodies", () => {
  const child = { id: "m1", p: 0.5, v: 2, pp: 0.9, pv: 3, busy: 4, final: false };
  const bodies: PeerBody[] = [
    { type: "report", node: "t", children: [child] },
    { type: "enabler", node: "m1", at: 3, p: 1 },
    { type: "ready", group: "g", at: 2 },
    { type: "withdraw", group: "g" },
    { type: "escalate", node: "t", p: 0.2, threshold: 0.5, children: [child] },
    { type: "install", lock: 1, activity: "m1", earliest: 2, latest: 9 },
    { type: "cancel", lock: 1, activity: "m1" },
    { type: "installed", lock: 1, ok: true },
    {
      type: "summary",
      escalations: [{ node: "t", p: 0.2, threshold: 0.5, children: [child] }],
      installed: [{ agent: "a1", lock: 1, ok: false }],
    },
  ];
  it("send every peer body in a shape the schema accepts, `final: false` as absent", () => {
    for (const b of bodies) {
      const wire = toWirePeerBody(b);
      expect(Value.Check(WirePeerBody, wire), b.type).toBe(true);
      expect(JSON.stringify(wire)).not.toContain('"final"');
      expect(fromWirePeerBody(wire).type).toBe(b.type);
    }
  });
  it("keep a final report", () => {
    const wire = toWirePeerBody({
      type: "report",
      node: "t",
      children: [{ ...child, final: true }],
    });
    expect(fromWirePeerBody(wire)).toEqual({
      type: "report",
      node: "t",
      children: [{ ...child, final: true }],
    });
  });
  it("keep the method an answer to an install names, alone and in a cell's summary", () => {
    const named: PeerBody = { type: "installed", lock: 1, ok: false, activity: "m1" };
    expect(fromWirePeerBody(toWirePeerBody(named))).toEqual(named);
    const summary: PeerBody = {
      type: "summary",
      escalations: [],
      installed: [{ agent: "a1", lock: 1, ok: true, activity: "m1" }],
    };
    const wire = toWirePeerBody(summary);
    expect(Value.Check(WirePeerBody, wire)).toBe(true);
    expect(fromWirePeerBody(wire)).toEqual(summary);
  });
  it("keep a method's planned start", () => {
    const planned = { id: "m1", p: 0.5, v: 2, pp: 0.9, pv: 3, busy: 4, e: 30 };
    const wire = toWirePeerBody({ type: "report", node: "t", children: [planned] });
    expect(Value.Check(WirePeerBody, wire)).toBe(true);
    expect(fromWirePeerBody(wire)).toEqual({ type: "report", node: "t", children: [planned] });
  });
  it("send the world's events", () => {
    for (const e of [
      { kind: "completed", activityId: "m1", startTicks: 1, endTicks: 4, quality: 2 },
      { kind: "changed", nodeId: "m1", deadlineTicks: 9, duration: [{ value: 2, probability: 1 }] },
      { kind: "left", agentId: "a2" },
    ] as const) {
      const wire = toWireAgentEvent(e);
      expect(Value.Check(WireAgentEvent, wire), e.kind).toBe(true);
      expect(fromWireAgentEvent(wire)).toEqual(e);
    }
  });
});
