import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { decodePayload, topics } from "@consort/protocol";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProgram, stopAll, waitFor } from "./processes.js";
import { repoRoot } from "./run-cli.js";

// The bundled agent of `npm run bundle:agent`, copied where no node_modules of the repository
// can be reached, run with node alone against a broker process.
const bundleDir = mkdtempSync(join(tmpdir(), "consort-bundle-build-"));
const board = realpathSync(mkdtempSync(join(tmpdir(), "consort-board-")));

/** `node ARGS` in `cwd` with exactly `env` (nothing inherited). */
const start = (args: string[], cwd: string, env: NodeJS.ProcessEnv) =>
  startProgram(process.execPath, args, { cwd, env, inheritEnv: false });

async function waitForState(states: { body?: { status?: string } }[], status: string) {
  const started = Date.now();
  while (states.at(-1)?.body?.status !== status) {
    if (Date.now() - started > 10_000) throw new Error(`no ${status} descriptor`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  // Built workspaces are a precondition of every end-to-end test; this bundles them.
  execFileSync(process.execPath, [join(repoRoot, "scripts/bundle-agent.mjs"), "--out", bundleDir], {
    stdio: "pipe",
  });
  cpSync(bundleDir, join(board, "edge-agent"), { recursive: true });
}, 120_000);

afterAll(() => {
  stopAll();
});

describe("the edge-agent bundle on a board with only node", () => {
  it("is outside the repository and holds no repository packages", () => {
    expect(relative(realpathSync(repoRoot), board).startsWith("..")).toBe(true);
    const pkg = JSON.parse(readFileSync(join(board, "edge-agent/package.json"), "utf8"));
    expect(pkg.dependencies).toBeUndefined();
    // Only the adapters' package, made by the bundler; no dependency copied in.
    expect(existsSync(join(board, "edge-agent/node_modules/mqtt"))).toBe(false);
    expect(
      existsSync(join(board, "edge-agent/node_modules/@consort/hardware/adapters/modbus.js")),
    ).toBe(true);
  });

  it("comes online at a broker, says so retained, and stops cleanly on SIGTERM", async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: board };
    expect(env.NODE_PATH).toBeUndefined();
    const broker = start(
      [
        join(repoRoot, "apps/cli/bin/consort.js"),
        "broker",
        "--port",
        "0",
        "--site",
        "plant",
        "--anonymous",
      ],
      repoRoot,
      process.env,
    );
    const url = (await waitFor(broker.output, /(mqtt:\/\/127\.0\.0\.1:\d+)/, 15_000))[1]!;
    const config = join(board, "m1.yaml");
    writeFileSync(
      config,
      [
        "agentId: m1",
        "site: plant",
        `broker: ${url}`,
        `journal: ${join(board, "m1.journal")}`,
        "clock: wall",
        "logLevel: warn",
        "simulation: { trialKey: 1, disruptions: [] }",
        "",
      ].join("\n"),
    );
    const watcher = await mqtt.connectAsync(url, { clientId: "watcher", username: "watcher" });
    const states: { body?: { status?: string } }[] = [];
    watcher.on("message", (_topic, payload) => {
      if (payload.length > 0) states.push(decodePayload(payload) as { body?: { status?: string } });
    });
    await watcher.subscribeAsync(topics.agentState("plant", "m1"));
    const agent = start([join(board, "edge-agent/main.js"), "--config", config], board, env);
    const started = Date.now();
    while (!states.some((s) => s.body?.status === "online")) {
      if (Date.now() - started > 20_000)
        throw new Error(`the bundled agent did not come online: ${agent.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    agent.child.kill("SIGTERM");
    expect(await agent.exited, agent.output()).toBe(0);
    expect(agent.output()).toMatch(/stopped on SIGTERM/);
    expect(agent.output()).not.toMatch(/Cannot find (module|package)/);
    // Its last will or its goodbye: the retained descriptor says offline.
    await waitForState(states, "offline");
    await watcher.endAsync();
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
  }, 60_000);

  it("loads each bundled adapter module with node alone", () => {
    for (const a of ["modbus", "opcua", "vda5050"]) {
      const r = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", `await import("@consort/hardware/adapters/${a}")`],
        { cwd: join(board, "edge-agent"), env: { PATH: process.env.PATH ?? "" }, encoding: "utf8" },
      );
      expect(r.status, `${a}: ${r.stderr}`).toBe(0);
    }
  }, 60_000);
});

describe("install.sh and the systemd unit", () => {
  it("installs into a root directory without root effects, and systemd-analyze accepts the unit", (ctx) => {
    const root = mkdtempSync(join(tmpdir(), "consort-install-"));
    execFileSync("sh", [join(bundleDir, "install.sh"), "--root", root, "press-1"], {
      stdio: "pipe",
    });
    const unit = join(root, "etc/systemd/system/consort-agent@.service");
    const text = readFileSync(unit, "utf8");
    expect(text).toMatch(/^ExecStart=\/\S+node \/opt\/consort\/edge-agent\/main\.js --config/m);
    expect(text).not.toMatch(/@NODE@|@PREFIX@/);
    for (const option of [
      "Restart=on-failure",
      "DynamicUser=yes",
      "ProtectSystem=strict",
      "NoNewPrivileges=yes",
      "CapabilityBoundingSet=",
      "StateDirectory=consort-agent/%i",
      "EnvironmentFile=-/etc/consort/%i.env",
    ])
      expect(text).toContain(option);
    expect(existsSync(join(root, "opt/consort/edge-agent/main.js"))).toBe(true);
    expect(existsSync(join(root, "etc/consort/press-1.yaml"))).toBe(true);
    const which = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" });
    if (which.status !== 0) {
      console.warn("skipped: systemd-analyze is not installed (Debian package systemd)");
      ctx.skip();
      return;
    }
    // An instance name, as systemctl would start it.
    const instance = join(root, "consort-agent@press-1.service");
    cpSync(unit, instance);
    const verify = spawnSync("systemd-analyze", ["verify", "--man=no", instance], {
      encoding: "utf8",
    });
    expect(verify.status, verify.stderr).toBe(0);
    // Warnings (unknown keys, bad values) come on stderr with status 0: none is allowed.
    expect(
      verify.stderr.split("\n").filter((l) => l.includes("consort-agent")),
      verify.stderr,
    ).toEqual([]);
    // And the check can fail: a misspelt option is reported.
    writeFileSync(instance, text.replace("ProtectHome=yes", "ProtectHome=yes\nProtectHomme=yes"));
    const bad = spawnSync("systemd-analyze", ["verify", "--man=no", instance], {
      encoding: "utf8",
    });
    expect(bad.stderr).toMatch(/ProtectHomme/);
  }, 30_000);

  it("--dry-run only says what it would do", () => {
    const root = mkdtempSync(join(tmpdir(), "consort-install-dry-"));
    const said = execFileSync(
      "sh",
      [join(bundleDir, "install.sh"), "--dry-run", "--root", root, "m1"],
      {
        encoding: "utf8",
      },
    );
    expect(said).toMatch(/\+ cp -R .*main\.js/);
    expect(existsSync(join(root, "opt"))).toBe(false);
  });
});
