import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ActivityNode, sampleOutcome } from "@consort/core/agent";
import { describe, expect, it } from "vitest";
import { createEnvironment } from "../adapters/index.js";
import { record } from "../test-support/events.js";
import { startRig } from "./rig.js";
import { hasSocat } from "./serial-device.js";

const socat = await hasSocat();

const activity = (id: string, resources: string[]): ActivityNode => ({
  id,
  kind: "activity",
  resources,
  duration: [
    { value: 2, probability: 0.5 },
    { value: 4, probability: 0.5 },
  ],
  quality: [
    { value: 0.6, probability: 0.5 },
    { value: 1, probability: 0.5 },
  ],
});
const model = {
  resources: [{ id: "M1" }, { id: "M2" }],
  nodes: [activity("J1-1", ["M1"]), activity("J1-2", ["M2", "M1"]), activity("J2-1", ["M2"])],
};

describe("the rig", () => {
  it("puts a Modbus device per resource, each running the simulator's outcomes and planned faults", async () => {
    const rig = await startRig({
      kind: "modbus",
      model,
      trialKey: 7,
      tickMs: 20,
      faults: [{ activityId: "J1-2", fault: { kind: "fault", code: 5 } }],
    });
    try {
      const [m1, m2] = rig.devices;
      let tick = 0;
      const env1 = await createEnvironment(m1!.settings, { resourceId: "M1", now: () => tick++ });
      const env2 = await createEnvironment(m2!.settings, { resourceId: "M2", now: () => tick++ });
      const log1 = record(env1);
      const log2 = record(env2);
      env1.start("J1-1");
      env2.start("J1-2");
      expect(await log1.next("completed", "J1-1")).toMatchObject({
        quality: sampleOutcome(model.nodes[0]!, 7).quality,
      });
      expect(await log2.next("failed", "J1-2")).toMatchObject({ reason: "device-fault: 5" });
      env1.start("J1-2"); // the alternative resource, second attempt: no fault planned
      await log1.next("completed", "J1-2");
      env1.start("J2-1"); // not M1's: its device does not know it
      expect(((await log1.next("failed", "J2-1")) as { reason: string }).reason).toMatch(
        /^device-fault: 900/,
      );
      expect(m1!.runs).toEqual(["J1-1", "J1-2"]);
      expect(m2!.runs).toEqual(["J1-2"]);
      await env1.close();
      await env2.close();
    } finally {
      await rig.close();
    }
  });

  it("hosts every OPC UA machine on one server; a disconnect on one leaves the other alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "consort-rig-"));
    const rig = await startRig({ kind: "opcua", model, trialKey: 7, tickMs: 20, pkiDir: dir });
    try {
      const [m1, m2] = rig.devices;
      let tick = 0;
      const env1 = await createEnvironment(m1!.settings, { resourceId: "M1", now: () => tick++ });
      const env2 = await createEnvironment(m2!.settings, { resourceId: "M2", now: () => tick++ });
      const log1 = record(env1);
      const log2 = record(env2);
      m1!.inject({ kind: "disconnect", afterMs: 10 });
      env1.start("J1-1");
      env2.start("J2-1");
      expect(((await log1.next("failed", "J1-1")) as { reason: string }).reason).toMatch(
        /^device-disconnected/,
      );
      expect(await log2.next("completed", "J2-1")).toMatchObject({
        quality: sampleOutcome(model.nodes[2]!, 7).quality,
      });
      expect(log2.events.map((e) => e.kind)).toEqual(["started", "completed"]);
      expect(m1!.runs).toEqual(["J1-1"]);
      expect(m2!.runs).toEqual(["J2-1"]);
      await env1.close();
      await env2.close();
    } finally {
      await rig.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(!socat)(
    "puts a serial device per resource, each on its own pty pair, with planned faults",
    async () => {
      const rig = await startRig({
        kind: "serial",
        model,
        trialKey: 7,
        tickMs: 20,
        faults: [{ activityId: "J1-2", fault: { kind: "fault", code: 5 } }],
      });
      try {
        const [m1, m2] = rig.devices;
        let tick = 0;
        const env1 = await createEnvironment(m1!.settings, { resourceId: "M1", now: () => tick++ });
        const env2 = await createEnvironment(m2!.settings, { resourceId: "M2", now: () => tick++ });
        const log1 = record(env1);
        const log2 = record(env2);
        env1.start("J1-1");
        env2.start("J1-2");
        expect(await log1.next("completed", "J1-1")).toMatchObject({
          quality: sampleOutcome(model.nodes[0]!, 7).quality,
        });
        expect(await log2.next("failed", "J1-2")).toMatchObject({ reason: "device-fault: 5" });
        env1.start("J1-2");
        await log1.next("completed", "J1-2");
        env1.start("J2-1"); // not M1's: its device rejects it
        expect(await log1.next("failed", "J2-1")).toMatchObject({
          reason: "device-rejected: UNKNOWN",
        });
        expect(m1!.runs).toEqual(["J1-1", "J1-2"]);
        expect(m2!.runs).toEqual(["J1-2"]);
        await env1.close();
        await env2.close();
      } finally {
        await rig.close();
      }
    },
  );
});
