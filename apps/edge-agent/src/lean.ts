import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";

/**
 * Process-wide settings that keep an agent process small. The agent program (`main.ts`) applies
 * them before it loads anything else; code that embeds `runAgent` in a process of its own (the
 * tests, a coordinator) is left alone, because both settings belong to the whole process.
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
 *
 * - V8's optimizing compiler (TurboFan) waits until the agent is online (`leanOnline`). While the
 *   program loads, the functions that get hot are the module loader's own (path and URL
 *   resolution, the CommonJS export lexer), run once; optimizing them leaves several MiB of
 *   compiler memory and touched compiler code resident for nothing. Once online, the agent's
 *   own hot code is optimized as usual.
 *
 * None changes what the agent does. `CONSORT_AGENT_LEAN=0` turns them all off.
 */
export function leanProcess(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CONSORT_AGENT_LEAN === "0") return;
  setFlagsFromString("--semi-space-growth-factor=1");
  if (optimizerOnByDefault()) {
    setFlagsFromString("--no-turbofan");
    deferredOptimizer = true;
  }
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

let deferredOptimizer = false;

/** Unless the command line chose otherwise (`--no-opt`, `--jitless`, ...). */
function optimizerOnByDefault(): boolean {
  return !process.execArgv.some((a) => /^--(no-opt|no-turbofan|jitless|max-opt)\b/.test(a));
}

/** Once the agent is online: V8's optimizing compiler back on (see `leanProcess`). */
export function leanOnline(): void {
  if (!deferredOptimizer) return;
  deferredOptimizer = false;
  setFlagsFromString("--turbofan");
}
