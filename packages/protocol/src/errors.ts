/** Why an incoming message was dropped. Each code is counted; none changes state. */
export const PROTOCOL_ERROR_CODES = [
  /** The payload is larger than the limit. */
  "too-large",
  /** The bytes are not MessagePack. */
  "undecodable",
  /** Nested deeper than the limit. */
  "too-deep",
  /** More array elements or object keys in total than the limit. */
  "too-many-elements",
  /** A value that is not plain data (a Date, Map, Set, RegExp, Error, binary, BigInt, or a prototype key). */
  "not-plain",
  /** The envelope is missing fields or has wrong ones. */
  "bad-envelope",
  /** The protocol version is not one this process speaks. */
  "version-mismatch",
  /** A message type this process does not know. */
  "unknown-type",
  /** A known type whose body does not match its schema. */
  "bad-body",
  /** The topic is not one of Consort's, or does not carry this message type. */
  "wrong-topic",
  /** The envelope's sender is not the agent that owns the topic. */
  "spoofed-sender",
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** One coded error for the protocol boundary. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
