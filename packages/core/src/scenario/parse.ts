import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type Document, LineCounter, parseDocument, type YAMLError } from "yaml";
import { baseName, type InputError, lineColumn } from "../import/input-error.js";
import type { ModelIssue } from "../model/model-index.js";
import type { TaskModel } from "../model/types.js";
import { err, ok, type Result } from "../result.js";
import { type BuildIssue, buildScenarioModel } from "./build.js";
import { findJsonSyntaxError, locateInDocument } from "./locate.js";
import { type DocPath, fromModelPath, renderPath } from "./path.js";
import { type ScenarioDocument, ScenarioSchema } from "./schema.js";
import { schemaIssues } from "./schema-errors.js";

export type ScenarioFormat = "yaml" | "json";

/** A place in a scenario file: the document path, and the line and column when known. */
export interface SourceSpot {
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
}

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  /** The source name given to `parseScenario` (a file path, for messages). */
  readonly source: string;
  readonly format: ScenarioFormat;
  readonly model: TaskModel;
  /** The file's content as validated, for sections that are not part of the model. */
  readonly document: ScenarioDocument;
  /**
   * Where the model's elements are written, parallel to `model.nodes`, `model.resources` and
   * `model.links` (a generated root or chain link points at its job or operation).
   */
  readonly origins: {
    readonly nodes: readonly SourceSpot[];
    readonly resources: readonly SourceSpot[];
    readonly links: readonly SourceSpot[];
  };
}

const checker = TypeCompiler.Compile(ScenarioSchema);

/** The format of a scenario file: by the source's extension, else by its first character. */
export function scenarioFormatOf(source: string, text = ""): ScenarioFormat {
  const lower = source.toLowerCase();
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  return /^\uFEFF?\s*[{[]/.test(text) &&
    findJsonSyntaxError(text.replace(/^\uFEFF/, "")) === undefined
    ? "json"
    : "yaml";
}

/** A YAML or JSON document read, with what locates its values in the text. */
export interface ReadDocument {
  readonly data: unknown;
  readonly format: ScenarioFormat;
  /** The parsed document, when positions can be found in it (not for JSON YAML cannot read). */
  readonly located: Document | undefined;
  readonly lineCounter: LineCounter;
}

/**
 * Reads YAML or JSON text (without `format`, decided by the source's extension) into data,
 * keeping the document to locate errors in. Syntax errors and duplicate keys name their line
 * and column, sorted by position; an empty file gets `emptyMessage`.
 */
export function readDocument(
  text: string,
  source: string,
  emptyMessage: string,
  format?: ScenarioFormat,
): Result<ReadDocument, InputError[]> {
  const fmt = format ?? scenarioFormatOf(source, text);
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") return err([{ source, message: emptyMessage }]);
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
  return ok({ data, format: fmt, located, lineCounter });
}

/**
 * Reads a scenario file (YAML or JSON; without `format`, decided by the source's extension).
 * It is checked against the JSON Schema (`ScenarioSchema`), then built into a task model and
 * checked structurally (`indexModel`). Every error names its place: line and column when the file
 * could be parsed, and the path in the document (`jobs[1].operations[0].duration`). Errors are
 * sorted by their position in the file.
 */
export function parseScenario(
  text: string,
  source: string,
  format?: ScenarioFormat,
): Result<Scenario, InputError[]> {
  const read = readDocument(text, source, "empty scenario file", format);
  if (!read.ok) return read;
  const { data, located, lineCounter, format: fmt } = read.value;

  const spot = (path: DocPath, at: "key" | "value" = "value"): SourceSpot => {
    const position = located ? locateInDocument(located, lineCounter, path, at) : undefined;
    return { path: renderPath(path), ...(position ?? {}) };
  };
  const toError = (issue: BuildIssue): InputError => {
    const { path, ...position } = spot(issue.path, issue.at);
    return { source, ...position, ...(path ? { path } : {}), message: issue.message };
  };

  if (data === null || typeof data !== "object" || Array.isArray(data))
    return err([
      toError({
        path: [],
        message: `a scenario must be a mapping with "resources" and "jobs" and/or "network", found ${data === null ? "an empty document" : Array.isArray(data) ? "a list" : JSON.stringify(data)}`,
      }),
    ]);
  if (!checker.Check(data))
    return err(sortByPosition(schemaIssues(checker.Errors(data)).map(toError)));

  const name = data.name ?? baseName(source);
  const built = buildScenarioModel(data, name);
  if (!built.ok) return err(sortByPosition(built.error.map(toError)));
  const { model, nodeOrigins, linkOrigins, resourceOrigins } = built.value;
  return ok({
    name,
    ...(data.description !== undefined ? { description: data.description } : {}),
    source,
    format: fmt,
    model,
    document: data,
    origins: {
      nodes: nodeOrigins.map((o) => spot(o.path)),
      resources: resourceOrigins.map((p) => spot(p)),
      links: linkOrigins.map((o) => spot(o.path)),
    },
  });
}

/**
 * An issue found later on a scenario's model (e.g. by `modelToJobShop`), located in the scenario
 * file by the node, resource or link its path starts with.
 */
export function scenarioIssue(scenario: Scenario, issue: ModelIssue): InputError {
  const [head, index] = fromModelPath(issue.path);
  const list =
    head === "nodes"
      ? scenario.origins.nodes
      : head === "resources"
        ? scenario.origins.resources
        : head === "links"
          ? scenario.origins.links
          : undefined;
  const where = typeof index === "number" ? list?.[index] : undefined;
  if (!where) return { source: scenario.source, path: issue.path, message: issue.message };
  const { path, ...position } = where;
  return {
    source: scenario.source,
    ...position,
    ...(path ? { path } : {}),
    message: issue.message,
  };
}

export function yamlError(
  error: YAMLError,
  source: string,
  lineCounter: LineCounter,
  prefix: string,
): InputError {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return { source, line, column: col, message: `${prefix}: ${message}` };
}

export function jsonSyntaxError(body: string, source: string, thrown: unknown): InputError {
  const found = findJsonSyntaxError(body);
  if (found)
    return {
      source,
      ...lineColumn(body, found.offset),
      message: `invalid JSON: ${found.message}`,
    };
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  return { source, message: `invalid JSON: ${text.replace(/, ".*" is not valid JSON$/s, "")}` };
}

export function sortByPosition(errors: InputError[]): InputError[] {
  const key = (e: InputError) =>
    e.line === undefined ? Number.POSITIVE_INFINITY : e.line * 1e6 + (e.column ?? 0);
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => key(a.e) - key(b.e) || a.i - b.i)
    .map(({ e }) => e);
}
