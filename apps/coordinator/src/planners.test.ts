import {
  checkSchedule,
  fixed,
  indexModel,
  type ModelIndex,
  type ModelNode,
  type TaskModel,
} from "@consort/core";
import { MqttTransport } from "@consort/protocol/mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Coordinator } from "./coordinator.js";
import { compactJournal, MemoryJournal } from "./journal.js";
import { Planners } from "./planners.js";
import { useLoopbackBroker } from "./test-support/loopback-broker.js";

/** Jobs J1..Jn, each one operation on m1 then one on m2, of the given work split in two. */
function shop(works: readonly number[]): TaskModel {
  const nodes: ModelNode[] = [
    { kind: "task", id: "root", qaf: "sum", children: works.map((_, k) => `J${k + 1}`) },
  ];
  const links: TaskModel["links"][number][] = [];
  works.forEach((w, k) => {
    const j = `J${k + 1}`;
    nodes.push({
      kind: "task",
      id: j,
      qaf: "min",
      children: [`${j}.1`, `${j}.2`],
      due: { dueTicks: 2 * w, weight: 1 },
    });
    for (const [n, r, d] of [
      [1, "m1", Math.ceil(w / 2)],
      [2, "m2", Math.floor(w / 2)],
    ] as const)
      nodes.push({
        kind: "activity",
        id: `${j}.${n}`,
        resources: [r],
        duration: fixed(d),
        quality: fixed(1),
      });
    links.push({ kind: "enables", from: `${j}.1`, to: `${j}.2` });
  });
  return { name: "shop", root: "root", resources: [{ id: "m1" }, { id: "m2" }], nodes, links };
}

const indexOf = (m: TaskModel): ModelIndex => {
  const r = indexModel(m);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

const options = {
  nowTicks: 0,
  objective: "twt" as const,
  seed: 1,
  maxIterations: 200,
  unavailable: [],
  frozen: [],
  cancelled: [],
  version: 1,
};

describe("Planners", () => {
  it("plans every job on one planner, loads balanced, and admits a later job by load", () => {
    const works = [10, 9, 8, 7, 6, 4];
    const planners = new Planners(2);
    const index = indexOf(shop(works));
    const planned = planners.plan(index, options);
    if (!planned.ok) throw new Error(planned.reason);
    expect(checkSchedule(index, planned.schedule, { requireAll: true })).toEqual([]);
    const before = planners.report().planners;
    expect(before.flatMap((p) => p.jobs).sort()).toEqual(["J1", "J2", "J3", "J4", "J5", "J6"]);
    // Within one largest job (10) of each other, after any move that stood.
    const [l1, l2] = before.map((p) => p.loadTicks) as [number, number];
    expect(l1 + l2).toBe(44);
    expect(Math.abs(l1 - l2)).toBeLessThanOrEqual(10);
    for (const m of planners.report().jobMoves)
      expect(m.accepted).toBe(m.valueAfter < m.valueBefore);
    // A rush job arrives: it joins the less loaded planner (P1 on a tie: the lower id).
    planners.onModel(indexOf(shop([...works, 5])), 3);
    const after = planners.report();
    const to = l1 <= l2 ? "P1" : "P2";
    expect(after.admitted).toEqual([{ atTicks: 3, jobId: "J7", plannerId: to }]);
    expect(after.planners.map((p) => p.loadTicks)).toEqual(
      to === "P1" ? [l1 + 5, l2] : [l1, l2 + 5],
    );
  });
});

describe("a coordinator with several planners, resumed from its journal", () => {
  // A real aedes broker on an ephemeral loopback port.
  const mqtt = useLoopbackBroker();

  it("keeps the job -> planner table: journalled with the plan, restored on resume, kept by compaction", async () => {
    const model = shop([10, 9, 8, 7, 6, 4]);
    const journal = new MemoryJournal();
    const coordinatorOptions = {
      site: "pl",
      coordinatorId: "coordinator",
      objective: "twt" as const,
      seed: 1,
      repairIterations: 50,
      lockstep: false,
      planners: 2,
      journal,
    };
    const logger = pino({ level: "silent" });
    const first = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@pl" });
    const coordinator = new Coordinator(model, first, coordinatorOptions, logger);
    await coordinator.start();
    coordinator.plan();
    const planned = coordinator.planners!.report().planners;
    expect(planned.flatMap((p) => p.jobs).sort()).toEqual(["J1", "J2", "J3", "J4", "J5", "J6"]);
    // Journalled before the schedule it belongs to.
    const kinds = journal.records.map((r) => r.t);
    expect(kinds.indexOf("planners")).toBeGreaterThan(-1);
    expect(kinds.indexOf("planners")).toBeLessThan(kinds.indexOf("installed"));
    coordinator.stopLease();
    await first.drop();

    // A new session on the same journal (and on its compacted form) holds the same table.
    for (const records of [journal.records, compactJournal(journal.records)]) {
      const again = new MemoryJournal();
      again.records.push(...records);
      const transport = await MqttTransport.connect({ url: mqtt.url, clientId: "coordinator@pl" });
      const resumed = new Coordinator(
        model,
        transport,
        { ...coordinatorOptions, journal: again },
        logger,
      );
      await resumed.start();
      expect(resumed.resumed?.installed).toBe(true);
      expect(resumed.planners!.report().planners).toEqual(planned);
      resumed.stopLease();
      await transport.drop();
    }
  });
});
