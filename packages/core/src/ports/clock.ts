import type { Ticks } from "../model/types.js";

/** A timer handle returned by `Clock.at`. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * The Clock port (DESIGN.md "Ports"): the only way anything reads or waits for time. The wall
 * clock schedules with node-schedule; the simulated clock is advanced by the simulation.
 * Time is in ticks; the clock says how long a tick is in milliseconds.
 */
export interface Clock {
  now(): Ticks;
  /** Runs `fn` once when the clock reaches `time` (at once, asynchronously, if it is past). */
  at(time: Ticks, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}
