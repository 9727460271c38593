/**
 * Who may connect, and as whom. One decision per CONNECT, from plain facts, so each rule is
 * tested without a socket.
 */
import { isValidId } from "@consort/protocol";
import { devIdentity, type Identity, publishAllowed } from "./acl.js";
import type { BrokerUser } from "./config.js";
import type { RefusalReason } from "./errors.js";
import { DECOY_HASH, plainPasswordMatches, verifyPassword } from "./password.js";

/** What a CONNECT packet and its transport say. */
export interface ConnectFacts {
  /** As sent; "" when the client asked the broker to assign one. */
  readonly clientId: string;
  readonly clean: boolean;
  readonly username?: string | undefined;
  readonly password?: Buffer | undefined;
  /** The peer's address; undefined when the transport does not know it. */
  readonly remoteAddress?: string | undefined;
  readonly willTopic?: string | undefined;
}

export interface AuthPolicy {
  readonly site: string;
  readonly users: ReadonlyMap<string, BrokerUser>;
  /** Dev mode: unconfigured usernames become identities, from loopback only. */
  readonly anonymous: boolean;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that a refusal uses. */
export type RefusalCode =
  /** Identifier rejected. */
  | 2
  /** Bad user name or password. */
  | 4
  /** Not authorized. */
  | 5;

export type AuthDecision =
  | { readonly ok: true; readonly identity: Identity }
  | {
      readonly ok: false;
      readonly returnCode: RefusalCode;
      readonly reason: RefusalReason;
      readonly detail: string;
    };

const refuse = (returnCode: RefusalCode, reason: RefusalReason, detail: string): AuthDecision => ({
  ok: false,
  returnCode,
  reason,
  detail,
});

/** Decides a CONNECT. Rules apply in this order; the first that fails refuses. */
export async function authenticateConnect(
  facts: ConnectFacts,
  policy: AuthPolicy,
): Promise<AuthDecision> {
  // MQTT 3.1.1 §3.1.3-8: a persistent session needs an id to find it by; aedes accepts it anyway.
  if (facts.clientId === "" && !facts.clean)
    return refuse(2, "empty-client-id-persistent", "empty client id with clean session false");

  const username = facts.username ?? "";
  if (username === "")
    return refuse(
      5,
      "no-username",
      policy.anonymous
        ? "dev mode takes the identity from the username; none was given"
        : "anonymous connections are refused",
    );

  let identity: Identity;
  const user = policy.users.get(username);
  if (user !== undefined) {
    // A configured user always proves its password, dev mode or not.
    if (!(await passwordMatches(user, facts.password)))
      return refuse(4, "bad-password", `wrong password for "${username}"`);
    identity = { username, role: user.role, site: policy.site };
  } else if (!policy.anonymous) {
    // Spend the same time as a real check so refusals do not reveal which usernames exist.
    await verifyPassword(facts.password ?? "", DECOY_HASH);
    return refuse(4, "unknown-user", `unknown user "${username}"`);
  } else if (!isLoopback(facts.remoteAddress)) {
    return refuse(
      5,
      "dev-mode-not-loopback",
      `dev mode admits unconfigured users from loopback only, not ${facts.remoteAddress ?? "an unknown address"}`,
    );
  } else if (!isValidId(username)) {
    return refuse(4, "bad-username", `dev-mode username "${username}" is not a valid id`);
  } else {
    identity = devIdentity(username, policy.site);
  }

  const assigned = facts.clientId === "" && identity.role !== "agent";
  if (!assigned && !clientIdOwnedBy(facts.clientId, username))
    return refuse(
      2,
      "client-id-not-owned",
      `client id "${facts.clientId}" must be "${username}" or start with "${username}" and a character outside [A-Za-z0-9._:-]`,
    );

  // The will is published on the client's behalf later; vet it now, while we can still refuse.
  if (facts.willTopic !== undefined && !publishAllowed(identity, facts.willTopic))
    return refuse(5, "will-refused", `may not publish a last will to "${facts.willTopic}"`);

  return { ok: true, identity };
}

async function passwordMatches(user: BrokerUser, presented: Buffer | undefined): Promise<boolean> {
  if (presented === undefined) return false;
  if (user.passwordHash !== undefined) return verifyPassword(presented, user.passwordHash);
  if (user.password !== undefined) return plainPasswordMatches(presented, user.password);
  return false;
}

/**
 * Is `clientId` one of `username`'s? It must be the username itself, or the username followed by
 * a character that no id may contain (e.g. "m1/0", "m1@pi", "m1#2"). A bare prefix would not do:
 * "m1-x" could belong to agent "m1" or to agent "m1-x", and then one could take over the other's
 * session.
 */
export function clientIdOwnedBy(clientId: string, username: string): boolean {
  if (clientId === username) return true;
  if (!clientId.startsWith(username)) return false;
  const next = clientId.charAt(username.length);
  return !/[A-Za-z0-9._:-]/.test(next);
}

/** Loopback addresses, IPv4-mapped IPv6 included. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
