import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createRng,
  generateBackupProblem,
  indexModel,
  runStrategy,
  SchedulerAgentCsc,
  scheduleFor,
  setupsFor,
  sortInbox,
  trialKey,
} from "@consort/core";
import type { Body } from "@consort/protocol";
import { topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import type { JournalRecord } from "../journal.js";
import type { AgentSettings } from "../settings.js";
import { runCscAgent } from "./run.js";
import { TestClockMaster } from "./test-support/clock-master.js";

const program = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "main.js");
const dir = mkdtempSync(join(tmpdir(), "consort-csc-agent-test-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const scenario = generateBackupProblem({ windows: 2, seed: 3, problems: 4, backupAgents: 3 });
const indexed = indexModel(scenario.model);
if (!indexed.ok) throw new Error("bad model");
const index = indexed.value;

const records = (path: string): JournalRecord[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as JournalRecord);

const settingsFile = (name: string, settings: Partial<AgentSettings>): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(settings));
  return path;
};

function startProgram(config: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [program, "--config", config], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, stderr: () => stderr, exited };
}

describe("the agent program", () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [program, ...args], {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, ...env },
    });

  it("stops with one line and a non-zero exit on a bad flag, a missing file or bad settings", () => {
    const flag = run(["--nope"]);
    expect(flag.status).toBe(64);
    expect(flag.stderr.trim().split("\n")).toHaveLength(1);
    const missing = run(["--config", join(dir, "nope.json")]);
    expect(missing.status).toBe(78);
    expect(missing.stderr).toMatch(/nope\.json: cannot read: no such file/);
    const bad = settingsFile("bad.json", { family: "ctaems", site: "s", journalDir: dir });
    const invalid = run(["--config", bad]);
    expect(invalid.status).toBe(78);
    expect(invalid.stderr.trim().split("\n")).toEqual([
      `consort agent: ${bad}: "agentId" (one agent) or "agents" (a list of {agentId}) is required`,
    ]);
  });

  it("hosting several agents, stops with one line naming one when the broker is unreachable", () => {
    // Port 9 on loopback: nothing listens there, so the connection is refused at once.
    const file = settingsFile("several.json", {
      family: "ctaems",
      site: "s",
      broker: "mqtt://127.0.0.1:9",
      agents: [{ agentId: "a" }, { agentId: "b" }, { agentId: "c" }],
      journalDir: dir,
      connectRetrySeconds: 0,
    });
    const r = run(["--config", file], {
      CONSORT_AGENT_PASSWORDS: JSON.stringify({ a: "x", b: "y", c: "z" }),
    });
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^consort agent: [abc]: .*ECONNREFUSED/);
  });

  it("started before its broker, keeps trying until the broker is up", async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const file = settingsFile("early.json", {
      family: "ctaems",
      site: "early",
      broker: `mqtt://127.0.0.1:${port}`,
      agentId: "a",
      journalDir: mkdtempSync(join(dir, "early-")),
      logLevel: "warn",
    });
    const p = startProgram(file);
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.child.exitCode).toBe(null);
    const master = await TestClockMaster.start("early", port);
    try {
      await master.until(() => master.isOnline("a"), "a online", 20_000);
    } finally {
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      await master.close();
    }
  });

  it("stops with one line on a bad password map, without echoing it", () => {
    const file = settingsFile("ok.json", {
      family: "ctaems",
      site: "s",
      agentId: "a",
      journalDir: dir,
    });
    const r = run(["--config", file], { CONSORT_AGENT_PASSWORDS: "{hunter2" });
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split("\n")).toEqual([
      "consort agent: CONSORT_AGENT_PASSWORDS is not JSON (expected an object of agent id -> password)",
    ]);
  });

  it("stops with one line naming the agent and the place when a setup is bad", async () => {
    const master = await TestClockMaster.start("bad");
    try {
      const file = settingsFile("bad-setup.json", {
        family: "ctaems",
        site: "bad",
        broker: master.url,
        agentId: "a",
        journalDir: mkdtempSync(join(dir, "bad-")),
        logLevel: "warn",
      });
      const p = startProgram(file);
      await master.until(() => master.isOnline("a"), "a online");
      await master.send("a", "csc-setup", { trial: 0, strategy: "bos", setup: { agentId: "a" } });
      expect(await p.exited).toBe(70);
      expect(p.stderr().trim().split("\n")).toEqual([
        'consort agent: a: csc-setup of trial 0 (bos): missing required field "mode"',
      ]);
    } finally {
      await master.close();
    }
  });
});

describe("a C-TAEMS agent", () => {
  it("on the wall clock steps at once on what has come, a late message at the next step", async () => {
    const master = await TestClockMaster.start("wall");
    const setups = setupsFor(index, scenario.initial, "consort");
    const [agentId, setup] = [...setups].find(([, s]) => s.initial.length > 0)!;
    const journal = join(mkdtempSync(join(dir, "wall-")), "a.journal");
    const running = await runCscAgent(
      { agentId, family: "ctaems", resourceId: agentId, username: agentId, journal },
      { site: "wall", broker: master.url, journalSync: false } as AgentSettings,
      pino({ level: "silent" }),
      (error) => {
        throw error;
      },
    );
    const peers = await MqttTransport.connect({ url: master.url, clientId: "peers" });
    const answers: Body<"csc-step">[] = [];
    const watcher = await MqttTransport.connect({ url: master.url, clientId: "watcher" });
    watcher.onMessage((m) => {
      if (m.type === "csc-step") answers.push(m.body);
    });
    await watcher.subscribe(topics.agentOut("wall", agentId));
    let envelope = 0;
    const peer = (from: string, tick: number, seq: number) =>
      peers.publish(
        topics.peer("wall", from, agentId),
        makeMessage(
          "csc-peer",
          from,
          { trial: 0, tick, seq, body: { type: "withdraw", group: "none" } },
          { seq: ++envelope, at: 0 },
        ),
      );
    const tick = (t: number, expect?: number) =>
      master.send(agentId, "csc-tick", {
        trial: 0,
        strategy: "consort",
        tick: t,
        ...(expect !== undefined ? { expect } : {}),
        events: [],
      });
    const steps = () =>
      records(journal).filter(
        (r): r is Extract<JournalRecord, { t: "csc-step" }> => r.t === "csc-step",
      );
    const received = () => records(journal).filter((r) => r.t === "csc-in").length;
    try {
      await master.send(agentId, "csc-setup", {
        trial: 0,
        strategy: "consort",
        setup: setup as unknown as Body<"csc-setup">["setup"],
      });
      await tick(0);
      await master.until(() => answers.length === 1, "the answer to tick 0");
      await peer("zz", 0, 1);
      await peer("yy", 0, 1);
      await master.until(() => received() === 2, "two messages");
      await tick(1);
      await master.until(() => answers.length === 2, "the answer to tick 1");
      // A late message (sent at tick 0) and one sent at tick 1: both go to the next step.
      await peer("zz", 1, 2);
      await peer("yy", 0, 2);
      // The same message again (a redelivery under a new envelope) is not taken twice.
      await peer("yy", 0, 2);
      await master.until(() => received() === 4, "two more messages");
      await tick(1); // a tick redelivered: not stepped again
      await tick(2);
      await master.until(() => answers.length === 3, "the answer to tick 2");
      // Lock-step: the tick waits for its counted message.
      await tick(3, 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(answers).toHaveLength(3);
      await peer("zz", 2, 3);
      await master.until(() => answers.length === 4, "the answer to tick 3");
      expect(steps().map((s) => [s.tick, s.inbox])).toEqual([
        [0, []],
        [
          1,
          [
            ["yy", 1],
            ["zz", 1],
          ],
        ],
        [
          2,
          [
            ["yy", 2],
            ["zz", 2],
          ],
        ],
        [3, [["zz", 3]]],
      ]);
      // The same steps, taken by the core agent alone, say the same.
      const reference = new SchedulerAgentCsc(setup);
      const withdraw = { type: "withdraw" as const, group: "none" };
      const inbox = (ids: [string, number][]) =>
        sortInbox(ids.map(([from, seq]) => ({ from, to: agentId, seq, body: withdraw })));
      const expected = [
        reference.step({ tick: 0, events: [], inbox: [] }),
        reference.step({
          tick: 1,
          events: [],
          inbox: inbox([
            ["yy", 1],
            ["zz", 1],
          ]),
        }),
        reference.step({
          tick: 2,
          events: [],
          inbox: inbox([
            ["zz", 2],
            ["yy", 2],
          ]),
        }),
        reference.step({ tick: 3, events: [], inbox: inbox([["zz", 3]]) }),
      ];
      expect(answers.map((a) => [a.tick, a.start, a.abort])).toEqual(
        expected.map((o, t) => [t, o.start, o.abort]),
      );
      expect(answers.map((a) => a.sent.reduce((n, s) => n + s.count, 0))).toEqual(
        expected.map((o) => o.messages.length),
      );
    } finally {
      await running.close();
      await peers.close();
      await watcher.close();
      await master.close();
    }
  });

  it("killed with SIGKILL mid-run and restarted, loses and repeats nothing", async () => {
    const master = await TestClockMaster.start("crash");
    const strategy = "consort" as const;
    // The schedule its coordinator hands out, as in the run it is checked against.
    const schedule = scheduleFor(index, scenario.initial, strategy);
    const setups = setupsFor(index, schedule, strategy);
    const agents = [...setups.keys()].sort();
    // The victim: an agent that talks (it has initial work), alone in its process; the others
    // hosted together in a second process, each with its own identity.
    const victim = [...setups].find(([, s]) => s.initial.length > 0)![0];
    const others = agents.filter((a) => a !== victim);
    const journals = mkdtempSync(join(dir, "crash-"));
    const common = {
      family: "ctaems",
      site: "crash",
      broker: master.url,
      journalDir: journals,
      journalSync: true,
      logLevel: "warn",
    } as const;
    const victimConfig = settingsFile("victim.json", { ...common, agentId: victim });
    const othersConfig = settingsFile("others.json", {
      ...common,
      agents: others.map((agentId) => ({ agentId })),
    });
    startProgram(othersConfig);
    let current = startProgram(victimConfig);
    const kills: number[] = [];
    try {
      await master.until(() => agents.every((a) => master.isOnline(a)), "every agent online");
      for (let trial = 0; trial < 2; trial++) {
        const key = trialKey(createRng(40 + trial));
        const local = runStrategy(index, scenario.initial, strategy, key);
        // Kill at a few ticks, right after the tick went out: the agent may be anywhere in it.
        const at = new Set([3 + trial, 9 + trial * 3, 17]);
        const remote = await master.run(
          index,
          schedule,
          setups,
          strategy,
          trial,
          key,
          async (t) => {
            if (!at.has(t)) return;
            current.child.kill("SIGKILL");
            await current.exited;
            kills.push(t);
            current = startProgram(victimConfig);
          },
        );
        expect(remote.rootQuality).toBe(local.rootQuality);
        expect(remote.executed).toEqual(local.executed);
        expect(remote.ticks).toBe(local.ticks);
        expect(remote.messages).toBe(local.traffic.messages);
      }
      expect(kills.length).toBeGreaterThanOrEqual(4);
      expect(master.repeated).toEqual([]);
      // Each kill: the last will said offline under that session's epoch; the restart came
      // online under the next.
      const seen = master.descriptors.filter((d) => d.startsWith(`${victim} `));
      expect(seen.slice(0, 3)).toEqual([
        `${victim} online 1`,
        `${victim} offline 1`,
        `${victim} online 2`,
      ]);
      expect(seen).toContain(`${victim} online ${kills.length + 1}`);
      // The journal keeps only what a replay still needs: the last run, not the first.
      const kept = records(join(journals, `${victim}.journal`));
      expect(kept.some((r) => r.t === "csc-step" && r.trial === 1)).toBe(true);
      expect(kept.some((r) => "trial" in r && r.trial === 0)).toBe(false);
    } finally {
      await master.close();
    }
  }, 120_000);
});
