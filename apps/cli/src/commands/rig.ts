import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng, trialKey } from "@consort/core";
import { type RigKind, startRig } from "@consort/hardware/rig";
import { CliError, EXIT } from "../errors.js";
import { loadProblem } from "../load-problem.js";
import { parseFault } from "./fleet.js";

export interface RigFlags {
  readonly scenario: string;
  readonly kind: RigKind;
  readonly seed: number;
  readonly fault: readonly string[];
  readonly tickMs: number;
  /** VDA 5050: the vehicles' broker; default: an embedded one on a free loopback port. */
  readonly broker?: string;
  readonly json: boolean;
}

/**
 * The hardware-in-the-loop rig alone: one emulated device per resource of the scenario on
 * loopback, with the simulator's outcomes for the seed's trial (as `consort fleet` draws it), on
 * the wall clock. Prints each device's endpoint (and the adapter settings that reach it), then
 * runs until SIGINT or SIGTERM.
 */
export async function rigCommand(
  flags: RigFlags,
  out: NodeJS.WriteStream,
  signal: Promise<void>,
): Promise<number> {
  const problem = await loadProblem(flags.scenario);
  const faults = flags.fault.map(parseFault);
  // The fleet's draw: the trial key is the first fork of the seed's generator.
  const key = trialKey(createRng(flags.seed).fork());
  const pkiDir = mkdtempSync(join(tmpdir(), "consort-rig-"));
  let deviceBroker: { url: string; close(): Promise<void> } | undefined;
  try {
    let broker = flags.broker;
    if (flags.kind === "vda5050" && broker === undefined) {
      deviceBroker = await embeddedBroker();
      broker = deviceBroker.url;
    }
    const rig = await startRig({
      kind: flags.kind,
      model: problem.model,
      trialKey: key,
      tickMs: flags.tickMs,
      faults,
      pkiDir,
      ...(broker !== undefined ? { broker } : {}),
    }).catch((error: unknown) => {
      throw new CliError(`rig: ${(error as Error).message}`, EXIT.software);
    });
    const devices = rig.devices.map((d) => ({
      resourceId: d.resourceId,
      endpoint: endpointOf(d.settings as unknown as Record<string, unknown>),
      environment: d.settings,
    }));
    if (flags.json)
      out.write(`${JSON.stringify({ kind: flags.kind, seed: flags.seed, devices })}\n`);
    else {
      out.write(
        `${flags.kind} rig for ${problem.model.name}, seed ${flags.seed}, ${flags.tickMs} ms ticks\n`,
      );
      for (const d of devices) out.write(`  ${d.resourceId.padEnd(16)} ${d.endpoint}\n`);
      out.write("(each agent's `environment` setting: --json prints them; Ctrl-C stops)\n");
    }
    await signal;
    await rig.close();
    return EXIT.ok;
  } finally {
    await deviceBroker?.close();
    rmSync(pkiDir, { recursive: true, force: true });
  }
}

function endpointOf(s: Record<string, unknown>): string {
  if (s.kind === "modbus") return `modbus-tcp://${s.host}:${s.port} unit ${s.unitId}`;
  if (s.kind === "opcua") return String(s.endpoint);
  if (s.kind === "serial") return `serial ${s.path}`;
  return `${s.broker} ${s.manufacturer ?? ""}/${s.serialNumber ?? ""}`.trim();
}

export async function embeddedBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const { Aedes } = await import("aedes");
  const aedes = await Aedes.createBroker();
  const server = createServer({ noDelay: true }, aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
