import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeviceOutcome } from "../../rig/machine.js";
import { EmulatedVehicle } from "../../rig/vda5050-vehicle.js";
import { record, sleep, until } from "../../test-support/events.js";
import { createVda5050Environment } from "./adapter.js";
import type { Order } from "./messages.js";
import { parseVda5050Settings } from "./settings.js";

// A bare aedes broker on an ephemeral loopback port: the vehicle and the adapter meet on a real
// broker, never a mock.
let broker: Aedes;
let server: Server;
let url: string;
beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  url = `mqtt://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

let serial = 0;
const fixed =
  (durationMs: number, quality: number) =>
  (id: string): DeviceOutcome | undefined =>
    id.startsWith("A") ? { durationMs, quality } : undefined;

async function rig(
  outcome = fixed(120, 0.8),
  settings: Parameters<EmulatedVehicle["adapterSettings"]>[0] = {},
) {
  const vehicle = await EmulatedVehicle.connect({
    broker: url,
    manufacturer: "Acme",
    serialNumber: `R${++serial}`,
    outcome,
    stateIntervalMs: 200,
    reconnectAfterMs: 100,
  });
  open.push(vehicle);
  let tick = 0;
  const env = await createVda5050Environment(vehicle.adapterSettings(settings), {
    resourceId: "rover",
    now: () => tick++,
  });
  open.push(env);
  await sleep(50); // the retained ONLINE and first state arrive
  return { vehicle, env, log: record(env) };
}

describe("VDA 5050 adapter against an emulated vehicle", () => {
  it("sends an order over its route and completes when nodes are traversed and actions finished", async () => {
    const { vehicle, env, log } = await rig(fixed(150, 0.8), {
      routes: {
        A1: {
          nodes: [
            { nodeId: "dock", x: 0, y: 0 },
            { nodeId: "aisle-3", x: 12, y: 4 },
            {
              nodeId: "station-7",
              x: 20,
              y: 4,
              actions: [{ actionType: "pick", parameters: { activityId: "A1" } }],
            },
          ],
        },
      },
    });
    const orders: Order[] = [];
    const spy = await mqtt.connectAsync(url);
    open.push({ close: () => spy.endAsync() });
    await spy.subscribeAsync("uagv/v2/Acme/+/order");
    spy.on("message", (_t, p) => orders.push(JSON.parse(p.toString()) as Order));
    env.start("A1");
    expect(await log.next("completed", "A1")).toMatchObject({ resourceId: "rover", quality: 0.8 });
    expect(log.events.map((e) => e.kind)).toEqual(["started", "completed"]);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.nodes.map((n) => [n.nodeId, n.sequenceId])).toEqual([
      ["dock", 0],
      ["aisle-3", 2],
      ["station-7", 4],
    ]);
    expect(orders[0]!.edges.map((e) => [e.startNodeId, e.endNodeId, e.sequenceId])).toEqual([
      ["dock", "aisle-3", 1],
      ["aisle-3", "station-7", 3],
    ]);
    expect(vehicle.currentState.lastNodeId).toBe("station-7");
    env.start("A1");
    await sleep(300);
    expect(vehicle.runs).toEqual(["A1"]);
  });

  it("fails a run whose vehicle drops off the broker, and runs the retry once it is back", async () => {
    const { vehicle, env, log } = await rig();
    vehicle.inject({ kind: "disconnect", afterMs: 40 });
    env.start("A2");
    const failed = (await log.next("failed", "A2")) as { reason: string };
    expect(failed.reason).toBe("device-disconnected: Acme/R2: CONNECTIONBROKEN");
    for (let i = 0; i < 60 && !env.connected; i++) await sleep(50);
    expect(env.connected).toBe(true);
    env.start("A2");
    await log.next("completed", "A2");
    expect(log.ends("A2").map((e) => e.kind)).toEqual(["failed", "completed"]);
  });

  it("fails a stalled run at the run timeout and cancels the order", async () => {
    const { vehicle, env, log } = await rig(fixed(120, 0.8), { runTimeoutMs: 400 });
    vehicle.inject({ kind: "stall" });
    env.start("A3");
    expect(((await log.next("failed", "A3")) as { reason: string }).reason).toMatch(
      /^device-stalled/,
    );
    await until(() => vehicle.currentState.nodeStates.length === 0);
    expect(vehicle.currentState.nodeStates).toEqual([]);
    expect(vehicle.currentState.actionStates.at(-1)).toMatchObject({
      actionType: "cancelOrder",
      actionStatus: "FINISHED",
    });
    expect(log.ends("A3")).toHaveLength(1);
  });

  it("fails a run on a FATAL vehicle error", async () => {
    const { vehicle, env, log } = await rig();
    vehicle.inject({ kind: "fault", code: 42 });
    env.start("A4");
    expect(await log.next("failed", "A4")).toMatchObject({
      reason: "device-fault: consort:deviceFault: 42",
    });
    await sleep(300);
    expect(log.ends("A4")).toHaveLength(1);
  });

  it("rides out late states, and fails when the order is not taken in time", async () => {
    const { vehicle, env, log } = await rig(fixed(120, 0.8), { acceptTimeoutMs: 600 });
    vehicle.inject({ kind: "slow", delayMs: 100 });
    env.start("A5");
    await log.next("completed", "A5");
    vehicle.inject({ kind: "slow", delayMs: 1200 });
    env.start("A6");
    expect(((await log.next("failed", "A6")) as { reason: string }).reason).toMatch(
      /^device-timeout: order A6#\d+ not taken/,
    );
    await sleep(1400);
    expect(log.ends("A6")).toHaveLength(1);
  });

  it("aborts by cancelOrder; a refused order fails", async () => {
    const { vehicle, env, log } = await rig(fixed(5000, 1));
    env.start("A7");
    await log.next("started", "A7");
    env.abort("A7");
    expect(await log.next("failed", "A7")).toMatchObject({ reason: "aborted" });
    await until(() => !vehicle.currentState.driving);
    expect(vehicle.currentState.driving).toBe(false);
    env.start("B1");
    expect(((await log.next("failed", "B1")) as { reason: string }).reason).toBe(
      "device-rejected: validationError: unknown activity B1",
    );
  });

  it("resumes an order after the agent restarts, without sending it again", async () => {
    const { vehicle, env, log } = await rig(fixed(600, 0.8));
    env.start("A9");
    await log.next("started", "A9");
    await env.close();
    let tick = 0;
    const env2 = await createVda5050Environment(vehicle.adapterSettings(), {
      resourceId: "rover",
      now: () => tick++,
    });
    open.push(env2);
    const log2 = record(env2);
    env2.resume("A9");
    expect(await log2.next("completed", "A9")).toMatchObject({ quality: 0.8 });
    expect(log2.events.map((e) => e.kind)).toEqual(["completed"]);
    expect(vehicle.runs).toEqual(["A9"]);
    env2.resume("A10"); // the vehicle's order is A9's
    expect(((await log2.next("failed", "A10")) as { reason: string }).reason).toMatch(
      /^device-fault: resume/,
    );
  });

  it("fails a start at once when the broker is unreachable", async () => {
    let tick = 0;
    const env = await createVda5050Environment(
      {
        ...(await rig()).vehicle.adapterSettings(),
        broker: "mqtt://127.0.0.1:1",
        acceptTimeoutMs: 200,
      },
      { resourceId: "rover", now: () => tick++ },
    );
    open.push(env);
    const log = record(env);
    env.start("A8");
    expect(((await log.next("failed", "A8")) as { reason: string }).reason).toMatch(
      /^device-unavailable/,
    );
  });
});

describe("VDA 5050 settings", () => {
  it("fills defaults and says where and what is wrong", () => {
    const ok = parseVda5050Settings({
      kind: "vda5050",
      broker: "mqtt://fleet:1883",
      manufacturer: "Acme",
      serialNumber: "R1",
    });
    expect(ok.ok && ok.value).toMatchObject({
      interfaceName: "uagv",
      majorVersion: "v2",
      routes: {},
    });
    const bad = parseVda5050Settings({
      kind: "vda5050",
      broker: "mqtt://fleet:1883",
      manufacturer: "Acme",
      serialNumber: "R/1",
    });
    expect(!bad.ok && bad.error).toMatch(/^environment: serialNumber: .*\(got "R\/1"\)$/);
  });
});
