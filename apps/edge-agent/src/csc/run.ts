import { topics } from "@consort/protocol";
import { type MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import type { Logger } from "pino";
import { Journal } from "../journal.js";
import { connectPatiently } from "../session.js";
import { type AgentSettings, CONNECT_RETRY_SECONDS, type HostedAgent } from "../settings.js";
import { CscAgent } from "./agent.js";

export interface RunningCscAgent {
  readonly agentId: string;
  readonly agent: CscAgent;
  /** Graceful: says offline, waits for the broker, closes. */
  close(): Promise<void>;
  /** Ends the connection without a word, as a crash would (the broker sends the last will). */
  drop(): Promise<void>;
}

/**
 * Starts one C-TAEMS agent: its journal, a persistent MQTT session under its own identity with a
 * last will that says offline under the new session epoch, then the agent itself.
 */
export async function runCscAgent(
  hosted: HostedAgent,
  settings: AgentSettings,
  logger: Logger,
  onFatal: (error: Error) => void,
): Promise<RunningCscAgent> {
  const journal = Journal.open(hosted.journal, { sync: settings.journalSync });
  const { epoch, willSeq } = CscAgent.session(journal.records);
  const will = makeMessage(
    "descriptor",
    hosted.agentId,
    CscAgent.descriptor(hosted.agentId, "offline", epoch),
    { seq: willSeq, at: 0 },
  );
  let transport: MqttTransport;
  try {
    transport = await connectPatiently(
      {
        url: settings.broker,
        clientId: hosted.agentId,
        clean: false,
        username: hosted.username,
        ...(hosted.password !== undefined ? { password: hosted.password } : {}),
        will: {
          topic: topics.agentState(settings.site, hosted.agentId),
          message: will,
          retain: true,
        },
        logger,
      },
      (settings.connectRetrySeconds ?? CONNECT_RETRY_SECONDS) * 1000,
    );
  } catch (error) {
    journal.close();
    throw error;
  }
  const agent = new CscAgent(
    hosted.agentId,
    settings.site,
    {
      transport,
      journal,
      logger,
      onFatal,
    },
    willSeq,
  );
  try {
    await agent.start();
  } catch (error) {
    await transport.drop().catch(() => {});
    journal.close();
    throw error;
  }
  return {
    agentId: hosted.agentId,
    agent,
    close: async () => {
      await agent.stop();
      await transport.close();
      journal.close();
    },
    drop: async () => {
      await transport.drop();
      journal.close();
    },
  };
}
