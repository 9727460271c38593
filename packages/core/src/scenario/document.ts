import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type Document, LineCounter, parseDocument } from "yaml";
import type { InputError } from "../import/input-error.js";
import { err, ok, type Result } from "../result.js";
import { locateInDocument } from "./locate.js";
import {
  jsonSyntaxError,
  type ScenarioFormat,
  scenarioFormatOf,
  sortByPosition,
  yamlError,
} from "./parse.js";
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
  const fmt = format ?? scenarioFormatOf(source, text);
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") return err([{ source, message: `empty file, expected ${what}` }]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(body, { lineCounter, prettyErrors: false, uniqueKeys: true });
  let data: unknown;
  let located: Document | undefined = doc;
  if (fmt === "json") {
    try {
      data = JSON.parse(body);
    } catch (e) {
      return err([jsonSyntaxError(body, source, e)]);
    }
    const duplicates = doc.errors.filter((e) => e.code === "DUPLICATE_KEY");
    if (duplicates.length > 0)
      return err(duplicates.map((e) => yamlError(e, source, lineCounter, "duplicate key")));
    if (doc.errors.length > 0) located = undefined;
  } else {
    if (doc.errors.length > 0)
      return err(
        sortByPosition(doc.errors.map((e) => yamlError(e, source, lineCounter, "invalid YAML"))),
      );
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      return err([{ source, message: `cannot read the YAML: ${(e as Error).message}` }]);
    }
  }
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
