import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyMessage, parseMessage, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, stopAll } from "./processes.js";
import { repoRoot, runCli } from "./run-cli.js";
import { type FrameProxy, startFrameProxy } from "./support/frame-proxy.js";

// Chaos, delivery: a frame-aware proxy between every client and the broker sends some PUBLISH
// packets twice and holds others back (later ones overtake them), drawn from a seed. A fleet run
// through it ends feasible, with every operation journalled as completed exactly once.
const bin = join(repoRoot, "apps/cli/bin/consort.js");
const dir = mkdtempSync(join(tmpdir(), "consort-chaos-delivery-"));
const SITE = "chaos";
const brokers: ChildProcess[] = [];
let target: { host: string; port: number };
const proxies: FrameProxy[] = [];

/**
 * A `consort broker` of its own for a site. Each fleet run gets a fresh one: runs of the same
 * site on one broker share the agents' persistent sessions, and a message queued by one run
 * would reach the next (that is what a site per run is for).
 */
async function startBroker(site: string): Promise<{ host: string; port: number }> {
  const broker = spawn(
    process.execPath,
    [bin, "broker", "--port", "0", "--site", site, "--anonymous"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  brokers.push(broker);
  let text = "";
  broker.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const started = Date.now();
  for (;;) {
    const m = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (m) return { host: "127.0.0.1", port: Number(m[1]) };
    if (Date.now() - started > 15_000) throw new Error(`broker did not start: ${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  target = await startBroker(SITE);
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const b of brokers) b.kill("SIGTERM");
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

async function proxy(options: {
  to?: { host: string; port: number };
  seed: number;
  duplicate: number;
  reorder: number;
  lose?: (topic: string, payload: Buffer) => boolean;
  trace?: (line: string) => void;
}) {
  const p = await startFrameProxy({ target: options.to ?? target, maxHoldMs: 150, ...options });
  proxies.push(p);
  return p;
}

describe("chaos: duplicated and reordered delivery", () => {
  it("the proxy doubles and reorders, and the transport hands each message on once", async () => {
    const p = await proxy({ seed: 11, duplicate: 0.3, reorder: 0.3 });
    const got: number[] = [];
    const rx = await MqttTransport.connect({ url: p.url, clientId: "m9", username: "m9" });
    rx.onMessage((m) => got.push(m.seq));
    await rx.subscribe(topics.agentIn(SITE, "m9"));
    const tx = await MqttTransport.connect({
      url: p.url,
      clientId: "coordinator",
      username: "coordinator",
    });
    const n = 200;
    await Promise.all(
      Array.from({ length: n }, (_, seq) =>
        tx.publish(
          topics.agentIn(SITE, "m9"),
          makeMessage("inform", "coordinator", informBody(seq), { seq, at: 0, to: "m9" }),
        ),
      ),
    );
    const deadline = Date.now() + 5000;
    while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await tx.close();
    await rx.close();
    const inOrder = got.filter((s, i) => i === 0 || s > got[i - 1]!).length;
    console.log(
      `proxy seed 11: ${JSON.stringify(p.stats)}; ${got.length} of ${n} received once each, ${n - inOrder} out of order`,
    );
    // Each once (the transport drops the copies), none lost, and the proxy did its job.
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(p.stats.duplicated).toBeGreaterThan(20);
    expect(p.stats.held).toBeGreaterThan(20);
    expect(p.stats.swallowedAcks).toBeGreaterThan(0);
    expect(n - inOrder).toBeGreaterThan(0);
  });

  it("a second broken link of the same session still sends a last will that counts", async () => {
    // Each connection's will has its own seq: the same (from, seq) twice would be dropped as a
    // duplicate, and the coordinator would never see the agent go offline again.
    const p = await proxy({ seed: 1, duplicate: 0, reorder: 0 });
    const states: string[] = [];
    const watcher = await MqttTransport.connect({
      url: `mqtt://${target.host}:${target.port}`,
      clientId: "coordinator@watch",
      username: "coordinator",
    });
    watcher.onMessage((m, _topic, _bytes, retained) => {
      if (!retained && m.type === "descriptor") states.push(m.body.status);
    });
    await watcher.subscribe(topics.agentState(SITE, "m7"));
    const will = makeMessage(
      "descriptor",
      "m7",
      { agentId: "m7", resourceId: "m7", status: "offline", epoch: 1, software: "test" },
      { seq: 2 ** 40, epoch: 1, at: 0 },
    ) as AnyMessage;
    const agent = await MqttTransport.connect({
      url: p.url,
      clientId: "m7",
      username: "m7",
      keepaliveSeconds: 1,
      will: { topic: topics.agentState(SITE, "m7"), message: will, retain: true },
    });
    const waitFor = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (states.length < count && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    };
    for (let cut = 1; cut <= 3; cut++) {
      p.cut();
      await waitFor(cut);
      const deadline = Date.now() + 5000;
      while (!agent.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    console.log(`three broken links, wills heard: ${states.join(", ")}`);
    expect(states).toEqual(["offline", "offline", "offline"]);
    await agent.close();
    await watcher.close();
  });

  for (const seed of [3, 7]) {
    it(`consort fleet --seed ${seed} through the proxy: feasible, each operation completed once`, async () => {
      // What the proxy did, for the post-mortem of a failure.
      const trace: string[] = [];
      const site = `${SITE}-${seed}`;
      const p = await proxy({
        to: await startBroker(site),
        seed,
        duplicate: 0.15,
        reorder: 0.15,
        trace: (l) => trace.push(l),
      });
      const journals = join(dir, `journals-${seed}`);
      const run = await runCli(
        [
          "fleet",
          ...["--seed", String(seed), "--broker", p.url, "--site", site],
          ...["--json", "--out", join(dir, `out-${seed}`), "--keep-journals", journals],
        ],
        { timeoutMs: 100_000 },
      );
      console.log(`seed ${seed}: proxy ${JSON.stringify(p.stats)}`);
      expect(
        run.code,
        `${run.stderr.slice(-2000)}\nthe proxy's last frames:\n${trace.slice(-60).join("\n")}`,
      ).toBe(0);
      const report = JSON.parse(run.stdout) as {
        feasible: boolean;
        activities: number;
        completed: number;
        integrity: { lost: number; duplicated: number };
      };
      console.log(
        `seed ${seed}: feasible ${report.feasible}, ${report.completed}/${report.activities} completed, integrity ${JSON.stringify(report.integrity)}`,
      );
      expect(report.feasible).toBe(true);
      expect(report.completed).toBe(report.activities);
      expect(report.integrity).toEqual({ lost: 0, duplicated: 0 });
      // From the journals directly: one completion per operation, none started twice.
      const completions = new Map<string, number>();
      const starts = new Map<string, number>();
      for (const file of readdirSync(journals).filter((f) => f.endsWith(".journal")))
        for (const line of readFileSync(join(journals, file), "utf8").split("\n")) {
          if (line.trim() === "") continue;
          let r: { t: string; activityId?: string };
          try {
            r = JSON.parse(line);
          } catch {
            continue; // the torn last line of the agent the fleet kills (--offline)
          }
          if (r.activityId === undefined) continue;
          const tally = r.t === "complete" ? completions : r.t === "start" ? starts : undefined;
          tally?.set(r.activityId, (tally.get(r.activityId) ?? 0) + 1);
          if (r.t === "fail") starts.set(r.activityId, (starts.get(r.activityId) ?? 1) - 1);
        }
      expect(completions.size).toBe(report.activities);
      expect([...completions.values()].every((n) => n === 1)).toBe(true);
      expect([...starts.values()].every((n) => n === 1)).toBe(true);
      // The chaos happened: copies and overtakes on the way.
      expect(p.stats.duplicated).toBeGreaterThan(0);
      expect(p.stats.held).toBeGreaterThan(0);
    }, 110_000);
  }
});

function informBody(seq: number) {
  return {
    event: "completed" as const,
    activityId: `x${seq}`,
    atTicks: seq,
    quality: 1,
    scheduleVersion: 1,
  };
}

describe("chaos: a completion the broker acknowledged, then lost", () => {
  it("is sent again after the link breaks, and the run finishes", async () => {
    // The proxy acknowledges m1's first report of a.o0 itself and forwards nothing, as a broker
    // restarted without persistence would have; then it breaks the agents' links.
    let lost = false;
    const p = await proxy({
      seed: 5,
      duplicate: 0,
      reorder: 0,
      lose: (topic, payload) => {
        if (lost || !topic.endsWith("/agent/m1/out")) return false;
        const m = parseMessage(payload, topic);
        if (m.type !== "inform" || m.body.activityId !== "a.o0") return false;
        lost = true;
        return true;
      },
    });
    const sub = join(dir, "lost");
    writeFileSync(
      `${sub}.yaml`,
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, operations: [{ resource: m1, duration: 10 }, { resource: m2, duration: 10 }] }",
        "",
      ].join("\n"),
    );
    const until = async (what: string, condition: () => boolean, ms: number) => {
      const started = Date.now();
      while (!condition()) {
        if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const epochMs = Date.now() + 3000;
      const agents = ["m1", "m2"].map((id) => {
        writeFileSync(
          `${sub}-${id}.yaml`,
          [
            `agentId: ${id}`,
            `site: ${SITE}`,
            `broker: ${p.url}`,
            `journal: ${sub}-${id}.journal`,
            "clock: wall",
            `epochMs: ${epochMs}`,
            "tickMs: 100",
            "logLevel: warn",
            "simulation: { trialKey: 7, disruptions: [] }",
            "",
          ].join("\n"),
        );
        return start(["agent", "--config", `${sub}-${id}.yaml`]);
      });
      for (const a of agents)
        await until("agents online", () => /online at/.test(a.output()), 15_000);
      const coordinator = start([
        "coordinator",
        ...["--scenario", `${sub}.yaml`, "--broker", `mqtt://${target.host}:${target.port}`],
        ...["--site", SITE, "--epoch-ms", String(epochMs), "--tick-ms", "100"],
        ...["--wait-agents", "20", "--journal", `${sub}-coordinator.journal`],
      ]);
      const journalled = () =>
        existsSync(`${sub}-m1.journal`) &&
        readFileSync(`${sub}-m1.journal`, "utf8").includes('"t":"complete","activityId":"a.o0"');
      await until("m1 to complete a.o0", () => lost && journalled(), 20_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(coordinator.output()).not.toMatch(/"activity":"a\.o0"/);
      p.cut();
      const cutAt = Date.now();
      await until(
        "the run to finish",
        () => /all done: 2\/2 activities/.test(coordinator.output()),
        15_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${coordinator.output()}`);
      });
      console.log(
        `lost completion of a.o0: sent again after the cut, run finished ${Date.now() - cutAt} ms later (proxy ${JSON.stringify(p.stats)})`,
      );
    } finally {
      stopAll();
    }
  }, 60_000);
});
