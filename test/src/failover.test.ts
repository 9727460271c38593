import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyMessage } from "@consort/protocol";
import { afterAll, describe, expect, it } from "vitest";
import {
  agentConfig,
  agentJournal,
  coordinatorFlags,
  freePort,
  freezeOnceRunning,
  kill9,
  outputsOf,
  sendLateInstall,
  sleep,
  staleCommands,
  start,
  startBroker,
  startDeployment,
  stopAll,
  terminate,
  thawPastLease,
  waitFor,
} from "./processes.js";

// Coordinator failover with real processes: `consort broker`, two `consort agent`s, a leader and
// a `--standby` coordinator on the same journal file. The leader is frozen (SIGSTOP) past its
// lease; the standby takes over in a higher epoch; the leader is thawed (SIGCONT) and steps down;
// the agents refuse whatever carries the old epoch. Counted from the agents' journals.
const dir = mkdtempSync(join(tmpdir(), "consort-failover-"));
/** The leader's lease: long enough that a loaded machine does not miss a renewal by chance. */
const LEASE_MS = 2500;
const AGENT_LEASE_MS = 3000;

afterAll(() => {
  stopAll();
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

const journalOf = (id: string) => agentJournal(join(dir, `${id}.journal`));

describe("no stranded work: an agent partitioned past its lease", () => {
  it("has its unstarted operations reassigned, each run exactly once; it rejoins without running them", async () => {
    const sub = join(dir, "partition");
    mkdirSync(sub);
    const {
      scenario,
      broker,
      url,
      epochMs,
      agents: started,
      byId: agents,
    } = await startDeployment({
      dir: sub,
      site: "cell",
      scenario: [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }, { id: m3 }]",
        "jobs:",
        "  - { id: a, operations: [{ resource: m1, duration: 15 }, { resource: m2, duration: 5 }] }",
        "  - { id: b, operations: [{ resources: [m1, m3], duration: 10 }] }",
        "  - { id: c, operations: [{ resources: [m1, m3], duration: 10 }] }",
        "  - { id: d, operations: [{ resource: m2, duration: 10 }, { resources: [m1, m3], duration: 10 }] }",
        "  - { id: e, operations: [{ resource: m3, duration: 10 }] }",
      ],
      agents: ["m1", "m2", "m3"],
      startInMs: 2500,
      leaseMs: AGENT_LEASE_MS,
    });
    const coordinator = start([
      "coordinator",
      ...coordinatorFlags({ scenario, broker: url, site: "cell", epochMs }),
      ...["--journal", join(sub, "coordinator.journal"), "--agent-lease-ms", "1000"],
    ]);
    await waitFor(coordinator.output, /plan installed/, 30_000);
    const m1 = agents.m1!;
    const frozenAt = await freezeOnceRunning(m1, epochMs);
    const [, moved] = await waitFor(
      coordinator.output,
      /m1 offline past its lease: \d+ unstarted operations reassigned \(([^)]*)\)/,
      15_000,
    ).catch((error: Error) => {
      // The broker's log says whether m1's last will went out (the coordinator's only signal).
      throw new Error(`${error.message}\nbroker: ${broker.output()}\nm1: ${m1.output()}`);
    });
    const reassigned = moved!.split(", ").map((m) => m.split(" -> ")[0]!);
    console.log(`reassigned ${reassigned.join(", ")} ${Date.now() - frozenAt} ms after SIGSTOP`);
    expect(reassigned.length).toBeGreaterThan(0);
    // Past its own lease too, then back.
    await thawPastLease(m1, frozenAt, AGENT_LEASE_MS);
    await waitFor(coordinator.output, /all done: 7\/7 activities/, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${outputsOf(agents)}`);
    });
    // Let the returned agent settle: it must not run what moved, even given time.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await terminate(coordinator, ...started)).toEqual([0, 0, 0, 0]);
    broker.child.kill("SIGTERM");

    const runs = (id: string, t: string) =>
      agentJournal(join(sub, `${id}.journal`)).flatMap((r) =>
        r.t === t && "activityId" in r ? [r.activityId] : [],
      );
    const completions = ["m1", "m2", "m3"].flatMap((id) => runs(id, "complete")).sort();
    // Each operation ran exactly once, across the three journals.
    expect(completions).toEqual(["a.o0", "a.o1", "b.o0", "c.o0", "d.o0", "d.o1", "e.o0"]);
    // The returned agent started none of what was reassigned.
    const m1Started = runs("m1", "start");
    for (const id of reassigned) expect(m1Started).not.toContain(id);
    // And it came back: it announced itself online again and accepted the schedule in force.
    expect(m1.output()).toMatch(/holding unstarted work/);
  }, 90_000);
});

describe("coordinator failover: lease, standby, fencing", () => {
  it("a standby takes over a frozen leader within lease + 2 s; the thawed leader is fenced off and steps down", async () => {
    const { scenario, broker, url, epochMs, agents } = await startDeployment({
      dir,
      site: "plant",
      scenario: [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, operations: [{ resource: m1, duration: 12 }, { resource: m2, duration: 8 }] }",
        "  - { id: b, operations: [{ resource: m2, duration: 12 }, { resource: m1, duration: 8 }] }",
        "  - { id: c, operations: [{ resource: m1, duration: 10 }, { resource: m2, duration: 10 }] }",
      ],
      agents: ["m1", "m2"],
      startInMs: 2000,
    });
    const common = [
      ...coordinatorFlags({ scenario, broker: url, site: "plant", epochMs }),
      ...["--journal", join(dir, "coordinator.journal"), "--lease-ms", String(LEASE_MS)],
    ];
    const leader = start(["coordinator", ...common]);
    await waitFor(leader.output, /plan installed/, 30_000);
    const standby = start(["coordinator", ...common, "--standby"]);
    await waitFor(standby.output, /standing by/, 30_000);
    // The standby must not take over a live leader: a few leases pass with it standing by.
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    expect(standby.output()).not.toMatch(/taking over:/);

    // Freeze the leader mid-run (operations running, more to come).
    const frozenAt = Date.now();
    leader.child.kill("SIGSTOP");
    await waitFor(
      standby.output,
      /taking over: the lease of coordinator \(epoch 1\) lapsed/,
      10_000,
    );
    const takeoverMs = Date.now() - frozenAt;
    console.log(`takeover ${takeoverMs} ms after SIGSTOP (lease ${LEASE_MS} ms)`);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + 2000);
    await waitFor(standby.output, /journalled schedule re-installed/, 10_000);

    // What the frozen leader had queued reaches an agent late (a stand-in for its client's
    // outgoing queue flushed after a partition): an install of epoch 1, refused as stale.
    await sendLateInstall({ broker: url, site: "plant", agentId: "m1", epoch: 1 });

    // Thaw the leader: it hears the new leader's epoch and steps down (exit 0).
    await new Promise((r) => setTimeout(r, 500));
    leader.child.kill("SIGCONT");
    const [steppedDown] = await waitFor(leader.output, /stepped down: .*/, 10_000);
    console.log(steppedDown);
    expect(await leader.exited).toBe(0);

    await waitFor(standby.output, /all done: 6\/6 activities/, 30_000);
    expect(await terminate(standby, ...agents)).toEqual([0, 0, 0]);
    broker.child.kill("SIGTERM");

    const journals = { m1: journalOf("m1"), m2: journalOf("m2") };
    // 0 conflicting assignments: no agent acted on a command from an epoch below one it knew.
    const conflicting = Object.values(journals).flatMap(staleCommands);
    expect(conflicting).toEqual([]);
    // The late epoch-1 install was refused, saying why.
    const rejects = Object.values(journals)
      .flat()
      .filter((r): r is { t: "out"; message: AnyMessage } => r.t === "out")
      .map((r) => r.message)
      .filter((m) => m.type === "reject" && /stale epoch/.test(JSON.stringify(m.body)));
    console.log(`stale-epoch rejects in the agents' journals: ${rejects.length}`);
    expect(rejects.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(rejects[0]!.body)).toMatch(
      /stale epoch: command from coordinator epoch 1, epoch 2 is in force/,
    );
    // The agents took epoch 2 from the new leader, and each operation ran exactly once.
    const completions = Object.values(journals)
      .flat()
      .filter((r): r is { t: "complete"; activityId: string } => r.t === "complete")
      .map((r) => r.activityId)
      .sort();
    expect(completions).toEqual(["a.o0", "a.o1", "b.o0", "b.o1", "c.o0", "c.o1"]);
  }, 90_000);
});

describe("a standby across a broker restart", () => {
  it("does not take over a live leader whose renewals it could not hear while the broker was down", async () => {
    const sub = join(dir, "broker-restart");
    mkdirSync(sub);
    writeFileSync(
      join(sub, "cell.yaml"),
      "name: cell\nresources: [{ id: m1 }]\njobs:\n  - { id: a, operations: [{ resource: m1, duration: 300 }] }\n",
    );
    const port = await freePort();
    const first = await startBroker({ site: "relay", port });
    const url = first.url;
    const epochMs = Date.now() + 2000;
    const config = agentConfig({
      dir: sub,
      id: "m1",
      site: "relay",
      broker: url,
      epochMs,
      tickMs: 100,
      extra: ["connectRetrySeconds: 30"],
    });
    const agent = start(["agent", "--config", config]);
    await waitFor(agent.output, /online at/, 30_000);
    const common = [
      ...coordinatorFlags({
        scenario: join(sub, "cell.yaml"),
        broker: url,
        site: "relay",
        epochMs,
        journal: join(sub, "coordinator.journal"),
      }),
      ...["--lease-ms", String(LEASE_MS)],
    ];
    const leader = start(["coordinator", ...common]);
    await waitFor(leader.output, /plan installed/, 30_000);
    const standby = start(["coordinator", ...common, "--standby"]);
    await waitFor(standby.output, /standing by/, 30_000);
    // The broker dies and stays down for a whole lease: nobody hears any renewal meanwhile.
    await kill9(first);
    await sleep(LEASE_MS + 500);
    await startBroker({ site: "relay", port });
    // Both coordinators reconnect; the leader renews; the standby must keep standing by.
    await sleep(3 * LEASE_MS);
    expect(standby.output()).not.toMatch(/taking over: /);
    expect(leader.output()).not.toMatch(/stepped down/);
  }, 90_000);
});
