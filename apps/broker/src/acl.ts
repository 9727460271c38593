/**
 * Access control, derived from the channel catalogue of @consort/protocol (`CHANNELS`): a client
 * may publish on a channel where its role is a publisher, and subscribe where its role is a
 * subscriber; an access with `self` holds only where that address parameter is the client's own
 * id. Site readers (the coordinator) may also subscribe to their whole site. Every right is
 * confined to the broker's site. Today's table, for reading:
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
  type Access,
  CHANNEL_KINDS,
  CHANNELS,
  filterOf,
  type ParsedTopic,
  PROTOCOL_VERSION,
  parseTopic,
  ROLES,
  ROOT,
  type Role,
  SITE_READERS,
} from "@consort/protocol";

export { ROLES, type Role };

/** Who a connected client is. For role `agent`, `username` is the agent id. */
export interface Identity {
  readonly username: string;
  readonly role: Role;
  readonly site: string;
}

/** Does this catalogue access grant `who` the parsed topic? */
function grants(access: Access, topic: ParsedTopic, who: Identity): boolean {
  if (access.role !== who.role) return false;
  if (access.self === undefined) return true;
  return (topic as unknown as Readonly<Record<string, string>>)[access.self] === who.username;
}

/** May `who` publish to the concrete topic `topic`? */
export function publishAllowed(who: Identity, topic: string): boolean {
  const parsed = parseTopic(topic);
  if (parsed === undefined || parsed.site !== who.site) return false;
  const publishers: readonly Access[] = CHANNELS[parsed.kind].publishers;
  return publishers.some((access) => grants(access, parsed, who));
}

/** The filters `who` may subscribe to, or to any narrower filter of. */
export function subscribeFilters(who: Identity): readonly string[] {
  const site = who.site;
  // The site was validated as a topic level with the catalogue's isValidId.
  if (SITE_READERS.includes(who.role)) return [`${ROOT}/${PROTOCOL_VERSION}/${site}/#`];
  const filters: string[] = [];
  for (const kind of CHANNEL_KINDS) {
    const subscribers: readonly Access[] = CHANNELS[kind].subscribers;
    for (const access of subscribers) {
      if (access.role !== who.role) continue;
      const own = access.self === undefined ? {} : { [access.self]: who.username };
      filters.push(filterOf(kind, { site, ...own }));
    }
  }
  return filters;
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
