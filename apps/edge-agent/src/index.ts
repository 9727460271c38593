export {
  type AgentIdentity,
  type AgentPorts,
  type CampsCommand,
  OPEN_LATEST,
  SchedulerAgent,
  toWireConstraint,
} from "./camps/agent.js";
export { type RunningCampsAgent, runCampsAgent } from "./camps/run.js";
export { SimulatedResource } from "./camps/sim-resource.js";
export { WallClock } from "./clocks/wall-clock.js";
export { COORDINATOR_PEER, CscAgent, type CscInbound } from "./csc/agent.js";
export { type RunningCscAgent, runCscAgent } from "./csc/run.js";
export { type HostedRunning, type RunningHost, runHost } from "./host.js";
export {
  Journal,
  JournalError,
  type JournalledPeerMessage,
  type JournalRecord,
} from "./journal.js";
export {
  AGENT_DEFAULTS,
  AGENT_ENV,
  type AgentSettings,
  AgentSettingsSchema,
  type Family,
  type HostedAgent,
  hostedAgents,
  loadAgentSettings,
} from "./settings.js";

import { runHost } from "./host.js";
/** The agents a process runs, from its settings (one or several, either family). */
export const runAgent = runHost;
export type { RunningHost as RunningAgent } from "./host.js";
