#!/usr/bin/env node
// The package registry this project is built against serves the native packages of Linux only,
// so `npm install` leaves the macOS / Windows / musl variants of a few tools out of
// package-lock.json, and `npm ci` then refuses the lock file as out of sync. This adds the
// missing optional platform entries (version, os, cpu; never installed on another platform).
// Run it after any `npm install` that changes package-lock.json: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const packages = lock.packages;

/** os / cpu / libc of a platform package, read from its name. */
function platformOf(name) {
  const tail = name.split("/").pop();
  const os = /darwin/.test(tail)
    ? "darwin"
    : /win32|windows/.test(tail)
      ? "win32"
      : /android/.test(tail)
        ? "android"
        : /freebsd/.test(tail)
          ? "freebsd"
          : "linux";
  const cpu = /arm64/.test(tail)
    ? "arm64"
    : /-arm(-|$)/.test(tail)
      ? "arm"
      : /x64|-64$/.test(tail)
        ? "x64"
        : undefined;
  const libc = /musl/.test(tail) ? "musl" : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  if (!path.startsWith("node_modules/") || !entry.optionalDependencies) continue;
  for (const [dep, version] of Object.entries(entry.optionalDependencies)) {
    const key = `node_modules/${dep}`;
    if (packages[key]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!cpu) continue; // not a platform package; leave it to npm
    packages[key] = {
      version,
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) =>
    a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
lock.packages = sorted;
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
