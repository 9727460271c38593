import { type Static, type TSchema, Type } from "@sinclair/typebox";

/**
 * The scenario file format (YAML or JSON), as a TypeBox schema. The published JSON Schema,
 * packages/core/schema/scenario.schema.json, is generated from it (see schema.test.ts).
 *
 * Every object is strict (no unknown fields) so that a typo is an error, not a silently ignored
 * setting. To add a section (e.g. `disruptions`, `orders`), add a property to
 * `scenarioSections` below, regenerate the JSON Schema, and read the section in build.ts.
 */

export const SCENARIO_SCHEMA_ID = "urn:consort:schema:scenario:v1";

const strict = { additionalProperties: false } as const;

const Id = (description: string) => Type.String({ minLength: 1, description });

/**
 * The largest time in ticks a scenario may give (a billion: about 1,900 years of minutes). Beyond
 * it sums of times stop being exact integers, and 1e308 or 99999999999999999999 would be read as
 * a rounded number and fail far from the file.
 */
export const MAX_SCENARIO_TICKS = 1_000_000_000;

const Ticks = (description: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_SCENARIO_TICKS, description });

const Probability = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1,
  description: "Probability of this outcome, in (0, 1]. The probabilities of a list sum to 1.",
});

const distribution = <T extends TSchema>(value: T, what: string, fixedDescription: string) =>
  Type.Union(
    [
      value,
      Type.Array(
        Type.Object(
          { value, probability: Probability },
          { ...strict, title: "{value, probability}" },
        ),
        { minItems: 1, description: `Uncertain ${what}: outcomes whose probabilities sum to 1.` },
      ),
    ],
    {
      description: `${fixedDescription} Either a number (a fixed value) or a list of {value, probability}.`,
    },
  );

const Duration = distribution(
  Type.Integer({ minimum: 1, maximum: MAX_SCENARIO_TICKS, description: "Duration in ticks." }),
  "duration",
  "How long the activity runs, in ticks (positive integers).",
);

const Quality = distribution(
  Type.Number({ minimum: 0, description: "Quality accrued on success." }),
  "quality",
  "Quality the activity accrues when it finishes (>= 0; 0 means failure). Default 1.",
);

const Release = Ticks("Earliest start, in ticks. On a job or task it applies to all it contains.");
const Deadline = Ticks(
  "Hard latest end, in ticks. On a job or task it applies to all it contains.",
);
const Due = Ticks("Soft due date, in ticks: finishing later costs `weight` per tick late.");
const Weight = Type.Number({
  minimum: 0,
  description: "Tardiness cost per tick late, used with `due`. Default 1.",
});

const ResourceRef = Id("Id of the resource (from `resources`) that runs it.");
const ResourceRefs = Type.Array(Id("Resource id."), {
  minItems: 1,
  description:
    "Resources able to run it; the first is preferred, the rest are alternatives. Give either `resource` or `resources`.",
});

const Resource = Type.Object(
  {
    id: Id("Unique resource id, used by operations and activities."),
    name: Type.Optional(Type.String({ description: "Display name." })),
    kind: Type.Optional(
      Type.Union([Type.Literal("machine"), Type.Literal("rover"), Type.Literal("other")], {
        description: "What the resource is.",
      }),
    ),
  },
  {
    ...strict,
    title: "resource",
    description: "Something that runs one activity at a time: a machine, a rover.",
  },
);

const Operation = Type.Object(
  {
    id: Type.Optional(Id("Unique id. Default `<job id>.o<k>` (k counts from 0).")),
    resource: Type.Optional(ResourceRef),
    resources: Type.Optional(ResourceRefs),
    duration: Duration,
    quality: Type.Optional(Quality),
    release: Type.Optional(Release),
    deadline: Type.Optional(Deadline),
  },
  {
    ...strict,
    title: "operation",
    description:
      "One step of a job. It may start once the previous operation of the job has finished. Give either `resource` or `resources`.",
  },
);

const Job = Type.Object(
  {
    id: Id("Unique job id (shared namespace with operations, tasks and activities)."),
    release: Type.Optional(Release),
    deadline: Type.Optional(Deadline),
    due: Type.Optional(Due),
    weight: Type.Optional(Weight),
    after: Type.Optional(
      Type.Array(Id("Id of a job, operation, task or activity."), {
        description: "Work that must finish before this job starts (precedence links).",
      }),
    ),
    operations: Type.Array(Operation, {
      minItems: 1,
      description: "The job's operations in processing order.",
    }),
  },
  {
    ...strict,
    title: "job",
    description:
      "Job-shop shorthand: a `min` task over a chain of operations (each enables the next).",
  },
);

const Qaf = Type.Union(
  [Type.Literal("min"), Type.Literal("max"), Type.Literal("sum"), Type.Literal("syncsum")],
  {
    description:
      "Quality accumulation function over the children: min (all must succeed), max (any), sum, syncsum.",
  },
);

const Task = Type.Object(
  {
    id: Id("Unique task id."),
    qaf: Qaf,
    children: Type.Array(Id("Id of a task, activity or job."), {
      minItems: 1,
      description: "Child tasks, activities or jobs; each node has exactly one parent.",
    }),
    release: Type.Optional(Release),
    deadline: Type.Optional(Deadline),
    due: Type.Optional(Due),
    weight: Type.Optional(Weight),
  },
  { ...strict, title: "task", description: "An inner node of the reward tree." },
);

const Activity = Type.Object(
  {
    id: Id("Unique activity id."),
    resource: Type.Optional(ResourceRef),
    resources: Type.Optional(ResourceRefs),
    duration: Duration,
    quality: Type.Optional(Quality),
    release: Type.Optional(Release),
    deadline: Type.Optional(Deadline),
    due: Type.Optional(Due),
    weight: Type.Optional(Weight),
  },
  {
    ...strict,
    title: "activity",
    description:
      "A leaf of the reward tree (C-TAEMS method), run by one resource. Give either `resource` or `resources`.",
  },
);

const Link = Type.Object(
  {
    kind: Type.Optional(
      Type.Union([Type.Literal("enables"), Type.Literal("precedence")], {
        description:
          "enables (default): `to` may start only once `from` has accrued quality, and fails if started earlier. precedence: `to` may start only after `from` ends.",
      }),
    ),
    from: Id("Source node id (any task, activity, job or operation)."),
    to: Id("Target node id (any task, activity, job or operation)."),
  },
  { ...strict, title: "link", description: "A constraint between two nodes." },
);

const Network = Type.Object(
  {
    root: Id("Id of the task at the top of the network."),
    tasks: Type.Optional(Type.Array(Task, { description: "Inner nodes of the reward tree." })),
    activities: Type.Optional(Type.Array(Activity, { description: "Leaves of the reward tree." })),
    links: Type.Optional(
      Type.Array(Link, { description: "Links between any nodes, including jobs and operations." }),
    ),
  },
  {
    ...strict,
    title: "network",
    description:
      "General C-TAEMS task network. Its tasks may name jobs as children. Jobs not placed in the network are summed with the network's root under a generated root.",
  },
);

/** The top-level sections; add new ones here. */
const scenarioSections = {
  $schema: Type.Optional(
    Type.String({ description: "The JSON Schema this file follows (for editors)." }),
  ),
  name: Type.Optional(
    Type.String({ minLength: 1, description: "Scenario name. Default: the file's base name." }),
  ),
  description: Type.Optional(Type.String({ description: "Free text." })),
  resources: Type.Array(Resource, {
    minItems: 1,
    description: "Machines, rovers and other resources.",
  }),
  jobs: Type.Optional(
    Type.Array(Job, { description: "Job-shop jobs (shorthand for min tasks over operations)." }),
  ),
  network: Type.Optional(Network),
};

export const ScenarioSchema = Type.Object(scenarioSections, {
  ...strict,
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: SCENARIO_SCHEMA_ID,
  title: "Consort scenario",
  description:
    "A planning and scheduling scenario: resources, and jobs (job-shop shorthand) and/or a C-TAEMS task network. Time is in integer ticks. At least one of `jobs` and `network` is required.",
});

/** A scenario file's content once it passed the schema. */
export type ScenarioDocument = Static<typeof ScenarioSchema>;
export type ScenarioJob = Static<typeof Job>;
export type ScenarioOperation = Static<typeof Operation>;
export type ScenarioTask = Static<typeof Task>;
export type ScenarioActivity = Static<typeof Activity>;
export type ScenarioLink = Static<typeof Link>;
export type ScenarioDistribution = Static<typeof Duration> | Static<typeof Quality>;

/** The JSON Schema document published as packages/core/schema/scenario.schema.json. */
export function scenarioJsonSchema(): unknown {
  const { $schema, $id, title, description, ...rest } = JSON.parse(
    JSON.stringify(ScenarioSchema),
  ) as Record<string, unknown>;
  return { $schema, $id, title, description, ...rest };
}
