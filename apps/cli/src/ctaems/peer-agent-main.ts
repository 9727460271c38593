/**
 * The C-TAEMS agent program: `node peer-agent-main.js --config FILE`, password in
 * CONSORT_AGENT_PASSWORD. One scheduler agent, driven by the clock master over MQTT; see
 * `PeerAgentProcess`. A bad file or flag stops it with one line on stderr and exit code 78 or 64.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PeerAgentProcess, parsePeerAgentConfig } from "./peer-agent.js";

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
try {
  config = parsePeerAgentConfig(text, file);
} catch (error) {
  stop((error as Error).message, 78);
}

const logger = {
  warn: (details: Record<string, unknown>, message: string) =>
    process.stderr.write(
      `consort csc-agent ${config.agentId}: ${message} ${JSON.stringify(details)}\n`,
    ),
};
try {
  const agent = await PeerAgentProcess.start(
    config,
    process.env.CONSORT_AGENT_PASSWORD,
    logger,
    (error) => stop(`${config.agentId}: ${error.message}`, 70),
  );
  const shutdown = () => {
    void agent.close().finally(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
} catch (error) {
  stop(`${config.agentId}: ${(error as Error).message}`, 69);
}
