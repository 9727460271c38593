import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { type DocPath, fromPointer } from "./path.js";

/** A schema violation in the user's terms. `at` says which part of the file to point at. */
export interface SchemaIssue {
  readonly path: DocPath;
  readonly message: string;
  /** `key`: the key at `path` (an unknown field); `value`: the value at `path`. */
  readonly at: "key" | "value";
  /** For a missing field: its name; for an unknown field: the allowed name it resembles. */
  readonly field?: string;
}

type Json = Record<string, unknown>;
const field = (schema: TSchema, key: string): unknown => (schema as Json)[key];

type ValueKind = "number" | "string" | "boolean" | "array" | "object" | "null" | "other";

const kindOfValue = (value: unknown): ValueKind => {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  return t === "number" || t === "string" || t === "boolean" || t === "object" ? t : "other";
};

const kindOfSchema = (schema: TSchema): ValueKind | undefined => {
  const type = field(schema, "type");
  if (type === "integer" || type === "number") return "number";
  if (type === "string" || type === "boolean" || type === "array" || type === "object") return type;
  return undefined;
};

/** What a schema expects, for messages: "a positive integer", "one of "min", "max"". */
export function describeSchema(schema: TSchema): string {
  const anyOf = field(schema, "anyOf") as TSchema[] | undefined;
  if (anyOf) {
    if (anyOf.every((s) => field(s, "const") !== undefined))
      return `one of ${anyOf.map((s) => JSON.stringify(field(s, "const"))).join(", ")}`;
    return anyOf.map(describeSchema).join(" or ");
  }
  const constant = field(schema, "const");
  if (constant !== undefined) return JSON.stringify(constant);
  const min = field(schema, "minimum") as number | undefined;
  const exclusiveMin = field(schema, "exclusiveMinimum") as number | undefined;
  const max = field(schema, "maximum") as number | undefined;
  switch (field(schema, "type")) {
    case "integer":
      if (min === 1) return "a positive integer";
      if (min !== undefined) return `an integer >= ${min}`;
      return "an integer";
    case "number":
      if (exclusiveMin !== undefined && max !== undefined)
        return `a number in (${exclusiveMin}, ${max}]`;
      if (min !== undefined) return `a number >= ${min}`;
      return "a number";
    case "string":
      return field(schema, "minLength") ? "a non-empty string" : "a string";
    case "boolean":
      return "true or false";
    case "array": {
      const items = field(schema, "items") as TSchema | undefined;
      const title = items && (field(items, "title") as string | undefined);
      return title ? `a list of ${title}` : "a list";
    }
    case "object": {
      const title = field(schema, "title") as string | undefined;
      return title ? `a mapping ${title}` : "a mapping";
    }
    default:
      return "a valid value";
  }
}

/** How a found value is shown in messages. */
export function showValue(value: unknown): string {
  switch (kindOfValue(value)) {
    case "null":
      return "an empty value";
    case "array":
      return "a list";
    case "object":
      return "a mapping";
    case "string": {
      const s = value as string;
      return JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
    }
    case "other":
      return value === undefined ? "nothing" : typeof value;
    default:
      return String(value);
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(
        above + 1,
        row[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest allowed name, when it is close enough to be a typo. */
export function closest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3))
    ? best
    : undefined;
}

function* translate(error: ValueError): Generator<SchemaIssue> {
  const path = fromPointer(error.path);
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty: {
      const key = path[path.length - 1];
      yield {
        path: path.slice(0, -1),
        message: `missing required field "${key}"`,
        at: "value",
        field: String(key),
      };
      return;
    }
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = String(path[path.length - 1]);
      const allowed = Object.keys((field(error.schema, "properties") as Json | undefined) ?? {});
      const guess = closest(key, allowed);
      yield {
        path,
        message: `unknown field "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}; allowed: ${allowed.join(", ")}`,
        at: "key",
        ...(guess ? { field: guess } : {}),
      };
      return;
    }
    case ValueErrorType.Union: {
      // When the value's kind (number, list, mapping) matches exactly one alternative, report
      // what is wrong inside that alternative rather than "not any of these".
      const alternatives = (field(error.schema, "anyOf") as TSchema[] | undefined) ?? [];
      const kind = kindOfValue(error.value);
      const matching = alternatives.flatMap((s, i) => (kindOfSchema(s) === kind ? [i] : []));
      const only = matching.length === 1 ? error.errors[matching[0]!] : undefined;
      if (only && field(alternatives[matching[0]!]!, "const") === undefined) {
        for (const inner of only) yield* translate(inner);
        return;
      }
      break;
    }
    case ValueErrorType.ArrayMinItems:
      yield {
        path,
        message: `must have at least ${field(error.schema, "minItems")} ${field(error.schema, "minItems") === 1 ? "entry" : "entries"}`,
        at: "value",
      };
      return;
    default:
      break;
  }
  const quote =
    field(error.schema, "type") === "string" &&
    (typeof error.value === "number" || typeof error.value === "boolean")
      ? ` (quote it: "${String(error.value)}")`
      : "";
  const max = field(error.schema, "maximum");
  const bound =
    field(error.schema, "type") === "integer" &&
    typeof max === "number" &&
    typeof error.value === "number" &&
    error.value > max
      ? ` at most ${max.toLocaleString("en")}`
      : "";
  yield {
    path,
    message: `must be ${describeSchema(error.schema)}${bound}, found ${showValue(error.value)}${quote}`,
    at: "value",
  };
}

/**
 * The schema errors of a value, in the user's terms, one per place: a missing field hides the
 * type error TypeBox also reports at the same path.
 */
export function schemaIssues(errors: Iterable<ValueError>): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  const missing = new Set<string>();
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.type === ValueErrorType.ObjectRequiredProperty) missing.add(error.path);
    else if (missing.has(error.path)) continue;
    for (const issue of translate(error)) {
      const key = `${JSON.stringify(issue.path)} ${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(issue);
    }
  }
  // A misspelt required field is reported once, as the misspelling.
  const parent = (issue: SchemaIssue) =>
    JSON.stringify(issue.at === "key" ? issue.path.slice(0, -1) : issue.path);
  const typos = new Set(
    out.filter((i) => i.at === "key" && i.field).map((i) => `${parent(i)} ${i.field}`),
  );
  return out.filter((i) => !(i.at === "value" && i.field && typos.has(`${parent(i)} ${i.field}`)));
}
