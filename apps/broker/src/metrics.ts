import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Registry } from "prom-client";
import type { BrokerStats, RunningBroker } from "./broker.js";

/** A Prometheus exposition of the broker's counters at `/metrics` (text format 0.0.4). */
export interface BrokerMetrics {
  readonly url: string;
  close(): Promise<void>;
}

/** Counters of `BrokerStats` exposed as Prometheus counters: name, help, and where to read them. */
const COUNTERS: readonly [string, string, keyof BrokerStats][] = [
  [
    "consort_broker_connections_accepted_total",
    "Transport connections accepted",
    "connectionsAccepted",
  ],
  [
    "consort_broker_refused_logins_total",
    "CONNECTs refused (credentials, client id, will topic)",
    "refusedAuth",
  ],
  [
    "consort_broker_refused_publishes_total",
    "PUBLISHes outside the sender's ACL",
    "refusedPublish",
  ],
  [
    "consort_broker_refused_subscriptions_total",
    "Subscription filters outside the ACL",
    "refusedSubscribe",
  ],
  [
    "consort_broker_refused_connections_total",
    "Connections refused at the connection cap",
    "refusedConnections",
  ],
  [
    "consort_broker_protocol_violations_total",
    "PUBLISHes breaking an MQTT 3.1.1 rule",
    "protocolViolations",
  ],
  [
    "consort_broker_dropped_queued_total",
    "QoS 1/2 messages not queued (session queue full)",
    "droppedQueued",
  ],
];

/**
 * Serves the broker's metrics over HTTP (`consort broker --metrics HOST:PORT`). The values are
 * read from `broker.stats()` at each scrape: nothing is counted twice, nothing runs between
 * scrapes.
 */
export async function serveBrokerMetrics(
  broker: RunningBroker,
  host: string,
  port: number,
): Promise<BrokerMetrics> {
  const registry = new Registry();
  const read = () => broker.stats();
  new Gauge({
    name: "consort_broker_connections",
    help: "Transport connections open now (logged in or not)",
    registers: [registry],
    collect() {
      this.set(read().connections);
    },
  });
  new Gauge({
    name: "consort_broker_clients",
    help: "Clients connected (CONNECT accepted) now",
    registers: [registry],
    collect() {
      this.set(read().clients);
    },
  });
  for (const [name, help, key] of COUNTERS)
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // A counter only goes up: set it to the broker's own count, which only goes up.
        this.reset();
        this.inc(read()[key] as number);
      },
    });
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end("only GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => res.writeHead(500).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
