#!/usr/bin/env node
// Builds the self-contained edge-agent bundle: `npm run bundle:agent` -> dist/edge-agent/.
// Rolldown (already in the tree through vitest) bundles apps/edge-agent/dist/main.js and
// everything it loads into ES modules; code reached by dynamic import stays in its own chunk, so
// an agent loads only the adapter its settings name. The device adapters are entries of their
// own, laid out as node_modules/@consort/hardware/adapters/<name>.js with a package.json whose
// exports match the workspace's, so `import("@consort/hardware/adapters/modbus")` resolves in the
// bundle as it does in the repository, whether or not the agent's code names it literally.
// Native optional dependencies stay external (see EXTERNAL): the agent runs without them.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = outIndex >= 0 ? args[outIndex + 1] : join(root, "dist/edge-agent");
const adaptersIndex = args.indexOf("--adapters");
const ALL_ADAPTERS = ["modbus", "opcua", "vda5050", "serial", "gpio"];
const adapters =
  adaptersIndex >= 0 ? args[adaptersIndex + 1].split(",").filter(Boolean) : ALL_ADAPTERS;
for (const a of adapters)
  if (!ALL_ADAPTERS.includes(a)) {
    process.stderr.write(
      `bundle-agent: --adapters: unknown adapter "${a}" (${ALL_ADAPTERS.join(", ")})\n`,
    );
    process.exit(64);
  }

// Native add-ons cannot be bundled; each is optional where it is used:
// - msgpackr-extract: msgpackr falls back to its JavaScript decoder;
// - serialport (@serialport/bindings-cpp): modbus-serial loads it in try/catch; the serial adapter
//   needs it (prebuilt for linux x64, arm64, armv7);
// - node-libgpiod: the GPIO adapter loads it by a name the bundler does not follow, built on the board.
const EXTERNAL = [/^msgpackr-extract(\/|$)/, /^serialport(\/|$)/, /^@serialport\//];

const main = join(root, "apps/edge-agent/dist/main.js");
if (!existsSync(main)) {
  process.stderr.write(
    `bundle-agent: ${relative(root, main)} is missing: run npm run build first\n`,
  );
  process.exit(66);
}
const input = { main };
for (const a of adapters) {
  const file = join(root, `hardware/dist/adapters/${a}/index.js`);
  if (!existsSync(file)) {
    process.stderr.write(
      `bundle-agent: ${relative(root, file)} is missing: run npm run build first\n`,
    );
    process.exit(66);
  }
  input[`node_modules/@consort/hardware/adapters/${a}`] = file;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bundle = await rolldown({
  input,
  platform: "node",
  external: EXTERNAL,
  logLevel: "warn",
  // Rolldown warns about `eval` and circular imports inside some dependencies: not ours to fix.
  onLog(level, log, handler) {
    if (log.code === "EVAL" || log.code === "CIRCULAR_DEPENDENCY") return;
    // node-opcua's optional file lock, not installed in the repository either.
    if (log.code === "UNRESOLVED_IMPORT" && log.message.includes("proper-lockfile")) return;
    handler(level, log);
  },
});
const { output } = await bundle.write({
  dir: out,
  format: "esm",
  entryFileNames: "[name].js",
  chunkFileNames: "chunks/[name]-[hash].js",
  minify: true,
  // Line 1 of main.js: the unit and the install script run it with node directly, so no shebang.
});
await bundle.close();

// The adapters' package: exports as in hardware/package.json, pointing at the bundled entries.
const hardwarePkg = {
  name: "@consort/hardware",
  version: JSON.parse(readFileSync(join(root, "hardware/package.json"), "utf8")).version,
  private: true,
  type: "module",
  exports: Object.fromEntries(adapters.map((a) => [`./adapters/${a}`, `./adapters/${a}.js`])),
};
writeFileSync(
  join(out, "node_modules/@consort/hardware/package.json"),
  `${JSON.stringify(hardwarePkg, null, 2)}\n`,
);

const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const agentPkg = {
  name: "consort-edge-agent",
  version: rootPkg.version,
  private: true,
  description: "One Consort scheduler agent, bundled: node main.js --config FILE",
  type: "module",
  license: rootPkg.license,
  engines: rootPkg.engines,
  main: "main.js",
  bin: { "consort-agent": "main.js" },
  // Not needed; installed next to main.js they are used (see README, "Edge boards").
  optionalDependencies: optionalVersions(),
};
writeFileSync(join(out, "package.json"), `${JSON.stringify(agentPkg, null, 2)}\n`);

const deploy = join(root, "hardware/deploy");
for (const f of readdirSync(deploy)) cpSync(join(deploy, f), join(out, f), { recursive: true });
// Example settings for each adapter.
cpSync(join(root, "hardware/examples"), join(out, "examples"), { recursive: true });

function optionalVersions() {
  const versions = {};
  for (const name of ["msgpackr-extract", "serialport", "node-libgpiod"]) {
    const pkg = join(root, "node_modules", name, "package.json");
    if (existsSync(pkg)) versions[name] = `^${JSON.parse(readFileSync(pkg, "utf8")).version}`;
  }
  return versions;
}

function sizeOf(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

// Which adapter each chunk serves, so the summary can say what loads with what.
const js = output.filter((o) => o.type === "chunk");
const total = js.reduce((n, c) => n + Buffer.byteLength(c.code), 0);
const mainChunk = js.find((c) => c.fileName === "main.js");
function agentBytes() {
  const seen = new Set();
  const walk = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const c = js.find((x) => x.fileName === name);
    for (const i of [...c.imports, ...c.dynamicImports])
      if (js.some((x) => x.fileName === i) && !i.startsWith("node_modules/")) walk(i);
  };
  walk(mainChunk.fileName);
  return [...seen].reduce(
    (n, f) => n + Buffer.byteLength(js.find((x) => x.fileName === f).code),
    0,
  );
}
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const lines = [
  `bundle: ${relative(process.cwd(), out) || "."}`,
  `  agent (main.js and its chunks, without adapters): ${kib(agentBytes())}`,
  ...adapters.map((a) => {
    const entry = js.find((c) => c.fileName === `node_modules/@consort/hardware/adapters/${a}.js`);
    // The entry and every chunk it imports that main.js does not.
    const seen = new Set();
    const walk = (name) => {
      if (seen.has(name)) return;
      seen.add(name);
      const c = js.find((x) => x.fileName === name);
      for (const i of [...c.imports, ...c.dynamicImports])
        if (js.some((x) => x.fileName === i)) walk(i);
    };
    walk(entry.fileName);
    const mainSet = new Set();
    const walkMain = (name) => {
      if (mainSet.has(name)) return;
      mainSet.add(name);
      const c = js.find((x) => x.fileName === name);
      for (const i of [...c.imports, ...c.dynamicImports])
        if (js.some((x) => x.fileName === i) && !i.startsWith("node_modules/")) walkMain(i);
    };
    walkMain("main.js");
    const own = [...seen].filter((n) => !mainSet.has(n));
    const bytes = own.reduce(
      (n, f) => n + Buffer.byteLength(js.find((x) => x.fileName === f).code),
      0,
    );
    return `  adapter ${a}: ${kib(bytes)} more, loaded only when configured`;
  }),
  `  JavaScript in all: ${kib(total)} in ${js.length} files; directory: ${kib(sizeOf(out))}`,
  `  external, optional: msgpackr-extract, serialport, node-libgpiod`,
];
process.stdout.write(`${lines.join("\n")}\n`);
