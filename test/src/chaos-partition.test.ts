import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { journalAttempts, journalIntegrity } from "@consort/hardware/harness";
import { afterAll, describe, expect, it } from "vitest";
import {
  consortBin,
  sleep,
  start as startConsort,
  startProgram,
  stopAll,
  waitFor,
} from "./processes.js";

// Chaos, partition: one agent runs in a network namespace of its own, joined to the host by a
// veth pair with private addresses; the broker listens on the host end. iptables inside the
// namespace drops everything to and from the broker, first for a short spell (under the leases:
// the agent carries on, nothing is reassigned), then for a long one (past them: the coordinator
// reassigns the agent's unstarted operations, the agent holds, rejoins, takes the schedule in
// force and runs none of what moved). Real processes throughout; proven from the journals.
const dir = mkdtempSync(join(tmpdir(), "consort-chaos-partition-"));
/** The agent's lease: its keepalive is a third of it (1 s), so the broker sees it gone in 1.5 s. */
const AGENT_LEASE_MS = 3000;
/** The coordinator's wait, after the last will, before the agent's unstarted work moves. */
const COORDINATOR_AGENT_LEASE_MS = 4000;
const SHORT_SPELL_MS = 2000;
const LONG_SPELL_MS = 9000;

// Names and addresses of our own: a namespace, a veth pair (15 characters at most), a /30.
const tag = process.pid % 100_000;
const ns = `consort-p${tag}`;
const hostIf = `cph${tag}`;
const nsIf = `cpa${tag}`;
const net = `10.${200 + (tag % 50)}.${Math.floor(tag / 50) % 250}`;
const hostIp = `${net}.1`;
const nsIp = `${net}.2`;

function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Builds the namespace and its link; returns why not when the machine cannot. */
function setUpNamespace(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return "not root: network namespaces and iptables need it";
  for (const tool of ["ip", "iptables"])
    try {
      sh("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (Debian: apt-get install -y ${tool === "ip" ? "iproute2" : "iptables"})`;
    }
  try {
    sh("ip", ["netns", "add", ns]);
  } catch (error) {
    return `ip netns add failed: ${(error as { stderr?: string }).stderr?.trim() ?? error}`;
  }
  try {
    sh("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    sh("ip", ["link", "set", nsIf, "netns", ns]);
    sh("ip", ["addr", "add", `${hostIp}/30`, "dev", hostIf]);
    sh("ip", ["link", "set", hostIf, "up"]);
    sh("ip", ["netns", "exec", ns, "ip", "addr", "add", `${nsIp}/30`, "dev", nsIf]);
    sh("ip", ["netns", "exec", ns, "ip", "link", "set", nsIf, "up"]);
    sh("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    sh("ip", ["netns", "exec", ns, "iptables", "-L", "OUTPUT", "-n"]);
  } catch (error) {
    tearDownNamespace();
    return `namespace setup failed: ${(error as { stderr?: string }).stderr?.trim() ?? error}`;
  }
  return undefined;
}

function tearDownNamespace(): void {
  for (const args of [
    ["link", "del", hostIf],
    ["netns", "del", ns],
  ])
    try {
      sh("ip", args);
    } catch {
      // already gone
    }
}

/** iptables DROP inside the namespace, both ways: the agent neither reaches nor hears the broker. */
function partition(on: boolean): void {
  const op = on ? "-I" : "-D";
  sh("ip", ["netns", "exec", ns, "iptables", op, "OUTPUT", "-d", hostIp, "-j", "DROP"]);
  sh("ip", ["netns", "exec", ns, "iptables", op, "INPUT", "-s", hostIp, "-j", "DROP"]);
}

const unavailable = setUpNamespace();
if (unavailable) console.log(`chaos-partition: SKIPPED: ${unavailable}`);

/** `consort ARGS`, on the host or inside the agent's namespace. */
function start(args: string[], env: Record<string, string>, inNamespace = false) {
  return inNamespace
    ? startProgram("ip", ["netns", "exec", ns, process.execPath, consortBin, ...args], { env })
    : startConsort(args, { env });
}

afterAll(() => {
  stopAll();
  if (!unavailable) tearDownNamespace();
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

type Record_ = { t: string; activityId?: string; atTicks?: number };
const journal = (id: string): Record_[] =>
  readFileSync(join(dir, `${id}.journal`), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record_);

const completedBy = (id: string) =>
  journal(id)
    .filter((r) => r.t === "complete")
    .map((r) => r.activityId!);

describe.skipIf(unavailable !== undefined)("chaos: an agent partitioned by iptables", () => {
  it("a short spell changes nothing; past its lease its unstarted work moves, runs once, and it rejoins without running it", async () => {
    // m1 (in the namespace) is planned a long queue, most of it movable to m2 or m3.
    writeFileSync(
      join(dir, "cell.yaml"),
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }, { id: m3 }]",
        "jobs:",
        "  - { id: a, operations: [{ resource: m1, duration: 20 }, { resource: m2, duration: 10 }] }",
        "  - { id: b, operations: [{ resources: [m1, m3], duration: 30 }] }",
        "  - { id: c, operations: [{ resources: [m1, m3], duration: 30 }] }",
        "  - { id: d, operations: [{ resource: m2, duration: 30 }, { resources: [m1, m3], duration: 30 }] }",
        "  - { id: e, operations: [{ resource: m3, duration: 30 }] }",
        "  - { id: f, operations: [{ resources: [m1, m2], duration: 30 }] }",
        "  - { id: g, operations: [{ resources: [m1, m2], duration: 30 }] }",
        "  - { id: h, operations: [{ resources: [m1, m3], duration: 30 }] }",
        "  - { id: i, operations: [{ resources: [m1, m3], duration: 30 }] }",
        "",
      ].join("\n"),
    );
    const activities = ["a.o0", "a.o1", "b.o0", "c.o0", "d.o0", "d.o1", "e.o0", "f.o0"];
    activities.push("g.o0", "h.o0", "i.o0");
    const passwords = {
      m1: "m1-secret",
      m2: "m2-secret",
      m3: "m3-secret",
      coordinator: "c-secret",
    };
    writeFileSync(
      join(dir, "users.yaml"),
      [
        "users:",
        ...Object.entries(passwords).map(
          ([u, p]) =>
            `  - { username: ${u}, password: ${p}, role: ${u === "coordinator" ? "coordinator" : "agent"} }`,
        ),
        "",
      ].join("\n"),
    );
    const broker = start(
      [
        "broker",
        "--host",
        hostIp,
        "--port",
        "0",
        "--site",
        "cell",
        "--users",
        join(dir, "users.yaml"),
      ],
      { CONSORT_LOG_LEVEL: "info" },
    );
    const url = (await waitFor(broker.output, /(mqtt:\/\/[\d.]+:\d+)/, 15_000))[1]!;
    // Tick 0 after everything is up and planned (two loaded cores start processes slowly).
    const epochMs = Date.now() + 8000;
    const agents = Object.fromEntries(
      (["m1", "m2", "m3"] as const).map((id) => {
        const config = join(dir, `${id}.yaml`);
        writeFileSync(
          config,
          [
            `agentId: ${id}`,
            "site: cell",
            `broker: ${url}`,
            `journal: ${join(dir, `${id}.journal`)}`,
            "clock: wall",
            `epochMs: ${epochMs}`,
            "tickMs: 200",
            `leaseMs: ${AGENT_LEASE_MS}`,
            "logLevel: warn",
            "simulation: { trialKey: 7, disruptions: [] }",
            "",
          ].join("\n"),
        );
        return [
          id,
          start(
            ["agent", "--config", config],
            { CONSORT_AGENT_PASSWORD: passwords[id] },
            id === "m1",
          ),
        ];
      }),
    );
    for (const a of Object.values(agents)) await waitFor(a.output, /online at/, 15_000);
    const coordinator = start(
      [
        "coordinator",
        ...["--scenario", join(dir, "cell.yaml"), "--broker", url, "--site", "cell"],
        ...["--epoch-ms", String(epochMs), "--tick-ms", "200", "--wait-agents", "20"],
        ...["--journal", join(dir, "coordinator.journal")],
        ...["--agent-lease-ms", String(COORDINATOR_AGENT_LEASE_MS)],
      ],
      { CONSORT_COORDINATOR_PASSWORD: passwords.coordinator },
    );
    await waitFor(coordinator.output, /schedule installed on every affected agent/, 20_000);
    const m1 = agents.m1!;
    const dump = () =>
      [`broker: ${broker.output()}`, `coordinator: ${coordinator.output()}`]
        .concat(Object.entries(agents).map(([id, a]) => `${id}: ${a.output()}`))
        .join("\n");

    // Short spell, once m1 is at work: long enough for the broker to send its last will, well
    // under the agent's lease and the coordinator's.
    await sleep(epochMs - Date.now() + 500);
    partition(true);
    await sleep(SHORT_SPELL_MS);
    partition(false);
    console.log(`short spell: ${SHORT_SPELL_MS} ms of DROP`);
    // Past the time the coordinator would have moved m1's work, had it not heard m1 come back.
    await sleep(COORDINATOR_AGENT_LEASE_MS);
    expect(coordinator.output(), dump()).not.toMatch(/m1 offline past its lease/);
    // It resumed: the coordinator heard it back, and it went on with its own work.
    const m1Online = coordinator.output().match(/"agent":"m1","epoch":1,"msg":"agent online"/g);
    expect(m1Online?.length ?? 0, dump()).toBeGreaterThanOrEqual(2);
    const doneAfterShort = completedBy("m1").length;
    console.log(
      `short spell: m1 ${/holding unstarted work/.test(m1.output()) ? "held while reconnecting (out of contact past its own lease), was reconciled and" : "never held,"} completed ${doneAfterShort} operations so far; nothing reassigned`,
    );

    // Long spell: past both leases.
    const cutAt = Date.now();
    partition(true);
    const [, moved] = await waitFor(
      coordinator.output,
      /m1 offline past its lease: \d+ unstarted operations reassigned \(([^)]*)\)/,
      LONG_SPELL_MS,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${dump()}`);
    });
    const reassigned = moved!.split(", ").map((m) => m.split(" -> ")[0]!);
    console.log(
      `long spell: reassigned ${moved} ${Date.now() - cutAt} ms into ${LONG_SPELL_MS} ms of DROP`,
    );
    expect(reassigned.length).toBeGreaterThan(0);
    await sleep(LONG_SPELL_MS - (Date.now() - cutAt));
    partition(false);
    await waitFor(coordinator.output, /all done: 11\/11 activities/, 40_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${dump()}`);
      },
    );
    // Give the returned agent time: it must not run what moved, even given time.
    await sleep(1500);
    coordinator.child.kill("SIGTERM");
    expect(await coordinator.exited).toBe(0);
    for (const a of Object.values(agents)) {
      a.child.kill("SIGTERM");
      expect(await a.exited).toBe(0);
    }
    broker.child.kill("SIGTERM");

    // The journals: every operation completed exactly once, none started twice, none failed.
    const ids = ["m1", "m2", "m3"];
    const integrity = journalIntegrity(dir, ids, activities);
    const attempts = journalAttempts(dir, ids);
    console.log(
      `journals: lost ${integrity.lost}, duplicated ${integrity.duplicated}, failed attempts ${attempts.length}`,
    );
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0 });
    expect(attempts).toEqual([]);
    // What moved ran elsewhere, once; m1 started none of it.
    const m1Started = journal("m1")
      .filter((r) => r.t === "start")
      .map((r) => r.activityId);
    for (const id of reassigned) expect(m1Started).not.toContain(id);
    for (const id of reassigned) {
      const where = ids.filter((a) =>
        journal(a).some((r) => r.t === "complete" && r.activityId === id),
      );
      expect(where, id).toHaveLength(1);
      expect(where[0]).not.toBe("m1");
    }
    // m1 held past its lease and rejoined: it journalled the schedule in force after the heal.
    expect(m1.output()).toMatch(/holding unstarted work/);
    const schedules = journal("m1").filter((r) => r.t === "schedule");
    expect(schedules.length).toBeGreaterThanOrEqual(2);
  }, 110_000);
});
