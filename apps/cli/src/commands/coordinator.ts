import { Coordinator, executedSchedule } from "@consort/coordinator";
import { scheduleMetrics } from "@consort/core";
import { WallClock } from "@consort/edge-agent";
import { MqttTransport } from "@consort/protocol/mqtt";
import pino from "pino";
import { CliError, EXIT } from "../errors.js";
import { loadProblem } from "../load-problem.js";
import { untilSignal } from "../signals.js";
import { cscCoordinatorCommand } from "./coordinator-csc.js";
import { isCtaemsNetwork } from "./fleet.js";

export interface CoordinatorFlags {
  readonly scenario: string;
  readonly broker: string;
  readonly site: string;
  readonly username: string;
  readonly objective: "makespan" | "twt";
  readonly seed: number;
  readonly epochMs?: number;
  readonly tickMs: number;
  readonly waitAgents: number;
  /** C-TAEMS: where the run's result goes. */
  readonly report?: string;
}

/**
 * `consort coordinator`: the manager, planner and deliberative repair for a deployment, on the
 * wall clock shared with the agents (tick 0 at --epoch-ms, ticks of --tick-ms). It waits for the
 * scenario's agents, plans, installs, monitors and repairs until every activity is done.
 * The password comes from CONSORT_COORDINATOR_PASSWORD, never from a flag.
 */
export async function coordinatorCommand(
  flags: CoordinatorFlags,
  out: NodeJS.WriteStream,
): Promise<number> {
  const problem = await loadProblem(flags.scenario);
  if (isCtaemsNetwork(problem)) return cscCoordinatorCommand(problem, flags, out);
  const logger = pino({ level: process.env.CONSORT_LOG_LEVEL ?? "warn" });
  const password = process.env.CONSORT_COORDINATOR_PASSWORD;
  let transport: MqttTransport;
  try {
    transport = await MqttTransport.connect({
      url: flags.broker,
      clientId: flags.username,
      username: flags.username,
      ...(password ? { password } : {}),
      logger,
      connectTimeoutMs: 10_000,
    });
  } catch (error) {
    throw new CliError(
      `cannot reach the broker at ${flags.broker}: ${(error as Error).message}`,
      EXIT.software,
    );
  }
  const clock = new WallClock(flags.epochMs ?? Date.now(), flags.tickMs);
  const coordinator = new Coordinator(
    problem.model,
    transport,
    {
      site: flags.site,
      coordinatorId: flags.username,
      objective: flags.objective,
      seed: flags.seed,
      repairIterations: 1000,
      lockstep: false,
      clock,
    },
    logger,
  );
  await coordinator.start();
  const agents = problem.model.resources.map((r) => r.id);
  out.write(
    `consort coordinator: waiting for ${agents.length} agents (${agents.join(", ")}) at ${flags.broker}\n`,
  );
  try {
    await coordinator.waitForAgents(agents, flags.waitAgents * 1000);
  } catch (error) {
    await transport.close();
    clock.stop();
    throw new CliError((error as Error).message, EXIT.software);
  }
  coordinator.plan();
  out.write(`consort coordinator: plan installed at tick ${coordinator.nowTicks}; executing\n`);
  const outcome = await Promise.race([
    coordinator.finished.then(() => "finished" as const),
    untilSignal(),
  ]);
  await transport.close();
  clock.stop();
  const executed = coordinator.record.executed;
  const schedule = executedSchedule(problem.model, executed);
  const m = scheduleMetrics(problem.index, schedule);
  out.write(
    `consort coordinator: ${outcome === "finished" ? "all done" : `stopped on ${outcome}`}: ${executed.size}/${problem.index.activities.length} activities, makespan ${m.makespanTicks}, weighted tardiness ${m.totalWeightedTardiness}, ${coordinator.record.repairs.length} schedules installed\n`,
  );
  return EXIT.ok;
}
