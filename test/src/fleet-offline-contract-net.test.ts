import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyMessage } from "@consort/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// Lock-step `consort fleet --offline 1` (the embedded aedes broker, one agent process per machine):
// an agent is killed in simulated time and stays down past its lease; its unstarted operations
// are announced to the agents able to run them and awarded by contract net, the same path as on
// the wall clock. Back in a new session, it holds its unstarted work until the coordinator's
// install says what is still its own, so nothing runs twice.
const dir = mkdtempSync(join(tmpdir(), "consort-fleet-offline-cn-"));
afterAll(() => {
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

// Every operation may run on any of the three machines.
const any = (d: number) => `{ resources: [m1, m2, m3], duration: ${d} }`;
const CELL = [
  "name: cell",
  "resources: [{ id: m1 }, { id: m2 }, { id: m3 }]",
  "jobs:",
  `  - { id: a, due: 40, weight: 2, operations: [${any(8)}, ${any(6)}] }`,
  `  - { id: b, due: 40, weight: 1, operations: [${any(7)}, ${any(5)}] }`,
  `  - { id: c, due: 50, weight: 1, operations: [${any(9)}, ${any(4)}] }`,
  `  - { id: d, due: 50, weight: 3, operations: [${any(6)}, ${any(8)}] }`,
  `  - { id: e, due: 60, weight: 1, operations: [${any(5)}, ${any(7)}] }`,
  `  - { id: f, due: 60, weight: 2, operations: [${any(8)}, ${any(6)}] }`,
  "",
].join("\n");

type Line = { t: string; id?: string; activityId?: string; message?: AnyMessage };
const journal = (agent: string): Line[] =>
  readFileSync(join(dir, "journals", `${agent}.journal`), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);

describe("consort fleet --offline, lock-step: contract net re-awards a lost agent's work", () => {
  it("awards its unstarted operations to capable agents, each run exactly once", async () => {
    writeFileSync(join(dir, "cell.yaml"), CELL);
    // Seed 2 takes m3 down at tick 6, before most of its work has started.
    const run = await runCli(
      [
        "fleet",
        "--scenario",
        join(dir, "cell.yaml"),
        "--seed",
        "2",
        "--offline",
        "1",
        "--breakdowns",
        "0",
        "--overruns",
        "0",
        "--rush-orders",
        "0",
        "--reassignment",
        "contract-net",
        "--json",
        "--out",
        dir,
        "--keep-journals",
        join(dir, "journals"),
      ],
      { timeoutMs: 90_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const r = JSON.parse(run.stdout.trim()) as {
      completed: number;
      activities: number;
      integrity: { lost: number; duplicated: number };
      repairsByLevel: Record<string, number>;
      runtimeRepairs: { trigger: string; level: string }[];
    };
    expect(r.completed).toBe(r.activities);
    expect(r.integrity).toEqual({ lost: 0, duplicated: 0 });

    const file = JSON.parse(readFileSync(join(dir, "fleet-cell-seed2.json"), "utf8")) as {
      disruptions: { kind: string; resourceId?: string; atTicks: number; untilTicks?: number }[];
      awards: { atTicks: number; activityId: string; resourceId?: string; bids: number }[];
      executed: { activityId: string; resourceId: string; startTicks: number; status: string }[];
    };
    const offline = file.disruptions.find((d) => d.kind === "offline");
    expect(offline?.resourceId).toBeDefined();
    const lost = offline!.resourceId!;
    // Awarded while it was down, to another machine, on bids.
    const awarded = file.awards.filter((a) => a.resourceId !== undefined);
    expect(awarded.length).toBeGreaterThan(0);
    for (const a of awarded) {
      expect(a.resourceId).not.toBe(lost);
      expect(a.bids).toBeGreaterThan(0);
      expect(a.atTicks).toBeGreaterThanOrEqual(offline!.atTicks);
      expect(a.atTicks).toBeLessThan(offline!.untilTicks!);
    }
    // The repair is counted at the contract-net level.
    expect(r.repairsByLevel.contractNet).toBeGreaterThanOrEqual(1);
    expect(
      r.runtimeRepairs.some(
        (x) => x.trigger === `${lost} offline past its lease` && x.level === "contractNet",
      ),
    ).toBe(true);

    // Each awarded operation ran exactly once, on its winner; the lost agent never started it.
    const lostStarts = new Set(
      journal(lost)
        .filter((l) => l.t === "start")
        .map((l) => l.activityId),
    );
    for (const a of awarded) {
      const runs = file.executed.filter(
        (e) => e.activityId === a.activityId && e.status === "completed",
      );
      expect(runs.map((e) => e.resourceId)).toEqual([a.resourceId]);
      expect(lostStarts.has(a.activityId)).toBe(false);
      // The winner journalled the award before it acknowledged it.
      const lines = journal(a.resourceId!);
      const got = lines.findIndex(
        (l) =>
          l.t === "command" &&
          l.message?.type === "award" &&
          (l.message.body as { activityId: string }).activityId === a.activityId,
      );
      const callId = (lines[got]?.message?.body as { callId: string } | undefined)?.callId;
      const acked = lines.findIndex(
        (l) =>
          l.t === "out" &&
          l.message?.type === "accept" &&
          (l.message.body as { ref: string }).ref === callId,
      );
      expect(got).toBeGreaterThanOrEqual(0);
      expect(acked).toBeGreaterThan(got);
    }
  }, 100_000);
});
