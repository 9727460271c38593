import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentConfig, start, startBroker, stopAll, waitFor } from "./processes.js";

// A deployment's shape: `consort broker`, one `consort agent` per machine and `consort
// coordinator`, each its own process, configured by files and flags, on the wall clock.
const dir = mkdtempSync(join(tmpdir(), "consort-deploy-"));

afterAll(stopAll);

describe("a deployment: broker, agents and coordinator started one by one", () => {
  it("plans, executes on the wall clock and finishes", async () => {
    writeFileSync(
      join(dir, "cell.yaml"),
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, due: 12, operations: [{ resource: m1, duration: 3 }, { resource: m2, duration: 2 }] }",
        "  - { id: b, due: 10, operations: [{ resource: m2, duration: 3 }, { resource: m1, duration: 2 }] }",
        "  - { id: c, due: 14, operations: [{ resource: m1, duration: 2 }] }",
        "",
      ].join("\n"),
    );
    const broker = await startBroker({ site: "plant" });
    const url = broker.url;
    const epochMs = Date.now() + 3000;
    const agents = ["m1", "m2"].map((id) =>
      start([
        "agent",
        "--config",
        agentConfig({ dir, id, site: "plant", broker: url, epochMs, tickMs: 50 }),
      ]),
    );
    for (const a of agents) await waitFor(a.output, /online at/, 30_000);
    const coordinator = start([
      "coordinator",
      "--scenario",
      join(dir, "cell.yaml"),
      "--broker",
      url,
      "--site",
      "plant",
      "--epoch-ms",
      String(epochMs),
      "--tick-ms",
      "50",
      "--wait-agents",
      "20",
      "--exit-when-done",
    ]);
    const code = await Promise.race([
      coordinator.exited,
      new Promise<string>((r) => setTimeout(() => r("timeout"), 45_000)),
    ]);
    expect(code, coordinator.output()).toBe(0);
    expect(coordinator.output()).toMatch(/all done: 5\/5 activities, makespan \d+/);
    for (const a of agents) {
      a.child.kill("SIGTERM");
      expect(await a.exited).toBe(0);
      expect(a.output()).toMatch(/stopped on SIGTERM/);
    }
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  });

  it("a bad agent settings file stops with one readable line", async () => {
    const config = join(dir, "bad.yaml");
    writeFileSync(config, `agentId: m1\njournal: ${join(dir, "bad.journal")}\nclock: sundial\n`);
    const agent = start(["agent", "--config", config]);
    expect(await agent.exited).toBe(65);
    expect(agent.output().trim().split("\n")).toHaveLength(1);
    expect(agent.output()).toMatch(
      /settings: "clock" must be one of "wall", "lockstep", got "sundial" \(from .*bad\.yaml\)/,
    );
  });
});
