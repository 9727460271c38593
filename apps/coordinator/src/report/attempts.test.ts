import type { TaskModel } from "@consort/core";
import { describe, expect, it } from "vitest";
import { renderHtmlReport } from "./html.js";
import { interruptedAttempts, jobOfActivity, reportJobs } from "./jobs.js";
import { smallReport } from "./test-support/fixtures.js";
import type { FleetReport } from "./types.js";

// Two jobs on three machines; job a's first operation was cut short by a breakdown on m1 at 5.
const model: TaskModel = {
  name: "cell",
  resources: [{ id: "m3" }, { id: "m1" }, { id: "m2" }],
  root: "root",
  links: [],
  nodes: [
    { id: "root", kind: "task", qaf: "sum", children: ["a", "b"] },
    {
      id: "a",
      kind: "task",
      qaf: "min",
      children: ["a.o0", "a.o1"],
      due: { dueTicks: 20, weight: 1 },
    },
    { id: "b", kind: "task", qaf: "min", children: ["b.o0"], due: { dueTicks: 30, weight: 1 } },
    ...["a.o0", "a.o1", "b.o0"].map((id) => ({
      id,
      kind: "activity" as const,
      resources: [id === "a.o1" ? "m2" : "m1"],
      duration: [{ value: 4, probability: 1 }],
      quality: [{ value: 1, probability: 1 }],
    })),
  ],
};
const planned = {
  version: 3,
  resources: [
    { resourceId: "m1", activities: [{ activityId: "a.o0", startTicks: 2, durationTicks: 4 }] },
  ],
};
const executed = new Map([
  ["a.o0", { resourceId: "m1", startTicks: 9, endTicks: 13 }],
  ["a.o1", { resourceId: "m2", startTicks: 14, endTicks: 25 }],
  ["b.o0", { resourceId: "m1", startTicks: 13, endTicks: 17 }],
]);

describe("interrupted attempts, due dates and lateness", () => {
  const jobOf = jobOfActivity(model);
  const failed = interruptedAttempts(planned, "m1", 5, () => false, jobOf);
  const jobs = reportJobs(model, executed);

  it("finds the run a breakdown cut short, from its start to the breakdown", () => {
    expect(failed).toEqual([
      {
        resourceId: "m1",
        activityId: "a.o0",
        jobId: "a",
        startTicks: 2,
        endTicks: 5,
        status: "failed",
      },
    ]);
    // Not when it had already completed, nor when the breakdown falls outside the slot.
    expect(interruptedAttempts(planned, "m1", 5, (a) => a === "a.o0", jobOf)).toEqual([]);
    expect(interruptedAttempts(planned, "m1", 6, () => false, jobOf)).toEqual([]);
    expect(interruptedAttempts(planned, "m1", 2, () => false, jobOf)).toEqual([]);
  });

  it("computes each job's end and lateness against its due date", () => {
    expect(jobs).toEqual([
      { jobId: "a", dueTicks: 20, endTicks: 25, latenessTicks: 5 },
      { jobId: "b", dueTicks: 30, endTicks: 17, latenessTicks: 0 },
    ]);
    const partial = reportJobs(model, new Map([["a.o0", { endTicks: 13 }]]));
    expect(partial[0]).toEqual({ jobId: "a", dueTicks: 20 });
  });

  const report: FleetReport = {
    ...smallReport(),
    executed: [
      ...failed,
      ...[...executed].map(([activityId, e]) => ({
        ...e,
        activityId,
        jobId: jobOf(activityId),
        status: "completed" as const,
      })),
      {
        resourceId: "m2",
        activityId: "a.o1",
        jobId: "a",
        startTicks: 10,
        endTicks: 12,
        status: "aborted",
      },
    ],
    downtime: [{ resourceId: "m1", fromTicks: 5, untilTicks: 9, reason: "breakdown" }],
    disruptions: [],
    jobs,
    resourceOrder: model.resources.map((r) => r.id),
  };
  const html = renderHtmlReport(report);

  it("draws the failed attempt on its row besides its retry, and the aborted one apart", () => {
    const bars = [
      ...html.matchAll(
        /<rect class="bar ([^"]*)" x="[^"]+" y="([^"]+)"[^>]*><title>([^<]*)<\/title>/g,
      ),
    ];
    const ofA0 = bars.filter((m) => m[3]!.startsWith("a.o0"));
    expect(ofA0).toHaveLength(2);
    expect(ofA0.map((m) => m[2])).toEqual([ofA0[0]![2], ofA0[0]![2]]); // the same row
    expect(ofA0.filter((m) => m[1]!.endsWith(" failed"))).toHaveLength(1);
    expect(ofA0.find((m) => m[1]!.endsWith(" failed"))![3]).toMatch(/2\u20135 .*failed attempt/);
    expect(bars.filter((m) => m[1]!.endsWith(" aborted"))).toHaveLength(1);
    expect(html).toMatch(/<b>1 failed<\/b>, <b>1 aborted<\/b>/);
  });

  it("keeps the rows in resource order, an idle resource included", () => {
    const rows = [...html.matchAll(/<text class="rl"[^>]*>([^<]*)<title>([^<]*)<\/title>/g)].map(
      (m) => m[2],
    );
    expect(rows).toEqual(["m3", "m1", "m2"]);
  });

  it("marks each due date on the row of its job's last operation, late ones apart, and lists lateness", () => {
    expect(html.match(/<path class="due late"/g)).toHaveLength(1);
    expect(html.match(/<path class="due"/g)).toHaveLength(1);
    expect(html).toContain("job a due 20, ended 25, late by 5");
    expect(html).toContain("job b due 30, ended 17, on time");
    expect(html).toMatch(/<h2>Jobs \(2\)<\/h2>.*<b>1 late<\/b>, total lateness <b>5<\/b>/s);
    expect(html).toMatch(
      /<tr><td>a<\/td><td class="num">20<\/td><td class="num">25<\/td><td class="num"><b class="late">\+5<\/b>/,
    );
    expect(html).not.toMatch(/<script/i);
  });
});
