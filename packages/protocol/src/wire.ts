import type {
  AgentEvent,
  Assignment,
  ChildReport,
  Link,
  ModelNode,
  PeerBody,
  Slot,
  StartConstraint,
} from "@consort/core";
import type { Static } from "@sinclair/typebox";
import type {
  WireAgentEvent,
  WireChildReport,
  WireLink,
  WireNode,
  WirePeerBody,
  WireSlot,
  WireView,
} from "./messages.js";

/**
 * Domain <-> wire mappers, in one place, so no app maps (or imports another app to map) core's
 * types to message bodies. Wire shapes are what the schemas accept: mutable arrays, no open-ended
 * windows, no `final: false`. Only types come from core: loading this module loads no solver.
 */
type Slot_ = Static<typeof WireSlot>;
type Node_ = Static<typeof WireNode>;
type View_ = Static<typeof WireView>;
type Link_ = Static<typeof WireLink>;
type PeerBody_ = Static<typeof WirePeerBody>;
type ChildReport_ = Static<typeof WireChildReport>;
type AgentEvent_ = Static<typeof WireAgentEvent>;

/** The wire has no open-ended window; an absent bound travels as a sentinel beyond any run. */
export const OPEN_LATEST = 1_000_000_000_000;

/** A planner's start bound (CAMPS inter-agent constraint) as a `constrain` slot. */
export function toWireConstraint(c: StartConstraint): Slot_ {
  return {
    activityId: c.activityId,
    window: {
      earliestTicks: c.earliestStartTicks ?? 0,
      latestTicks: c.latestStartTicks ?? OPEN_LATEST,
    },
  };
}

/** A `constrain` slot back to a start bound; the sentinels become absent bounds again. */
export function fromWireConstraint(s: Slot_, reason?: string): StartConstraint {
  const w = s.window;
  return {
    activityId: s.activityId,
    ...(w && w.earliestTicks > 0 ? { earliestStartTicks: w.earliestTicks } : {}),
    ...(w && w.latestTicks < OPEN_LATEST ? { latestStartTicks: w.latestTicks } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** A scheduled slot of a local schedule, as `propose` and `install` carry it. */
export function toWireSlot(s: Slot): Slot_ {
  return { activityId: s.activityId, startTicks: s.startTicks, durationTicks: s.durationTicks };
}

/** A wire slot as a scheduled slot: without a start, at its window's earliest (or 0). */
export function fromWireSlot(s: Slot_): Slot {
  return {
    activityId: s.activityId,
    startTicks: s.startTicks ?? s.window?.earliestTicks ?? 0,
    durationTicks: s.durationTicks ?? 0,
  };
}

/** A planner's assignment (CAMPS: desirability window and planned duration) as an `assign` slot. */
export function toWireAssignment(a: Assignment): Slot_ {
  return {
    activityId: a.activityId,
    window: { earliestTicks: a.window.earliestTicks, latestTicks: a.window.latestTicks },
    durationTicks: a.durationTicks,
  };
}

/** A model node, copied field by field so nothing the schema refuses travels. */
export function toWireNode(n: ModelNode): Node_ {
  const bounds = {
    ...(n.releaseTicks !== undefined ? { releaseTicks: n.releaseTicks } : {}),
    ...(n.deadlineTicks !== undefined ? { deadlineTicks: n.deadlineTicks } : {}),
    ...(n.due !== undefined ? { due: { dueTicks: n.due.dueTicks, weight: n.due.weight } } : {}),
  };
  if (n.kind === "task")
    return { kind: "task", id: n.id, qaf: n.qaf, children: [...n.children], ...bounds };
  return {
    kind: "activity",
    id: n.id,
    resources: [...n.resources],
    duration: n.duration.map((o) => ({ value: o.value, probability: o.probability })),
    quality: n.quality.map((o) => ({ value: o.value, probability: o.probability })),
    ...bounds,
  };
}

/** A wire node is already a model node (the schema is the model's, with mutable arrays). */
export function fromWireNode(n: Node_): ModelNode {
  return n;
}

export function toWireLink(l: Link): Link_ {
  return { kind: l.kind, from: l.from, to: l.to };
}

/** An agent's subjective view (CSC §2) as `assign` carries it; its resources stay behind. */
export function toWireView(view: {
  readonly agentId: string;
  readonly root: string;
  readonly own: readonly string[];
  readonly nodes: readonly ModelNode[];
  readonly links: readonly Link[];
}): View_ {
  return {
    agentId: view.agentId,
    root: view.root,
    own: [...view.own],
    nodes: view.nodes.map(toWireNode),
    links: view.links.map(toWireLink),
  };
}

function toWireChildReport(c: ChildReport): ChildReport_ {
  return {
    id: c.id,
    p: c.p,
    v: c.v,
    pp: c.pp,
    pv: c.pv,
    busy: c.busy,
    ...(c.s !== undefined ? { s: c.s } : {}),
    ...(c.e !== undefined ? { e: c.e } : {}),
    ...(c.acc !== undefined ? { acc: c.acc } : {}),
    // The wire says only `final: true`; "not final" is its absence.
    ...(c.final ? { final: true as const } : {}),
  };
}

/** A C-TAEMS coordination body (core's PeerBody) as `csc-peer` carries it. */
export function toWirePeerBody(b: PeerBody): PeerBody_ {
  switch (b.type) {
    case "report":
      return { type: "report", node: b.node, children: b.children.map(toWireChildReport) };
    case "escalate":
      return { ...b, children: b.children.map(toWireChildReport) };
    case "summary":
      return {
        type: "summary",
        escalations: b.escalations.map((e) => ({
          node: e.node,
          p: e.p,
          threshold: e.threshold,
          children: e.children.map(toWireChildReport),
        })),
        installed: b.installed.map((i) => ({
          agent: i.agent,
          lock: i.lock,
          ok: i.ok,
          ...(i.activity !== undefined ? { activity: i.activity } : {}),
        })),
      };
    case "install": {
      const { replaces, ...rest } = b;
      return replaces ? { ...rest, replaces: [...replaces] } : rest;
    }
    case "enabler":
    case "ready":
    case "withdraw":
    case "cancel":
    case "installed":
      return { ...b };
  }
}

/** A `csc-peer` body is already a PeerBody (the compiler checks the schema still fits). */
export function fromWirePeerBody(b: PeerBody_): PeerBody {
  return b;
}

/** What the world did to a C-TAEMS agent (core's AgentEvent) as `csc-tick` carries it. */
export function toWireAgentEvent(e: AgentEvent): AgentEvent_ {
  if (e.kind !== "changed") return { ...e };
  const copy = (d: NonNullable<typeof e.duration>) =>
    d.map((o) => ({ value: o.value, probability: o.probability }));
  return {
    kind: "changed",
    nodeId: e.nodeId,
    ...(e.releaseTicks !== undefined ? { releaseTicks: e.releaseTicks } : {}),
    ...(e.deadlineTicks !== undefined ? { deadlineTicks: e.deadlineTicks } : {}),
    ...(e.duration !== undefined ? { duration: copy(e.duration) } : {}),
    ...(e.quality !== undefined ? { quality: copy(e.quality) } : {}),
  };
}

/** A `csc-tick` event is already an AgentEvent (the compiler checks the schema still fits). */
export function fromWireAgentEvent(e: AgentEvent_): AgentEvent {
  return e;
}
