import { Coordinator, executedSchedule } from "@consort/coordinator";
import { indexModel, scheduleMetrics } from "@consort/core";
import { WallClock } from "@consort/edge-agent";
import { MqttTransport } from "@consort/protocol/mqtt";
import pino from "pino";
import { CliError, EXIT } from "../errors.js";
import { loadProblem } from "../load-problem.js";
import { untilSignal } from "../signals.js";

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
    throw new CliError((error as Error).message, EXIT.software);
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
  try {
    await coordinator.start();
  } catch (error) {
    // A refused subscription (another site's broker): one line, and nothing left to hang on.
    await transport.drop();
    clock.stop();
    throw new CliError((error as Error).message, EXIT.software);
  }
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
  // The model as it ends: orders taken during the run added activities to the scenario's.
  const model = coordinator.currentModel;
  const index = indexModel(model);
  if (!index.ok)
    throw new CliError(`the final model does not index: ${index.error[0]?.message}`, EXIT.software);
  const total = index.value.activities.length;
  const m = scheduleMetrics(index.value, executedSchedule(model, executed));
  out.write(
    `consort coordinator: ${outcome === "finished" ? "all done" : `stopped on ${outcome}`}: ${executed.size}/${total} activities, makespan ${m.makespanTicks}, weighted tardiness ${m.totalWeightedTardiness}, ${coordinator.record.repairs.length} schedules installed\n`,
  );
  return EXIT.ok;
}
