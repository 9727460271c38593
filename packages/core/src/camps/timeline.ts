import type { Ticks } from "../model/types.js";
import type { Interval } from "./types.js";

/**
 * One resource's busy time as sorted, disjoint, non-empty half-open intervals. The helpers here
 * are the only place that decides whether a reservation collides with something, so the local
 * scheduler, local repair and deliberative repair all agree on it.
 */
export type Busy = readonly Interval[];

/** Sorts and merges intervals; empty ones (from >= until) block nothing and are dropped. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals
    .filter((i) => i.untilTicks > i.fromTicks)
    .map((i) => ({ fromTicks: i.fromTicks, untilTicks: i.untilTicks }))
    .sort((a, b) => a.fromTicks - b.fromTicks || a.untilTicks - b.untilTicks);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.fromTicks <= last.untilTicks) {
      out[out.length - 1] = {
        fromTicks: last.fromTicks,
        untilTicks: Math.max(last.untilTicks, i.untilTicks),
      };
    } else out.push(i);
  }
  return out;
}

/** Busy time plus one more interval. */
export function addBusy(busy: Busy, interval: Interval): Interval[] {
  return mergeIntervals([...busy, interval]);
}

/**
 * Whether a reservation [start, start + duration) meets a busy interval [from, until). A
 * zero-length reservation is an instant: it collides when it lies inside the interval. An empty
 * interval blocks nothing.
 */
export function collides(start: Ticks, duration: Ticks, interval: Interval): boolean {
  if (interval.untilTicks <= interval.fromTicks) return false;
  if (duration > 0) return start < interval.untilTicks && interval.fromTicks < start + duration;
  return interval.fromTicks <= start && start < interval.untilTicks;
}

/** Whether a reservation fits without meeting any busy interval. */
export function fitsAt(busy: Busy, start: Ticks, duration: Ticks): boolean {
  return !busy.some((i) => collides(start, duration, i));
}

/** The earliest start at or after `from` where a reservation of `duration` fits. */
export function earliestFit(busy: Busy, from: Ticks, duration: Ticks): Ticks {
  let start = from;
  for (const i of busy) {
    if (i.untilTicks <= start) continue;
    if (collides(start, duration, i)) start = i.untilTicks;
    else if (i.fromTicks >= start + Math.max(duration, 0)) break;
  }
  return start;
}

/** The free gaps of a busy timeline within [from, until) (until may be Infinity). */
export function gaps(busy: Busy, from: Ticks, until: Ticks): Interval[] {
  const out: Interval[] = [];
  let cursor = from;
  for (const i of busy) {
    if (i.untilTicks <= cursor) continue;
    if (i.fromTicks >= until) break;
    if (i.fromTicks > cursor) out.push({ fromTicks: cursor, untilTicks: i.fromTicks });
    cursor = Math.max(cursor, i.untilTicks);
  }
  if (cursor < until) out.push({ fromTicks: cursor, untilTicks: until });
  return out;
}

/**
 * How many integer starts in [earliest, latest] fit a reservation of `duration`: the size of an
 * operation's remaining choice, which the least-constraining heuristic tries to preserve.
 */
export function feasibleStarts(
  busy: Busy,
  earliest: Ticks,
  latest: Ticks,
  duration: Ticks,
): number {
  if (latest < earliest) return 0;
  let count = 0;
  for (const g of gaps(busy, earliest, latest + Math.max(duration, 1))) {
    const first = g.fromTicks;
    const last = Math.min(latest, g.untilTicks - Math.max(duration, 1));
    if (last >= first) count += last - first + 1;
  }
  return count;
}
