import { join } from "node:path";
import {
  ENVIRONMENT_KINDS,
  type EnvironmentSettings,
  parseEnvironmentSettings,
} from "@consort/hardware";
import { loadSettings, type SettingsResult } from "@consort/protocol/settings";
import { type Static, type TSchema, Type } from "@sinclair/typebox";

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]*$" });
const Ticks = Type.Integer();

/** What the simulated resource next to the agent needs: its trial and its own disruptions. */
export const SimulationSettings = Type.Object(
  {
    /** The trial's key for common random numbers (core `trialKey`). */
    trialKey: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    disruptions: Type.Array(
      Type.Union([
        Type.Object(
          { kind: Type.Literal("breakdown"), resourceId: Id, fromTicks: Ticks, untilTicks: Ticks },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            kind: Type.Literal("overrun"),
            activityId: Id,
            factor: Type.Optional(Type.Number({ minimum: 1 })),
            extraTicks: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
      ]),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

/** One agent a process hosts, when it hosts several (`agents`); unset fields come from the top. */
export const HostedAgentSettings = Type.Object(
  {
    agentId: Id,
    /** Its family, when the process hosts both (default: the top-level `family`). */
    family: Type.Optional(Type.Union([Type.Literal("camps"), Type.Literal("ctaems")])),
    /** CAMPS: the resource it runs; default: the agent id. */
    resourceId: Type.Optional(Id),
    /** Its MQTT username; default: the agent id. */
    username: Type.Optional(Type.String({ minLength: 1 })),
    /** Its journal file; default: `{journalDir}/{agentId}.journal`. */
    journal: Type.Optional(Type.String({ minLength: 1 })),
    /** CAMPS: its simulated resource's disruptions (default: the top-level `simulation`). */
    simulation: Type.Optional(SimulationSettings),
  },
  { additionalProperties: false },
);

/**
 * An agent process's settings: defaults, then a file, then CONSORT_* variables, then flags. A
 * process hosts one agent (`agentId`) or several (`agents`), each with its own MQTT connection
 * and identity and its own journal, of one family: the CAMPS scheduler agent or the C-TAEMS
 * (CSC) agent. A CSC agent is given its setup for each run by the coordinator (`csc-setup`).
 */
export const AgentSettingsSchema = Type.Object(
  {
    /** `camps`: the job-shop scheduler agent; `ctaems`: the CSC agent (default camps). */
    family: Type.Optional(Type.Union([Type.Literal("camps"), Type.Literal("ctaems")])),
    /** The one agent this process runs (or use `agents`). */
    agentId: Type.Optional(Id),
    /** The agents this process hosts, each its own MQTT identity (or use `agentId`). */
    agents: Type.Optional(Type.Array(HostedAgentSettings, { minItems: 1 })),
    /** The resource it runs; default: the agent id. */
    resourceId: Type.Optional(Id),
    site: Id,
    broker: Type.String({
      pattern: "^(mqtt|mqtts|ws|wss|tcp)://",
      description: "a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, ws, wss or tcp)",
    }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    /** The password of a single agent (better: CONSORT_AGENT_PASSWORD). */
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** Hosted agents' passwords by agent id (better: CONSORT_AGENT_PASSWORDS, a JSON object). */
    passwords: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }))),
    /** The journal file of a single agent: its memory across restarts. */
    journal: Type.Optional(
      Type.String({ minLength: 1, description: "a file path for the agent's journal" }),
    ),
    /** A folder for the journals: `{journalDir}/{agentId}.journal` for each hosted agent. */
    journalDir: Type.Optional(
      Type.String({ minLength: 1, description: "a folder for the agents' journals" }),
    ),
    /** Flush every journal record to disk (power-loss safe). Simulated fleets may turn it off. */
    journalSync: Type.Boolean(),
    /**
     * CAMPS: `wall`: node-schedule on the wall clock; `lockstep`: simulated time from the clock
     * master. A CSC agent follows the coordinator's ticks either way.
     */
    clock: Type.Union([Type.Literal("wall"), Type.Literal("lockstep")]),
    /** Wall clock: the instant of tick 0 (ms since 1970) and the length of a tick. */
    epochMs: Type.Integer({ minimum: 0 }),
    tickMs: Type.Number({ exclusiveMinimum: 0 }),
    heuristic: Type.Union([Type.Literal("greedy"), Type.Literal("least-constraining")]),
    /** How long to keep trying to reach the broker at startup (a board may boot first); 0: once. */
    connectRetrySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * The agent's lease (ms, wall clock): its broker keepalive is a third of it, so its last will
     * goes out well within it; out of contact for longer, it starts nothing new until the
     * coordinator has sent it the schedule in force (its work may have been reassigned). "Out of
     * contact" counts from the broker's last packet; the coordinator's `--agent-lease-ms` should
     * be at least this, so that the agent holds before its work can move.
     */
    leaseMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
    /**
     * CAMPS: failed runs of one activity in a row (the device disconnected, stalled, timed out or
     * faulted) after which the agent escalates to the coordinator instead of retrying (default 3).
     */
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    simulation: Type.Optional(SimulationSettings),
    /**
     * CAMPS: what the agent's resource is: `sim` (the simulated resource, from `simulation`) or a
     * device adapter (`modbus`, `opcua`, `vda5050`, `serial`, `gpio`: endpoint, points, credentials, checked
     * against @consort/hardware's schema of that kind).
     */
    environment: Type.Optional(
      Type.Object(
        {
          kind: Type.Union(["sim", ...ENVIRONMENT_KINDS].map((k) => Type.Literal(k))),
        },
        { additionalProperties: true },
      ),
    ),
    logLevel: Type.Union(
      ["fatal", "error", "warn", "info", "debug", "silent"].map((l) => Type.Literal(l)),
    ),
  },
  { additionalProperties: false },
);

export type AgentSettings = Static<typeof AgentSettingsSchema>;
export type Family = NonNullable<AgentSettings["family"]>;

/** By default an agent waits this long for its broker at startup. */
export const CONNECT_RETRY_SECONDS = 300;

export const AGENT_DEFAULTS: Partial<AgentSettings> = {
  family: "camps",
  site: "default",
  broker: "mqtt://127.0.0.1:1883",
  journalSync: true,
  clock: "wall",
  epochMs: 0,
  tickMs: 1000,
  heuristic: "greedy",
  connectRetrySeconds: CONNECT_RETRY_SECONDS,
  logLevel: "info",
};

export const AGENT_ENV: Readonly<Record<string, string>> = {
  CONSORT_AGENT_FAMILY: "family",
  CONSORT_AGENT_ID: "agentId",
  CONSORT_AGENT_RESOURCE: "resourceId",
  CONSORT_SITE: "site",
  CONSORT_BROKER_URL: "broker",
  CONSORT_AGENT_USERNAME: "username",
  CONSORT_AGENT_PASSWORD: "password",
  CONSORT_AGENT_JOURNAL: "journal",
  CONSORT_AGENT_JOURNAL_DIR: "journalDir",
  CONSORT_AGENT_CLOCK: "clock",
  CONSORT_AGENT_TICK_MS: "tickMs",
  CONSORT_AGENT_EPOCH_MS: "epochMs",
  CONSORT_AGENT_CONNECT_RETRY_S: "connectRetrySeconds",
  CONSORT_LOG_LEVEL: "logLevel",
};

/** The device's password, kept out of settings files: OPC UA user or VDA 5050 broker login. */
export const DEVICE_PASSWORD_ENV = "CONSORT_DEVICE_PASSWORD";

/** Settings from every source, checked; `hostedAgents` then says whom the process runs. */
export async function loadAgentSettings(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: Partial<AgentSettings>,
): Promise<SettingsResult<AgentSettings>> {
  // A JSON object cannot travel as a plain variable: read it here, naming the variable (and
  // never echoing it: it holds passwords).
  let passwords: Record<string, string> | undefined;
  const json = env.CONSORT_AGENT_PASSWORDS;
  if (json !== undefined && json !== "") {
    let map: unknown;
    try {
      map = JSON.parse(json);
    } catch {
      return {
        ok: false,
        error: "CONSORT_AGENT_PASSWORDS is not JSON (expected an object of agent id -> password)",
      };
    }
    if (typeof map !== "object" || map === null || Array.isArray(map))
      return {
        ok: false,
        error: "CONSORT_AGENT_PASSWORDS must be a JSON object of agent id -> password",
      };
    for (const [id, p] of Object.entries(map))
      if (typeof p !== "string" || p === "")
        return {
          ok: false,
          error: `CONSORT_AGENT_PASSWORDS: the password of "${id}" must be a non-empty string`,
        };
    passwords = map as Record<string, string>;
  }
  const loaded = await loadSettings(AgentSettingsSchema, AGENT_DEFAULTS, {
    ...(file !== undefined ? { file } : {}),
    env: { vars: env, names: AGENT_ENV },
    flags: { ...(passwords ? { passwords } : {}), ...flags },
  });
  if (!loaded.ok) return { ok: false, error: explain(loaded.error) };
  const device = deviceSettings(loaded.value, env);
  if (!device.ok) return { ok: false, error: `${file ?? "settings"}: ${device.error}` };
  if (device.value) (loaded.value as { environment?: unknown }).environment = device.value;
  const hosted = hostedAgents(loaded.value);
  return hosted.ok ? loaded : { ok: false, error: `${file ?? "settings"}: ${hosted.error}` };
}

/**
 * The device adapter's settings, checked by its kind's schema (defaults filled), with the
 * device password from the environment when set; undefined for the simulated resource.
 */
export function deviceSettings(
  settings: AgentSettings,
  env: NodeJS.ProcessEnv = {},
): { ok: true; value?: EnvironmentSettings } | { ok: false; error: string } {
  const raw = settings.environment;
  if (raw === undefined || raw.kind === "sim") return { ok: true };
  const input: Record<string, unknown> = { ...raw };
  const password = env[DEVICE_PASSWORD_ENV];
  if (password !== undefined && password !== "") {
    if (raw.kind === "vda5050") input.password = password;
    else if (raw.kind === "opcua") {
      const user = input.user as { userName?: unknown } | undefined;
      if (!user?.userName)
        return {
          ok: false,
          error: `${DEVICE_PASSWORD_ENV} is set but environment.user.userName is not`,
        };
      input.user = { ...user, password };
    } else
      return {
        ok: false,
        error: `${DEVICE_PASSWORD_ENV} is set but ${raw.kind === "modbus" ? "Modbus" : `a ${raw.kind} device`} has no password`,
      };
  }
  const parsed = parseEnvironmentSettings(input, "environment");
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: parsed.error };
}

/** One agent the process runs, with everything resolved. */
export interface HostedAgent {
  readonly agentId: string;
  readonly family: Family;
  readonly resourceId: string;
  readonly username: string;
  readonly password?: string;
  readonly journal: string;
  readonly simulation?: Static<typeof SimulationSettings>;
}

/**
 * The agents a process runs, from its settings: `agentId` (one) or `agents` (several), each with
 * its identity, password and journal. The error names the setting and what was expected.
 */
export function hostedAgents(
  settings: AgentSettings,
): { ok: true; value: HostedAgent[] } | { ok: false; error: string } {
  const fail = (error: string) => ({ ok: false as const, error });
  if (settings.agentId !== undefined && settings.agents !== undefined)
    return fail('give either "agentId" (one agent) or "agents" (several), not both');
  const list =
    settings.agents ?? (settings.agentId !== undefined ? [{ agentId: settings.agentId }] : []);
  if (list.length === 0)
    return fail('"agentId" (one agent) or "agents" (a list of {agentId}) is required');
  const single = settings.agents === undefined;
  if (!single && settings.journal !== undefined)
    return fail(
      '"journal" is one agent\'s file: with "agents", give "journalDir" or each its "journal"',
    );
  const seen = new Set<string>();
  const out: HostedAgent[] = [];
  for (const [i, a] of list.entries()) {
    const where = single ? "agentId" : `agents[${i}]`;
    if (seen.has(a.agentId)) return fail(`${where}: agent "${a.agentId}" is listed twice`);
    seen.add(a.agentId);
    const own = a as Static<typeof HostedAgentSettings>;
    const journal =
      own.journal ??
      (single ? settings.journal : undefined) ??
      (settings.journalDir !== undefined
        ? join(settings.journalDir, `${a.agentId}.journal`)
        : undefined);
    if (journal === undefined)
      return fail(
        single
          ? '"journal" (a file) or "journalDir" (a folder) is required: the agent\'s memory across restarts'
          : `${where}: no journal: give "journalDir" (a folder) or the agent's own "journal"`,
      );
    const password = settings.passwords?.[a.agentId] ?? (single ? settings.password : undefined);
    const simulation = own.simulation ?? settings.simulation;
    out.push({
      agentId: a.agentId,
      family: own.family ?? settings.family ?? "camps",
      resourceId: own.resourceId ?? (single ? settings.resourceId : undefined) ?? a.agentId,
      username: own.username ?? (single ? settings.username : undefined) ?? a.agentId,
      ...(password !== undefined ? { password } : {}),
      journal,
      ...(simulation !== undefined ? { simulation } : {}),
    });
  }
  return { ok: true, value: out };
}

/** The schema of a setting by its dotted path (`agents.0.family`), if there is one. */
function schemaAt(path: string): TSchema | undefined {
  let schema: TSchema | undefined = AgentSettingsSchema;
  for (const key of path.split(".")) {
    if (schema === undefined) return undefined;
    if (schema.type === "array") schema = schema.items as TSchema;
    else schema = (schema.properties as Record<string, TSchema> | undefined)?.[key];
  }
  return schema;
}

/**
 * Says what was expected where the schema checker's words do not ("Expected union value",
 * "Unexpected property"): the allowed values, or the settings allowed there.
 */
function explain(error: string): string {
  const m = /^(.*?): ([\w.]+): (Expected union value|Unexpected property)(.*)$/.exec(error);
  if (!m) return error;
  const [, where, path, what, got] = m as unknown as [string, string, string, string, string];
  if (what === "Expected union value") {
    const options = (schemaAt(path)?.anyOf as TSchema[] | undefined)?.map((o) => o.const);
    if (options?.every((o) => typeof o === "string"))
      return `${where}: ${path}: expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}${got}`;
    return error;
  }
  const parent = path.includes(".")
    ? schemaAt(path.slice(0, path.lastIndexOf(".")))
    : AgentSettingsSchema;
  const allowed = Object.keys((parent?.properties as Record<string, unknown> | undefined) ?? {});
  return allowed.length > 0
    ? `${where}: ${path}: not a setting; allowed: ${allowed.join(", ")}`
    : error;
}
