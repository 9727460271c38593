import { SimulatedClock } from "@consort/core/agent";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { loadSettings, type SettingsResult } from "@consort/protocol/settings";
import pino, { type Logger } from "pino";
import { SchedulerAgent } from "./agent.js";
import { Journal } from "./journal.js";
import { AGENT_DEFAULTS, AGENT_ENV, type AgentSettings, AgentSettingsSchema } from "./settings.js";
import { SimulatedResource } from "./sim-resource.js";
import { WallClock } from "./wall-clock.js";

export async function loadAgentSettings(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: Partial<AgentSettings>,
): Promise<SettingsResult<AgentSettings>> {
  const withJournal = { ...AGENT_DEFAULTS };
  return loadSettings(AgentSettingsSchema, withJournal, {
    ...(file !== undefined ? { file } : {}),
    env: { vars: env, names: AGENT_ENV },
    flags,
  });
}

export interface RunningAgent {
  readonly agent: SchedulerAgent;
  /** Graceful: says offline, waits for the broker, closes. */
  close(): Promise<void>;
}

/** Starts one scheduler agent from checked settings: journal, clock, resource, broker session. */
export async function runAgent(
  settings: AgentSettings,
  logger: Logger = pino({ level: settings.logLevel }),
  options: { readonly signal?: AbortSignal } = {},
): Promise<RunningAgent> {
  if (!settings.simulation) {
    throw new Error(
      "no resource adapter: set `simulation` (a hardware adapter is not available in this version)",
    );
  }
  const identity = {
    agentId: settings.agentId,
    site: settings.site,
    resourceId: settings.resourceId ?? settings.agentId,
  };
  const journal = Journal.open(settings.journal, { sync: settings.journalSync });
  const lockstep = settings.clock === "lockstep" ? new SimulatedClock(0) : undefined;
  const clock = lockstep ?? new WallClock(settings.epochMs, settings.tickMs);
  const resource = new SimulatedResource(
    identity.resourceId,
    clock,
    settings.simulation.trialKey,
    settings.simulation.disruptions,
  );
  const epoch = SchedulerAgent.nextEpoch(journal.records);
  const will = makeMessage(
    "descriptor",
    identity.agentId,
    SchedulerAgent.descriptor(identity, "offline", epoch),
    // Beyond any seq of the session and keyed by its epoch: not dropped as a repeat of seq 0.
    { seq: 2 ** 40, epoch, at: 0 },
  );
  const transport = await MqttTransport.connect({
    url: settings.broker,
    clientId: identity.agentId,
    clean: false,
    ...(settings.username !== undefined
      ? { username: settings.username }
      : { username: identity.agentId }),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    will: {
      topic: topics.agentState(identity.site, identity.agentId),
      message: will,
      retain: true,
    },
    logger,
    // A board may boot before its broker: keep trying, until told to stop.
    ...(settings.leaseMs !== undefined
      ? { keepaliveSeconds: Math.max(1, Math.floor(settings.leaseMs / 3000)) }
      : {}),
    retry: { maxDelayMs: 10_000, ...(options.signal ? { signal: options.signal } : {}) },
  });
  const agent = new SchedulerAgent(
    identity,
    {
      transport,
      journal,
      clock,
      resource,
      logger,
      ...(lockstep ? { lockstep } : {}),
      ...(settings.leaseMs !== undefined && !lockstep ? { leaseMs: settings.leaseMs } : {}),
    },
    settings.heuristic,
  );
  await agent.start();
  logger.info({ agentId: identity.agentId, epoch }, "agent online");
  return {
    agent,
    close: async () => {
      await agent.stop();
      await transport.close();
      if (clock instanceof WallClock) clock.stop();
      journal.close();
    },
  };
}
