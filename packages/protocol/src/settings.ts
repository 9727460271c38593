import { readFile } from "node:fs/promises";
import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";

/** An expected failure is a value: `error` is one line that says where and what. */
export type SettingsResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface SettingsSources {
  /** A JSON or YAML file of settings. */
  readonly file?: string;
  /** Environment variables: maps a variable name to the setting it fills. */
  readonly env?: {
    readonly vars: NodeJS.ProcessEnv;
    readonly names: Readonly<Record<string, string>>;
  };
  /** Command-line flags, already parsed; undefined values are ignored. */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/**
 * Settings for a process: defaults, then a file, then environment variables, then flags, checked
 * against a schema. Constructors take the result; nothing reads settings from a global.
 * Environment values are strings: a number or boolean setting is converted before checking.
 */
export async function loadSettings<S extends TObject>(
  schema: S,
  defaults: Partial<Static<S>>,
  sources: SettingsSources,
): Promise<SettingsResult<Static<S>>> {
  const merged: Record<string, unknown> = { ...defaults };
  const origin: Record<string, string> = {};
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = await readFile(sources.file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        ok: false,
        error: `${sources.file}: cannot read: ${code === "ENOENT" ? "no such file" : (code ?? String(error))}`,
      };
    }
    let parsed: unknown;
    try {
      parsed = await parseSettingsText(text);
    } catch (error) {
      return {
        ok: false,
        error: `${sources.file}: not valid YAML or JSON: ${String((error as Error).message).split("\n")[0]}`,
      };
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed))
        return { ok: false, error: `${sources.file}: expected a mapping of settings` };
      for (const [k, v] of Object.entries(parsed)) {
        merged[k] = v;
        origin[k] = sources.file;
      }
    }
  }
  if (sources.env) {
    for (const [name, key] of Object.entries(sources.env.names)) {
      const raw = sources.env.vars[name];
      if (raw === undefined || raw === "") continue;
      const kind = (schema.properties[key] as { type?: string } | undefined)?.type;
      // A value that does not convert stays the string it was, so the check names it as given.
      const number = raw.trim() === "" ? Number.NaN : Number(raw);
      const flag = BOOLEAN_WORDS[raw.trim().toLowerCase()];
      merged[key] =
        kind === "integer" || kind === "number"
          ? Number.isFinite(number)
            ? number
            : raw
          : kind === "boolean"
            ? (flag ?? raw)
            : raw;
      origin[key] = name;
    }
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    if (v === undefined) continue;
    merged[k] = v;
    origin[k] = "flags";
  }
  const check = TypeCompiler.Compile(schema);
  const first = check.Errors(merged).First();
  if (first) return { ok: false, error: describeError(schema, first, origin, sources) };
  return { ok: true, value: merged as Static<S> };
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  "1": true,
  yes: true,
  on: true,
  false: false,
  "0": false,
  no: false,
  off: false,
};

/** What a failed check means, in one line: the key, what was expected, what came, and from where. */
function describeError(
  schema: TObject,
  error: { type: ValueErrorType; path: string; value: unknown; schema: TSchema },
  origin: Readonly<Record<string, string>>,
  sources: SettingsSources,
): string {
  const parts = error.path.split("/").slice(1);
  const key = parts[0] ?? "";
  const field = parts.join(".");
  const from = origin[key];
  const where =
    from === undefined ? "" : from === "flags" ? " (from the command line)" : ` (from ${from})`;
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = parts.length <= 1 ? Object.keys(schema.properties) : [];
    return `settings: "${field}" is not a setting${where}${known.length ? `; known: ${known.join(", ")}` : ""}`;
  }
  const expected = expectation(error.schema);
  if (error.value === undefined) {
    const envName = Object.entries(sources.env?.names ?? {}).find(([, k]) => k === key)?.[0];
    if (parts.length > 1)
      return `settings: "${field}" is missing${from ? ` in ${from === "flags" ? "the command line" : from}` : ""} (expected ${expected})`;
    return `settings: "${field}" is missing (expected ${expected}; give it in the settings file${envName ? ` or ${envName}` : ""})`;
  }
  // A secret is never echoed.
  const got = /password|secret/i.test(key) ? "something else" : shown(error.value);
  return `settings: "${field}" must be ${expected}, got ${got}${where}`;
}

/** A schema's expectation in words: its description when it has one, else its type and bounds. */
function expectation(schema: TSchema): string {
  if (typeof schema.description === "string") return schema.description;
  const literals = (schema.anyOf as TSchema[] | undefined)?.map((s) => s.const);
  if (literals?.length && literals.every((l) => l !== undefined))
    return `one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`;
  const bounds = [
    schema.minimum !== undefined ? `>= ${schema.minimum}` : "",
    schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : "",
    schema.maximum !== undefined ? `<= ${schema.maximum}` : "",
  ].filter(Boolean);
  const bounded = (what: string) => (bounds.length ? `${what} ${bounds.join(" and ")}` : what);
  switch (schema.type) {
    case "integer":
      return bounded("a whole number");
    case "number":
      return bounded("a number");
    case "boolean":
      return "true or false";
    case "array":
      return "a list";
    case "object":
      return "a mapping";
    case "string":
      if (schema.pattern !== undefined) return `text matching /${schema.pattern}/`;
      if (typeof schema.minLength === "number" && schema.minLength > 1)
        return `text of at least ${schema.minLength} characters`;
      return schema.minLength ? "non-empty text" : "text";
    default:
      return "a valid value";
  }
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A settings file's text: JSON is read as JSON (YAML 1.2 reads valid JSON to the same values),
 * anything else as YAML, whose parser is loaded only then: a process started from a JSON file, as
 * the fleet starts its agents, does without it.
 */
async function parseSettingsText(text: string): Promise<unknown> {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all (YAML flow style, or an error the YAML parser words better).
    }
  }
  const { parse } = await import("yaml");
  return parse(text);
}
