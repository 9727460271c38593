import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentConfig, sleep, start, startBroker, stopAll, waitFor } from "./processes.js";

// A C-TAEMS deployment: `consort broker`, `consort coordinator` and one `consort agent` per
// rover, each its own process configured by a file, on the wall clock; one rover's agent is
// killed with SIGKILL mid-run and started again on the same journal.
const dir = mkdtempSync(join(tmpdir(), "consort-deploy-ctaems-"));

afterAll(() => {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  activities: number;
  completed: number;
  feasible: boolean;
  violations: string[];
  objectives: { quality: number };
  refused: { agentId: string; tick: number; reason: string }[];
  executed: { activityId: string; startTicks: number; endTicks: number; quality: number }[];
  endTicks: number;
}

describe("a C-TAEMS deployment on the wall clock", () => {
  it("survives an agent killed with SIGKILL and restarted: nothing lost, nothing run twice", async () => {
    const tickMs = 200;
    // Three rovers in a chain of enables links; rover2's second method can start only after
    // its first, so the restarted agent has work left to do after the kill.
    writeFileSync(
      join(dir, "relay.yaml"),
      [
        "name: relay",
        "resources: [{ id: rover1, kind: rover }, { id: rover2, kind: rover }, { id: rover3, kind: rover }]",
        "network:",
        "  root: mission",
        "  tasks:",
        "    - { id: mission, qaf: sum, children: [a1, b1, b2, c1], deadline: 40 }",
        "  activities:",
        "    - { id: a1, resource: rover1, duration: 3, quality: 4 }",
        "    - { id: b1, resource: rover2, duration: 6, quality: 5 }",
        "    - { id: b2, resource: rover2, duration: 5, quality: 3 }",
        "    - { id: c1, resource: rover3, duration: 4, quality: 6 }",
        "  links:",
        "    - { kind: enables, from: a1, to: b1 }",
        "    - { kind: enables, from: b1, to: b2 }",
        "    - { kind: enables, from: b1, to: c1 }",
        "",
      ].join("\n"),
    );
    const broker = await startBroker({ site: "field" });
    const url = broker.url;
    const config = (id: string) =>
      agentConfig({
        dir,
        id,
        site: "field",
        broker: url,
        tickMs,
        extra: ["family: ctaems"],
        simulation: null,
      });
    const agents = new Map(
      ["rover1", "rover2", "rover3"].map((id) => [id, start(["agent", "--config", config(id)])]),
    );
    for (const a of agents.values()) await waitFor(a.output, /online/, 20_000);
    const report = join(dir, "report.json");
    const coordinatorConfig = join(dir, "coordinator.yaml");
    writeFileSync(
      coordinatorConfig,
      [
        `scenario: ${join(dir, "relay.yaml")}`,
        `broker: ${url}`,
        "site: field",
        "seed: 3",
        `tickMs: ${tickMs}`,
        "waitAgents: 20",
        `report: ${report}`,
        "http: 127.0.0.1:0",
        "",
      ].join("\n"),
    );
    const coordinator = start(["coordinator", "--config", coordinatorConfig]);
    const http = (
      await waitFor(coordinator.output, /dashboard at (http:\/\/127\.0\.0\.1:\d+)\//, 30_000)
    )[1]!;
    await waitFor(coordinator.output, /running Consort on the wall clock/, 30_000);
    // Mid-run, while rover2 runs b1 (a1 ends at tick 3; b1 runs about ticks 3..9): kill it hard.
    await sleep(6 * tickMs);
    const victim = agents.get("rover2")!;
    victim.child.kill("SIGKILL");
    await victim.exited;
    await sleep(3 * tickMs);
    const again = start(["agent", "--config", join(dir, "rover2.yaml")]);
    await waitFor(again.output, /online/, 20_000);
    // The dashboard saw it go and come back, in a new session epoch (its descriptor may reach
    // the coordinator a moment after the agent says it is online).
    type Snapshot = {
      family: string;
      agents: { agentId: string; online: boolean; epoch?: number }[];
      timeline: { text: string }[];
      ctaems: { tree: { id: string; p: number }[] };
    };
    let snapshot: Snapshot;
    for (let tries = 0; ; tries++) {
      snapshot = (await (await fetch(`${http}/api/snapshot`)).json()) as Snapshot;
      const back = snapshot.agents.find((a) => a.agentId === "rover2");
      if ((back?.online && (back.epoch ?? 0) > 1) || tries > 50) break;
      await sleep(100);
    }
    expect(snapshot.family).toBe("ctaems");
    const rover2 = snapshot.agents.find((a) => a.agentId === "rover2");
    expect(rover2?.online).toBe(true);
    expect(rover2?.epoch).toBeGreaterThan(1);
    expect(snapshot.timeline.map((t) => t.text)).toContainEqual(
      expect.stringMatching(/^rover2 offline/),
    );
    expect(snapshot.ctaems.tree.map((n) => n.id)).toEqual(
      expect.arrayContaining(["a1", "b1", "b2", "c1"]),
    );

    const code = await Promise.race([coordinator.exited, sleep(60_000).then(() => "timeout")]);
    expect(code, coordinator.output()).toBe(0);
    const r = JSON.parse(readFileSync(report, "utf8")) as Report;
    // Nothing lost: every method ran, b1 (under way at the kill) included, and the restarted
    // agent went on to b2; the root earned every method's quality.
    const said = `${coordinator.output()}${JSON.stringify(r.executed)}`;
    expect(r.completed, said).toBe(r.activities);
    expect(r.executed.map((e) => e.activityId).sort(), said).toEqual(["a1", "b1", "b2", "c1"]);
    expect(r.objectives.quality, said).toBe(18);
    // Nothing repeated: no method ran twice, and the world refused no second start.
    expect(r.feasible, r.violations.join("; ")).toBe(true);
    expect(r.refused, said).toEqual([]);
    for (const a of [...agents.values()].filter((a) => a !== victim)) a.child.kill("SIGTERM");
    again.child.kill("SIGTERM");
    broker.child.kill("SIGTERM");
    await broker.exited;
  }, 150_000);
});
