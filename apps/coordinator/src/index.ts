export { ClockMaster } from "./clock-master.js";
export {
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorRecord,
  repairsByLevel,
} from "./coordinator.js";
export * from "./csc/index.js";
export * from "./dashboard/index.js";
export { executedSchedule } from "./executed-schedule.js";
export {
  type CoordinatorJournal,
  CoordinatorJournalError,
  type CoordinatorJournalRecord,
  FileJournal,
  MemoryJournal,
  nextEpoch,
} from "./journal.js";
export * from "./metrics/index.js";
export { Planners } from "./planners.js";
export * from "./report/index.js";
