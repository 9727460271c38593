/**
 * What Linux's /proc says of a process: its resident memory and CPU time. For the benchmarks that
 * measure agent processes (`bench footprint`, `bench scale`).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** A `Name:   123 kB` field of /proc/PID/status or smaps_rollup; NaN when absent. */
const kibField = (text: string, name: string): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

/** One process's memory, from /proc (KiB). */
export interface Memory {
  /** Resident set size (VmRSS), shared pages of the node binary included. */
  readonly rssKiB: number;
  /** Proportional set size: shared pages divided among the processes that map them. */
  readonly pssKiB: number;
  /** Pages only this process maps. */
  readonly privateKiB: number;
}

/** A process's memory from /proc/PID/status and /proc/PID/smaps_rollup (Linux). */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  let pss = Number.NaN;
  let priv = Number.NaN;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    pss = kibField(rollup, "Pss");
    priv = kibField(rollup, "Private_Clean") + kibField(rollup, "Private_Dirty");
  } catch {
    // Kernels before 4.14 have no smaps_rollup: RSS only.
  }
  return { rssKiB: kibField(status, "VmRSS"), pssKiB: pss, privateKiB: priv };
}

/** Resident memory now, KiB; 0 once the process is gone. */
export function rssNow(pid: number): number {
  return sampleProcess(pid)?.rssKiB ?? 0;
}

/** What /proc says of one process: resident memory now and at its peak, and CPU used. */
export interface ProcSample {
  readonly rssKiB: number;
  readonly peakKiB: number;
  readonly cpuMs: number;
}

let clockTicks: number | undefined;
/** The kernel's clock ticks per second (for /proc/PID/stat's CPU times). */
function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      clockTicks = 100;
    }
    if (!Number.isFinite(clockTicks) || clockTicks <= 0) clockTicks = 100;
  }
  return clockTicks;
}

/** Reads a process's resident memory (VmRSS, VmHWM) and CPU time; undefined once it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuMs = ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicksPerSecond();
    return { rssKiB: kibField(status, "VmRSS"), peakKiB: kibField(status, "VmHWM"), cpuMs };
  } catch {
    return undefined;
  }
}
