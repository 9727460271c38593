import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { err, ok, type Result } from "../result.js";
import { renderPath } from "../scenario/path.js";
import { schemaIssues } from "../scenario/schema-errors.js";
import type { AgentSetup } from "./setup.js";

/*
 * An agent's setup as it crosses a process boundary (a `csc-setup` message, a journal). Fields
 * the schema does not name are let through untouched: the setup grows with the agent, and an
 * older parser must not refuse what a newer coordinator adds.
 */
const Id = Type.String({ minLength: 1, maxLength: 256 });
const Tick = Type.Integer();
const Outcome = Type.Object({
  value: Type.Number(),
  probability: Type.Number({ minimum: 0, maximum: 1 }),
});
const Distribution = Type.Array(Outcome, { minItems: 1, title: "outcomes {value, probability}" });
const base = {
  id: Id,
  releaseTicks: Type.Optional(Tick),
  deadlineTicks: Type.Optional(Tick),
  due: Type.Optional(Type.Object({ dueTicks: Tick, weight: Type.Number() })),
};
const Activity = Type.Object({
  ...base,
  kind: Type.Literal("activity"),
  resources: Type.Array(Id),
  duration: Distribution,
  quality: Distribution,
});
const Task = Type.Object({
  ...base,
  kind: Type.Literal("task"),
  qaf: Type.Union(["min", "max", "sum", "syncsum"].map((q) => Type.Literal(q))),
  children: Type.Array(Id),
});
const Link = Type.Object({
  kind: Type.Union([Type.Literal("enables"), Type.Literal("precedence")]),
  from: Id,
  to: Id,
});
const Resource = Type.Object({
  id: Id,
  name: Type.Optional(Type.String()),
  kind: Type.Optional(Type.Union(["machine", "rover", "other"].map((k) => Type.Literal(k)))),
});
const IdLists = Type.Record(Type.String(), Type.Array(Id));

export const AgentSetupSchema = Type.Object({
  agentId: Id,
  mode: Type.Union(["initial", "bos", "csc"].map((m) => Type.Literal(m))),
  view: Type.Object({
    agentId: Id,
    root: Id,
    own: Type.Array(Id),
    nodes: Type.Array(Type.Union([Activity, Task])),
    links: Type.Array(Link),
    resources: Type.Array(Resource),
  }),
  initial: Type.Array(Type.Object({ activityId: Id, startTicks: Tick })),
  sharers: IdLists,
  notify: IdLists,
  syncGroups: Type.Array(
    Type.Object({
      id: Id,
      members: Type.Array(Type.Object({ agentId: Id, activityId: Id })),
    }),
  ),
  othersSyncGroups: Type.Optional(
    Type.Array(
      Type.Object({
        id: Id,
        members: Type.Array(Type.Object({ agentId: Id, activityId: Id })),
      }),
    ),
  ),
  syncsumOwners: Type.Optional(Type.Record(Type.String(), Id)),
  policy: Type.Optional(
    Type.Object({
      name: Type.String(),
      broadcast: Type.Union([Type.Literal("always"), Type.Literal("selective")]),
      threshold: Type.Number({ minimum: 0 }),
      silence: Type.Boolean(),
      cellSize: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
  cell: Type.Optional(Type.Array(Id)),
  deliberative: Type.Optional(
    Type.Object({ address: Id, watch: Type.Record(Type.String(), Type.Number()) }),
  ),
});

let checker: ReturnType<typeof TypeCompiler.Compile<typeof AgentSetupSchema>> | undefined;

/** Where in the setup, for messages: `where: view.nodes[3].duration`. */
const at = (where: string, path: readonly (string | number)[]): string =>
  path.length === 0 ? where : `${where}: ${renderPath(path)}`;

/**
 * Checks a C-TAEMS agent setup received from elsewhere (a `csc-setup` message, a journal) and
 * returns it typed, or one readable line saying where (`where`, then the path in the setup) and
 * what is wrong. Besides the shape, the parts must agree: the view is the agent's own, its own
 * activities are activity nodes of the view, and the initial schedule names only those.
 */
export function parseAgentSetup(value: unknown, where: string): Result<AgentSetup, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return err(
      `${where}: expected a setup object, found ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`,
    );
  checker ??= TypeCompiler.Compile(AgentSetupSchema);
  if (!checker.Check(value)) {
    const [first] = schemaIssues(checker.Errors(value));
    return err(
      first ? `${at(where, first.path)}: ${first.message}` : `${where}: not a valid setup`,
    );
  }
  const setup = value as unknown as AgentSetup;
  if (setup.view.agentId !== setup.agentId)
    return err(
      `${at(where, ["view", "agentId"])}: is "${setup.view.agentId}", expected the setup's agent "${setup.agentId}"`,
    );
  const kinds = new Map(setup.view.nodes.map((n) => [n.id, n.kind] as const));
  for (const [i, id] of setup.view.own.entries())
    if (kinds.get(id) !== "activity")
      return err(`${at(where, ["view", "own", i])}: "${id}" is not an activity of the view`);
  const own = new Set(setup.view.own);
  for (const [i, e] of setup.initial.entries())
    if (!own.has(e.activityId))
      return err(
        `${at(where, ["initial", i, "activityId"])}: "${e.activityId}" is not one of the agent's own activities`,
      );
  return ok(setup);
}
