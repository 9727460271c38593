import type { TaskModel } from "../../model/types.js";
import type { Schedule } from "../../schedule/types.js";

/**
 * One generated C-TAEMS problem (CSC §5): the task network, the initial static schedule the
 * agent team is handed at t = 1 (CSC §2, last paragraph), and what the generator drew.
 */
export interface CtaemsScenario {
  /** E.g. "backup-w3", "random-nle-low-fail-high-ov2". */
  readonly name: string;
  readonly suite: "backup" | "random" | "custom";
  /** A valid model: `indexModel(model)` succeeds. */
  readonly model: TaskModel;
  /**
   * The initial schedule: one `ResourceSchedule` per agent that has scheduled activities, each
   * entry with `startTicks`, `durationTicks` (expected duration, rounded up) and priority 2.
   */
  readonly initial: Schedule;
  /** What the generator drew, or the class of the scenario, for reports. */
  readonly params: Readonly<Record<string, number | string>>;
}
