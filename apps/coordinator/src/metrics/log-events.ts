import type { Logger } from "pino";
import type { Coordinator } from "../coordinator.js";

/**
 * What a person at the machine needs from the coordinator's log at `info`: agents coming and
 * going, completions, failures and escalations, repairs installed, orders taken or refused.
 */
export function logCoordinatorEvents(coordinator: Coordinator, logger: Logger): () => void {
  return coordinator.onEvent((e) => {
    switch (e.kind) {
      case "agent":
        logger.info(
          { agent: e.agentId, epoch: e.epoch },
          e.online ? "agent online" : "agent offline",
        );
        break;
      case "activity":
        if (e.event === "aborted")
          logger.warn(
            { agent: e.agentId, activity: e.activityId, at: e.atTicks },
            "activity aborted",
          );
        break;
      case "done":
        logger.info(
          { agent: e.resourceId, activity: e.activityId, start: e.startTicks, end: e.endTicks },
          "activity completed",
        );
        break;
      case "failure":
        logger.warn(
          {
            agent: e.agentId,
            cause: e.cause,
            from: e.fromTicks,
            until: e.untilTicks,
            activities: e.activityIds.length,
          },
          "escalation: the agent could not repair alone",
        );
        break;
      case "unavailable":
        logger.warn(
          { resource: e.resourceId, from: e.fromTicks, until: e.untilTicks, reason: e.reason },
          "resource down",
        );
        break;
      case "repaired":
        logger.info(
          { version: e.version, strategy: e.strategy, trigger: e.trigger, latencyMs: e.latencyMs },
          "repair installed",
        );
        break;
      case "order":
        if (e.accepted)
          logger.info({ order: e.orderId, from: e.from, jobs: e.jobs }, "order accepted");
        break;
      case "all-done":
        logger.info({ completed: e.completed, at: e.atTicks }, "all activities done");
        break;
      default:
        break;
    }
  });
}
