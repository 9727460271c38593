import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type AgentCommand,
  type AgentInbound,
  CHANNEL_KINDS,
  CHANNELS,
  type CoordinatorInbound,
  type OperatorInbound,
  type OperatorOutbound,
  PARAMS,
  paramsOf,
} from "./catalogue.js";
import { MESSAGE_TYPES, type MessageType, TOPIC_MESSAGES } from "./messages.js";
import { PROTOCOL_VERSION, parseTopic, ROOT, topicOf } from "./topics.js";

describe("the channel catalogue", () => {
  it("scopes every address by protocol version and site", () => {
    for (const kind of CHANNEL_KINDS)
      expect(CHANNELS[kind].address, kind).toMatch(
        new RegExp(`^${ROOT}/${PROTOCOL_VERSION}/\\{site\\}/`),
      );
  });
  it("names only known parameters, and binds `self` only to one of the channel's own", () => {
    for (const kind of CHANNEL_KINDS) {
      const params = paramsOf(CHANNELS[kind].address);
      for (const p of params) expect(Object.keys(PARAMS), `${kind}: ${p}`).toContain(p);
      for (const access of [...CHANNELS[kind].publishers, ...CHANNELS[kind].subscribers])
        if ("self" in access) expect(params, kind).toContain(access.self);
    }
  });
  it("puts every message type on some channel, and has each channel published and read", () => {
    const carried = new Set(CHANNEL_KINDS.flatMap((k) => CHANNELS[k].messages as MessageType[]));
    expect([...carried].sort()).toEqual([...MESSAGE_TYPES].sort());
    for (const kind of CHANNEL_KINDS) {
      expect(CHANNELS[kind].publishers.length, kind).toBeGreaterThan(0);
      expect(CHANNELS[kind].subscribers.length, kind).toBeGreaterThan(0);
    }
  });
  it("retains exactly the state channels", () => {
    expect(CHANNEL_KINDS.filter((k) => CHANNELS[k].retain).sort()).toEqual([
      "agent-state",
      "coordinator-state",
    ]);
  });
  it("gives TOPIC_MESSAGES from the catalogue", () => {
    for (const kind of CHANNEL_KINDS) expect(TOPIC_MESSAGES[kind]).toEqual(CHANNELS[kind].messages);
  });
  it("builds and parses back every channel", () => {
    const values = {
      site: "s1",
      agentId: "a.1",
      nodeId: "n:2",
      toId: "coordinator",
      clientId: "ops",
    } as const;
    for (const kind of CHANNEL_KINDS) {
      const params = Object.fromEntries(
        paramsOf(CHANNELS[kind].address).map((p) => [p, values[p]]),
      );
      const topic = topicOf(kind, params as never);
      expect(parseTopic(topic)).toEqual({ kind, ...params });
    }
  });
});

describe("the per-role message unions", () => {
  it("keep coordinator-only kinds out of an agent's handlers, and the reverse", () => {
    type AgentIn = AgentInbound["type"];
    expectTypeOf<"assign" | "csc-tick" | "clock" | "profile">().toExtend<AgentIn>();
    expectTypeOf<AgentIn>().not.toExtend<"order">();
    expectTypeOf<
      Extract<AgentIn, "order" | "propose" | "failure" | "idle" | "csc-step">
    >().toEqualTypeOf<never>();
    type CoordinatorIn = CoordinatorInbound["type"];
    expectTypeOf<
      "order" | "propose" | "idle" | "csc-step" | "csc-peer" | "bid" | "refuse"
    >().toExtend<CoordinatorIn>();
    expectTypeOf<
      Extract<CoordinatorIn, "assign" | "install" | "clock" | "cfp" | "award">
    >().toEqualTypeOf<never>();
    expectTypeOf<AgentCommand["type"]>().toEqualTypeOf<
      (typeof CHANNELS)["agent-in"]["messages"][number]
    >();
    expectTypeOf<OperatorOutbound["type"]>().toEqualTypeOf<"order">();
    expectTypeOf<OperatorInbound["type"]>().toEqualTypeOf<
      "plan" | "coordinator-state" | "descriptor" | "order-reply"
    >();
  });
});
