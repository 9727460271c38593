import { describe, expect, it } from "vitest";
import {
  appDependencyViolations,
  appImportViolations,
  checkRepository,
  coreViolations,
  formatViolation,
  REPOSITORY_ROOT,
  relativeImportViolations,
  type SourceText,
} from "./boundaries.js";

const PACKAGES = ["packages/core", "packages/protocol", "apps/broker", "apps/coordinator"];
const lines = (found: { line: number; what: string }[]) => found.map((v) => `${v.line}: ${v.what}`);

describe("the boundaries check", () => {
  it("finds none in this repository", () => {
    // One line per finding, so a CI log says where and what.
    expect(checkRepository(REPOSITORY_ROOT).map(formatViolation)).toEqual([]);
  });
});

describe("core purity", () => {
  const core = (text: string, path = "packages/core/src/schedule/x.ts"): SourceText => ({
    path,
    text,
  });
  it("catches time, timers, randomness, the process and Node I/O, each on its line", () => {
    const planted = core(
      [
        'import { readFileSync } from "node:fs";',
        'import os from "os";',
        'import { topics } from "@consort/protocol";',
        "const t = Date.now();",
        "const d = new Date(0);",
        "const r = Math.random();",
        "const p = performance.now();",
        "setTimeout(() => {}, 1);",
        "const h = setInterval;",
        "globalThis.setImmediate(() => {});",
        "const e = process.env.HOME;",
        "const u = crypto.randomUUID();",
        'const m = await import("node:child_process");',
      ].join("\n"),
    );
    expect(lines(coreViolations(planted))).toEqual([
      "1: imports node:fs: core does no Node I/O",
      "2: imports os: core does no Node I/O",
      "3: imports @consort/protocol: core imports nothing of ours",
      "13: imports node:child_process: core does no Node I/O",
      "4: uses Date.now: the clock (take `now` as an argument)",
      "5: uses new Date(): the clock (take `now` as an argument)",
      "6: uses Math.random: randomness (take a seeded Random)",
      "7: uses performance.now: the clock (take `now` as an argument)",
      "8: uses setTimeout: timers (take a clock or timer port)",
      "9: uses setInterval: timers (take a clock or timer port)",
      "11: uses process.env: the process (take settings as arguments)",
      "12: uses crypto.randomUUID: randomness (take a seeded Random)",
    ]);
  });
  it("ignores comments, strings, property names, declarations and types", () => {
    const clean = core(
      [
        "// Core never calls Date.now() or Math.random(); time is passed in.",
        'const s = "setTimeout(process.exit)";',
        "const o = { process: 1, setTimeout: 2 };",
        "const q = o.process + Math.max(1, 2);",
        "type Timer = ReturnType<typeof setTimeout>;",
        "function f(now: number, performance: number) { return now + performance; }",
        "interface I { process(x: number): void }",
      ].join("\n"),
    );
    expect(coreViolations(clean)).toEqual([]);
  });
  it("leaves core's tests and test support alone", () => {
    expect(coreViolations(core("Date.now();", "packages/core/src/schedule/x.test.ts"))).toEqual([]);
    expect(coreViolations(core("Date.now();", "packages/core/src/test-support/clock.ts"))).toEqual(
      [],
    );
    expect(coreViolations(core("Date.now();", "packages/protocol/src/x.ts"))).toEqual([]);
  });
});

describe("apps importing apps", () => {
  it("catches an import of another app, in any form", () => {
    const planted: SourceText = {
      path: "apps/coordinator/src/x.ts",
      text: [
        'import { createBroker } from "@consort/broker";',
        'export { runAgent } from "@consort/edge-agent";',
        'const c = await import("@consort/broker/config");',
        'import type { Journal } from "@consort/edge-agent";',
        'import { topics } from "@consort/protocol";',
        'import { x } from "@consort/coordinator";',
      ].join("\n"),
    };
    expect(
      lines(appImportViolations(planted)).map((l) => l.split(":").slice(0, 2).join(":")),
    ).toEqual([
      "1: imports @consort/broker",
      "2: imports @consort/edge-agent",
      "3: imports @consort/broker/config",
      "4: imports @consort/edge-agent",
    ]);
  });
  it("catches a dependency on another app in package.json", () => {
    const manifest = JSON.stringify(
      {
        name: "@consort/broker",
        dependencies: { "@consort/protocol": "*", "@consort/coordinator": "*" },
        devDependencies: { "@consort/edge-agent": "*" },
      },
      null,
      2,
    );
    expect(
      lines(appDependencyViolations({ path: "apps/broker/package.json", text: manifest })),
    ).toEqual([
      "5: dependencies has @consort/coordinator: apps/broker must not depend on another app",
      "8: devDependencies has @consort/edge-agent: apps/broker must not depend on another app",
    ]);
  });
  it("lets the CLI and other packages use the apps", () => {
    const cli: SourceText = { path: "apps/cli/src/x.ts", text: 'import "@consort/broker";' };
    expect(appImportViolations(cli)).toEqual([]);
  });
});

describe("relative imports across packages", () => {
  it("catches a ../ path into another package, and allows one within the package", () => {
    const planted: SourceText = {
      path: "apps/coordinator/src/repair/x.ts",
      text: [
        'import { a } from "../../../../packages/core/src/index.js";',
        'import { b } from "../clock-master.js";',
        'export * from "../../../broker/src/acl.js";',
        'import { c } from "../../package.json";',
        'import { d } from "../../../../../elsewhere/y.js";',
      ].join("\n"),
    };
    expect(lines(relativeImportViolations(planted, PACKAGES))).toEqual([
      "1: imports ../../../../packages/core/src/index.js, a file of packages/core: import the package by name",
      "3: imports ../../../broker/src/acl.js, a file of apps/broker: import the package by name",
      "5: imports ../../../../../elsewhere/y.js, a file of (outside the repository): import the package by name",
    ]);
  });
});
