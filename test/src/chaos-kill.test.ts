import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CoordinatorJournalRecord, executedSchedule } from "@consort/coordinator";
import { checkSchedule, createRng, indexModel, parseScenario, type TaskModel } from "@consort/core";
import { journalIntegrity } from "@consort/hardware/harness";
import { afterAll, describe, expect, it } from "vitest";
import {
  agentConfig,
  agentJournal,
  findRedis,
  freePort,
  kill9,
  type Started,
  sleep,
  staleCommands,
  start,
  startRedis,
  stopAll,
  waitFor,
} from "./processes.js";

/**
 * The chaos suite: a deployment of real processes on the wall clock (`consort broker` over a
 * redis-server when there is one, a coordinator leader ("primary") and a `--standby`
 * ("secondary") on one journal, an agent per machine) meets, at seeded random points, kill -9 of
 * an agent, of the leader, of the standby and of the broker (each restarted with the same flags,
 * as a supervisor would), and SIGSTOP of the leader past its lease then SIGCONT. Every run must
 * end with every operation done exactly once, feasibly, as the journals on disk show; a frozen
 * leader is replaced within lease + 2 s and nothing it sends after it resumes is acted on.
 * Seeds: a fixed list, or CONSORT_CHAOS_SEEDS="4,5,6".
 */
const SEEDS = (process.env.CONSORT_CHAOS_SEEDS ?? "1,2,3")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "")
  .map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new Error(`CONSORT_CHAOS_SEEDS: "${s}" is not an integer`);
    return n;
  });

const TICK_MS = 600;
/** The coordinator's lease; the Done-when bound on a takeover is this plus 2 s. */
const LEASE_MS = 2000;
/** Offline this long, an agent's unstarted work moves (a restart is well within it). */
const AGENT_LEASE_MS = 8000;
/** A supervisor's pause before it starts a process again (systemd's RestartSec). */
const RESTART_MS = 500;
const MACHINES = ["m1", "m2", "m3"];

// Three machines, five jobs of two or three operations (two with a choice of machine): about
// 24 s of work at 600 ms ticks, long enough for every fault to land mid-run.
const SCENARIO = [
  "name: chaos-cell",
  "resources: [{ id: m1 }, { id: m2 }, { id: m3 }]",
  "jobs:",
  "  - { id: a, operations: [{ resource: m1, duration: 9 }, { resource: m2, duration: 8 }, { resource: m3, duration: 6 }] }",
  "  - { id: b, operations: [{ resource: m2, duration: 9 }, { resource: m3, duration: 8 }, { resource: m1, duration: 6 }] }",
  "  - { id: c, operations: [{ resource: m3, duration: 9 }, { resource: m1, duration: 8 }, { resource: m2, duration: 6 }] }",
  "  - { id: d, operations: [{ resources: [m1, m2], duration: 8 }, { resource: m3, duration: 9 }] }",
  "  - { id: e, operations: [{ resource: m2, duration: 6 }, { resources: [m1, m3], duration: 9 }] }",
  "",
].join("\n");

const root = mkdtempSync(join(tmpdir(), "consort-chaos-"));
// CONSORT_CHAOS_REDIS=0 runs the broker in memory even where redis-server is installed.
const redisBin = process.env.CONSORT_CHAOS_REDIS === "0" ? undefined : findRedis();
if (redisBin === undefined)
  console.warn(
    `chaos: the broker keeps sessions in memory (${process.env.CONSORT_CHAOS_REDIS === "0" ? "CONSORT_CHAOS_REDIS=0" : "redis-server is not installed: apt-get install redis-server"}): the broker is not killed`,
  );

afterAll(() => {
  stopAll();
  if (!process.env.CONSORT_KEEP_TEST_DIR) rmSync(root, { recursive: true, force: true });
});

/**
 * A process kept running as systemd would (Restart=always): started again with the same
 * arguments `RESTART_MS` after it exits, until the run is over.
 */
class Unit {
  readonly lives: Started[] = [];
  private over = false;
  constructor(
    readonly name: string,
    private readonly args: readonly string[],
  ) {
    this.launch();
  }

  private launch(): void {
    const life = start(this.args);
    this.lives.push(life);
    void life.exited.then(async () => {
      await sleep(RESTART_MS);
      if (!this.over) this.launch();
    });
  }

  get current(): Started {
    return this.lives[this.lives.length - 1]!;
  }

  /** Everything every life of it wrote, for error messages. */
  output(): string {
    return this.lives
      .map((l, i) => {
        const c = l.child;
        const state = l.alive() ? "running" : `exited ${c.signalCode ?? `code ${c.exitCode}`}`;
        return `--- ${this.name} life ${i + 1} (pid ${c.pid}, ${state})\n${l.output()}`;
      })
      .join("\n");
  }

  /** Stops supervising and ends the process (SIGTERM, SIGKILL after 5 s). */
  async stop(): Promise<void> {
    this.over = true;
    const life = this.current;
    if (!life.alive()) return;
    life.child.kill("SIGCONT");
    life.child.kill("SIGTERM");
    const hard = setTimeout(() => life.child.kill("SIGKILL"), 5000);
    await life.exited;
    clearTimeout(hard);
  }
}

const LEADS = /plan installed|journalled schedule re-installed|schedule in force/;
const leading = (u: Unit) => {
  const l = u.current;
  return l.alive() && LEADS.test(l.output()) && !/stepped down/.test(l.output());
};
const standingBy = (u: Unit) => {
  const l = u.current;
  return l.alive() && /standing by/.test(l.output()) && !/taking over: /.test(l.output());
};

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - started > ms) throw new Error(`chaos: no ${what} within ${ms} ms`);
    await sleep(20);
  }
}

const pick = (r: { resourceId: string; startTicks: number; endTicks: number }) => ({
  resourceId: r.resourceId,
  startTicks: r.startTicks,
  endTicks: r.endTicks,
});

type Fault = "agent" | "coordinator" | "standby" | "broker" | "freeze";

interface RunResult {
  seed: number;
  redis: boolean;
  faults: string[];
  takeoverMs?: number;
  completed: number;
  activities: number;
  feasible: boolean;
  violations: string[];
  lost: number;
  duplicated: number;
  conflicting: number;
  seconds: number;
}

async function chaosRun(seed: number): Promise<RunResult> {
  const rng = createRng(seed);
  const site = `chaos-s${seed}`;
  const dir = join(root, `seed-${seed}`);
  mkdirSync(dir);
  const scenarioFile = join(dir, "cell.yaml");
  writeFileSync(scenarioFile, SCENARIO);
  const started = Date.now();
  // A deployment of its own: a fresh redis-server (sessions and retained state of no earlier run).
  const redis = redisBin !== undefined ? await startRedis(redisBin, dir) : undefined;
  // The broker on a port of its own: a restarted broker must be where the clients look for it.
  const port = await freePort();
  const brokerArgs = [
    "broker",
    ...["--port", String(port), "--site", site, "--anonymous"],
    ...(redis ? ["--redis", redis.url] : []),
  ];
  const broker = new Unit("broker", brokerArgs);
  const url = (
    await waitFor(() => broker.current.output(), /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000)
  )[1]!;
  const epochMs = Date.now() + 4000;
  const agents = MACHINES.map((id) => {
    const config = agentConfig({
      dir,
      id,
      site,
      broker: url,
      epochMs,
      tickMs: TICK_MS,
      leaseMs: AGENT_LEASE_MS,
      // A restarted agent may find the broker restarting too: it keeps trying.
      extra: ["connectRetrySeconds: 60"],
    });
    return new Unit(id, ["agent", "--config", config]);
  });
  const units: Unit[] = [broker, ...agents];
  try {
    for (const a of agents) await waitFor(() => a.current.output(), /online at/, 20_000);
    const common = [
      "coordinator",
      ...["--scenario", scenarioFile, "--broker", url, "--site", site],
      ...["--epoch-ms", String(epochMs), "--tick-ms", String(TICK_MS), "--wait-agents", "30"],
      ...["--journal", join(dir, "coordinator.journal"), "--lease-ms", String(LEASE_MS)],
      ...["--agent-lease-ms", String(AGENT_LEASE_MS), "--exit-when-done"],
    ];
    const primary = new Unit("primary", common);
    units.push(primary);
    await waitFor(() => primary.current.output(), LEADS, 30_000);
    const secondary = new Unit("secondary", [...common, "--standby"]);
    units.push(secondary);
    await waitFor(() => secondary.current.output(), /standing by/, 20_000);
    const coordinators = [primary, secondary];
    const done = () =>
      coordinators
        .flatMap((u) => u.lives)
        .find(
          (l) =>
            /all done: \d+\/\d+ activities/.test(l.output()) && !/stepped down/.test(l.output()),
        );

    // The faults in a seeded order at seeded times (from tick 0 on, a few seconds apart).
    const order: Fault[] = ["agent", "coordinator", "standby", "broker", "freeze"];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    // Times from now on (the deployment is up; on a loaded machine that may be well past tick 0).
    const base = Date.now();
    const at: number[] = [];
    let t = rng.int(1000, 3000);
    for (const _ of order) {
      at.push(t);
      t += rng.int(2500, 4000);
    }
    const faults: string[] = [];
    let takeoverMs: number | undefined;
    const note = (line: string) => {
      const now = Date.now();
      const entry = `${((now - base) / 1000).toFixed(1)} s (tick ${Math.floor((now - epochMs) / TICK_MS)}): ${line}`;
      faults.push(entry);
      // As it happens: a run that fails still shows where it was.
      console.log(`chaos seed ${seed}: ${entry}`);
    };
    for (const [k, fault] of order.entries()) {
      await sleep(Math.max(0, base + at[k]! - Date.now()));
      if (done()) {
        note(`${fault}: not reached, the run was done`);
        continue;
      }
      if (fault === "agent") {
        const victim = agents[rng.int(0, agents.length - 1)]!;
        note(`kill -9 agent ${victim.name} (pid ${victim.current.child.pid})`);
        await kill9(victim.current);
      } else if (fault === "broker" && !redis) {
        // In memory, a broker kill -9 takes every session and subscription with it, and a
        // command published before its agent resubscribed is gone: persistence is the remedy.
        note("broker: kill -9 skipped, its sessions are in memory (no redis-server)");
      } else if (fault === "broker") {
        note(`kill -9 broker (pid ${broker.current.child.pid})`);
        await kill9(broker.current);
      } else if (fault === "coordinator") {
        const leader = await until("leader", 30_000, () => coordinators.find(leading));
        note(`kill -9 leader ${leader.name} (pid ${leader.current.child.pid})`);
        await kill9(leader.current);
      } else if (fault === "standby") {
        const standby = await until("standby", 30_000, () => coordinators.find(standingBy));
        note(`kill -9 standby ${standby.name} (pid ${standby.current.child.pid})`);
        await kill9(standby.current);
      } else {
        // The leader frozen past its lease while a standby watches; thawed once replaced.
        const [leader, standby] = await until("leader and standby", 30_000, () => {
          const l = coordinators.find(leading);
          const s = coordinators.find(standingBy);
          return l && s ? ([l, s] as const) : undefined;
        });
        const frozen = leader.current;
        const watching = standby.current;
        const frozenAt = Date.now();
        note(`SIGSTOP leader ${leader.name} (pid ${frozen.child.pid})`);
        frozen.child.kill("SIGSTOP");
        await waitFor(watching.output, /taking over: the lease of/, LEASE_MS + 10_000).catch(
          (error: Error) => {
            frozen.child.kill("SIGCONT");
            throw error;
          },
        );
        takeoverMs = Date.now() - frozenAt;
        note(`${standby.name} took over ${takeoverMs} ms after SIGSTOP (lease ${LEASE_MS} ms)`);
        await sleep(Math.max(0, LEASE_MS + 1000 - (Date.now() - frozenAt)));
        frozen.child.kill("SIGCONT");
        note(`SIGCONT ${leader.name} (pid ${frozen.child.pid})`);
        const [stepped] = await waitFor(frozen.output, /stepped down: .*/, 15_000);
        note(`${leader.name}: ${stepped}`);
      }
    }
    const finished = await until("end of the run", 90_000, done);
    const seconds = (Date.now() - started) / 1000;
    await Promise.all(units.map((u) => u.stop()));

    // Proven from the journals on disk.
    const parsed = parseScenario(SCENARIO, scenarioFile);
    if (!parsed.ok) throw new Error("the chaos scenario does not parse");
    const records = readFileSync(join(dir, "coordinator.journal"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as CoordinatorJournalRecord);
    type Run = { resourceId: string; startTicks: number; endTicks: number };
    let model: TaskModel = parsed.value.model;
    const recorded = new Map<string, Run>();
    for (const r of records) {
      if (r.t === "model") model = r.model;
      if (r.t === "done") recorded.set(r.activityId, r);
    }
    const index = indexModel(model);
    if (!index.ok) throw new Error("the journalled model does not index");
    const activityIds = index.value.activities.map((a) => a.id);
    const integrity = journalIntegrity(dir, MACHINES, activityIds);
    // What ran, as the agents journalled it (each start to its completion), checked against
    // the model; and the coordinator's record of it must say the same.
    const journals = new Map(MACHINES.map((m) => [m, agentJournal(join(dir, `${m}.journal`))]));
    const ran = new Map<string, Run>();
    for (const [m, journal] of journals) {
      const open = new Map<string, number>();
      for (const r of journal) {
        if (!("activityId" in r)) continue;
        if (r.t === "start") open.set(r.activityId, r.atTicks);
        else if (r.t === "fail") open.delete(r.activityId);
        else if (r.t === "complete" && open.has(r.activityId))
          ran.set(r.activityId, {
            resourceId: m,
            startTicks: open.get(r.activityId)!,
            endTicks: r.atTicks,
          });
      }
    }
    const violations = [
      ...checkSchedule(index.value, executedSchedule(model, ran), { requireAll: true }).map(
        (v) => v.reason,
      ),
      ...[...ran]
        .filter(
          ([id, r]) =>
            JSON.stringify(recorded.get(id) && pick(recorded.get(id)!)) !== JSON.stringify(r),
        )
        .map(
          ([id, r]) =>
            `${id}: ran ${JSON.stringify(r)}, the coordinator recorded ${JSON.stringify(recorded.get(id))}`,
        ),
    ];
    const conflicting = [...journals.values()].flatMap(staleCommands).length;
    console.log(finished.output().match(/all done: .*/)?.[0]);
    return {
      seed,
      redis: redis !== undefined,
      faults,
      ...(takeoverMs !== undefined ? { takeoverMs } : {}),
      completed: activityIds.length - integrity.lost,
      activities: activityIds.length,
      feasible: violations.length === 0,
      violations,
      lost: integrity.lost,
      duplicated: integrity.duplicated,
      conflicting,
      seconds,
    };
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n${units.map((u) => u.output().slice(-4000)).join("\n")}`,
    );
  } finally {
    await Promise.all(units.map((u) => u.stop()));
    if (redis) await kill9(redis);
  }
}

describe("chaos: kill -9 and SIGSTOP at seeded points of a deployment", () => {
  it.each(SEEDS)(
    "seed %i: ends feasible, nothing lost, nothing run twice; a frozen leader is replaced and fenced off",
    async (seed) => {
      const r = await chaosRun(seed);
      console.log(
        [
          `chaos seed ${r.seed} (broker sessions ${r.redis ? "in Redis" : "in memory"}):`,
          ...r.faults.map((f) => `  ${f}`),
          `  result: completed ${r.completed}/${r.activities}, feasible ${r.feasible}, lost ${r.lost}, duplicated ${r.duplicated}, conflicting assignments ${r.conflicting}, ${r.seconds.toFixed(1)} s`,
        ].join("\n"),
      );
      expect(r.violations).toEqual([]);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.completed).toBe(r.activities);
      // The Done-when: a frozen leader replaced within lease + 2 s; nothing it sent after it
      // resumed was acted on.
      expect(r.takeoverMs).toBeDefined();
      expect(r.takeoverMs!).toBeLessThanOrEqual(LEASE_MS + 2000);
      expect(r.conflicting).toBe(0);
    },
    150_000,
  );
});
