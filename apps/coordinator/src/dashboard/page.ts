/**
 * The dashboard page, its script and style, served by the coordinator itself: no CDN, no fonts,
 * no network beyond the coordinator. The Gantt chart, and for a C-TAEMS run the root quality's
 * curve, are plain SVG drawn from each snapshot; the task tree is a table with bars.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Consort dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head><body>
<header><h1>Consort <span id="site"></span></h1>
<div id="facts"><span id="now"></span> <span id="progress"></span> <span id="version"></span> <span id="quality"></span> <span id="conn" class="off">connecting</span></div></header>
<main>
<section id="ctaems" hidden><h2>Root quality so far</h2>
<div class="legend"><span class="sw q-so-far"></span>root quality so far <span class="sw q-expected"></span>expected (what ran, plus what is planned at its odds)</div>
<svg id="quality-chart" xmlns="http://www.w3.org/2000/svg"></svg>
<h2>Task tree</h2>
<p class="note">Probability: of earning quality, from what ran, what runs and what is planned (enablers included). Criticality: the expected root quality if the node succeeds minus if it earns nothing.</p>
<table id="tree"><thead><tr><th>node</th><th>QAF / agent</th><th>status</th><th>probability</th><th>criticality</th><th>quality</th></tr></thead><tbody></tbody></table></section>
<section id="gantt-section"><h2>Schedule per resource</h2>
<div class="legend"><span class="sw planned"></span>planned <span class="sw executed"></span>executed <span class="sw failed"></span>failed / aborted attempt <span class="sw down"></span>down <span class="sw now"></span>now <span class="sw due">&#9670;</span>due date</div>
<div id="gantt-wrap"><svg id="gantt" xmlns="http://www.w3.org/2000/svg"></svg></div></section>
<div class="cols">
<section><h2>Agents</h2><table id="agents"><thead><tr><th>agent</th><th>status</th><th>epoch</th><th>last seen</th><th>now running</th></tr></thead><tbody></tbody></table></section>
<section id="jobs-section"><h2>Jobs</h2><table id="jobs"><thead><tr><th>job</th><th>done</th><th>due</th><th>end</th><th>lateness</th></tr></thead><tbody></tbody></table></section>
</div>
<div class="cols">
<section><h2>Disruptions and repairs</h2><ol id="timeline"></ol></section>
<section><h2>Messages</h2><table id="rates"><thead><tr><th>type</th><th>dir</th><th>total</th><th>msg/s</th><th>B/s</th></tr></thead><tbody></tbody></table>
<h2 class="orders">Orders</h2><table id="orders" class="orders"><thead><tr><th>order</th><th>from</th><th>jobs</th><th>answer</th></tr></thead><tbody></tbody></table></section>
</div>
<section id="operator"><h2>Operator</h2>
<p id="mode">Read-only.</p>
<form id="login"><label>Operator token <input id="token" type="password" autocomplete="off"></label> <button>Sign in</button></form>
<div id="controls" hidden>
<form id="order-form"><h3>Submit an order</h3>
<label>Order id <input id="order-id" required></label>
<label>Job id <input id="job-id" required></label>
<label>Operations <input id="ops" placeholder="m1:3, m2:2" required title="resource:duration in ticks, in routing order"></label>
<label>Due (tick) <input id="due" type="number" min="0"></label>
<button>Submit</button></form>
<form id="down-form"><h3>Mark a resource down</h3>
<label>Resource <select id="down-resource"></select></label>
<label>For (ticks) <input id="down-ticks" type="number" min="1" value="20"></label>
<button>Mark down</button></form>
<p id="op-result" role="status"></p>
</div>
<form id="report-form" action="/report" method="get"><h3>Report</h3>
<label>From tick <input name="from" type="number" min="0" value="0"></label>
<label>Until tick <input name="until" type="number" min="0" placeholder="now"></label>
<button>Export (self-contained HTML)</button> &middot; <a href="/metrics">Prometheus metrics</a></form>
</section>
</main>
<script src="/assets/dashboard.js"></script>
</body></html>
`;

export const DASHBOARD_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header{display:flex;align-items:baseline;gap:1.5em;padding:.6em 1em;background:#1d2330;color:#fff}
header h1{font-size:1.2em;margin:0}#facts span{margin-right:1em}
#conn.on{color:#8fe08f}#conn.off{color:#ffb0a0}
main{padding:0 1em 2em}h2{font-size:1.05em;margin:1em 0 .4em}h3{font-size:1em;margin:.4em 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{text-align:left;padding:2px 8px;border-bottom:1px solid #e3e6eb}
td.num{text-align:right;font-variant-numeric:tabular-nums}.late{color:#b71c1c;font-weight:600}.ok{color:#2e7d32}
#gantt-wrap{overflow-x:auto;border:1px solid #e3e6eb;background:#fff}
#gantt text{font-size:12px;fill:#333}#gantt .rl{text-anchor:end}
#gantt .stripe{fill:#f3f5f8}#gantt .planned{fill:none;stroke:#5470a8;stroke-dasharray:3 2;stroke-width:1.2}
#gantt .executed{stroke:#223;stroke-width:.5}#gantt .failed{fill:#fbe3e3;stroke:#c62828;stroke-width:1.5;stroke-dasharray:4 2}
#gantt .down{fill:#bbb;fill-opacity:.55}#gantt .nowline{stroke:#e65100;stroke-width:2}
#gantt .due{fill:#6a1b9a}#gantt .grid{stroke:#e8e8e8}#gantt .tk{fill:#777;font-size:11px;text-anchor:middle}
.legend{font-size:12px;margin-bottom:.3em}.sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
.sw.planned{border:1.5px dashed #5470a8}.sw.executed{background:#4e79a7}.sw.failed{background:#fbe3e3;border:1.5px dashed #c62828}
.sw.down{background:#bbb}.sw.now{background:#e65100;width:3px}.sw.due{color:#6a1b9a;width:auto;height:auto}
#timeline{max-height:18em;overflow-y:auto;font-size:13px;padding-left:1.5em}#timeline li{margin:.15em 0}
#timeline .k-disruption{color:#b71c1c}#timeline .k-repair{color:#1b5e20}#timeline .k-local-repair{color:#33691e}
#timeline .strategy{font-weight:600}
#timeline .k-escalation{color:#6a1b9a}.note{font-size:12px;color:#555;margin:.2em 0}
#quality-chart{border:1px solid #e3e6eb;background:#fff}#quality-chart .so-far{fill:none;stroke:#2e7d32;stroke-width:2}
#quality-chart .expected{fill:none;stroke:#5470a8;stroke-width:1.5;stroke-dasharray:4 3}#quality-chart text{font-size:11px;fill:#777}
#quality-chart .grid{stroke:#eee}.sw.q-so-far{background:#2e7d32;height:3px}.sw.q-expected{border-top:2px dashed #5470a8;height:0}
#tree td.bar{width:14em}#tree .b{display:inline-block;height:9px;vertical-align:middle;margin-left:6px}
#tree .bp{background:#4e79a7}#tree .bc{background:#b07aa1}#tree tr.task td:first-child{font-weight:600}
#tree .s-failed{color:#b71c1c}#tree .s-succeeded{color:#2e7d32}#tree .s-running{color:#e65100}#tree .s-unplanned{color:#888}
form label{margin-right:.8em}input{width:8em}#ops{width:12em}form{margin:.4em 0}
`;

export const DASHBOARD_JS = `"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#4e79a7","#f28e2b","#59a14f","#76b7b2","#edc948","#b07aa1","#ff9da7","#9c755f","#bab0ac","#86bcb6","#d37295","#a0cbe8"];
  const colours = new Map();
  const colour = (job) => { if (!colours.has(job)) colours.set(job, PALETTE[colours.size % PALETTE.length]); return colours.get(job); };
  let token = sessionStorage.getItem("consort-token") || "";
  let snap;

  function el(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function tip(node, text) { const t = el("title"); t.textContent = text; node.appendChild(t); return node; }
  function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); if (cls) td.className = cls; tr.appendChild(td); return td; }
  function fill(id, rows) { const body = $(id).querySelector("tbody"); body.replaceChildren(...rows); }

  function drawGantt(s) {
    const svg = $("gantt");
    const rows = s.resources;
    const rowH = 26, left = 110, top = 22;
    const ends = [s.nowTicks, ...s.planned.map((b) => b.endTicks), ...s.executed.map((b) => b.endTicks), ...s.downtime.map((d) => d.untilTicks), ...s.jobs.map((j) => j.dueTicks || 0)];
    const span = Math.max(10, ...ends) * 1.05;
    const width = Math.max(700, $("gantt-wrap").clientWidth - 4);
    const k = (width - left - 20) / span;
    const X = (t) => left + t * k;
    const height = top + rows.length * rowH + 8;
    svg.setAttribute("width", width); svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("data-now", s.nowTicks);
    svg.replaceChildren();
    const step = niceStep(span / Math.max(2, (width - left) / 90));
    for (let t = 0; t <= span; t += step) {
      svg.appendChild(el("line", { class: "grid", x1: X(t), x2: X(t), y1: top, y2: height }));
      svg.appendChild(el("text", { class: "tk", x: X(t), y: top - 6 }, String(t)));
    }
    const rowOf = new Map(rows.map((r, i) => [r, i]));
    rows.forEach((r, i) => {
      const g = el("g", { class: "row", "data-resource": r });
      if (i % 2 === 0) g.appendChild(el("rect", { class: "stripe", x: 0, y: top + i * rowH, width, height: rowH }));
      g.appendChild(tip(el("text", { class: "rl", x: left - 6, y: top + i * rowH + rowH / 2 + 4 }, r.length > 14 ? r.slice(0, 13) + "\\u2026" : r), r));
      svg.appendChild(g);
    });
    const row = (r) => svg.querySelector('g.row[data-resource="' + CSS.escape(r) + '"]');
    const y = (r) => top + rowOf.get(r) * rowH;
    for (const d of s.downtime) {
      if (!rowOf.has(d.resourceId)) continue;
      row(d.resourceId).appendChild(tip(el("rect", { class: "down", x: X(d.fromTicks), y: y(d.resourceId), width: Math.max(1, (d.untilTicks - d.fromTicks) * k), height: rowH }), "down " + d.fromTicks + "\\u2013" + d.untilTicks + ": " + d.reason));
    }
    const done = new Set(s.executed.map((b) => b.activityId));
    for (const b of s.executed) {
      if (!rowOf.has(b.resourceId)) continue;
      row(b.resourceId).appendChild(tip(el("rect", { class: "executed", "data-activity": b.activityId, x: X(b.startTicks), y: y(b.resourceId) + 4, width: Math.max(1, (b.endTicks - b.startTicks) * k), height: rowH - 8, fill: colour(b.jobId) }), b.activityId + " (job " + b.jobId + ") executed " + b.startTicks + "\\u2013" + b.endTicks));
    }
    for (const b of s.attempts) {
      if (!rowOf.has(b.resourceId)) continue;
      row(b.resourceId).appendChild(tip(el("rect", { class: "failed", "data-activity": b.activityId, x: X(b.startTicks), y: y(b.resourceId) + 6, width: Math.max(2, (b.endTicks - b.startTicks) * k), height: rowH - 12 }), b.activityId + " " + b.status + " attempt " + b.startTicks + "\\u2013" + b.endTicks));
    }
    for (const b of s.planned) {
      if (!rowOf.has(b.resourceId) || done.has(b.activityId)) continue;
      row(b.resourceId).appendChild(tip(el("rect", { class: "planned", "data-activity": b.activityId, x: X(b.startTicks), y: y(b.resourceId) + 3, width: Math.max(1, (b.endTicks - b.startTicks) * k), height: rowH - 6, stroke: colour(b.jobId) }), b.activityId + " (job " + b.jobId + ") planned " + b.startTicks + "\\u2013" + b.endTicks));
    }
    // A due date sits on the row of the job's last operation.
    const last = new Map();
    for (const b of [...s.planned, ...s.executed]) { const l = last.get(b.jobId); if (!l || b.endTicks >= l.endTicks) last.set(b.jobId, b); }
    for (const j of s.jobs) {
      const b = last.get(j.jobId);
      if (j.dueTicks === undefined || !b || !rowOf.has(b.resourceId)) continue;
      const cx = X(j.dueTicks), cy = y(b.resourceId) + rowH / 2;
      row(b.resourceId).appendChild(tip(el("path", { class: "due", d: "M" + cx + " " + (cy - 6) + "l5 6-5 6-5-6z" }), "job " + j.jobId + " due " + j.dueTicks + (j.latenessTicks ? ", late by " + j.latenessTicks : "")));
    }
    svg.appendChild(tip(el("line", { class: "nowline", x1: X(s.nowTicks), x2: X(s.nowTicks), y1: top - 2, y2: height }), "now: tick " + s.nowTicks));
  }
  function niceStep(raw) { const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9)))); const f = raw / p; return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p; }
  const ago = (ms) => ms === undefined ? "" : Math.max(0, Math.round((Date.now() - ms) / 1000)) + " s ago";

  function drawQuality(c) {
    const svg = $("quality-chart");
    const width = Math.max(500, Math.min(900, $("ctaems").clientWidth - 4)), height = 140, left = 40, bottom = 20, top = 8;
    svg.setAttribute("width", width); svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("data-root-quality", c.rootQuality);
    svg.replaceChildren();
    const h = c.history;
    const maxT = Math.max(10, c.horizon, ...h.map((p) => p.tick));
    const maxQ = Math.max(1, ...h.map((p) => Math.max(p.rootQuality, p.expected)));
    const X = (t) => left + (t / maxT) * (width - left - 10);
    const Y = (q) => height - bottom - (q / maxQ) * (height - bottom - top);
    const step = niceStep(maxQ / 3);
    for (let q = 0; q <= maxQ + 1e-9; q += step) {
      svg.appendChild(el("line", { class: "grid", x1: left, x2: width - 10, y1: Y(q), y2: Y(q) }));
      svg.appendChild(el("text", { x: 4, y: Y(q) + 4 }, String(Math.round(q * 100) / 100)));
    }
    svg.appendChild(el("text", { x: width - 60, y: height - 4 }, "tick " + maxT));
    const path = (key) => h.map((p, i) => (i ? "L" : "M") + X(p.tick).toFixed(1) + " " + Y(p[key]).toFixed(1)).join("");
    if (h.length > 0) {
      svg.appendChild(tip(el("path", { class: "expected", d: path("expected") }), "expected root quality, now " + c.expectedRootQuality));
      svg.appendChild(tip(el("path", { class: "so-far", d: path("rootQuality") }), "root quality so far, now " + c.rootQuality));
    }
  }
  function drawTree(c) {
    const most = Math.max(1e-9, ...c.tree.map((n) => n.criticality));
    fill("tree", c.tree.map((n) => {
      const tr = document.createElement("tr");
      tr.dataset.node = n.id; tr.dataset.p = String(n.p); tr.dataset.criticality = String(n.criticality);
      tr.className = n.kind;
      const name = cell(tr, n.id); name.style.paddingLeft = (0.3 + n.depth * 1.2) + "em"; name.title = n.id;
      cell(tr, n.kind === "task" ? n.qaf : n.owner);
      cell(tr, n.status, "s-" + n.status);
      const p = cell(tr, n.p.toFixed(2), "num bar"); const pb = document.createElement("span"); pb.className = "b bp"; pb.style.width = Math.round(n.p * 80) + "px"; p.appendChild(pb);
      const k = cell(tr, String(n.criticality), "num bar"); const kb = document.createElement("span"); kb.className = "b bc"; kb.style.width = Math.round((n.criticality / most) * 80) + "px"; k.appendChild(kb);
      cell(tr, n.quality, "num");
      return tr;
    }));
  }

  function render(s) {
    snap = s;
    const ct = s.family === "ctaems" ? s.ctaems : undefined;
    $("site").textContent = "site " + s.site;
    $("now").textContent = "tick " + s.nowTicks + (ct ? " of " + ct.horizon : "");
    $("progress").textContent = s.completed + "/" + s.activities + (ct ? " methods ended" : " activities done");
    $("version").textContent = ct ? "trial " + s.version : "schedule v" + s.version;
    $("quality").textContent = ct ? "root quality " + ct.rootQuality + " (expected " + ct.expectedRootQuality + ")" : "";
    $("ctaems").hidden = !ct;
    $("jobs-section").hidden = !!ct;
    for (const e of document.querySelectorAll(".orders")) e.hidden = !!ct;
    if (ct) {
      drawQuality(ct); drawTree(ct);
      if (document.body.dataset.operator !== "yes") $("mode").textContent = "Read-only: a C-TAEMS run takes no orders.";
    }
    drawGantt(s);
    fill("agents", s.agents.map((a) => { const tr = document.createElement("tr"); tr.dataset.agent = a.agentId; cell(tr, a.agentId); cell(tr, a.online ? "online" : "offline", a.online ? "ok" : "late"); cell(tr, a.epoch); cell(tr, ago(a.lastSeenMs)); cell(tr, a.current || "idle"); return tr; }));
    fill("jobs", s.jobs.map((j) => { const tr = document.createElement("tr"); tr.dataset.job = j.jobId; cell(tr, j.jobId); cell(tr, j.done + "/" + j.operations, "num"); cell(tr, j.dueTicks, "num"); cell(tr, j.endTicks !== undefined ? j.endTicks : j.plannedEndTicks !== undefined ? "~" + j.plannedEndTicks : "", "num"); cell(tr, j.latenessTicks === undefined ? "" : j.latenessTicks > 0 ? "+" + j.latenessTicks + (j.endTicks === undefined ? " (planned)" : "") : "on time", j.latenessTicks > 0 ? "num late" : "num ok"); return tr; }));
    fill("rates", s.rates.map((r) => { const tr = document.createElement("tr"); cell(tr, r.type); cell(tr, r.direction); cell(tr, r.total, "num"); cell(tr, r.perSecond.toFixed(1), "num"); cell(tr, Math.round(r.bytesPerSecond), "num"); return tr; }));
    fill("orders", s.orders.map((o) => { const tr = document.createElement("tr"); tr.dataset.order = o.orderId; cell(tr, o.orderId); cell(tr, o.from); cell(tr, o.jobs, "num"); cell(tr, o.accepted ? "accepted" : "refused: " + o.reason, o.accepted ? "ok" : "late"); return tr; }));
    $("timeline").replaceChildren(...s.timeline.slice().reverse().map((t) => { const li = document.createElement("li"); li.className = "k-" + t.kind; li.textContent = "tick " + t.atTicks + " \\u00b7 " + t.kind + (t.strategy ? " [" + t.strategy + "]" : "") + ": " + t.text; return li; }));
    const sel = $("down-resource");
    if (sel.options.length !== s.resources.length) sel.replaceChildren(...s.resources.map((r) => { const o = document.createElement("option"); o.value = r; o.textContent = r; return o; }));
  }

  function connect() {
    const es = new EventSource("/api/events");
    es.addEventListener("snapshot", (e) => { const s = JSON.parse(e.data); if (s.resources) render(s); });
    es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "on"; };
    es.onerror = () => { $("conn").textContent = "reconnecting"; $("conn").className = "off"; };
  }

  async function whoami() {
    const r = await fetch("/api/whoami", { headers: token ? { authorization: "Bearer " + token } : {} });
    const w = await r.json();
    $("controls").hidden = !w.operator;
    $("login").hidden = w.operator || !w.canOperate;
    $("mode").textContent = w.operator ? "Signed in as the operator." : w.canOperate ? "Read-only: sign in with the operator token to submit orders or mark a resource down." : snap && snap.family === "ctaems" ? "Read-only: a C-TAEMS run takes no orders." : "Read-only: this coordinator has no operator token.";
    document.body.dataset.operator = w.operator ? "yes" : "no";
  }
  async function post(path, body) {
    const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + token }, body: JSON.stringify(body) });
    const answer = await r.json().catch(() => ({}));
    $("op-result").textContent = r.ok ? "done: " + JSON.stringify(answer) : "refused (" + r.status + "): " + (answer.error || answer.reason || "");
    $("op-result").dataset.status = String(r.status);
  }
  $("login").addEventListener("submit", (e) => { e.preventDefault(); token = $("token").value; sessionStorage.setItem("consort-token", token); whoami(); });
  $("order-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const ops = $("ops").value.split(",").map((x) => x.trim()).filter(Boolean).map((x) => { const [r, d] = x.split(":"); return { resources: [r.trim()], durationTicks: Number(d) }; });
    const job = { id: $("job-id").value.trim(), operations: ops };
    if ($("due").value !== "") job.dueTicks = Number($("due").value);
    post("/api/orders", { orderId: $("order-id").value.trim(), jobs: [job] });
  });
  $("down-form").addEventListener("submit", (e) => {
    e.preventDefault();
    post("/api/resources/" + encodeURIComponent($("down-resource").value) + "/down", { durationTicks: Number($("down-ticks").value) });
  });
  window.addEventListener("resize", () => snap && drawGantt(snap));
  whoami();
  connect();
})();
`;
