import { SimulatedClock } from "@consort/core/agent";
import { topics } from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Logger } from "pino";
import { WallClock } from "../clocks/wall-clock.js";
import { Journal } from "../journal.js";
import { connectPatiently } from "../session.js";
import { type AgentSettings, CONNECT_RETRY_SECONDS, type HostedAgent } from "../settings.js";
import { SchedulerAgent } from "./agent.js";
import { SimulatedResource } from "./sim-resource.js";

export interface RunningCampsAgent {
  readonly agentId: string;
  readonly agent: SchedulerAgent;
  /** Graceful: says offline, waits for the broker, closes. */
  close(): Promise<void>;
}

/** Starts one CAMPS scheduler agent: journal, clock, resource, broker session. */
export async function runCampsAgent(
  hosted: HostedAgent,
  settings: AgentSettings,
  logger: Logger,
): Promise<RunningCampsAgent> {
  if (!hosted.simulation) {
    throw new Error(
      "no resource adapter: set `simulation` (a hardware adapter is not available in this version)",
    );
  }
  const identity = {
    agentId: hosted.agentId,
    site: settings.site,
    resourceId: hosted.resourceId,
  };
  const journal = Journal.open(hosted.journal, { sync: settings.journalSync });
  const lockstep = settings.clock === "lockstep" ? new SimulatedClock(0) : undefined;
  const clock = lockstep ?? new WallClock(settings.epochMs, settings.tickMs);
  const resource = new SimulatedResource(
    identity.resourceId,
    clock,
    hosted.simulation.trialKey,
    hosted.simulation.disruptions,
  );
  const epoch = SchedulerAgent.nextEpoch(journal.records);
  const will = makeMessage(
    "descriptor",
    identity.agentId,
    SchedulerAgent.descriptor(identity, "offline", epoch),
    // Beyond any seq of the session and keyed by its epoch: not dropped as a repeat of seq 0.
    { seq: 2 ** 40, epoch, at: 0 },
  );
  let transport: MqttTransport;
  try {
    transport = await connectPatiently(
      {
        url: settings.broker,
        clientId: identity.agentId,
        clean: false,
        username: hosted.username,
        ...(hosted.password !== undefined ? { password: hosted.password } : {}),
        will: {
          topic: topics.agentState(identity.site, identity.agentId),
          message: will,
          retain: true,
        },
        logger,
        ...(settings.leaseMs !== undefined
          ? { keepaliveSeconds: Math.max(1, Math.floor(settings.leaseMs / 3000)) }
          : {}),
      },
      (settings.connectRetrySeconds ?? CONNECT_RETRY_SECONDS) * 1000,
    );
  } catch (error) {
    journal.close();
    throw error;
  }
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
    agentId: identity.agentId,
    agent,
    close: async () => {
      await agent.stop();
      await transport.close();
      if (clock instanceof WallClock) clock.stop();
      journal.close();
    },
  };
}
