import pino, { type Logger } from "pino";
import { type AgentSettings, type HostedAgent, hostedAgents } from "./settings.js";

/** One hosted agent, either family. */
export interface HostedRunning {
  readonly agentId: string;
  close(): Promise<void>;
}

/** The agents one process runs. */
export interface RunningHost {
  readonly agents: readonly HostedRunning[];
  /** Graceful: every agent says offline, waits for the broker, closes. */
  close(): Promise<void>;
}

/** How many hosted agents connect at once when a process starts. */
const CONNECTS_AT_ONCE = 16;

/**
 * Starts the 1..N agents the settings name, of their family, each with its own MQTT connection
 * and identity and its own journal, sharing the event loop. If one cannot start, the ones already
 * started are closed and the error names the agent. `onFatal` hears of an agent that cannot go on
 * (a C-TAEMS agent given a bad setup, say); the program then stops.
 */
export async function runHost(
  settings: AgentSettings,
  logger: Logger = pino({ level: settings.logLevel }),
  onFatal: (agentId: string, error: Error) => void = (agentId, error) =>
    logger.fatal({ agentId, err: error }, "agent failed"),
): Promise<RunningHost> {
  const hosted = hostedAgents(settings);
  if (!hosted.ok) throw new Error(hosted.error);
  // Each family's code is loaded only by the processes that run it: a CAMPS agent stays small.
  const families = new Set(hosted.value.map((h) => h.family));
  const csc = families.has("ctaems") ? await import("./csc/run.js") : undefined;
  const camps = families.has("camps") ? await import("./camps/run.js") : undefined;
  const start = (h: HostedAgent): Promise<HostedRunning> =>
    h.family === "ctaems"
      ? csc!.runCscAgent(h, settings, logger, (error) => onFatal(h.agentId, error))
      : camps!.runCampsAgent(h, settings, logger);
  const started: HostedRunning[] = [];
  let next = 0;
  let failed: Error | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < hosted.value.length) {
      const h = hosted.value[next++]!;
      try {
        started.push(await start(h));
      } catch (error) {
        failed ??= new Error(
          hosted.value.length > 1
            ? `${h.agentId}: ${(error as Error).message}`
            : (error as Error).message,
        );
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(CONNECTS_AT_ONCE, hosted.value.length) }, worker),
  );
  const close = async () => {
    await Promise.all(started.map((a) => a.close()));
  };
  if (failed !== undefined) {
    await close().catch(() => {});
    throw failed;
  }
  return { agents: started, close };
}
