import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { createBroker, type RunningBroker } from "./broker.js";
import { type BrokerMetrics, serveBrokerMetrics } from "./metrics.js";

const open: (RunningBroker | BrokerMetrics)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

const value = (text: string, name: string): number =>
  Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);

describe("the broker's /metrics", () => {
  it("counts connections and refused logins as they happen", async () => {
    const broker = await createBroker({
      port: 0,
      site: "s1",
      users: [{ username: "m1", password: "pw-m1", role: "agent" }],
    });
    open.push(broker);
    const metrics = await serveBrokerMetrics(broker, "127.0.0.1", 0);
    open.push(metrics);
    const before = await (await fetch(`${metrics.url}/metrics`)).text();
    expect(value(before, "consort_broker_refused_logins_total")).toBe(0);
    expect(value(before, "consort_broker_clients")).toBe(0);

    const wrong = mqtt.connect(broker.url, {
      clientId: "m1",
      username: "m1",
      password: "wrong",
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => wrong.once("error", () => resolve()));
    wrong.end(true);
    const good = await mqtt.connectAsync(broker.url, {
      clientId: "m1",
      username: "m1",
      password: "pw-m1",
      reconnectPeriod: 0,
    });
    try {
      const after = await (await fetch(`${metrics.url}/metrics`)).text();
      expect(value(after, "consort_broker_refused_logins_total")).toBe(1);
      expect(value(after, "consort_broker_clients")).toBe(1);
      expect(value(after, "consort_broker_connections_accepted_total")).toBeGreaterThanOrEqual(2);
      expect(after).toMatch(/^# TYPE consort_broker_refused_publishes_total counter$/m);
      expect((await fetch(`${metrics.url}/other`)).status).toBe(404);
    } finally {
      await good.endAsync(true);
    }
  });
});
