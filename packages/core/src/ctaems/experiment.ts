import type { ModelIndex } from "../model/model-index.js";
import type { Schedule } from "../schedule/types.js";
import { type CtaemsAgent, SchedulerAgentCsc } from "./agent.js";
import { DeliberativeScheduler } from "./deliberative.js";
import {
  CtaemsWorld,
  type ModelChange,
  runTrial,
  type TrialOptions,
  type TrialResult,
  viewersOf,
} from "./engine.js";
import { releasedSchedule } from "./improve.js";
import { type AgentMode, type AgentSetup, buildSetups, type CommsPolicy } from "./setup.js";

/** The strategies a C-TAEMS benchmark compares (CSC §4 and §5). */
export type Strategy = "initial" | "bos" | "consort";

/** The address of the coordinator's deliberative scheduler in a run. */
export const DELIBERATIVE_ADDRESS = "~deliberative";

export interface StrategyOptions {
  /** Consort only: whether the coordinator's deliberative scheduler takes part (default on). */
  readonly deliberative?: boolean;
  readonly changes?: readonly ModelChange[];
  /** Consort only: the communication policy (default `DEFAULT_POLICY`). */
  readonly policy?: CommsPolicy;
  readonly departures?: TrialOptions["departures"];
  readonly measure?: TrialOptions["measure"];
}

const modeOf = (s: Strategy): AgentMode => (s === "consort" ? "csc" : s);

/**
 * The schedule a strategy's agents are given: Consort's coordinator hands out the initial
 * schedule with the changes its deliberative scheduler makes before the run
 * (`releasedSchedule`); the other strategies, and Consort without that scheduler, run it as it is.
 */
export function scheduleFor(
  index: ModelIndex,
  initial: Schedule,
  strategy: Strategy,
  options: StrategyOptions = {},
): Schedule {
  return strategy === "consort" && options.deliberative !== false
    ? releasedSchedule(index, initial)
    : initial;
}

/** Per-agent setups of a strategy: what each agent process is given before a run. */
export function setupsFor(
  index: ModelIndex,
  initial: Schedule,
  strategy: Strategy,
  options: StrategyOptions = {},
): Map<string, AgentSetup> {
  const deliberative = strategy === "consort" && options.deliberative !== false;
  return buildSetups(index, initial, {
    mode: modeOf(strategy),
    ...(deliberative ? { deliberative: DELIBERATIVE_ADDRESS } : {}),
    ...(strategy === "consort" && options.policy ? { policy: options.policy } : {}),
  });
}

/** The participants of one run: an agent per setup, plus the deliberative scheduler if any. */
export function participantsFor(
  index: ModelIndex,
  setups: ReadonlyMap<string, AgentSetup>,
  initial?: Schedule,
): CtaemsAgent[] {
  const agents: CtaemsAgent[] = [...setups.values()].map((s) => new SchedulerAgentCsc(s));
  const usesDeliberative = [...setups.values()].some((s) => s.deliberative !== undefined);
  if (usesDeliberative)
    agents.push(new DeliberativeScheduler(DELIBERATIVE_ADDRESS, index, initial ? { initial } : {}));
  return agents;
}

/** Runs one strategy on one trial (identified by its key) in-process. */
export function runStrategy(
  index: ModelIndex,
  initial: Schedule,
  strategy: Strategy,
  trialKey: number,
  options: StrategyOptions = {},
): TrialResult {
  const schedule = scheduleFor(index, initial, strategy, options);
  const setups = setupsFor(index, schedule, strategy, options);
  const world = new CtaemsWorld(
    index,
    trialKey,
    viewersOf(setups.values()),
    options.changes ?? [],
    lastPlannedStart(initial),
  );
  return runTrial(world, participantsFor(index, setups, schedule), {
    ...(options.departures ? { departures: options.departures } : {}),
    ...(options.measure ? { measure: options.measure } : {}),
  });
}

/** The latest planned start of a schedule (0 when empty). */
export function lastPlannedStart(schedule: Schedule): number {
  let last = 0;
  for (const rs of schedule.resources)
    for (const a of rs.activities)
      last = Math.max(last, a.startTicks ?? a.window?.earliestTicks ?? 0);
  return last;
}
