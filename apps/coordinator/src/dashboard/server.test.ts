import type { TaskModel } from "@consort/core";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Coordinator } from "../coordinator.js";
import { MemoryJournal } from "../journal.js";
import { useLoopbackBroker } from "../test-support/loopback-broker.js";
import type { DashboardSnapshot } from "./read-model.js";
import { parseHostPort, startDashboard } from "./server.js";

// A real aedes broker on an ephemeral loopback port, a real coordinator, and the dashboard on
// an ephemeral port; an agent's descriptor comes over MQTT like any agent's.
const mqtt = useLoopbackBroker();

const until = async (condition: () => boolean | Promise<boolean>, ms = 5000) => {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m2" }, { id: "m1" }],
  root: "root",
  nodes: [
    { kind: "task", id: "root", qaf: "sum", children: ["a"] },
    { kind: "task", id: "a", qaf: "min", children: ["a.o0"], due: { dueTicks: 9, weight: 1 } },
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

describe("the dashboard server", () => {
  it("serves the page, snapshots, SSE, metrics and a report; only the operator may act", async () => {
    const transport = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator" });
    const journal = new MemoryJournal();
    const coordinator = new Coordinator(
      model,
      transport,
      {
        site: "s",
        coordinatorId: "coordinator",
        objective: "twt",
        seed: 1,
        repairIterations: 50,
        lockstep: false,
        journal,
      },
      pino({ level: "silent" }),
    );
    const dashboard = await startDashboard(coordinator, {
      host: "127.0.0.1",
      port: 0,
      site: "s",
      operatorToken: "tok",
      stats: transport.stats,
      tickMs: 100,
    });
    await coordinator.start();
    const agent = await MqttTransport.connect({ url: mqtt.url, clientId: "m1" });
    await agent.publish(
      topics.agentState("s", "m1"),
      makeMessage(
        "descriptor",
        "m1",
        { agentId: "m1", resourceId: "m1", status: "online", epoch: 3 },
        { seq: 0, at: Date.now(), epoch: 3 },
      ),
      { retain: true },
    );
    const get = (path: string, init?: RequestInit) => fetch(`${dashboard.url}${path}`, init);
    const snapshot = async () => (await (await get("/api/snapshot")).json()) as DashboardSnapshot;
    await until(async () => (await snapshot()).agents.some((a) => a.online));

    try {
      const s = await snapshot();
      expect(s.resources).toEqual(["m2", "m1"]);
      expect(s.agents).toEqual([
        { agentId: "m2", online: false },
        expect.objectContaining({ agentId: "m1", online: true, epoch: 3 }),
      ]);
      expect(s.jobs).toEqual([{ jobId: "a", dueTicks: 9, done: 0, operations: 1 }]);

      // The page and its assets come from here, and name no other host.
      const page = await get("/");
      expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
      const html = await page.text();
      for (const asset of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
        expect(asset[1]).toMatch(/^\//);
        expect((await get(asset[1]!)).status).toBe(200);
      }

      // Live: an SSE stream opens with a snapshot.
      const events = await get("/api/events");
      expect(events.headers.get("content-type")).toBe("text/event-stream");
      const reader = events.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toMatch(/^event: snapshot\ndata: \{"site":"s"/);
      await reader.cancel();

      // Read-only without the token.
      const order = {
        orderId: "o-1",
        jobs: [{ id: "x", dueTicks: 40, operations: [{ resources: ["m2"], durationTicks: 3 }] }],
      };
      const post = (path: string, body: unknown, token?: string) =>
        get(path, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      expect((await post("/api/orders", order)).status).toBe(401);
      expect((await post("/api/orders", order, "wrong")).status).toBe(401);
      expect((await post("/api/resources/m1/down", {}, "nope")).status).toBe(401);
      expect(journal.records.some((r) => r.t === "order")).toBe(false);

      // A bad order: one line saying where and what; nothing journalled.
      const bad = await post("/api/orders", { orderId: "o-2", jobs: [] }, "tok");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/jobs/);
      // A refused one (an unknown machine) and an accepted one.
      const refused = await post(
        "/api/orders",
        {
          orderId: "o-3",
          jobs: [{ id: "y", operations: [{ resources: ["m9"], durationTicks: 1 }] }],
        },
        "tok",
      );
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { reason: string }).reason).toMatch(/m9/);
      const accepted = await post("/api/orders", order, "tok");
      expect(await accepted.json()).toEqual({ accepted: true });
      expect(journal.records.find((r) => r.t === "order")).toMatchObject({
        delta: { orderId: "o-1" },
      });
      const after = await snapshot();
      expect(after.orders.map((o) => [o.orderId, o.accepted])).toEqual([
        ["o-3", false],
        ["o-1", true],
      ]);
      expect(after.jobs.map((j) => j.jobId)).toEqual(["a", "x"]);

      // Marked down: journalled, and on the read model.
      expect((await post("/api/resources/m9/down", {}, "tok")).status).toBe(404);
      const down = await post("/api/resources/m1/down", { fromTicks: 5, untilTicks: 9 }, "tok");
      expect(await down.json()).toEqual({ resourceId: "m1", fromTicks: 5, untilTicks: 9 });
      expect(journal.records).toContainEqual({
        t: "unavailable",
        resourceId: "m1",
        fromTicks: 5,
        untilTicks: 9,
      });
      expect((await snapshot()).downtime).toEqual([
        { resourceId: "m1", fromTicks: 5, untilTicks: 9, reason: "marked down by the operator" },
      ]);

      // Metrics.
      const metrics = await (await get("/metrics")).text();
      expect(metrics).toMatch(/^consort_agents_online 1$/m);
      expect(metrics).toMatch(/^consort_messages_total\{type="descriptor",direction="in"\} 1$/m);
      expect(metrics).toMatch(/^consort_messages_total\{type="order-reply",direction="out"\} 2$/m);
      expect(metrics).toMatch(/# TYPE consort_repair_latency_seconds histogram/);

      // A report of the period, self-contained.
      const report = await (await get("/report?from=0&until=100")).text();
      expect(report).toMatch(/^<!doctype html>/);
      expect(report).toContain("<h2>Jobs (2)</h2>");
      expect(report).not.toMatch(/<script/i);
      expect((await get("/report?from=x")).status).toBe(400);
      const period = await get("/report?from=0&to=100");
      expect(period.headers.get("content-disposition")).toBe(
        'attachment; filename="consort-report-0-100.html"',
      );
    } finally {
      await dashboard.close();
      await agent.close();
      await transport.close();
    }
  });

  it("reads HOST:PORT, and says what it wanted otherwise", () => {
    expect(parseHostPort("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseHostPort("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(() => parseHostPort("8080")).toThrow(
      "--http 8080: expected HOST:PORT, e.g. 127.0.0.1:8080",
    );
  });
});
