import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { loadSettings } from "./settings.js";

const Schema = Type.Object(
  { name: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1 }), dev: Type.Boolean() },
  { additionalProperties: false },
);
const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "consort-settings-")), "s.yaml");
  writeFileSync(path, text);
  return path;
};

describe("loadSettings", () => {
  it("layers defaults, file, environment and flags", async () => {
    const r = await loadSettings(
      Schema,
      { name: "a", port: 1, dev: false },
      {
        file: file("port: 2\nname: from-file\n"),
        env: { vars: { X_PORT: "3", X_DEV: "true" }, names: { X_PORT: "port", X_DEV: "dev" } },
        flags: { name: "from-flag", port: undefined },
      },
    );
    expect(r).toEqual({ ok: true, value: { name: "from-flag", port: 3, dev: true } });
  });
  it("reads JSON and YAML files alike, YAML flow style included", async () => {
    const want = { ok: true, value: { name: "n", port: 2, dev: true } };
    const load = (text: string) => loadSettings(Schema, {}, { file: file(text) });
    expect(await load('{ "name": "n", "port": 2, "dev": true }\n')).toEqual(want);
    expect(await load("{ name: n, port: 2, dev: true }\n")).toEqual(want);
    expect(await load("name: n\nport: 2\ndev: true\n")).toEqual(want);
    const bad = await load('{ "name": "n", \n');
    expect(!bad.ok && bad.error).toMatch(/s\.yaml: not valid YAML or JSON: /);
  });
  it("names the key, what was expected, what came and where it came from", async () => {
    const fromFile = await loadSettings(
      Schema,
      { name: "a", dev: false },
      { file: file("port: -4\n") },
    );
    expect(!fromFile.ok && fromFile.error).toMatch(
      /^settings: "port" must be a whole number >= 1, got -4 \(from \/.*\/s\.yaml\)$/,
    );
    const fromEnv = await loadSettings(
      Schema,
      { name: "a", dev: false },
      { env: { vars: { X_PORT: "many" }, names: { X_PORT: "port" } } },
    );
    expect(!fromEnv.ok && fromEnv.error).toBe(
      'settings: "port" must be a whole number >= 1, got "many" (from X_PORT)',
    );
    const flag = await loadSettings(
      Schema,
      { name: "a", port: 1 },
      { env: { vars: { X_DEV: "maybe" }, names: { X_DEV: "dev" } } },
    );
    expect(!flag.ok && flag.error).toBe(
      'settings: "dev" must be true or false, got "maybe" (from X_DEV)',
    );
    const fromFlags = await loadSettings(Schema, { name: "a", dev: false }, { flags: { port: 0 } });
    expect(!fromFlags.ok && fromFlags.error).toBe(
      'settings: "port" must be a whole number >= 1, got 0 (from the command line)',
    );
    const unknown = await loadSettings(
      Schema,
      { name: "a", port: 1, dev: false },
      { file: file("colour: red\n") },
    );
    expect(!unknown.ok && unknown.error).toMatch(
      /^settings: "colour" is not a setting \(from .*s\.yaml\); known: name, port, dev$/,
    );
    const missing = await loadSettings(
      Schema,
      {},
      { file: join(tmpdir(), "no-such-settings.yaml") },
    );
    expect(!missing.ok && missing.error).toMatch(
      /no-such-settings\.yaml: cannot read: no such file/,
    );
  });

  it("says what a missing key should be, and where it may be given", async () => {
    const Described = Type.Object({
      journal: Type.String({ minLength: 1, description: "a file path for the agent's journal" }),
      mode: Type.Union([Type.Literal("wall"), Type.Literal("lockstep")]),
      sim: Type.Optional(Type.Object({ key: Type.Integer({ minimum: 0 }) })),
    });
    const env = { vars: {}, names: { X_JOURNAL: "journal" } };
    const noJournal = await loadSettings(Described, { mode: "wall" }, { env });
    expect(!noJournal.ok && noJournal.error).toBe(
      `settings: "journal" is missing (expected a file path for the agent's journal; give it in the settings file or X_JOURNAL)`,
    );
    const badMode = await loadSettings(
      Described,
      { journal: "j" },
      { file: file("mode: sundial\n") },
    );
    expect(!badMode.ok && badMode.error).toMatch(
      /^settings: "mode" must be one of "wall", "lockstep", got "sundial" \(from .*s\.yaml\)$/,
    );
    const nested = await loadSettings(
      Described,
      { journal: "j", mode: "wall" },
      { file: file("sim: {}\n") },
    );
    expect(!nested.ok && nested.error).toMatch(
      /^settings: "sim\.key" is missing in .*s\.yaml \(expected a whole number >= 0\)$/,
    );
  });

  it("never echoes a password", async () => {
    const Secret = Type.Object({ password: Type.String({ minLength: 8 }) });
    const r = await loadSettings(Secret, {}, { file: file("password: hunter2\n") });
    expect(!r.ok && r.error).toMatch(
      /"password" must be text of at least 8 characters, got something else/,
    );
    expect(!r.ok && r.error).not.toContain("hunter2");
  });
});
