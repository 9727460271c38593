#!/usr/bin/env node
// The `consort` command. The code lives in ../dist (compiled by `npm run build`, which `npm ci`
// runs through the root `prepare` script).
import { access } from "node:fs/promises";

const entry = new URL("../dist/main.js", import.meta.url);
try {
  await access(entry);
} catch {
  process.stderr.write("consort: not built yet; run `npm run build` at the repository root\n");
  process.exit(70);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
