import type { Ticks } from "../model/types.js";
import type { Clock, TimerHandle } from "../ports/clock.js";

interface Timer {
  readonly id: number;
  readonly time: Ticks;
  /** Insertion order: breaks ties between timers due at the same tick. */
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Earlier time first; at the same tick, earlier insertion first. */
const before = (a: Timer, b: Timer): boolean =>
  a.time < b.time || (a.time === b.time && a.seq < b.seq);

/**
 * A discrete-event clock (DESIGN.md "Ports": the Clock port, simulated). Time moves only when the
 * caller advances it; timers run in order of due time, then of insertion. A binary heap keeps
 * `at` and each timer run at O(log n), so one clock can drive runs with tens of thousands of
 * activities. Cancelled timers are dropped lazily when they reach the top of the heap.
 */
export class SimulatedClock implements Clock {
  #now: Ticks;
  #heap: Timer[] = [];
  #live = new Map<number, Timer>();
  #nextId = 1;
  #nextSeq = 0;

  constructor(startTicks: Ticks = 0) {
    if (!Number.isFinite(startTicks))
      throw new RangeError(`start time ${startTicks} is not finite`);
    this.#now = startTicks;
  }

  now(): Ticks {
    return this.#now;
  }

  /**
   * Runs `fn` once when the clock reaches `time`. A time already past is treated as now: the
   * timer runs at the current tick, after the timers already due then, never inside this call.
   */
  at(time: Ticks, fn: () => void): TimerHandle {
    if (Number.isNaN(time) || time === Number.POSITIVE_INFINITY)
      throw new RangeError(`timer time ${time} is not a finite tick`);
    const timer: Timer = {
      id: this.#nextId++,
      time: Math.max(time, this.#now),
      seq: this.#nextSeq++,
      fn,
      cancelled: false,
    };
    this.#live.set(timer.id, timer);
    this.#push(timer);
    return { id: timer.id };
  }

  /** Cancels a pending timer; cancelling one that already ran or was cancelled does nothing. */
  cancel(handle: TimerHandle): void {
    const timer = this.#live.get(handle.id);
    if (!timer) return;
    timer.cancelled = true;
    this.#live.delete(handle.id);
    // Rebuild when dead entries dominate, so a cancel-heavy run does not grow the heap unbounded.
    if (this.#heap.length > 64 && this.#live.size < this.#heap.length / 2) this.#compact();
  }

  /** Number of timers still pending. */
  get pendingCount(): number {
    return this.#live.size;
  }

  /** When the next pending timer is due; undefined when none is pending. */
  nextEventTime(): Ticks | undefined {
    return this.#top()?.time;
  }

  /**
   * Advances to the next tick that has a due timer and runs every timer due at it, including
   * timers those timers add for the same tick. Returns that tick, or undefined when none is pending.
   */
  step(): Ticks | undefined {
    const next = this.#top();
    if (!next) return undefined;
    const time = next.time;
    this.#runThrough(time);
    return time;
  }

  /**
   * Runs every timer due at or before `limitTicks` (default: all of them, until none is pending),
   * in order, including those added meanwhile. The clock stops at the last timer run; it does not
   * jump to the limit. Returns how many timers ran.
   */
  runUntil(limitTicks: Ticks = Number.POSITIVE_INFINITY): number {
    return this.#runThrough(limitTicks);
  }

  /**
   * Runs every timer due at or before `time`, then sets the clock to `time`. Returns how many
   * timers ran. Moving backwards is a programmer error.
   */
  advanceTo(time: Ticks): number {
    if (!Number.isFinite(time)) throw new RangeError(`cannot advance to ${time}`);
    if (time < this.#now)
      throw new RangeError(`cannot advance backwards from ${this.#now} to ${time}`);
    const ran = this.#runThrough(time);
    this.#now = time;
    return ran;
  }

  #runThrough(limit: Ticks): number {
    let ran = 0;
    for (let timer = this.#top(); timer && timer.time <= limit; timer = this.#top()) {
      this.#pop();
      this.#live.delete(timer.id);
      this.#now = timer.time;
      ran++;
      timer.fn();
    }
    return ran;
  }

  /** The earliest live timer, discarding cancelled ones on the way. */
  #top(): Timer | undefined {
    let top = this.#heap[0];
    while (top?.cancelled) {
      this.#pop();
      top = this.#heap[0];
    }
    return top;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(timer, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    this.#siftDown(0, last);
  }

  #siftDown(start: number, timer: Timer): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!before(c, timer)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = timer;
  }

  #compact(): void {
    const heap = this.#heap.filter((t) => !t.cancelled);
    this.#heap = heap;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i, heap[i]!);
  }
}
