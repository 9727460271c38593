import type { JobShopInstance } from "../model/jobshop.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "./types.js";

/**
 * The schedule of a job-shop solution in the model's terms: each machine's operations in start
 * order with their fixed starts. `starts[j][k]` is the start of operation k of job j.
 */
export function scheduleFromJobShop(
  instance: JobShopInstance,
  starts: readonly (readonly Ticks[])[],
  version = 1,
): Schedule {
  const perMachine: { activityId: string; startTicks: Ticks; durationTicks: Ticks }[][] =
    instance.machineIds.map(() => []);
  instance.jobs.forEach((job, j) => {
    job.operations.forEach((op, k) => {
      const start = starts[j]?.[k];
      if (start === undefined) throw new Error(`scheduleFromJobShop: no start for ${op.id}`);
      perMachine[op.machine]?.push({
        activityId: op.id,
        startTicks: start,
        durationTicks: op.durationTicks,
      });
    });
  });
  return {
    version,
    resources: instance.machineIds.map((resourceId, m) => ({
      resourceId,
      activities: (perMachine[m] ?? []).sort((a, b) => a.startTicks - b.startTicks),
    })),
  };
}
