import { performance } from "node:perf_hooks";
import {
  checkSchedule,
  evaluateQuality,
  executionOfSchedule,
  type JobShopObjective,
  operationCount,
  type Schedule,
  scheduleFromJobShop,
  scheduleMetrics,
  solveJobShop,
} from "@consort/core";
import { CliError, EXIT } from "../errors.js";
import { asJobShop, FORMAT_NAMES, type InputFormat, loadProblem } from "../load-problem.js";
import { solveProgress } from "../progress.js";

export interface SolveFlags {
  readonly format?: InputFormat;
  readonly objective: JobShopObjective;
  readonly timeLimit: number;
  readonly seed: number;
  readonly iterations?: number;
  readonly json: boolean;
}

/** `consort solve FILE`: the reference solver on one problem, checked and measured. */
export async function solveCommand(
  file: string,
  flags: SolveFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const problem = await loadProblem(file, flags.format);
  const instance = asJobShop(problem);
  const timeLimitMs = flags.timeLimit * 1000;
  const progress = solveProgress(err, timeLimitMs, flags.iterations === undefined);
  const started = performance.now();
  const solution = solveJobShop(instance, {
    objective: flags.objective,
    seed: flags.seed,
    timeLimitMs,
    now: () => performance.now(),
    onProgress: (p) => progress.update(p),
    ...(flags.iterations !== undefined ? { maxIterations: flags.iterations } : {}),
  });
  progress.stop();
  const seconds = (performance.now() - started) / 1000;

  // The solver's answer is checked by the independent checker and metrics, not taken on trust.
  const schedule = scheduleFromJobShop(instance, solution.starts);
  const violations = checkSchedule(problem.index, schedule, { requireAll: true });
  const metrics = scheduleMetrics(problem.index, schedule);
  const measured =
    flags.objective === "makespan" ? metrics.makespanTicks : metrics.totalWeightedTardiness;
  if (measured !== solution.value) {
    throw new CliError(
      `internal error: the solver reports ${solution.value} but its schedule measures ${measured}`,
      EXIT.software,
    );
  }
  const rootQuality = evaluateQuality(
    problem.index,
    executionOfSchedule(problem.index, schedule),
  ).rootQuality;

  const report = {
    instance: instance.name,
    source: problem.source,
    format: problem.format,
    jobs: instance.jobs.length,
    machines: instance.machineIds.length,
    operations: operationCount(instance),
    objective: flags.objective,
    value: solution.value,
    feasible: violations.length === 0,
    violations: violations.map((v) => v.reason),
    seconds: Math.round(seconds * 1000) / 1000,
    seed: flags.seed,
    iterations: solution.iterations,
    stopReason: solution.stopReason,
    lowerBound: solution.lowerBound,
    initialValue: solution.initialValue,
    metrics: {
      makespan: metrics.makespanTicks,
      totalWeightedTardiness: metrics.totalWeightedTardiness,
      meanLeadTime: metrics.meanLeadTimeTicks,
      totalWait: metrics.totalWaitTicks,
      meanWip: metrics.meanWip,
      utilization: metrics.utilization,
    },
    rootQuality,
    schedule: scheduleRows(schedule),
  };
  if (flags.json) {
    out.write(`${JSON.stringify(report)}\n`);
  } else {
    out.write(humanReport(report, FORMAT_NAMES[problem.format], schedule));
  }
  return violations.length === 0 ? EXIT.ok : EXIT.software;
}

function scheduleRows(schedule: Schedule) {
  return schedule.resources.map((r) => ({
    resource: r.resourceId,
    activities: r.activities.map((a) => ({
      id: a.activityId,
      start: a.startTicks!,
      end: a.startTicks! + a.durationTicks!,
    })),
  }));
}

type Report = {
  instance: string;
  jobs: number;
  machines: number;
  operations: number;
  objective: string;
  value: number;
  feasible: boolean;
  violations: string[];
  seconds: number;
  seed: number;
  iterations: number;
  stopReason: string;
  lowerBound: number;
  initialValue: number;
  metrics: {
    makespan: number;
    totalWeightedTardiness: number;
    meanLeadTime: number;
    totalWait: number;
    meanWip: number;
    utilization: Record<string, number>;
  };
  rootQuality: number;
};

const pct = (x: number) => `${Math.round(x * 100)}%`;
const num = (x: number) => (Number.isInteger(x) ? x.toLocaleString("en") : x.toFixed(1));

function humanReport(r: Report, formatName: string, schedule: Schedule): string {
  const lines: string[] = [];
  lines.push(
    `${r.instance}: ${r.jobs} jobs x ${r.machines} machines, ${r.operations} operations (${formatName})`,
  );
  const proof =
    r.value === r.lowerBound
      ? "; equals the lower bound: optimal"
      : `; lower bound ${num(r.lowerBound)}`;
  lines.push(
    `  ${r.objective.padEnd(10)} ${num(r.value)}  (best dispatch rule ${num(r.initialValue)}${proof})`,
  );
  lines.push(`  feasible   ${r.feasible ? "yes" : `NO: ${r.violations.length} violations`}`);
  for (const v of r.violations.slice(0, 10)) lines.push(`    - ${v}`);
  lines.push(
    `  search     ${num(r.iterations)} iterations in ${r.seconds.toFixed(2)} s, seed ${r.seed}, stopped: ${r.stopReason}`,
  );
  const m = r.metrics;
  lines.push(
    `  measures   makespan ${num(m.makespan)}, weighted tardiness ${num(m.totalWeightedTardiness)}, mean lead time ${num(m.meanLeadTime)}, wait ${num(m.totalWait)} (mean WIP ${m.meanWip.toFixed(2)}), root quality ${num(r.rootQuality)}`,
  );
  lines.push(
    `  use        ${Object.entries(m.utilization)
      .map(([id, u]) => `${id} ${pct(u)}`)
      .join(", ")}`,
  );
  lines.push("", "schedule (activity@start-end):");
  const width = Math.max(...schedule.resources.map((x) => x.resourceId.length));
  for (const res of schedule.resources) {
    const cells = res.activities.map(
      (a) => `${a.activityId}@${a.startTicks}-${a.startTicks! + a.durationTicks!}`,
    );
    lines.push(`  ${res.resourceId.padEnd(width)}  ${cells.join(" ")}`);
  }
  return `${lines.join("\n")}\n`;
}
