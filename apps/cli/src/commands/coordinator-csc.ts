import { writeFileSync } from "node:fs";
import {
  CscCoordinator,
  cscOutcome,
  type Dashboard,
  parseHostPort,
  startCscDashboard,
} from "@consort/coordinator";
import { createRng, initialScheduleOf, trialKey } from "@consort/core";
import { MqttTransport } from "@consort/protocol/mqtt";
import { type Static, Type } from "@sinclair/typebox";
import pino from "pino";
import { CliError, EXIT } from "../errors.js";
import type { LoadedProblem } from "../load-problem.js";
import { untilSignal } from "../signals.js";

/**
 * `consort coordinator --config FILE`: the settings of a coordinator (JSON or YAML); flags given
 * on the command line win over the file. The password is never here: CONSORT_COORDINATOR_PASSWORD.
 */
export const CoordinatorSettingsSchema = Type.Object(
  {
    scenario: Type.String({ minLength: 1 }),
    broker: Type.String({ pattern: "^(mqtt|mqtts|ws|wss|tcp)://" }),
    site: Type.String({ minLength: 1 }),
    username: Type.String({ minLength: 1 }),
    objective: Type.Union([Type.Literal("makespan"), Type.Literal("twt")]),
    /** CAMPS: the repair solver's seed; C-TAEMS: the seed of the run's trial key. */
    seed: Type.Integer({ minimum: 0 }),
    epochMs: Type.Optional(Type.Integer({ minimum: 0 })),
    tickMs: Type.Number({ exclusiveMinimum: 0 }),
    /** How long to wait for the agents, seconds. */
    waitAgents: Type.Number({ exclusiveMinimum: 0 }),
    /** C-TAEMS: where the run's result goes (JSON: quality, what ran, refused decisions). */
    report: Type.Optional(Type.String({ minLength: 1 })),
    /** CAMPS: the journal of commitments; started again on it, the coordinator resumes. */
    journal: Type.Optional(Type.String({ minLength: 1 })),
    /** HOST:PORT of the dashboard, /metrics and reports. */
    http: Type.Optional(Type.String({ minLength: 1 })),
    /** CAMPS: the leader's lease, ms (renewed every third of it). */
    leaseMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** CAMPS: how long an agent may be offline before its unstarted work is reassigned, ms. */
    agentLeaseMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** CAMPS: wait as a standby and take over when the leader's lease lapses. */
    standby: Type.Optional(Type.Boolean()),
    /** CAMPS: exit once every activity is done, instead of serving on. */
    exitWhenDone: Type.Optional(Type.Boolean()),
    /** CAMPS: run-time repairs distributed first (default) or central re-solves only. */
    repair: Type.Optional(Type.Union([Type.Literal("distributed"), Type.Literal("central")])),
    /** CAMPS: how work changes hands at run time: contract net (default) or the central re-solve. */
    reassignment: Type.Optional(
      Type.Union([Type.Literal("contract-net"), Type.Literal("central")]),
    ),
    /** CAMPS job shops: planners the manager balances jobs across. Default 1. */
    planners: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  },
  { additionalProperties: true },
);
export type CoordinatorSettings = Static<typeof CoordinatorSettingsSchema>;

/**
 * The C-TAEMS side of `consort coordinator` for a deployment, on the wall clock: it waits for the
 * network's agents (started separately with `consort agent`, family ctaems), gives each its setup,
 * and runs one trial of Consort (trial key from the seed) as clock master, simulated world and
 * deliberative scheduler. A tick opens every --tick-ms whether or not the agents answered, so an
 * agent that dies and comes back finds the run where time has taken it.
 */
export async function cscCoordinatorCommand(
  problem: LoadedProblem,
  flags: Pick<
    CoordinatorSettings,
    "broker" | "site" | "username" | "seed" | "tickMs" | "waitAgents" | "report" | "http"
  >,
  out: NodeJS.WriteStream,
): Promise<number> {
  const logger = pino({ level: process.env.CONSORT_LOG_LEVEL ?? "warn" });
  const password = process.env.CONSORT_COORDINATOR_PASSWORD;
  const say = (line: string) => out.write(`consort coordinator: ${line}\n`);
  let http: { host: string; port: number } | undefined;
  try {
    http = flags.http !== undefined ? parseHostPort(flags.http) : undefined;
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage);
  }
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
  const { index } = problem;
  const csc = new CscCoordinator(index, initialScheduleOf(index), transport, {
    site: flags.site,
    coordinatorId: flags.username,
    // Above any sequence number an earlier life of this coordinator used.
    seqBase: Date.now(),
  });
  let dashboard: Dashboard<unknown> | undefined;
  try {
    // Before the agents are awaited: the read model sees them come online.
    if (http) {
      dashboard = await startCscDashboard(csc, { ...http, site: flags.site }).catch(
        (error: Error) => {
          throw new CliError(`--http ${flags.http}: ${error.message}`, EXIT.software);
        },
      );
      say(
        `dashboard at ${dashboard.url}/ (read-only: a C-TAEMS run takes no orders), metrics at ${dashboard.url}/metrics`,
      );
    }
    transport.onMessage((m, topic) => csc.receive(m, topic));
    for (const filter of csc.subscriptions()) await transport.subscribe(filter);
    const agents = csc.agents("consort");
    say(
      `C-TAEMS network ${problem.model.name}: waiting for ${agents.length} agents (${agents.join(", ")}) at ${flags.broker}`,
    );
    await csc.waitForAgents(agents, flags.waitAgents * 1000);
    const key = trialKey(createRng(flags.seed));
    say(`running Consort on the wall clock, ${flags.tickMs} ms ticks, seed ${flags.seed}`);
    const run = csc.run("consort", 0, key, { clock: { kind: "wall", tickMs: flags.tickMs } });
    const outcome = await Promise.race([run, untilSignal()]);
    if (typeof outcome === "string") {
      say(`stopped on ${outcome}`);
      csc.fail(new Error(`stopped on ${outcome}`));
      await run.catch(() => {});
      return EXIT.ok;
    }
    const r = outcome;
    const o = cscOutcome(index, r.executed, r.aborted, r.ticks, r.world.finished(r.ticks));
    if (flags.report)
      writeFileSync(
        flags.report,
        `${JSON.stringify(
          {
            scenario: problem.model.name,
            seed: flags.seed,
            trialKey: key,
            activities: o.activities,
            completed: o.completed,
            breakdown: o.breakdown,
            feasible: o.feasible,
            violations: o.violations,
            objectives: { quality: r.rootQuality },
            messages: r.traffic.messages,
            lateAnswers: r.lateAnswers,
            refused: r.refused,
            executed: r.executed,
            endTicks: r.ticks,
          },
          null,
          2,
        )}\n`,
      );
    say(
      `all done at tick ${r.ticks}: ${o.completed}/${o.activities} methods final, quality ${r.rootQuality}, feasible ${o.feasible ? "yes" : `NO (${o.violations.slice(0, 3).join("; ")})`}${r.refused.length ? `, ${r.refused.length} decisions refused` : ""}`,
    );
    return o.feasible && o.completed === o.activities ? EXIT.ok : EXIT.software;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, EXIT.software);
  } finally {
    await dashboard?.close();
    await transport.close();
  }
}
