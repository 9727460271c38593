import { readFile } from "node:fs/promises";
import type { Static, TObject } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

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
      merged[key] =
        kind === "integer" || kind === "number"
          ? Number(raw)
          : kind === "boolean"
            ? raw === "1" || raw === "true"
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
  if (first) {
    const key = first.path.split("/")[1] ?? "";
    const where = origin[key] ?? (key in defaults ? "defaults" : "settings");
    const field = first.path.slice(1).replaceAll("/", ".") || "(root)";
    return {
      ok: false,
      error: `${where}: ${field}: ${first.message}${first.value === undefined ? "" : ` (got ${JSON.stringify(first.value)})`}`,
    };
  }
  return { ok: true, value: merged as Static<S> };
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
