export * from "./csc-read-model.js";
export * from "./read-model.js";
export {
  type Dashboard,
  type DashboardOptions,
  parseHostPort,
  startCscDashboard,
  startDashboard,
} from "./server.js";
