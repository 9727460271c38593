import { describe, expect, it } from "vitest";
import { Deduplicator } from "./dedup.js";
import { parseTopic, topicMatches, topics } from "./topics.js";

describe("topics", () => {
  it("builds and parses every topic", () => {
    expect(parseTopic(topics.agentState("s1", "lathe"))).toEqual({
      kind: "agent-state",
      site: "s1",
      agentId: "lathe",
    });
    expect(parseTopic(topics.agentIn("s1", "lathe"))).toEqual({
      kind: "agent-in",
      site: "s1",
      agentId: "lathe",
    });
    expect(parseTopic(topics.agentOut("s1", "lathe"))).toEqual({
      kind: "agent-out",
      site: "s1",
      agentId: "lathe",
    });
    expect(parseTopic(topics.profile("s1", "lathe", "j1.o2"))).toEqual({
      kind: "profile",
      site: "s1",
      agentId: "lathe",
      nodeId: "j1.o2",
    });
    expect(parseTopic(topics.peer("s1", "lathe", "mill"))).toEqual({
      kind: "peer",
      site: "s1",
      agentId: "lathe",
      toId: "mill",
    });
    expect(parseTopic("consort/v1/s1/agent/lathe/peer/a+b")).toBeUndefined();
    expect(parseTopic(topics.coordinatorState("s1"))).toEqual({
      kind: "coordinator-state",
      site: "s1",
    });
    expect(parseTopic(topics.orders("s1"))).toEqual({ kind: "orders", site: "s1" });
    expect(parseTopic(topics.plans("s1"))).toEqual({ kind: "plans", site: "s1" });
    expect(parseTopic(topics.clock("s1"))).toEqual({ kind: "clock", site: "s1" });
    expect(parseTopic(topics.orderReplies("s1", "ops-1"))).toEqual({
      kind: "order-replies",
      site: "s1",
      clientId: "ops-1",
    });
    expect(parseTopic("consort/v1/s1/coordinator/replies")).toBeUndefined();
    expect(parseTopic("consort/v1/s1/coordinator/replies/a/b")).toBeUndefined();
  });
  it("refuses ids that would break the topic tree", () => {
    expect(() => topics.agentIn("s1", "a/b")).toThrow(/cannot be a topic level/);
    expect(() => topics.agentIn("s1", "+")).toThrow();
    expect(() => topics.agentIn("", "a")).toThrow();
  });
  it("parses only Consort's topics", () => {
    for (const t of [
      "consort/v2/s/agent/a/in",
      "consort/v1/s/agent/a/in/x",
      "consort/v1/s/agent/a",
      "other/v1/s/agent/a/in",
      "consort/v1/s/coordinator/x",
    ]) {
      expect(parseTopic(t)).toBeUndefined();
    }
  });
  it("matches MQTT filters", () => {
    expect(topicMatches("consort/v1/s/agent/+/state", "consort/v1/s/agent/a/state")).toBe(true);
    expect(topicMatches("consort/v1/s/agent/+/state", "consort/v1/s/agent/a/in")).toBe(false);
    expect(topicMatches("consort/v1/s/#", "consort/v1/s/agent/a/in")).toBe(true);
    expect(topicMatches("consort/v1/s/agent/+", "consort/v1/s/agent/a/in")).toBe(false);
  });
});

describe("Deduplicator", () => {
  it("passes each (sender, seq) once, in any order", () => {
    const d = new Deduplicator();
    expect([3, 1, 2, 1, 3, 4, 0, 0].map((s) => d.firstTime("a", s))).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
    expect(d.firstTime("b", 1)).toBe(true);
  });
  it("stays bounded across a permanent gap", () => {
    const d = new Deduplicator(8);
    for (let s = 1; s <= 100; s++) expect(d.firstTime("a", s)).toBe(true);
    expect(d.firstTime("a", 50)).toBe(false);
  });
});
