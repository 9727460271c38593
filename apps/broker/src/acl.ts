/**
 * Access control, derived from the topic catalogue of @consort/protocol: publish rules classify a
 * concrete topic with the catalogue's parser; subscribe rules are filters built with the
 * catalogue's builders. Every right is confined to the broker's site.
 *
 * | role        | may publish                                      | may subscribe                                                  |
 * |-------------|--------------------------------------------------|----------------------------------------------------------------|
 * | agent A     | agent/A/state, agent/A/out, agent/A/profile/{n}, | agent/A/in, agent/+/peer/A, agent/+/profile/+ (any narrower),  |
 * |             | agent/A/peer/{to}                                | agent/+/state, coordinator/state, coordinator/plans,           |
 * |             |                                                  | coordinator/clock                                              |
 * | coordinator | agent/+/in, coordinator/state, coordinator/plans,| everything under consort/v1/{site}/                            |
 * |             | coordinator/clock, coordinator/replies/{c}       |                                                                |
 * | operator O  | coordinator/orders                               | coordinator/plans, coordinator/state, agent/+/state,           |
 * |             |                                                  | coordinator/replies/O                                          |
 */
import {
  type ParsedTopic,
  PROTOCOL_VERSION,
  parseTopic,
  ROOT,
  type TopicKind,
  topics,
} from "@consort/protocol";

export const ROLES = ["agent", "coordinator", "operator"] as const;
export type Role = (typeof ROLES)[number];

/** Who a connected client is. For role `agent`, `username` is the agent id. */
export interface Identity {
  readonly username: string;
  readonly role: Role;
  readonly site: string;
}

const ownAgentTopic = (t: ParsedTopic, who: Identity) =>
  who.role === "agent" && "agentId" in t && t.agentId === who.username;
const isCoordinator = (_: ParsedTopic, who: Identity) => who.role === "coordinator";
const isOperator = (_: ParsedTopic, who: Identity) => who.role === "operator";

/**
 * Who may publish each kind of topic in the catalogue. Keyed by `TopicKind`, so a kind added to
 * the catalogue does not compile here until someone decides who may publish it.
 */
const PUBLISHERS: { readonly [K in TopicKind]: (t: ParsedTopic, who: Identity) => boolean } = {
  // An agent speaks only for itself (DESIGN "Protocol": every agent topic lies under its prefix).
  "agent-state": ownAgentTopic,
  "agent-out": ownAgentTopic,
  profile: ownAgentTopic,
  // Point-to-point coordination: published under the sender's own prefix, read by the addressee.
  peer: ownAgentTopic,
  // The coordinator commands agents, announces its lease and plans, and masters simulated time.
  "agent-in": isCoordinator,
  "coordinator-state": isCoordinator,
  plans: isCoordinator,
  clock: isCoordinator,
  // The coordinator answers each order on its sender's replies topic.
  "order-replies": isCoordinator,
  // Operators and ERP bridges place orders, nothing else.
  orders: isOperator,
};

/** May `who` publish to the concrete topic `topic`? */
export function publishAllowed(who: Identity, topic: string): boolean {
  const parsed = parseTopic(topic);
  if (parsed === undefined || parsed.site !== who.site) return false;
  return PUBLISHERS[parsed.kind](parsed, who);
}

/** The filters `who` may subscribe to, or to any narrower filter of. */
export function subscribeFilters(who: Identity): readonly string[] {
  const site = who.site;
  switch (who.role) {
    case "agent":
      return [
        topics.agentIn(site, who.username),
        // Messages addressed to this agent by its neighbours.
        topics.filters.peersTo(site, who.username),
        // Neighbour profiles: the broker grants all; partial observability is the agent's job.
        topics.filters.allProfiles(site),
        topics.filters.allAgentStates(site),
        topics.coordinatorState(site),
        topics.plans(site),
        // Lock-step simulated runs: every process follows the clock master.
        topics.clock(site),
      ];
    case "coordinator":
      // The site was validated as a topic level with the catalogue's isValidId.
      return [`${ROOT}/${PROTOCOL_VERSION}/${site}/#`];
    case "operator":
      return [
        topics.plans(site),
        topics.coordinatorState(site),
        topics.filters.allAgentStates(site),
        // The answers to its own orders, and no one else's.
        topics.orderReplies(site, who.username),
      ];
  }
}

/** May `who` subscribe to the filter `filter`? */
export function subscribeAllowed(who: Identity, filter: string): boolean {
  return subscribeFilters(who).some((allowed) => filterCovers(allowed, filter));
}

/**
 * Does every topic that `requested` matches also match `allowed`? (MQTT filter inclusion: `+` is
 * one level, `#` the rest including the parent level.) A requested `#` is covered only by an
 * allowed `#`; a requested `+` only by an allowed `+` or `#`.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split("/");
  const r = requested.split("/");
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    if (level === "#") return i === a.length - 1;
    const want = r[i];
    if (want === undefined || want === "#") return false;
    if (level === "+") continue;
    if (want === "+" || want !== level) return false;
  }
  return a.length === r.length;
}

/**
 * Dev mode (`anonymous: true`, loopback only): the MQTT username is the identity and no password
 * is checked. "coordinator" and "operator" get those roles; any other username is an agent of
 * that id.
 */
export function devIdentity(username: string, site: string): Identity {
  const role: Role =
    username === "coordinator" ? "coordinator" : username === "operator" ? "operator" : "agent";
  return { username, role, site };
}
