import type { Message, MessageType } from "./messages.js";

/**
 * The channel catalogue (DESIGN.md "Protocol"): every MQTT channel Consort uses, once, with its
 * address, the messages it carries, who publishes and who subscribes, and its QoS and retain
 * flag. Topic builders and parsers (topics.ts), the per-topic message lists (`TOPIC_MESSAGES`),
 * the broker's ACLs and the AsyncAPI document are all derived from this table, so none of them
 * can drift from it.
 *
 * Every channel an agent publishes lies under its own `agent/{agentId}/` prefix, so a broker can
 * enforce "an agent speaks only for itself" by comparing one topic level with the client's id.
 */

/** Who a client is, as the broker sees it. */
export const ROLES = ["agent", "coordinator", "operator"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_DESCRIPTIONS: { readonly [R in Role]: string } = {
  agent: "A scheduler agent: one resource (a machine, a rover) under its own MQTT identity.",
  coordinator: "The manager and planner of a site, and the clock master of lock-step runs.",
  operator: "A person or an ERP bridge placing orders and watching plans.",
};

/**
 * Roles that may subscribe to the whole of their site's tree (`consort/v1/{site}/#`), beyond the
 * channels they consume: the coordinator supervises, journals and records the site. Nothing else
 * can be published there (publish rights exist only on catalogue channels).
 */
export const SITE_READERS: readonly Role[] = ["coordinator"];

/** The address parameters; each becomes exactly one topic level. */
export const PARAMS = {
  site: { label: "site", description: "the site (plant, field) every topic is scoped by" },
  agentId: { label: "agent", description: "the agent the channel belongs to (its publisher)" },
  nodeId: { label: "node", description: "a node (activity or task) of the task model" },
  toId: {
    label: "agent",
    description: 'the addressee: a neighbour agent, or "coordinator"',
  },
  clientId: { label: "client", description: "an operator's username (who sent the orders)" },
} as const;
export type ParamName = keyof typeof PARAMS;

/** The parameters of an address template such as `consort/v1/{site}/agent/{agentId}/in`. */
export type ParamsOf<A extends string> = A extends `${string}{${infer P}}${infer Rest}`
  ? P | ParamsOf<Rest>
  : never;

/**
 * One role's right on a channel. With `self`, only the channel instances whose parameter `self`
 * is the client's own id (its MQTT username): an agent publishes under its own prefix, reads its
 * own inbox.
 */
export interface Access<P extends string = string> {
  readonly role: Role;
  readonly self?: P;
}

export interface ChannelSpec<A extends string = string, M extends MessageType = MessageType> {
  readonly address: A;
  readonly description: string;
  readonly messages: readonly M[];
  readonly publishers: readonly Access<ParamsOf<A>>[];
  readonly subscribers: readonly Access<ParamsOf<A>>[];
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

/**
 * Keeps each channel's literal types (for the per-role message unions) and checks, at compile
 * time, that every `self` names a parameter of its own address.
 */
function channel<
  const A extends string,
  const M extends MessageType,
  const Pub extends readonly Access<ParamsOf<A>>[],
  const Sub extends readonly Access<ParamsOf<A>>[],
>(spec: {
  readonly address: A;
  readonly description: string;
  readonly messages: readonly M[];
  readonly publishers: Pub;
  readonly subscribers: Sub;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}): typeof spec {
  return spec;
}

export const CHANNELS = {
  "agent-state": channel({
    address: "consort/v1/{site}/agent/{agentId}/state",
    description:
      "Retained descriptor of one agent: online when it connects, offline by its last will (with a session epoch, so a stale will is ignored).",
    messages: ["descriptor"],
    publishers: [{ role: "agent", self: "agentId" }],
    subscribers: [{ role: "agent" }, { role: "coordinator" }, { role: "operator" }],
    qos: 1,
    retain: true,
  }),
  "agent-in": channel({
    address: "consort/v1/{site}/agent/{agentId}/in",
    description:
      "Commands to one agent. `inform` forwards a remote enabler's completion (CSC §3.1.4 window sliding); `cfp`, `award` and `reject` are the planner's side of contract net; `csc-*` drive C-TAEMS runs.",
    messages: [
      "assign",
      "constrain",
      "install",
      "accept",
      "reject",
      "cfp",
      "award",
      "inform",
      "csc-setup",
      "csc-tick",
      "csc-peer",
    ],
    publishers: [{ role: "coordinator" }],
    subscribers: [{ role: "agent", self: "agentId" }],
    qos: 1,
    retain: false,
  }),
  "agent-out": channel({
    address: "consort/v1/{site}/agent/{agentId}/out",
    description:
      "One agent's reports to the coordinator; `bid` and `refuse` answer a contract-net call, `accept` acknowledges an award.",
    messages: [
      "propose",
      "inform",
      "failure",
      "accept",
      "reject",
      "bid",
      "refuse",
      "idle",
      "csc-step",
    ],
    publishers: [{ role: "agent", self: "agentId" }],
    subscribers: [{ role: "coordinator" }],
    qos: 1,
    retain: false,
  }),
  profile: channel({
    address: "consort/v1/{site}/agent/{agentId}/profile/{nodeId}",
    description:
      "Selective broadcast of a node's profile (CSC §3.1.3). The broker lets any agent read it; only the node's link neighbours subscribe.",
    messages: ["profile"],
    publishers: [{ role: "agent", self: "agentId" }],
    subscribers: [{ role: "agent" }],
    qos: 1,
    retain: false,
  }),
  peer: channel({
    address: "consort/v1/{site}/agent/{agentId}/peer/{toId}",
    description:
      "Point-to-point coordination from one agent to one neighbour or to the coordinator (C-TAEMS runs: profiles to link neighbours, enabler notices, synchronized starts, escalations).",
    messages: ["csc-peer"],
    publishers: [{ role: "agent", self: "agentId" }],
    subscribers: [{ role: "agent", self: "toId" }, { role: "coordinator" }],
    qos: 1,
    retain: false,
  }),
  "coordinator-state": channel({
    address: "consort/v1/{site}/coordinator/state",
    description:
      "Coordinator lease and liveness (retained): the leader's fencing epoch and lease, renewed within the lease; its last will says offline.",
    messages: ["coordinator-state"],
    publishers: [{ role: "coordinator" }],
    subscribers: [{ role: "agent" }, { role: "coordinator" }, { role: "operator" }],
    qos: 1,
    retain: true,
  }),
  orders: channel({
    address: "consort/v1/{site}/coordinator/orders",
    description: "Orders in, from operators and ERP bridges.",
    messages: ["order"],
    publishers: [{ role: "operator" }],
    subscribers: [{ role: "coordinator" }],
    qos: 1,
    retain: false,
  }),
  "order-replies": channel({
    address: "consort/v1/{site}/coordinator/replies/{clientId}",
    description:
      "The coordinator's answer to each order (accepted or refused, and why), read only by the operator who sent it.",
    messages: ["order-reply"],
    publishers: [{ role: "coordinator" }],
    subscribers: [{ role: "operator", self: "clientId" }],
    qos: 1,
    retain: false,
  }),
  plans: channel({
    address: "consort/v1/{site}/coordinator/plans",
    description: "Summaries of installed plans.",
    messages: ["plan"],
    publishers: [{ role: "coordinator" }],
    subscribers: [{ role: "agent" }, { role: "operator" }],
    qos: 1,
    retain: false,
  }),
  clock: channel({
    address: "consort/v1/{site}/coordinator/clock",
    description: "Simulated time, published by the clock master in lock-step simulated runs.",
    messages: ["clock"],
    publishers: [{ role: "coordinator" }],
    subscribers: [{ role: "agent" }],
    qos: 1,
    retain: false,
  }),
} as const;

/** A channel of the catalogue; a parsed topic's `kind`. */
export type ChannelKind = keyof typeof CHANNELS;
export const CHANNEL_KINDS = Object.keys(CHANNELS) as ChannelKind[];

/** The address parameters of channel `K`, e.g. `{ site, agentId }` for `agent-in`. */
export type ChannelParams<K extends ChannelKind> = {
  readonly [P in ParamsOf<(typeof CHANNELS)[K]["address"]>]: string;
};

/** The message types channel `K` carries. */
export type ChannelMessageType<K extends ChannelKind> = (typeof CHANNELS)[K]["messages"][number];

/** A message that may travel on channel `K` (a union, narrowed by `type`). */
export type ChannelMessage<K extends ChannelKind> = {
  [T in ChannelMessageType<K>]: Message<T>;
}[ChannelMessageType<K>];

type AccessRoles<L extends readonly Access[]> = L[number]["role"];

/** The channels role `R` subscribes to. */
export type SubscribedBy<R extends Role> = {
  [K in ChannelKind]: R extends AccessRoles<(typeof CHANNELS)[K]["subscribers"]> ? K : never;
}[ChannelKind];

/** The channels role `R` publishes on. */
export type PublishedBy<R extends Role> = {
  [K in ChannelKind]: R extends AccessRoles<(typeof CHANNELS)[K]["publishers"]> ? K : never;
}[ChannelKind];

/** Every message role `R` may receive: one handler per member, and nothing of other roles. */
export type Inbound<R extends Role> = ChannelMessage<SubscribedBy<R>>;
/** Every message role `R` may send. */
export type Outbound<R extends Role> = ChannelMessage<PublishedBy<R>>;

export type AgentInbound = Inbound<"agent">;
export type CoordinatorInbound = Inbound<"coordinator">;
export type OperatorInbound = Inbound<"operator">;
export type AgentOutbound = Outbound<"agent">;
export type CoordinatorOutbound = Outbound<"coordinator">;
export type OperatorOutbound = Outbound<"operator">;

/** What an agent's inbox carries: the commands it journals and applies. */
export type AgentCommand = ChannelMessage<"agent-in">;
/** What the coordinator reads from agents' report channels. */
export type AgentReport = ChannelMessage<"agent-out">;

/** The parameters of an address, in order. */
export function paramsOf(address: string): ParamName[] {
  return [...address.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] as ParamName);
}
