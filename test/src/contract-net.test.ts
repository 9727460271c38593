import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { journalIntegrity } from "@consort/hardware/harness";
import type { AnyMessage } from "@consort/protocol";
import { afterAll, describe, expect, it } from "vitest";
import {
  agentJournal,
  coordinatorFlags,
  freezeOnceRunning,
  outputsOf,
  start,
  startDeployment,
  stopAll,
  terminate,
  thawPastLease,
  waitFor,
} from "./processes.js";

// Contract net with real processes: `consort broker`, four `consort agent`s on the wall clock and
// `consort coordinator --reassignment contract-net`. An agent is partitioned (SIGSTOP) past its
// lease; its unstarted operations are announced to the agents able to run them, each bids from
// its own local schedule, the cheapest is awarded, and the winner journals the award before it
// acknowledges it. Counted from the agents' and the coordinator's journals.
const dir = mkdtempSync(join(tmpdir(), "consort-contract-net-"));
const AGENT_LEASE_MS = 3000;
const AGENTS = ["m1", "m2", "m3", "m4"];

afterAll(() => {
  stopAll();
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

type Line =
  | { t: "command"; id: string; message: AnyMessage }
  | { t: "out"; message: AnyMessage }
  | { t: string; activityId?: string };

const journal = (id: string) => agentJournal(join(dir, `${id}.journal`)) as Line[];
const commands = (id: string, type: string) =>
  journal(id).flatMap((r, i) =>
    r.t === "command" && (r as { message: AnyMessage }).message.type === type
      ? [{ i, message: (r as { message: AnyMessage }).message }]
      : [],
  );
const outs = (id: string, type: string) =>
  journal(id).flatMap((r, i) =>
    r.t === "out" && (r as { message: AnyMessage }).message.type === type
      ? [{ i, message: (r as { message: AnyMessage }).message }]
      : [],
  );

describe("contract net: an agent offline past its lease", () => {
  it("has its unstarted operations re-awarded by bids of capable agents, each run exactly once", async () => {
    const {
      scenario,
      broker,
      url,
      epochMs,
      agents: started,
      byId: agents,
    } = await startDeployment({
      dir,
      site: "cell",
      scenario: [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }, { id: m3 }, { id: m4 }]",
        "jobs:",
        "  - { id: a, due: 40, weight: 1, operations: [{ resource: m1, duration: 15 }, { resource: m2, duration: 5 }] }",
        "  - { id: b, due: 30, weight: 3, operations: [{ resources: [m1, m3, m4], duration: 10 }] }",
        "  - { id: c, due: 45, weight: 1, operations: [{ resources: [m1, m3, m4], duration: 10 }] }",
        "  - { id: d, due: 40, weight: 2, operations: [{ resource: m2, duration: 10 }, { resources: [m1, m3, m4], duration: 10 }] }",
        "  - { id: e, operations: [{ resource: m3, duration: 10 }] }",
        "  - { id: f, operations: [{ resource: m4, duration: 14 }] }",
      ],
      agents: AGENTS,
      startInMs: 2500,
      leaseMs: AGENT_LEASE_MS,
      agentWaitMs: 15_000,
    });
    const coordinator = start([
      "coordinator",
      ...coordinatorFlags({ scenario, broker: url, site: "cell", epochMs }),
      ...["--journal", join(dir, "coordinator.journal"), "--agent-lease-ms", "1000"],
      ...["--reassignment", "contract-net"],
    ]);
    await waitFor(coordinator.output, /plan installed/, 20_000);
    const m1 = agents.m1!;
    const frozenAt = await freezeOnceRunning(m1, epochMs);
    const [, moved] = await waitFor(
      coordinator.output,
      /m1 offline past its lease: \d+ unstarted operations reassigned \(([^)]*)\) by contract net/,
      15_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nbroker: ${broker.output()}\nm1: ${m1.output()}`);
    });
    // Every operation moved was taken by a bid: none was left to the central re-solve.
    expect(coordinator.output(), coordinator.output()).not.toMatch(/left to the central re-solve/);
    const awarded = moved!.split(", ").map((m) => m.split(" -> ") as [string, string]);
    console.log(`awarded ${moved} ${Date.now() - frozenAt} ms after SIGSTOP`);
    expect(awarded.length).toBeGreaterThan(0);
    // Past its own lease too, then back: it holds, and runs none of what moved.
    await thawPastLease(m1, frozenAt, AGENT_LEASE_MS);
    await waitFor(coordinator.output, /all done: 8\/8 activities/, 40_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${outputsOf(agents)}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await terminate(coordinator, ...started)).toEqual([0, 0, 0, 0, 0]);
    broker.child.kill("SIGTERM");

    // Each operation ran exactly once, across the four journals (none lost, none run twice).
    const all = ["a.o0", "a.o1", "b.o0", "c.o0", "d.o0", "d.o1", "e.o0", "f.o0"];
    expect(journalIntegrity(dir, AGENTS, all)).toMatchObject({ lost: 0, duplicated: 0 });
    for (const [activityId, winner] of awarded) {
      expect(["m3", "m4"]).toContain(winner);
      // It ran where it was awarded, and not on the lost agent.
      const ranOn = AGENTS.filter((id) =>
        journal(id).some((r) => r.t === "complete" && r.activityId === activityId),
      );
      expect(ranOn).toEqual([winner]);
      expect(journal("m1").some((r) => r.t === "start" && r.activityId === activityId)).toBe(false);
      // The call went to both capable agents still in contact; each answered it.
      const calls = ["m3", "m4"].map((id) =>
        commands(id, "cfp").find(
          (c) => (c.message.body as { activity: { id: string } }).activity.id === activityId,
        ),
      );
      for (const c of calls) expect(c).toBeDefined();
      const callId = (calls[0]!.message.body as { callId: string }).callId;
      for (const id of ["m3", "m4"])
        expect(
          [...outs(id, "bid"), ...outs(id, "refuse")].some(
            (o) => (o.message.body as { callId: string }).callId === callId,
          ),
        ).toBe(true);
      // The winner journalled the award before it acknowledged it; the loser heard a reject.
      const award = commands(winner, "award").find(
        (c) => (c.message.body as { callId: string }).callId === callId,
      );
      expect(award).toBeDefined();
      const ack = outs(winner, "accept").find(
        (o) => (o.message.body as { ref: string }).ref === callId,
      );
      expect(ack).toBeDefined();
      expect(award!.i).toBeLessThan(ack!.i);
      const loser = winner === "m3" ? "m4" : "m3";
      expect(
        commands(loser, "reject").some((c) => (c.message.body as { ref: string }).ref === callId),
      ).toBe(true);
    }
    // The coordinator journalled each award (the schedule with the operation on its winner).
    const installed = readFileSync(join(dir, "coordinator.journal"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"installed"'))
      .map(
        (l) =>
          JSON.parse(l) as {
            resources: { resourceId: string; activities: { activityId: string }[] }[];
          },
      );
    for (const [activityId, winner] of awarded)
      expect(
        installed.some((r) =>
          r.resources.some(
            (x) => x.resourceId === winner && x.activities.some((a) => a.activityId === activityId),
          ),
        ),
      ).toBe(true);
  }, 120_000);
});
