import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, start, stopAll, waitFor } from "./processes.js";

// How processes meet a broker that is not there yet, or that refuses them: `consort broker`
// (apps/broker, its ACLs limited to one site), `consort agent` and `consort coordinator`.
const dir = mkdtempSync(join(tmpdir(), "consort-connect-"));

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);

function agentConfig(name: string, site: string, url: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      "agentId: m1",
      `site: ${site}`,
      `broker: ${url}`,
      `journal: ${join(dir, `${name}.journal`)}`,
      "logLevel: info",
      "simulation: { trialKey: 1, disruptions: [] }",
      "",
    ].join("\n"),
  );
  return file;
}

afterAll(() => {
  stopAll();
});

describe("an agent started before its broker", () => {
  it("retries with backoff, logged at info, and comes online when the broker starts 2 s later", async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const agent = start(["agent", "--config", agentConfig("early", "plant", url)]);
    await new Promise((r) => setTimeout(r, 2000));
    expect(agent.child.exitCode).toBe(null);
    const broker = start(["broker", "--port", String(port), "--site", "plant", "--anonymous"]);
    await waitFor(agent.output, /online at/, 15_000);
    const retries = agent
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{") && l.includes("broker not reachable yet"))
      .map((l) => JSON.parse(l) as { level: number; retryInMs: number });
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((r) => r.level === 30)).toBe(true);
    expect(retries[1]!.retryInMs).toBe(2 * retries[0]!.retryInMs);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  });

  it("stops at once on SIGTERM while it waits for the broker", async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const agent = start(["agent", "--config", agentConfig("waiting", "plant", url)]);
    await waitFor(agent.output, /broker not reachable yet/, 10_000);
    const asked = Date.now();
    agent.child.kill("SIGTERM");
    expect(await within(agent.exited, 5000)).toBe(0);
    expect(Date.now() - asked).toBeLessThan(2000);
    expect(agent.output()).toMatch(/stopped on SIGTERM/);
  });
});

describe("a broker that serves another site", () => {
  it("refuses the agent and the coordinator: one line each, a non-zero exit, no hang", async () => {
    const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const agent = start(["agent", "--config", agentConfig("elsewhere", "other", url)]);
    expect(await within(agent.exited, 10_000)).toBe(70);
    expect(agent.stderr().trim().split("\n")).toEqual([
      `consort: the broker at ${url} refused the login of "m1" (CONNACK 5: not authorized (the broker serves another site, or the last will is on a topic this user may not publish))`,
    ]);

    writeFileSync(
      join(dir, "one.yaml"),
      "name: one\nresources: [{ id: m1 }]\njobs:\n  - { id: a, operations: [{ resource: m1, duration: 3 }] }\n",
    );
    const coordinator = start([
      "coordinator",
      ...["--scenario", join(dir, "one.yaml"), "--broker", url, "--site", "other"],
    ]);
    expect(await within(coordinator.exited, 10_000)).toBe(70);
    expect(coordinator.stderr().trim().split("\n")).toHaveLength(1);
    expect(coordinator.stderr()).toMatch(
      // Its last will is on the other site's coordinator-state topic: refused at CONNECT.
      /^consort: the broker at mqtt:\/\/127\.0\.0\.1:\d+ refused the login of "coordinator" \(CONNACK 5: not authorized/,
    );
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  });
});
