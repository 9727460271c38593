import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "./clock.js";

describe("SimulatedClock", () => {
  it("runs timers by time, then by insertion order at the same tick", () => {
    const clock = new SimulatedClock();
    const seen: string[] = [];
    clock.at(5, () => seen.push("5a"));
    clock.at(2, () => seen.push("2a"));
    clock.at(5, () => seen.push("5b"));
    clock.at(2, () => seen.push("2b"));
    clock.at(9, () => seen.push("9"));
    clock.runUntil();
    expect(seen).toEqual(["2a", "2b", "5a", "5b", "9"]);
    expect(clock.now()).toBe(9);
  });

  it("reports the time of the timer it runs", () => {
    const clock = new SimulatedClock(10);
    const times: number[] = [];
    clock.at(12, () => times.push(clock.now()));
    clock.at(15, () => times.push(clock.now()));
    clock.runUntil();
    expect(times).toEqual([12, 15]);
  });

  it("runs a timer set in the past at the current tick, never inside `at`", () => {
    const clock = new SimulatedClock(7);
    const seen: number[] = [];
    clock.at(3, () => seen.push(clock.now()));
    expect(seen).toEqual([]);
    expect(clock.nextEventTime()).toBe(7);
    clock.step();
    expect(seen).toEqual([7]);
  });

  it("cancel removes a pending timer and ignores one that already ran", () => {
    const clock = new SimulatedClock();
    const seen: string[] = [];
    const a = clock.at(1, () => seen.push("a"));
    const b = clock.at(2, () => seen.push("b"));
    clock.at(1, () => clock.cancel(b));
    clock.at(3, () => seen.push("c"));
    clock.cancel(a);
    expect(clock.pendingCount).toBe(3);
    clock.runUntil();
    clock.cancel(a);
    expect(seen).toEqual(["c"]);
    expect(clock.pendingCount).toBe(0);
  });

  it("nextEventTime skips cancelled timers", () => {
    const clock = new SimulatedClock();
    const h = clock.at(1, () => {});
    clock.at(4, () => {});
    clock.cancel(h);
    expect(clock.nextEventTime()).toBe(4);
    expect(new SimulatedClock().nextEventTime()).toBeUndefined();
  });

  it("advanceTo runs everything due, including timers added meanwhile, then sets the time", () => {
    const clock = new SimulatedClock();
    const seen: string[] = [];
    clock.at(2, () => {
      seen.push("2");
      clock.at(4, () => seen.push("4 (added at 2)"));
      clock.at(20, () => seen.push("20"));
    });
    clock.at(5, () => seen.push("5"));
    expect(clock.advanceTo(5)).toBe(3);
    expect(seen).toEqual(["2", "4 (added at 2)", "5"]);
    expect(clock.now()).toBe(5);
    clock.advanceTo(10);
    expect(clock.now()).toBe(10);
    expect(seen).toHaveLength(3);
    expect(() => clock.advanceTo(9)).toThrow(RangeError);
  });

  it("step runs every timer of the next tick, including same-tick timers they add", () => {
    const clock = new SimulatedClock();
    const seen: string[] = [];
    clock.at(3, () => {
      seen.push("a");
      clock.at(3, () => seen.push("a+"));
    });
    clock.at(3, () => seen.push("b"));
    clock.at(6, () => seen.push("c"));
    expect(clock.step()).toBe(3);
    expect(seen).toEqual(["a", "b", "a+"]);
    expect(clock.step()).toBe(6);
    expect(clock.step()).toBeUndefined();
  });

  it("runUntil stops at the limit and leaves the clock at the last timer it ran", () => {
    const clock = new SimulatedClock();
    clock.at(3, () => {});
    clock.at(8, () => {});
    expect(clock.runUntil(5)).toBe(1);
    expect(clock.now()).toBe(3);
    expect(clock.nextEventTime()).toBe(8);
  });

  it("rejects a timer that can never fire", () => {
    const clock = new SimulatedClock();
    expect(() => clock.at(Number.NaN, () => {})).toThrow(RangeError);
    expect(() => clock.at(Number.POSITIVE_INFINITY, () => {})).toThrow(RangeError);
  });

  it("matches a sorted reference under random inserts and cancels (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ time: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
          maxLength: 300,
        }),
        (specs) => {
          const clock = new SimulatedClock();
          const seen: number[] = [];
          const handles = specs.map((s, i) => clock.at(s.time, () => seen.push(i)));
          specs.forEach((s, i) => {
            if (s.cancel) clock.cancel(handles[i]!);
          });
          clock.runUntil();
          const expected = specs
            .map((s, i) => ({ ...s, i }))
            .filter((s) => !s.cancel)
            .sort((a, b) => a.time - b.time || a.i - b.i)
            .map((s) => s.i);
          expect(seen).toEqual(expected);
        },
      ),
    );
  });
});
