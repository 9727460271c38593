import type { ModelIndex } from "../model/model-index.js";
import type { ActivityNode, Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";
import { activityPrecedences } from "./model-view.js";
import type { ResourceInterval, ResourceSlot } from "./types.js";

/**
 * The planner's execution monitor: what the reports of the agents mean for the next decisions.
 * Pure functions of the installed schedule and what is known to be done.
 */

/** An activity an agent reported completed, and where and when it really ran. */
export interface ReportedCompletion {
  readonly resourceId: string;
  readonly startTicks: Ticks;
  readonly endTicks: Ticks;
  readonly quality: number;
}

/**
 * What a repair at `nowTicks` must keep: completed operations where they really ran, and those
 * that have surely started. An operation has surely started when it was planned before now,
 * every predecessor is done, its resource is not down now, and everything planned before it on
 * its resource is done (a resource runs one operation at a time, in its schedule's order): it
 * started when the last of those ended, or at its planned start if that is later. One held back
 * by an overrun ahead of it has not started, whatever the plan said, and is not frozen at the
 * plan's stale time.
 */
export function frozenSlots(
  index: ModelIndex,
  installed: Schedule | undefined,
  executed: ReadonlyMap<string, ReportedCompletion>,
  unavailable: readonly ResourceInterval[],
  nowTicks: Ticks,
): ResourceSlot[] {
  const out: ResourceSlot[] = [];
  for (const [activityId, e] of executed)
    out.push({
      activityId,
      resourceId: e.resourceId,
      startTicks: e.startTicks,
      durationTicks: e.endTicks - e.startTicks,
    });
  if (!installed) return out;
  const { predecessors } = activityPrecedences(index);
  for (const r of installed.resources) {
    const down = unavailable.some(
      (u) => u.resourceId === r.resourceId && u.fromTicks <= nowTicks && nowTicks < u.untilTicks,
    );
    if (down) continue;
    const planned = r.activities
      .filter((a) => a.startTicks !== undefined)
      .sort((x, y) => (x.startTicks ?? 0) - (y.startTicks ?? 0));
    // When the resource was free of what it had done before: the first operation not done is
    // the only one that can be under way.
    let freeAt = 0;
    for (const a of planned) {
      const done = executed.get(a.activityId);
      if (done) {
        freeAt = Math.max(freeAt, done.endTicks);
        continue;
      }
      // Links into a task (a network's enables, a job's `after`) bind its activities too.
      const ends = (predecessors.get(a.activityId) ?? []).map((p) => executed.get(p)?.endTicks);
      if (ends.every((end): end is Ticks => end !== undefined)) {
        const startTicks = Math.max(a.startTicks ?? 0, freeAt, ...ends);
        if (startTicks < nowTicks)
          out.push({
            activityId: a.activityId,
            resourceId: r.resourceId,
            startTicks,
            durationTicks: a.durationTicks ?? 0,
          });
      }
      break;
    }
  }
  return out;
}

/** Who runs an activity: its resource in the installed schedule, else its first capable one. */
export function resourceOf(
  index: ModelIndex,
  installed: Schedule | undefined,
  activityId: string,
): string | undefined {
  const r = installed?.resources.find((x) => x.activities.some((a) => a.activityId === activityId));
  return r?.resourceId ?? (index.nodes.get(activityId) as ActivityNode | undefined)?.resources[0];
}

/**
 * The agents to tell that `activityId` is done (CSC §3.1.4 window sliding across agents): the
 * owners of the activities its links lead to (directly, or under a task they lead to), other than
 * the agent that reported it. Sorted, so the messages go out in a fixed order.
 */
export function enablerRecipients(
  index: ModelIndex,
  installed: Schedule | undefined,
  activityId: string,
  reporter: string,
): string[] {
  const out = new Set<string>();
  for (const link of index.linksFrom.get(activityId) ?? []) {
    for (const target of index.activities) {
      if (target.id !== link.to && !ancestorsOf(index, target.id).includes(link.to)) continue;
      const owner = resourceOf(index, installed, target.id);
      if (owner !== undefined && owner !== reporter) out.add(owner);
    }
  }
  return [...out].sort();
}

/** Work queued on each resource: the installed schedule's durations not yet done (the manager's load). */
export function queuedLoad(
  installed: Schedule | undefined,
  executed: ReadonlyMap<string, unknown>,
): Record<string, Ticks> {
  const load: Record<string, Ticks> = {};
  for (const r of installed?.resources ?? [])
    load[r.resourceId] = r.activities
      .filter((a) => !executed.has(a.activityId))
      .reduce((s, a) => s + (a.durationTicks ?? 0), 0);
  return load;
}

function ancestorsOf(index: ModelIndex, id: string): string[] {
  const out: string[] = [];
  for (let p = index.parent.get(id); p !== undefined; p = index.parent.get(p)) out.push(p);
  return out;
}

/** An agent's report that it completed an activity. */
export interface CompletionReport {
  readonly agentId: string;
  readonly activityId: string;
  /** When it ended. */
  readonly atTicks: Ticks;
  /** When it began (default: `atTicks`). */
  readonly startTicks?: Ticks;
  readonly quality?: number;
}

/** What the monitor asks of its shell on a completion, in this order. */
export type MonitorCommand =
  /** The first report of this completion: journal it, then record it. */
  | {
      readonly kind: "record";
      readonly activityId: string;
      readonly completion: ReportedCompletion;
    }
  /** Forward the report to this agent (it owns an activity the completion enables). */
  | { readonly kind: "forward"; readonly to: string }
  /** Nothing is left to run: every activity is done or cancelled. */
  | { readonly kind: "all-done" };

/**
 * The execution monitor's step on a completion report: `(state, report) → commands`. A repeat
 * is not recorded again but still forwarded (the earlier forward may be what was lost).
 */
export function monitorCompletion(
  state: {
    readonly index: ModelIndex;
    readonly installed: Schedule | undefined;
    readonly executed: ReadonlyMap<string, ReportedCompletion>;
    readonly cancelled: ReadonlySet<string>;
  },
  report: CompletionReport,
): MonitorCommand[] {
  const commands: MonitorCommand[] = [];
  const first = !state.executed.has(report.activityId);
  if (first)
    commands.push({
      kind: "record",
      activityId: report.activityId,
      completion: {
        resourceId: report.agentId,
        startTicks: report.startTicks ?? report.atTicks,
        endTicks: report.atTicks,
        quality: report.quality ?? 0,
      },
    });
  for (const to of enablerRecipients(
    state.index,
    state.installed,
    report.activityId,
    report.agentId,
  ))
    commands.push({ kind: "forward", to });
  const remaining = state.index.activities.some(
    (a) => a.id !== report.activityId && !state.executed.has(a.id) && !state.cancelled.has(a.id),
  );
  if (!remaining) commands.push({ kind: "all-done" });
  return commands;
}
