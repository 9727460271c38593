import {
  type BrokerConfigInput,
  createBroker,
  loadBrokerConfig,
  serveBrokerMetrics,
} from "@consort/broker";
import pino from "pino";
import { CliError, EXIT } from "../errors.js";
import { untilSignal } from "../signals.js";

export interface BrokerFlags {
  readonly config?: string;
  readonly host?: string;
  readonly port?: number;
  readonly wsPort?: number;
  readonly site?: string;
  readonly users?: string;
  readonly anonymous?: boolean;
  readonly redis?: string;
  /** HOST:PORT of a Prometheus exposition of the broker's counters (`/metrics`). */
  readonly metrics?: string;
}

/** `consort broker`: the MQTT broker alone, for a real deployment. Runs until SIGINT / SIGTERM. */
export async function brokerCommand(flags: BrokerFlags, out: NodeJS.WriteStream): Promise<number> {
  const overrides: BrokerConfigInput = {
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.wsPort !== undefined ? { wsPort: flags.wsPort } : {}),
    ...(flags.site !== undefined ? { site: flags.site } : {}),
    ...(flags.users !== undefined ? { usersFile: flags.users } : {}),
    ...(flags.anonymous ? { anonymous: true } : {}),
    ...(flags.redis !== undefined ? { redis: flags.redis } : {}),
  };
  const config = await loadBrokerConfig({
    ...(flags.config !== undefined ? { file: flags.config } : {}),
    env: process.env,
    overrides,
  });
  if (!config.ok) throw new CliError(config.error, EXIT.dataError);
  let broker: Awaited<ReturnType<typeof createBroker>>;
  try {
    // Refused logins, publishes and subscriptions are logged (warn), connections at info: JSON
    // lines on stderr, so stdout keeps the one line that says where the broker listens.
    const logger = pino({ level: process.env.CONSORT_LOG_LEVEL ?? "info" }, pino.destination(2));
    broker = await createBroker(config.value, { logger });
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.software);
  }
  let metrics: Awaited<ReturnType<typeof serveBrokerMetrics>> | undefined;
  if (flags.metrics !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(flags.metrics);
    if (!m || Number(m[2]) > 65535) {
      await broker.close();
      throw new CliError(`--metrics must be HOST:PORT, not "${flags.metrics}"`, EXIT.usage);
    }
    try {
      metrics = await serveBrokerMetrics(broker, m[1]!.replace(/^\[|\]$/g, ""), Number(m[2]));
    } catch (error) {
      await broker.close();
      throw new CliError(`--metrics ${flags.metrics}: ${(error as Error).message}`, EXIT.software);
    }
  }
  out.write(
    `consort broker: site ${config.value.site}, ${broker.url}${broker.wsUrl ? ` and ${broker.wsUrl}` : ""}${config.value.redis !== undefined ? " (sessions in Redis)" : ""}${config.value.anonymous ? " (dev mode: loopback clients without passwords)" : ""}\n`,
  );
  if (metrics) out.write(`consort broker: metrics at ${metrics.url}/metrics\n`);
  const signal = await untilSignal();
  await metrics?.close();
  await broker.close();
  out.write(`consort broker: stopped on ${signal}\n`);
  return EXIT.ok;
}
