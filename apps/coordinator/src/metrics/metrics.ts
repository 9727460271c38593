import type { CtaemsWorld } from "@consort/core";
import type { MessageStats } from "@consort/protocol";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Coordinator } from "../coordinator.js";
import type { CscCoordinator } from "../csc/csc-coordinator.js";

/**
 * The coordinator's Prometheus metrics, fed by its events: agents online, activities completed,
 * repairs by strategy and their latency, messages by type and direction, and drops by reason
 * (from the transport's own counts, read at scrape time).
 */
export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** The exposition text for `/metrics`. */
  text(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

export function coordinatorMetrics(
  coordinator: Coordinator,
  stats?: MessageStats,
): CoordinatorMetrics {
  const registry = new Registry();
  const online = new Map<string, boolean>();
  new Gauge({
    name: "consort_agents_online",
    help: "Agents whose last descriptor said online.",
    registers: [registry],
    collect() {
      this.set([...online.values()].filter(Boolean).length);
    },
  });
  const completed = new Counter({
    name: "consort_activities_completed_total",
    help: "Activities reported completed and recorded.",
    registers: [registry],
  });
  const repairs = new Counter({
    name: "consort_repairs_total",
    help: "Schedules installed on every affected agent, by the step that settled them.",
    labelNames: ["strategy"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "consort_repair_latency_seconds",
    help: "From what set a repair off to its schedule accepted by every affected agent.",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const messages = new Counter({
    name: "consort_messages_total",
    help: "Messages the coordinator sent (out) and took in (in), by type.",
    labelNames: ["type", "direction"],
    registers: [registry],
  });
  new Counter({
    name: "consort_messages_dropped_total",
    help: "Messages the coordinator's transport dropped, by reason.",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      if (!stats) return;
      this.reset();
      for (const [reason, n] of stats.dropped) this.inc({ reason }, n);
    },
  });
  const stop = coordinator.onEvent((e) => {
    switch (e.kind) {
      case "agent":
        online.set(e.agentId, e.online);
        break;
      case "done":
        completed.inc();
        break;
      case "repaired":
        repairs.inc({ strategy: e.strategy });
        latency.observe(e.latencyMs / 1000);
        break;
      case "message":
        messages.inc({ type: e.type, direction: e.direction });
        break;
      default:
        break;
    }
  });
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close: stop,
  };
}

/**
 * The C-TAEMS coordinator's Prometheus metrics: agents online, methods ended, the deliberative
 * scheduler's installs (its repairs) and escalations, messages by type and direction (from the
 * transport's counts at scrape time), and the root quality so far.
 */
export function cscCoordinatorMetrics(
  coordinator: CscCoordinator,
  rootQuality: () => number,
): CoordinatorMetrics {
  const registry = new Registry();
  const online = new Map<string, boolean>();
  let world: CtaemsWorld | undefined;
  new Gauge({
    name: "consort_agents_online",
    help: "Agents whose last descriptor said online.",
    registers: [registry],
    collect() {
      this.set([...online.values()].filter(Boolean).length);
    },
  });
  new Counter({
    name: "consort_activities_completed_total",
    help: "Methods that ended (ran to success or failure, or were aborted) in the current trial.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(world?.progress().executed.length ?? 0);
    },
  });
  new Gauge({
    name: "consort_root_quality",
    help: "Root quality of the task tree so far (CSC §2, on what has run).",
    registers: [registry],
    collect() {
      this.set(rootQuality());
    },
  });
  const repairs = new Counter({
    name: "consort_repairs_total",
    help: "Methods the deliberative scheduler installed on an agent (planned before the run, or at run time).",
    labelNames: ["strategy"],
    registers: [registry],
  });
  const escalations = new Counter({
    name: "consort_escalations_total",
    help: "Nodes agents escalated to the deliberative scheduler (probability below threshold).",
    registers: [registry],
  });
  new Counter({
    name: "consort_messages_total",
    help: "Messages the coordinator sent (out) and took in (in), by type.",
    labelNames: ["type", "direction"],
    registers: [registry],
    collect() {
      this.reset();
      const stats = coordinator.trafficStats;
      for (const [type, c] of stats.sent) this.inc({ type, direction: "out" }, c.messages);
      for (const [type, c] of stats.received) this.inc({ type, direction: "in" }, c.messages);
    },
  });
  const stop = coordinator.onEvent((e) => {
    if (e.kind === "agent") online.set(e.agentId, e.online);
    else if (e.kind === "trial") {
      world = e.world;
      // Methods planned before the run, in the schedule the agents were given.
      const before = new Set(
        e.initial.resources.flatMap((r) => r.activities.map((a) => a.activityId)),
      );
      for (const r of e.schedule.resources)
        for (const a of r.activities)
          if (!before.has(a.activityId)) repairs.inc({ strategy: "deliberative" });
    } else if (e.kind === "tick") world = e.world;
    else if (e.kind === "scheduler-out" && e.body.type === "install")
      repairs.inc({ strategy: "deliberative" });
    else if (e.kind === "scheduler-in") {
      if (e.body.type === "escalate") escalations.inc();
      else if (e.body.type === "summary") escalations.inc(e.body.escalations.length);
    }
  });
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close: stop,
  };
}
