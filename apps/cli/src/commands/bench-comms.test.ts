import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { commsChart, commsPolicies, encodedSize, type PolicyRow } from "./bench-comms.js";

const dir = mkdtempSync(join(tmpdir(), "consort-bench-comms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (benchmark: string, name: string, messages: number, quality: number): PolicyRow => ({
  benchmark,
  name,
  messages,
  bytes: messages * 100,
  quality,
  qualityCi: 0,
  coordinatorInbound: 1,
  byType: {},
  fewerThanAlways: 1,
  qualityLoss: 0,
});

describe("bench comms", () => {
  it("compares always-broadcast with a threshold sweep, silence and cells", () => {
    const names = commsPolicies().map((p) => p.name);
    expect(names[0]).toBe("always");
    expect(
      commsPolicies().filter((p) => p.broadcast === "selective" && !p.silence).length,
    ).toBeGreaterThanOrEqual(3);
    expect(commsPolicies().some((p) => p.silence)).toBe(true);
    expect(commsPolicies().some((p) => (p.cellSize ?? 0) > 1)).toBe(true);
  });

  it("measures a message as the transport encodes it", () => {
    const small = encodedSize({
      from: "a",
      to: "b",
      seq: 1,
      body: { type: "withdraw", group: "g" },
    });
    const big = encodedSize({
      from: "a",
      to: "b",
      seq: 1,
      body: {
        type: "report",
        node: "n",
        children: Array.from({ length: 10 }, (_, i) => ({
          id: `c${i}`,
          p: 0.5,
          v: 1,
          pp: 1,
          pv: 1,
          busy: 3,
        })),
      },
    });
    expect(small).toBeGreaterThan(20);
    expect(big).toBeGreaterThan(small + 10 * 20);
  });

  it("draws one point per policy and benchmark, messages on a log scale", () => {
    const svg = commsChart([
      row("A", "always", 100_000, 10),
      row("A", "selective ε=0.05", 1_000, 9.9),
      row("B", "always", 50_000, 5),
      row("B", "cells of 5 + silence", 2_000, 5),
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain("10^3");
    expect(svg).toContain("10^5");
    // The fewer messages, the further left.
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs[1]).toBeLessThan(xs[0]!);
  });

  it("consort bench comms --json reports every policy with messages, bytes and quality, and writes the chart", () => {
    const svg = join(dir, "c.svg");
    const r = spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL("../../bin/consort.js", import.meta.url)),
        "bench",
        "comms",
        "--trials",
        "1",
        "--windows",
        "1",
        "--machines",
        "6",
        "--svg",
        svg,
        "--json",
      ],
      { encoding: "utf8", timeout: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.policies.length).toBe(2 * commsPolicies().length);
    for (const p of report.policies) {
      expect(typeof p.name).toBe("string");
      expect(p.messages).toBeGreaterThan(0);
      expect(p.bytes).toBeGreaterThan(p.messages);
      expect(typeof p.quality).toBe("number");
    }
    const always = report.policies.filter((p: PolicyRow) => p.name === "always");
    const quiet = report.policies.filter((p: PolicyRow) => p.name === "selective ε=0.05 + silence");
    for (let i = 0; i < always.length; i++)
      expect(always[i].messages).toBeGreaterThan(quiet[i].messages);
    expect(readFileSync(svg, "utf8")).toContain("<svg");
  }, 300_000);
});
