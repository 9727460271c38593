import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePeerAgentConfig, passwordsFromEnv } from "./peer-agent.js";
import { peerAgentProgram } from "./program.js";

const dir = mkdtempSync(join(tmpdir(), "consort-peer-agent-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parsePeerAgentConfig", () => {
  it("says where and what is wrong", () => {
    expect(() => parsePeerAgentConfig("{", "a.json")).toThrow(/^a\.json: not JSON/);
    expect(() => parsePeerAgentConfig("[]", "a.json")).toThrow(/expected an object/);
    expect(() => parsePeerAgentConfig('{"site": "s"}', "a.json")).toThrow(/"broker" must be/);
    expect(() =>
      parsePeerAgentConfig('{"site": "s", "broker": "mqtt://127.0.0.1:1"}', "a.json"),
    ).toThrow(/^a\.json: "agentId" must be/);
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

  it("reads one agent as a list of one, and a list of agents as such", () => {
    const one = parsePeerAgentConfig(
      JSON.stringify({ agentId: "a", site: "s", broker: "mqtt://h:1", setups: {} }),
      "a.json",
    );
    expect(one).toEqual({
      site: "s",
      broker: "mqtt://h:1",
      agents: [{ agentId: "a", setups: {} }],
    });
    const two = parsePeerAgentConfig(
      JSON.stringify({
        site: "s",
        broker: "mqtt://h:1",
        agents: [
          { agentId: "a", setups: {} },
          { agentId: "b", setups: { bos: { agentId: "b" } } },
        ],
      }),
      "a.json",
    );
    expect(two.agents.map((a) => a.agentId)).toEqual(["a", "b"]);
  });

  it("says which hosted agent is wrong", () => {
    const config = (agents: unknown) => JSON.stringify({ site: "s", broker: "mqtt://h:1", agents });
    expect(() => parsePeerAgentConfig(config({}), "a.json")).toThrow(/"agents" must be a list/);
    expect(() => parsePeerAgentConfig(config([]), "a.json")).toThrow(/"agents" is empty/);
    expect(() =>
      parsePeerAgentConfig(
        config([
          { agentId: "a", setups: {} },
          { agentId: "", setups: {} },
        ]),
        "a.json",
      ),
    ).toThrow(/^a\.json: agents\[1\]: "agentId" must be a non-empty string/);
    expect(() =>
      parsePeerAgentConfig(
        config([
          { agentId: "a", setups: {} },
          { agentId: "a", setups: {} },
        ]),
        "a.json",
      ),
    ).toThrow(/agents\[1\]: agent "a" is listed twice/);
    expect(() =>
      parsePeerAgentConfig(config([{ agentId: "a", setups: { bos: { agentId: "b" } } }]), "a.json"),
    ).toThrow(/agents\[0\]: setups\.bos\.agentId is "b", expected "a"/);
  });
});

describe("passwordsFromEnv", () => {
  it("takes each hosted agent's password from a JSON map", () => {
    const env = { CONSORT_AGENT_PASSWORDS: JSON.stringify({ a: "pa", b: "pb", c: "pc" }) };
    expect(passwordsFromEnv(env, ["a", "b", "z"])).toEqual(
      new Map([
        ["a", "pa"],
        ["b", "pb"],
      ]),
    );
  });

  it("takes a single agent's password from CONSORT_AGENT_PASSWORD", () => {
    expect(passwordsFromEnv({ CONSORT_AGENT_PASSWORD: "p" }, ["a"])).toEqual(new Map([["a", "p"]]));
    expect(passwordsFromEnv({ CONSORT_AGENT_PASSWORD: "p" }, ["a", "b"]).size).toBe(0);
    expect(passwordsFromEnv({}, ["a"]).size).toBe(0);
  });

  it("says what is wrong with the map, without echoing it", () => {
    expect(() => passwordsFromEnv({ CONSORT_AGENT_PASSWORDS: "{secret" }, ["a"])).toThrow(
      /^CONSORT_AGENT_PASSWORDS is not JSON \(expected an object of id -> password\)$/,
    );
    expect(() => passwordsFromEnv({ CONSORT_AGENT_PASSWORDS: "[]" }, ["a"])).toThrow(
      /must be a JSON object/,
    );
    expect(() => passwordsFromEnv({ CONSORT_AGENT_PASSWORDS: '{"a": 1}' }, ["a"])).toThrow(
      /the password of "a" must be a string/,
    );
  });
});

describe("the csc-agent program", () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [peerAgentProgram(), ...args], {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, ...env },
    });

  it("stops with one line and a non-zero exit on a bad flag, a missing file or a bad file", () => {
    const noFlag = run([]);
    expect(noFlag.status).toBe(64);
    expect(noFlag.stderr.trim().split("\n")).toEqual([
      "consort csc-agent: --config <file> is required",
    ]);
    const missing = run(["--config", join(dir, "nope.json")]);
    expect(missing.status).toBe(66);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"agentId": "", "site": "s", "broker": "mqtt://127.0.0.1:9"}');
    const invalid = run(["--config", bad]);
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
    const r = run(["--config", file]);
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/consort csc-agent: a: .*ECONNREFUSED/);
  });

  it("hosting several agents, stops with one line naming one when the broker is unreachable", () => {
    const file = join(dir, "several.json");
    writeFileSync(
      file,
      JSON.stringify({
        site: "s",
        broker: "mqtt://127.0.0.1:9",
        agents: ["a", "b", "c"].map((agentId) => ({ agentId, setups: {} })),
      }),
    );
    const r = run(["--config", file], {
      CONSORT_AGENT_PASSWORDS: JSON.stringify({ a: "x", b: "y", c: "z" }),
    });
    expect(r.status).toBe(69);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/consort csc-agent: [abc]: .*ECONNREFUSED/);
  });

  it("stops with one line on a bad password map, without echoing it", () => {
    const file = join(dir, "ok2.json");
    writeFileSync(
      file,
      JSON.stringify({ agentId: "a", site: "s", broker: "mqtt://127.0.0.1:9", setups: {} }),
    );
    const r = run(["--config", file], { CONSORT_AGENT_PASSWORDS: "{hunter2" });
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split("\n")).toEqual([
      "consort csc-agent: CONSORT_AGENT_PASSWORDS is not JSON (expected an object of id -> password)",
    ]);
  });
});
