import { descendantActivities, effectiveRelease, type ModelIndex } from "../model/model-index.js";
import { type SubjectiveView, subjectiveView } from "../model/subjective-view.js";
import type { Ticks } from "../model/types.js";
import type { Schedule } from "../schedule/types.js";

/** How an agent decides (CSC §3 and §4). */
export type AgentMode =
  /** Runs the initial schedule and nothing else; no messages. */
  | "initial"
  /** Benchmark Opportunistic Scheduler: the best local decision, no communication. */
  | "bos"
  /** Criticality-sensitive coordination: profiles, window sliding, opportunistic, downgrader. */
  | "csc";

/**
 * A communication policy (how much agents say, and to whom), configurable per deployment:
 *
 * - `broadcast: "always"`: every profile to every sharer at every tick, and every enabler notice
 *   again at every tick (the baseline);
 * - `broadcast: "selective"`: a profile only when it moved by more than `threshold` since the
 *   last one sent (its potential by 4x that, its values by that fraction);
 * - `silence`: deviations only, nothing to say "still as I said": an escalation is said once and
 *   repeated only when the node's probability fell further by `threshold` (without silence it is
 *   repeated every 4 ticks while the node stays below its bar). Liveness comes from the broker
 *   (keep-alive and last will), not from messages;
 * - `cellSize`: hierarchical clustering: agents form cells of this many; each cell's leader
 *   (its least member still present, so the next one takes over when it leaves) gathers its
 *   members' escalations and answers and sends the coordinator one summary per tick.
 *
 * This is the policy as data (it travels in a setup); `commsStrategy` builds the strategy an
 * agent asks (`AlwaysBroadcast` or `SelectiveBroadcast`, wrapped in `Silence` and `Cells`).
 */
export interface CommsPolicy {
  readonly name: string;
  readonly broadcast: "always" | "selective";
  readonly threshold: number;
  readonly silence: boolean;
  readonly cellSize?: number;
}

/** What agents do unless told otherwise: selective broadcasting with policy-driven silence. */
export const DEFAULT_POLICY: CommsPolicy = {
  name: "selective+silence",
  broadcast: "selective",
  threshold: 0.05,
  silence: true,
};

/** One method of the initial schedule, as its owner receives it. */
export interface InitialEntry {
  readonly activityId: string;
  readonly startTicks: Ticks;
}

/** Methods that must start at the same tick on several agents (a syncsum's planned children). */
export interface SyncGroup {
  readonly id: string;
  readonly members: readonly { readonly agentId: string; readonly activityId: string }[];
}

/**
 * Everything one agent process is given at the start of a run: its subjective view, its part of
 * the initial schedule, and the directory of whom to tell what. Nothing here describes nodes the
 * agent cannot see; the directory holds agent ids only.
 */
export interface AgentSetup {
  readonly agentId: string;
  readonly mode: AgentMode;
  readonly view: SubjectiveView;
  readonly initial: readonly InitialEntry[];
  /**
   * For each task of the agent's ancestry, whom to tell about its children: the task's steward
   * (its least owner) tells every other owner everything it knows; the others tell the steward.
   */
  readonly sharers: Readonly<Record<string, readonly string[]>>;
  /** Enables sources this agent announces (it is their steward), with the agents to tell. */
  readonly notify: Readonly<Record<string, readonly string[]>>;
  readonly syncGroups: readonly SyncGroup[];
  /**
   * The starts other agents plan under a syncsum this agent also has children of (synchronized
   * or one agent's alone): one of its own started ahead of them would take their quality away.
   */
  readonly othersSyncGroups?: readonly SyncGroup[];
  /**
   * The other agents' children of the syncsums this agent has children of, each with its owner:
   * whom to meet for a synchronized start planned since the initial schedule (an install).
   */
  readonly syncsumOwners?: Readonly<Record<string, string>>;
  /** How much it says (default `DEFAULT_POLICY`). */
  readonly policy?: CommsPolicy;
  /** Its cell, when the policy forms cells: every member, in leadership order. */
  readonly cell?: readonly string[];
  /** The deliberative scheduler's address, when there is one, and the tasks this agent watches. */
  readonly deliberative?: {
    readonly address: string;
    /** Task id → probability threshold below which this agent escalates it. */
    readonly watch: Readonly<Record<string, number>>;
  };
}

export interface SetupOptions {
  readonly mode: AgentMode;
  /** Address of the deliberative scheduler; absent: no deliberative repair. */
  readonly deliberative?: string;
  readonly policy?: CommsPolicy;
}

/** Owners (agents) of the activities under each node. */
function ownersByNode(index: ModelIndex): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  for (const a of index.activities) {
    const owner = a.resources[0];
    if (owner === undefined) continue;
    for (let n: string | undefined = a.id; n !== undefined; n = index.parent.get(n)) {
      const set = owners.get(n) ?? new Set<string>();
      owners.set(n, set);
      set.add(owner);
    }
  }
  return owners;
}

const depthOf = (index: ModelIndex, id: string): number => {
  let d = 0;
  for (let n = index.parent.get(id); n !== undefined; n = index.parent.get(n)) d++;
  return d;
};

/**
 * The deliberative threshold of a task (CSC §3.2.2: set by its place in the tree). A child of a
 * min must succeed for its parent to, so it is held to a high bar; deeper nodes matter less to
 * the root than shallow ones, so the bar eases with depth.
 */
export function deliberativeThreshold(index: ModelIndex, id: string): number {
  const parent = index.parent.get(id);
  const parentNode = parent === undefined ? undefined : index.nodes.get(parent);
  const underMin = parentNode?.kind === "task" && parentNode.qaf === "min";
  const base = underMin ? 0.8 : 0.5;
  return Math.max(0.3, base - 0.05 * Math.max(0, depthOf(index, id) - 1));
}

/**
 * Cuts the per-agent setups of a run from the whole model (the coordinator's job before a run):
 * subjective views, initial schedule entries, sharers, enabler stewards and watchers, and the
 * synchronized groups of the initial schedule.
 */
export function buildSetups(
  index: ModelIndex,
  initial: Schedule,
  options: SetupOptions,
): Map<string, AgentSetup> {
  const owners = ownersByNode(index);
  const agents = [...index.resourceIds].filter((r) => owners.get(index.model.root)?.has(r)).sort();
  const ownerOf = (activityId: string): string | undefined =>
    index.nodes.get(activityId)?.kind === "activity"
      ? (index.nodes.get(activityId) as { resources: readonly string[] }).resources[0]
      : undefined;

  const initialByAgent = new Map<string, InitialEntry[]>();
  const plannedStart = new Map<string, Ticks>();
  for (const rs of initial.resources)
    for (const sa of rs.activities) {
      const owner = ownerOf(sa.activityId);
      const start = sa.startTicks ?? sa.window?.earliestTicks;
      if (owner === undefined || start === undefined) continue;
      plannedStart.set(sa.activityId, start);
      const list = initialByAgent.get(owner) ?? [];
      list.push({ activityId: sa.activityId, startTicks: start });
      initialByAgent.set(owner, list);
    }

  // Synchronized groups: the planned children of a syncsum that share a planned start.
  const syncGroups: SyncGroup[] = [];
  // Every planned start under a syncsum, one agent's alone included: another owner's child
  // started ahead of it would leave it nothing to earn. (One agent's start at the syncsum's
  // release is left out: a child started then joins it, as one planned as early as possible.)
  const syncsumStarts: SyncGroup[] = [];
  for (const node of index.model.nodes) {
    if (node.kind !== "task" || node.qaf !== "syncsum") continue;
    const byStart = new Map<Ticks, { agentId: string; activityId: string }[]>();
    for (const c of node.children) {
      const start = plannedStart.get(c);
      const owner = ownerOf(c);
      if (start === undefined || owner === undefined) continue;
      const list = byStart.get(start) ?? [];
      list.push({ agentId: owner, activityId: c });
      byStart.set(start, list);
    }
    for (const [start, members] of byStart) {
      const several = new Set(members.map((m) => m.agentId)).size > 1;
      if (several || start > effectiveRelease(index, node.id))
        syncsumStarts.push({ id: node.id, members });
      if (several) syncGroups.push({ id: node.id, members });
    }
  }

  // Enables: the steward of a source (least owner id under it) tells the target owners.
  const notifyByAgent = new Map<string, Record<string, string[]>>();
  for (const link of index.model.links) {
    if (link.kind !== "enables") continue;
    const steward = [...(owners.get(link.from) ?? [])].sort()[0];
    if (steward === undefined) continue;
    const targets =
      index.nodes.get(link.to)?.kind === "activity"
        ? [link.to]
        : descendantActivities(index, link.to);
    const record = notifyByAgent.get(steward) ?? {};
    const set = new Set(record[link.from] ?? []);
    for (const t of targets) {
      const o = ownerOf(t);
      if (o !== undefined) set.add(o);
    }
    record[link.from] = [...set].sort();
    notifyByAgent.set(steward, record);
  }

  const cellSize = options.policy?.cellSize;
  const position = new Map(agents.map((a, i) => [a, i] as const));
  const cellOf = (agentId: string): string[] | undefined => {
    if (cellSize === undefined || cellSize < 2) return undefined;
    const k = Math.floor(position.get(agentId)! / cellSize);
    return agents.slice(k * cellSize, (k + 1) * cellSize);
  };
  // Sorted owners of a task, once per task: the root is owned by every agent, and sorting its
  // owners again for each of them would make cutting the setups quadratic in the fleet.
  const sortedOwners = new Map<string, string[]>();
  const ownersSorted = (id: string): string[] => {
    let all = sortedOwners.get(id);
    if (!all) {
      all = [...(owners.get(id) ?? [])].sort();
      sortedOwners.set(id, all);
    }
    return all;
  };
  // Owners with methods of the initial schedule under each task.
  const planners = new Map<string, Set<string>>();
  for (const activityId of plannedStart.keys()) {
    const owner = ownerOf(activityId);
    if (owner === undefined) continue;
    for (let n = index.parent.get(activityId); n !== undefined; n = index.parent.get(n)) {
      const set = planners.get(n) ?? new Set<string>();
      planners.set(n, set);
      set.add(owner);
    }
  }
  const watchers = new Map<string, string | undefined>();
  const watcherOf = (id: string): string | undefined => {
    if (!watchers.has(id))
      watchers.set(id, [...(planners.get(id) ?? [])].sort()[0] ?? ownersSorted(id)[0]);
    return watchers.get(id);
  };
  const syncGroupsOf = new Map<string, SyncGroup[]>();
  for (const g of syncGroups)
    for (const agentId of new Set(g.members.map((m) => m.agentId))) {
      const list = syncGroupsOf.get(agentId);
      if (list) list.push(g);
      else syncGroupsOf.set(agentId, [g]);
    }
  const ownerOfSyncsum = (g: SyncGroup, agentId: string): boolean => {
    const node = index.nodes.get(g.id);
    return node?.kind === "task" && node.children.some((c) => ownerOf(c) === agentId);
  };
  // Per agent, the other agents' children of the syncsums it has children of, with their owners.
  const syncsumOwnersOf = new Map<string, Record<string, string>>();
  for (const node of index.model.nodes) {
    if (node.kind !== "task" || node.qaf !== "syncsum") continue;
    for (const agentId of new Set(node.children.map(ownerOf))) {
      if (agentId === undefined) continue;
      const known = syncsumOwnersOf.get(agentId) ?? {};
      for (const c of node.children) {
        const owner = ownerOf(c);
        if (owner !== undefined && owner !== agentId) known[c] = owner;
      }
      syncsumOwnersOf.set(agentId, known);
    }
  }
  const setups = new Map<string, AgentSetup>();
  for (const agentId of agents) {
    const others = syncsumStarts.filter(
      (g) => !g.members.some((m) => m.agentId === agentId) && ownerOfSyncsum(g, agentId),
    );
    const cell = cellOf(agentId);
    const view = subjectiveView(index, agentId);
    const syncsumOwners = syncsumOwnersOf.get(agentId) ?? {};
    const sharers: Record<string, string[]> = {};
    const watch: Record<string, number> = {};
    for (const node of view.nodes) {
      if (node.kind !== "task" || !owners.get(node.id)?.has(agentId)) continue;
      const all = ownersSorted(node.id);
      // A star around the task's steward (its least owner): the others tell the steward, the
      // steward tells everyone the children it knows. 2(n-1) messages a round, not n(n-1).
      const steward = all[0];
      sharers[node.id] =
        steward === agentId ? all.filter((a) => a !== agentId) : steward ? [steward] : [];
      // The task's watcher escalates it to the deliberative scheduler: an owner that runs
      // planned work under it (it learns first that the plan failed there, a message sooner
      // than the steward would), else the steward.
      if (options.deliberative !== undefined && watcherOf(node.id) === agentId)
        watch[node.id] = deliberativeThreshold(index, node.id);
    }
    setups.set(agentId, {
      agentId,
      mode: options.mode,
      view,
      initial: (initialByAgent.get(agentId) ?? []).sort(
        (a, b) => a.startTicks - b.startTicks || (a.activityId < b.activityId ? -1 : 1),
      ),
      sharers,
      notify: notifyByAgent.get(agentId) ?? {},
      syncGroups: syncGroupsOf.get(agentId) ?? [],
      ...(others.length > 0 ? { othersSyncGroups: others } : {}),
      ...(Object.keys(syncsumOwners).length > 0 ? { syncsumOwners } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
      ...(cell ? { cell } : {}),
      ...(options.deliberative !== undefined
        ? { deliberative: { address: options.deliberative, watch } }
        : {}),
    });
  }
  return setups;
}
