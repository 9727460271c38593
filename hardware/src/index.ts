/**
 * Environment adapters for real devices, the hardware-in-the-loop rig, and the harness that
 * launches simulated fleets (agents as processes of the edge-agent program over a real broker).
 */
export * from "./harness/cluster.js";
export * from "./harness/csc-fleet.js";
export * from "./harness/fleet.js";
