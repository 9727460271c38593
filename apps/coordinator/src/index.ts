export { ClockMaster } from "./clock-master.js";
export { Coordinator, type CoordinatorOptions, type CoordinatorRecord } from "./coordinator.js";
export {
  agentProgram,
  executedSchedule,
  type FleetOptions,
  type FleetResult,
  lockstepAgentSettings,
  runFleet,
} from "./fleet.js";
export * from "./report/index.js";
