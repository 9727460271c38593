import { topics } from "@consort/protocol";
import { describe, expect, it } from "vitest";
import {
  type AuthPolicy,
  authenticateConnect,
  type ConnectFacts,
  clientIdOwnedBy,
  isLoopback,
} from "./auth.js";
import type { BrokerUser } from "./config.js";
import { hashPassword, parsePasswordHash, verifyPassword } from "./password.js";

const FAST = { N: 1024, r: 8, p: 1 };
const S = "s1";

async function policy(anonymous = false): Promise<AuthPolicy> {
  const users: BrokerUser[] = [
    { username: "m1", password: "pw-m1", role: "agent" },
    { username: "m2", passwordHash: await hashPassword("pw-m2", FAST), role: "agent" },
    { username: "coord", password: "pw-c", role: "coordinator" },
  ];
  return { site: S, anonymous, users: new Map(users.map((u) => [u.username, u])) };
}

const facts = (
  f: Omit<Partial<ConnectFacts>, "password"> & { password?: string },
): ConnectFacts => ({
  clientId: f.clientId ?? f.username ?? "",
  clean: f.clean ?? true,
  username: f.username,
  password: f.password === undefined ? undefined : Buffer.from(f.password),
  remoteAddress: f.remoteAddress ?? "127.0.0.1",
  willTopic: f.willTopic,
});

describe("authenticateConnect", () => {
  it("admits a configured user with the right plain or hashed password", async () => {
    const p = await policy();
    const a = await authenticateConnect(facts({ username: "m1", password: "pw-m1" }), p);
    expect(a).toEqual({ ok: true, identity: { username: "m1", role: "agent", site: S } });
    const b = await authenticateConnect(facts({ username: "m2", password: "pw-m2" }), p);
    expect(b.ok).toBe(true);
  });

  it("refuses a wrong or missing password and an unknown user with code 4", async () => {
    const p = await policy();
    for (const f of [
      facts({ username: "m1", password: "nope" }),
      facts({ username: "m2", password: "pw-m1" }),
      facts({ username: "m1" }),
      facts({ username: "ghost", password: "x" }),
    ]) {
      const d = await authenticateConnect(f, p);
      expect(d.ok ? 0 : d.returnCode).toBe(4);
    }
  });

  it("refuses anonymous clients with code 5, in dev mode too", async () => {
    for (const anonymous of [false, true]) {
      const d = await authenticateConnect(facts({ clientId: "x" }), await policy(anonymous));
      expect(d).toMatchObject({ ok: false, returnCode: 5, reason: "no-username" });
    }
  });

  it("refuses an empty client id with a persistent session with code 2", async () => {
    const d = await authenticateConnect(
      facts({ username: "coord", password: "pw-c", clientId: "", clean: false }),
      await policy(),
    );
    expect(d).toMatchObject({ ok: false, returnCode: 2, reason: "empty-client-id-persistent" });
  });

  it("lets a client id be the username or the username and a non-id character", async () => {
    const p = await policy();
    for (const clientId of ["m1", "m1/0", "m1@pi"]) {
      const d = await authenticateConnect(
        facts({ username: "m1", password: "pw-m1", clientId }),
        p,
      );
      expect(d.ok, clientId).toBe(true);
    }
    for (const clientId of ["m2", "m10", "m1-x", "x-m1", ""]) {
      const d = await authenticateConnect(
        facts({ username: "m1", password: "pw-m1", clientId }),
        p,
      );
      expect(d, clientId).toMatchObject({ ok: false, returnCode: 2 });
    }
    // Non-agents may also ask the broker for a fresh id.
    const c = await authenticateConnect(
      facts({ username: "coord", password: "pw-c", clientId: "" }),
      p,
    );
    expect(c.ok).toBe(true);
  });

  it("refuses a last will on a topic the user may not publish to", async () => {
    const p = await policy();
    const own = await authenticateConnect(
      facts({ username: "m1", password: "pw-m1", willTopic: topics.agentState(S, "m1") }),
      p,
    );
    expect(own.ok).toBe(true);
    const other = await authenticateConnect(
      facts({ username: "m1", password: "pw-m1", willTopic: topics.agentState(S, "m2") }),
      p,
    );
    expect(other).toMatchObject({ ok: false, returnCode: 5, reason: "will-refused" });
  });

  it("in dev mode admits unconfigured usernames from loopback only, with roles by name", async () => {
    const p = await policy(true);
    const agent = await authenticateConnect(facts({ username: "r7" }), p);
    expect(agent).toEqual({ ok: true, identity: { username: "r7", role: "agent", site: S } });
    const coordinator = await authenticateConnect(facts({ username: "coordinator" }), p);
    expect(coordinator.ok && coordinator.identity.role).toBe("coordinator");
    const remote = await authenticateConnect(
      facts({ username: "r7", remoteAddress: "10.0.0.5" }),
      p,
    );
    expect(remote).toMatchObject({ ok: false, returnCode: 5, reason: "dev-mode-not-loopback" });
    const bad = await authenticateConnect(facts({ username: "a/b", clientId: "a/b" }), p);
    expect(bad).toMatchObject({ ok: false, returnCode: 4, reason: "bad-username" });
    // A configured user still proves its password in dev mode.
    const m1 = await authenticateConnect(facts({ username: "m1" }), p);
    expect(m1).toMatchObject({ ok: false, returnCode: 4, reason: "bad-password" });
  });
});

describe("helpers", () => {
  it("clientIdOwnedBy", () => {
    expect(clientIdOwnedBy("m1", "m1")).toBe(true);
    expect(clientIdOwnedBy("m1#2", "m1")).toBe(true);
    expect(clientIdOwnedBy("m1.2", "m1")).toBe(false);
    expect(clientIdOwnedBy("m", "m1")).toBe(false);
  });

  it("isLoopback", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
      expect(isLoopback(a), a).toBe(true);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "", undefined])
      expect(isLoopback(a), String(a)).toBe(false);
  });
});

describe("password hashes", () => {
  it("round-trips and rejects a wrong password", async () => {
    const hash = await hashPassword("s3cret", FAST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("s3cret", hash)).toBe(true);
    expect(await verifyPassword("s3cret!", hash)).toBe(false);
  });

  it("salts each hash", async () => {
    expect(await hashPassword("same", FAST)).not.toBe(await hashPassword("same", FAST));
  });

  it("says what is wrong with a malformed hash, and never matches one", async () => {
    expect(parsePasswordHash("md5$abc")).toMatch(/expected "scrypt/);
    expect(parsePasswordHash("scrypt$1000$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==")).toMatch(
      /power of two/,
    );
    expect(parsePasswordHash(`scrypt$${2 ** 21}$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==`)).toMatch(
      /N must/,
    );
    expect(await verifyPassword("x", "scrypt$nope")).toBe(false);
  });
});
