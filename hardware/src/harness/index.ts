/**
 * The harness that launches simulated fleets and benchmark clusters: agents as processes of the
 * edge-agent program over a real broker, the coordinator in this process. A subpath of its own
 * (`@consort/hardware/harness`), so an agent that loads a device adapter loads none of it.
 */
export * from "./cluster.js";
export * from "./csc-fleet.js";
export * from "./fleet.js";
