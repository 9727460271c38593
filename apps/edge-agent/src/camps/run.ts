import { SimulatedClock } from "@consort/core/agent";
import { topics } from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Logger } from "pino";
import { WallClock } from "../clocks/wall-clock.js";
import { Journal } from "../journal.js";
import { connectPatiently } from "../session.js";
import {
  type AgentSettings,
  CONNECT_RETRY_SECONDS,
  deviceSettings,
  type HostedAgent,
} from "../settings.js";
import { SchedulerAgent } from "./agent.js";
import { DeviceResource } from "./device-resource.js";
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
  const device = deviceSettings(settings);
  if (!device.ok) throw new Error(device.error);
  if (!device.value && !hosted.simulation) {
    throw new Error(
      "no resource: set `simulation` (the simulated resource) or `environment` (a device adapter)",
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
  let resource: SimulatedResource | DeviceResource;
  if (device.value) {
    // Only the configured adapter (and its protocol library) is loaded.
    const { createEnvironment } = await import("@consort/hardware");
    const adapter = await createEnvironment(device.value, {
      resourceId: identity.resourceId,
      now: () => clock.now(),
      // Lock-step: the agent's clock decides when a run is overdue (DeviceResource), not wall time.
      ...(lockstep ? { runTimeoutMs: () => 24 * 3600_000 } : {}),
      log: (line) => logger.warn({ agentId: identity.agentId, device: device.value?.kind }, line),
    });
    resource = new DeviceResource(identity.resourceId, clock, adapter, {
      ...(hosted.simulation
        ? {
            trialKey: hosted.simulation.trialKey,
            overruns: hosted.simulation.disruptions.flatMap((d) =>
              d.kind === "overrun" ? [d] : [],
            ),
            breakdowns: hosted.simulation.disruptions.flatMap((d) =>
              d.kind === "breakdown" && d.resourceId === identity.resourceId ? [d] : [],
            ),
          }
        : {}),
      lockstep: lockstep !== undefined,
      stallGraceMs: 8000,
    });
  } else {
    const simulation = hosted.simulation!;
    resource = new SimulatedResource(
      identity.resourceId,
      clock,
      simulation.trialKey,
      simulation.disruptions,
    );
  }
  const epoch = SchedulerAgent.nextEpoch(journal.records);
  const will = makeMessage(
    "descriptor",
    identity.agentId,
    SchedulerAgent.descriptor(
      identity,
      "offline",
      epoch,
      SchedulerAgent.coordinatorEpochOf(journal.records),
    ),
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
    if (resource instanceof DeviceResource) await resource.close();
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
      ...(settings.maxAttempts !== undefined ? { maxAttempts: settings.maxAttempts } : {}),
      ...(resource instanceof DeviceResource ? { settle: () => resource.settle() } : {}),
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
      if (resource instanceof DeviceResource) await resource.close();
      if (clock instanceof WallClock) clock.stop();
      journal.close();
    },
  };
}
