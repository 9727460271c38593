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

/** Why the transport could not connect or subscribe: the broker's answer, not a message's fault. */
export const TRANSPORT_ERROR_CODES = [
  /** No broker answered (refused, unreachable or timed out); worth retrying. */
  "connect-failed",
  /** The broker answered and refused the login (CONNACK code): retrying will not help. */
  "connect-refused",
  /** The broker refused a subscription (SUBACK 0x80): this user may not read that filter. */
  "subscribe-refused",
  /** Connecting was given up on request (a signal to stop arrived). */
  "aborted",
] as const;

export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

/** One coded error for the transport's boundary with the broker; the message is one line. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
    this.code = code;
  }
}
