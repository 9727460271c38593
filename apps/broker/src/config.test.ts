import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BROKER_DEFAULTS, loadBrokerConfig, loadUsersFile, parseBrokerConfig } from "./config.js";

const errorOf = (r: { ok: boolean; error?: string }) => (r.ok ? "" : (r.error ?? ""));

describe("parseBrokerConfig", () => {
  it("fills defaults", () => {
    const r = parseBrokerConfig({}, "test");
    expect(r).toEqual({
      ok: true,
      value: {
        host: "127.0.0.1",
        port: 1883,
        site: "default",
        users: [],
        anonymous: false,
        maxPacketBytes: 262_144,
        maxConnections: 2000,
        maxConnectionsPerIp: 500,
        maxUnauthenticated: 200,
        connectTimeoutMs: 5000,
        maxInflightMessages: 100,
        maxQueuedMessages: 1000,
        maxRetainedPerClient: 100,
        maxRetainedBytesPerClient: 4 * 1024 * 1024,
        maxRetained: 10_000,
        maxRetainedBytes: 64 * 1024 * 1024,
        authConcurrency: 2,
        authQueue: 64,
      },
    });
  });

  it("takes a Redis URL and refuses anything else without echoing it", () => {
    const r = parseBrokerConfig({ redis: "redis://127.0.0.1:6390/0" }, "c");
    expect(r.ok && r.value.redis).toBe("redis://127.0.0.1:6390/0");
    expect(errorOf(parseBrokerConfig({ redis: "http://user:secret@x" }, "c"))).toBe(
      "c: redis: must be a redis:// or rediss:// URL",
    );
  });

  it.each([
    [{ port: 70000 }, "cfg.yaml: port: must be an integer from 0 to 65535 (got 70000)"],
    [{ port: "1883" }, 'cfg.yaml: port: must be an integer from 0 to 65535 (got "1883")'],
    [{ wsPort: -1 }, "cfg.yaml: wsPort: must be an integer from 0 to 65535 (got -1)"],
    [{ anonymous: "yes" }, 'cfg.yaml: anonymous: must be true or false (got "yes")'],
    [{ prot: 1 }, "cfg.yaml: prot: unknown setting (known: host, port, wsPort, site,"],
    [{ site: "a/b" }, 'cfg.yaml: site: "a/b" cannot be a topic level'],
    [{ maxPacketBytes: 10 }, "cfg.yaml: maxPacketBytes: must be an integer from 1024 to"],
    [{ port: 2000, wsPort: 2000 }, "cfg.yaml: wsPort: must differ from port (both 2000)"],
    [
      { users: [{ username: "m1", password: "x", role: "admin" }] },
      'cfg.yaml: users[0].role: must be one of "agent", "coordinator", "operator" (got "admin")',
    ],
    [{ users: [{ password: "x", role: "agent" }] }, "cfg.yaml: users[0].username: is required"],
    [
      { users: [{ username: "m1", role: "agent" }] },
      "cfg.yaml: users[0]: needs password or passwordHash",
    ],
    [
      { users: [{ username: "m1", passwordHash: "md5$x", role: "agent" }] },
      'cfg.yaml: users[0].passwordHash: expected "scrypt$N$r$p$saltBase64$hashBase64"',
    ],
    [
      {
        users: [
          { username: "m1", password: "x", role: "agent" },
          { username: "m1", password: "y", role: "operator" },
        ],
      },
      'cfg.yaml: users[1].username: "m1" is defined twice',
    ],
    [[1, 2], "cfg.yaml: expected a mapping of settings, got a list"],
  ])("rejects %j in one line naming the field", (input, message) => {
    const error = errorOf(parseBrokerConfig(input, "cfg.yaml"));
    expect(error.startsWith(message), error).toBe(true);
    expect(error).not.toContain("\n");
  });

  it("never echoes a password in an error", () => {
    const error = errorOf(
      parseBrokerConfig({ users: [{ username: "m1", password: 12345678, role: "agent" }] }, "c"),
    );
    expect(error).toBe("c: users[0].password: must be a non-empty string");
  });
});

describe("loadBrokerConfig", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "consort-broker-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("layers defaults <- file <- environment <- flags", async () => {
    const file = join(dir, "broker.yaml");
    await writeFile(file, "port: 1999\nsite: fileSite\nusersFile: users.yaml\nmaxConnections: 5\n");
    const r = await loadBrokerConfig({
      file,
      env: { CONSORT_BROKER_SITE: "envSite", CONSORT_BROKER_ANONYMOUS: "true", OTHER: "x" },
      overrides: { site: "flagSite", wsPort: 0 },
    });
    expect(r).toEqual({
      ok: true,
      value: {
        ...BROKER_DEFAULTS,
        port: 1999,
        wsPort: 0,
        site: "flagSite",
        users: [],
        // relative to the settings file
        usersFile: join(dir, "users.yaml"),
        anonymous: true,
        maxConnections: 5,
      },
    });
  });

  it("names the file and the field", async () => {
    const file = join(dir, "broker.json");
    await writeFile(file, JSON.stringify({ port: "x" }));
    expect(errorOf(await loadBrokerConfig({ file, env: {} }))).toBe(
      `${file}: port: must be an integer from 0 to 65535 (got "x")`,
    );
  });

  it("says when the file is missing or unparsable", async () => {
    const missing = join(dir, "nope.yaml");
    expect(errorOf(await loadBrokerConfig({ file: missing, env: {} }))).toBe(
      `${missing}: cannot read: no such file`,
    );
    const broken = join(dir, "broken.yaml");
    await writeFile(broken, "port: [1,\n");
    const error = errorOf(await loadBrokerConfig({ file: broken, env: {} }));
    expect(error.startsWith(`${broken}: not valid YAML or JSON:`), error).toBe(true);
    expect(error).not.toContain("\n");
  });

  it("names the environment variable", async () => {
    expect(errorOf(await loadBrokerConfig({ env: { CONSORT_BROKER_PORT: "http" } }))).toBe(
      'CONSORT_BROKER_PORT: must be a port number from 0 to 65535 (got "http")',
    );
    expect(errorOf(await loadBrokerConfig({ env: { CONSORT_BROKER_ANONYMOUS: "maybe" } }))).toBe(
      'CONSORT_BROKER_ANONYMOUS: must be true or false (got "maybe")',
    );
    expect(errorOf(await loadBrokerConfig({ env: { CONSORT_BROKER_SITE: "a b" } }))).toMatch(
      /^CONSORT_BROKER_SITE: site: "a b" cannot be a topic level/,
    );
  });

  it("names the flags", async () => {
    expect(errorOf(await loadBrokerConfig({ env: {}, overrides: { port: -5 } }))).toBe(
      "flags: port: must be an integer from 0 to 65535 (got -5)",
    );
  });
});

describe("loadUsersFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "consort-users-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a YAML mapping or a JSON list", async () => {
    const yaml = join(dir, "users.yaml");
    await writeFile(yaml, "users:\n  - { username: m1, password: pw, role: agent }\n");
    expect(await loadUsersFile(yaml)).toEqual({
      ok: true,
      value: [{ username: "m1", password: "pw", role: "agent" }],
    });
    const json = join(dir, "users.json");
    await writeFile(json, JSON.stringify([{ username: "op", password: "pw", role: "operator" }]));
    expect((await loadUsersFile(json)).ok).toBe(true);
  });

  it("names the file and the user's field", async () => {
    const file = join(dir, "users.yaml");
    await writeFile(file, "- { username: m1, password: pw, role: agent, site: x }\n");
    expect(errorOf(await loadUsersFile(file))).toBe(
      `${file}: users[0].site: unknown setting (known: username, password, passwordHash, role)`,
    );
    await writeFile(file, "admins: []\n");
    expect(errorOf(await loadUsersFile(file))).toBe(
      `${file}: admins: unknown key (expected only "users")`,
    );
  });
});
