import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseEnvironmentSettings } from "./adapters/index.js";

const dir = join(import.meta.dirname, "..", "examples");

describe("example agent settings", async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml"));
  it("covers every adapter", () => {
    expect(files.sort()).toEqual([
      "agent-gpio.yaml",
      "agent-modbus.yaml",
      "agent-opcua.yaml",
      "agent-serial.yaml",
      "agent-vda5050.yaml",
    ]);
  });
  for (const file of files)
    it(`${file}: its environment block is valid`, async () => {
      const settings = parse(await readFile(join(dir, file), "utf8")) as { environment: unknown };
      const r = parseEnvironmentSettings(settings.environment, `${file}: environment`);
      expect(r.ok ? "ok" : r.error).toBe("ok");
    });
});
