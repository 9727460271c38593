import type {
  ActivityNode,
  Link,
  ModelNode,
  Resource,
  TaskModel,
  TaskNode,
} from "../../model/types.js";
import { createRng } from "../../random.js";
import type { ModelChange } from "../engine.js";
import { initialSchedule } from "./initial-schedule.js";
import { pad, threePointDuration, twoPointQuality } from "./shared.js";
import type { CtaemsScenario } from "./types.js";

/** Options of a C-TAEMS job shop with alternative machines and breakdowns. */
export interface JobShopScenarioOptions {
  /** Machines, one scheduler agent each. */
  readonly machines: number;
  readonly seed: number;
  /** Jobs; default one per machine. */
  readonly jobs?: number;
  /** Operations per job, in a chain; default 5. */
  readonly operations?: number;
  /** Breakdowns per 10 machines; default 2. */
  readonly breakdownsPer10?: number;
}

/** A job shop as a C-TAEMS problem, with the disruptions to play during a run. */
export interface JobShopScenario extends CtaemsScenario {
  /** Breakdowns: each one zeroes, announced to its machine, what that machine had planned during the outage. */
  readonly changes: readonly ModelChange[];
}

/** Id of machine `m` ("machine-007"). */
export const jobShopMachineId = (m: number, machines: number): string =>
  `machine-${pad(m, Math.max(3, String(machines - 1).length))}`;

/**
 * A flexible job shop with uncertain durations and breakdowns, in C-TAEMS terms, for fleet-scale
 * runs: every machine an agent; the root sums the jobs; a job is the min of its operations (it
 * counts only if all of them are done by its due date), with enables links chaining them; an
 * operation is the max of two methods on different machines, the initial schedule using one.
 * Durations are {d - 1, d, d + 2} with d in 5..15; a method succeeds with 93..100%; a job's value
 * is its weight (1, 2 or 4); due dates are 2.5x the chain's expected work after release.
 * Breakdowns: an outage of 15..30 ticks on a random machine; what the initial schedule had it
 * start during the outage yields nothing, and the machine's agent is told when it happens.
 * With the defaults there are 10 activities per machine, so 1,000 machines give 10,000.
 */
export function generateJobShopScenario(options: JobShopScenarioOptions): JobShopScenario {
  const { machines, seed } = options;
  if (!Number.isInteger(machines) || machines < 2)
    throw new RangeError(
      `generateJobShopScenario: machines must be an integer >= 2, got ${machines}`,
    );
  const jobs = options.jobs ?? machines;
  const operations = options.operations ?? 5;
  const rng = createRng(seed);
  const machineIds = Array.from({ length: machines }, (_, m) => jobShopMachineId(m, machines));
  const nodes: ModelNode[] = [];
  const links: Link[] = [];
  const jobIds: string[] = [];
  const width = Math.max(3, String(jobs - 1).length);
  for (let j = 0; j < jobs; j++) {
    const jr = rng.fork();
    const jobId = `job-${pad(j, width)}`;
    jobIds.push(jobId);
    const weight = [1, 2, 4][jr.int(0, 2)]!;
    const release = jr.int(0, 50);
    const opIds: string[] = [];
    const opNodes: ModelNode[] = [];
    let work = 0;
    for (let k = 0; k < operations; k++) {
      const opId = `${jobId}/op-${pad(k, 2)}`;
      const d = jr.int(5, 15);
      work += d + 0.25;
      const first = jr.int(0, machines - 1);
      const second = (first + jr.int(1, machines - 1)) % machines;
      const methods: ActivityNode[] = [first, second].map((m, a) => ({
        kind: "activity",
        id: `${opId}/${a === 0 ? "a" : "b"}`,
        resources: [machineIds[m]!],
        duration: threePointDuration(d - 1, d, d + 2),
        quality: twoPointQuality(weight, jr.int(93, 100)),
      }));
      const op: TaskNode = {
        kind: "task",
        id: opId,
        qaf: "max",
        children: methods.map((m) => m.id),
      };
      opNodes.push(op, ...methods);
      if (k > 0) links.push({ kind: "enables", from: opIds[k - 1]!, to: opId });
      opIds.push(opId);
    }
    nodes.push(
      {
        kind: "task",
        id: jobId,
        qaf: "min",
        children: opIds,
        releaseTicks: release,
        deadlineTicks: release + Math.ceil(2.5 * work),
      },
      ...opNodes,
    );
  }
  const resources: Resource[] = machineIds.map((id) => ({ id, kind: "machine" as const }));
  const name = `jobshop-m${machines}-s${seed}`;
  const model: TaskModel = {
    name,
    resources,
    root: "root",
    nodes: [{ kind: "task", id: "root", qaf: "sum", children: jobIds }, ...nodes],
    links,
  };
  const initial = initialSchedule(model);

  // Breakdowns, drawn after the model so that they do not change it.
  const br = rng.fork();
  const count = Math.round(((options.breakdownsPer10 ?? 2) * machines) / 10);
  const horizon = Math.max(
    ...initial.resources.flatMap((r) =>
      r.activities.map((a) => (a.startTicks ?? 0) + (a.durationTicks ?? 0)),
    ),
    1,
  );
  const changes: ModelChange[] = [];
  const hit = new Set<string>();
  for (let b = 0; b < count; b++) {
    const machine = machineIds[br.int(0, machines - 1)]!;
    const from = br.int(5, Math.max(6, Math.floor(horizon * 0.6)));
    const until = from + br.int(15, 30);
    for (const entry of initial.resources.find((r) => r.resourceId === machine)?.activities ?? []) {
      const start = entry.startTicks ?? 0;
      if (start < from || start >= until || hit.has(entry.activityId)) continue;
      hit.add(entry.activityId);
      changes.push({
        atTicks: from,
        nodeId: entry.activityId,
        quality: [{ value: 0, probability: 1 }],
        announced: true,
      });
    }
  }
  changes.sort((a, b) => a.atTicks - b.atTicks || (a.nodeId < b.nodeId ? -1 : 1));
  return {
    name,
    suite: "custom",
    model,
    initial,
    params: { machines, jobs, operations, seed, breakdowns: count },
    changes,
  };
}
