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
import {
  indexModel,
  type LeaseSeen,
  leaseLapsed,
  scheduleMetrics,
  takeoverEpoch,
} from "@consort/core";
import { WallClock } from "@consort/edge-agent";
import { type AnyMessage, parseTopic, topics } from "@consort/protocol";
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
  /** The leader's lease in milliseconds (renewed every third of it). */
  readonly leaseMs?: number;
  /** How long an agent may be offline before its unstarted work is reassigned. */
  readonly agentLeaseMs?: number;
  /** Wait as a standby: take over when the leader's lease lapses. */
  readonly standby?: boolean;
  /** Run-time repairs: distributed first (default) or central re-solves only. */
  readonly repair?: "distributed" | "central";
  /** How work changes hands at run time: contract net (default) or the central re-solve. */
  readonly reassignment?: "contract-net" | "central";
  /** Job shops: planners the manager balances jobs across (journalled with --journal). */
  readonly planners?: number;
}

/** The default lease: a standby takes over after this long without a renewal. */
export const DEFAULT_LEASE_MS = 3000;
/** The default agent lease: offline this long, an agent's unstarted work moves. */
export const DEFAULT_AGENT_LEASE_MS = 10_000;

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
  const planners = flags.planners ?? 1;
  if (isCtaemsNetwork(problem) && planners > 1)
    throw new CliError(
      `--planners ${planners}: several planners share a job shop's jobs; ${flags.scenario} is a C-TAEMS network`,
      EXIT.usage,
    );
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
  const leaseMs = flags.leaseMs ?? DEFAULT_LEASE_MS;
  const openJournal = (): CoordinatorJournal | undefined => {
    if (!flags.journal) return undefined;
    try {
      return FileJournal.open(flags.journal);
    } catch (error) {
      throw new CliError(`journal ${(error as Error).message}`, EXIT.dataError);
    }
  };
  if (flags.standby && !flags.journal)
    throw new CliError(
      "--standby needs --journal (the leader's journal it resumes from)",
      EXIT.usage,
    );
  // A standby reads the journal only when it takes over: until then the leader writes it.
  let journal = flags.standby ? undefined : openJournal();
  if (!flags.journal) say("no --journal: accepted orders and schedules will not survive a restart");
  const epoch = journal ? nextEpoch(journal.records) : 1;
  let transport: MqttTransport;
  try {
    transport = await MqttTransport.connect({
      url: flags.broker,
      // A standby logs in as the same user (the coordinator role) on a client id of its own.
      clientId: flags.standby ? `${flags.username}@standby` : flags.username,
      username: flags.username,
      ...(password ? { password } : {}),
      // With a journal, a persistent session: reports sent while it was down wait for it.
      clean: flags.journal === undefined,
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
  let minEpoch: number | undefined;
  let backlog: [AnyMessage, string, number][] = [];
  if (flags.standby) {
    const waited = await standBy(transport, flags.site, leaseMs, say);
    if (waited.signal) {
      await transport.close();
      clock.stop();
      say(`stopped on ${waited.signal} as a standby`);
      return EXIT.ok;
    }
    journal = openJournal();
    minEpoch = takeoverEpoch(waited.seenEpoch, journal ? nextEpoch(journal.records) : 1);
    backlog = waited.backlog;
  }
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
      leaseMs,
      agentLeaseMs: flags.agentLeaseMs ?? DEFAULT_AGENT_LEASE_MS,
      ...(flags.repair ? { runtimeRepair: flags.repair } : {}),
      ...(flags.reassignment ? { reassignment: flags.reassignment } : {}),
      ...(planners > 1 ? { planners } : {}),
      ...(minEpoch !== undefined ? { minEpoch } : {}),
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
    coordinator.stopLease();
    await dashboard?.close();
    await transport.close();
    clock.stop();
    journal?.close();
  };
  try {
    await coordinator.start(backlog);
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
  // Listening before saying the plan is out: whoever reads that line may stop us at once.
  const signalled = untilSignal();
  if (flags.standby) {
    if (coordinator.takeOver())
      say(`journalled schedule re-installed at tick ${coordinator.nowTicks}; executing`);
    else {
      coordinator.plan();
      say(`plan installed at tick ${coordinator.nowTicks}; executing`);
    }
  } else if (coordinator.resume())
    say(`schedule in force at tick ${coordinator.nowTicks}; executing`);
  else {
    coordinator.plan();
    say(`plan installed at tick ${coordinator.nowTicks}; executing`);
  }
  const cells = coordinator.planners?.report().planners;
  if (cells)
    say(
      `planners: ${cells.map((p) => `${p.id} ${p.jobs.length} jobs (${p.loadTicks} ticks of work)`).join(", ")}`,
    );
  say(`taking orders on ${topics.orders(flags.site)}`);
  const outcome = await Promise.race([
    ...(flags.exitWhenDone ? [coordinator.finished.then(() => "finished" as const)] : []),
    coordinator.steppedDown.then(() => "stepped down" as const),
    signalled,
  ]);
  await stop();
  if (outcome === "stepped down") return EXIT.ok;
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

/**
 * A standby's wait: it watches the leader's lease on the coordinator-state channel and returns
 * once it has lapsed (no renewal for longer than the lease, or the leader's last will), with
 * the highest epoch seen. Reports from the agents and orders arriving meanwhile are kept (the
 * last two leases' worth): those that reached a leader that was already frozen are handled by
 * the new one.
 */
async function standBy(
  transport: MqttTransport,
  site: string,
  leaseMs: number,
  say: (line: string) => void,
): Promise<{ seenEpoch: number; backlog: [AnyMessage, string, number][]; signal?: string }> {
  let seen: (LeaseSeen & { holder: string }) | undefined;
  let backlog: [AnyMessage, string, number, number][] = [];
  const states = new Map<string, [AnyMessage, string, number]>();
  let tookOver = false;
  transport.onMessage((message, topic, bytes) => {
    if (tookOver) return; // the coordinator has its own handler from then on
    const now = Date.now();
    const where = parseTopic(topic);
    // Another site's leases and reports (a persistent session's old subscriptions) are not ours.
    if (where?.site !== site) return;
    if (where.kind === "coordinator-state") {
      if (message.type !== "coordinator-state") return;
      const b = message.body;
      if (b.status === "online" && b.epoch >= (seen?.epoch ?? 0))
        seen = {
          epoch: b.epoch,
          leaseMs: b.leaseMs ?? leaseMs,
          renewedAtMs: now,
          holder: b.coordinatorId,
        };
      else if (b.status === "offline" && seen && b.coordinatorId === seen.holder)
        seen = { ...seen, released: true };
      return;
    }
    // Each agent's latest descriptor is kept however old: it is retained, so the coordinator's
    // own subscription would only bring it again as a repeat, which deduplication drops.
    if (message.type === "descriptor") {
      states.set(topic, [message, topic, bytes]);
      return;
    }
    backlog.push([message, topic, bytes, now]);
    const keep = now - 2 * leaseMs - 1000;
    if (backlog.length > 0 && backlog[0]![3] < keep) backlog = backlog.filter((m) => m[3] >= keep);
  });
  await transport.subscribe(topics.coordinatorState(site));
  await transport.subscribe(topics.filters.allAgentStates(site));
  await transport.subscribe(topics.filters.allAgentOut(site));
  await transport.subscribe(topics.orders(site));
  // Since when this standby has been hearing the channel: renewals it could not hear (its own
  // connection down, a broker restarting under both) say nothing about the leader.
  let listeningSince = Date.now();
  say(`standing by: taking over when the leader's lease (${leaseMs} ms) lapses`);
  let signal: string | undefined;
  const signalled = untilSignal().then((s) => {
    signal = s;
  });
  void signalled;
  for (;;) {
    if (signal) return { seenEpoch: seen?.epoch ?? 0, backlog: [], signal };
    const now = Date.now();
    if (!transport.connected) listeningSince = now;
    // At start and after a reconnection, give the lease time to arrive before counting its absence.
    if (now - listeningSince > leaseMs && leaseLapsed(seen, now)) {
      say(
        seen
          ? `taking over: the lease of ${seen.holder} (epoch ${seen.epoch}) ${seen.released ? "was released" : `lapsed ${now - seen.renewedAtMs} ms after its last renewal`}`
          : "taking over: no leader seen",
      );
      tookOver = true;
      return {
        seenEpoch: seen?.epoch ?? 0,
        backlog: [
          ...states.values(),
          ...backlog.map(([m, t, b]): [AnyMessage, string, number] => [m, t, b]),
        ],
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
