import { createRequire } from "node:module";
import type { Clock, Ticks, TimerHandle } from "@consort/core/agent";
import type * as NodeSchedule from "node-schedule";

const require = createRequire(import.meta.url);
let nodeSchedule: typeof NodeSchedule | undefined;
/**
 * node-schedule (with cron-parser and luxon: about 0.8 MB of source, several MiB resident) is
 * loaded by the first timer that has to wait, not at import: an agent on lock-step simulated time
 * never needs it.
 */
const schedule = (): typeof NodeSchedule => {
  nodeSchedule ??= require("node-schedule") as typeof NodeSchedule;
  return nodeSchedule;
};

/**
 * The Clock port on the wall clock, for real deployments: tick 0 is `epochMs` and a tick lasts
 * `tickMs` milliseconds; timers are node-schedule jobs, so they fire at a wall-clock instant
 * (not after a delay that drifts when the board is busy).
 */
export class WallClock implements Clock {
  private next = 1;
  private readonly jobs = new Map<number, NodeSchedule.Job>();

  constructor(
    private readonly epochMs: number,
    private readonly tickMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    if (!(tickMs > 0)) throw new RangeError(`tickMs must be positive, not ${tickMs}`);
  }

  now(): Ticks {
    return Math.floor((this.nowMs() - this.epochMs) / this.tickMs);
  }

  at(time: Ticks, fn: () => void): TimerHandle {
    const id = this.next++;
    const when = new Date(this.epochMs + time * this.tickMs);
    const run = () => {
      this.jobs.delete(id);
      fn();
    };
    if (when.getTime() <= this.nowMs()) {
      queueMicrotask(run);
    } else {
      const job = schedule().scheduleJob(when, run);
      if (job) this.jobs.set(id, job);
      else queueMicrotask(run); // node-schedule declines dates it considers past
    }
    return { id };
  }

  cancel(handle: TimerHandle): void {
    this.jobs.get(handle.id)?.cancel();
    this.jobs.delete(handle.id);
  }

  /** Cancels every pending timer (on shutdown). */
  stop(): void {
    for (const job of this.jobs.values()) job.cancel();
    this.jobs.clear();
  }
}
