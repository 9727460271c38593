/**
 * What a scheduler-agent process needs from the core: answering the planner's requests,
 * repairing its own schedule, the lock-step clock and the simulated outcomes of its activities.
 * `@consort/core/agent` loads only these modules and what they use, not the planner's solvers,
 * C-TAEMS, the importers or the scenario schema, which an agent never runs: a smaller process.
 * Everything here is also exported by `@consort/core`.
 */
export { answerRequest } from "./camps/answer-request.js";
export {
  type Bid,
  type BidAnswer,
  type BidCost,
  type BidderState,
  bidFor,
  type ContractCall,
  scheduleWithAward,
} from "./camps/contract-net.js";
export { type FenceVerdict, fenceEpoch } from "./camps/fencing.js";
export type { LocalRepairInput, LocalRepairResult } from "./camps/local-repair.js";
export { repairLocally } from "./camps/local-repair.js";
export type { LocalHeuristic } from "./camps/local-scheduler.js";
export type { RepairRequest } from "./camps/repair-loop.js";
export { answerRuntimeRequest } from "./camps/runtime-repair.js";
export type {
  Assignment,
  Interval,
  LocalSchedule,
  Slot,
  StartConstraint,
} from "./camps/types.js";
export { isStale } from "./camps/types.js";
export type { AgentSetup } from "./ctaems/setup.js";
export { parseAgentSetup } from "./ctaems/setup-parse.js";
export type * from "./model/types.js";
export type * from "./ports/index.js";
export { SimulatedClock } from "./simulation/clock.js";
export type { Disruption } from "./simulation/disruptions.js";
export { type SampledOutcome, sampleOutcome } from "./simulation/outcomes.js";
