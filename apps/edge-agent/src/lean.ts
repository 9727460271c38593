import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";

/**
 * Process-wide settings that keep an agent process small. The agent program (`main.ts`) applies
 * them before it loads anything else; code that embeds `runAgent` in a process of its own (the
 * tests, a coordinator) is left alone, because these settings belong to the whole process.
 *
 * - V8's young generation stays at its initial size (1 MiB semi-spaces) instead of growing to
 *   16 MiB ones while the program loads: startup allocates a burst that mostly survives (modules,
 *   compiled schemas), which makes V8 grow the semi-spaces, and they then stay committed for the
 *   life of an idle process. An agent's steady work is small messages, which a 1 MiB nursery
 *   holds. The flag is read by V8 at every young-generation resize, so setting it at run time
 *   takes effect (unlike `--max-semi-space-size`, which is read once when the heap is set up).
 * - mqtt-packet's cache of 65,536 two-byte buffers (one per 16-bit number, built on the first
 *   packet written: about 7 MiB of heap) is turned off, as mqtt.js's own `writeCache: false`
 *   option does; numbers are then written into a fresh two-byte buffer each.
 * - V8's optimizing compiler (TurboFan) stays off; the baseline compilers still compile hot code.
 *   While the program loads, the functions that get hot are the module loader's own (path and
 *   URL resolution, the CommonJS export lexer), run once; and an agent's steady work is small
 *   messages and short schedules, waiting on the network. Optimizing either leaves several MiB
 *   resident (compiler memory, and the compiler's own code paged in from the node binary): about
 *   5 MiB idle and 4 MiB more busy, for no measurable speed (`consort bench footprint`: the same
 *   time to online, and a 300-activity lock-step run took as long with it off).
 *
 * None changes what the agent does. `CONSORT_AGENT_LEAN=0` turns them all off.
 */
export function leanProcess(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CONSORT_AGENT_LEAN === "0") return;
  setFlagsFromString("--semi-space-growth-factor=1");
  if (optimizerOnByDefault()) setFlagsFromString("--no-turbofan");
  try {
    // The very mqtt-packet that the transport's mqtt.js writes with: resolved from there.
    const fromProtocol = createRequire(import.meta.resolve("@consort/protocol/mqtt"));
    const fromMqtt = createRequire(fromProtocol.resolve("mqtt"));
    const packet = fromMqtt("mqtt-packet") as { writeToStream: { cacheNumbers: boolean } };
    packet.writeToStream.cacheNumbers = false;
  } catch {
    // Another layout of the dependencies: the cache stays on, which only costs memory.
  }
}

/** Unless the command line chose a tier itself (`--no-opt`, `--jitless`, `--max-opt`, ...). */
function optimizerOnByDefault(): boolean {
  const chosen = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return !chosen.some((a) => /^--(no-)?(opt|turbofan)\b|^--(jitless|max-opt)\b/.test(a));
}
