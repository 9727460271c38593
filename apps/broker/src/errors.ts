/** Why the broker could not start. Each is an expected failure the operator can remedy. */
export const BROKER_ERROR_CODES = [
  /** The configuration failed validation: fix the field the message names. */
  "invalid-config",
  /** The users file could not be read or is not a valid list of users: fix the file it names. */
  "users-file",
  /** A listener could not bind (port in use, address not local): pick another port or host. */
  "listen-failed",
] as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[number];

/** The one coded error of the broker's start-up boundary. `message` is one line for the user. */
export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BrokerError";
    this.code = code;
  }
}

/** Why a connection, a publish or a subscription was refused; logged and counted, never thrown. */
export const REFUSAL_REASONS = [
  /** CONNECT with an empty client id and a persistent session (MQTT 3.1.1 §3.1.3-8). */
  "empty-client-id-persistent",
  /** No username: anonymous clients are refused (dev mode still needs a username as identity). */
  "no-username",
  /** The username is not a configured user (and dev mode is off). */
  "unknown-user",
  /** A configured user with a missing or wrong password. */
  "bad-password",
  /** Dev mode accepts unconfigured usernames from loopback addresses only. */
  "dev-mode-not-loopback",
  /** In dev mode the username becomes an agent id, so it must be a valid topic level. */
  "bad-username",
  /** The client id does not belong to the user (see `clientIdOwnedBy`). */
  "client-id-not-owned",
  /** The last-will topic is one the user may not publish to. */
  "will-refused",
  /** A PUBLISH outside the user's ACL. */
  "publish-refused",
  /** A SUBSCRIBE filter outside the user's ACL. */
  "subscribe-refused",
  /** A packet declared a remaining length above `maxPacketBytes`. */
  "oversize-packet",
  /** A fixed header whose remaining-length field runs past 4 bytes. */
  "malformed-packet",
  /** `maxConnections` transport connections are already open. */
  "too-many-connections",
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];
