import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentProgram } from "@consort/hardware/harness";
import { type AnyMessage, type Body, topics } from "@consort/protocol";
import { MqttTransport, makeMessage } from "@consort/protocol/mqtt";
import { repoRoot } from "./run-cli.js";

/**
 * Real processes for end-to-end tests: `consort` commands (broker, agents, coordinators) and a
 * redis-server, each a child process whose output is collected, plus the settings files they
 * read. Every child started here is killed by `stopAll` (call it from `afterAll`).
 */
export const consortBin = join(repoRoot, "apps/cli/bin/consort.js");

export interface Started {
  readonly child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  readonly output: () => string;
  /** What it wrote to stdout only, and to stderr only. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Whether it is still running (not exited). */
  readonly alive: () => boolean;
}

const children: ChildProcess[] = [];

/**
 * Starts a program as a child process collecting its output. `env` adds to this process's
 * environment, or is the whole of it with `inheritEnv: false`.
 */
export function startProgram(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; inheritEnv?: boolean; cwd?: string } = {},
): Started {
  const env =
    options.inheritEnv === false || !options.env ? options.env : { ...process.env, ...options.env };
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    ...(env ? { env } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  children.push(child);
  let text = "";
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
    err += d.toString();
  });
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running = false;
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    stdout: () => out,
    stderr: () => err,
    exited,
    alive: () => running,
  };
}

/** Starts `consort ARGS` (the compiled CLI) as a child process. */
export function start(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  return startProgram(process.execPath, [consortBin, ...args], options);
}

/** Waits until `pattern` matches the output; its match, or an error quoting the output. */
export async function waitFor(
  output: () => string,
  pattern: RegExp,
  ms: number,
): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const m = pattern.exec(output());
    if (m) return m;
    if (Date.now() - started > ms)
      throw new Error(`timed out after ${ms} ms waiting for ${pattern}: ${output().slice(-4000)}`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Kills every child started here that still runs (a frozen one is thawed first). */
export function stopAll(): void {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
}

/** Sends SIGKILL and resolves once the process is gone. */
export async function kill9(p: Started): Promise<void> {
  if (!p.alive()) return;
  p.child.kill("SIGCONT");
  p.child.kill("SIGKILL");
  await p.exited;
}

/** The state letter of a process in /proc/PID/stat; undefined once it is gone (Linux). */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name, which may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not). */
export function pidRunning(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** The running children of a process, with their command lines, from /proc (Linux). */
export function childProcesses(parent: number): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== parent || fields[0] === "Z") continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      out.push({ pid: Number(entry), cmdline });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

/** Waits until `check` holds, polling; false if it still does not after `ms`. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) return false;
    await sleep(50);
  }
  return true;
}

/** `consort broker` on a free loopback port (or `port`); resolves once it listens, with its URL. */
export async function startBroker(options: {
  site: string;
  port?: number;
  redis?: string;
  extra?: readonly string[];
}): Promise<Started & { url: string; args: string[] }> {
  const args = [
    "broker",
    ...["--port", String(options.port ?? 0), "--site", options.site, "--anonymous"],
    ...(options.redis ? ["--redis", options.redis] : []),
    ...(options.extra ?? []),
  ];
  const broker = start(args);
  const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
  return { ...broker, url, args };
}

/** What `agentConfig` writes into an agent's settings file. */
export interface AgentConfigOptions {
  dir: string;
  id: string;
  site: string;
  broker: string;
  epochMs?: number;
  tickMs: number;
  leaseMs?: number;
  /** Further YAML lines (e.g. `family: ctaems`, `connectRetrySeconds: 30`). */
  extra?: readonly string[];
  /** The simulated resource (default: trial 7, no disruptions); `null` leaves it out. */
  simulation?: string | null;
}

/**
 * Writes a CAMPS agent's settings file (`{dir}/{id}.yaml`, journal `{dir}/{id}.journal`) on the
 * wall clock; returns its path.
 */
export function agentConfig(options: AgentConfigOptions): string {
  const file = join(options.dir, `${options.id}.yaml`);
  writeFileSync(
    file,
    [
      ...(options.extra ?? []),
      `agentId: ${options.id}`,
      `site: ${options.site}`,
      `broker: ${options.broker}`,
      `journal: ${join(options.dir, `${options.id}.journal`)}`,
      "clock: wall",
      ...(options.epochMs !== undefined ? [`epochMs: ${options.epochMs}`] : []),
      `tickMs: ${options.tickMs}`,
      ...(options.leaseMs !== undefined ? [`leaseMs: ${options.leaseMs}`] : []),
      "logLevel: warn",
      ...(options.simulation === null
        ? []
        : [`simulation: ${options.simulation ?? "{ trialKey: 7, disruptions: [] }"}`]),
      "",
    ].join("\n"),
  );
  return file;
}

/** `consort agent` for each of `ids` (settings by `agentConfig`); resolves once all are online. */
export async function startAgents(
  ids: readonly string[],
  options: Omit<AgentConfigOptions, "id">,
  ms = 30_000,
): Promise<Started[]> {
  const agents = ids.map((id) => start(["agent", "--config", agentConfig({ ...options, id })]));
  for (const a of agents) await waitFor(a.output, /online at/, ms);
  return agents;
}

/**
 * A lock-step CAMPS agent process `m1` on `broker` (its settings and journal in a fresh folder)
 * and a coordinator-role client subscribed to the site's agent states and outboxes; resolves once
 * the agent says it is online. `before` runs with the client before the agent starts.
 */
export async function agentUnderTest(options: {
  broker: string;
  site: string;
  /** Further settings of the agent. */
  settings?: Record<string, unknown>;
  before?: (coordinator: MqttTransport) => Promise<unknown>;
}): Promise<{ agent: Started; coordinator: MqttTransport; journal: string }> {
  const dir = mkdtempSync(join(tmpdir(), "consort-agent-"));
  const journal = join(dir, "m1.journal");
  const settings = join(dir, "m1.json");
  writeFileSync(
    settings,
    JSON.stringify({
      agentId: "m1",
      site: options.site,
      broker: options.broker,
      journal,
      journalSync: false,
      clock: "lockstep",
      logLevel: "warn",
      simulation: { trialKey: 1, disruptions: [] },
      ...options.settings,
    }),
  );
  const coordinator = await MqttTransport.connect({
    url: options.broker,
    clientId: "coordinator",
    username: "coordinator",
  });
  await options.before?.(coordinator);
  const online = new Promise<void>((resolve) =>
    coordinator.onMessage(
      (m) => m.type === "descriptor" && m.body.status === "online" && resolve(),
    ),
  );
  await coordinator.subscribe(topics.filters.allAgentStates(options.site));
  await coordinator.subscribe(topics.filters.allAgentOut(options.site));
  const agent = startProgram(process.execPath, [agentProgram(), "--config", settings]);
  await online;
  return { agent, coordinator, journal };
}

/** Writes a scenario (its YAML lines) as `{dir}/{name}`; returns its path. */
export function writeScenario(dir: string, lines: readonly string[], name = "cell.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, [...lines, ""].join("\n"));
  return file;
}

/**
 * A wall-clock deployment without its coordinator: the scenario file, `consort broker` and one
 * `consort agent` per id (settings by `agentConfig`), tick 0 at `startInMs` after the broker is
 * up; resolves once every agent is online.
 */
export async function startDeployment(options: {
  dir: string;
  site: string;
  scenario: readonly string[];
  agents: readonly string[];
  startInMs: number;
  leaseMs?: number;
  /** How long each agent may take to come online. */
  agentWaitMs?: number;
}) {
  const scenario = writeScenario(options.dir, options.scenario);
  const broker = await startBroker({ site: options.site });
  const epochMs = Date.now() + options.startInMs;
  const agents = await startAgents(
    options.agents,
    {
      dir: options.dir,
      site: options.site,
      broker: broker.url,
      epochMs,
      tickMs: 100,
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    },
    options.agentWaitMs,
  );
  const byId = Object.fromEntries(options.agents.map((id, i) => [id, agents[i]!]));
  return { scenario, broker, url: broker.url, epochMs, agents, byId };
}

/** The flags of a wall-clock `consort coordinator` waiting up to 20 s for its agents. */
export function coordinatorFlags(options: {
  broker: string;
  site: string;
  epochMs: number;
  tickMs?: number;
  scenario?: string;
  journal?: string;
}): string[] {
  return [
    ...(options.scenario !== undefined ? ["--scenario", options.scenario] : []),
    ...["--broker", options.broker, "--site", options.site],
    ...["--epoch-ms", String(options.epochMs), "--tick-ms", String(options.tickMs ?? 100)],
    "--wait-agents",
    "20",
    ...(options.journal !== undefined ? ["--journal", options.journal] : []),
  ];
}

/** SIGTERM to each process in turn, waiting for it to exit; their exit codes, in order. */
export async function terminate(...processes: readonly Started[]): Promise<(number | null)[]> {
  const codes: (number | null)[] = [];
  for (const p of processes) {
    p.child.kill("SIGTERM");
    codes.push(await p.exited);
  }
  return codes;
}

/**
 * An install from coordinator epoch `epoch` reaching an agent late: a stand-in for a replaced
 * leader's outgoing queue flushed after a pause or a partition.
 */
export async function sendLateInstall(options: {
  broker: string;
  site: string;
  agentId: string;
  epoch: number;
}): Promise<void> {
  const late = await MqttTransport.connect({
    url: options.broker,
    clientId: "coordinator@late",
    username: "coordinator",
  });
  await late.publish(
    topics.agentIn(options.site, options.agentId),
    makeMessage(
      "install",
      "coordinator",
      { scheduleVersion: 999, slots: [] },
      { seq: 10_000, epoch: options.epoch, at: Date.now(), to: options.agentId },
    ) as AnyMessage,
  );
  await late.close();
}

/** Everything each process wrote, one block per process: for the message of a failed wait. */
export function outputsOf(processes: Readonly<Record<string, Started>>): string {
  return Object.entries(processes)
    .map(([id, p]) => `${id}: ${p.output()}`)
    .join("\n");
}

/**
 * Partitions an agent on the wall clock (SIGSTOP: it neither sends nor hears anything) once its
 * first operation runs, 300 ms after tick 0 at `epochMs`; returns when it was frozen.
 */
export async function freezeOnceRunning(agent: Started, epochMs: number): Promise<number> {
  await sleep(Math.max(0, epochMs - Date.now()) + 300);
  agent.child.kill("SIGSTOP");
  return Date.now();
}

/** Thaws a frozen agent once it has been out past its own lease (and a second more). */
export async function thawPastLease(
  agent: Started,
  frozenAt: number,
  leaseMs: number,
): Promise<void> {
  await sleep(Math.max(0, leaseMs + 1000 - (Date.now() - frozenAt)));
  agent.child.kill("SIGCONT");
}

/** A free TCP port on the loopback interface (free when asked; bind it soon). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The redis-server program, if installed. */
export function findRedis(): string | undefined {
  for (const candidate of ["redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server"]) {
    const probe = spawnSync(candidate, ["--version"], { stdio: "ignore" });
    if (probe.error === undefined && probe.status === 0) return candidate;
  }
  return undefined;
}

/** A redis-server on a free loopback port keeping nothing on disk; resolves once it is ready. */
export async function startRedis(program: string, dir: string): Promise<Started & { url: string }> {
  const port = await freePort();
  const redis = startProgram(program, [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
    ...["--save", "", "--appendonly", "no"],
  ]);
  await waitFor(redis.output, /Ready to accept connections/, 20_000);
  return { ...redis, url: `redis://127.0.0.1:${port}` };
}

/** One line of an agent's journal, as far as these tests look at it. */
export type AgentJournalRecord =
  | { t: "command"; id: string; message: { type: string; epoch?: number; body?: unknown } }
  | { t: "out"; message: { type: string; body?: unknown } }
  | { t: "start" | "complete" | "fail"; activityId: string; atTicks: number }
  | { t: string };

/** An agent's journal records (a torn last line of a killed agent is left out). */
export function agentJournal(file: string): AgentJournalRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as AgentJournalRecord];
      } catch {
        return [];
      }
    });
}

/**
 * Commands an agent acted on although a higher coordinator epoch was already in its journal:
 * the conflicting assignments a replaced leader could cause.
 */
export function staleCommands(
  records: readonly AgentJournalRecord[],
): { type: string; epoch?: number }[] {
  let highest = 0;
  const out: { type: string; epoch?: number }[] = [];
  for (const r of records) {
    if (r.t !== "command" || !("message" in r)) continue;
    const e = r.message.epoch ?? 0;
    if (e < highest) out.push(r.message);
    highest = Math.max(highest, e);
  }
  return out;
}

/** An assign for agent m1: a single activity a1 on it, 3 ticks long, to start in ticks 2..10. */
export const oneActivityAssign: Body<"assign"> = {
  scheduleVersion: 1,
  view: {
    agentId: "m1",
    root: "root",
    own: ["a1"],
    nodes: [
      { kind: "task", id: "root", qaf: "sum", children: ["a1"] },
      {
        kind: "activity",
        id: "a1",
        resources: ["m1"],
        duration: [{ value: 3, probability: 1 }],
        quality: [{ value: 1, probability: 1 }],
      },
    ],
    links: [],
  },
  slots: [{ activityId: "a1", window: { earliestTicks: 2, latestTicks: 10 }, durationTicks: 3 }],
};
