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
/** How long a stopping agent waits for the broker to acknowledge its farewell. */
const STOP_GRACE_MS = 1500;

export async function agentCommand(flags: AgentFlags, out: NodeJS.WriteStream): Promise<number> {
  const settings = await loadAgentSettings(flags.config, process.env, {
    ...(flags.id !== undefined ? { agentId: flags.id } : {}),
    ...(flags.broker !== undefined ? { broker: flags.broker } : {}),
    ...(flags.site !== undefined ? { site: flags.site } : {}),
    ...(flags.journal !== undefined ? { journal: flags.journal } : {}),
  });
  if (!settings.ok) throw new CliError(settings.error, EXIT.dataError);
  // Listen from the start: a signal while the broker is still awaited stops at once.
  const stopped = untilSignal();
  const starting = runAgent(settings.value, undefined, (agentId, error) => {
    // An agent that cannot go on stops the process at once, as a crash would: its journal
    // keeps what it had, and a supervisor restarts it.
    process.stderr.write(`consort agent: ${agentId}: ${error.message}\n`);
    process.exit(EXIT.software);
  }).then(
    (running) => ({ running }),
    (error: Error) => ({ error }),
  );
  const first = await Promise.race([starting, stopped.then((signal) => ({ signal }))]);
  if ("signal" in first) {
    // Still waiting for the broker: nothing was said yet, and retries are not waited for.
    out.write(`consort agent: stopped on ${first.signal} while starting\n`);
    process.exit(EXIT.ok);
  }
  if ("error" in first) throw new CliError(first.error.message, EXIT.software);
  const { running } = first;
  const who = running.agents.map((a) => a.agentId).join(", ");
  out.write(
    `consort agent ${who}: online at ${settings.value.broker} (site ${settings.value.site})\n`,
  );
  const signal = await stopped;
  // Saying offline needs the broker: while it is unreachable (or frozen) the farewell would wait
  // for its acknowledgement for ever. The journal is written synchronously, so stopping without
  // it loses nothing; the broker sends the last will instead.
  const closed = await Promise.race([
    running.close().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
  ]);
  if (!closed) {
    process.stderr.write(
      `consort agent ${who}: the broker did not acknowledge the offline descriptor within ${STOP_GRACE_MS} ms; stopping without it\n`,
    );
    out.write(`consort agent ${who}: stopped on ${signal}\n`);
    process.exit(EXIT.ok);
  }
  out.write(`consort agent ${who}: stopped on ${signal}\n`);
  return EXIT.ok;
}
