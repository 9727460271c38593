import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { InputError } from "../import/input-error.js";
import { err, ok, type Result } from "../result.js";
import { locateInDocument } from "./locate.js";
import { readDocument, type ScenarioFormat, sortByPosition } from "./parse.js";
import { renderPath } from "./path.js";
import { schemaIssues } from "./schema-errors.js";

/**
 * Reads a small YAML or JSON document (e.g. an order) against a JSON Schema, with the errors of
 * scenario files: each names its line, column and path (`jobs[0].operations[1].durationTicks:
 * must be a positive integer, found 0`), sorted by position. `what` names the document in the
 * message for an empty or non-mapping file ("an order").
 */
export function parseSchemaDocument<S extends TSchema>(
  text: string,
  source: string,
  schema: S,
  what: string,
  format?: ScenarioFormat,
): Result<Static<S>, InputError[]> {
  const read = readDocument(text, source, `empty file, expected ${what}`, format);
  if (!read.ok) return read;
  const { data, located, lineCounter } = read.value;
  if (data === null || typeof data !== "object" || Array.isArray(data))
    return err([{ source, message: `${what} must be a mapping, found ${JSON.stringify(data)}` }]);
  const checker = TypeCompiler.Compile(schema);
  if (!checker.Check(data))
    return err(
      sortByPosition(
        schemaIssues(checker.Errors(data)).map((issue) => {
          const position = located
            ? locateInDocument(located, lineCounter, issue.path, issue.at)
            : undefined;
          const path = renderPath(issue.path);
          return { source, ...(position ?? {}), ...(path ? { path } : {}), message: issue.message };
        }),
      ),
    );
  return ok(data as Static<S>);
}
