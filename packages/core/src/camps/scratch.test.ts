import fc from "fast-check";
import { it } from "vitest";
import { jobShopToModel } from "../model/jobshop.js";
import { indexModel } from "../model/model-index.js";
import { checkSchedule } from "../schedule/check.js";
import { jobShopArbitrary } from "../test-support/arbitraries.js";
import { runCampsInProcess } from "./in-process.js";

for (const [h, mj, mm] of [
  ["greedy", 8, 5],
  ["least-constraining", 8, 5],
  ["greedy", 15, 8],
  ["least-constraining", 15, 8],
] as const)
  it(`explore ${h} ${mj}x${mm}`, () => {
    const samples = fc.sample(jobShopArbitrary({ maxJobs: mj, maxMachines: mm }), {
      numRuns: 200,
      seed: 42,
    });
    const tally: Record<string, number> = {};
    let bad = 0;
    let rounds = 0;
    const t0 = performance.now();
    for (const inst of samples) {
      const ix = indexModel(jobShopToModel(inst));
      if (!ix.ok) throw new Error("bad");
      const r = runCampsInProcess(ix.value, {
        heuristic: h,
        unavailable: [{ resourceId: "m0", fromTicks: 10, untilTicks: 25 }],
      });
      if (!r.ok) {
        console.log(r.error);
        bad++;
        continue;
      }
      tally[r.value.outcome] = (tally[r.value.outcome] ?? 0) + 1;
      rounds += r.value.rounds;
      const v = checkSchedule(ix.value, r.value.schedule, { requireAll: true });
      if (v.length > 0) {
        bad++;
        console.log(v.slice(0, 3));
      }
      if (r.value.outcome === "deliberative" && tally.deliberative! <= 0)
        console.log(r.value.log.map((l) => `${l.round} ${l.phase}: ${l.message}`).join("\n"));
    }
    console.log(tally, "bad", bad, "rounds", rounds, "ms", performance.now() - t0);
  });
