import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { start, stopAll, waitFor } from "./processes.js";

// The coordinator's counters after an order taken during the run: the total counts the order's
// activities too (it once printed "9/7 activities").
const dir = mkdtempSync(join(tmpdir(), "consort-order-"));

afterAll(() => {
  stopAll();
});

describe("a coordinator that takes an order during its run", () => {
  it("counts the order's activities in its total", async () => {
    writeFileSync(
      join(dir, "one.yaml"),
      [
        "name: one",
        "resources: [{ id: m1 }]",
        "jobs:",
        "  - { id: a, due: 60, operations: [{ resource: m1, duration: 30 }] }",
        "",
      ].join("\n"),
    );
    const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const epochMs = Date.now() + 2000;
    const config = join(dir, "m1.yaml");
    writeFileSync(
      config,
      [
        "agentId: m1",
        "site: plant",
        `broker: ${url}`,
        `journal: ${join(dir, "m1.journal")}`,
        "clock: wall",
        `epochMs: ${epochMs}`,
        "tickMs: 50",
        "logLevel: warn",
        "simulation: { trialKey: 7, disruptions: [] }",
        "",
      ].join("\n"),
    );
    const agent = start(["agent", "--config", config]);
    await waitFor(agent.output, /online at/, 15_000);
    const coordinator = start([
      "coordinator",
      ...["--scenario", join(dir, "one.yaml"), "--broker", url, "--site", "plant"],
      ...["--epoch-ms", String(epochMs), "--tick-ms", "50"],
      ...["--wait-agents", "20", "--exit-when-done"],
    ]);
    await waitFor(coordinator.output, /plan installed/, 20_000);
    const operator = await MqttTransport.connect({
      url,
      clientId: "operator",
      username: "operator",
    });
    const order = {
      orderId: "rush-1",
      jobs: [
        {
          id: "r",
          dueTicks: 80,
          operations: [
            { id: "r.1", resources: ["m1"], durationTicks: 2 },
            { id: "r.2", resources: ["m1"], durationTicks: 2 },
          ],
        },
      ],
    };
    await operator.publish(
      topics.orders("plant"),
      makeMessage("order", "operator", order, { seq: 1, at: Date.now() }),
    );
    await operator.close();
    const code = await Promise.race([
      coordinator.exited,
      new Promise<string>((r) => setTimeout(() => r("timeout"), 45_000)),
    ]);
    expect(code, coordinator.output()).toBe(0);
    expect(coordinator.output()).toMatch(/all done: 3\/3 activities/);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  });
});
