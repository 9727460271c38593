/**
 * The C-TAEMS agent program: `node peer-agent-main.js --config FILE`, hosting the one or more
 * scheduler agents the file lists, each with its own MQTT connection and identity, driven by the
 * clock master; see `PeerAgentHost`. Passwords come from the environment, never the command line:
 * CONSORT_AGENT_PASSWORDS (a JSON object of agent id -> password), or CONSORT_AGENT_PASSWORD for
 * a single agent. A bad file, flag or environment stops it with one line on stderr and exit code
 * 64, 66 or 78; an agent that cannot connect, with 69; one that fails mid-run, with 70.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PeerAgentHost, parsePeerAgentConfig, passwordsFromEnv } from "./peer-agent.js";

function stop(message: string, code: number): never {
  process.stderr.write(`consort csc-agent: ${message}\n`);
  process.exit(code);
}

let file: string | undefined;
try {
  file = parseArgs({ options: { config: { type: "string" } }, strict: true }).values.config;
} catch (error) {
  stop((error as Error).message, 64);
}
if (file === undefined) stop("--config <file> is required", 64);
let text: string;
try {
  text = readFileSync(file, "utf8");
} catch (error) {
  stop(
    `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    66,
  );
}
let config: ReturnType<typeof parsePeerAgentConfig>;
let passwords: Map<string, string>;
try {
  config = parsePeerAgentConfig(text, file);
  passwords = passwordsFromEnv(
    process.env,
    config.agents.map((a) => a.agentId),
  );
} catch (error) {
  stop((error as Error).message, 78);
}

const logger = {
  warn: (details: Record<string, unknown>, message: string) =>
    process.stderr.write(`consort csc-agent: ${message} ${JSON.stringify(details)}\n`),
};
try {
  const host = await PeerAgentHost.start(config, passwords, logger, (agentId, error) =>
    stop(`${agentId}: ${error.message}`, 70),
  );
  const shutdown = () => {
    void host.close().finally(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
} catch (error) {
  stop((error as Error).message, 69);
}
