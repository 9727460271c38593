import { describe, expect, it } from "vitest";
import { evaluateQuality, executionOfSchedule } from "../quality/qaf.js";
import { checkSchedule } from "../schedule/check.js";
import { runCampsInProcess } from "./in-process.js";
import { assignOperations } from "./planner-windows.js";
import { indexed, mixedModel } from "./test-support/fixtures.js";
import { collides } from "./timeline.js";
import type { ResourceInterval } from "./types.js";

/** The CAMPS cycle on a model that is not a job shop: orders and a C-TAEMS mission under one root. */
describe("CAMPS planning of a job shop mixed with a C-TAEMS network", () => {
  const index = indexed(mixedModel);

  it("the planner's windows follow enables links into tasks and the network's deadline", () => {
    const byId = new Map(assignOperations(index).map((a) => [a.activityId, a]));
    expect(byId.size).toBe(7);
    // inspect (7 ticks) enables the `maintain` task: both of its activities wait for it.
    expect(byId.get("service")!.window.earliestTicks).toBe(7);
    expect(byId.get("swap")!.window.earliestTicks).toBe(7);
    // order-2 comes after order-1's pressing (6 ticks), whatever its own release (2).
    expect(byId.get("o2.press")!.window.earliestTicks).toBe(6);
    // maintain's deadline 60 bounds the latest start of its 9-tick service.
    expect(byId.get("service")!.window.latestTicks).toBeLessThanOrEqual(51);
  });

  it("negotiation, repair and deliberative repair end with every activity planned, feasible, at full quality", () => {
    const downs: ResourceInterval[][] = [
      [],
      [{ resourceId: "press", fromTicks: 4, untilTicks: 20 }],
      [
        { resourceId: "rover", fromTicks: 0, untilTicks: 9 },
        { resourceId: "press", fromTicks: 10, untilTicks: 18 },
      ],
    ];
    const outcomes = new Set<string>();
    for (const unavailable of downs) {
      for (const heuristic of ["greedy", "least-constraining"] as const) {
        for (const loop of [{}, { maxRounds: 0, maxProblemAdjustments: 0 }]) {
          const run = runCampsInProcess(index, {
            unavailable,
            heuristic,
            loop,
            maxIterations: 300,
          });
          if (!run.ok) throw new Error(run.error.reason);
          outcomes.add(run.value.outcome);
          const s = run.value.schedule;
          expect(checkSchedule(index, s, { requireAll: true })).toEqual([]);
          for (const r of s.resources)
            for (const a of r.activities)
              for (const u of unavailable.filter((x) => x.resourceId === r.resourceId))
                expect(collides(a.startTicks!, a.durationTicks!, u)).toBe(false);
          expect(evaluateQuality(index, executionOfSchedule(index, s)).rootQuality).toBe(20);
        }
      }
    }
    expect(outcomes).toEqual(new Set(["negotiated", "deliberative"]));
  });
});
