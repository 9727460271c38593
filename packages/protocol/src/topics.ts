/**
 * The topic catalogue (DESIGN.md "Protocol"): every topic Consort uses, its builder and its
 * parser. Topics are versioned and scoped by site:
 *
 *   consort/v1/{site}/agent/{agentId}/state            retained descriptor; online / offline (last will)
 *   consort/v1/{site}/agent/{agentId}/in               commands to one agent (QoS 1)
 *   consort/v1/{site}/agent/{agentId}/out              that agent's reports (QoS 1)
 *   consort/v1/{site}/agent/{agentId}/profile/{nodeId} selective broadcasts of a node's profile,
 *                                                      read only by the node's link neighbours
 *   consort/v1/{site}/agent/{agentId}/peer/{toId}      point-to-point coordination messages from
 *                                                      one agent to one neighbour (or to the
 *                                                      coordinator, toId "coordinator")
 *   consort/v1/{site}/coordinator/state                coordinator lease and liveness (retained)
 *   consort/v1/{site}/coordinator/orders               orders in (from operators and ERP bridges)
 *   consort/v1/{site}/coordinator/replies/{clientId}   the coordinator's answer to each order, read
 *                                                      only by the operator who sent it
 *   consort/v1/{site}/coordinator/plans                plan summaries out
 *   consort/v1/{site}/coordinator/clock                simulated time (lock-step runs only)
 *
 * Every topic an agent publishes lies under its own `agent/{agentId}/` prefix, so a broker can
 * enforce "an agent speaks only for itself" with a prefix check.
 */
export const PROTOCOL_VERSION = "v1";
export const ROOT = "consort";

/** Site, agent and node ids become topic levels: no wildcards, separators or empty levels. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidId(id: string): boolean {
  return ID.test(id);
}

function checkId(kind: string, id: string): string {
  if (!ID.test(id)) {
    throw new RangeError(
      `${kind} id "${id}" cannot be a topic level (letters, digits and . _ : - only, at most 128, not starting with a symbol)`,
    );
  }
  return id;
}

const prefix = (site: string) => `${ROOT}/${PROTOCOL_VERSION}/${checkId("site", site)}`;

export const topics = {
  agentState: (site: string, agentId: string) =>
    `${prefix(site)}/agent/${checkId("agent", agentId)}/state`,
  agentIn: (site: string, agentId: string) =>
    `${prefix(site)}/agent/${checkId("agent", agentId)}/in`,
  agentOut: (site: string, agentId: string) =>
    `${prefix(site)}/agent/${checkId("agent", agentId)}/out`,
  profile: (site: string, agentId: string, nodeId: string) =>
    `${prefix(site)}/agent/${checkId("agent", agentId)}/profile/${checkId("node", nodeId)}`,
  peer: (site: string, fromId: string, toId: string) =>
    `${prefix(site)}/agent/${checkId("agent", fromId)}/peer/${checkId("agent", toId)}`,
  coordinatorState: (site: string) => `${prefix(site)}/coordinator/state`,
  orders: (site: string) => `${prefix(site)}/coordinator/orders`,
  /** Replies to the orders of one operator (its username, the orders' `from`). */
  orderReplies: (site: string, clientId: string) =>
    `${prefix(site)}/coordinator/replies/${checkId("client", clientId)}`,
  plans: (site: string) => `${prefix(site)}/coordinator/plans`,
  clock: (site: string) => `${prefix(site)}/coordinator/clock`,
  /** Subscription filters. */
  filters: {
    allAgentStates: (site: string) => `${prefix(site)}/agent/+/state`,
    allAgentOut: (site: string) => `${prefix(site)}/agent/+/out`,
    /** A node's profile, whoever publishes it. */
    nodeProfile: (site: string, nodeId: string) =>
      `${prefix(site)}/agent/+/profile/${checkId("node", nodeId)}`,
    allProfiles: (site: string) => `${prefix(site)}/agent/+/profile/+`,
    /** Every peer message addressed to `toId`, whoever sends it. */
    peersTo: (site: string, toId: string) =>
      `${prefix(site)}/agent/+/peer/${checkId("agent", toId)}`,
  },
} as const;

export type TopicKind =
  | "agent-state"
  | "agent-in"
  | "agent-out"
  | "profile"
  | "peer"
  | "coordinator-state"
  | "orders"
  | "order-replies"
  | "plans"
  | "clock";

export type ParsedTopic =
  | {
      readonly kind: "agent-state" | "agent-in" | "agent-out";
      readonly site: string;
      readonly agentId: string;
    }
  | {
      readonly kind: "profile";
      readonly site: string;
      readonly agentId: string;
      readonly nodeId: string;
    }
  | {
      readonly kind: "peer";
      readonly site: string;
      /** The sender. */
      readonly agentId: string;
      readonly toId: string;
    }
  | { readonly kind: "coordinator-state" | "orders" | "plans" | "clock"; readonly site: string }
  | { readonly kind: "order-replies"; readonly site: string; readonly clientId: string };

/** Reads a concrete topic (no wildcards); undefined when it is not one of Consort's. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const levels = topic.split("/");
  if (levels[0] !== ROOT || levels[1] !== PROTOCOL_VERSION) return undefined;
  const site = levels[2];
  if (site === undefined || !ID.test(site)) return undefined;
  const [, , , area, a, b, c, ...rest] = levels;
  if (rest.length > 0) return undefined;
  if (area === "agent" && a !== undefined && ID.test(a)) {
    if (c === undefined) {
      if (b === "state") return { kind: "agent-state", site, agentId: a };
      if (b === "in") return { kind: "agent-in", site, agentId: a };
      if (b === "out") return { kind: "agent-out", site, agentId: a };
    } else if (b === "profile" && ID.test(c))
      return { kind: "profile", site, agentId: a, nodeId: c };
    else if (b === "peer" && ID.test(c)) return { kind: "peer", site, agentId: a, toId: c };
    return undefined;
  }
  if (area === "coordinator" && b === undefined && c === undefined) {
    if (a === "state") return { kind: "coordinator-state", site };
    if (a === "orders") return { kind: "orders", site };
    if (a === "plans") return { kind: "plans", site };
    if (a === "clock") return { kind: "clock", site };
  }
  if (area === "coordinator" && a === "replies" && b !== undefined && ID.test(b) && c === undefined)
    return { kind: "order-replies", site, clientId: b };
  return undefined;
}

/** MQTT topic-filter matching (`+` one level, `#` the rest), for ACLs and routing. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}
