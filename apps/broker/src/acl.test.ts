import {
  type Access,
  CHANNEL_KINDS,
  CHANNELS,
  type ChannelKind,
  paramsOf,
  ROLES,
  SITE_READERS,
  topicOf,
  topics,
} from "@consort/protocol";
import { describe, expect, it } from "vitest";
import {
  devIdentity,
  filterCovers,
  type Identity,
  publishAllowed,
  subscribeAllowed,
} from "./acl.js";

const S = "s1";
const m1: Identity = { username: "m1", role: "agent", site: S };
const coordinator: Identity = { username: "coord", role: "coordinator", site: S };
const operator: Identity = { username: "op", role: "operator", site: S };

describe("publish rights", () => {
  it("lets an agent publish only its own state, out and profiles", () => {
    expect(publishAllowed(m1, topics.agentState(S, "m1"))).toBe(true);
    expect(publishAllowed(m1, topics.agentOut(S, "m1"))).toBe(true);
    expect(publishAllowed(m1, topics.profile(S, "m1", "job3.op2"))).toBe(true);
    // not its own inbox, nor anyone else's topics, nor the coordinator's
    expect(publishAllowed(m1, topics.agentIn(S, "m1"))).toBe(false);
    expect(publishAllowed(m1, topics.agentState(S, "m2"))).toBe(false);
    expect(publishAllowed(m1, topics.agentOut(S, "m2"))).toBe(false);
    expect(publishAllowed(m1, topics.profile(S, "m2", "n"))).toBe(false);
    expect(publishAllowed(m1, topics.plans(S))).toBe(false);
    expect(publishAllowed(m1, topics.clock(S))).toBe(false);
    expect(publishAllowed(m1, topics.orders(S))).toBe(false);
  });

  it("lets an agent send peer messages under its own prefix only", () => {
    expect(publishAllowed(m1, topics.peer(S, "m1", "m2"))).toBe(true);
    expect(publishAllowed(m1, topics.peer(S, "m1", "coordinator"))).toBe(true);
    // speaking for another agent is refused, whoever the addressee
    expect(publishAllowed(m1, topics.peer(S, "m2", "m1"))).toBe(false);
    expect(publishAllowed(m1, topics.peer(S, "m2", "m3"))).toBe(false);
    expect(publishAllowed(coordinator, topics.peer(S, "m1", "m2"))).toBe(false);
  });

  it("lets the coordinator publish to any agent's inbox, its state and plans", () => {
    expect(publishAllowed(coordinator, topics.agentIn(S, "m1"))).toBe(true);
    expect(publishAllowed(coordinator, topics.agentIn(S, "m2"))).toBe(true);
    expect(publishAllowed(coordinator, topics.coordinatorState(S))).toBe(true);
    expect(publishAllowed(coordinator, topics.plans(S))).toBe(true);
    expect(publishAllowed(coordinator, topics.clock(S))).toBe(true);
    expect(publishAllowed(coordinator, topics.orders(S))).toBe(false);
    expect(publishAllowed(coordinator, topics.agentState(S, "m1"))).toBe(false);
  });

  it("lets an operator publish orders only", () => {
    expect(publishAllowed(operator, topics.orders(S))).toBe(true);
    expect(publishAllowed(operator, topics.plans(S))).toBe(false);
    expect(publishAllowed(operator, topics.clock(S))).toBe(false);
    expect(publishAllowed(operator, topics.agentIn(S, "m1"))).toBe(false);
  });

  it("confines every role to its site and to the catalogue", () => {
    for (const who of [m1, coordinator, operator]) {
      expect(publishAllowed(who, topics.agentState("other", "m1"))).toBe(false);
      expect(publishAllowed(who, topics.agentIn("other", "m1"))).toBe(false);
      expect(publishAllowed(who, topics.orders("other"))).toBe(false);
      expect(publishAllowed(who, "$SYS/x/heartbeat")).toBe(false);
      expect(publishAllowed(who, `consort/v1/${S}/agent/m1/state/extra`)).toBe(false);
      expect(publishAllowed(who, "anything")).toBe(false);
    }
  });
});

describe("subscribe rights", () => {
  it("gives an agent its inbox, profiles, agent states and the coordinator's state and plans", () => {
    const ok = [
      topics.agentIn(S, "m1"),
      topics.filters.nodeProfile(S, "n7"),
      topics.filters.allProfiles(S),
      topics.profile(S, "m2", "n7"),
      topics.filters.allAgentStates(S),
      topics.agentState(S, "m2"),
      topics.coordinatorState(S),
      topics.plans(S),
      topics.clock(S),
      topics.filters.peersTo(S, "m1"),
      topics.peer(S, "m2", "m1"),
    ];
    for (const f of ok) expect(subscribeAllowed(m1, f), f).toBe(true);
    const refused = [
      topics.agentIn(S, "m2"),
      `consort/v1/${S}/agent/+/in`,
      topics.agentOut(S, "m2"),
      topics.filters.allAgentOut(S),
      topics.orders(S),
      "#",
      `consort/v1/${S}/#`,
      `consort/v1/${S}/agent/+/#`,
      `consort/v1/${S}/agent/+/profile/#`,
      // another agent's peer messages, or everybody's
      topics.filters.peersTo(S, "m2"),
      topics.peer(S, "m2", "m3"),
      `consort/v1/${S}/agent/+/peer/+`,
      topics.agentIn("other", "m1"),
      "$SYS/#",
    ];
    for (const f of refused) expect(subscribeAllowed(m1, f), f).toBe(false);
  });

  it("gives the coordinator everything under its site and nothing else", () => {
    expect(subscribeAllowed(coordinator, topics.clock(S))).toBe(true);
    expect(subscribeAllowed(coordinator, `consort/v1/${S}/#`)).toBe(true);
    expect(subscribeAllowed(coordinator, topics.filters.allAgentOut(S))).toBe(true);
    expect(subscribeAllowed(coordinator, topics.orders(S))).toBe(true);
    expect(subscribeAllowed(coordinator, "#")).toBe(false);
    expect(subscribeAllowed(coordinator, "consort/v1/+/#")).toBe(false);
    expect(subscribeAllowed(coordinator, "consort/v1/other/#")).toBe(false);
    expect(subscribeAllowed(coordinator, "$SYS/#")).toBe(false);
  });

  it("gives an operator plans, coordinator state and agent states", () => {
    expect(subscribeAllowed(operator, topics.plans(S))).toBe(true);
    expect(subscribeAllowed(operator, topics.coordinatorState(S))).toBe(true);
    expect(subscribeAllowed(operator, topics.filters.allAgentStates(S))).toBe(true);
    expect(subscribeAllowed(operator, topics.orders(S))).toBe(false);
    expect(subscribeAllowed(operator, topics.agentIn(S, "m1"))).toBe(false);
    expect(subscribeAllowed(operator, `consort/v1/${S}/#`)).toBe(false);
  });

  it("gives an operator the replies to its own orders only; the coordinator sends them", () => {
    expect(subscribeAllowed(operator, topics.orderReplies(S, "op"))).toBe(true);
    expect(subscribeAllowed(operator, topics.orderReplies(S, "other"))).toBe(false);
    expect(subscribeAllowed(operator, `consort/v1/${S}/coordinator/replies/+`)).toBe(false);
    expect(publishAllowed(coordinator, topics.orderReplies(S, "op"))).toBe(true);
    expect(publishAllowed(operator, topics.orderReplies(S, "op"))).toBe(false);
    expect(publishAllowed(m1, topics.orderReplies(S, "op"))).toBe(false);
  });
});

/**
 * Every instance of every channel, with each id parameter either the client's own id or another
 * one (and, for filters, `+`), for every role: the broker's answer must be the catalogue's.
 */
describe("the ACL is the catalogue's", () => {
  const OWN = "me";
  const OTHER = "someone";
  const instances = (kind: ChannelKind, values: readonly string[]) => {
    let out: Record<string, string>[] = [{ site: S }];
    for (const p of paramsOf(CHANNELS[kind].address).filter((p) => p !== "site"))
      out = out.flatMap((partial) => values.map((v) => ({ ...partial, [p]: v })));
    return out;
  };
  // What the catalogue says, read directly: a role listed, and `self` (if any) bound to its id.
  const says = (accesses: readonly Access[], who: Identity, params: Record<string, string>) =>
    accesses.some(
      (a) => a.role === who.role && (a.self === undefined || params[a.self] === who.username),
    );

  it.each(ROLES)("publish rights of role %s", (role) => {
    const who: Identity = { username: OWN, role, site: S };
    let allowed = 0;
    for (const kind of CHANNEL_KINDS)
      for (const params of instances(kind, [OWN, OTHER])) {
        const topic = topicOf(kind, params as never);
        const expected = says(CHANNELS[kind].publishers, who, params);
        expect(publishAllowed(who, topic), `${role} publishes ${topic}`).toBe(expected);
        if (expected) allowed++;
      }
    expect(allowed).toBeGreaterThan(0);
  });

  it.each(ROLES)("subscribe rights of role %s", (role) => {
    const who: Identity = { username: OWN, role, site: S };
    for (const kind of CHANNEL_KINDS)
      for (const params of instances(kind, [OWN, OTHER, "+"])) {
        const filter = CHANNELS[kind].address.replace(/\{(\w+)\}/g, (_, p: string) => params[p]!);
        const expected =
          SITE_READERS.includes(role) || says(CHANNELS[kind].subscribers, who, params);
        expect(subscribeAllowed(who, filter), `${role} subscribes ${filter}`).toBe(expected);
      }
  });
});

describe("filterCovers", () => {
  it.each([
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/+/c", true],
    ["a/+/c", "a/#", false],
    ["a/+/c", "a/b/c/d", false],
    ["a/b", "a/+", false],
    ["a/#", "a", true],
    ["a/#", "a/b/+/#", true],
    ["a/#", "#", false],
    ["#", "x/y", true],
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
  ])("%s covers %s: %s", (allowed, requested, expected) => {
    expect(filterCovers(allowed, requested)).toBe(expected);
  });
});

describe("devIdentity", () => {
  it("maps coordinator and operator usernames to their roles and others to agents", () => {
    expect(devIdentity("coordinator", S).role).toBe("coordinator");
    expect(devIdentity("operator", S).role).toBe("operator");
    expect(devIdentity("rover-3", S)).toEqual({ username: "rover-3", role: "agent", site: S });
  });
});
