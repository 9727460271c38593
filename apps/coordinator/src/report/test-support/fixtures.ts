/** Synthetic fleet reports for tests and for the example page. */
import type { ExecutedBar, FleetReport } from "../types.js";

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE: Omit<FleetReport, "executed" | "downtime" | "disruptions" | "repairs" | "perAgent"> = {
  scenario: "workshop-small",
  seed: 42,
  site: "hall-a",
  agents: 4,
  processes: 5,
  activities: 0,
  completed: 0,
  feasible: true,
  violations: [],
  endTicks: 0,
  wallSeconds: 3.25,
  ticksPerSecond: 184.6,
  objectives: {
    makespan: 600,
    totalWeightedTardiness: 1250,
    meanLeadTime: 312.5,
    totalWait: 4200,
    quality: 3,
  },
  reference: {
    makespan: 500,
    totalWeightedTardiness: 1000,
    meanLeadTime: 290,
    totalWait: 3900,
    quality: 4,
    solverSeconds: 2.5,
  },
  messages: 1234,
  bytes: 567890,
  localRepairs: 1,
  escalations: 1,
};

/**
 * A small report: `resources` machines, jobs routed through them one after the other, one
 * downtime interval, a failed activity, disruptions and repairs, and a hostile activity id.
 */
export function smallReport(): FleetReport {
  const resources = ["M1", "M2", "M3", "drill-<b>", "R1", "R2"];
  const random = rng(7);
  const free = new Map<string, number>(resources.map((r) => [r, 0]));
  const executed: ExecutedBar[] = [];
  for (let j = 1; j <= 8; j++) {
    let ready = Math.floor(random() * 40);
    const ops = 3 + Math.floor(random() * 3);
    for (let o = 1; o <= ops; o++) {
      const resourceId = resources[Math.floor(random() * resources.length)]!;
      const start = Math.max(ready, free.get(resourceId)!);
      const end = start + 15 + Math.floor(random() * 60);
      free.set(resourceId, end);
      ready = end;
      executed.push({
        resourceId,
        activityId: j === 3 && o === 2 ? "<script>alert(1)</script>" : `J${j}-op${o}`,
        jobId: `job-${j}`,
        startTicks: start,
        endTicks: end,
        status: j === 5 && o === 1 ? "failed" : "completed",
      });
    }
  }
  const endTicks = Math.max(...executed.map((b) => b.endTicks));
  return {
    ...BASE,
    activities: executed.length + 2,
    completed: executed.length - 1,
    endTicks,
    executed,
    downtime: [
      { resourceId: "M2", fromTicks: 120, untilTicks: 180, reason: "spindle jam <&>" },
      { resourceId: "R1", fromTicks: 40, untilTicks: 70, reason: "battery swap" },
    ],
    disruptions: [
      { kind: "breakdown", atTicks: 120, untilTicks: 180, resourceId: "M2", detail: "spindle jam" },
      { kind: "overrun", atTicks: 210, activityId: "J4-op2", detail: "took 30% longer" },
      { kind: "rush-order", atTicks: 260, detail: "job-8 priority raised to 5" },
      { kind: "offline", atTicks: 300, untilTicks: 330, resourceId: "R2", detail: "agent killed" },
    ],
    repairs: [
      {
        atTicks: 120,
        trigger: "breakdown",
        strategy: "intra-agent",
        version: 2,
        latencyMs: 12.5,
        affectedAgents: 1,
      },
      {
        atTicks: 210,
        trigger: "overrun",
        strategy: "inter-agent",
        version: 3,
        latencyMs: 48,
        affectedAgents: 2,
      },
      {
        atTicks: 260,
        trigger: "rush-order",
        strategy: "deliberative",
        version: 4,
        latencyMs: 230,
        affectedAgents: 4,
      },
    ],
    perAgent: [
      { agentId: "agent-M1", sent: 300, received: 310, bytesSent: 140000, bytesReceived: 150000 },
      { agentId: "agent-M2", sent: 280, received: 290, bytesSent: 130000, bytesReceived: 135000 },
      { agentId: "agent-R1", sent: 150, received: 160, bytesSent: 60000, bytesReceived: 62000 },
      { agentId: "planner", sent: 504, received: 474, bytesSent: 237890, bytesReceived: 220890 },
    ],
  };
}

/** A big report: `resources` rows and `bars` activities spread evenly over them. */
export function bigReport(resources: number, bars: number): FleetReport {
  const random = rng(11);
  const perRow = Math.ceil(bars / resources);
  const executed: ExecutedBar[] = [];
  for (let i = 0; i < bars; i++) {
    const row = i % resources;
    const slot = Math.floor(i / resources);
    const start = slot * 100 + Math.floor(random() * 20);
    executed.push({
      resourceId: `resource-${row}`,
      activityId: `job-${i % 700}/op-${slot}`,
      jobId: `job-${i % 700}`,
      startTicks: start,
      endTicks: start + 40 + Math.floor(random() * 40),
      status: random() < 0.01 ? "failed" : "completed",
    });
  }
  const downtime = Array.from({ length: 200 }, (_, i) => ({
    resourceId: `resource-${(i * 7) % resources}`,
    fromTicks: (i % perRow) * 100,
    untilTicks: (i % perRow) * 100 + 50,
    reason: "breakdown",
  }));
  return {
    ...BASE,
    scenario: "big",
    agents: resources,
    processes: resources,
    activities: bars,
    completed: bars,
    endTicks: perRow * 100,
    executed,
    downtime,
    disruptions: downtime.map((d) => ({
      kind: "breakdown" as const,
      atTicks: d.fromTicks,
      untilTicks: d.untilTicks,
      resourceId: d.resourceId,
      detail: d.reason,
    })),
    repairs: Array.from({ length: 200 }, (_, i) => ({
      atTicks: i * 5,
      trigger: "breakdown",
      strategy: "intra-agent",
      version: i + 2,
      latencyMs: 10 + i,
      affectedAgents: 1 + (i % 3),
    })),
    perAgent: Array.from({ length: resources }, (_, i) => ({
      agentId: `agent-${i}`,
      sent: 10,
      received: 12,
      bytesSent: 1000,
      bytesReceived: 1200,
    })),
  };
}
