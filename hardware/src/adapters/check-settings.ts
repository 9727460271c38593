import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";

/** An expected failure is a value: `error` is one line that says where and what. */
export type SettingsResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const compiled = new WeakMap<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

/**
 * Checks an adapter's settings (`environment` in the agent's settings) after filling in the
 * schema's defaults. `where` prefixes the error: `environment: points.start.address: …`.
 */
export function checkSettings<S extends TSchema>(
  schema: S,
  input: unknown,
  where = "environment",
): SettingsResult<Static<S>> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  const value = Value.Default(schema, Value.Clone(input));
  const first = check.Errors(value).First();
  if (first) {
    const field = first.path.slice(1).replaceAll("/", ".") || "(root)";
    return {
      ok: false,
      error: `${where}: ${field}: ${first.message}${first.value === undefined ? "" : ` (got ${JSON.stringify(first.value)})`}`,
    };
  }
  return { ok: true, value: value as Static<S> };
}
