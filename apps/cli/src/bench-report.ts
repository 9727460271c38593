import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";

/** One line naming the machine a benchmark ran on. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${cpu}, ${os.availableParallelism()} cores, ${gib} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

/**
 * Rewrites one benchmark's section of a results file, between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, leaving the other benchmarks' sections as they were.
 */
export async function writeSection(file: string, name: string, markdown: string): Promise<void> {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    text =
      "# Benchmark results\n\nEach section is rewritten by the command it names, on the machine it names.\n";
  }
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + close.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
}

export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Nearest-rank percentile (q in (0, 1]); NaN for no values. */
export const percentile = (values: readonly number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
