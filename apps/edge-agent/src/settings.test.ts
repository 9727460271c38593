import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostedAgents, loadAgentSettings } from "./settings.js";

const dir = mkdtempSync(join(tmpdir(), "consort-agent-settings-"));
const file = (name: string, value: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};
const base = { site: "s", broker: "mqtt://127.0.0.1:1883" };

describe("agent settings", () => {
  it("run one CAMPS agent by default, as before", async () => {
    const r = await loadAgentSettings(
      file("one.json", { ...base, agentId: "m1", journal: "/tmp/m1.journal" }),
      { CONSORT_AGENT_PASSWORD: "pw" },
      {},
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.family).toBe("camps");
    expect(hostedAgents(r.value)).toEqual({
      ok: true,
      value: [
        {
          agentId: "m1",
          family: "camps",
          resourceId: "m1",
          username: "m1",
          password: "pw",
          journal: "/tmp/m1.journal",
        },
      ],
    });
  });

  it("host several C-TAEMS agents, each with its identity, password and journal", async () => {
    const r = await loadAgentSettings(
      file("many.json", {
        ...base,
        family: "ctaems",
        // One process may host both families: b runs the CAMPS scheduler agent.
        agents: [{ agentId: "a" }, { agentId: "b", family: "camps", journal: "/elsewhere/b.j" }],
        journalDir: "/j",
      }),
      { CONSORT_AGENT_PASSWORDS: JSON.stringify({ a: "pa", b: "pb", z: "pz" }) },
      {},
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.family).toBe("ctaems");
    const hosted = hostedAgents(r.value);
    expect(hosted.ok && hosted.value).toEqual([
      {
        agentId: "a",
        family: "ctaems",
        resourceId: "a",
        username: "a",
        password: "pa",
        journal: "/j/a.journal",
      },
      {
        agentId: "b",
        family: "camps",
        resourceId: "b",
        username: "b",
        password: "pb",
        journal: "/elsewhere/b.j",
      },
    ]);
  });

  it("take the family from the environment", async () => {
    const r = await loadAgentSettings(
      file("env.json", { ...base, agentId: "a", journalDir: "/j" }),
      { CONSORT_AGENT_FAMILY: "ctaems" },
      {},
    );
    expect(r.ok && r.value.family).toBe("ctaems");
  });

  it("say which setting is wrong and what was expected", async () => {
    const fail = async (value: unknown, env: NodeJS.ProcessEnv = {}) => {
      const r = await loadAgentSettings(file("bad.json", value), env, {});
      if (r.ok) throw new Error("accepted");
      return r.error;
    };
    expect(await fail({ ...base, journal: "/j" })).toBe(
      `${join(dir, "bad.json")}: "agentId" (one agent) or "agents" (a list of {agentId}) is required`,
    );
    expect(await fail({ ...base, agentId: "a" })).toMatch(
      /"journal" \(a file\) or "journalDir" \(a folder\) is required/,
    );
    expect(
      await fail({ ...base, agentId: "a", agents: [{ agentId: "b" }], journalDir: "/j" }),
    ).toMatch(/either "agentId" \(one agent\) or "agents" \(several\), not both/);
    expect(await fail({ ...base, agents: [{ agentId: "a" }], journal: "/j" })).toMatch(
      /"journal" is one agent's file: with "agents", give "journalDir" or each its "journal"/,
    );
    expect(
      await fail({ ...base, agents: [{ agentId: "a" }, { agentId: "a" }], journalDir: "/j" }),
    ).toMatch(/agents\[1\]: agent "a" is listed twice/);
    expect(await fail({ ...base, agentId: "a", journalDir: "/j", family: "jobshop" })).toBe(
      `${join(dir, "bad.json")}: family: expected one of "camps", "ctaems" (got "jobshop")`,
    );
    expect(
      await fail({ ...base, agents: [{ agentId: "a", family: "csc" }], journalDir: "/j" }),
    ).toMatch(/: agents\.0\.family: expected one of "camps", "ctaems" \(got "csc"\)$/);
    expect(await fail({ ...base, agentId: "a", jurnal: "/j" })).toMatch(
      /: jurnal: not a setting; allowed: family, agentId, agents, .*journal, journalDir/,
    );
    expect(
      await fail(
        { ...base, agentId: "a", journalDir: "/j" },
        { CONSORT_AGENT_PASSWORDS: "{hunter2" },
      ),
    ).toBe("CONSORT_AGENT_PASSWORDS is not JSON (expected an object of agent id -> password)");
    expect(
      await fail(
        { ...base, agentId: "a", journalDir: "/j" },
        { CONSORT_AGENT_PASSWORDS: '{"a": 1}' },
      ),
    ).toBe('CONSORT_AGENT_PASSWORDS: the password of "a" must be a non-empty string');
  });
});
