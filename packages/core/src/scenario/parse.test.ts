import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { formatInputError, type InputError } from "../import/input-error.js";
import { parseOrLibrary } from "../import/orlib.js";
import { jobShopToModel, modelToJobShop } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import { parseScenario, type Scenario, scenarioFormatOf, scenarioIssue } from "./parse.js";
import type { ScenarioDocument } from "./schema.js";

const fixture = (file: string) =>
  readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8");

const parsed = (text: string, source = "plant.yaml"): Scenario => {
  const result = parseScenario(text, source);
  if (!result.ok) throw new Error(result.error.map(formatInputError).join("\n"));
  return result.value;
};

const errors = (text: string, source = "plant.yaml"): InputError[] => {
  const result = parseScenario(text, source);
  if (result.ok) throw new Error("expected the scenario to be rejected");
  return result.error;
};

const first = (text: string, source = "plant.yaml"): string =>
  formatInputError(errors(text, source)[0]!);

/** 1-based line of the first line containing `needle`. */
const lineOf = (text: string, needle: string): number => {
  const index = text.split("\n").findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`no line contains ${needle}`);
  return index + 1;
};

describe("parseScenario: valid files", () => {
  it("reads the YAML example: jobs and a network under one generated sum root", () => {
    const text = fixture("press-shop.yaml");
    const scenario = parsed(text, "fixtures/press-shop.yaml");
    expect(scenario.name).toBe("press-shop");
    expect(scenario.format).toBe("yaml");
    expect(scenario.description).toMatch(/Two orders/);
    const { model } = scenario;
    expect(indexModel(model).ok).toBe(true);
    expect(model.root).toBe("root");
    expect(model.nodes.find((n) => n.id === "root")).toEqual({
      kind: "task",
      id: "root",
      qaf: "sum",
      children: ["mission", "order-17", "order-18"],
    });
    expect(model.nodes.find((n) => n.id === "order-17")).toEqual({
      kind: "task",
      id: "order-17",
      qaf: "min",
      children: ["order-17.o0", "order-17.paint"],
      releaseTicks: 0,
      due: { dueTicks: 120, weight: 2 },
    });
    expect(model.nodes.find((n) => n.id === "order-17.paint")).toEqual({
      kind: "activity",
      id: "order-17.paint",
      resources: ["paint1", "paint2"],
      duration: [
        { value: 8, probability: 0.7 },
        { value: 12, probability: 0.3 },
      ],
      quality: [{ value: 1, probability: 1 }],
    });
    expect(model.nodes.find((n) => n.id === "maintain")).toMatchObject({ deadlineTicks: 200 });
    expect(model.links).toEqual([
      { kind: "enables", from: "order-17.o0", to: "order-17.paint" },
      { kind: "enables", from: "order-18.o0", to: "order-18.o1" },
      { kind: "precedence", from: "order-17.o0", to: "order-18" },
      { kind: "enables", from: "inspect", to: "maintain" },
    ]);
    expect(model.resources[0]).toEqual({ id: "press1", kind: "machine", name: "Press 1" });
    // Origins point into the file.
    const paint = model.nodes.findIndex((n) => n.id === "order-17.paint");
    expect(scenario.origins.nodes[paint]).toEqual({
      path: "jobs[0].operations[1]",
      line: lineOf(text, "id: order-17.paint"),
      column: 9,
    });
  });

  it("reads the JSON example, a plain job shop", () => {
    const text = fixture("small-shop.json");
    const scenario = parsed(text, "small-shop.json");
    expect(scenario.format).toBe("json");
    const shop = modelToJobShop(scenario.model);
    expect(shop.ok && shop.value).toEqual({
      name: "small-shop",
      machineIds: ["lathe", "mill"],
      jobs: [
        {
          id: "shaft",
          releaseTicks: 0,
          dueTicks: 20,
          weight: 3,
          operations: [
            { id: "shaft.o0", machine: 0, durationTicks: 5 },
            { id: "shaft.o1", machine: 1, durationTicks: 4 },
          ],
        },
        {
          id: "bracket",
          releaseTicks: 2,
          weight: 1,
          operations: [
            { id: "bracket.o0", machine: 1, durationTicks: 6 },
            { id: "bracket.o1", machine: 0, durationTicks: 3 },
          ],
        },
      ],
    });
    const bracket = scenario.model.nodes.findIndex((n) => n.id === "bracket");
    expect(scenario.origins.nodes[bracket]).toMatchObject({
      path: "jobs[1]",
      line: lineOf(text, '"id": "bracket"') - 1,
    });
  });

  it("a jobs-only scenario is the model jobShopToModel makes", () => {
    const ft06 = parseOrLibrary(
      readFileSync(new URL("../../../../data/jobshop/ft06.txt", import.meta.url), "utf8"),
      "ft06.txt",
    );
    if (!ft06.ok) throw new Error(formatInputError(ft06.error));
    const instance = ft06.value;
    const doc: ScenarioDocument = {
      name: instance.name,
      resources: instance.machineIds.map((id) => ({ id, kind: "machine" as const })),
      jobs: instance.jobs.map((job) => ({
        id: job.id,
        operations: job.operations.map((op) => ({
          resource: instance.machineIds[op.machine]!,
          duration: op.durationTicks,
        })),
      })),
    };
    expect(parsed(stringify(doc), "ft06.yaml").model).toEqual(jobShopToModel(instance));
    expect(parsed(JSON.stringify(doc), "ft06.json").model).toEqual(jobShopToModel(instance));
  });

  it("a network task may hold jobs; then the network's root is the model's root", () => {
    const scenario = parsed(`
resources: [{ id: p }]
jobs:
  - { id: a, operations: [{ resource: p, duration: 2 }] }
  - { id: b, operations: [{ resource: p, duration: 3 }] }
network:
  root: order
  tasks: [{ id: order, qaf: min, children: [a, b] }]
`);
    expect(scenario.model.root).toBe("order");
    expect(scenario.model.nodes.map((n) => n.id)).toEqual(["a", "a.o0", "b", "b.o0", "order"]);
    expect(scenario.name).toBe("plant");
  });

  it("a network alone; links default to enables; the generated root avoids taken ids", () => {
    const network = parsed(`
resources: [{ id: r }]
network:
  root: m
  tasks: [{ id: m, qaf: syncsum, children: [x, y] }]
  activities:
    - { id: x, resource: r, duration: 1 }
    - { id: y, resources: [r], duration: 2, quality: 3, release: 1, deadline: 9 }
  links: [{ from: x, to: y }]
`).model;
    expect(network.root).toBe("m");
    expect(network.links).toEqual([{ kind: "enables", from: "x", to: "y" }]);
    const taken = parsed(`
resources: [{ id: r }]
jobs: [{ id: root, operations: [{ resource: r, duration: 1 }] }]
`).model;
    expect(taken.root).toBe("root1");
  });

  it("decides the format by extension, else by content", () => {
    expect(scenarioFormatOf("a.json")).toBe("json");
    expect(scenarioFormatOf("a.YML")).toBe("yaml");
    expect(scenarioFormatOf("a.yaml", "{}")).toBe("yaml");
    expect(scenarioFormatOf("<stdin>", ' {"a": 1}')).toBe("json");
    expect(scenarioFormatOf("<stdin>", "{a: 1}")).toBe("yaml");
    expect(scenarioFormatOf("<stdin>", "a: 1")).toBe("yaml");
  });
});

describe("parseScenario: invalid files", () => {
  it("YAML syntax error, with the library's line and column", () => {
    const e = errors("resources: [{ id: p }]\njobs: [1, 2\nnetwork: 3\n");
    expect(e[0]).toMatchObject({ source: "plant.yaml", line: 3, column: 1 });
    expect(e[0]!.message).toMatch(/^invalid YAML: Flow sequence .* must .* end with a \]/);
    expect(first("a: 1\na: 2\n")).toBe("plant.yaml:2:1: invalid YAML: Map keys must be unique");
  });

  it("JSON syntax error, with line and column", () => {
    const text = '{\n  "resources": [{ "id": "p" }],\n  "jobs": [1, 2,]\n}\n';
    expect(first(text, "s.json")).toBe("s.json:3:17: invalid JSON: trailing comma before ]");
    expect(first('{"name": "x"', "s.json")).toBe(
      'plant.json:1:13: invalid JSON: unexpected end of file, expected "," or "}"'.replace(
        "plant.json",
        "s.json",
      ),
    );
    expect(first('{"a": 1, "a": 2}', "s.json")).toMatch(/^s\.json:1:10: duplicate key/);
  });

  it("wrong type, with its line and column", () => {
    const text = `resources:
  - id: press1
jobs:
  - id: a
    operations:
      - { resource: press1, duration: 12 }
      - resource: press1
        duration: twelve
`;
    expect(errors(text)).toEqual([
      {
        source: "plant.yaml",
        line: 8,
        column: 19,
        path: "jobs[0].operations[1].duration",
        message: 'must be a positive integer or a list of {value, probability}, found "twelve"',
      },
    ]);
    expect(first(text.replace("twelve", "-3"))).toBe(
      "plant.yaml:8:19: jobs[0].operations[1].duration: must be a positive integer, found -3",
    );
    // Numbers a double cannot hold exactly, or that would overflow sums of times, are refused.
    expect(first(text.replace("twelve", "1e308"))).toBe(
      "plant.yaml:8:19: jobs[0].operations[1].duration: must be a positive integer at most 1,000,000,000, found 1e+308",
    );
    expect(first(text.replace("twelve", "99999999999999999999"))).toBe(
      "plant.yaml:8:19: jobs[0].operations[1].duration: must be a positive integer at most 1,000,000,000, found 100000000000000000000",
    );
    expect(first(text.replace("twelve", "[{ value: 2, probability: 1.5 }]"))).toBe(
      "plant.yaml:8:45: jobs[0].operations[1].duration[0].probability: must be a number in (0, 1], found 1.5",
    );
    expect(first(text.replace("- id: a", "- id: 17"))).toBe(
      'plant.yaml:4:9: jobs[0].id: must be a non-empty string, found 17 (quote it: "17")',
    );
    expect(first(text.replace("- id: press1", "- id: press1\n    kind: lathe"))).toBe(
      'plant.yaml:3:11: resources[0].kind: must be one of "machine", "rover", "other", found "lathe"',
    );
  });

  it("wrong type in a JSON file, located through the parsed document", () => {
    const text = `{
  "resources": [{ "id": "p" }],
  "jobs": [
    { "id": "a", "release": "soon", "operations": [{ "resource": "p", "duration": 1 }] }
  ]
}`;
    expect(first(text, "s.json")).toBe(
      's.json:4:29: jobs[0].release: must be an integer >= 0, found "soon"',
    );
  });

  it("missing required field", () => {
    const text = "resources:\n  - id: p\njobs:\n  - id: a\n    due: 4\n";
    expect(errors(text)).toEqual([
      {
        source: "plant.yaml",
        line: 4,
        column: 5,
        path: "jobs[0]",
        message: 'missing required field "operations"',
      },
    ]);
    expect(first("jobs: []\n")).toBe('plant.yaml:1:1: missing required field "resources"');
    expect(
      first("resources: [{ id: p }]\njobs:\n  - id: a\n    operations: [{ duration: 1 }]\n"),
    ).toBe(
      'plant.yaml:4:18: jobs[0].operations[0]: missing required field "resource" (or "resources" for alternatives)',
    );
  });

  it("unknown field, with a suggestion", () => {
    expect(first("resources: [{ id: p }]\njobs: []\ndisruptoins: []\n")).toBe(
      'plant.yaml:3:1: disruptoins: unknown field "disruptoins"; allowed: $schema, name, description, resources, jobs, network',
    );
    expect(
      first(
        "resources: [{ id: p }]\njobs:\n  - id: a\n    operations: [{ resource: p, durration: 1 }]\n",
      ),
    ).toMatch(
      /^plant\.yaml:4:33: jobs\[0\]\.operations\[0\]\.durration: unknown field "durration" \(did you mean "duration"\?\)/,
    );
  });

  it("unknown resource reference", () => {
    const text = `resources:
  - id: press1
  - id: paint1
jobs:
  - id: a
    operations:
      - { resource: press1, duration: 1 }
  - id: b
    operations:
      - { resource: press2, duration: 1 }
      - { resources: [paint1, paint9], duration: 1 }
`;
    expect(errors(text)).toEqual([
      {
        source: "plant.yaml",
        line: 10,
        column: 21,
        path: "jobs[1].operations[0].resource",
        message: 'unknown resource "press2" (did you mean "press1"?)',
      },
      {
        source: "plant.yaml",
        line: 11,
        column: 31,
        path: "jobs[1].operations[1].resources[1]",
        message: 'unknown resource "paint9" (did you mean "paint1"?)',
      },
    ]);
  });

  it("unknown node references in the network and in after", () => {
    const text = `resources: [{ id: r }]
jobs:
  - { id: a, after: [nothing], operations: [{ resource: r, duration: 1 }] }
network:
  root: m
  tasks: [{ id: m, qaf: sum, children: [x, ghost] }]
  activities: [{ id: x, resource: r, duration: 1 }]
  links: [{ kind: precedence, from: x, to: phantom }]
`;
    expect(errors(text).map(formatInputError)).toEqual([
      'plant.yaml:3:22: jobs[0].after[0]: unknown node "nothing"',
      'plant.yaml:6:44: network.tasks[0].children[1]: unknown node "ghost"',
      'plant.yaml:8:44: network.links[0].to: unknown node "phantom"',
    ]);
  });

  it("duplicate ids", () => {
    const text = `resources:
  - id: p
  - id: p
jobs:
  - id: a
    operations: [{ resource: p, duration: 1 }]
  - id: a
    operations: [{ id: x, resource: p, duration: 1 }]
`;
    expect(errors(text).map(formatInputError)).toEqual([
      'plant.yaml:3:9: resources[1].id: duplicate resource id "p"',
      'plant.yaml:7:9: jobs[1].id: duplicate node id "a"',
    ]);
    const generated = `resources: [{ id: p }]
jobs:
  - id: a
    operations:
      - { resource: p, duration: 1 }
      - { id: a.o0, resource: p, duration: 1 }
`;
    expect(errors(generated).map(formatInputError)).toEqual([
      'plant.yaml:6:15: jobs[0].operations[1].id: duplicate node id "a.o0"',
    ]);
    const generatedSecond = generated.replace(
      "      - { resource: p, duration: 1 }\n      - { id: a.o0, resource: p, duration: 1 }",
      "      - { id: a.o1, resource: p, duration: 1 }\n      - { resource: p, duration: 1 }",
    );
    expect(first(generatedSecond)).toBe(
      'plant.yaml:6:9: jobs[0].operations[1]: duplicate node id "a.o1" (the default id of this operation; give it an "id")',
    );
  });

  it("probabilities that do not sum to 1", () => {
    const text = `resources: [{ id: p }]
jobs:
  - id: a
    operations:
      - resource: p
        duration:
          - { value: 3, probability: 0.5 }
          - { value: 5, probability: 0.4 }
        quality: [{ value: 1, probability: 0.2 }]
`;
    expect(errors(text).map(formatInputError)).toEqual([
      "plant.yaml:7:11: jobs[0].operations[0].duration: probabilities sum to 0.9, not 1",
      "plant.yaml:9:18: jobs[0].operations[0].quality: probabilities sum to 0.2, not 1",
    ]);
  });

  it("cyclic links", () => {
    const text = `resources: [{ id: r }]
network:
  root: m
  tasks: [{ id: m, qaf: sum, children: [x, y, z] }]
  activities:
    - { id: x, resource: r, duration: 1 }
    - { id: y, resource: r, duration: 1 }
    - { id: z, resource: r, duration: 1 }
  links:
    - { from: x, to: y }
    - { from: z, to: x }
    - { kind: precedence, from: y, to: z }
`;
    expect(errors(text)).toEqual([
      {
        source: "plant.yaml",
        line: 10,
        column: 7,
        path: "network.links[0]",
        message: "links form a cycle: x -> y -> z -> x",
      },
    ]);
    const jobs = `resources: [{ id: r }]
jobs:
  - { id: a, after: [b], operations: [{ resource: r, duration: 1 }] }
  - { id: b, after: [a.o0], operations: [{ resource: r, duration: 1 }] }
`;
    expect(first(jobs)).toBe(
      "plant.yaml:3:22: jobs[0].after[0]: links form a cycle: b.o0 -> a.o0 -> b.o0",
    );
  });

  it("a cycle in the reward tree", () => {
    const text = `resources: [{ id: r }]
network:
  root: m
  tasks:
    - { id: m, qaf: sum, children: [t, x] }
    - { id: t, qaf: sum, children: [u] }
    - { id: u, qaf: sum, children: [t] }
  activities: [{ id: x, resource: r, duration: 1 }]
`;
    const [e] = errors(text);
    expect(e?.message).toMatch(/^node "t" has two parents|cycle/);
    expect(e?.line).toBeGreaterThanOrEqual(5);
  });

  it("resource and resources together, weight without due, deadline before release", () => {
    const text = `resources: [{ id: r }]
jobs:
  - id: a
    weight: 3
    operations:
      - { resource: r, resources: [r], duration: 1 }
      - { resource: r, duration: 1, release: 5, deadline: 4 }
`;
    expect(errors(text).map(formatInputError)).toEqual([
      'plant.yaml:4:5: jobs[0].weight: a weight is the cost per tick late, so it needs a "due" date',
      'plant.yaml:6:24: jobs[0].operations[0].resources: give either "resource" or "resources", not both',
    ]);
    expect(first(text.replace("    weight: 3\n", "").replace("resources: [r], ", ""))).toBe(
      "plant.yaml:6:59: jobs[0].operations[1].deadline: deadline 4 is before release 5",
    );
  });

  it("an empty file, a list, a scenario without jobs or network", () => {
    expect(errors("")).toEqual([{ source: "plant.yaml", message: "empty scenario file" }]);
    expect(first("# only a comment\n")).toMatch(/found an empty document$/);
    expect(first("- 1\n- 2\n")).toMatch(/^plant\.yaml:1:1: a scenario must be a mapping/);
    expect(first("resources: [{ id: r }]\n")).toBe(
      'plant.yaml:1:1: a scenario needs "jobs" or a "network" (or both); it has neither',
    );
  });

  it("keeps every schema error, sorted by position in the file", () => {
    const text = `resources:
  - { id: r, kind: robot }
jobs:
  - id: a
    operations: []
  - id: ""
    operations: [{ resource: r, duration: 0 }]
network:
  root: m
  tasks: [{ id: m, qaf: avg, children: [] }]
`;
    expect(errors(text).map((e) => [e.line, e.path])).toEqual([
      [2, "resources[0].kind"],
      [5, "jobs[0].operations"],
      [6, "jobs[1].id"],
      [7, "jobs[1].operations[0].duration"],
      [10, "network.tasks[0].qaf"],
      [10, "network.tasks[0].children"],
    ]);
  });
});

describe("scenarioIssue", () => {
  it("locates a later model issue (here: modelToJobShop) in the scenario file", () => {
    const text = fixture("press-shop.yaml");
    const scenario = parsed(text, "press-shop.yaml");
    const shop = modelToJobShop(scenario.model);
    if (shop.ok) throw new Error("the press shop is not a plain job shop");
    const located = shop.error.map((issue) => formatInputError(scenarioIssue(scenario, issue)));
    expect(located).toContain(
      `press-shop.yaml:${lineOf(text, "id: order-17.paint")}:9: jobs[0].operations[1]: operation "order-17.paint" has an uncertain duration; the job-shop solver needs a fixed one`,
    );
  });
});
