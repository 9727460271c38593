export { logCoordinatorEvents } from "./log-events.js";
export { processLogger } from "./logger.js";
export { type CoordinatorMetrics, coordinatorMetrics, cscCoordinatorMetrics } from "./metrics.js";
