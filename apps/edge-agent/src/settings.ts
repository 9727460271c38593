import { type Static, Type } from "@sinclair/typebox";

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

/** A scheduler agent's settings: defaults, then a file, then CONSORT_* variables, then flags. */
export const AgentSettingsSchema = Type.Object(
  {
    agentId: Type.String({
      ...Id,
      description: "the agent's id: letters, digits and . _ : - (at most 128)",
    }),
    /** The resource it runs; default: the agent id. */
    resourceId: Type.Optional(Id),
    site: Id,
    broker: Type.String({
      pattern: "^(mqtt|mqtts|ws|wss|tcp)://",
      description: "a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, ws, wss or tcp)",
    }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** The journal file: the agent's memory across restarts. */
    journal: Type.String({ minLength: 1, description: "a file path for the agent's journal" }),
    /** Flush every journal record to disk (power-loss safe). Simulated fleets may turn it off. */
    journalSync: Type.Boolean(),
    /** `wall`: node-schedule on the wall clock; `lockstep`: simulated time from the clock master. */
    clock: Type.Union([Type.Literal("wall"), Type.Literal("lockstep")]),
    /** Wall clock: the instant of tick 0 (ms since 1970) and the length of a tick. */
    epochMs: Type.Integer({ minimum: 0 }),
    tickMs: Type.Number({ exclusiveMinimum: 0 }),
    heuristic: Type.Union([Type.Literal("greedy"), Type.Literal("least-constraining")]),
    /**
     * The agent's lease (ms, wall clock): its broker keepalive is a third of it, so its last will
     * goes out well within it; out of contact for longer, it starts nothing new until the
     * coordinator has sent it the schedule in force (its work may have been reassigned).
     */
    leaseMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
    simulation: Type.Optional(SimulationSettings),
    logLevel: Type.Union(
      ["fatal", "error", "warn", "info", "debug", "silent"].map((l) => Type.Literal(l)),
    ),
  },
  { additionalProperties: false },
);

export type AgentSettings = Static<typeof AgentSettingsSchema>;

export const AGENT_DEFAULTS: Partial<AgentSettings> = {
  site: "default",
  broker: "mqtt://127.0.0.1:1883",
  journalSync: true,
  clock: "wall",
  epochMs: 0,
  tickMs: 1000,
  heuristic: "greedy",
  logLevel: "info",
};

export const AGENT_ENV: Readonly<Record<string, string>> = {
  CONSORT_AGENT_ID: "agentId",
  CONSORT_AGENT_RESOURCE: "resourceId",
  CONSORT_SITE: "site",
  CONSORT_BROKER_URL: "broker",
  CONSORT_AGENT_USERNAME: "username",
  CONSORT_AGENT_PASSWORD: "password",
  CONSORT_AGENT_JOURNAL: "journal",
  CONSORT_AGENT_CLOCK: "clock",
  CONSORT_AGENT_TICK_MS: "tickMs",
  CONSORT_AGENT_EPOCH_MS: "epochMs",
  CONSORT_LOG_LEVEL: "logLevel",
};
