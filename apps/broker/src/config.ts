/**
 * Broker configuration: defaults -> schema validation -> the caller injects the result.
 * `loadBrokerConfig` layers defaults <- file <- environment <- flags, and every error is one line
 * that says where (file path, environment variable, "flags") and which field.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isValidId } from "@consort/protocol";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { parse as parseYaml } from "yaml";
import { ROLES } from "./acl.js";
import { parsePasswordHash } from "./password.js";

/** An expected failure is a value: `error` is one line naming where and what. */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

export const BrokerUserSchema = Type.Object(
  {
    /** For role agent, the agent id. */
    username: Type.String({ minLength: 1 }),
    /** A plain password; prefer `passwordHash`. */
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** `scrypt$N$r$p$saltB64$hashB64`, from `hashPassword`. */
    passwordHash: Type.Optional(Type.String({ minLength: 1 })),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  },
  { additionalProperties: false },
);

export const BrokerConfigSchema = Type.Object(
  {
    /** Address the listeners bind to. */
    host: Type.String({ minLength: 1 }),
    /** MQTT over TCP; 0 picks a free port. */
    port: Port,
    /** MQTT over WebSocket; absent: no WebSocket listener; 0 picks a free port. */
    wsPort: Type.Optional(Port),
    /** The site every right is confined to (`consort/v1/{site}/...`). */
    site: Type.String({ minLength: 1 }),
    users: Type.Array(BrokerUserSchema),
    /** A JSON or YAML file holding more users: a list, or `{ users: [...] }`. */
    usersFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Dev mode: unconfigured usernames are accepted, without password, from loopback only. */
    anonymous: Type.Boolean(),
    /** Largest remaining length (bytes after the fixed header) a client may declare. */
    maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 268_435_455 }),
    /** Open TCP + WebSocket connections at most; more are closed on arrival. */
    maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** Open connections from one address at most; more are closed on arrival. */
    maxConnectionsPerIp: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** Connections that have not sent CONNECT yet, at most; past it the oldest is closed. */
    maxUnauthenticated: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** A socket that has not sent CONNECT after this long is closed. */
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
    /** Inbound QoS 2 messages of one client awaiting PUBREL at most (aedes `maxInflightInbound`). */
    maxInflightMessages: Type.Integer({ minimum: 1, maximum: 65_535 }),
    /** QoS 1/2 messages queued for one persistent session at most; later ones are dropped. */
    maxQueuedMessages: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    /** Retained messages one user may have stored, at most. */
    maxRetainedPerClient: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    /** Payload bytes of retained messages one user may have stored, at most. */
    maxRetainedBytesPerClient: Type.Integer({ minimum: 0, maximum: 2 ** 40 }),
    /** Retained messages stored in all, at most. */
    maxRetained: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
    /** Payload bytes of retained messages stored in all, at most. */
    maxRetainedBytes: Type.Integer({ minimum: 0, maximum: 2 ** 40 }),
    /** Password checks (scrypt) running at once, at most. */
    authConcurrency: Type.Integer({ minimum: 1, maximum: 1024 }),
    /** Logins waiting for a password check, at most; more are refused with "server unavailable". */
    authQueue: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** `redis://…`: sessions, subscriptions, queues and retained messages persist in Redis and
     * routing is shared with the other brokers on it. Absent: in memory. */
    redis: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export type BrokerUser = Static<typeof BrokerUserSchema>;
export type BrokerConfig = Static<typeof BrokerConfigSchema>;
/** What callers write: any field may be left to its default. */
export type BrokerConfigInput = Partial<BrokerConfig>;

export const BROKER_DEFAULTS: Readonly<
  Omit<BrokerConfig, "wsPort" | "usersFile" | "users" | "redis">
> = {
  host: "127.0.0.1",
  port: 1883,
  site: "default",
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
};

const configCheck = TypeCompiler.Compile(BrokerConfigSchema);
const layerCheck = TypeCompiler.Compile(Type.Partial(BrokerConfigSchema));
const usersCheck = TypeCompiler.Compile(Type.Array(BrokerUserSchema));

/** Validates settings after filling defaults. Pure: `usersFile` is checked when the broker starts. */
export function parseBrokerConfig(input: unknown, where: string): Result<BrokerConfig> {
  if (!isRecord(input)) return fail(`${where}: expected a mapping of settings, got ${show(input)}`);
  const merged = { ...BROKER_DEFAULTS, users: [], ...definedOnly(input) };
  const issue =
    schemaIssue(configCheck.Errors(merged).First()) ??
    fieldsIssue(merged as BrokerConfigInput) ??
    crossFieldIssue(merged as BrokerConfig);
  if (issue !== undefined) return fail(`${where}: ${issue}`);
  return ok(merged as BrokerConfig);
}

/** Checks one layer (file, environment, flags) on its own, so its errors name their source. */
function parseLayer(input: unknown, where: string): Result<BrokerConfigInput> {
  if (!isRecord(input)) return fail(`${where}: expected a mapping of settings, got ${show(input)}`);
  const layer = definedOnly(input);
  const issue = schemaIssue(layerCheck.Errors(layer).First()) ?? fieldsIssue(layer);
  return issue === undefined ? ok(layer as BrokerConfigInput) : fail(`${where}: ${issue}`);
}

/** Rules on single fields that a schema cannot say. */
function fieldsIssue(c: BrokerConfigInput): string | undefined {
  if (c.site !== undefined && !isValidId(c.site))
    return `site: ${JSON.stringify(c.site)} cannot be a topic level (letters, digits and . _ : - only, at most 128, not starting with a symbol)`;
  if (c.redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(c.redis))
    return "redis: must be a redis:// or rediss:// URL";
  if (c.users !== undefined) return usersIssue(c.users, "users");
  return undefined;
}

function crossFieldIssue(c: BrokerConfig): string | undefined {
  if (c.wsPort !== undefined && c.wsPort !== 0 && c.wsPort === c.port)
    return `wsPort: must differ from port (both ${c.port})`;
  return undefined;
}

/** Rules on a list of users: ids, one credential each, unique names. */
export function usersIssue(
  users: readonly BrokerUser[],
  label: string,
  taken: ReadonlySet<string> = new Set(),
): string | undefined {
  const seen = new Set(taken);
  for (const [i, u] of users.entries()) {
    const at = `${label}[${i}]`;
    // Usernames prefix client ids and, for agents, are topic levels.
    if (!isValidId(u.username))
      return `${at}.username: ${JSON.stringify(u.username)} cannot be a topic level (letters, digits and . _ : - only, at most 128, not starting with a symbol)`;
    if (seen.has(u.username))
      return `${at}.username: ${JSON.stringify(u.username)} is defined twice`;
    seen.add(u.username);
    if (u.password === undefined && u.passwordHash === undefined)
      return `${at}: needs password or passwordHash`;
    if (u.password !== undefined && u.passwordHash !== undefined)
      return `${at}: give password or passwordHash, not both`;
    if (u.passwordHash !== undefined) {
      const parsed = parsePasswordHash(u.passwordHash);
      if (typeof parsed === "string") return `${at}.passwordHash: ${parsed}`;
    }
  }
  return undefined;
}

export interface LoadBrokerConfigOptions {
  /** A YAML or JSON file of settings; a relative `usersFile` in it is read from its directory. */
  readonly file?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Command-line flags; win over everything. */
  readonly overrides?: BrokerConfigInput;
}

/** Environment variables and the setting each one sets. */
export const BROKER_ENV = {
  CONSORT_BROKER_HOST: "host",
  CONSORT_BROKER_PORT: "port",
  CONSORT_BROKER_WS_PORT: "wsPort",
  CONSORT_BROKER_SITE: "site",
  CONSORT_BROKER_USERS_FILE: "usersFile",
  CONSORT_BROKER_ANONYMOUS: "anonymous",
  CONSORT_BROKER_REDIS: "redis",
} as const satisfies Record<string, keyof BrokerConfig>;

/** defaults <- file <- environment <- flags, each layer validated where it comes from. */
export async function loadBrokerConfig(
  options: LoadBrokerConfigOptions,
): Promise<Result<BrokerConfig>> {
  let merged: BrokerConfigInput = {};
  if (options.file !== undefined) {
    const file = await readSettingsFile(options.file);
    if (!file.ok) return file;
    const layer = parseLayer(file.value ?? {}, options.file);
    if (!layer.ok) return layer;
    const fromFile = { ...layer.value };
    if (fromFile.usersFile !== undefined)
      fromFile.usersFile = resolve(dirname(options.file), fromFile.usersFile);
    merged = { ...merged, ...fromFile };
  }
  for (const [name, key] of Object.entries(BROKER_ENV)) {
    const raw = options.env[name];
    if (raw === undefined || raw.trim() === "") continue;
    const value = envValue(key, raw.trim());
    if (typeof value === "object") return fail(`${name}: ${value.error}`);
    const layer = parseLayer({ [key]: value }, name);
    if (!layer.ok) return layer;
    merged = { ...merged, ...layer.value };
  }
  if (options.overrides !== undefined) {
    const layer = parseLayer(options.overrides, "flags");
    if (!layer.ok) return layer;
    merged = { ...merged, ...layer.value };
  }
  return parseBrokerConfig(merged, "broker settings");
}

function envValue(
  key: keyof BrokerConfig,
  raw: string,
): string | number | boolean | { error: string } {
  switch (key) {
    case "port":
    case "wsPort":
      return /^\d{1,5}$/.test(raw) && Number(raw) <= 65535
        ? Number(raw)
        : { error: `must be a port number from 0 to 65535 (got ${show(raw)})` };
    case "anonymous":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return { error: `must be true or false (got ${show(raw)})` };
    default:
      return raw;
  }
}

/** Reads a users file: a list of users, or a mapping `{ users: [...] }`. */
export async function loadUsersFile(path: string): Promise<Result<BrokerUser[]>> {
  const file = await readSettingsFile(path);
  if (!file.ok) return file;
  let list: unknown = file.value;
  if (isRecord(list)) {
    const extra = Object.keys(list).find((k) => k !== "users");
    if (extra !== undefined) return fail(`${path}: ${extra}: unknown key (expected only "users")`);
    list = list.users;
  }
  if (!Array.isArray(list))
    return fail(`${path}: expected a list of users or { users: [...] }, got ${show(list)}`);
  const issue =
    schemaIssue(usersCheck.Errors(list).First(), "users") ??
    usersIssue(list as BrokerUser[], "users");
  return issue === undefined ? ok(list as BrokerUser[]) : fail(`${path}: ${issue}`);
}

async function readSettingsFile(path: string): Promise<Result<unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : firstLine(error);
    return fail(`${path}: cannot read: ${why}`);
  }
  try {
    // YAML is a superset of JSON, so one parser reads both.
    return ok(parseYaml(text) as unknown);
  } catch (error) {
    return fail(`${path}: not valid YAML or JSON: ${firstLine(error)}`);
  }
}

// ---- messages ---------------------------------------------------------------------------------

const SECRET_FIELDS = new Set(["password", "passwordHash"]);

/** One schema error as "path: what", or undefined when there is none. */
function schemaIssue(e: ValueError | undefined, root = ""): string | undefined {
  if (e === undefined) return undefined;
  const segments = e.path
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const path = segments.reduce(
    (acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === "" ? s : `${acc}.${s}`),
    root,
  );
  const last = segments.at(-1) ?? "";
  const prefix = path === "" ? "" : `${path}: `;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((e.schema as { properties?: object }).properties ?? {});
      return `${prefix}unknown setting (known: ${known.join(", ")})`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return `${prefix}is required`;
    default: {
      const got = SECRET_FIELDS.has(last) ? "" : ` (got ${show(e.value)})`;
      return `${prefix}must be ${describe(e.schema)}${got}`;
    }
  }
}

function describe(schema: TSchema): string {
  const s = schema as {
    anyOf?: { const?: unknown }[];
    type?: string;
    minimum?: number;
    maximum?: number;
    minLength?: number;
  };
  if (s.anyOf?.every((x) => x.const !== undefined))
    return `one of ${s.anyOf.map((x) => JSON.stringify(x.const)).join(", ")}`;
  switch (s.type) {
    case "integer":
      return s.minimum !== undefined && s.maximum !== undefined
        ? `an integer from ${s.minimum} to ${s.maximum}`
        : "an integer";
    case "string":
      return s.minLength ? "a non-empty string" : "a string";
    case "boolean":
      return "true or false";
    case "array":
      return "a list";
    case "object":
      return "a mapping";
    default:
      return "a valid value";
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === "object") return "a mapping";
  return String(value);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function definedOnly(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
