/**
 * Topic builders and parsers, derived from the channel catalogue (catalogue.ts), where every
 * channel's address, messages, publishers and subscribers are listed once:
 *
 *   consort/v1/{site}/agent/{agentId}/state            retained descriptor; online / offline (last will)
 *   consort/v1/{site}/agent/{agentId}/in               commands to one agent (QoS 1)
 *   consort/v1/{site}/agent/{agentId}/out              that agent's reports (QoS 1)
 *   consort/v1/{site}/agent/{agentId}/profile/{nodeId} selective broadcasts of a node's profile
 *   consort/v1/{site}/agent/{agentId}/peer/{toId}      point-to-point coordination messages
 *   consort/v1/{site}/coordinator/state                coordinator lease and liveness (retained)
 *   consort/v1/{site}/coordinator/orders               orders in (from operators and ERP bridges)
 *   consort/v1/{site}/coordinator/replies/{clientId}   the coordinator's answer to each order, read
 *                                                      only by the operator who sent it
 *   consort/v1/{site}/coordinator/plans                plan summaries out
 *   consort/v1/{site}/coordinator/clock                simulated time (lock-step runs only)
 */
import {
  CHANNEL_KINDS,
  CHANNELS,
  type ChannelKind,
  type ChannelParams,
  PARAMS,
  type ParamName,
} from "./catalogue.js";

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

type Level = { readonly literal: string } | { readonly param: ParamName };

/** Each address, split into levels once: a literal level, or the parameter it holds. */
const LEVELS = Object.fromEntries(
  CHANNEL_KINDS.map((kind) => [
    kind,
    CHANNELS[kind].address.split("/").map((level): Level => {
      const param = /^\{([A-Za-z]+)\}$/.exec(level)?.[1] as ParamName | undefined;
      return param === undefined ? { literal: level } : { param };
    }),
  ]),
) as unknown as Readonly<Record<ChannelKind, readonly Level[]>>;

/** The concrete topic of channel `kind` with these parameters; throws on an id that is not a level. */
export function topicOf<K extends ChannelKind>(kind: K, params: ChannelParams<K>): string {
  const values = params as unknown as Readonly<Record<ParamName, string>>;
  return LEVELS[kind]
    .map((l) => ("literal" in l ? l.literal : checkId(PARAMS[l.param].label, values[l.param])))
    .join("/");
}

/**
 * A subscription filter on channel `kind`: the parameters given are fixed, the others are `+`.
 * The site is always fixed: every right and every subscription stays within one site.
 */
export function filterOf<K extends ChannelKind>(
  kind: K,
  params: Partial<ChannelParams<K>> & { readonly site: string },
): string {
  const values = params as Partial<Record<ParamName, string>>;
  return LEVELS[kind]
    .map((l) => {
      if ("literal" in l) return l.literal;
      const v = values[l.param];
      return v === undefined ? "+" : checkId(PARAMS[l.param].label, v);
    })
    .join("/");
}

export const topics = {
  agentState: (site: string, agentId: string) => topicOf("agent-state", { site, agentId }),
  agentIn: (site: string, agentId: string) => topicOf("agent-in", { site, agentId }),
  agentOut: (site: string, agentId: string) => topicOf("agent-out", { site, agentId }),
  profile: (site: string, agentId: string, nodeId: string) =>
    topicOf("profile", { site, agentId, nodeId }),
  peer: (site: string, fromId: string, toId: string) =>
    topicOf("peer", { site, agentId: fromId, toId }),
  coordinatorState: (site: string) => topicOf("coordinator-state", { site }),
  orders: (site: string) => topicOf("orders", { site }),
  /** Replies to the orders of one operator (its username, the orders' `from`). */
  orderReplies: (site: string, clientId: string) => topicOf("order-replies", { site, clientId }),
  plans: (site: string) => topicOf("plans", { site }),
  clock: (site: string) => topicOf("clock", { site }),
  /** Subscription filters. */
  filters: {
    allAgentStates: (site: string) => filterOf("agent-state", { site }),
    allAgentOut: (site: string) => filterOf("agent-out", { site }),
    /** A node's profile, whoever publishes it. */
    nodeProfile: (site: string, nodeId: string) => filterOf("profile", { site, nodeId }),
    allProfiles: (site: string) => filterOf("profile", { site }),
    /** Every peer message addressed to `toId`, whoever sends it. */
    peersTo: (site: string, toId: string) => filterOf("peer", { site, toId }),
  },
} as const;

/** A catalogue channel's kind (the name the codec, stats and ACLs use). */
export type TopicKind = ChannelKind;

/** A concrete topic read back: its channel and the value of each address parameter. */
export type ParsedTopic = {
  [K in ChannelKind]: { readonly kind: K } & ChannelParams<K>;
}[ChannelKind];

/** Reads a concrete topic (no wildcards); undefined when it is not one of Consort's. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const levels = topic.split("/");
  next: for (const kind of CHANNEL_KINDS) {
    const template = LEVELS[kind];
    if (template.length !== levels.length) continue;
    const parsed: Record<string, string> = { kind };
    for (let i = 0; i < template.length; i++) {
      const t = template[i]!;
      const level = levels[i]!;
      if ("literal" in t) {
        if (t.literal !== level) continue next;
      } else {
        if (!ID.test(level)) continue next;
        parsed[t.param] = level;
      }
    }
    return parsed as unknown as ParsedTopic;
  }
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
