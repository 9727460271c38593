import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

// `consort broker` as its own process, with a users file: what a deployment runs.
let broker: ChildProcess;
let url: string;
/** The broker's stderr: its pino JSON log lines. */
let log = "";
const logLines = () =>
  log
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "consort-broker-"));
  const users = join(dir, "users.yaml");
  writeFileSync(
    users,
    [
      "users:",
      "  - { username: lathe, password: lathe-secret, role: agent }",
      "  - { username: mill, password: mill-secret, role: agent }",
      "  - { username: coordinator, password: coord-secret, role: coordinator }",
      "",
    ].join("\n"),
  );
  broker = spawn(
    process.execPath,
    [
      join(repoRoot, "apps/cli/bin/consort.js"),
      "broker",
      "--port",
      "0",
      "--site",
      "plant",
      "--users",
      users,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  broker.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  url = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${text}`)), 15_000);
    broker.stdout?.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
});
afterAll(() => {
  if (broker.exitCode === null) broker.kill("SIGKILL");
});

describe("consort broker (its own process)", () => {
  it("refuses a client without credentials, and one with a wrong password", async () => {
    await expect(
      mqtt.connectAsync(url, { clientId: "lathe", reconnectPeriod: 0, connectTimeout: 3000 }),
    ).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(
      mqtt.connectAsync(url, {
        clientId: "lathe",
        username: "lathe",
        password: "guess",
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow(/Bad username or password|Not authorized/i);
  });

  it("refuses an agent publishing on another agent's topic: the message never arrives", async () => {
    const coordinator = await MqttTransport.connect({
      url,
      clientId: "coordinator",
      username: "coordinator",
      password: "coord-secret",
    });
    const seen: string[] = [];
    coordinator.onMessage((m, topic) => seen.push(`${topic} ${m.type} from ${m.from}`));
    await coordinator.subscribe(topics.filters.allAgentOut("plant"));
    const lathe = await MqttTransport.connect({
      url,
      clientId: "lathe",
      username: "lathe",
      password: "lathe-secret",
    });
    const inform = (from: string, seq: number) =>
      makeMessage(
        "inform",
        from,
        { event: "completed", activityId: "j1.o1", atTicks: 5, scheduleVersion: 1 },
        { seq, at: 0 },
      );
    await lathe.publish(topics.agentOut("plant", "lathe"), inform("lathe", 1));
    // Pretending to be the mill: the broker drops it (and disconnects the offender).
    await Promise.race([
      lathe
        .publishRaw(topics.agentOut("plant", "mill"), Buffer.from("forged"))
        .catch(() => undefined),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual(["consort/v1/plant/agent/lathe/out inform from lathe"]);
    await lathe.drop().catch(() => undefined);
    await coordinator.close();
  });

  it("has logged the refused logins and the refused publish (JSON on stderr, at warn)", () => {
    const refused = logLines().filter((l) => l.level === 40);
    expect(refused).toContainEqual(
      expect.objectContaining({
        reason: "no-username",
        msg: expect.stringMatching(/^connection refused/),
      }),
    );
    expect(refused).toContainEqual(
      expect.objectContaining({
        reason: "bad-password",
        msg: expect.stringMatching(/^connection refused/),
      }),
    );
    expect(refused).toContainEqual(
      expect.objectContaining({
        reason: "publish-refused",
        topic: "consort/v1/plant/agent/mill/out",
      }),
    );
    // Connections are logged at info.
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 30, msg: "client connected" }),
    );
  });

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = "";
      broker.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      broker.once("exit", (code) => resolve({ code, out }));
    });
    broker.kill("SIGTERM");
    const { code, out } = await exited;
    expect(code).toBe(0);
    expect(out).toMatch(/stopped on SIGTERM/);
  });
});
