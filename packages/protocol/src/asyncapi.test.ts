import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { asyncApiDocument } from "./asyncapi.js";
import { CHANNEL_KINDS, CHANNELS } from "./catalogue.js";
import { MESSAGE_TYPES, TOPIC_MESSAGES } from "./messages.js";

const file = new URL("../asyncapi.json", import.meta.url);

describe("the published AsyncAPI document", () => {
  it("matches the code (regenerate with UPDATE_ASYNCAPI=1 npx vitest run src/asyncapi.test.ts)", () => {
    const generated = asyncApiDocument();
    if (process.env.UPDATE_ASYNCAPI === "1")
      writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(generated);
  });
  it("lists every message type and every channel", () => {
    const doc = asyncApiDocument() as {
      channels: Record<string, unknown>;
      components: { messages: Record<string, unknown> };
    };
    expect(Object.keys(doc.components.messages).sort()).toEqual([...MESSAGE_TYPES].sort());
    expect(Object.keys(doc.channels).sort()).toEqual(Object.keys(TOPIC_MESSAGES).sort());
  });
  it("has one operation per role and direction the catalogue lists, with its QoS and retain", () => {
    const doc = asyncApiDocument() as {
      operations: Record<
        string,
        { action: string; bindings: { mqtt: { qos: number; retain?: boolean } } }
      >;
    };
    const expected = CHANNEL_KINDS.flatMap((kind) => [
      ...CHANNELS[kind].publishers.map((a) => `${a.role}-sends-${kind}`),
      ...CHANNELS[kind].subscribers.map((a) => `${a.role}-receives-${kind}`),
    ]);
    expect(Object.keys(doc.operations).sort()).toEqual(expected.sort());
    expect(doc.operations["agent-sends-agent-state"]?.bindings.mqtt).toMatchObject({
      qos: 1,
      retain: true,
    });
    expect(doc.operations["coordinator-sends-agent-in"]?.bindings.mqtt.retain).toBe(false);
  });
});
