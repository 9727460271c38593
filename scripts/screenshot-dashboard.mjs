#!/usr/bin/env node
// Saves a screenshot of the live dashboard to docs/dashboard.png (or the path given): a local
// `consort broker`, three `consort agent` processes (one with a scripted breakdown) and
// `consort coordinator --http`, an order and a mark-down by the operator, then headless Chromium.
// Needs a build (npm ci) and Debian's chromium (CHROMIUM_PATH, default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? join(root, "docs/dashboard.png"));
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`screenshot-dashboard: no Chromium at ${chromiumPath} (apt-get install chromium)`);
  process.exit(69);
}
const bin = join(root, "apps/cli/bin/consort.js");
const dir = mkdtempSync(join(tmpdir(), "consort-screenshot-"));
const children = [];
const token = "screenshot";

function start(args, env = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let text = "";
  child.stdout.on("data", (d) => {
    text += d;
  });
  child.stderr.on("data", (d) => {
    text += d;
  });
  return () => text;
}

async function waitFor(output, pattern, ms = 20_000) {
  const started = Date.now();
  for (;;) {
    const m = pattern.exec(output());
    if (m) return m;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${pattern}: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  writeFileSync(
    join(dir, "cell.yaml"),
    [
      "name: cell",
      "resources: [{ id: mill }, { id: lathe }, { id: drill }, { id: paint }]",
      "jobs:",
      "  - { id: gear, due: 60, operations: [{ resource: mill, duration: 12 }, { resource: lathe, duration: 10 }, { resource: paint, duration: 8 }] }",
      "  - { id: shaft, due: 45, operations: [{ resource: lathe, duration: 14 }, { resource: drill, duration: 10 }, { resource: paint, duration: 6 }] }",
      "  - { id: plate, due: 50, operations: [{ resource: drill, duration: 16 }, { resource: mill, duration: 8 }, { resource: lathe, duration: 9 }] }",
      "  - { id: cover, due: 70, operations: [{ resource: mill, duration: 10 }, { resource: paint, duration: 12 }, { resource: drill, duration: 7 }] }",
      "",
    ].join("\n"),
  );
  const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
  const url = (await waitFor(broker, /(mqtt:\/\/127\.0\.0\.1:\d+)/))[1];
  // Tick 0 once everything is up, so the scenario's due dates mean something.
  const epochMs = Date.now() + 6000;
  const online = [];
  for (const id of ["mill", "lathe", "drill", "paint"]) {
    const config = join(dir, `${id}.yaml`);
    const disruptions =
      id === "lathe"
        ? "[{ kind: breakdown, resourceId: lathe, fromTicks: 26, untilTicks: 50 }]"
        : "[]";
    writeFileSync(
      config,
      [
        `agentId: ${id}`,
        "site: plant",
        `broker: ${url}`,
        `journal: ${join(dir, `${id}.journal`)}`,
        "clock: wall",
        `epochMs: ${epochMs}`,
        "tickMs: 150",
        "logLevel: warn",
        `simulation: { trialKey: 7, disruptions: ${disruptions} }`,
        "",
      ].join("\n"),
    );
    online.push(waitFor(start(["agent", "--config", config]), /online at/));
  }
  await Promise.all(online);
  const coordinator = start(
    [
      "coordinator",
      ...["--scenario", join(dir, "cell.yaml"), "--broker", url, "--site", "plant"],
      ...["--epoch-ms", String(epochMs), "--tick-ms", "150", "--http", "127.0.0.1:0"],
    ],
    { CONSORT_OPERATOR_TOKEN: token },
  );
  const http = (await waitFor(coordinator, /dashboard at (http:\/\/127\.0\.0\.1:\d+)\//))[1];
  await waitFor(coordinator, /plan installed/);
  await sleep(Math.max(0, epochMs - Date.now()) + 2500);
  const post = (path, body) =>
    fetch(`${http}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  await post("/api/orders", {
    orderId: "rush-7",
    priority: 20,
    jobs: [
      {
        id: "rush",
        dueTicks: 70,
        operations: [
          { resources: ["drill"], durationTicks: 6 },
          { resources: ["paint"], durationTicks: 5 },
        ],
      },
    ],
  });
  await sleep(1000);
  await post("/api/resources/paint/down", { durationTicks: 12, reason: "maintenance" });
  await sleep(1500);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${http}/`);
  await page.waitForSelector("#gantt g.row rect");
  await sleep(500);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  console.log(`screenshot-dashboard: wrote ${out}`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
