import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { start, stopAll, waitFor } from "./processes.js";
import { repoRoot } from "./run-cli.js";

// The dashboard of a C-TAEMS run in a real browser: `consort fleet --http` on the rover team
// (six agent processes, lock-step time paced for the eye) and Debian's Chromium (headless) on
// the page. Nothing downloads a browser: without /usr/bin/chromium (or CHROMIUM_PATH) it skips.
// What the page-side callbacks use (they run in Chromium; this package has no DOM types).
declare const document: {
  getElementById(id: string): { getAttribute(name: string): string | null } | null;
};

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium)
  console.warn(
    `SKIPPED: the C-TAEMS dashboard browser test needs Chromium at ${chromiumPath} (apt-get install chromium); .ci/run installs it.`,
  );

const dir = mkdtempSync(join(tmpdir(), "consort-dashboard-ctaems-"));
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  stopAll();
  rmSync(dir, { recursive: true, force: true });
});

// Every node of scenarios/rover-team.yaml, parents first.
const NODES = [
  "survey",
  "scout",
  "scout-primary",
  "scout-backup",
  "drill",
  "drill-primary",
  "drill-backup",
  "image",
  "image-wide",
  "image-close",
  "return",
  "return-primary",
  "return-backup",
];

describe.skipIf(!haveChromium)(
  "consort fleet --http on a C-TAEMS network in headless Chromium",
  () => {
    it("shows every node of the task tree with a probability, the root quality rising, and a repair", async () => {
      // The browser first: the page is up as soon as the run begins (it lasts about 20 s).
      browser = await chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      const { output } = start([
        "fleet",
        ...["--scenario", join(repoRoot, "scenarios/rover-team.yaml"), "--seed", "3"],
        ...["--http", "127.0.0.1:0", "--linger", "10", "--json"],
        ...["--out", join(dir, "reports")],
      ]);
      const http = (await waitFor(output, /dashboard at (http:\/\/[\d.]+:\d+)\//, 60_000))[1]!;

      await page.goto(`${http}/`);

      // The task tree: every node, each with a probability in [0, 1] and a criticality.
      await page.waitForSelector("#ctaems:not([hidden]) #tree tr[data-node]", { timeout: 20_000 });
      const tree = await page.$$eval("#tree tr[data-node]", (rows) =>
        rows.map((r) => ({
          id: r.getAttribute("data-node"),
          p: Number(r.getAttribute("data-p")),
          criticality: Number(r.getAttribute("data-criticality")),
        })),
      );
      expect(tree.map((n) => n.id)).toEqual(NODES);
      for (const n of tree) {
        expect(n.p).toBeGreaterThanOrEqual(0);
        expect(n.p).toBeLessThanOrEqual(1);
        expect(Number.isFinite(n.criticality)).toBe(true);
      }
      // While the run goes on, the root's expected quality hangs on what is still open.
      expect(tree.find((n) => n.id === "survey")!.criticality).toBeGreaterThan(0);
      // A Gantt row per rover; the job-shop panels are not shown.
      const rows = await page.$$eval("#gantt g.row", (gs) =>
        gs.map((g) => g.getAttribute("data-resource")),
      );
      expect(rows).toEqual(["rover1", "rover2", "rover3", "rover4", "rover5", "rover6"]);
      expect(await page.isVisible("#jobs-section")).toBe(false);

      // The root quality so far rises between two reads while the run goes on.
      const quality = () =>
        page.evaluate(() =>
          Number(document.getElementById("quality-chart")!.getAttribute("data-root-quality")),
        );
      const first = await quality();
      await page.waitForFunction(
        (before) =>
          Number(document.getElementById("quality-chart")!.getAttribute("data-root-quality")) >
          before,
        first,
        { timeout: 40_000 },
      );
      const second = await quality();
      expect(second).toBeGreaterThan(first);
      expect(await page.textContent("#quality")).toMatch(/root quality \d+/);

      // A repair in the timeline: what the deliberative scheduler planned where before the run
      // (the schedule the agents were given: the backups of the two jobs that open the network,
      // on rovers idle in the initial schedule), and a fall.
      await page.waitForFunction(
        () =>
          /before the run, planned \S+ on rover\d at \d+, under \S+/.test(
            (document.getElementById("timeline") as unknown as { textContent: string }).textContent,
          ),
        undefined,
        { timeout: 40_000 },
      );
      // A fall in a node's probability: an agent's escalation, or the disruption it reported. (On
      // this seed the backups planned before the run leave nothing to escalate.)
      await page.waitForFunction(
        () =>
          /escalation: rover\d escalated \S+: its probability [\d.]+ fell below|disruption: probability fell/.test(
            (document.getElementById("timeline") as unknown as { textContent: string }).textContent,
          ),
        undefined,
        { timeout: 40_000 },
      );
      const timeline = (await page.textContent("#timeline")) ?? "";
      expect(timeline).toMatch(
        /\[deliberative\]: before the run, planned scout-backup on rover2 at 0, under scout/,
      );
      expect(timeline).toMatch(
        /\[deliberative\]: before the run, planned drill-backup on rover4 at 0, under drill/,
      );
      expect(timeline).toMatch(
        /escalation: rover\d escalated \S+: its probability [\d.]+ fell below|disruption: probability fell/,
      );

      // Read-only: no operator controls on a C-TAEMS run.
      expect(await page.isVisible("#controls")).toBe(false);
      expect(await page.textContent("#mode")).toMatch(/C-TAEMS run takes no orders/);
      // The page asked nothing of any other host.
      expect(requests.filter((r) => !r.startsWith(http))).toEqual([]);

      // Metrics and the report for a period.
      const metrics = await (await fetch(`${http}/metrics`)).text();
      expect(Number(/^consort_root_quality (\S+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(
        Number(/^consort_repairs_total\{strategy="deliberative"\} (\d+)/m.exec(metrics)?.[1]),
      ).toBeGreaterThan(0);
      expect(metrics).toMatch(/^consort_messages_total\{type="csc-tick",direction="out"\} [1-9]/m);
      const report = await (await fetch(`${http}/report?from=0`)).text();
      expect(report).toMatch(/^<!doctype html>/);
      expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
      expect(report).toMatch(/Task tree \(13 nodes\)/);
      expect(report).toMatch(/deliberative: \S+ on rover\d/);

      await page.close();
      // The run itself ends well, the same as in one process.
      await waitFor(output, /"identicalToInProcess":true/, 60_000);
    }, 150_000);
  },
);
