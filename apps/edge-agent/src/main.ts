#!/usr/bin/env node
// The agent program: `node dist/main.js [--config FILE]`, settings also from CONSORT_* variables.
// It runs the agents its settings name (one, or several each with its own MQTT identity), of
// either family: the CAMPS scheduler agent or the C-TAEMS (CSC) agent. Passwords come from the
// environment: CONSORT_AGENT_PASSWORD, or CONSORT_AGENT_PASSWORDS (a JSON object of agent id ->
// password) for several. Exits 0 on SIGTERM / SIGINT after saying offline; one line on stderr and
// 64 on a bad flag, 78 on bad settings, 69 when an agent cannot start, 70 when one fails running.
// Started by a launcher with an IPC channel (`consort fleet`), it also stops, the same way, when
// that launcher dies (see launcher.ts).
import { parseArgs } from "node:util";
import { untilLauncherGone } from "./launcher.js";
import { leanProcess } from "./lean.js";

// Before the agent's modules load: see lean.ts.
leanProcess();
const { loadAgentSettings } = await import("./settings.js");
const { runHost } = await import("./host.js");
const { default: pino } = await import("pino");

/** How long a stop waits for the broker to take the agents' farewells. */
const STOP_GRACE_MS = 1500;

function fail(message: string, code: number): number {
  process.stderr.write(`consort agent: ${message}\n`);
  return code;
}

async function main(): Promise<number> {
  let file: string | undefined;
  try {
    const { values } = parseArgs({ options: { config: { type: "string" } }, strict: true });
    file = values.config;
  } catch (error) {
    return fail((error as Error).message, 64);
  }
  const settings = await loadAgentSettings(file, process.env, {});
  if (!settings.ok) return fail(settings.error, 78);
  const logger = pino({ level: settings.value.logLevel });
  // Listen before starting: a signal while the agents connect stops them once they are up.
  const signalled = new Promise<{ signal: string }>((resolve) => {
    process.once("SIGTERM", () => resolve({ signal: "SIGTERM" }));
    process.once("SIGINT", () => resolve({ signal: "SIGINT" }));
    void untilLauncherGone().then(() => {
      // Its stderr was a pipe to the launcher: writing to it now fails, and that must not crash
      // the stop (the farewell below still goes to the broker).
      process.stderr.on("error", () => {});
      resolve({ signal: "its launcher's exit" });
    });
  });
  let fatal: ((line: string) => void) | undefined;
  const failed = new Promise<string>((resolve) => {
    fatal = resolve;
  });
  const starting = runHost(settings.value, logger, (agentId, error) =>
    fatal?.(`${agentId}: ${error.message}`),
  ).then(
    (running) => ({ running }),
    (error: Error) => ({ error }),
  );
  const start = await Promise.race([starting, signalled]);
  if ("signal" in start) {
    // Still waiting for the broker; agents already online get their last wills (offline).
    process.stderr.write(`consort agent: stopped on ${start.signal} while starting\n`);
    return 0;
  }
  if ("error" in start) return fail(start.error.message, 69);
  const { running } = start;
  const ended = await Promise.race([failed.then((line) => ({ line })), signalled]);
  if ("line" in ended) {
    // An agent cannot go on: stop at once, as a crash would; its journal keeps what it had.
    return fail(ended.line, 70);
  }
  // Saying offline needs the broker; while it is unreachable the flush would wait for ever. The
  // journal is written synchronously, so stopping without the farewell loses nothing (the broker
  // publishes the last will instead).
  const closed = await Promise.race([
    running.close().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
  ]);
  if (!closed)
    process.stderr.write(
      `consort agent: the broker did not acknowledge the offline descriptor within ${STOP_GRACE_MS} ms; stopping without it\n`,
    );
  const who = running.agents.map((a) => a.agentId);
  process.stderr.write(
    `consort agent ${who.length === 1 ? who[0] : `(${who.length} agents)`}: stopped on ${ended.signal}\n`,
  );
  return 0;
}

// Connections still open (a failed agent, a start cut short) are not waited for.
process.exit(await main());
