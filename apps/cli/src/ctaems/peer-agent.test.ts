import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { peerAgentProgram } from "./cluster.js";
import { parsePeerAgentConfig } from "./peer-agent.js";

const dir = mkdtempSync(join(tmpdir(), "consort-peer-agent-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parsePeerAgentConfig", () => {
  it("says where and what is wrong", () => {
    expect(() => parsePeerAgentConfig("{", "a.json")).toThrow(/^a\.json: not JSON/);
    expect(() => parsePeerAgentConfig("[]", "a.json")).toThrow(/"agentId" must be/);
    expect(() =>
      parsePeerAgentConfig(
        JSON.stringify({
          agentId: "a",
          site: "s",
          broker: "mqtt://127.0.0.1:1",
          setups: { x: {} },
        }),
        "a.json",
      ),
    ).toThrow(/setups\.x: unknown strategy/);
    expect(() =>
      parsePeerAgentConfig(
        JSON.stringify({
          agentId: "a",
          site: "s",
          broker: "mqtt://127.0.0.1:1",
          setups: { bos: { agentId: "b" } },
        }),
        "a.json",
      ),
    ).toThrow(/setups\.bos\.agentId is "b", expected "a"/);
  });
});

describe("the csc-agent program", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [peerAgentProgram(), ...args], {
      encoding: "utf8",
      timeout: 20_000,
    });

  it("stops with one line and a non-zero exit on a bad flag, a missing file or a bad file", () => {
    const noFlag = run();
    expect(noFlag.status).toBe(64);
    expect(noFlag.stderr.trim().split("\n")).toEqual([
      "consort csc-agent: --config <file> is required",
    ]);
    const missing = run("--config", join(dir, "nope.json"));
    expect(missing.status).toBe(66);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"agentId": ""}');
    const invalid = run("--config", bad);
    expect(invalid.status).toBe(78);
    expect(invalid.stderr.trim().split("\n")).toHaveLength(1);
    expect(invalid.stderr).toMatch(/bad\.json: "agentId" must be a non-empty string/);
  });

  it("stops with one line when the broker is unreachable", () => {
    const file = join(dir, "ok.json");
    // Port 9 on loopback: nothing listens there, so the connection is refused at once.
    writeFileSync(
      file,
      JSON.stringify({ agentId: "a", site: "s", broker: "mqtt://127.0.0.1:9", setups: {} }),
    );
    const r = run("--config", file);
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/consort csc-agent: a: .*ECONNREFUSED/);
  });
});
