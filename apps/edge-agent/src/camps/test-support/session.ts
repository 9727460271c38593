import { appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { type EnvironmentEvent, SimulatedClock } from "@consort/core/agent";
import { MqttTransport } from "@consort/protocol/mqtt";
import { Aedes } from "aedes";
import pino from "pino";
import { Journal, type JournalOptions } from "../../journal.js";
import { SchedulerAgent } from "../agent.js";

/** An aedes broker on an ephemeral loopback port, with its URL and a way to stop it. */
export async function startAedes(): Promise<{ url: string; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A resource whose device news the test makes up (`fail`, `complete`); it learns nothing. */
export function device(resourceId = "m1") {
  const listeners = new Set<(e: EnvironmentEvent) => void>();
  const emit = (e: EnvironmentEvent) => {
    for (const l of listeners) l(e);
  };
  return {
    subscribe(l: (e: EnvironmentEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start() {},
    resume() {},
    abort() {},
    learn() {},
    realizedDuration: () => undefined,
    brokenAt: () => undefined,
    fail(activityId: string, reason: string, atTicks = 0) {
      emit({ kind: "failed", activityId, resourceId, atTicks, reason });
    },
    complete(activityId: string, atTicks: number, quality = 1) {
      emit({ kind: "completed", activityId, resourceId, atTicks, quality });
    },
  };
}

/**
 * A CAMPS agent m1 (site "plant") on a journal file: its own transport, a simulated clock at 0
 * and a made-up device. With `tee`, every record appended also goes to that file, which is
 * never compacted.
 */
export async function session(
  url: string,
  journalPath: string,
  options: JournalOptions = { sync: false },
  tee?: string,
) {
  const transport = await MqttTransport.connect({ url, clientId: "m1", username: "m1" });
  const journal = Journal.open(journalPath, options);
  if (tee !== undefined) {
    const append = journal.append.bind(journal);
    journal.append = (record) => {
      appendFileSync(tee, `${JSON.stringify(record)}\n`);
      append(record);
    };
  }
  const resource = device();
  const agent = new SchedulerAgent(
    { agentId: "m1", site: "plant", resourceId: "m1" },
    {
      transport,
      journal,
      clock: new SimulatedClock(0),
      resource,
      logger: pino({ level: "silent" }),
    },
    "greedy",
  );
  await agent.start();
  return {
    resource,
    agent,
    journal,
    close: async () => {
      await agent.stop();
      await transport.close();
      journal.close();
    },
  };
}
