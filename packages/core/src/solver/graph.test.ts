import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JobShopInstance } from "../model/jobshop.js";
import { createRng } from "../random.js";
import { Budget } from "./budget.js";
import { dispatchSequences } from "./dispatch.js";
import { Graph } from "./graph.js";
import { makespanLowerBound, toProblem, twtLowerBound } from "./problem.js";
import { tabuSearchMakespan } from "./tabu-makespan.js";
import { tabuSearchTwt } from "./tabu-twt.js";

/** Random job shops with zero durations and jobs that may visit a machine more than once. */
const instance = fc
  .record({ machines: fc.integer({ min: 1, max: 4 }), jobs: fc.integer({ min: 1, max: 6 }) })
  .chain(({ machines, jobs }) =>
    fc
      .array(
        fc.record({
          ops: fc.array(
            fc.record({
              machine: fc.integer({ min: 0, max: machines - 1 }),
              duration: fc.integer({ min: 0, max: 9 }),
            }),
            { minLength: 1, maxLength: 6 },
          ),
          release: fc.integer({ min: 0, max: 10 }),
          due: fc.integer({ min: 0, max: 50 }),
        }),
        { minLength: jobs, maxLength: jobs },
      )
      .map(
        (rows): JobShopInstance => ({
          name: "random",
          machineIds: Array.from({ length: machines }, (_, m) => `m${m}`),
          jobs: rows.map((row, j) => ({
            id: `j${j}`,
            operations: row.ops.map((o, k) => ({
              id: `j${j}.o${k}`,
              machine: o.machine,
              durationTicks: o.duration,
            })),
            releaseTicks: row.release,
            dueTicks: row.due,
            weight: 1 + (j % 3),
          })),
        }),
      ),
  );

function reference(graph: Graph): Graph {
  const ref = new Graph(graph.problem);
  ref.setSequences(graph.seq);
  return ref;
}

describe("Graph incremental updates", () => {
  it("match a full recomputation after every move, and reject exactly the cyclic ones", () => {
    fc.assert(
      fc.property(instance, fc.integer(), (inst, seed) => {
        const problem = toProblem(inst);
        const g = new Graph(problem);
        g.setSequences(dispatchSequences(problem, "spt").seq);
        expect(g.computeHeads()).toBe(true);
        g.computeTails();
        const rng = createRng(seed);
        for (let step = 0; step < 60; step++) {
          const m = rng.int(0, problem.machineCount - 1);
          const lo = g.mStart[m]!;
          const hi = g.mStart[m + 1]! - 1;
          if (hi <= lo) continue;
          const from = rng.int(lo, hi);
          const to = rng.int(lo, hi);
          if (from === to) continue;
          const before = Int32Array.from(g.seq);
          const moved = new Graph(problem);
          moved.setSequences(before);
          moved.shift(from, to);
          const acyclic = moved.computeHeads();
          expect(g.move(from, to)).toBe(acyclic);
          if (!acyclic) {
            expect(Array.from(g.seq)).toEqual(Array.from(before));
            continue;
          }
          for (let o = 0; o < problem.n; o++) {
            expect(g.topo[g.ord[o]!]).toBe(o);
            const js = problem.jobNext[o]!;
            if (js >= 0) expect(g.ord[js]!).toBeGreaterThan(g.ord[o]!);
            const ms = g.mNext[o]!;
            if (ms >= 0) expect(g.ord[ms]!).toBeGreaterThan(g.ord[o]!);
          }
          if (rng.next() < 0.3) {
            g.undoMove(from, to);
            expect(Array.from(g.seq)).toEqual(Array.from(before));
            g.updateHeads(0);
            g.computeTails();
          } else {
            g.updateHeads();
            g.computeTails(g.hi);
          }
          const ref = reference(g);
          expect(ref.computeHeads()).toBe(true);
          ref.computeTails();
          expect(Array.from(g.head)).toEqual(Array.from(ref.head));
          expect(Array.from(g.tail)).toEqual(Array.from(ref.tail));
          expect(g.makespan).toBe(ref.makespan);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("lets the searches report the value of the sequences they return", () => {
    fc.assert(
      fc.property(instance, fc.integer(), (inst, seed) => {
        const problem = toProblem(inst);
        const start = dispatchSequences(problem, "mwkr").seq;
        const budget = () => new Budget({ objective: "makespan", seed, maxIterations: 150 }, 0);
        const ms = tabuSearchMakespan(
          problem,
          start,
          makespanLowerBound(problem),
          createRng(seed),
          budget(),
        );
        const g = new Graph(problem);
        g.setSequences(ms.seq);
        expect(g.computeHeads()).toBe(true);
        expect(g.makespan).toBe(ms.value);

        const twt = tabuSearchTwt(
          problem,
          start,
          twtLowerBound(problem),
          createRng(seed),
          budget(),
        );
        g.setSequences(twt.seq);
        expect(g.computeHeads()).toBe(true);
        let sum = 0;
        for (let j = 0; j < problem.jobCount; j++) {
          const last = problem.jobStart[j + 1]! - 1;
          const end = g.head[last]! + problem.duration[last]!;
          sum += problem.weight[j]! * Math.max(0, end - problem.due[j]!);
        }
        expect(sum).toBe(twt.value);
      }),
      { numRuns: 150 },
    );
  });
});
