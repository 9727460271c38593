/**
 * What `consort fleet` writes after a run (JSON), and renders as HTML with a Gantt chart per
 * resource. Times are in ticks unless a name says otherwise.
 */
export interface FleetReport {
  readonly scenario: string;
  readonly seed: number;
  readonly site: string;
  readonly agents: number;
  /** Agent processes started (more than `agents` when one was killed and restarted). */
  readonly processes: number;
  readonly activities: number;
  readonly completed: number;
  readonly feasible: boolean;
  readonly violations: readonly string[];
  readonly endTicks: number;
  readonly wallSeconds: number;
  /** Simulated ticks per wall-clock second. */
  readonly ticksPerSecond: number;
  readonly objectives: Objectives;
  /** The reference: a heuristic solver run afterwards on what happened (not an optimum; the fleet can beat it). */
  readonly reference: Objectives & { readonly solverSeconds: number };
  readonly disruptions: readonly ReportDisruption[];
  readonly repairs: readonly ReportRepair[];
  /** Disruptions an agent repaired alone and reported as a deviation (no escalation). */
  readonly localRepairs: number;
  /** Disruptions an agent escalated to the planner (what it could not fix alone). */
  readonly escalations: number;
  /**
   * Where each run-time repair was settled (issue 15, distributed repair first): `local` the
   * agents' own repairs, then negotiated repair, contract net, problem adjustment, and a
   * central re-solve. Absent in reports of older runs.
   */
  readonly repairsByLevel?: {
    readonly local: number;
    readonly negotiated: number;
    readonly contractNet: number;
    readonly problemAdjustment: number;
    readonly central: number;
  };
  /** Each run-time repair past the agents' own, with the schedule churn it caused. */
  readonly runtimeRepairs?: readonly {
    readonly atTicks: number;
    readonly trigger: string;
    readonly level: string;
    /** Operations whose start or resource changed, whose order changed, that changed resource. */
    readonly churn: {
      readonly moved: number;
      readonly resequenced: number;
      readonly reassigned: number;
    };
  }[];
  /** Contract-net calls: the operation, its winner (absent: not awarded), bids and invitations. */
  readonly awards?: readonly {
    readonly atTicks: number;
    readonly activityId: string;
    readonly resourceId?: string;
    readonly bids: number;
    readonly invited: number;
  }[];
  readonly messages: number;
  readonly bytes: number;
  readonly perAgent: readonly AgentTraffic[];
  /**
   * The coordinator's own traffic (everything it sent and received), by message type and by
   * topic kind of the catalogue.
   */
  readonly coordinatorTraffic?: {
    readonly byType: Readonly<Record<string, TrafficFigure>>;
    readonly byTopic: Readonly<Record<string, TrafficFigure>>;
  };
  /** What ran, per activity. */
  readonly executed: readonly ExecutedBar[];
  /** Unavailable time per resource (breakdowns), drawn on the chart. */
  readonly downtime: readonly {
    readonly resourceId: string;
    readonly fromTicks: number;
    readonly untilTicks: number;
    readonly reason: string;
  }[];
  /** Jobs with their due dates and, once done, their end and lateness (ticks past due). */
  readonly jobs?: readonly ReportJob[];
  /** Rows of the Gantt chart in this order (resource or routing order); others follow. */
  readonly resourceOrder?: readonly string[];
  /** C-TAEMS: the task tree at the report's end, parents first. */
  readonly taskTree?: readonly ReportTreeNode[];
  /**
   * With several planners: each planner's cell (the resources its jobs may request), its jobs
   * and their work in ticks. Every job is on exactly one planner.
   */
  readonly planners?: readonly {
    readonly id: string;
    readonly resources: readonly string[];
    readonly jobs: readonly string[];
    readonly loadTicks: number;
  }[];
  /** With several planners: late jobs tried on another planner, and whether the move stood. */
  readonly jobMoves?: readonly {
    readonly jobId: string;
    readonly fromPlannerId: string;
    readonly toPlannerId: string;
    readonly reason: string;
    readonly accepted: boolean;
    readonly valueBefore: number;
    readonly valueAfter: number;
    /** A move at run time: when, and the disruption it settled. */
    readonly atTicks?: number;
    readonly trigger?: string;
  }[];
  /** With several planners: problem adjustment that moved no job prolonged these lead times. */
  readonly leadTimeExtensions?: readonly {
    readonly jobId: string;
    readonly plannerId: string;
    readonly dueTicks: number;
    readonly reason: string;
    readonly atTicks: number;
    readonly trigger: string;
  }[];
}

/** A node of a C-TAEMS task tree in a report: its odds, its weight to the root, its quality. */
export interface ReportTreeNode {
  readonly id: string;
  readonly depth: number;
  readonly kind: "task" | "activity";
  readonly qaf?: string;
  readonly owner?: string;
  readonly status: string;
  /** Probability of earning quality, as things stood. */
  readonly probability: number;
  /** Expected root quality if it succeeds minus if it earns nothing. */
  readonly criticality: number;
  readonly quality: number;
}

export interface ReportJob {
  readonly jobId: string;
  readonly dueTicks?: number;
  readonly endTicks?: number;
  readonly latenessTicks?: number;
}

export interface Objectives {
  readonly makespan: number;
  readonly totalWeightedTardiness: number;
  readonly meanLeadTime: number;
  readonly totalWait: number;
  /** Root quality of the task tree by its QAFs (higher is better; a job shop's: jobs finished). */
  readonly quality: number;
}

export interface ReportDisruption {
  /** `probability-drop`: a C-TAEMS node's odds of earning quality fell (a method failed, say). */
  readonly kind: "breakdown" | "overrun" | "rush-order" | "offline" | "probability-drop";
  readonly atTicks: number;
  readonly untilTicks?: number;
  readonly resourceId?: string;
  readonly activityId?: string;
  readonly detail: string;
}

export interface ReportRepair {
  readonly atTicks: number;
  /** What set it off: a disruption kind, or a conflict kind found at integration. */
  readonly trigger: string;
  /** Which CAMPS step settled it: intra-agent, inter-agent, problem adjustment, deliberative. */
  readonly strategy: string;
  readonly version: number;
  /** Wall time from the disruption report to the new schedule accepted by every affected agent. */
  readonly latencyMs: number;
  readonly affectedAgents: number;
}

export interface AgentTraffic {
  readonly agentId: string;
  readonly sent: number;
  readonly received: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface ExecutedBar {
  readonly resourceId: string;
  readonly activityId: string;
  /** The job (child of the root) the activity belongs to, for colouring. */
  readonly jobId: string;
  readonly startTicks: number;
  readonly endTicks: number;
  /** `failed`: cut short (a breakdown under it); `aborted`: stopped by a new schedule. */
  readonly status: "completed" | "failed" | "aborted";
  /** The quality its outcome gave, before the tree's rules (window, enablers). */
  readonly quality?: number;
}

/** Messages and bytes, sent and received. */
export interface TrafficFigure {
  readonly sent: number;
  readonly sentBytes: number;
  readonly received: number;
  readonly receivedBytes: number;
}
