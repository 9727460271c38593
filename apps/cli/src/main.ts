import { ROLES } from "@consort/broker";
import { loadSettings } from "@consort/protocol/settings";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { agentCommand } from "./commands/agent.js";
import { benchCommsCommand } from "./commands/bench-comms.js";
import { benchCtaemsCommand } from "./commands/bench-ctaems.js";
import { benchFleetCommand } from "./commands/bench-fleet.js";
import { benchFootprintCommand } from "./commands/bench-footprint.js";
import { benchJobShopCommand } from "./commands/bench-jobshop.js";
import { benchScaleCommand } from "./commands/bench-scale.js";
import { brokerCommand } from "./commands/broker.js";
import { type CoordinatorFlags, coordinatorCommand } from "./commands/coordinator.js";
import { CoordinatorSettingsSchema } from "./commands/coordinator-csc.js";
import { fleetCommand } from "./commands/fleet.js";
import { hashPasswordCommand } from "./commands/hash-password.js";
import { orderSubmitCommand } from "./commands/order.js";
import { rigCommand } from "./commands/rig.js";
import { solveCommand } from "./commands/solve.js";
import { CliError, EXIT } from "./errors.js";
import { INPUT_FORMATS, type InputFormat } from "./load-problem.js";

/**
 * The coordinator's settings: its defaults, then --config's file, then the flags given on the
 * command line (a flag left at its default does not override the file).
 */
async function coordinatorSettings(
  options: Record<string, unknown> & { config?: string },
  command: Command,
): Promise<CoordinatorFlags> {
  const defaults: Record<string, unknown> = {};
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key === "config") continue;
    if (command.getOptionValueSource(key) === "default") defaults[key] = value;
    else given[key] = value;
  }
  if (options.config === undefined && options.scenario === undefined)
    throw new CliError("--scenario <file> is required (or --config <file> naming it)", EXIT.usage);
  const loaded = await loadSettings(CoordinatorSettingsSchema, defaults, {
    ...(options.config !== undefined ? { file: options.config } : {}),
    flags: given,
  });
  if (!loaded.ok) throw new CliError(loaded.error, EXIT.dataError);
  return loaded.value as CoordinatorFlags;
}

const positiveNumber =
  (name: string, unit = "seconds") =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(
        `${name} must be a positive number of ${unit}, not "${value}"`,
      );
    return n;
  };
const nonNegative = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(
      `${name} must be a number of seconds, 0 or more, not "${value}"`,
    );
  return n;
};
/**
 * An integer flag. Beyond 2^53 a double rounds (99999999999999999999 reads as 1e20), so only
 * exact integers are taken, and `max` bounds what would exhaust memory or time.
 */
const integer =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `${name} must be an integer >= ${min}, not "${value}"`
          : `${name} must be an integer from ${min} to ${max}, not "${value}"`,
      );
    return n;
  };

/** Planners of a fleet run: each is a solve of the initial plan, so a handful is plenty. */
const MAX_PLANNERS = 16;

/** Disruptions a fleet run may draw, each: a handful per resource is already a hard day. */
const MAX_DISRUPTIONS = 1000;

/** Coordinator crashes in one fleet run: each restarts it (about a second of wall time). */
const MAX_CRASHES = 100;

const sizes = (value: string): number[] => {
  const list = value.split(",").map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 2))
    throw new InvalidArgumentError(
      `--agents must be a comma-separated list of integers >= 2, not "${value}"`,
    );
  return list;
};

function program(result: { code: number }): Command {
  const root = new Command("consort")
    .description(
      "Consort: distributed multi-agent planning and scheduling for fleets of machines and rovers.\n" +
        "Solve job shops and scenarios, run a fleet of scheduler agents over MQTT, and benchmark them.",
    )
    .version("0.1.0")
    .showHelpAfterError("(run consort --help for the commands and their options)")
    .exitOverride();

  root
    .command("solve")
    .description(
      "Solve a job shop with the reference solver (dispatch rules, then tabu search) and check the result.\n" +
        "FILE is an OR-Library or Taillard job-shop text file, or a YAML/JSON scenario.",
    )
    .argument("<FILE>", "problem file")
    .addOption(
      new Option(
        "--format <format>",
        "input layout (default: from the extension, else detected)",
      ).choices(INPUT_FORMATS),
    )
    .addOption(
      new Option("--objective <objective>", "what to minimize")
        .choices(["makespan", "twt"])
        .default("makespan"),
    )
    .option(
      "--time-limit <seconds>",
      "stop the search after this long",
      positiveNumber("--time-limit"),
      10,
    )
    .option("--seed <n>", "seed of the search's random choices", integer("--seed", 0), 1)
    .option(
      "--iterations <n>",
      "stop after this many search iterations (reproducible for a seed)",
      integer("--iterations", 0),
    )
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (
        file: string,
        options: {
          format?: InputFormat;
          objective: "makespan" | "twt";
          timeLimit: number;
          seed: number;
          iterations?: number;
          json: boolean;
        },
      ) => {
        result.code = await solveCommand(file, options, process.stdout, process.stderr);
      },
    );

  root
    .command("fleet")
    .description(
      "Run a simulated fleet: a broker (embedded on a free loopback port unless --broker), the coordinator,\n" +
        "and one scheduler-agent process per resource over MQTT, on lock-step simulated time, with disruptions\n" +
        "drawn from the seed. Prints a summary and writes a JSON and an HTML report (Gantt chart per resource).\n" +
        "On a C-TAEMS network (a model that is not a job shop), one trial of Consort with C-TAEMS agents as\n" +
        "processes, on lock-step time or the wall clock (--clock wall --tick-ms N); the report gives its quality.",
    )
    .option("--scenario <file>", "scenario or job-shop file", "scenarios/default.yaml")
    .option(
      "--seed <n>",
      "seed of the disruptions and the sampled outcomes",
      integer("--seed", 0),
      1,
    )
    .option(
      "--broker <url>",
      "an external MQTT broker (e.g. mqtt://127.0.0.1:1883), used without passwords",
    )
    .option(
      "--site <id>",
      "site of the topics (default: default, or a fresh one per run on an external broker)",
    )
    .addOption(
      new Option("--objective <objective>", "what repairs minimize")
        .choices(["makespan", "twt"])
        .default("twt"),
    )
    .option("--out <dir>", "where the reports go", "reports")
    .option(
      "--breakdowns <n>",
      "machine breakdowns to draw",
      integer("--breakdowns", 0, MAX_DISRUPTIONS),
      2,
    )
    .option(
      "--overruns <n>",
      "operations that overrun",
      integer("--overruns", 0, MAX_DISRUPTIONS),
      1,
    )
    .option(
      "--rush-orders <n>",
      "rush orders that arrive",
      integer("--rush-orders", 0, MAX_DISRUPTIONS),
      1,
    )
    .option(
      "--offline <n>",
      "agents killed and restarted",
      integer("--offline", 0, MAX_DISRUPTIONS),
      1,
    )
    .option(
      "--broker-crashes <n>",
      "broker kill -9s at seeded ticks, restarted on the same port with its sessions in Redis",
      integer("--broker-crashes", 0, 10),
      0,
    )
    .option(
      "--coordinator-crashes <n>",
      "coordinator kill -9s at ticks drawn from the seed; each time a new one resumes from its journal",
      integer("--coordinator-crashes", 0, MAX_CRASHES),
      0,
    )
    .addOption(
      new Option("--clock <clock>", "C-TAEMS networks: lock-step simulated time or the wall clock")
        .choices(["lockstep", "wall"])
        .default("lockstep"),
    )
    .option(
      "--tick-ms <ms>",
      "C-TAEMS networks on the wall clock: length of a tick",
      positiveNumber("--tick-ms", "milliseconds"),
      1000,
    )
    .option("--json", "print exactly one JSON object on stdout", false)
    .option(
      "--keep-journals <dir>",
      "keep the agents' journals in this folder (empty or new); by default they are removed after the run",
    )
    .addOption(
      new Option(
        "--environment <kind>",
        "what each agent drives: its simulated resource, or an emulated device of the rig through that adapter",
      )
        .choices(["sim", "opcua", "modbus", "vda5050", "serial"])
        .default("sim"),
    )
    .option(
      "--fault <fault>",
      "device environments: a fault injected into an activity's first run, KIND@ACTIVITY[#ATTEMPT] with KIND disconnect, stall, fault:CODE or slow:MS (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--http <host:port>",
      "serve the coordinator's dashboard and /metrics while the run goes on (lock-step time is then paced for the eye: 50 ms a tick for a job shop, about 20 s a run for a C-TAEMS network)",
    )
    .option(
      "--linger <seconds>",
      "with --http: keep serving this long after the run",
      nonNegative("--linger"),
      0,
    )
    .option(
      "--planners <n>",
      "job shops: planners the manager balances jobs across (each plans its jobs around the others' committed resource time; a late job may move to another planner)",
      integer("--planners", 1, MAX_PLANNERS),
      1,
    )
    .addOption(
      new Option(
        "--repair <policy>",
        "run-time repairs: distributed first (the agent, negotiated repair, contract net, then a churn-charged central re-solve) or central re-solves only",
      )
        .choices(["distributed", "central"])
        .default("distributed"),
    )
    .addOption(
      new Option(
        "--reassignment <policy>",
        "how work changes hands at run time (a lost agent's, work an agent cannot fit, rush orders): contract net or the central re-solve",
      )
        .choices(["contract-net", "central"])
        .default("contract-net"),
    )
    .action(
      async (options: {
        planners: number;
        http?: string;
        linger: number;
        environment: "sim" | "opcua" | "modbus" | "vda5050" | "serial";
        fault: string[];
        scenario: string;
        seed: number;
        broker?: string;
        site?: string;
        objective: "makespan" | "twt";
        out: string;
        breakdowns: number;
        overruns: number;
        rushOrders: number;
        offline: number;
        brokerCrashes: number;
        coordinatorCrashes: number;
        clock: "lockstep" | "wall";
        tickMs: number;
        json: boolean;
        keepJournals?: string;
        repair: "distributed" | "central";
        reassignment: "contract-net" | "central";
      }) => {
        result.code = await fleetCommand(options, process.stdout, process.stderr);
      },
    );

  root
    .command("rig")
    .description(
      "The hardware-in-the-loop rig alone: one emulated device per resource of a scenario on loopback\n" +
        "(an OPC UA server, a Modbus TCP server, a VDA 5050 vehicle or a serial device on a pty pair), with the simulator's outcomes for the\n" +
        "seed's trial and faults on demand. Prints each device's endpoint; runs until interrupted.",
    )
    .requiredOption("--scenario <file>", "scenario or job-shop file")
    .addOption(
      new Option("--kind <kind>", "the devices' protocol")
        .choices(["modbus", "opcua", "vda5050", "serial"])
        .makeOptionMandatory(),
    )
    .option(
      "--seed <n>",
      "seed of the sampled outcomes (as consort fleet)",
      integer("--seed", 0),
      1,
    )
    .option(
      "--tick-ms <ms>",
      "wall-clock length of a tick",
      positiveNumber("--tick-ms", "milliseconds"),
      1000,
    )
    .option(
      "--fault <fault>",
      "a fault, KIND@ACTIVITY[#ATTEMPT] with KIND disconnect, stall, fault:CODE or slow:MS (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--broker <url>", "VDA 5050: the vehicles' MQTT broker (default: an embedded one)")
    .option("--json", "print one JSON object: each device's endpoint and adapter settings", false)
    .action(
      async (options: {
        scenario: string;
        kind: "modbus" | "opcua" | "vda5050" | "serial";
        seed: number;
        tickMs: number;
        fault: string[];
        broker?: string;
        json: boolean;
      }) => {
        const stop = new Promise<void>((resolve) => {
          process.once("SIGINT", () => resolve());
          process.once("SIGTERM", () => resolve());
        });
        result.code = await rigCommand(options, process.stdout, stop);
      },
    );

  root
    .command("broker")
    .description(
      "Run the MQTT broker (aedes) alone: TCP and optionally WebSocket, per-agent credentials and ACLs.\n" +
        "Settings come from defaults, then --config FILE, then CONSORT_BROKER_* variables, then flags.",
    )
    .option("--config <file>", "broker settings (JSON or YAML)")
    .option("--host <address>", "address to listen on (default 127.0.0.1)")
    .option("--port <n>", "MQTT over TCP (0: any free port)", integer("--port", 0))
    .option("--ws-port <n>", "MQTT over WebSocket (0: any free port)", integer("--ws-port", 0))
    .option("--site <id>", "the site every right is confined to")
    .option("--users <file>", "users file (JSON or YAML): username, passwordHash, role")
    .option("--anonymous", "dev mode: accept loopback clients by username without a password")
    .option(
      "--redis <url>",
      "keep sessions and queues in Redis and share routing with other brokers",
    )
    .option("--metrics <host:port>", "serve the broker's counters for Prometheus at /metrics there")
    .action(
      async (options: {
        config?: string;
        host?: string;
        port?: number;
        wsPort?: number;
        site?: string;
        users?: string;
        anonymous?: boolean;
        redis?: string;
        metrics?: string;
      }) => {
        result.code = await brokerCommand(options, process.stdout);
      },
    );

  root
    .command("hash-password")
    .description(
      "Hash a password (scrypt) for the broker's users file. The password is read from stdin (one line)\n" +
        "or asked for without echo, never taken from the command line.",
    )
    .option("--username <name>", "with --role: print a whole users-file entry")
    .addOption(new Option("--role <role>", "the user's role").choices(ROLES))
    .action(async (options: { username?: string; role?: string }) => {
      result.code = await hashPasswordCommand(
        options,
        process.stdin,
        process.stdout,
        process.stderr,
      );
    });

  root
    .command("agent")
    .description(
      "Run one scheduler agent next to its machine or rover, for a real deployment.\n" +
        "Settings come from defaults, then --config FILE, then CONSORT_AGENT_* variables, then flags.",
    )
    .option("--config <file>", "agent settings (JSON or YAML)")
    .option("--id <agentId>", "the agent's id (and, by default, its resource)")
    .option("--broker <url>", "the MQTT broker, e.g. mqtt://10.0.0.2:1883")
    .option("--site <id>", "site of the topics")
    .option("--journal <file>", "the journal file")
    .action(
      async (options: {
        config?: string;
        id?: string;
        broker?: string;
        site?: string;
        journal?: string;
      }) => {
        result.code = await agentCommand(options, process.stdout);
      },
    );

  root
    .command("coordinator")
    .description(
      "Run the coordinator alone for a deployment: manager, planner and deliberative repair on the wall clock\n" +
        "shared with the agents. It serves (orders, repairs) until stopped; with --journal it resumes after a restart.\n" +
        "Its password comes from CONSORT_COORDINATOR_PASSWORD.",
    )
    .option(
      "--config <file>",
      "settings (JSON or YAML): scenario, broker, site, username, seed, tickMs, waitAgents, report; flags win",
    )
    .option("--scenario <file>", "the scenario (resources = the agents to wait for)")
    .option("--broker <url>", "the MQTT broker", "mqtt://127.0.0.1:1883")
    .option("--site <id>", "site of the topics", "default")
    .option("--username <name>", "the coordinator's user (and client id)", "coordinator")
    .addOption(
      new Option("--objective <objective>", "what repairs minimize")
        .choices(["makespan", "twt"])
        .default("twt"),
    )
    .option("--seed <n>", "seed of the repair solver", integer("--seed", 0), 1)
    .option(
      "--epoch-ms <ms>",
      "wall-clock instant of tick 0, shared with the agents (default: now)",
      integer("--epoch-ms", 0),
    )
    .option("--tick-ms <ms>", "length of a tick", positiveNumber("--tick-ms", "milliseconds"), 1000)
    .option(
      "--wait-agents <seconds>",
      "how long to wait for the agents",
      positiveNumber("--wait-agents"),
      60,
    )
    .option(
      "--journal <file>",
      "journal of commitments; started again on it, the coordinator resumes",
    )
    .option("--exit-when-done", "exit once every activity is done, instead of serving on")
    .option(
      "--http <host:port>",
      "serve the dashboard, /metrics and reports there (port 0: any free one); the operator's token comes from CONSORT_OPERATOR_TOKEN",
    )
    .option(
      "--lease-ms <ms>",
      "the leader's lease: renewed every third of it; a standby takes over after this long without a renewal",
      positiveNumber("--lease-ms", "milliseconds"),
      3000,
    )
    .option(
      "--agent-lease-ms <ms>",
      "an agent offline (its last will) this long has its unstarted operations with an alternative resource reassigned",
      positiveNumber("--agent-lease-ms", "milliseconds"),
      10_000,
    )
    .option(
      "--standby",
      "wait as a standby on the same --journal: take over, in a higher epoch, once the leader's lease lapses",
    )
    .addOption(
      new Option(
        "--repair <policy>",
        "run-time repairs: distributed first (the agent, negotiated repair, contract net, then a churn-charged central re-solve) or central re-solves only",
      ).choices(["distributed", "central"]),
    )
    .addOption(
      new Option(
        "--reassignment <policy>",
        "how work changes hands at run time (a lost agent's, work an agent cannot fit, rush orders): contract net or the central re-solve",
      ).choices(["contract-net", "central"]),
    )
    .option(
      "--planners <n>",
      "job shops: planners the manager balances jobs across (each repairs within its cell; a job its planner cannot settle may move to another planner); kept in the journal",
      integer("--planners", 1, MAX_PLANNERS),
    )
    .action(
      async (
        options: {
          config?: string;
          http?: string;
          scenario?: string;
          broker: string;
          site: string;
          username: string;
          objective: "makespan" | "twt";
          seed: number;
          epochMs?: number;
          tickMs: number;
          waitAgents: number;
          journal?: string;
          exitWhenDone?: boolean;
          leaseMs?: number;
          agentLeaseMs?: number;
          standby?: boolean;
          repair?: "distributed" | "central";
          reassignment?: "contract-net" | "central";
          planners?: number;
        },
        command: Command,
      ) => {
        const settings = await coordinatorSettings(options, command);
        result.code = await coordinatorCommand(settings, process.stdout);
      },
    );

  root
    .command("order")
    .description("Orders for a running coordinator.")
    .command("submit")
    .description(
      "Send an order (YAML or JSON: orderId, priority?, jobs[{id, releaseTicks?, dueTicks?, weight?, operations[{resources, durationTicks}]}])\n" +
        "to the site's coordinator and print its reply: exit 0 if accepted, 65 with the reason if refused, 70 if no reply.\n" +
        "The password comes from --password or CONSORT_PASSWORD.",
    )
    .argument("<file>", "the order")
    .option("--broker <url>", "the MQTT broker", "mqtt://127.0.0.1:1883")
    .option("--site <id>", "site of the topics", "default")
    .option("--username <name>", "the operator's user", "operator")
    .option("--password <password>", "the operator's password (default: CONSORT_PASSWORD)")
    .option(
      "--timeout <seconds>",
      "how long to wait for the reply",
      positiveNumber("--timeout"),
      30,
    )
    .option("--json", "print the reply as one JSON object", false)
    .action(
      async (
        file: string,
        options: {
          broker: string;
          site: string;
          username: string;
          password?: string;
          timeout: number;
          json: boolean;
        },
      ) => {
        result.code = await orderSubmitCommand(file, options, process.stdout);
      },
    );

  const bench = root
    .command("bench")
    .description("Benchmarks; each writes its section of a results file.");
  bench
    .command("jobshop")
    .description(
      "The reference solver on public job-shop instances with proven optima: gap to optimum against the dispatch baseline.",
    )
    .option("--data <dir>", "folder of instances and their optima.json", "data/jobshop")
    .option("--time-limit <seconds>", "time limit per run", positiveNumber("--time-limit"), 10)
    .option("--seeds <n>", "runs per instance (seeds 1..n)", integer("--seeds", 1), 3)
    .option(
      "--out <file>",
      "results file whose job-shop section is rewritten (e.g. bench/RESULTS.md)",
    )
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        data: string;
        timeLimit: number;
        seeds: number;
        out?: string;
        json: boolean;
      }) => {
        result.code = await benchJobShopCommand(options, process.stdout, process.stderr);
      },
    );
  bench
    .command("fleet")
    .description(
      "The distributed fleet on generated job shops with breakdowns and a rush order: TWT against hindsight, repair latency, traffic.",
    )
    .option("--seeds <list>", "a count n (seeds 1..n) or seeds and ranges, e.g. 4,5,6 or 4-8", "3")
    .option("--jobs <n>", "jobs per shop", integer("--jobs", 1), 20)
    .option("--machines <n>", "machines (one agent process each)", integer("--machines", 1), 10)
    .option("--out <file>", "results file whose fleet section is rewritten (e.g. bench/RESULTS.md)")
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        seeds: string;
        jobs: number;
        machines: number;
        out?: string;
        json: boolean;
      }) => {
        result.code = await benchFleetCommand(options, process.stdout, process.stderr);
      },
    );
  bench
    .command("comms")
    .description(
      "Communication policies (always-broadcast, selective, silence, cells): quality against messages and bytes on the backup problem and a job shop with breakdowns, with an SVG chart.",
    )
    .option("--trials <n>", "trials per policy", integer("--trials", 1), 8)
    .option("--seed <n>", "scenario and trial seed", integer("--seed", 0), 1)
    .option("--windows <n>", "windows of the backup problem", integer("--windows", 1), 5)
    .option("--machines <n>", "machines of the job shop", integer("--machines", 2), 100)
    .option("--out <file>", "results file whose comms section is rewritten (e.g. bench/RESULTS.md)")
    .option("--svg <file>", "where the chart goes (default: comms.svg next to --out)")
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        trials: number;
        seed: number;
        windows: number;
        machines: number;
        out?: string;
        svg?: string;
        json: boolean;
      }) => {
        result.code = await benchCommsCommand(options, process.stdout, process.stderr);
      },
    );
  bench
    .command("scale")
    .description(
      "A fleet of C-TAEMS agents over one broker at several sizes (10 activities per agent): wall time, speed-up, broker traffic, coordinator CPU, agent memory.",
    )
    .option("--agents <list>", "fleet sizes, comma-separated", sizes, [10, 100, 1000])
    .option(
      "--agents-per-process <n>",
      "agents hosted by each agent process",
      integer("--agents-per-process", 1),
      50,
    )
    .option("--seed <n>", "scenario and trial seed", integer("--seed", 0), 1)
    .option("--no-check", "skip the in-process run that each distributed run is checked against")
    .option("--out <file>", "results file whose scale section is rewritten (e.g. bench/RESULTS.md)")
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        agents: number[];
        agentsPerProcess: number;
        seed: number;
        check: boolean;
        out?: string;
        json: boolean;
      }) => {
        result.code = await benchScaleCommand(options, process.stdout, process.stderr);
      },
    );
  bench
    .command("ctaems")
    .description(
      "C-TAEMS execution under uncertainty (CSC): initial schedule, BOS, Consort and POS with 95% intervals, on the backup problem or the random set.",
    )
    .addOption(
      new Option("--suite <name>", "scenario suite")
        .choices(["backup", "random"])
        .default("backup"),
    )
    .option("--trials <n>", "trials per scenario", integer("--trials", 1), 20)
    .option("--seed <n>", "one suite and trial seed (instead of --seeds)", integer("--seed", 0))
    .option(
      "--seeds <list>",
      "comma-separated suite and trial seeds, each reported and pooled (default 1,2,3)",
    )
    .option(
      "--pos-limit <seconds>",
      "POS time limit per trial; 0 skips POS",
      nonNegative("--pos-limit"),
      60,
    )
    .option(
      "--distributed",
      "agents as separate processes over an embedded broker (each run also checked against the in-process run)",
      false,
    )
    .option(
      "--only <names>",
      "only these scenarios (comma-separated names, e.g. backup-w1,backup-w5)",
    )
    .option(
      "--confirm <n>",
      "re-run every loss beyond 2% of BOS over n trials (BOS and Consort) and say whether it holds; 0 re-runs nothing",
      integer("--confirm", 0),
      0,
    )
    .option(
      "--out <file>",
      "results file whose C-TAEMS section is rewritten (e.g. bench/RESULTS.md)",
    )
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        suite: "backup" | "random";
        trials: number;
        seed?: number;
        seeds?: string;
        posLimit: number;
        distributed: boolean;
        only?: string;
        confirm: number;
        out?: string;
        json: boolean;
      }) => {
        result.code = await benchCtaemsCommand(options, process.stdout, process.stderr);
      },
    );
  bench
    .command("footprint")
    .description(
      "One edge agent's footprint beside a bare `node -e` process in the same run: resident memory idle and busy,\n" +
        "and time from spawn to online (its descriptor on an embedded loopback broker). Linux (/proc).",
    )
    .option(
      "--runs <n>",
      "rounds of bare node, agent, agent with lean off",
      integer("--runs", 1),
      10,
    )
    .option(
      "--jobs <n>",
      "activities of the busy phase (a one-machine shop)",
      integer("--jobs", 1),
      100,
    )
    .option(
      "--settle <ms>",
      "wait after ready / online before reading idle memory",
      integer("--settle", 0),
      2000,
    )
    .option(
      "--out <file>",
      "results file whose footprint section is rewritten (e.g. bench/RESULTS.md)",
    )
    .option("--json", "print exactly one JSON object on stdout", false)
    .action(
      async (options: {
        runs: number;
        jobs: number;
        settle: number;
        out?: string;
        json: boolean;
      }) => {
        result.code = await benchFootprintCommand(
          { ...options, settleMs: options.settle },
          process.stdout,
          process.stderr,
        );
      },
    );
  return root;
}

/** Runs the command line; returns the exit code. Expected failures print one line, no stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const result = { code: EXIT.ok as number };
  try {
    await program(result).parseAsync([...argv]);
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (help, version, or a usage error).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`consort: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`consort: unexpected failure (a bug; please report it):\n${message}\n`);
    return EXIT.software;
  }
}
