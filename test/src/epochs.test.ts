import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  agentJournal,
  coordinatorFlags,
  sendLateInstall,
  staleCommands,
  start,
  startDeployment,
  stopAll,
  terminate,
  waitFor,
} from "./processes.js";

// A fresh deployment on a site that remembers an earlier one: the coordinator's journal is wiped
// (or it moves to a new machine) while the agents keep theirs, holding a higher coordinator
// epoch. Real processes: `consort broker`, two `consort agent`s, `consort coordinator`s.
const dir = mkdtempSync(join(tmpdir(), "consort-epochs-"));
const LEASE_MS = 1500;

afterAll(() => {
  stopAll();
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

describe("a coordinator starting on an empty journal", () => {
  it("leads above the epoch the agents and the broker remember, and fencing still refuses the old one", async () => {
    const { scenario, broker, url, epochMs, agents } = await startDeployment({
      dir,
      site: "plant",
      scenario: [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, operations: [{ resource: m1, duration: 20 }, { resource: m2, duration: 15 }] }",
        "  - { id: b, operations: [{ resource: m2, duration: 20 }, { resource: m1, duration: 15 }] }",
      ],
      agents: ["m1", "m2"],
      startInMs: 1000,
    });
    const common = [
      ...coordinatorFlags({ scenario, broker: url, site: "plant", epochMs }),
      ...["--lease-ms", String(LEASE_MS)],
    ];
    // The earlier deployment: two sessions on one journal, so the agents hold epoch 2; its work
    // is still under way when its journal is lost.
    const old = join(dir, "old.journal");
    for (const expected of [/plan installed/, /plan installed|schedule in force/]) {
      const c = start(["coordinator", ...common, "--journal", old]);
      await waitFor(c.output, expected, 30_000);
      c.child.kill("SIGTERM");
      expect(await c.exited, c.output()).toBe(0);
    }

    // A new coordinator on a new journal: before, it led in epoch 1 and every command was refused.
    const fresh = start(["coordinator", ...common, "--journal", join(dir, "new.journal")]);
    const [, epoch] = await waitFor(fresh.output, /leading in epoch (\d+)/, 30_000);
    expect(Number(epoch)).toBeGreaterThan(2);
    await waitFor(fresh.output, /schedule installed on every affected agent/, 30_000);
    expect(fresh.output()).not.toMatch(/stepped down/);

    // The old epoch is still fenced off, and the refusal is visible on the agent.
    await sendLateInstall({ broker: url, site: "plant", agentId: "m1", epoch: 2 });
    await waitFor(
      agents[0]!.output,
      new RegExp(
        `refused a command from stale coordinator epoch 2: this agent holds epoch ${epoch}`,
      ),
      10_000,
    );
    expect(await terminate(fresh, ...agents)).toEqual([0, 0, 0]);
    broker.child.kill("SIGTERM");
    const journals = ["m1", "m2"].map((m) => agentJournal(join(dir, `${m}.journal`)));
    expect(journals.flatMap(staleCommands)).toEqual([]);
    // Each agent took the new coordinator's schedule: an install of the new epoch, accepted.
    for (const journal of journals) {
      const installs = journal.filter(
        (r): r is { t: "command"; id: string; message: { type: string; epoch?: number } } =>
          r.t === "command" &&
          "message" in r &&
          r.message.type === "install" &&
          r.message.epoch === Number(epoch),
      );
      expect(installs.length).toBeGreaterThanOrEqual(1);
      const accepted = journal.filter(
        (r) =>
          r.t === "out" &&
          "message" in r &&
          r.message.type === "accept" &&
          installs.some((i) => JSON.stringify(r.message.body).includes(i.id)),
      );
      expect(accepted.length).toBeGreaterThanOrEqual(1);
    }
  }, 120_000);
});
