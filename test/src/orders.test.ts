import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Body, topics } from "@consort/protocol";
import { MqttTransport } from "@consort/protocol/mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { start, stopAll, waitFor } from "./processes.js";
import { runCli } from "./run-cli.js";

// A long-lived coordinator in a deployment: `consort broker`, two `consort agent` processes and
// `consort coordinator`, on the wall clock. Orders come in with `consort order submit` after the
// scenario's work is done; the coordinator is killed (SIGKILL) and started again on its journal.
const dir = mkdtempSync(join(tmpdir(), "consort-orders-"));

afterAll(() => {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const order = (orderId: string, jobs: string) =>
  [`orderId: ${orderId}`, "priority: 20", "jobs:", jobs, ""].join("\n");

describe("a long-lived coordinator taking orders, across a SIGKILL", () => {
  it("accepts, schedules and executes orders, refuses a bad one, and resumes from its journal", async () => {
    writeFileSync(
      join(dir, "cell.yaml"),
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }]",
        "jobs:",
        "  - { id: a, due: 12, operations: [{ resource: m1, duration: 3 }, { resource: m2, duration: 2 }] }",
        "  - { id: b, due: 10, operations: [{ resource: m2, duration: 3 }] }",
        "",
      ].join("\n"),
    );
    const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const epochMs = Date.now() + 2000;
    const agents = ["m1", "m2"].map((id) => {
      const config = join(dir, `${id}.yaml`);
      writeFileSync(
        config,
        [
          `agentId: ${id}`,
          "site: plant",
          `broker: ${url}`,
          `journal: ${join(dir, `${id}.journal`)}`,
          "clock: wall",
          `epochMs: ${epochMs}`,
          "tickMs: 50",
          "logLevel: warn",
          "simulation: { trialKey: 7, disruptions: [] }",
          "",
        ].join("\n"),
      );
      return start(["agent", "--config", config]);
    });
    for (const a of agents) await waitFor(a.output, /online at/, 15_000);
    const coordinatorArgs = [
      "coordinator",
      ...["--scenario", join(dir, "cell.yaml"), "--broker", url, "--site", "plant"],
      ...["--epoch-ms", String(epochMs), "--tick-ms", "50", "--wait-agents", "20"],
      ...["--journal", join(dir, "coordinator.journal")],
    ];
    // An operator watching the plans topic: each installed schedule, its slots and objectives.
    const watcher = await MqttTransport.connect({
      url,
      clientId: "operator@watch",
      username: "operator",
    });
    const plans: Body<"plan">[] = [];
    watcher.onMessage((m) => {
      if (m.type === "plan") plans.push(m.body);
    });
    await watcher.subscribe(topics.plans("plant"));
    const first = start(coordinatorArgs);
    await waitFor(first.output, /all done: 3\/3 activities/, 30_000);
    // Past its scenario's end it keeps serving.
    await new Promise((r) => setTimeout(r, 500));
    expect(first.child.exitCode).toBeNull();

    const submit = (file: string) =>
      runCli(["order", "submit", file, "--broker", url, "--site", "plant", "--timeout", "15"], {
        timeoutMs: 30_000,
      });

    // A good order: accepted, scheduled, and its operations executed by the agents.
    writeFileSync(
      join(dir, "rush.yaml"),
      order(
        "rush-1",
        "  - { id: r1, operations: [{ resources: [m2], durationTicks: 2 }, { resources: [m1], durationTicks: 2 }] }",
      ),
    );
    const accepted = await submit(join(dir, "rush.yaml"));
    expect(accepted.stderr).toBe("");
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toMatch(/rush-1 accepted: 1 jobs/);
    await waitFor(first.output, /all done: 5\/5 activities/, 30_000);
    const rushPlan = plans.find((p) =>
      p.resources?.some((r) => r.slots.some((x) => x.activityId === "r1.o1")),
    );
    expect(rushPlan, JSON.stringify(plans)).toBeDefined();
    expect(rushPlan!.activities).toBe(5);
    expect(rushPlan!.objectives.makespanTicks).toBeGreaterThan(0);
    expect(rushPlan!.objectives).toHaveProperty("totalWeightedTardiness");
    const slot = (id: string) =>
      rushPlan!
        .resources!.flatMap((r) => r.slots.map((x) => ({ ...x, r: r.resourceId })))
        .find((x) => x.activityId === id)!;
    expect(slot("r1.o0").r).toBe("m2");
    expect(slot("r1.o1").r).toBe("m1");
    // The chain holds in the plan: the second operation starts after the first ends.
    expect(slot("r1.o1").startTicks!).toBeGreaterThanOrEqual(slot("r1.o0").startTicks! + 2);

    // A bad order (an unknown machine): refused with the reason, and nothing changes.
    writeFileSync(
      join(dir, "bad.json"),
      JSON.stringify({
        orderId: "bad-1",
        jobs: [{ id: "x1", operations: [{ resources: ["m9"], durationTicks: 2 }] }],
      }),
    );
    const refused = await submit(join(dir, "bad.json"));
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(
      /order bad-1 refused: jobs\[0\]\.operations\[0\]\.resources: "m9" is not a resource of this site/,
    );
    expect(first.output()).toMatch(/order bad-1 from operator refused/);
    expect(readFileSync(join(dir, "coordinator.journal"), "utf8")).not.toContain("bad-1");
    // An order file that does not fit the schema never leaves the command line.
    writeFileSync(join(dir, "typo.yaml"), order("t-1", "  - { id: t1, operations: [] }"));
    const typo = await submit(join(dir, "typo.yaml"));
    expect(typo.code).toBe(65);
    expect(typo.stderr.trim()).toMatch(
      /typo\.yaml:4:\d+: jobs\[0\]\.operations: must have at least 1 entry$/,
    );

    // SIGKILL, then the same command again: it resumes from its journal in a new epoch.
    first.child.kill("SIGKILL");
    await first.exited;
    const second = start(coordinatorArgs);
    await waitFor(
      second.output,
      /resumed from .* in epoch 2: 1 orders, a schedule installed, 5 activities done/,
      15_000,
    );
    await waitFor(second.output, /schedule in force/, 15_000);

    // A new order after the restart: accepted, and the agents act on the new coordinator's
    // commands. Killed again while the agents run it (its completion reaches a coordinator that is
    // down: the broker keeps it in the persistent session), and started a third time.
    writeFileSync(
      join(dir, "after.json"),
      JSON.stringify({
        orderId: "after-1",
        jobs: [{ id: "z1", operations: [{ resources: ["m1"], durationTicks: 30 }] }],
      }),
    );
    const after = await submit(join(dir, "after.json"));
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/after-1 accepted/);
    second.child.kill("SIGKILL");
    await second.exited;
    await new Promise((r) => setTimeout(r, 500));
    const third = start(coordinatorArgs);
    await waitFor(
      third.output,
      /resumed from .* in epoch 3: 2 orders, a schedule installed, [56] activities done/,
      15_000,
    );
    await waitFor(third.output, /all done: 6\/6 activities/, 30_000);
    // The earlier order again (a resend after a timeout, say): the same answer, nothing added.
    const again = await submit(join(dir, "rush.yaml"));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already accepted/);

    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
    expect(third.output()).toMatch(/stopped on SIGTERM: 6\/6 activities/);
    // Each operation ran once: the agents' journals hold one completion per activity.
    const completions = ["m1", "m2"].flatMap((id) =>
      readFileSync(join(dir, `${id}.journal`), "utf8")
        .split("\n")
        .filter((l) => l.includes('"t":"complete"'))
        .map((l) => (JSON.parse(l) as { activityId: string }).activityId),
    );
    expect(completions.sort()).toEqual(["a.o0", "a.o1", "b.o0", "r1.o0", "r1.o1", "z1.o0"]);
    for (const a of agents) {
      a.child.kill("SIGTERM");
      expect(await a.exited).toBe(0);
    }
    await watcher.close();
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  }, 120_000);
});
