import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./run-cli.js";

// The README's example commands must run in a fresh clone: every file they name is in the
// repository (they once named ../shared/... files from outside it).
const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.replace(/\\\n\s*/g, " ").split("\n"))
  .map((line) => line.replace(/#.*$/, "").trim())
  .filter((line) => /\bconsort\b/.test(line));

describe("README examples", () => {
  it("are found", () => {
    expect(commands.length).toBeGreaterThan(10);
  });
  it("name only files inside the repository, and those files exist", () => {
    const files = commands.flatMap((c) =>
      c.split(/\s+/).filter((t) => /\.(ya?ml|txt|json)$/.test(t) && !t.includes("://")),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      expect(file, file).not.toMatch(/^(\.\.\/|\/)/);
      expect(existsSync(join(repoRoot, file)), `${file} exists`).toBe(true);
    }
  });
});
