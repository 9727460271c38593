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
  it("says where a bad value came from", async () => {
    const fromFile = await loadSettings(
      Schema,
      { name: "a", dev: false },
      { file: file("port: -4\n") },
    );
    expect(!fromFile.ok && fromFile.error).toMatch(
      /s\.yaml: port: Expected integer to be greater or equal to 1 \(got -4\)/,
    );
    const fromEnv = await loadSettings(
      Schema,
      { name: "a", dev: false },
      { env: { vars: { P: "many" }, names: { P: "port" } } },
    );
    expect(!fromEnv.ok && fromEnv.error).toMatch(/^P: port: /);
    const unknown = await loadSettings(
      Schema,
      { name: "a", port: 1, dev: false },
      { file: file("colour: red\n") },
    );
    expect(unknown.ok).toBe(false);
    const missing = await loadSettings(
      Schema,
      {},
      { file: join(tmpdir(), "no-such-settings.yaml") },
    );
    expect(!missing.ok && missing.error).toMatch(
      /no-such-settings\.yaml: cannot read: no such file/,
    );
  });
});
