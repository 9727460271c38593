import {
  type Access,
  CHANNEL_KINDS,
  CHANNELS,
  PARAMS,
  paramsOf,
  ROLE_DESCRIPTIONS,
  ROLES,
  SITE_READERS,
} from "./catalogue.js";
import { bodies, Envelope, type MessageType } from "./messages.js";

/** The MQTT binding version of AsyncAPI's bindings (qos and retain on an operation). */
const MQTT_BINDING = "0.2.0";

/**
 * The AsyncAPI 3.0 document of the protocol, generated from the channel catalogue and the message
 * schemas, so the published catalogue cannot drift from what the code validates and the broker
 * enforces. Operations are named by role (`agent-sends-agent-out`, `coordinator-receives-orders`).
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
  for (const kind of CHANNEL_KINDS) {
    const spec = CHANNELS[kind];
    channels[kind] = {
      address: spec.address,
      description: spec.description,
      parameters: Object.fromEntries(
        paramsOf(spec.address).map((p) => [
          p,
          { description: `${PARAMS[p].description} (letters, digits and . _ : -)` },
        ]),
      ),
      messages: Object.fromEntries(
        spec.messages.map((t) => [t, { $ref: `#/components/messages/${t}` }]),
      ),
    };
    const operation = (action: "send" | "receive", access: Access) => ({
      action,
      channel: { $ref: `#/channels/${kind}` },
      summary: `${access.role} ${action}s${access.self ? ` (only where ${access.self} is its own id)` : ""}`,
      tags: [{ name: access.role }],
      bindings: {
        mqtt: {
          qos: spec.qos,
          ...(action === "send" ? { retain: spec.retain } : {}),
          bindingVersion: MQTT_BINDING,
        },
      },
    });
    for (const access of spec.publishers as readonly Access[])
      operations[`${access.role}-sends-${kind}`] = operation("send", access);
    for (const access of spec.subscribers as readonly Access[])
      operations[`${access.role}-receives-${kind}`] = operation("receive", access);
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Consort MQTT protocol",
      version: "1.0.0",
      description:
        "Scheduler agents, coordinator and operators over MQTT 3.1.1. Every payload is a MessagePack (or, starting with {, JSON) envelope {v, id, type, from, to?, corr?, epoch?, seq, at, body}; a message that fails its schema, or is not one its channel carries, is dropped whole and counted. Operations are named by role; the broker grants each role exactly these rights, and lets site readers (" +
        SITE_READERS.join(", ") +
        ") subscribe to their whole site.",
      tags: ROLES.map((role) => ({ name: role, description: ROLE_DESCRIPTIONS[role] })),
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
