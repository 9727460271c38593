import type { Schedule, TaskModel } from "@consort/core";

/** What really ran, as a schedule: each resource's runs in start order. */
export function executedSchedule(
  model: TaskModel,
  executed: Map<string, { resourceId: string; startTicks: number; endTicks: number }>,
): Schedule {
  return {
    version: 1,
    resources: model.resources.map((r) => ({
      resourceId: r.id,
      activities: [...executed.entries()]
        .filter(([, e]) => e.resourceId === r.id)
        .sort(([, a], [, b]) => a.startTicks - b.startTicks)
        .map(([activityId, e]) => ({
          activityId,
          startTicks: e.startTicks,
          durationTicks: e.endTicks - e.startTicks,
        })),
    })),
  };
}
