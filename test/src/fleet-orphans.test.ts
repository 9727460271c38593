import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  childProcesses,
  eventually,
  findRedis,
  kill9,
  pidRunning,
  type Started,
  start,
  startBroker,
  stopAll,
  waitFor,
} from "./processes.js";
import { repoRoot } from "./run-cli.js";

// `consort fleet` killed with SIGKILL runs no teardown: its agent processes (and, with
// --broker-crashes, its broker and redis-server) must notice by themselves that it is gone and
// stop, rather than run on retrying a broker for ever.

const dir = mkdtempSync(join(tmpdir(), "consort-orphans-"));
/** The fleets' children: a failing test must not leave them running either. */
const strays: number[] = [];
afterAll(() => {
  stopAll();
  for (const pid of strays)
    if (pidRunning(pid)) {
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGKILL");
    }
  rmSync(dir, { recursive: true, force: true });
});

/** The machining cell's five resources, each an agent process of the fleet. */
const AGENTS = 5;
const isAgent = (cmdline: string) => /edge-agent\/dist\/main\.js/.test(cmdline);

/** Waits for the fleet's agent processes (all of them) and returns their pids. */
async function agentPids(fleet: Started): Promise<number[]> {
  const pid = fleet.child.pid!;
  let pids: number[] = [];
  const found = await eventually(() => {
    pids = childProcesses(pid)
      .filter((c) => isAgent(c.cmdline))
      .map((c) => c.pid);
    return pids.length === AGENTS || !fleet.alive();
  }, 30_000);
  strays.push(...pids);
  expect(
    found && fleet.alive(),
    `the fleet's agents: ${pids.length}\n${fleet.output().slice(-2000)}`,
  ).toBe(true);
  return pids;
}

describe("consort fleet killed with SIGKILL", () => {
  it("takes its agent processes with it, even while the broker is frozen", async () => {
    const site = "orphans";
    const broker = await startBroker({ site });
    const fleet = start(
      [
        "fleet",
        ...["--seed", "3", "--offline", "0", "--broker", broker.url, "--site", site],
        ...["--json", "--out", join(dir, "out")],
      ],
      { cwd: repoRoot },
    );
    const pids = await agentPids(fleet);
    // Every agent online, then the broker frozen: the run cannot end by itself, and the agents'
    // farewells will not be acknowledged (the worst case for how long they take to stop).
    await waitFor(
      broker.output,
      new RegExp(`("role":"agent","msg":"client connected"[^]*){${AGENTS}}`),
      30_000,
    );
    broker.child.kill("SIGSTOP");
    expect(pids.filter(pidRunning)).toHaveLength(AGENTS);

    const killed = Date.now();
    await kill9(fleet);
    const gone = await eventually(() => pids.every((p) => !pidRunning(p)), 5000);
    console.log(`agents gone ${Date.now() - killed} ms after the fleet's SIGKILL`);
    expect(gone, `still running: ${pids.filter(pidRunning).join(", ")}`).toBe(true);
    broker.child.kill("SIGCONT");
  });

  it.skipIf(!findRedis())("with --broker-crashes, its broker and redis-server go too", async () => {
    const fleet = start(
      [
        "fleet",
        ...["--seed", "3", "--offline", "0", "--broker-crashes", "1"],
        ...["--json", "--out", join(dir, "out-crashes")],
      ],
      { cwd: repoRoot },
    );
    const agents = await agentPids(fleet);
    const children = childProcesses(fleet.child.pid!);
    const broker = children.find((c) => /broker\.mjs/.test(c.cmdline));
    const redis = children.find((c) => /redis-server/.test(c.cmdline));
    expect(broker, JSON.stringify(children)).toBeDefined();
    expect(redis, JSON.stringify(children)).toBeDefined();
    // Frozen, the broker holds the run where it is (and cannot be restarted by the fleet).
    process.kill(broker!.pid, "SIGSTOP");
    const all = [...agents, broker!.pid, redis!.pid];
    strays.push(broker!.pid, redis!.pid);
    expect(all.filter(pidRunning)).toHaveLength(all.length);

    await kill9(fleet);
    process.kill(broker!.pid, "SIGCONT");
    const gone = await eventually(() => all.every((p) => !pidRunning(p)), 5000);
    expect(gone, `still running: ${all.filter(pidRunning).join(", ")}`).toBe(true);
  });
});
