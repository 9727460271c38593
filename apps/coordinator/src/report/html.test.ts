import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderHtmlReport } from "./index.js";
import { bigReport, smallReport } from "./test-support/fixtures.js";
import type { FleetReport } from "./types.js";

function count(html: string, needle: string | RegExp): number {
  const re = typeof needle === "string" ? new RegExp(escapeRe(needle), "g") : needle;
  return html.match(re)?.length ?? 0;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const BAR = /<rect class="bar /g;

describe("renderHtmlReport", () => {
  const report = smallReport();
  const html = renderHtmlReport(report);

  it("writes a complete self-contained page", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("</html>");
    expect(count(html, "<svg")).toBe(1);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/(src|href)=["']?https?:/i);
    expect(html).not.toMatch(/@import|url\(["']?https?:/i);
  });

  it("draws exactly one bar per executed activity", () => {
    expect(count(html, BAR)).toBe(report.executed.length);
    expect(count(html, 'class="bar j')).toBe(report.executed.length);
    const failed = report.executed.filter((b) => b.status === "failed").length;
    expect(failed).toBeGreaterThan(0);
    expect(count(html, /<rect class="bar [^"]* failed"/g)).toBe(failed);
  });

  it("labels one row per resource", () => {
    const resources = new Set([
      ...report.executed.map((b) => b.resourceId),
      ...report.downtime.map((d) => d.resourceId),
    ]);
    expect(count(html, 'class="rl"')).toBe(resources.size);
    for (const r of ["M1", "M2", "M3", "R1", "R2"]) {
      expect(html).toMatch(new RegExp(`class="rl"[^>]*>${r}<title>${r}</title>`));
    }
    expect(html).toContain("drill-&lt;b&gt;");
  });

  it("draws the downtime bands with their reasons", () => {
    expect(count(html, '<rect class="down"')).toBe(report.downtime.length);
    expect(html).toContain("Down: spindle jam &lt;&amp;&gt;");
    expect(html).toContain("battery swap");
  });

  it("draws a disruption marker per disruption and a nice time axis", () => {
    expect(count(html, '<g class="dis ')).toBe(report.disruptions.length);
    const ticks = [...html.matchAll(/<text class="tk" x="[^"]+" y="[^"]+">([^<]+)<\/text>/g)].map(
      (m) => Number(m[1]!.replace(/,/g, "")),
    );
    expect(ticks[0]).toBe(0);
    const step = ticks[1]! - ticks[0]!;
    const mant = step / 10 ** Math.floor(Math.log10(step));
    expect([1, 2, 5]).toContain(mant);
  });

  it("escapes hostile ids everywhere", () => {
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("drill-<b>");
    const hostile: FleetReport = {
      ...report,
      scenario: '"><img src=x onerror=alert(1)>',
      site: "<iframe>",
      violations: ["<svg onload=alert(1)>"],
      executed: report.executed.map((b) => ({ ...b, jobId: `"'><x>${b.jobId}` })),
      perAgent: [
        { agentId: "</table><script>", sent: 1, received: 1, bytesSent: 1, bytesReceived: 1 },
      ],
      repairs: [{ ...report.repairs[0]!, trigger: "<i>", strategy: "<u>" }],
    };
    const h = renderHtmlReport(hostile);
    expect(h).not.toMatch(/<(script|img|iframe|x|i|u)\b/);
    expect(count(h, "<svg")).toBe(1);
    expect(h).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(h).toContain("&lt;/table&gt;&lt;script&gt;");
    // Job ids never reach class names.
    expect(count(h, BAR)).toBe(report.executed.length);
  });

  it("puts the numbers in the tables", () => {
    // Header.
    expect(html).toContain("workshop-small");
    expect(html).toContain("<b>42</b>");
    expect(html).toContain("hall-a");
    expect(html).toContain("4 / 5");
    expect(html).toContain(`${report.completed} / ${report.activities}`);
    expect(html).toContain('<span class="badge ok">yes</span>');
    // Objectives: fleet, reference, ratio; the reference is named for what it is.
    expect(html).toContain("Reference: a heuristic, not an optimum");
    expect(html).not.toContain("full knowledge");
    expect(html).toMatch(/Makespan[\s\S]*?>600<[\s\S]*?>500<[\s\S]*?>1\.20&times;</);
    expect(html).toMatch(
      /Total weighted tardiness[\s\S]*?>1,250<[\s\S]*?>1,000<[\s\S]*?>1\.25&times;</,
    );
    expect(html).toMatch(/Mean lead time[\s\S]*?>312\.5<[\s\S]*?>290<[\s\S]*?>1\.08&times;</);
    expect(html).toMatch(/Total wait[\s\S]*?>4,200<[\s\S]*?>3,900<[\s\S]*?>1\.08&times;</);
    // Root quality: higher is better, so the ratio is reference / fleet.
    expect(html).toMatch(/Root quality[\s\S]*?>3<[\s\S]*?>4<[\s\S]*?>1\.33&times;</);
    // Repairs: median of 12.5, 48, 230 is 48; p95 (nearest rank) is 230.
    expect(html).toMatch(/Median latency<\/th><td class="num">48</);
    expect(html).toMatch(/p95 latency<\/th><td class="num">230</);
    expect(html).toContain("deliberative");
    // Traffic: per agent and totals.
    expect(html).toMatch(
      /agent-M1<\/td><td class="num">300<\/td><td class="num">310<\/td><td class="num">140,000/,
    );
    expect(html).toContain("1,234 messages");
    expect(html).toContain("567,890 bytes");
    // Disruptions.
    expect(html).toContain("took 30% longer");
    expect(html).toContain("job-8 priority raised to 5");
  });

  it("lists violations when infeasible", () => {
    const h = renderHtmlReport({ ...report, feasible: false, violations: ["M1 overlap at 40"] });
    expect(h).toContain('<span class="badge bad">no</span>');
    expect(h).toContain("M1 overlap at 40");
  });

  it("is deterministic", () => {
    expect(renderHtmlReport(smallReport())).toBe(html);
  });

  it("renders an empty run without error", () => {
    const empty: FleetReport = {
      ...report,
      activities: 0,
      completed: 0,
      endTicks: 0,
      executed: [],
      downtime: [],
      disruptions: [],
      repairs: [],
      perAgent: [],
      messages: 0,
      bytes: 0,
      objectives: {
        makespan: 0,
        totalWeightedTardiness: 0,
        meanLeadTime: 0,
        totalWait: 0,
        quality: 0,
      },
      reference: {
        makespan: 0,
        totalWeightedTardiness: 0,
        meanLeadTime: 0,
        totalWait: 0,
        quality: 0,
        solverSeconds: 0,
      },
    };
    const h = renderHtmlReport(empty);
    expect(count(h, "<svg")).toBe(1);
    expect(count(h, BAR)).toBe(0);
    expect(h).toContain("No activities were executed.");
    expect(h).toContain("No repairs.");
    expect(h).not.toContain("NaN");
    expect(h).not.toContain("undefined");
  });

  it("keeps bad numbers out of the markup", () => {
    const h = renderHtmlReport({
      ...report,
      wallSeconds: Number.NaN,
      reference: { ...report.reference, makespan: 0 },
      executed: [
        ...report.executed,
        {
          resourceId: "M1",
          activityId: "odd",
          jobId: "job-1",
          startTicks: 50,
          endTicks: 40,
          status: "completed",
        },
      ],
    });
    expect(h).not.toMatch(/NaN|undefined|Infinity/);
    expect(count(h, BAR)).toBe(report.executed.length + 1);
  });

  it("renders 1,000 resources and 10,000 bars quickly and compactly", () => {
    const big = bigReport(1000, 10_000);
    const t = performance.now();
    const h = renderHtmlReport(big);
    const ms = performance.now() - t;
    expect(ms).toBeLessThan(2000);
    expect(h.length).toBeLessThan(5_000_000);
    expect(count(h, BAR)).toBe(10_000);
    expect(count(h, 'class="rl"')).toBe(1000);
    expect(count(h, "<svg")).toBe(1);
  });

  it("widens the chart for many short bars on one resource, within a bound", () => {
    const executed = Array.from({ length: 2000 }, (_, i) => ({
      resourceId: "press",
      activityId: `op-${i}`,
      jobId: `job-${i % 30}`,
      startTicks: i * 10,
      endTicks: i * 10 + 9,
      status: "completed" as const,
    }));
    const h = renderHtmlReport({ ...smallReport(), executed, downtime: [], endTicks: 20_000 });
    const width = Number(h.match(/<svg class="gantt"[^>]* width="(\d+)"/)![1]);
    expect(width).toBeGreaterThan(1240);
    expect(width).toBeLessThanOrEqual(20_500);
    expect(count(h, BAR)).toBe(2000);
    expect(h).toContain("The chart scrolls sideways.");
    const ticks = [...h.matchAll(/<text class="tk"[^>]*>([^<]+)</g)].map((m) =>
      Number(m[1]!.replace(/,/g, "")),
    );
    const step = ticks[1]! - ticks[0]!;
    expect([1, 2, 5]).toContain(step / 10 ** Math.floor(Math.log10(step)));
    expect(ticks.length).toBeLessThan(width / 60);
  });

  it("writes the example page when REPORT_EXAMPLE is set", () => {
    const out = process.env.REPORT_EXAMPLE;
    if (out) writeFileSync(out, html);
    const bigOut = process.env.REPORT_EXAMPLE_BIG;
    if (bigOut) writeFileSync(bigOut, renderHtmlReport(bigReport(1000, 10_000)));
  });
});
