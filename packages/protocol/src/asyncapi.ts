import { bodies, Envelope, type MessageType, TOPIC_MESSAGES } from "./messages.js";
import type { TopicKind } from "./topics.js";

/** Channel address templates of the topic catalogue, in AsyncAPI's `{param}` form. */
const CHANNELS: Readonly<
  Record<TopicKind, { address: string; description: string; params: readonly string[] }>
> = {
  "agent-state": {
    address: "consort/v1/{site}/agent/{agentId}/state",
    description: "Retained descriptor of one scheduler agent; its last will marks it offline.",
    params: ["site", "agentId"],
  },
  "agent-in": {
    address: "consort/v1/{site}/agent/{agentId}/in",
    description: "Commands to one agent (QoS 1).",
    params: ["site", "agentId"],
  },
  "agent-out": {
    address: "consort/v1/{site}/agent/{agentId}/out",
    description: "That agent's reports (QoS 1).",
    params: ["site", "agentId"],
  },
  profile: {
    address: "consort/v1/{site}/agent/{agentId}/profile/{nodeId}",
    description:
      "Selective broadcast of a node's profile, read only by the node's link neighbours.",
    params: ["site", "agentId", "nodeId"],
  },
  peer: {
    address: "consort/v1/{site}/agent/{agentId}/peer/{toId}",
    description:
      "Point-to-point coordination from one agent to one neighbour or to the coordinator (C-TAEMS runs: profiles to link neighbours, enabler notices, synchronized starts, escalations).",
    params: ["site", "agentId", "toId"],
  },
  "coordinator-state": {
    address: "consort/v1/{site}/coordinator/state",
    description: "Coordinator liveness (retained).",
    params: ["site"],
  },
  orders: {
    address: "consort/v1/{site}/coordinator/orders",
    description: "Orders in, from operators.",
    params: ["site"],
  },
  "order-replies": {
    address: "consort/v1/{site}/coordinator/replies/{clientId}",
    description:
      "The coordinator's answer to each order (accepted or refused, and why), read only by the operator who sent it.",
    params: ["site", "clientId"],
  },
  plans: {
    address: "consort/v1/{site}/coordinator/plans",
    description: "Summaries of installed plans.",
    params: ["site"],
  },
  clock: {
    address: "consort/v1/{site}/coordinator/clock",
    description: "Simulated time, published by the clock master in lock-step simulated runs.",
    params: ["site"],
  },
};

/** Who sends on each channel, from the point of view of the coordinator application. */
const COORDINATOR_SENDS: ReadonlySet<TopicKind> = new Set([
  "agent-in",
  "coordinator-state",
  "order-replies",
  "plans",
  "clock",
]);

/**
 * The AsyncAPI 3.0 document of the protocol, generated from the topic catalogue and the message
 * schemas, so the published catalogue cannot drift from what the code validates.
 */
export function asyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  for (const type of Object.keys(bodies) as MessageType[]) {
    messages[type] = {
      name: type,
      contentType: "application/msgpack",
      payload: {
        ...stripSymbols(Envelope),
        properties: {
          ...stripSymbols(Envelope).properties,
          type: { const: type },
          body: stripSymbols(bodies[type]),
        },
      },
    };
  }
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const [kind, channel] of Object.entries(CHANNELS) as [
    TopicKind,
    (typeof CHANNELS)[TopicKind],
  ][]) {
    channels[kind] = {
      address: channel.address,
      description: channel.description,
      parameters: Object.fromEntries(
        channel.params.map((p) => [p, { description: `${p} (letters, digits and . _ : -)` }]),
      ),
      messages: Object.fromEntries(
        TOPIC_MESSAGES[kind].map((t) => [t, { $ref: `#/components/messages/${t}` }]),
      ),
    };
    operations[`${COORDINATOR_SENDS.has(kind) ? "send" : "receive"}-${kind}`] = {
      action: COORDINATOR_SENDS.has(kind) ? "send" : "receive",
      channel: { $ref: `#/channels/${kind}` },
    };
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Consort MQTT protocol",
      version: "1.0.0",
      description:
        "Scheduler agents, coordinator and operators over MQTT 3.1.1. Every payload is a MessagePack (or, starting with {, JSON) envelope {v, id, type, from, to?, corr?, epoch?, seq, at, body}; a message that fails its schema is dropped whole and counted. Operations are described from the coordinator's side.",
    },
    defaultContentType: "application/msgpack",
    channels,
    operations,
    components: { messages },
  };
}

/** TypeBox schemas carry symbol keys; JSON keeps only the JSON Schema. */
function stripSymbols<T>(schema: T): T & { properties: Record<string, unknown> } {
  return JSON.parse(JSON.stringify(schema));
}
