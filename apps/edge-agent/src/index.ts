export { type AgentIdentity, type AgentPorts, SchedulerAgent } from "./agent.js";
export { Journal, JournalError, type JournalRecord } from "./journal.js";
export { loadAgentSettings, type RunningAgent, runAgent } from "./run.js";
export { AGENT_DEFAULTS, AGENT_ENV, type AgentSettings, AgentSettingsSchema } from "./settings.js";
export { SimulatedResource } from "./sim-resource.js";
export { WallClock } from "./wall-clock.js";
