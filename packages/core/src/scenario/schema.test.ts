import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseScenario } from "./parse.js";
import { SCENARIO_SCHEMA_ID, ScenarioSchema, scenarioJsonSchema } from "./schema.js";

const published = new URL("../../schema/scenario.schema.json", import.meta.url);
const REGENERATE =
  "UPDATE_SCHEMA=1 npx vitest run src/scenario/schema.test.ts (in packages/core), then npx biome check --write packages/core/schema";

describe("the published JSON Schema", () => {
  it("packages/core/schema/scenario.schema.json is generated from the TypeBox schema", () => {
    const generated = scenarioJsonSchema();
    if (process.env.UPDATE_SCHEMA)
      writeFileSync(published, `${JSON.stringify(generated, null, 2)}\n`);
    const path = fileURLToPath(published);
    if (!existsSync(path)) throw new Error(`${path} is missing; regenerate it: ${REGENERATE}`);
    const committed: unknown = JSON.parse(readFileSync(published, "utf8"));
    // Compared as data, so reformatting the file (biome) does not count as a change.
    expect(
      committed,
      `${path} differs from the TypeBox schema in src/scenario/schema.ts; regenerate it: ${REGENERATE}`,
    ).toEqual(generated);
  });

  it("has an id, a title and a description on every field", () => {
    const schema = scenarioJsonSchema() as Record<string, unknown>;
    expect(schema.$id).toBe(SCENARIO_SCHEMA_ID);
    expect(schema.title).toBe("Consort scenario");
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== "object") return;
      const record = node as Record<string, unknown>;
      const properties = record.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, value] of Object.entries(properties ?? {})) {
        if (typeof value.description !== "string") undocumented.push(`${path}.${key}`);
        walk(value, `${path}.${key}`);
      }
      if (record.items) walk(record.items, `${path}[]`);
      for (const alternative of (record.anyOf as unknown[] | undefined) ?? [])
        walk(alternative, path);
    };
    walk(schema, "$");
    expect(undocumented).toEqual([]);
  });

  it("accepts the example scenarios", () => {
    const check = TypeCompiler.Compile(ScenarioSchema);
    const yaml = readFileSync(new URL("./fixtures/press-shop.yaml", import.meta.url), "utf8");
    const json = readFileSync(new URL("./fixtures/small-shop.json", import.meta.url), "utf8");
    expect(check.Check(parse(yaml))).toBe(true);
    expect(check.Check(JSON.parse(json))).toBe(true);
  });
});

describe("the format's documentation", () => {
  it("the example in packages/core/schema/README.md is a valid scenario", () => {
    const readme = readFileSync(new URL("../../schema/README.md", import.meta.url), "utf8");
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const result = parseScenario(example ?? "", "README.yaml");
    expect(result.ok ? [] : result.error).toEqual([]);
  });
});
