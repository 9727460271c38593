#!/usr/bin/env node
// The scheduler agent as a process: `node dist/main.js [--config FILE]`, settings also from
// CONSORT_* variables. Exits 0 on SIGTERM / SIGINT after saying offline; 78 on bad settings.
import { parseArgs } from "node:util";
import { leanProcess } from "./lean.js";

// Before the agent's modules load: see lean.ts.
leanProcess();
const { loadAgentSettings, runAgent } = await import("./run.js");

async function main(): Promise<number> {
  let file: string | undefined;
  try {
    const { values } = parseArgs({ options: { config: { type: "string" } }, strict: true });
    file = values.config;
  } catch (error) {
    process.stderr.write(`consort agent: ${(error as Error).message}\n`);
    return 64;
  }
  const settings = await loadAgentSettings(file, process.env, {});
  if (!settings.ok) {
    process.stderr.write(`consort agent: ${settings.error}\n`);
    return 78;
  }
  // Listen from the start: a signal while the broker is still awaited stops the retries at once.
  const stop = new AbortController();
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  }).then((signal) => {
    stop.abort();
    return signal;
  });
  let running: Awaited<ReturnType<typeof runAgent>>;
  try {
    running = await runAgent(settings.value, undefined, { signal: stop.signal });
  } catch (error) {
    if (stop.signal.aborted) {
      process.stderr.write(
        `consort agent ${settings.value.agentId}: stopped on ${await stopped}\n`,
      );
      return 0;
    }
    process.stderr.write(`consort agent: ${(error as Error).message}\n`);
    return 69;
  }
  const signal = await stopped;
  await running.close();
  process.stderr.write(`consort agent ${settings.value.agentId}: stopped on ${signal}\n`);
  return 0;
}

process.exitCode = await main();
