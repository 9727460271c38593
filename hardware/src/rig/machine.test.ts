import { type ActivityNode, SimulatedClock, sampleOutcome } from "@consort/core/agent";
import { describe, expect, it } from "vitest";
import { clockTimers, EmulatedMachine, sampledOutcomes } from "./machine.js";

const a: ActivityNode = {
  id: "A1",
  kind: "activity",
  resources: ["M1"],
  duration: [
    { value: 3, probability: 0.5 },
    { value: 7, probability: 0.5 },
  ],
  quality: [
    { value: 0.5, probability: 0.5 },
    { value: 1, probability: 0.5 },
  ],
};

describe("the emulated machine on a simulated clock", () => {
  it("ends a run on the simulator's tick with its quality", () => {
    const clock = new SimulatedClock(10);
    const tickMs = 250;
    const m = new EmulatedMachine({
      outcome: sampledOutcomes([a], 99, tickMs),
      timers: clockTimers(clock, tickMs),
    });
    const expected = sampleOutcome(a, 99);
    expect(m.start("A1")).toBe("ok");
    expect(m.start("A1")).toBe("busy");
    clock.advanceTo(10 + expected.durationTicks - 1);
    expect(m.state).toMatchObject({ running: true, done: false });
    clock.advanceTo(10 + expected.durationTicks);
    expect(m.state).toMatchObject({ running: false, done: true, quality: expected.quality });
  });

  it("applies a planned fault to the planned attempt only", () => {
    const clock = new SimulatedClock(0);
    const m = new EmulatedMachine({
      outcome: () => ({ durationMs: 4, quality: 1 }),
      faults: (_id, attempt) =>
        attempt === 1 ? { kind: "fault", code: 3, afterMs: 1 } : undefined,
      timers: clockTimers(clock, 1),
    });
    m.start("A1");
    clock.advanceTo(1);
    expect(m.state).toMatchObject({ running: false, faultCode: 3 });
    m.start("A1");
    expect(m.state.faultCode).toBe(0);
    clock.advanceTo(5);
    expect(m.state).toMatchObject({ done: true });
    expect(m.runs).toEqual(["A1", "A1"]);
  });
});
