import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The compiled C-TAEMS agent program of the command line (until the edge agent hosts it). */
export function peerAgentProgram(): string {
  // This file runs from src/ctaems (tests) or dist/ctaems (the command); the program is compiled.
  const here = dirname(fileURLToPath(import.meta.url));
  const program = join(here, "..", "..", "dist", "ctaems", "peer-agent-main.js");
  if (!existsSync(program))
    throw new Error(`${program} is missing: run \`npm run build\` at the repository root`);
  return program;
}
