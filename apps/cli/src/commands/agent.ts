import { loadAgentSettings, runAgent } from "@consort/edge-agent";
import { CliError, EXIT } from "../errors.js";
import { untilSignal } from "../signals.js";

export interface AgentFlags {
  readonly config?: string;
  readonly id?: string;
  readonly broker?: string;
  readonly site?: string;
  readonly journal?: string;
}

/**
 * `consort agent`: the agents of a deployment's process (one or several, CAMPS or C-TAEMS, as the
 * settings say). Runs until SIGINT / SIGTERM.
 */
export async function agentCommand(flags: AgentFlags, out: NodeJS.WriteStream): Promise<number> {
  const settings = await loadAgentSettings(flags.config, process.env, {
    ...(flags.id !== undefined ? { agentId: flags.id } : {}),
    ...(flags.broker !== undefined ? { broker: flags.broker } : {}),
    ...(flags.site !== undefined ? { site: flags.site } : {}),
    ...(flags.journal !== undefined ? { journal: flags.journal } : {}),
  });
  if (!settings.ok) throw new CliError(settings.error, EXIT.dataError);
  let running: Awaited<ReturnType<typeof runAgent>>;
  try {
    running = await runAgent(settings.value, undefined, (agentId, error) => {
      // An agent that cannot go on stops the process at once, as a crash would: its journal
      // keeps what it had, and a supervisor restarts it.
      process.stderr.write(`consort agent: ${agentId}: ${error.message}\n`);
      process.exit(EXIT.software);
    });
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.software);
  }
  const who = running.agents.map((a) => a.agentId).join(", ");
  out.write(
    `consort agent ${who}: online at ${settings.value.broker} (site ${settings.value.site})\n`,
  );
  const signal = await untilSignal();
  await running.close();
  out.write(`consort agent ${who}: stopped on ${signal}\n`);
  return EXIT.ok;
}
