import {
  Coordinator,
  type CoordinatorJournal,
  type Dashboard,
  executedSchedule,
  FileJournal,
  logCoordinatorEvents,
  nextEpoch,
  parseHostPort,
  processLogger,
  startDashboard,
} from "@consort/coordinator";
import { indexModel, scheduleMetrics } from "@consort/core";
import { WallClock } from "@consort/edge-agent";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { CliError, EXIT } from "../errors.js";
import { loadProblem } from "../load-problem.js";
import { untilSignal } from "../signals.js";
import { cscCoordinatorCommand } from "./coordinator-csc.js";
import { isCtaemsNetwork } from "./fleet.js";

/** The last will's sequence number: beyond any a session reaches. */
const WILL_SEQ = 2 ** 40;

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
  readonly journal?: string;
  readonly exitWhenDone?: boolean;
  /** C-TAEMS: where the run's result goes. */
  readonly report?: string;
  /** HOST:PORT of the dashboard, /metrics and reports. */
  readonly http?: string;
}

/**
 * `consort coordinator`: the manager, planner and deliberative repair for a deployment, on the
 * wall clock shared with the agents (tick 0 at --epoch-ms, ticks of --tick-ms). It waits for the
 * scenario's agents, plans, installs, monitors and repairs, and keeps serving (orders, repairs)
 * until SIGINT / SIGTERM, or until every activity is done with --exit-when-done. With --journal it
 * journals its commitments and, started again on the same journal, resumes where it stood.
 * The password comes from CONSORT_COORDINATOR_PASSWORD, never from a flag. With --http it serves
 * the dashboard; an operator with the token in CONSORT_OPERATOR_TOKEN may act from it.
 */
export async function coordinatorCommand(
  flags: CoordinatorFlags,
  out: NodeJS.WriteStream,
): Promise<number> {
  const problem = await loadProblem(flags.scenario);
  if (isCtaemsNetwork(problem)) return cscCoordinatorCommand(problem, flags, out);
  const logger = processLogger("coordinator");
  let http: { host: string; port: number } | undefined;
  try {
    http = flags.http !== undefined ? parseHostPort(flags.http) : undefined;
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage);
  }
  const password = process.env.CONSORT_COORDINATOR_PASSWORD;
  const say = (line: string) => out.write(`consort coordinator: ${line}\n`);
  let journal: CoordinatorJournal | undefined;
  if (flags.journal) {
    try {
      journal = FileJournal.open(flags.journal);
    } catch (error) {
      throw new CliError(`journal ${(error as Error).message}`, EXIT.dataError);
    }
  } else say("no --journal: accepted orders and schedules will not survive a restart");
  const epoch = journal ? nextEpoch(journal.records) : 1;
  let transport: MqttTransport;
  try {
    transport = await MqttTransport.connect({
      url: flags.broker,
      clientId: flags.username,
      username: flags.username,
      ...(password ? { password } : {}),
      // With a journal, a persistent session: reports sent while it was down wait for it.
      clean: journal === undefined,
      will: {
        topic: topics.coordinatorState(flags.site),
        message: makeMessage(
          "coordinator-state",
          flags.username,
          { coordinatorId: flags.username, status: "offline", epoch },
          // Not seq 0: that is the "online" state of this epoch, and live subscribers would drop
          // the will as its repeat.
          { seq: WILL_SEQ, at: Date.now(), epoch },
        ),
        retain: true,
      },
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
      ...(journal ? { journal } : {}),
      notify: say,
    },
    logger,
  );
  logCoordinatorEvents(coordinator, logger);
  let dashboard: Dashboard | undefined;
  if (http) {
    const token = process.env.CONSORT_OPERATOR_TOKEN;
    try {
      // Before start: the read model sees the agents' retained descriptors and the first plan.
      dashboard = await startDashboard(coordinator, {
        ...http,
        site: flags.site,
        stats: transport.stats,
        logger,
        ...(token ? { operatorToken: token } : {}),
      });
    } catch (error) {
      await transport.drop();
      clock.stop();
      journal?.close();
      throw new CliError(`--http ${flags.http}: ${(error as Error).message}`, EXIT.software);
    }
    say(
      `dashboard at ${dashboard.url}/ (${token ? "operator token from CONSORT_OPERATOR_TOKEN" : "read-only: no CONSORT_OPERATOR_TOKEN"}), metrics at ${dashboard.url}/metrics`,
    );
  }
  const stop = async () => {
    await dashboard?.close();
    await transport.close();
    clock.stop();
    journal?.close();
  };
  try {
    await coordinator.start();
  } catch (error) {
    // A refused subscription (another site's broker): one line, and nothing left to hang on.
    await dashboard?.close();
    await transport.drop();
    clock.stop();
    journal?.close();
    throw new CliError((error as Error).message, EXIT.software);
  }
  logger.info(
    { site: flags.site, broker: flags.broker, epoch: coordinator.sessionEpoch },
    "coordinator started",
  );
  const resumed = coordinator.resumed;
  if (resumed)
    say(
      `resumed from ${flags.journal} in epoch ${coordinator.sessionEpoch}: ${resumed.orders} orders, ${resumed.installed ? "a schedule installed" : "no schedule yet"}, ${resumed.done} activities done`,
    );
  const agents = problem.model.resources.map((r) => r.id);
  say(`waiting for ${agents.length} agents (${agents.join(", ")}) at ${flags.broker}`);
  try {
    await coordinator.waitForAgents(agents, flags.waitAgents * 1000);
  } catch (error) {
    await stop();
    throw new CliError((error as Error).message, EXIT.software);
  }
  if (coordinator.resume()) say(`schedule in force at tick ${coordinator.nowTicks}; executing`);
  else {
    coordinator.plan();
    say(`plan installed at tick ${coordinator.nowTicks}; executing`);
  }
  say(`taking orders on ${topics.orders(flags.site)}`);
  const outcome = await Promise.race([
    ...(flags.exitWhenDone ? [coordinator.finished.then(() => "finished" as const)] : []),
    untilSignal(),
  ]);
  await stop();
  // Counted on the model as it is now: accepted orders added activities to the scenario's.
  const model = coordinator.currentModel;
  const index = indexModel(model);
  const executed = coordinator.record.executed;
  const total = index.ok ? index.value.activities.length : executed.size;
  const m = index.ok ? scheduleMetrics(index.value, executedSchedule(model, executed)) : undefined;
  say(
    `${outcome === "finished" ? "all done" : `stopped on ${outcome}`}: ${executed.size}/${total} activities, makespan ${m?.makespanTicks ?? "?"}, weighted tardiness ${m?.totalWeightedTardiness ?? "?"}, ${coordinator.record.repairs.length} schedules installed`,
  );
  return EXIT.ok;
}
