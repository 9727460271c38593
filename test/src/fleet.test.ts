import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const out = mkdtempSync(join(tmpdir(), "consort-fleet-test-"));

interface FleetJson {
  agents: number;
  processes: number;
  activities: number;
  completed: number;
  feasible: boolean;
  disruptions: number;
  repairs: number;
  localRepairs: number;
  escalations: number;
  messages: number;
  bytes: number;
  objectives: { makespan: number; totalWeightedTardiness: number };
  report: { json: string; html: string };
  journals?: string;
}

async function fleet(args: string[], env?: NodeJS.ProcessEnv): Promise<FleetJson> {
  const run = await runCli(["fleet", "--json", "--out", out, ...args], {
    timeoutMs: 90_000,
    ...(env ? { env } : {}),
  });
  if (run.code !== 0)
    throw new Error(
      `consort fleet ${args.join(" ")} exited ${run.code}: ${run.stderr.slice(-2000)}`,
    );
  const lines = run.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as FleetJson;
}

const oneDisruption = (kind: string) => [
  "--breakdowns",
  "0",
  "--overruns",
  "0",
  "--rush-orders",
  "0",
  "--offline",
  "0",
  `--${kind}`,
  "1",
];

describe("consort fleet (a broker, the coordinator and one agent process per resource, over MQTT)", () => {
  it("completes the default scenario with every disruption kind and a valid schedule, and writes the report", async () => {
    // Its own temporary folder, to see that the run leaves nothing there.
    const tmp = mkdtempSync(join(tmpdir(), "consort-fleet-tmp-"));
    const r = await fleet(["--seed", "1"], { TMPDIR: tmp });
    expect(readdirSync(tmp)).toEqual([]);
    expect(r.journals).toBeUndefined();
    expect(r.agents).toBe(5);
    expect(r.completed).toBe(r.activities);
    expect(r.activities).toBeGreaterThan(27); // the rush order's jobs joined the 27 planned operations
    expect(r.feasible).toBe(true);
    expect(r.disruptions).toBe(5);
    expect(r.processes).toBe(r.agents + 1); // the agent that went offline was started again
    expect(r.messages).toBeGreaterThan(0);
    expect(r.bytes).toBeGreaterThan(r.messages);
    const html = readFileSync(r.report.html, "utf8");
    const json = JSON.parse(readFileSync(r.report.json, "utf8"));
    expect(html).toContain("<svg");
    // A bar for every completed run, and one for every attempt a breakdown cut short.
    const failedBars = (json.executed as { status: string }[]).filter(
      (e) => e.status === "failed",
    ).length;
    expect(html.match(/<rect class="bar/g)?.length).toBe(r.completed + failedBars);
    expect(
      (json.executed as { status: string }[]).filter((e) => e.status === "completed"),
    ).toHaveLength(r.completed);
    // The coordinator's own traffic, by type and by topic: it commands on agents' inboxes,
    // masters the clock, and hears the agents' reports.
    const byTopic = json.coordinatorTraffic.byTopic;
    expect(byTopic["agent-in"].sent).toBeGreaterThan(0);
    expect(byTopic.clock.sent).toBeGreaterThan(0);
    expect(byTopic["agent-out"].received).toBeGreaterThan(0);
    expect(byTopic["agent-out"].receivedBytes).toBeGreaterThan(byTopic["agent-out"].received);
    expect(json.coordinatorTraffic.byType.idle.received).toBeGreaterThan(0);
    expect(html).toContain("traffic by topic");
  });

  it("is reproducible for a seed, whatever the site's name (an agent restart included)", async () => {
    const a = await fleet(["--seed", "2", "--site", "alpha"]);
    const b = await fleet(["--seed", "2", "--site", "beta"]);
    expect(b.objectives).toEqual(a.objectives);
    expect(b.completed).toBe(a.completed);
  });

  for (const kind of ["breakdowns", "rush-orders", "overruns"] as const) {
    it(`repairs ${kind} and ends feasible`, async () => {
      const r = await fleet(["--seed", "3", ...oneDisruption(kind)]);
      expect(r.feasible).toBe(true);
      expect(r.completed).toBe(r.activities);
      expect(r.disruptions).toBe(1);
      // `feasible` includes that no run overlaps a breakdown of its machine. A rush order always
      // needs a new plan installed on the affected agents (the initial plan is one installation);
      // a breakdown or an overrun is repaired by the agent alone when it can, escalated when not.
      if (kind === "rush-orders") {
        expect(r.repairs).toBeGreaterThanOrEqual(2);
        expect(r.activities).toBeGreaterThan(27);
      }
    });
  }

  it("kill -9 of an agent mid-run: it resumes from its journal, with no operation lost or run twice", async () => {
    const kept = join(out, "journals-seed5");
    const r = await fleet(["--seed", "5", ...oneDisruption("offline"), "--keep-journals", kept]);
    expect(r.journals).toBe(kept);
    expect(r.processes).toBe(r.agents + 1);
    expect(r.feasible).toBe(true);
    expect(r.completed).toBe(r.activities);
    const journals = readdirSync(kept).filter((f) => f.endsWith(".journal"));
    expect(journals).toHaveLength(r.agents);
    let completions = 0;
    let restarted = 0;
    for (const file of journals) {
      const records = readFileSync(join(kept, file), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const epochs = records.filter((x) => x.t === "epoch").length;
      if (epochs > 1) restarted++;
      const count = (t: string, id: string) =>
        records.filter((x) => x.t === t && x.activityId === id).length;
      const ids = new Set(
        records.filter((x) => x.t === "start").map((x) => x.activityId as string),
      );
      // A restarted agent re-attaches to the run under way; it never starts work on a busy machine.
      expect(records.filter((x) => x.t === "fail" && x.reason === "resource-busy")).toEqual([]);
      for (const id of ids) {
        expect(count("complete", id), `${file}: ${id} completed once`).toBe(1);
        expect(
          count("start", id),
          `${file}: ${id} started once, or again only after a failed run`,
        ).toBe(1 + count("fail", id));
      }
      completions += records.filter((x) => x.t === "complete").length;
    }
    expect(restarted).toBe(1);
    const executed = JSON.parse(readFileSync(r.report.json, "utf8")).executed as {
      activityId: string;
      startTicks: number;
      endTicks: number;
    }[];
    for (const e of executed)
      expect(e.endTicks, `${e.activityId} ran for a positive time`).toBeGreaterThan(e.startTicks);
    expect(completions).toBe(r.activities);
    expect(existsSync(r.report.html)).toBe(true);
  });
});
