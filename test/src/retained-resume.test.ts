import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Coordinator, type CoordinatorEvent } from "@consort/coordinator";
import type { TaskModel } from "@consort/core";
import { type AnyMessage, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, describe, expect, it } from "vitest";
import {
  findRedis,
  freePort,
  kill9,
  sleep,
  startBroker,
  startRedis,
  stopAll,
} from "./processes.js";

// Retained agent descriptors across a broker restart, over a real `consort broker --redis` and a
// real redis-server: the coordinator's session (and its subscriptions) survive the broker's
// kill -9, so mqtt.js resumes it without subscribing again (nor does it send a SUBSCRIBE for a
// filter it has already subscribed to), and the broker sends retained messages only on a
// SUBSCRIBE: retained state whose delivery the restart cut off never came. The coordinator now
// subscribes again to the agents' states on reconnecting, forcing the SUBSCRIBE.
const redisBin = findRedis();
if (redisBin === undefined)
  console.warn(
    "retained-resume.test.ts: SKIPPED: redis-server is not installed (apt-get install redis-server)",
  );
const dir = mkdtempSync(join(tmpdir(), "consort-retained-"));
const SITE = "plant";

afterAll(() => {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m1" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0"] },
    {
      kind: "activity",
      id: "a.o0",
      resources: ["m1"],
      duration: [{ value: 2, probability: 1 }],
      quality: [{ value: 1, probability: 1 }],
    },
  ],
  links: [],
};

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent };

describe.skipIf(redisBin === undefined)(
  "a coordinator's session resumed after a broker restart",
  () => {
    it("receives the agents' retained descriptors again, and takes a repeat for no news", async () => {
      const redis = await startRedis(redisBin!, dir);
      const port = await freePort();
      let broker = await startBroker({ site: SITE, port, redis: redis.url });
      const agent = await MqttTransport.connect({
        url: broker.url,
        clientId: "m1",
        username: "m1",
      });
      await agent.publish(
        topics.agentState(SITE, "m1"),
        makeMessage(
          "descriptor",
          "m1",
          { agentId: "m1", resourceId: "m1", status: "online", epoch: 1 },
          { seq: 0, at: Date.now() },
        ) as AnyMessage,
        { retain: true },
      );
      await agent.close();

      const transport = await MqttTransport.connect({
        url: broker.url,
        clientId: "coordinator",
        username: "coordinator",
        clean: false,
      });
      let resumed: boolean | undefined;
      transport.onReconnect((sessionPresent) => {
        resumed = sessionPresent;
      });
      const coordinator = new Coordinator(
        model,
        transport,
        {
          site: SITE,
          coordinatorId: "coordinator",
          objective: "twt",
          seed: 1,
          repairIterations: 10,
          lockstep: false,
        },
        // Silent: what matters here is seen through the coordinator's events.
        silent as unknown as ConstructorParameters<typeof Coordinator>[3],
      );
      const descriptors: CoordinatorEvent[] = [];
      const agents: CoordinatorEvent[] = [];
      coordinator.onEvent((e) => {
        if (e.kind === "message" && e.type === "descriptor") descriptors.push(e);
        if (e.kind === "agent") agents.push(e);
      });
      await coordinator.start();
      await coordinator.waitForAgents(["m1"], 5000);
      expect(descriptors).toHaveLength(1);

      await kill9(broker);
      broker = await startBroker({ site: SITE, port, redis: redis.url });
      const since = Date.now();
      while (resumed === undefined && Date.now() - since < 10_000) await sleep(50);
      expect(resumed).toBe(true); // the session, and its subscriptions, came back from Redis
      while (descriptors.length < 2 && Date.now() - since < 10_000) await sleep(50);

      // The retained descriptor came again (before: never, the resumed session was not sent it)...
      expect(descriptors).toHaveLength(2);
      // ...and, already known, changed nothing.
      expect(agents).toHaveLength(1);

      coordinator.stopLease();
      await transport.close();
      await kill9(broker);
    }, 60_000);
  },
);
