export { ClockMaster } from "./clock-master.js";
export {
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorRecord,
} from "./coordinator.js";
export * from "./dashboard/index.js";
export {
  agentProgram,
  executedSchedule,
  type FleetOptions,
  type FleetResult,
  lockstepAgentSettings,
  runFleet,
} from "./fleet.js";
export {
  type CoordinatorJournal,
  CoordinatorJournalError,
  type CoordinatorJournalRecord,
  FileJournal,
  MemoryJournal,
  nextEpoch,
} from "./journal.js";
export * from "./metrics/index.js";
export * from "./report/index.js";
