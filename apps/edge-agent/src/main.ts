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
  let running: Awaited<ReturnType<typeof runAgent>>;
  try {
    running = await runAgent(settings.value);
  } catch (error) {
    process.stderr.write(`consort agent: ${(error as Error).message}\n`);
    return 69;
  }
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  await running.close();
  process.stderr.write(`consort agent ${settings.value.agentId}: stopped on ${signal}\n`);
  return 0;
}

process.exitCode = await main();
