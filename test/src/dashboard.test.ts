import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { start as startConsort, stopAll, waitFor } from "./processes.js";
import { repoRoot } from "./run-cli.js";

// The operator's dashboard in a real browser: `consort broker`, three `consort agent` processes
// and `consort coordinator --http` on the wall clock, and Debian's Chromium (headless) on the
// page. Nothing downloads a browser: without /usr/bin/chromium (or CHROMIUM_PATH) it skips.
// What the page-side callbacks use (they run in Chromium; this package has no DOM types).
declare const document: {
  querySelectorAll(selector: string): { length: number };
  getElementById(
    id: string,
  ): { getAttribute(name: string): string | null; textContent: string | null } | null;
};

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium)
  console.warn(
    `SKIPPED: the dashboard browser test needs Chromium at ${chromiumPath} (apt-get install chromium); .ci/run installs it.`,
  );

const dir = mkdtempSync(join(tmpdir(), "consort-dashboard-"));
let browser: Browser | undefined;
const TOKEN = "operator-token-for-the-test";

const start = (args: string[], env: NodeJS.ProcessEnv = {}) => startConsort(args, { env });

afterAll(async () => {
  await browser?.close();
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const RESOURCES = ["m1", "m2", "m3"];

/** Resolves after two animation frames: a screenshot then shows what the DOM holds. */
const painted = (p: Page) =>
  p.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const frame = (
          globalThis as unknown as { requestAnimationFrame: (f: () => void) => number }
        ).requestAnimationFrame;
        frame(() => frame(() => resolve()));
      }),
  );

describe.skipIf(!haveChromium)("the dashboard in headless Chromium", () => {
  it("shows every resource's row, advances, takes an order and a breakdown from the operator, and serves /metrics", async () => {
    writeFileSync(
      join(dir, "cell.yaml"),
      [
        "name: cell",
        "resources: [{ id: m1 }, { id: m2 }, { id: m3 }]",
        "jobs:",
        "  - { id: a, due: 60, operations: [{ resource: m1, duration: 12 }, { resource: m2, duration: 10 }, { resource: m3, duration: 8 }] }",
        "  - { id: b, due: 40, operations: [{ resource: m2, duration: 14 }, { resource: m1, duration: 10 }, { resource: m3, duration: 6 }] }",
        "  - { id: c, due: 50, operations: [{ resource: m3, duration: 16 }, { resource: m1, duration: 8 }, { resource: m2, duration: 9 }] }",
        "  - { id: d, due: 70, operations: [{ resource: m1, duration: 10 }, { resource: m3, duration: 12 }, { resource: m2, duration: 7 }] }",
        "",
      ].join("\n"),
    );
    const broker = start(["broker", "--port", "0", "--site", "plant", "--anonymous"]);
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const epochMs = Date.now() + 2000;
    for (const id of RESOURCES) {
      const config = join(dir, `${id}.yaml`);
      writeFileSync(
        config,
        [
          `agentId: ${id}`,
          "site: plant",
          `broker: ${url}`,
          `journal: ${join(dir, `${id}.journal`)}`,
          "clock: wall",
          `epochMs: ${epochMs}`,
          "tickMs: 100",
          "logLevel: warn",
          "simulation: { trialKey: 7, disruptions: [] }",
          "",
        ].join("\n"),
      );
      const agent = start(["agent", "--config", config]);
      await waitFor(agent.output, /online at/, 15_000);
    }
    const coordinator = start(
      [
        "coordinator",
        ...["--scenario", join(dir, "cell.yaml"), "--broker", url, "--site", "plant"],
        ...["--epoch-ms", String(epochMs), "--tick-ms", "100", "--wait-agents", "20"],
        ...["--http", "127.0.0.1:0"],
      ],
      { CONSORT_OPERATOR_TOKEN: TOKEN, CONSORT_LOG_LEVEL: "info" },
    );
    const http = (
      await waitFor(coordinator.output, /dashboard at (http:\/\/127\.0\.0\.1:\d+)\//, 15_000)
    )[1]!;
    await waitFor(coordinator.output, /plan installed/, 20_000);

    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${http}/`);

    // A row for every resource, and planned bars on them.
    await page.waitForSelector("#gantt g.row rect.planned, #gantt g.row rect.executed");
    const rows = await page.$$eval("#gantt g.row", (gs) =>
      gs.map((g) => g.getAttribute("data-resource")),
    );
    expect(rows).toEqual(RESOURCES);
    await page.waitForSelector('#agents tr[data-agent="m1"]');
    expect(await page.textContent("#agents tbody")).toMatch(/online/);

    // The Gantt advances while the run does: more executed bars and a later now line.
    const state = (p: Page) =>
      p.evaluate(() => ({
        now: Number(document.getElementById("gantt")!.getAttribute("data-now")),
        executed: document.querySelectorAll("#gantt rect.executed").length,
      }));
    await painted(page);
    // The shot before the state: a repaint between them then leaves the state the newer, and the
    // wait below for a later one cannot be met by what the shot already shows.
    const shot1 = await page.screenshot();
    const first = await state(page);
    await page.waitForFunction(
      (before) =>
        document.querySelectorAll("#gantt rect.executed").length > before.executed &&
        Number(document.getElementById("gantt")!.getAttribute("data-now")) > before.now,
      first,
      { timeout: 20_000 },
    );
    const second = await state(page);
    const shot2 = await page.screenshot();
    expect(second.now).toBeGreaterThan(first.now);
    expect(second.executed).toBeGreaterThan(first.executed);
    expect(shot2.equals(shot1)).toBe(false);

    // Read-only without the token: no controls, and the API refuses.
    expect(await page.isVisible("#controls")).toBe(false);
    const refused = await page.evaluate(async () => {
      const r = await fetch("/api/resources/m1/down", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return r.status;
    });
    expect(refused).toBe(401);

    // Signed in, the operator submits an order from the page: it appears in the schedule.
    await page.fill("#token", TOKEN);
    await page.click("#login button");
    await page.waitForSelector("#controls", { state: "visible" });
    await page.fill("#order-id", "rush-1");
    await page.fill("#job-id", "r1");
    await page.fill("#ops", "m2:5, m3:4");
    await page.fill("#due", "200");
    await page.click("#order-form button");
    await page.waitForSelector('#op-result[data-status="200"]', { timeout: 15_000 });
    await page.waitForSelector('#gantt g.row[data-resource="m2"] rect[data-activity="r1.o0"]', {
      timeout: 15_000,
    });
    await page.waitForSelector('#gantt g.row[data-resource="m3"] rect[data-activity="r1.o1"]', {
      timeout: 15_000,
    });
    expect(await page.textContent("#orders tbody")).toMatch(/rush-1.*accepted/);
    expect(await page.textContent('#jobs tr[data-job="r1"]')).toMatch(/200/);

    // A breakdown marked from the page: a downtime band on that row, and a repair in the timeline.
    await page.selectOption("#down-resource", "m1");
    await page.fill("#down-ticks", "30");
    await page.click("#down-form button");
    await page.waitForSelector('#gantt g.row[data-resource="m1"] rect.down', { timeout: 15_000 });
    await page.waitForFunction(
      () =>
        /marked down by the operator on m1: deliberative/.test(
          document.getElementById("timeline")!.textContent ?? "",
        ),
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.textContent("#timeline")).toMatch(/m1 down \d+\u2013\d+: marked down/);

    // The page asked nothing of any other host.
    expect(requests.filter((r) => !r.startsWith(http))).toEqual([]);

    // Metrics, with non-zero counts.
    const metrics = await (await fetch(`${http}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? Number.NaN);
    expect(value(/^consort_agents_online (\d+)/m)).toBe(3);
    expect(value(/^consort_activities_completed_total (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^consort_repairs_total\{strategy="deliberative"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^consort_repair_latency_seconds_count (\d+)/m)).toBeGreaterThan(1);
    expect(value(/^consort_messages_total\{type="inform",direction="in"\} (\d+)/m)).toBeGreaterThan(
      0,
    );
    expect(metrics).toMatch(/# TYPE consort_messages_dropped_total counter/);

    // A report for the period so far: the same self-contained page as the fleet report.
    const report = await (await fetch(`${http}/report?from=0`)).text();
    expect(report).toMatch(/^<!doctype html>/);
    expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(report).toMatch(/m1/);

    // The coordinator logged what an operator needs, as JSON on stderr.
    expect(coordinator.output()).toMatch(/"msg":"activity completed"/);
    expect(coordinator.output()).toMatch(/"msg":"order accepted"/);
    expect(coordinator.output()).toMatch(/"msg":"resource down"/);
  });
});

describe.skipIf(!haveChromium)("consort fleet --http in headless Chromium", () => {
  it("shows a row for every resource of the default scenario, advancing while the run goes on, and serves /metrics", async () => {
    const fleet = start([
      "fleet",
      ...["--scenario", join(repoRoot, "scenarios/default.yaml"), "--seed", "3"],
      ...["--http", "127.0.0.1:0", "--linger", "5", "--json"],
      ...["--out", join(dir, "fleet-reports")],
    ]);
    const http = (await waitFor(fleet.output, /dashboard at (http:\/\/[\d.]+:\d+)\//, 30_000))[1]!;
    browser ??= await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${http}/`);
    await page.waitForSelector("#gantt g.row rect.planned, #gantt g.row rect.executed", {
      timeout: 20_000,
    });
    const rows = await page.$$eval("#gantt g.row", (gs) =>
      gs.map((g) => g.getAttribute("data-resource")),
    );
    // The default scenario's machines.
    expect([...rows].sort()).toEqual(["drill", "lathe", "mill", "paint", "saw"]);
    const state = (p: Page) =>
      p.evaluate(() => ({
        now: Number(document.getElementById("gantt")!.getAttribute("data-now")),
        executed: document.querySelectorAll("#gantt rect.executed").length,
      }));
    await painted(page);
    // The shot before the state, as above: a repaint between them cannot make the later shot
    // show what the first already did.
    const shot1 = await page.screenshot();
    const first = await state(page);
    await page.waitForFunction(
      (before) =>
        document.querySelectorAll("#gantt rect.executed").length > before.executed &&
        Number(document.getElementById("gantt")!.getAttribute("data-now")) > before.now,
      first,
      { timeout: 20_000 },
    );
    await painted(page);
    const shot2 = await page.screenshot();
    expect(shot2.equals(shot1)).toBe(false);
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(Number(/^consort_agents_online (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^consort_activities_completed_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(
      0,
    );
    expect(metrics).toMatch(/^consort_messages_total\{type="clock",direction="out"\} [1-9]/m);
    await page.close();
  }, 90_000);
});
