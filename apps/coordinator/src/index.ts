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
export {
  type CoordinatorJournal,
  CoordinatorJournalError,
  type CoordinatorJournalRecord,
  FileJournal,
  MemoryJournal,
  nextEpoch,
} from "./journal.js";
export * from "./report/index.js";
