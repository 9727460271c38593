import { describe, expect, it } from "vitest";
import { ClockMaster } from "./clock-master.js";

const idle = (step: number, sent: number, received: number, nextEventTicks?: number) => ({
  atTicks: 0,
  step,
  sent,
  received,
  ...(nextEventTicks !== undefined ? { nextEventTicks } : {}),
});

describe("ClockMaster", () => {
  it("waits for every online agent's idle report of the current step", () => {
    const m = new ClockMaster();
    m.setOnline("a", true);
    m.setOnline("b", true);
    m.onIdle("a", idle(0, 0, 0, 5));
    expect(m.waitingFor()).toEqual([{ agentId: "b", reason: "no idle report for step 0" }]);
    m.onIdle("b", idle(0, 0, 0, 3));
    expect(m.quiet()).toBe(true);
    expect(m.nextEvent(undefined)).toBe(3);
    expect(m.nextEvent(2)).toBe(2);
  });
  it("is not quiet while a message is in flight either way", () => {
    const m = new ClockMaster();
    m.setOnline("a", true);
    m.countSent("a");
    m.onIdle("a", idle(0, 0, 0));
    expect(m.waitingFor()[0]?.reason).toBe("received 0 of 1 commands");
    m.onIdle("a", idle(0, 1, 1));
    expect(m.waitingFor()[0]?.reason).toBe("sent 1, 0 arrived");
    m.countReceived("a");
    expect(m.quiet()).toBe(true);
  });
  it("ignores offline agents and reports overtaken by newer ones", () => {
    const m = new ClockMaster();
    m.setOnline("a", true);
    m.onIdle("a", idle(0, 0, 0, 7));
    const clock = m.advance(7);
    expect(clock).toEqual({ nowTicks: 7, step: 1 });
    expect(m.quiet()).toBe(false);
    m.setOnline("a", false);
    expect(m.quiet()).toBe(true);
    m.setOnline("a", true);
    m.onIdle("a", idle(1, 0, 0));
    m.onIdle("a", idle(0, 0, 0, 99));
    expect(m.quiet()).toBe(true);
    expect(m.nextEvent(undefined)).toBeUndefined();
  });
  it("keeps the newer of two reports of the same step, whatever order they arrive in", () => {
    const m = new ClockMaster();
    m.setOnline("a", true);
    m.countSent("a");
    m.countSent("a");
    // Step 0: "received 1" (seq 4), then "received 2" (seq 5); delivery swaps them.
    m.onIdle("a", idle(0, 0, 2), 5);
    m.onIdle("a", idle(0, 0, 1), 4);
    expect(m.quiet()).toBe(true);
    // Without seqs, the counts say which is older.
    const n = new ClockMaster();
    n.setOnline("a", true);
    n.countSent("a");
    n.onIdle("a", idle(0, 0, 1));
    n.onIdle("a", idle(0, 0, 0));
    expect(n.quiet()).toBe(true);
  });
  it("a restarted clock master learns each agent's counts from its first report of the resync step", () => {
    const m = new ClockMaster();
    m.restore(8, 22);
    m.setOnline("a", true);
    m.setOnline("b", true);
    // Reports the dead session never saw, queued for this one: older than the resync step.
    m.onIdle("a", idle(8, 5, 9));
    expect(m.resync()).toEqual({ nowTicks: 22, step: 9 });
    expect(m.needsRebase("a")).toBe(true);
    expect(m.onIdle("a", idle(8, 5, 9))).toBe(false);
    expect(m.quiet()).toBe(false);
    // Counts of every session so far: this one adopts them.
    expect(m.onIdle("a", idle(9, 5, 9))).toBe(true);
    expect(m.needsRebase("a")).toBe(false);
    expect(m.waitingFor()).toEqual([{ agentId: "b", reason: "no idle report for step 9" }]);
    expect(m.onIdle("b", idle(9, 3, 4))).toBe(true);
    expect(m.quiet()).toBe(true);
    // From then on, counted as usual.
    m.countSent("a");
    expect(m.waitingFor()).toEqual([{ agentId: "a", reason: "received 9 of 10 commands" }]);
    expect(m.onIdle("a", idle(9, 5, 10))).toBe(false);
    expect(m.quiet()).toBe(true);
    // An agent offline at the resync is rebased by its first report when it is back.
    expect(m.needsRebase("c")).toBe(true);
    m.advance(30);
    m.setOnline("c", true);
    expect(m.onIdle("c", idle(10, 2, 7))).toBe(true);
  });
});
