/**
 * Renders a {@link FleetReport} as one self-contained HTML page: inline CSS, one inline SVG Gantt
 * chart, no scripts, fonts or network. Every string from the report (ids, reasons, details) comes
 * from user scenario files and is escaped before it reaches the markup.
 */
import type {
  AgentTraffic,
  FleetReport,
  Objectives,
  ReportDisruption,
  ReportJob,
  ReportRepair,
  ReportTreeNode,
  TrafficFigure,
} from "./types.js";

/** Renders the report as a complete HTML document. Pure: same report, same string. */
export function renderHtmlReport(report: FleetReport): string {
  const gantt = renderGantt(report);
  const title = `Consort fleet report: ${report.scenario}`;
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(title)}</title>`,
    `<style>${PAGE_CSS}${gantt.css}</style>`,
    "</head><body>",
    renderHeader(report),
    "<main>",
    renderObjectives(report),
    `<section class="gantt-section"><h2>Schedule as executed</h2>${gantt.legend}`,
    `<div class="gantt-scroll">${gantt.svg}</div></section>`,
    renderJobs(report.jobs),
    renderTaskTree(report.taskTree),
    renderDisruptions(report.disruptions),
    renderRepairs(report.repairs),
    renderTraffic(report),
    "</main>",
    "<footer>Consort fleet report. Times are in simulation ticks unless marked otherwise. Self-contained page: no scripts, no network.</footer>",
    "</body></html>",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Header, objectives and tables

function renderHeader(r: FleetReport): string {
  const pct = r.activities > 0 ? ` (${fmtNum((100 * r.completed) / r.activities, 1)}%)` : "";
  const feasible = r.feasible
    ? '<span class="badge ok">yes</span>'
    : '<span class="badge bad">no</span>';
  const facts: [string, string][] = [
    ["Agents / processes", `${fmtInt(r.agents)} / ${fmtInt(r.processes)}`],
    ["Activities completed", `${fmtInt(r.completed)} / ${fmtInt(r.activities)}${pct}`],
    ["Feasible", feasible],
    ["Simulated end", `${fmtNum(r.endTicks)} ticks`],
    ["Wall time", fmtSeconds(r.wallSeconds)],
    ["Ticks per second", fmtNum(r.ticksPerSecond, 1)],
  ];
  const violations =
    r.violations.length > 0
      ? `<div class="violations"><h2>Violations (${fmtInt(r.violations.length)})</h2><ul>${r.violations
          .map((v) => `<li>${esc(v)}</li>`)
          .join("")}</ul></div>`
      : "";
  return [
    "<header>",
    `<h1>Fleet run <span class="scenario">${esc(r.scenario)}</span></h1>`,
    `<p class="sub">Seed <b>${esc(String(r.seed))}</b> &middot; site <b>${esc(r.site)}</b></p>`,
    `<dl class="facts">${facts
      .map(([k, v]) => `<div class="fact"><dt>${k}</dt><dd>${v}</dd></div>`)
      .join("")}</dl>`,
    violations,
    "</header>",
  ].join("");
}

const OBJECTIVES: readonly {
  key: keyof Objectives;
  label: string;
  unit: string;
  higherIsBetter?: boolean;
}[] = [
  { key: "makespan", label: "Makespan", unit: "ticks" },
  { key: "totalWeightedTardiness", label: "Total weighted tardiness", unit: "weighted ticks" },
  { key: "meanLeadTime", label: "Mean lead time", unit: "ticks" },
  { key: "totalWait", label: "Total wait", unit: "ticks" },
  { key: "quality", label: "Root quality", unit: "by the QAFs", higherIsBetter: true },
];

function renderObjectives(r: FleetReport): string {
  const rows = OBJECTIVES.map(({ key, label, unit, higherIsBetter }) => {
    const fleet = r.objectives[key];
    const ref = r.reference[key];
    // Ratio as cost: fleet / reference, inverted where higher is better.
    const ratio = higherIsBetter ? objectiveRatio(ref, fleet) : objectiveRatio(fleet, ref);
    const cls = ratio === undefined ? "" : ratio <= 1.05 ? "good" : ratio <= 1.25 ? "fair" : "poor";
    const ratioText = ratio === undefined ? "&mdash;" : `${fmtFixed(ratio, 2)}&times;`;
    return `<tr><th scope="row">${label} <span class="unit">${unit}</span></th><td class="num">${fmtNum(fleet)}</td><td class="num">${fmtNum(ref)}</td><td class="num ratio ${cls}">${ratioText}</td></tr>`;
  }).join("");
  return [
    '<section><h2>Objectives</h2><table class="objectives">',
    '<thead><tr><th scope="col">Objective</th><th scope="col" class="num">Fleet</th><th scope="col" class="num">Reference</th><th scope="col" class="num">Ratio</th></tr></thead>',
    `<tbody>${rows}</tbody></table>`,
    `<p class="note">Lower is better for every objective but root quality. Reference: a heuristic, not an optimum: the offline solver run afterwards on what happened (realized durations, breakdowns, arrivals) for ${fmtSeconds(r.reference.solverSeconds)}, so the fleet can beat it. Ratio = fleet / reference (reference / fleet for root quality), so 1 or less is as good as the reference.</p>`,
    "</section>",
  ].join("");
}

function objectiveRatio(fleet: number, ref: number): number | undefined {
  if (!Number.isFinite(fleet) || !Number.isFinite(ref)) return undefined;
  if (ref === 0) return fleet === 0 ? 1 : undefined;
  return fleet / ref;
}

function renderJobs(list: readonly ReportJob[] | undefined): string {
  if (!list || list.length === 0) return "";
  const withDue = list.filter((j) => j.dueTicks !== undefined);
  const late = list.filter((j) => (j.latenessTicks ?? 0) > 0);
  // Latest first: the jobs a reader asks about.
  const sorted = [...list].sort(
    (a, b) => (b.latenessTicks ?? -1) - (a.latenessTicks ?? -1) || naturalCompare(a.jobId, b.jobId),
  );
  const rows = sorted
    .map((j) => {
      const lateness =
        j.latenessTicks === undefined
          ? j.endTicks === undefined
            ? "not done"
            : ""
          : j.latenessTicks > 0
            ? `<b class="late">+${fmtNum(j.latenessTicks)}</b>`
            : '<span class="ontime">on time</span>';
      return `<tr><td>${esc(j.jobId)}</td><td class="num">${j.dueTicks === undefined ? "" : fmtNum(j.dueTicks)}</td><td class="num">${j.endTicks === undefined ? "" : fmtNum(j.endTicks)}</td><td class="num">${lateness}</td></tr>`;
    })
    .join("");
  return [
    `<section><h2>Jobs (${fmtInt(list.length)})</h2>`,
    `<p class="stats">${fmtInt(withDue.length)} with a due date, <b>${fmtInt(late.length)} late</b>, total lateness <b>${fmtNum(late.reduce((n, j) => n + (j.latenessTicks ?? 0), 0))}</b> ticks.</p>`,
    '<table><thead><tr><th scope="col">Job</th><th scope="col" class="num">Due</th><th scope="col" class="num">End</th><th scope="col" class="num">Lateness</th></tr></thead>',
    `<tbody>${rows}</tbody></table></section>`,
  ].join("");
}

function renderTaskTree(list: readonly ReportTreeNode[] | undefined): string {
  if (!list || list.length === 0) return "";
  const most = Math.max(1e-9, ...list.map((n) => n.criticality));
  const rows = list
    .map(
      (n) =>
        `<tr><td><span style="padding-left:${n.depth * 1.2}em" title="${esc(n.id)}">${esc(n.id)}</span></td><td>${esc(n.kind === "task" ? (n.qaf ?? "") : (n.owner ?? ""))}</td><td>${esc(n.status)}</td><td class="num">${fmtFixed(n.probability, 2)}</td><td class="num">${fmtNum(n.criticality, 2)} <span class="bar" style="width:${n1((40 * n.criticality) / most)}px"></span></td><td class="num">${fmtNum(n.quality)}</td></tr>`,
    )
    .join("");
  return [
    `<section><h2>Task tree (${fmtInt(list.length)} nodes)</h2>`,
    '<p class="note">Probability: of earning quality, from what ran and what was planned. Criticality: the expected root quality if the node succeeds minus if it earns nothing.</p>',
    "<table>",
    '<thead><tr><th scope="col">Node</th><th scope="col">QAF / agent</th><th scope="col">Status</th><th scope="col" class="num">Probability</th><th scope="col" class="num">Criticality</th><th scope="col" class="num">Quality</th></tr></thead>',
    `<tbody>${rows}</tbody></table></section>`,
  ].join("");
}

function renderDisruptions(list: readonly ReportDisruption[]): string {
  if (list.length === 0) {
    return '<section><h2>Disruptions</h2><p class="empty">No disruptions.</p></section>';
  }
  const sorted = [...list].sort((a, b) => a.atTicks - b.atTicks);
  const rows = sorted
    .map(
      (d) =>
        `<tr><td class="num">${fmtNum(d.atTicks)}</td><td class="num">${d.untilTicks === undefined ? "" : fmtNum(d.untilTicks)}</td><td><span class="kind ${kindClass(d.kind)}">${esc(d.kind)}</span></td><td>${esc(d.resourceId ?? "")}</td><td>${esc(d.activityId ?? "")}</td><td>${esc(d.detail)}</td></tr>`,
    )
    .join("");
  return [
    `<section><h2>Disruptions (${fmtInt(list.length)})</h2><table>`,
    '<thead><tr><th scope="col" class="num">At</th><th scope="col" class="num">Until</th><th scope="col">Kind</th><th scope="col">Resource</th><th scope="col">Activity</th><th scope="col">Detail</th></tr></thead>',
    `<tbody>${rows}</tbody></table></section>`,
  ].join("");
}

function renderRepairs(list: readonly ReportRepair[]): string {
  if (list.length === 0) {
    return '<section><h2>Repairs</h2><p class="empty">No repairs.</p></section>';
  }
  const sorted = [...list].sort((a, b) => a.atTicks - b.atTicks || a.version - b.version);
  const rows = sorted
    .map(
      (r) =>
        `<tr><td class="num">${fmtNum(r.atTicks)}</td><td>${esc(r.trigger)}</td><td>${esc(r.strategy)}</td><td class="num">${fmtInt(r.version)}</td><td class="num">${fmtNum(r.latencyMs, 1)}</td><td class="num">${fmtInt(r.affectedAgents)}</td></tr>`,
    )
    .join("");
  const latencies = list.map((r) => r.latencyMs).filter(Number.isFinite);
  const med = median(latencies);
  const p95 = percentile(latencies, 0.95);
  const strategies = countBy(list.map((r) => r.strategy));
  return [
    `<section><h2>Repairs (${fmtInt(list.length)})</h2>`,
    `<p class="stats">Latency median <b>${med === undefined ? "&mdash;" : `${fmtNum(med, 1)} ms`}</b> &middot; p95 <b>${p95 === undefined ? "&mdash;" : `${fmtNum(p95, 1)} ms`}</b> &middot; by strategy: ${strategies
      .map(([s, n]) => `${esc(s)} <b>${fmtInt(n)}</b>`)
      .join(", ")}</p>`,
    "<table>",
    '<thead><tr><th scope="col" class="num">At</th><th scope="col">Trigger</th><th scope="col">Strategy</th><th scope="col" class="num">Version</th><th scope="col" class="num">Latency ms</th><th scope="col" class="num">Affected agents</th></tr></thead>',
    `<tbody>${rows}</tbody>`,
    `<tfoot><tr><th scope="row" colspan="4">Median latency</th><td class="num">${med === undefined ? "&mdash;" : fmtNum(med, 1)}</td><td></td></tr>`,
    `<tr><th scope="row" colspan="4">p95 latency</th><td class="num">${p95 === undefined ? "&mdash;" : fmtNum(p95, 1)}</td><td></td></tr></tfoot>`,
    "</table></section>",
  ].join("");
}

function renderTraffic(r: FleetReport): string {
  const totals = `<p class="stats">Total <b>${fmtInt(r.messages)}</b> messages &middot; <b>${fmtInt(r.bytes)}</b> bytes (${fmtBytes(r.bytes)})${
    r.messages > 0 ? ` &middot; mean ${fmtNum(r.bytes / r.messages, 0)} bytes per message` : ""
  }</p>`;
  if (r.perAgent.length === 0) {
    return `<section><h2>Message traffic</h2>${totals}<p class="empty">No per-agent traffic recorded.</p></section>`;
  }
  const sorted = [...r.perAgent].sort((a, b) => naturalCompare(a.agentId, b.agentId));
  const sum = (f: (a: AgentTraffic) => number): number => sorted.reduce((s, a) => s + f(a), 0);
  const rows = sorted
    .map(
      (a) =>
        `<tr><td>${esc(a.agentId)}</td><td class="num">${fmtInt(a.sent)}</td><td class="num">${fmtInt(a.received)}</td><td class="num">${fmtInt(a.bytesSent)}</td><td class="num">${fmtInt(a.bytesReceived)}</td></tr>`,
    )
    .join("");
  return [
    `<section><h2>Message traffic (${fmtInt(sorted.length)} agents)</h2>`,
    totals,
    "<table>",
    '<thead><tr><th scope="col">Agent</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Received</th><th scope="col" class="num">Bytes sent</th><th scope="col" class="num">Bytes received</th></tr></thead>',
    `<tbody>${rows}</tbody>`,
    `<tfoot><tr><th scope="row">Sum over agents</th><td class="num">${fmtInt(sum((a) => a.sent))}</td><td class="num">${fmtInt(sum((a) => a.received))}</td><td class="num">${fmtInt(sum((a) => a.bytesSent))}</td><td class="num">${fmtInt(sum((a) => a.bytesReceived))}</td></tr>`,
    `<tr><th scope="row">Run total</th><td class="num" colspan="2">${fmtInt(r.messages)} messages</td><td class="num" colspan="2">${fmtInt(r.bytes)} bytes</td></tr></tfoot>`,
    "</table>",
    renderFigures("The coordinator's traffic by message type", r.coordinatorTraffic?.byType),
    renderFigures("The coordinator's traffic by topic", r.coordinatorTraffic?.byTopic),
    "</section>",
  ].join("");
}

function renderFigures(
  title: string,
  figures: Readonly<Record<string, TrafficFigure>> | undefined,
): string {
  if (!figures || Object.keys(figures).length === 0) return "";
  const rows = Object.entries(figures)
    .map(
      ([k, f]) =>
        `<tr><td>${esc(k)}</td><td class="num">${fmtInt(f.sent)}</td><td class="num">${fmtInt(f.received)}</td><td class="num">${fmtInt(f.sentBytes)}</td><td class="num">${fmtInt(f.receivedBytes)}</td></tr>`,
    )
    .join("");
  return [
    `<h3>${esc(title)}</h3><table>`,
    '<thead><tr><th scope="col"></th><th scope="col" class="num">Sent</th><th scope="col" class="num">Received</th><th scope="col" class="num">Bytes sent</th><th scope="col" class="num">Bytes received</th></tr></thead>',
    `<tbody>${rows}</tbody></table>`,
  ].join("");
}

// ---------------------------------------------------------------------------------------------
// Gantt chart

interface GanttParts {
  readonly svg: string;
  readonly css: string;
  readonly legend: string;
}

interface JobStyle {
  readonly id: string;
  readonly cls: string;
  readonly fill: string;
  readonly whiteText: boolean;
}

const MAX_LEGEND_JOBS = 60;
const MAX_PLOT_WIDTH = 20_000;
const BASE_CHART_WIDTH = 1240;
const MARKER_LANES = 3;
const MARKER_LANE_H = 13;
const AXIS_H = 20;

function renderGantt(r: FleetReport): GanttParts {
  const bars = r.executed;

  // Rows: the given resource order first (every resource, even an idle one), then any other
  // resource that ran something or was down, in natural order.
  const resourceSet = new Set<string>();
  for (const b of bars) resourceSet.add(b.resourceId);
  for (const d of r.downtime) resourceSet.add(d.resourceId);
  const ordered = [...new Set(r.resourceOrder ?? [])];
  const listed = new Set(ordered);
  const resources = [
    ...ordered,
    ...[...resourceSet].filter((id) => !listed.has(id)).sort(naturalCompare),
  ];
  const rowOf = new Map<string, number>();
  for (const [i, id] of resources.entries()) rowOf.set(id, i);
  const nRows = Math.max(1, resources.length);

  // Jobs: a class per job (never the id itself: ids are user text), coloured from the id.
  const jobIds = [...new Set(bars.map((b) => b.jobId))].sort(naturalCompare);
  const fills = jobFills(jobIds);
  const jobs = new Map<string, JobStyle>();
  jobIds.forEach((id, i) => {
    const fill = fills[i]!;
    jobs.set(id, { id, cls: `j${i}`, fill, whiteText: prefersWhiteText(fill) });
  });

  // Time domain.
  let t0 = 0;
  let t1 = Number.isFinite(r.endTicks) ? r.endTicks : 0;
  for (const b of bars) {
    if (Number.isFinite(b.startTicks)) t0 = Math.min(t0, b.startTicks);
    if (Number.isFinite(b.endTicks)) t1 = Math.max(t1, b.endTicks, b.startTicks);
  }
  for (const d of r.downtime) {
    if (Number.isFinite(d.fromTicks)) t0 = Math.min(t0, d.fromTicks);
    if (Number.isFinite(d.untilTicks)) t1 = Math.max(t1, d.untilTicks);
  }
  for (const d of r.disruptions) {
    if (Number.isFinite(d.atTicks)) t1 = Math.max(t1, d.atTicks);
  }
  for (const j of r.jobs ?? []) {
    if (j.dueTicks !== undefined && Number.isFinite(j.dueTicks)) t1 = Math.max(t1, j.dueTicks);
  }
  if (!(t1 > t0)) t1 = t0 + 1;
  const span = t1 - t0;

  // Geometry: row height shrinks as rows grow; the plot widens so the typical bar stays visible.
  const rowH = nRows <= 40 ? 26 : nRows <= 120 ? 18 : nRows <= 400 ? 13 : 10;
  const labelFont = rowH >= 18 ? 12 : rowH >= 13 ? 10 : 8;
  const barFont = rowH >= 26 ? 11 : rowH >= 18 ? 10 : 0; // 0: no labels inside bars
  const charW = labelFont * 0.6;
  const longest = resources.reduce((m, id) => Math.max(m, id.length), 4);
  const labelW = Math.round(clamp(longest * charW + 16, 70, 240));
  const maxLabelChars = Math.max(3, Math.floor((labelW - 12) / charW));
  const plotLeft = labelW;
  const basePlotW = BASE_CHART_WIDTH - plotLeft - 40;
  const durations = bars
    .map((b) => b.endTicks - b.startTicks)
    .filter((d) => Number.isFinite(d) && d > 0)
    .sort((a, b) => a - b);
  const medDur = median(durations);
  const wantW = medDur === undefined ? basePlotW : (10 * span) / medDur;
  const plotW = Math.round(clamp(wantW, basePlotW, MAX_PLOT_WIDTH));
  const k = plotW / span;
  const X = (t: number): number => plotLeft + (t - t0) * k;

  const markerH = r.disruptions.length > 0 ? MARKER_LANES * MARKER_LANE_H + 4 : 0;
  const plotTop = markerH + AXIS_H;
  const plotH = nRows * rowH;
  const plotBottom = plotTop + plotH;
  const bottomAxis = nRows > 15;
  const width = plotLeft + plotW + 40;
  const height = plotBottom + (bottomAxis ? AXIS_H : 6);
  const pad = Math.max(1, Math.round(rowH * 0.14));
  const barH = rowH - 2 * pad;

  const out: string[] = [];
  out.push(
    `<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Gantt chart: ${fmtInt(bars.length)} activities on ${fmtInt(resources.length)} resources">`,
  );
  out.push(
    "<defs>",
    `<pattern id="g-rows" patternUnits="userSpaceOnUse" x="0" y="${plotTop}" width="8" height="${2 * rowH}"><rect width="8" height="${rowH}" fill="#f3f5f8"/></pattern>`,
    '<pattern id="g-down" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e6e6e6"/><rect width="2" height="6" fill="#a8a8a8"/></pattern>',
    '<pattern id="g-fail" patternUnits="userSpaceOnUse" width="5" height="5" patternTransform="rotate(-45)"><rect width="1.6" height="5" fill="#c62828" fill-opacity=".75"/></pattern>',
    "</defs>",
  );

  // Row stripes under labels and plot, then the plot frame.
  out.push(
    `<rect x="0" y="${plotTop}" width="${plotLeft + plotW}" height="${plotH}" fill="url(#g-rows)"/>`,
    `<rect class="frame" x="${plotLeft}" y="${plotTop}" width="${plotW}" height="${plotH}"/>`,
  );

  // Axis: nice step (1/2/5 x 10^k), grid lines through the plot, labels on top (and bottom if tall).
  const step = niceStep(span / Math.max(2, plotW / 90));
  const ticks: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    if (ticks.length > 1000) break;
  }
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  out.push(
    `<path class="grid" d="${ticks.map((t) => `M${n1(X(t))} ${plotTop}V${plotBottom}`).join("")}"/>`,
  );
  const axisText = (y: number): string =>
    ticks
      .map((t) => `<text class="tk" x="${n1(X(t))}" y="${y}">${fmtFixed(t, decimals, true)}</text>`)
      .join("");
  out.push(`<text class="axl" x="${plotLeft - 6}" y="${plotTop - 6}">ticks</text>`);
  out.push(axisText(plotTop - 6));
  if (bottomAxis) out.push(axisText(plotBottom + 14));

  // Row labels.
  const labelParts: string[] = [];
  resources.forEach((id, i) => {
    const y = n1(plotTop + i * rowH + rowH / 2);
    const shown = id.length > maxLabelChars ? `${id.slice(0, maxLabelChars - 1)}\u2026` : id;
    labelParts.push(
      `<text class="rl" x="${plotLeft - 6}" y="${y}" dy=".35em">${esc(shown)}<title>${esc(id)}</title></text>`,
    );
  });
  out.push(labelParts.join(""));

  // Downtime bands behind the bars.
  const downParts: string[] = [];
  for (const d of r.downtime) {
    const row = rowOf.get(d.resourceId);
    if (row === undefined || !Number.isFinite(d.fromTicks) || !Number.isFinite(d.untilTicks)) {
      continue;
    }
    const x = X(d.fromTicks);
    const w = Math.max(1, X(d.untilTicks) - x);
    downParts.push(
      `<rect class="down" x="${n1(x)}" y="${plotTop + row * rowH}" width="${n1(w)}" height="${rowH}"><title>${esc(`Down: ${d.reason}\n${d.resourceId}, ${fmtNumPlain(d.fromTicks)}\u2013${fmtNumPlain(d.untilTicks)}`)}</title></rect>`,
    );
  }
  out.push(downParts.join(""));

  // Bars, then labels inside bars and failure hatching on top.
  const barParts: string[] = [];
  const overParts: string[] = [];
  let failed = 0;
  let aborted = 0;
  for (const b of bars) {
    const row = rowOf.get(b.resourceId);
    const job = jobs.get(b.jobId);
    if (row === undefined || job === undefined) continue;
    const s = Number.isFinite(b.startTicks) ? b.startTicks : t0;
    const e = Number.isFinite(b.endTicks) ? Math.max(b.endTicks, s) : s;
    const x = X(s);
    const w = Math.max(1, (e - s) * k);
    const y = plotTop + row * rowH + pad;
    const isFailed = b.status === "failed";
    const isAborted = b.status === "aborted";
    if (isFailed) failed++;
    if (isAborted) aborted++;
    const what =
      b.status === "completed"
        ? "completed"
        : `${b.status} attempt (${isFailed ? "cut short, run again later" : "stopped by a new schedule"})`;
    const tip = `${b.activityId}\njob ${b.jobId} \u00b7 ${b.resourceId}\n${fmtNumPlain(s)}\u2013${fmtNumPlain(e)} (${fmtNumPlain(e - s)} ticks) \u00b7 ${what}`;
    barParts.push(
      `<rect class="bar ${job.cls}${isFailed ? " failed" : isAborted ? " aborted" : ""}" x="${n1(x)}" y="${y}" width="${n1(w)}" height="${barH}"><title>${esc(tip)}</title></rect>`,
    );
    if (isFailed || isAborted) {
      overParts.push(`<rect class="fh" x="${n1(x)}" y="${y}" width="${n1(w)}" height="${barH}"/>`);
    }
    if (barFont > 0 && w >= 24) {
      const maxChars = Math.floor((w - 6) / (barFont * 0.6));
      if (maxChars >= Math.min(4, b.activityId.length)) {
        const text =
          b.activityId.length > maxChars
            ? `${b.activityId.slice(0, maxChars - 1)}\u2026`
            : b.activityId;
        overParts.push(
          `<text class="bl${job.whiteText ? " w" : ""}" x="${n1(x + 3)}" y="${n1(y + barH / 2)}" dy=".35em">${esc(text)}</text>`,
        );
      }
    }
  }
  out.push(barParts.join(""), overParts.join(""));

  // Due dates: a diamond on the row of the job's last operation (a completed bar, else any).
  const lastBar = new Map<string, (typeof bars)[number]>();
  for (const b of bars) {
    const l = lastBar.get(b.jobId);
    const better =
      !l ||
      (b.status === "completed" && l.status !== "completed") ||
      (b.status === l.status && b.endTicks >= l.endTicks);
    if (better) lastBar.set(b.jobId, b);
  }
  const dueParts: string[] = [];
  for (const j of r.jobs ?? []) {
    const b = lastBar.get(j.jobId);
    const row = b ? rowOf.get(b.resourceId) : undefined;
    if (j.dueTicks === undefined || row === undefined || !Number.isFinite(j.dueTicks)) continue;
    const cx = X(j.dueTicks);
    const cy = plotTop + row * rowH + rowH / 2;
    const d = Math.max(3, Math.round(rowH * 0.22));
    const late = (j.latenessTicks ?? 0) > 0;
    const tip = `job ${j.jobId} due ${fmtNumPlain(j.dueTicks)}${j.endTicks === undefined ? "" : `, ended ${fmtNumPlain(j.endTicks)}`}${j.latenessTicks === undefined ? "" : late ? `, late by ${fmtNumPlain(j.latenessTicks)}` : ", on time"}`;
    dueParts.push(
      `<path class="due${late ? " late" : ""}" d="M${n1(cx)} ${n1(cy - d)}l${d} ${d}-${d} ${d}-${d}-${d}z"><title>${esc(tip)}</title></path>`,
    );
  }
  out.push(dueParts.join(""));

  if (bars.length === 0) {
    out.push(
      `<text class="empty-chart" x="${n1(plotLeft + plotW / 2)}" y="${n1(plotTop + Math.min(plotH, rowH * 3) / 2)}" dy=".35em">No activities were executed.</text>`,
    );
  }

  // End of the simulation.
  if (Number.isFinite(r.endTicks) && r.endTicks > t0) {
    out.push(
      `<line class="end" x1="${n1(X(r.endTicks))}" y1="${plotTop}" x2="${n1(X(r.endTicks))}" y2="${plotBottom}"><title>Simulated end ${esc(fmtNumPlain(r.endTicks))}</title></line>`,
    );
  }

  // Disruption markers: a line through the plot, a label in the lane band above the axis.
  const laneEnd = new Array<number>(MARKER_LANES).fill(Number.NEGATIVE_INFINITY);
  const sortedDis = [...r.disruptions]
    .filter((d) => Number.isFinite(d.atTicks))
    .sort((a, b) => a.atTicks - b.atTicks);
  for (const d of sortedDis) {
    const x = X(d.atTicks);
    const where = d.resourceId ?? d.activityId;
    const full = where === undefined ? d.kind : `${d.kind} ${where}`;
    const label = full.length > 26 ? `${full.slice(0, 25)}\u2026` : full;
    const labelW = label.length * 7 + 10;
    const lane = laneEnd.findIndex((end) => end < x);
    const tip = `${d.kind} at ${fmtNumPlain(d.atTicks)}${d.untilTicks === undefined ? "" : `\u2013${fmtNumPlain(d.untilTicks)}`}${d.resourceId === undefined ? "" : `\nresource ${d.resourceId}`}${d.activityId === undefined ? "" : `\nactivity ${d.activityId}`}\n${d.detail}`;
    let text = "";
    if (lane >= 0) {
      laneEnd[lane] = x + labelW;
      text = `<text class="ml" x="${n1(x + 3)}" y="${MARKER_LANE_H * (lane + 1) - 2}">${esc(label)}</text>`;
    }
    const top = lane >= 0 ? MARKER_LANE_H * lane + 1 : plotTop - AXIS_H;
    out.push(
      `<g class="dis ${kindClass(d.kind)}"><title>${esc(tip)}</title><line x1="${n1(x)}" y1="${top}" x2="${n1(x)}" y2="${plotBottom}"/>${text}</g>`,
    );
  }

  out.push("</svg>");

  // Per-job colours as classes (used by bars and legend swatches alike).
  const css = jobIds
    .map((id) => {
      const j = jobs.get(id)!;
      return `.${j.cls}{fill:${j.fill};background:${j.fill}}`;
    })
    .join("");
  const sizeCss = `.gantt .rl{font-size:${labelFont}px}.gantt .bl{font-size:${barFont || 10}px}`;

  const shownJobs = jobIds.slice(0, MAX_LEGEND_JOBS);
  const moreJobs = jobIds.length - shownJobs.length;
  const legend = [
    `<p class="note">${fmtInt(bars.length)} activities on ${fmtInt(resources.length)} resources${failed > 0 ? `, <b>${fmtInt(failed)} failed</b>` : ""}${aborted > 0 ? `, <b>${fmtInt(aborted)} aborted</b>` : ""}; ${fmtInt(r.downtime.length)} downtime intervals; ${fmtInt(r.disruptions.length)} disruptions. Hover a bar, band or marker for details.${plotW + plotLeft + 40 > BASE_CHART_WIDTH ? " The chart scrolls sideways." : ""}</p>`,
    '<div class="legend">',
    shownJobs
      .map(
        (id) => `<span class="li"><span class="sw ${jobs.get(id)!.cls}"></span>${esc(id)}</span>`,
      )
      .join(""),
    moreJobs > 0 ? `<span class="li more">and ${fmtInt(moreJobs)} more jobs</span>` : "",
    '<span class="li"><span class="sw sw-failed"></span>failed attempt</span>',
    aborted > 0 ? '<span class="li"><span class="sw sw-aborted"></span>aborted attempt</span>' : "",
    (r.jobs ?? []).some((j) => j.dueTicks !== undefined)
      ? '<span class="li"><span class="sw-due">\u25c6</span>due date (red: late)</span>'
      : "",
    '<span class="li"><span class="sw sw-down"></span>downtime</span>',
    ...DISRUPTION_KINDS.map(
      (kind) =>
        `<span class="li"><span class="sw sw-line ${kindClass(kind)}"></span>${kind}</span>`,
    ),
    "</div>",
  ].join("");

  return { svg: out.join(""), css: css + sizeCss, legend };
}

const DISRUPTION_KINDS = ["breakdown", "overrun", "rush-order", "offline"] as const;

function kindClass(kind: string): string {
  return (DISRUPTION_KINDS as readonly string[]).includes(kind) ? `k-${kind}` : "k-other";
}

/** The smallest 1, 2 or 5 times a power of ten that is at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return m * p;
}

/**
 * Distinct, readable job colours (Tableau 20 without its greys, which are kept for downtime),
 * ordered so that neighbouring slots differ strongly.
 */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#b07aa1",
  "#edc948",
  "#499894",
  "#9d7660",
  "#d37295",
  "#a0cbe8",
  "#ffbe7d",
  "#8cd17d",
  "#ff9d9a",
  "#d4a6c8",
  "#b6992d",
  "#86bcb6",
  "#d7b5a6",
  "#fabfd2",
] as const;

/**
 * A fill per job, from its id: a job takes the palette slot its id hashes to, or the next free one
 * when another job (earlier in id order) took it, so up to 18 jobs get 18 distinct colours and a
 * job keeps its colour across runs unless its slot collides. Once the palette is used up, further
 * jobs get a colour made from the hash alone (hue, saturation and lightness).
 */
function jobFills(sortedJobIds: readonly string[]): string[] {
  const used = new Array<boolean>(PALETTE.length).fill(false);
  let free = PALETTE.length;
  return sortedJobIds.map((id) => {
    const h = hash32(id);
    if (free > 0) {
      let slot = h % PALETTE.length;
      while (used[slot]) slot = (slot + 1) % PALETTE.length;
      used[slot] = true;
      free--;
      return PALETTE[slot]!;
    }
    const hue = h % 360;
    const sat = 0.5 + ((h >>> 10) % 3) * 0.12;
    const light = 0.42 + ((h >>> 14) % 3) * 0.11;
    const [r, g, b] = hslToRgb(hue, sat, light);
    return `#${hex2(r)}${hex2(g)}${hex2(b)}`;
  });
}

/** FNV-1a with a murmur3 finaliser, so ids differing in one character land far apart. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether white text contrasts better than near-black text on `fill` (#rrggbb). */
function prefersWhiteText(fill: string): boolean {
  const v = Number.parseInt(fill.slice(1), 16);
  const lum = luminance((v >> 16) & 255, (v >> 8) & 255, v & 255);
  const whiteContrast = 1.05 / (lum + 0.05);
  const darkContrast = (lum + 0.05) / (luminance(17, 17, 17) + 0.05);
  return whiteContrast >= darkContrast;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = h / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r1, g1, b1] =
    hp < 1
      ? [c, x, 0]
      : hp < 2
        ? [x, c, 0]
        : hp < 3
          ? [0, c, x]
          : hp < 4
            ? [0, x, c]
            : hp < 5
              ? [x, 0, c]
              : [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r1 + m) * 255), Math.round((g1 + m) * 255), Math.round((b1 + m) * 255)];
}

function luminance(r: number, g: number, b: number): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, "0");
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML/XML text and attribute values; drops characters XML cannot carry. */
function esc(s: string): string {
  return (
    String(s)
      .replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML cannot carry these, so they go.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
  );
}

const collator = new Intl.Collator("en", { numeric: true });

function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** One decimal at most, for SVG coordinates. */
function n1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Fixed decimals with thousands separators; `trim` drops trailing zeros. */
function fmtFixed(v: number, decimals: number, trim = false): string {
  if (!Number.isFinite(v))
    return Number.isNaN(v) ? "&mdash;" : v > 0 ? "&infin;" : "&minus;&infin;";
  let s = Math.abs(v).toFixed(decimals);
  if (trim && s.includes(".")) s = s.replace(/\.?0+$/, "");
  const [i, f] = s.split(".");
  const neg = v < 0 && Number(s) !== 0;
  return `${neg ? "&minus;" : ""}${group(i ?? "0")}${f ? `.${f}` : ""}`;
}

/** Up to `maxDecimals` decimals, trailing zeros dropped, thousands grouped (HTML). */
function fmtNum(v: number, maxDecimals = 2): string {
  return fmtFixed(v, maxDecimals, true);
}

/** As {@link fmtNum} but plain text (for tooltips, escaped by the caller). */
function fmtNumPlain(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  let s = Math.abs(v)
    .toFixed(2)
    .replace(/\.?0+$/, "");
  const [i, f] = s.split(".");
  s = `${group(i ?? "0")}${f ? `.${f}` : ""}`;
  return v < 0 && s !== "0" ? `-${s}` : s;
}

function fmtInt(v: number): string {
  return fmtFixed(v, 0);
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "&mdash;";
  if (s < 1) return `${fmtNum(s * 1000, 0)} ms`;
  if (s < 120) return `${fmtNum(s, 2)} s`;
  const m = Math.floor(s / 60);
  return `${fmtInt(m)} min ${fmtNum(s - m * 60, 0)} s`;
}

function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return "&mdash;";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = b;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${fmtNum(v, u === 0 ? 0 : 1)} ${units[u]}`;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * s.length));
  return s[Math.min(s.length, rank) - 1];
}

function countBy(values: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || naturalCompare(a[0], b[0]));
}

const PAGE_CSS = `
:root{--ink:#1d2430;--muted:#5b6574;--line:#d9dee5;--bg:#fff;--head:#f3f5f8;--ok:#1b7f3b;--bad:#c62828;--fair:#b26a00}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;padding:24px 28px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:22px;margin:0 0 2px}
h1 .scenario{font-weight:600;color:#0b4f8a}
h2{font-size:16px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line);break-after:avoid}
.sub{margin:0 0 14px;color:var(--muted)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px;margin:0}
.fact{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--head)}
.fact dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.fact dd{margin:2px 0 0;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 10px;border-radius:10px;color:#fff;font-size:15px}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}
.violations{margin-top:12px;border:1px solid var(--bad);border-left-width:5px;border-radius:4px;padding:4px 14px;background:#fdf1f1}
.violations h2{border:0;margin:6px 0 0;color:var(--bad)}
.violations ul{margin:4px 0 8px;padding-left:20px}
table{border-collapse:collapse;margin:4px 0 8px;font-variant-numeric:tabular-nums;min-width:40%}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--head);font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);border-bottom:2px solid var(--line)}
tfoot th,tfoot td{font-weight:600;background:#fafbfc}
tbody tr:nth-child(even){background:#fafbfc}
.num{text-align:right;white-space:nowrap}
.unit{color:var(--muted);font-weight:400;font-size:12px}
.objectives th[scope=row]{font-weight:600}
.ratio{font-weight:700}.ratio.good{color:var(--ok)}.ratio.fair{color:var(--fair)}.ratio.poor{color:var(--bad)}
.note,.stats{color:var(--muted);margin:4px 0 8px}.stats b{color:var(--ink)}
.empty{color:var(--muted);font-style:italic}
.kind{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;background:#607d8b}
span.k-breakdown{background:#c62828}span.k-overrun{background:#e65100}span.k-rush-order{background:#6a1b9a}span.k-offline{background:#37474f}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0 10px;font-size:12px}
.li{display:inline-flex;align-items:center;gap:5px;white-space:nowrap}
.li.more{color:var(--muted);font-style:italic}
.sw{display:inline-block;width:14px;height:12px;border-radius:2px}
.sw-failed{background:repeating-linear-gradient(135deg,#c62828 0 2px,#fff 2px 5px);outline:2px solid #c62828;outline-offset:-2px}
.sw-down{background:repeating-linear-gradient(45deg,#a8a8a8 0 2px,#e6e6e6 2px 5px)}
.sw-line{width:3px;height:14px;border-radius:0}
.gantt-scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.gantt{display:block}
.gantt text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--ink)}
.gantt .frame{fill:none;stroke:#b8c0cc}
.gantt .grid{stroke:#dfe3e9;stroke-width:1;fill:none}
.gantt .tk{font-size:11px;text-anchor:middle;fill:var(--muted)}
.gantt .axl{font-size:11px;text-anchor:end;fill:var(--muted);font-style:italic}
.gantt .rl{text-anchor:end}
.gantt .bar{stroke:#fff;stroke-width:.6;rx:2px}
.gantt .bar:hover{stroke:#000;stroke-width:1.5}
.gantt .bar.failed{stroke:#c62828;stroke-width:2}
.gantt .bar.aborted{stroke:#6d4c41;stroke-width:2;stroke-dasharray:4 2}
.sw-aborted{background:repeating-linear-gradient(135deg,#6d4c41 0 2px,#fff 2px 5px)}
.gantt .due{fill:#5e35b1;stroke:#fff;stroke-width:1}.gantt .due.late{fill:#c62828}
.sw-due{color:#5e35b1;margin-right:4px}.late{color:#c62828}.ontime{color:#2e7d32}
.gantt .fh{fill:url(#g-fail);pointer-events:none}
.gantt .down{fill:url(#g-down)}
.gantt .bl{fill:#111;pointer-events:none}.gantt .bl.w{fill:#fff}
.gantt .end{stroke:#1d2430;stroke-width:1.2;stroke-dasharray:5 3}
.gantt .dis line{stroke-width:1.6;stroke-opacity:.85}
.gantt .ml{font-size:10.5px;font-weight:600}
span.bar{display:inline-block;height:8px;background:#b07aa1;vertical-align:middle}
.gantt .empty-chart{font-size:13px;text-anchor:middle;fill:var(--muted);font-style:italic}
.k-breakdown line{stroke:#c62828}.gantt .k-breakdown text{fill:#c62828}
.k-overrun line{stroke:#e65100}.gantt .k-overrun text{fill:#e65100}
.k-rush-order line{stroke:#6a1b9a}.gantt .k-rush-order text{fill:#6a1b9a}
.k-offline line{stroke:#37474f}.gantt .k-offline text{fill:#37474f}
.k-other line{stroke:#607d8b}.gantt .k-other text{fill:#607d8b}
.sw-line.k-breakdown{background:#c62828}.sw-line.k-overrun{background:#e65100}.sw-line.k-rush-order{background:#6a1b9a}.sw-line.k-offline{background:#37474f}
footer{margin-top:32px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media print{
  @page{size:landscape;margin:10mm}
  body{padding:0;font-size:11px}
  .gantt-scroll{overflow:visible;border:0}
  .gantt{width:100%;height:auto}
  section{break-inside:auto}
  tr,.fact{break-inside:avoid}
  .fact{background:#fff}
}
`;
