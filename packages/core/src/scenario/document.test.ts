import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { formatInputError } from "../import/input-error.js";
import { parseSchemaDocument } from "./document.js";

const Order = Type.Object(
  {
    orderId: Type.String({ minLength: 1 }),
    jobs: Type.Array(
      Type.Object(
        { id: Type.String({ minLength: 1 }), durationTicks: Type.Integer({ minimum: 1 }) },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

const lines = (text: string, source: string) => {
  const r = parseSchemaDocument(text, source, Order, "an order");
  return r.ok ? [] : r.error.map(formatInputError);
};

describe("parseSchemaDocument", () => {
  it("reads YAML and JSON that fit the schema", () => {
    const yaml = parseSchemaDocument(
      "orderId: o1\njobs: [{ id: a, durationTicks: 2 }]\n",
      "o.yaml",
      Order,
      "an order",
    );
    expect(yaml.ok && yaml.value.jobs[0]?.durationTicks).toBe(2);
    const json = parseSchemaDocument(
      '{"orderId":"o1","jobs":[{"id":"a","durationTicks":2}]}',
      "o.json",
      Order,
      "an order",
    );
    expect(json.ok).toBe(true);
  });
  it("names the line, column and path of each schema error", () => {
    expect(lines("orderId: o1\njobs:\n  - id: a\n    durationTicks: 0\n", "o.yaml")).toEqual([
      "o.yaml:4:20: jobs[0].durationTicks: must be a positive integer, found 0",
    ]);
    expect(lines("orderId: o1\njobs:\n  - id: a\n    duration: 2\n", "o.yaml")).toEqual([
      'o.yaml:3:5: jobs[0]: missing required field "durationTicks"',
      'o.yaml:4:5: jobs[0].duration: unknown field "duration"; allowed: id, durationTicks',
    ]);
    expect(lines('{"orderId": "o1", "jobs": []}', "o.json")).toEqual([
      "o.json:1:27: jobs: must have at least 1 entry",
    ]);
  });
  it("says where the syntax breaks, and refuses a file that is not a mapping", () => {
    expect(lines('{"orderId": "o1",}', "o.json")[0]).toMatch(/^o\.json:1:\d+: invalid JSON: /);
    expect(lines("- a\n- b\n", "o.yaml")).toEqual([
      'o.yaml: an order must be a mapping, found ["a","b"]',
    ]);
    expect(lines("  \n", "o.yaml")).toEqual(["o.yaml: empty file, expected an order"]);
  });
});
