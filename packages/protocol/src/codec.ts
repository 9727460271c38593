import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Packr } from "msgpackr";
import { ProtocolError } from "./errors.js";
import {
  type AnyMessage,
  bodies,
  Envelope,
  type Message,
  type MessageType,
  TOPIC_MESSAGES,
} from "./messages.js";
import { parseTopic } from "./topics.js";

export interface DecodeLimits {
  /** Largest payload accepted, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  readonly maxDepth: number;
  /** Most array elements plus object keys in one payload. */
  readonly maxElements: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxBytes: 256 * 1024,
  maxDepth: 16,
  maxElements: 100_000,
};

/**
 * Plain MessagePack, so peers of other versions decode it (STYLE.md): no records, no structured
 * clone (which would rebuild cycles and make RegExp / Error / Set values), 64-bit integers as
 * numbers (DESIGN.md hazards).
 */
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  int64AsType: "number",
  mapsAsObjects: true,
  moreTypes: false,
});

const envelopeCheck = TypeCompiler.Compile(Envelope);
type Check = {
  Check(value: unknown): boolean;
  Errors(value: unknown): { First(): { path: string; message: string } | undefined };
};
/**
 * Each body's check is compiled the first time a message of its type is validated, not at
 * import: a process meets few of the types (an edge agent about a dozen of them), and each
 * compiled check is generated code that stays in its heap.
 */
const bodyChecks = new Map<string, Check>();
function bodyCheck(type: string): Check | undefined {
  let check = bodyChecks.get(type);
  if (check === undefined && Object.hasOwn(bodies, type)) {
    check = TypeCompiler.Compile(bodies[type as MessageType]) as Check;
    bodyChecks.set(type, check);
  }
  return check;
}

export function encodeMessage(message: AnyMessage): Buffer {
  return packr.pack(message);
}

/**
 * Is this payload JSON? An envelope is a map: in MessagePack its first byte is 0x80-0x8f, 0xde or
 * 0xdf, never "{" (0x7b, a lone fixint) nor ASCII white space, so the first byte that is not white
 * space tells the two apart (a person's `mosquitto_pub -m '{...}'`, an ERP bridge's JSON).
 */
export function isJsonPayload(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b;
  }
  return false;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes bytes (MessagePack, or JSON when it starts with "{") to `unknown`, refusing what is too
 * large, undecodable, too deep or not plain data. Both go through the same checks and schemas.
 */
export function decodePayload(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): unknown {
  if (bytes.byteLength > limits.maxBytes)
    throw new ProtocolError("too-large", `${bytes.byteLength} bytes, limit ${limits.maxBytes}`);
  let value: unknown;
  try {
    value = isJsonPayload(bytes) ? JSON.parse(utf8.decode(bytes)) : packr.unpack(bytes);
  } catch (error) {
    throw new ProtocolError("undecodable", (error as Error).message, { cause: error });
  }
  checkPlain(value, limits);
  return value;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function checkPlain(root: unknown, limits: DecodeLimits): void {
  let elements = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value === "string" || typeof value === "boolean") continue;
    if (typeof value === "number") {
      if (!Number.isFinite(value))
        throw new ProtocolError("not-plain", "a number that is not finite");
      continue;
    }
    if (typeof value !== "object") throw new ProtocolError("not-plain", `a ${typeof value} value`);
    if (depth >= limits.maxDepth)
      throw new ProtocolError("too-deep", `nested deeper than ${limits.maxDepth}`);
    if (Array.isArray(value)) {
      elements += value.length;
      if (elements > limits.maxElements)
        throw new ProtocolError("too-many-elements", `more than ${limits.maxElements} elements`);
      for (const v of value) stack.push([v, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new ProtocolError(
        "not-plain",
        `a ${(value as object).constructor?.name ?? "non-plain"} value`,
      );
    }
    const keys = Object.keys(value);
    elements += keys.length;
    if (elements > limits.maxElements)
      throw new ProtocolError("too-many-elements", `more than ${limits.maxElements} elements`);
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) throw new ProtocolError("not-plain", `the key "${key}"`);
      stack.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

/** The first schema error as one short line. */
function firstError(check: Check, value: unknown): string {
  const e = check.Errors(value).First();
  return e ? `${e.path || "/"}: ${e.message}` : "does not match its schema";
}

/**
 * Checks a decoded value as a message arriving on `topic`: the envelope, the type, the type's
 * body schema, that the topic carries this type, and that an agent's topic is published by that
 * agent. Returns the typed message or throws a `ProtocolError` (never a partial result).
 */
export function validateMessage(value: unknown, topic: string): AnyMessage {
  const where = parseTopic(topic);
  if (!where) throw new ProtocolError("wrong-topic", `"${topic}" is not a Consort topic`);
  if (
    typeof value === "object" &&
    value !== null &&
    "v" in value &&
    (value as { v: unknown }).v !== 1
  ) {
    throw new ProtocolError(
      "version-mismatch",
      `envelope version ${String((value as { v: unknown }).v)}; this process speaks 1`,
    );
  }
  if (!envelopeCheck.Check(value))
    throw new ProtocolError("bad-envelope", firstError(envelopeCheck, value));
  const envelope = value as Message<MessageType> & { type: string };
  const check = bodyCheck(envelope.type);
  if (!check) throw new ProtocolError("unknown-type", `"${envelope.type}"`);
  if (!TOPIC_MESSAGES[where.kind].includes(envelope.type as MessageType)) {
    throw new ProtocolError("wrong-topic", `${where.kind} topics do not carry "${envelope.type}"`);
  }
  if (!check.Check(envelope.body))
    throw new ProtocolError("bad-body", `${envelope.type} ${firstError(check, envelope.body)}`);
  if (
    (where.kind === "agent-state" ||
      where.kind === "agent-out" ||
      where.kind === "profile" ||
      where.kind === "peer") &&
    envelope.from !== where.agentId
  ) {
    throw new ProtocolError(
      "spoofed-sender",
      `"${envelope.from}" published on ${where.agentId}'s topic`,
    );
  }
  return envelope as AnyMessage;
}

/** Decode then validate: where every message enters a process. */
export function parseMessage(
  bytes: Uint8Array,
  topic: string,
  limits: DecodeLimits = DEFAULT_LIMITS,
): AnyMessage {
  return validateMessage(decodePayload(bytes, limits), topic);
}

/** Checks an outgoing message against its schema: a failure here is a programmer error. */
export function checkOutgoing(message: AnyMessage, topic: string): void {
  validateMessage(message, topic);
}
