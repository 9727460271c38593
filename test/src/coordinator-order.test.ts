import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

// The coordinator's counters after an order taken during the run: the total counts the order's
// activities too (it once printed "9/7 activities").
const bin = join(repoRoot, "apps/cli/bin/consort.js");
const dir = mkdtempSync(join(tmpdir(), "consort-order-"));
const children: ChildProcess[] = [];

function start(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let text = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => text, exited };
}

async function waitFor(
  output: () => string,
  pattern: RegExp,
  ms: number,
): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const m = pattern.exec(output());
    if (m) return m;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${pattern}: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
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
