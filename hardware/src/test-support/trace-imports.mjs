// Loaded with `node --import`: appends the URL of every module resolved through the ESM loader
// to the file named by CONSORT_TRACE_IMPORTS (the hooks run on their own thread).
import { appendFileSync } from "node:fs";
import { register } from "node:module";

if (process.env.CONSORT_TRACE_HOOKS !== "1") {
  register(import.meta.url, { parentURL: import.meta.url, data: undefined });
  process.env.CONSORT_TRACE_HOOKS = "1";
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.CONSORT_TRACE_IMPORTS)
    appendFileSync(process.env.CONSORT_TRACE_IMPORTS, `${resolved.url}\n`);
  return resolved;
}
