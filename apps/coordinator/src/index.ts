export { ClockMaster } from "./clock-master.js";
export { Coordinator, type CoordinatorOptions, type CoordinatorRecord } from "./coordinator.js";
export * from "./report/index.js";
