export * from "./read-model.js";
export { type Dashboard, type DashboardOptions, parseHostPort, startDashboard } from "./server.js";
