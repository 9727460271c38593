import fc from "fast-check";
import type { JobShopInstance } from "../model/jobshop.js";
import { jobShopIds } from "../model/jobshop.js";

/** Small random job shops: each job visits a random subset of machines in random order. */
export function jobShopArbitrary(
  options: { maxJobs?: number; maxMachines?: number; withDueDates?: boolean } = {},
) {
  const { maxJobs = 6, maxMachines = 5, withDueDates = true } = options;
  return fc.integer({ min: 1, max: maxMachines }).chain((machines) =>
    fc
      .array(
        fc.record({
          order: fc.shuffledSubarray(
            Array.from({ length: machines }, (_, m) => m),
            { minLength: 1 },
          ),
          durations: fc.array(fc.integer({ min: 1, max: 20 }), {
            minLength: machines,
            maxLength: machines,
          }),
          release: fc.integer({ min: 0, max: 30 }),
          slack: fc.integer({ min: 0, max: 80 }),
          weight: fc.integer({ min: 1, max: 5 }),
        }),
        { minLength: 1, maxLength: maxJobs },
      )
      .map(
        (jobs): JobShopInstance => ({
          name: "random",
          machineIds: Array.from({ length: machines }, (_, m) => jobShopIds.machine(m)),
          jobs: jobs.map((job, j) => {
            const operations = job.order.map((machine, k) => ({
              id: jobShopIds.operation(j, k),
              machine,
              durationTicks: job.durations[k]!,
            }));
            const work = operations.reduce((s, o) => s + o.durationTicks, 0);
            return {
              id: jobShopIds.job(j),
              operations,
              releaseTicks: job.release,
              ...(withDueDates ? { dueTicks: job.release + work + job.slack } : {}),
              weight: job.weight,
            };
          }),
        }),
      ),
  );
}

/**
 * A feasible schedule by list scheduling in a random (seeded) job order: each operation starts
 * when both its job and its machine are free. Independent of the solver on purpose.
 */
export function listSchedule(instance: JobShopInstance, jobOrder: readonly number[]): number[][] {
  const order = jobOrder.length > 0 ? jobOrder : instance.jobs.map((_, j) => j);
  const next = instance.jobs.map(() => 0);
  const jobFree = instance.jobs.map((j) => j.releaseTicks);
  const machineFree = instance.machineIds.map(() => 0);
  const starts = instance.jobs.map((j) => j.operations.map(() => -1));
  const remaining = instance.jobs.reduce((n, j) => n + j.operations.length, 0);
  let i = 0;
  for (let placed = 0; placed < remaining; i++) {
    // The chosen job, or the next one that still has operations left.
    let j = order[i % order.length]! % instance.jobs.length;
    while (next[j]! >= instance.jobs[j]!.operations.length) j = (j + 1) % instance.jobs.length;
    const k = next[j]!;
    const op = instance.jobs[j]!.operations[k]!;
    const start = Math.max(jobFree[j]!, machineFree[op.machine]!);
    starts[j]![k] = start;
    jobFree[j] = start + op.durationTicks;
    machineFree[op.machine] = start + op.durationTicks;
    next[j] = k + 1;
    placed++;
  }
  return starts;
}
