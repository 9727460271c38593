/**
 * CAMPS (seeds/camps-constraint-based-multiagent-planning-scheduling.txt): manager, planner and
 * scheduler-agent decisions, integration and conflict detection, the three repair strategies
 * named after the paper, the repair loop, the agent's own disruption repair, and deliberative
 * repair. Every function is pure: time and randomness are arguments.
 */
export * from "./answer-request.js";
export * from "./contract-net.js";
export * from "./deliberative-repair.js";
export * from "./execution-monitor.js";
export * from "./failover.js";
export * from "./fencing.js";
export * from "./in-process.js";
export * from "./integrate.js";
export * from "./inter-agent-constraint-adjustment.js";
export * from "./intra-agent-constraint-adjustment.js";
export * from "./local-repair.js";
export * from "./local-scheduler.js";
export * from "./manager.js";
export { activityPrecedences } from "./model-view.js";
export * from "./order-intake.js";
export * from "./planner-repair.js";
export * from "./planner-windows.js";
export * from "./planners.js";
export * from "./problem-adjustment.js";
export * from "./repair-loop.js";
export * from "./runtime-negotiation.js";
export * from "./runtime-repair.js";
export * from "./timeline.js";
export * from "./types.js";
export * from "./wait-for.js";
