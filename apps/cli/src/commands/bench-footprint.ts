import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createBroker, type RunningBroker } from "@consort/broker";
import { Coordinator } from "@consort/coordinator";
import { createRng, type JobShopInstance, jobShopToModel, type TaskModel } from "@consort/core";
import type { EnvironmentSettings } from "@consort/hardware";
import { agentProgram, lockstepAgentSettings } from "@consort/hardware/harness";
import { startRig } from "@consort/hardware/rig";
import { topics } from "@consort/protocol";
import { MqttTransport } from "@consort/protocol/mqtt";
import pino from "pino";
import { machineLine, median, writeSection } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";
import { type Memory, readMemory, rssNow } from "../proc.js";
import { embeddedBroker } from "./rig.js";

export { type Memory, readMemory } from "../proc.js";

export interface BenchFootprintFlags {
  /** Rounds; each starts a bare node process, a lean agent and an agent with lean off. */
  readonly runs: number;
  /** Jobs of the busy phase's one-machine shop (one activity each). */
  readonly jobs: number;
  /** How long a process settles after it is ready or online before its idle memory is read. */
  readonly settleMs: number;
  readonly out?: string;
  readonly json: boolean;
}

export interface FootprintRun {
  readonly run: number;
  /** Spawn to the first line the bare process writes. */
  readonly bareReadyMs: number;
  readonly bareIdle: Memory;
  /** Spawn to the agent's retained `online` descriptor, seen on the broker. */
  readonly agentOnlineMs: number;
  readonly agentIdle: Memory;
  /** The largest resident size sampled while the agent scheduled and ran the busy workload. */
  readonly agentBusyRssKiB: number;
  /** Memory right after the busy workload. */
  readonly agentAfterBusy: Memory;
  /** Activities the agent ran in the busy phase, and how long that took. */
  readonly busyActivities: number;
  readonly busyMs: number;
  /** The same agent with `CONSORT_AGENT_LEAN=0`. */
  readonly fullOnlineMs: number;
  readonly fullIdle: Memory;
}

export interface FootprintSummary {
  readonly bareRssKiB: number;
  readonly agentIdleRssKiB: number;
  readonly agentBusyRssKiB: number;
  readonly fullIdleRssKiB: number;
  readonly bareReadyMs: number;
  readonly agentOnlineMs: number;
  readonly fullOnlineMs: number;
  readonly bareMemory: Memory;
  readonly agentIdleMemory: Memory;
  readonly agentAfterBusyMemory: Memory;
  readonly fullIdleMemory: Memory;
  /** Agent over bare, resident size (medians). */
  readonly idleRatio: number;
  readonly busyRatio: number;
  readonly fullIdleRatio: number;
  readonly busyMs: number;
  readonly targets: { readonly memory: boolean; readonly online: boolean };
}

/** Targets of the footprint (issue 5): within 1.5x of bare node's RSS, online within 1 s. */
export const FOOTPRINT_TARGETS = { rssRatio: 1.5, onlineMs: 1000 } as const;

const BARE_PROGRAM = "process.stdout.write('ready\\n');setInterval(()=>{},1<<30)";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const hard = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** The busy phase's shop: one machine, `jobs` one-operation jobs with due dates. Seeded. */
export function busyShop(machineId: string, jobs: number, seed: number): TaskModel {
  const rng = createRng(seed);
  const instance: JobShopInstance = {
    name: `footprint-${jobs}`,
    machineIds: [machineId],
    jobs: Array.from({ length: jobs }, (_, j) => {
      const durationTicks = rng.int(1, 10);
      return {
        id: `j${j}`,
        operations: [{ id: `j${j}.o0`, machine: 0, durationTicks }],
        releaseTicks: 0,
        dueTicks: durationTicks * (1 + rng.int(0, jobs)),
        weight: [1, 2, 4][rng.int(0, 2)]!,
      };
    }),
  };
  return jobShopToModel(instance);
}

interface Bench {
  readonly broker: RunningBroker;
  readonly site: string;
  readonly dir: string;
  readonly passwords: Map<string, string>;
  readonly coordinatorPassword: string;
  /** When each agent's `online` descriptor was seen (performance.now()). */
  readonly online: Map<string, number>;
  readonly waiters: Map<string, () => void>;
}

async function runBare(settleMs: number): Promise<{ readyMs: number; idle: Memory }> {
  const started = performance.now();
  const child = spawn(process.execPath, ["-e", BARE_PROGRAM], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", () => resolve(performance.now() - started));
      child.once("exit", (code) => reject(new Error(`bare node exited (${code}) before ready`)));
    });
    await sleep(settleMs);
    return { readyMs, idle: readMemory(child.pid!) };
  } finally {
    await stop(child);
  }
}

async function runAgentProcess(
  bench: Bench,
  agentId: string,
  lean: boolean,
  settleMs: number,
  busy: (pid: number) => Promise<void>,
  environment?: EnvironmentSettings,
): Promise<{ onlineMs: number; idle: Memory }> {
  const settings = {
    ...lockstepAgentSettings({
      agentId,
      site: bench.site,
      broker: bench.broker.url,
      runDir: bench.dir,
      trialKey: 1,
      disruptions: [],
    }),
    ...(environment ? { environment } : {}),
  };
  const file = join(bench.dir, `${agentId}.settings.json`);
  writeFileSync(file, JSON.stringify(settings));
  const stderr: string[] = [];
  const seen = new Promise<void>((resolve) => bench.waiters.set(agentId, resolve));
  const started = performance.now();
  const child = spawn(process.execPath, [agentProgram(), "--config", file], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      CONSORT_AGENT_PASSWORD: bench.passwords.get(agentId)!,
      CONSORT_AGENT_LEAN: lean ? "1" : "0",
    },
  });
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString().trim()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent ${agentId} not online after 30 s: ${stderr.join(" | ")}`)),
        30_000,
      );
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`agent ${agentId} exited (${code}): ${stderr.join(" | ")}`));
      });
      void seen.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const onlineMs = bench.online.get(agentId)! - started;
    await sleep(settleMs);
    const idle = readMemory(child.pid!);
    await busy(child.pid!);
    return { onlineMs, idle };
  } finally {
    child.removeAllListeners("exit");
    await stop(child);
  }
}

/**
 * The busy phase: a coordinator in this process plans a one-machine shop for the agent and
 * drives it on lock-step time until every activity has run, while the agent's RSS is sampled.
 */
async function runBusy(
  bench: Bench,
  agentId: string,
  pid: number,
  jobs: number,
  seed: number,
): Promise<{ peakKiB: number; after: Memory; activities: number; ms: number }> {
  const model = busyShop(agentId, jobs, seed);
  const logger = pino({ level: "silent" });
  const transport = await MqttTransport.connect({
    url: bench.broker.url,
    clientId: "coordinator",
    username: "coordinator",
    password: bench.coordinatorPassword,
    logger,
  });
  let peakKiB = rssNow(pid);
  const sampler = setInterval(() => {
    peakKiB = Math.max(peakKiB, rssNow(pid));
  }, 10);
  try {
    const coordinator = new Coordinator(
      model,
      transport,
      {
        site: bench.site,
        coordinatorId: "coordinator",
        objective: "twt",
        seed,
        repairIterations: 200,
        lockstep: true,
      },
      logger,
    );
    await coordinator.start();
    await coordinator.waitForAgents([agentId], 30_000);
    const started = performance.now();
    coordinator.plan();
    await new Promise<void>((resolve, reject) => {
      const watch = setInterval(() => {
        if (coordinator.idleMs > 20_000) {
          clearInterval(watch);
          reject(new Error(`busy phase stalled at tick ${coordinator.nowTicks}`));
        }
      }, 200);
      void coordinator.finished.then(() => {
        clearInterval(watch);
        resolve();
      });
    });
    const ms = performance.now() - started;
    peakKiB = Math.max(peakKiB, rssNow(pid));
    return {
      peakKiB,
      after: readMemory(pid),
      activities: coordinator.record.executed.size,
      ms,
    };
  } finally {
    clearInterval(sampler);
    await transport.close();
  }
}

const mib = (kib: number) => (kib / 1024).toFixed(1);
const medianOf = <T>(rows: readonly T[], f: (r: T) => number) => median(rows.map(f));
const medianMemory = (rows: readonly FootprintRun[], f: (r: FootprintRun) => Memory): Memory => ({
  rssKiB: medianOf(rows, (r) => f(r).rssKiB),
  pssKiB: medianOf(rows, (r) => f(r).pssKiB),
  privateKiB: medianOf(rows, (r) => f(r).privateKiB),
});

export function summarize(rows: readonly FootprintRun[]): FootprintSummary {
  const bare = medianMemory(rows, (r) => r.bareIdle);
  const idle = medianMemory(rows, (r) => r.agentIdle);
  const full = medianMemory(rows, (r) => r.fullIdle);
  const busyRss = medianOf(rows, (r) => r.agentBusyRssKiB);
  const online = medianOf(rows, (r) => r.agentOnlineMs);
  const idleRatio = idle.rssKiB / bare.rssKiB;
  const busyRatio = busyRss / bare.rssKiB;
  return {
    bareRssKiB: bare.rssKiB,
    agentIdleRssKiB: idle.rssKiB,
    agentBusyRssKiB: busyRss,
    fullIdleRssKiB: full.rssKiB,
    bareReadyMs: medianOf(rows, (r) => r.bareReadyMs),
    agentOnlineMs: online,
    fullOnlineMs: medianOf(rows, (r) => r.fullOnlineMs),
    bareMemory: bare,
    agentIdleMemory: idle,
    agentAfterBusyMemory: medianMemory(rows, (r) => r.agentAfterBusy),
    fullIdleMemory: full,
    idleRatio,
    busyRatio,
    fullIdleRatio: full.rssKiB / bare.rssKiB,
    busyMs: medianOf(rows, (r) => r.busyMs),
    targets: {
      memory: Math.max(idleRatio, busyRatio) <= FOOTPRINT_TARGETS.rssRatio,
      online: online <= FOOTPRINT_TARGETS.onlineMs,
    },
  };
}

/** The device adapters measured beside the simulated agent. */
const ADAPTERS = ["modbus", "vda5050", "opcua", "serial"] as const;

/** `consort bench footprint`: an edge agent's memory and start-up time beside bare node. */
export async function benchFootprintCommand(
  flags: BenchFootprintFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  if (process.platform !== "linux")
    throw new CliError("bench footprint reads /proc: it runs on Linux only", EXIT.software);
  const site = "footprint";
  const ids = [
    ...Array.from({ length: flags.runs }, (_, i) => [`fp-${i + 1}`, `fp-${i + 1}-full`]).flat(),
    ...ADAPTERS.map((k) => `fp-${k}`),
  ];
  const passwords = new Map(ids.map((id) => [id, randomBytes(12).toString("base64url")]));
  const coordinatorPassword = randomBytes(12).toString("base64url");
  const operatorPassword = randomBytes(12).toString("base64url");
  const broker = await createBroker({
    host: "127.0.0.1",
    port: 0,
    site,
    anonymous: false,
    users: [
      ...ids.map((id) => ({ username: id, password: passwords.get(id)!, role: "agent" as const })),
      { username: "coordinator", password: coordinatorPassword, role: "coordinator" as const },
      { username: "operator", password: operatorPassword, role: "operator" as const },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), "consort-footprint-"));
  const bench: Bench = {
    broker,
    site,
    dir,
    passwords,
    coordinatorPassword,
    online: new Map(),
    waiters: new Map(),
  };
  // The observer: sees each agent's retained descriptor as the coordinator does.
  const observer = await MqttTransport.connect({
    url: broker.url,
    clientId: "operator",
    username: "operator",
    password: operatorPassword,
    logger: pino({ level: "silent" }),
  });
  observer.onMessage((message) => {
    if (message.type !== "descriptor" || message.body.status !== "online") return;
    const id = message.body.agentId;
    if (bench.online.has(id)) return;
    bench.online.set(id, performance.now());
    bench.waiters.get(id)?.();
  });
  await observer.subscribe(topics.filters.allAgentStates(site));

  const rows: FootprintRun[] = [];
  const adapters: { kind: (typeof ADAPTERS)[number]; onlineMs: number; idle: Memory }[] = [];
  try {
    for (let run = 1; run <= flags.runs; run++) {
      const bare = await runBare(flags.settleMs);
      let busy: Awaited<ReturnType<typeof runBusy>> | undefined;
      const agentId = `fp-${run}`;
      const agent = await runAgentProcess(bench, agentId, true, flags.settleMs, async (pid) => {
        busy = await runBusy(bench, agentId, pid, flags.jobs, run);
      });
      const full = await runAgentProcess(
        bench,
        `fp-${run}-full`,
        false,
        flags.settleMs,
        async () => {},
      );
      const row: FootprintRun = {
        run,
        bareReadyMs: bare.readyMs,
        bareIdle: bare.idle,
        agentOnlineMs: agent.onlineMs,
        agentIdle: agent.idle,
        agentBusyRssKiB: busy!.peakKiB,
        agentAfterBusy: busy!.after,
        busyActivities: busy!.activities,
        busyMs: busy!.ms,
        fullOnlineMs: full.onlineMs,
        fullIdle: full.idle,
      };
      rows.push(row);
      err.write(
        `run ${run}/${flags.runs}: bare ${mib(row.bareIdle.rssKiB)} MiB, ready ${row.bareReadyMs.toFixed(0)} ms; agent idle ${mib(row.agentIdle.rssKiB)} MiB, busy ${mib(row.agentBusyRssKiB)} MiB (${row.busyActivities} activities in ${(row.busyMs / 1000).toFixed(1)} s), online ${row.agentOnlineMs.toFixed(0)} ms; lean off ${mib(row.fullIdle.rssKiB)} MiB, online ${row.fullOnlineMs.toFixed(0)} ms\n`,
      );
    }
    // One agent per adapter, driving an emulated device of the rig on loopback (wall clock).
    // node-opcua writes its warnings with console.log, some from timers that fire after its
    // server has closed: stdout stays the report's for the rest of this command.
    console.log = (...args: unknown[]) => console.error(...args);
    for (const kind of ADAPTERS) {
      // The serial rig's pty pairs come from socat.
      if (kind === "serial" && spawnSync("socat", ["-V"], { stdio: "ignore" }).status !== 0) {
        err.write("adapter serial: skipped, socat is not installed\n");
        continue;
      }
      const agentId = `fp-${kind}`;
      // The vehicle's own broker: the agents' broker admits only Consort topics.
      const vehicles = kind === "vda5050" ? await embeddedBroker() : undefined;
      const rig = await startRig({
        kind,
        model: busyShop(agentId, 1, 1),
        trialKey: 1,
        tickMs: 1000,
        ...(vehicles ? { broker: vehicles.url } : {}),
        pkiDir: join(dir, "pki"),
      });
      try {
        const r = await runAgentProcess(
          bench,
          agentId,
          true,
          flags.settleMs,
          async () => {},
          rig.devices[0]!.settings,
        );
        adapters.push({ kind, onlineMs: r.onlineMs, idle: r.idle });
        err.write(
          `adapter ${kind}: idle ${mib(r.idle.rssKiB)} MiB, online ${r.onlineMs.toFixed(0)} ms\n`,
        );
      } finally {
        await rig.close();
        await vehicles?.close();
      }
    }
  } catch (error) {
    throw new CliError(`footprint run failed: ${(error as Error).message}`, EXIT.software);
  } finally {
    await observer.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const s = summarize(rows);
  const command = `consort bench footprint --runs ${flags.runs} --jobs ${flags.jobs}`;
  const t = FOOTPRINT_TARGETS;
  const memLine = (name: string, m: Memory, ratio: number) =>
    `| ${name} | ${mib(m.rssKiB)} | ${ratio.toFixed(2)}x | ${mib(m.pssKiB)} | ${mib(m.privateKiB)} |`;
  const section = [
    "## Footprint of one edge agent",
    "",
    `Command: \`${command}\`  `,
    `Machine: ${machineLine()}  `,
    `One run: an embedded broker on loopback, then ${flags.runs} rounds of a bare \`node -e\` process (writes a line, then a timer keeps it alive), the compiled edge agent (\`apps/edge-agent/dist/main.js\`, a JSON settings file, a password, a journal in a temporary folder, lock-step clock) and the same agent with \`CONSORT_AGENT_LEAN=0\`, one process at a time. Idle memory is read ${(flags.settleMs / 1000).toFixed(0)} s after the bare process wrote its line or the agent's \`online\` descriptor was seen on the broker (RSS from /proc/PID/status; PSS and private pages from /proc/PID/smaps_rollup). Busy: a coordinator in the bench process plans a ${flags.jobs}-job one-machine shop for the agent and drives it on lock-step time until every activity has run (the agent answers the plan, schedules, executes, reports); the agent's RSS is sampled every 10 ms and the largest sample counts. Time to online: from spawn to the retained descriptor seen by another client; the bare process: from spawn to its line. Medians of ${flags.runs} rounds; the machine is shared and noisy, so single rounds vary.`,
    "",
    `- Memory: the agent's RSS is ${s.idleRatio.toFixed(2)}x bare node's idle and ${s.busyRatio.toFixed(2)}x busy (target <= ${t.rssRatio}x): ${s.targets.memory ? "holds" : "DOES NOT HOLD"}. With \`CONSORT_AGENT_LEAN=0\`: ${s.fullIdleRatio.toFixed(2)}x idle.`,
    `- Start: online ${s.agentOnlineMs.toFixed(0)} ms after spawn (bare node writes its line after ${s.bareReadyMs.toFixed(0)} ms; target <= ${t.onlineMs} ms): ${s.targets.online ? "holds" : "DOES NOT HOLD"}.`,
    "",
    "| process | RSS MiB | RSS / bare | PSS MiB | private MiB |",
    "|---|---:|---:|---:|---:|",
    memLine("bare `node -e`, idle", s.bareMemory, 1),
    memLine("edge agent, idle after online", s.agentIdleMemory, s.idleRatio),
    `| edge agent, busy (largest sample) | ${mib(s.agentBusyRssKiB)} | ${s.busyRatio.toFixed(2)}x | | |`,
    memLine(
      "edge agent, right after the busy phase",
      s.agentAfterBusyMemory,
      s.agentAfterBusyMemory.rssKiB / s.bareRssKiB,
    ),
    memLine("edge agent, `CONSORT_AGENT_LEAN=0`, idle", s.fullIdleMemory, s.fullIdleRatio),
    "",
    "| start | median ms |",
    "|---|---:|",
    `| bare \`node -e\`: spawn to first line | ${s.bareReadyMs.toFixed(0)} |`,
    `| edge agent: spawn to online | ${s.agentOnlineMs.toFixed(0)} |`,
    `| edge agent, \`CONSORT_AGENT_LEAN=0\`: spawn to online | ${s.fullOnlineMs.toFixed(0)} |`,
    `| busy phase: plan to last activity run (${rows[0]?.busyActivities ?? 0} activities) | ${s.busyMs.toFixed(0)} |`,
    "",
    "Per device adapter (one round each, after the rounds above): the same agent with an `environment` setting, driving an emulated device of the rig (`startRig`) on loopback; only that adapter is loaded. Idle RSS after online, relative to bare node's median; online: spawn to the descriptor, the adapter's connection included.",
    "",
    "| adapter | RSS MiB | RSS / bare | online ms |",
    "|---|---:|---:|---:|",
    ...adapters.map(
      (a) =>
        `| ${a.kind} | ${mib(a.idle.rssKiB)} | ${(a.idle.rssKiB / s.bareRssKiB).toFixed(2)}x | ${a.onlineMs.toFixed(0)} |`,
    ),
  ].join("\n");
  if (flags.out) await writeSection(flags.out, "footprint", section);
  if (flags.json)
    out.write(
      `${JSON.stringify({
        benchmark: "footprint",
        command,
        machine: machineLine(),
        runs: flags.runs,
        jobs: flags.jobs,
        settleMs: flags.settleMs,
        targets: FOOTPRINT_TARGETS,
        summary: s,
        rounds: rows,
        adapters: adapters.map((a) => ({
          ...a,
          rssRatio: a.idle.rssKiB / s.bareRssKiB,
        })),
      })}\n`,
    );
  else out.write(`${section}\n`);
  return EXIT.ok;
}
