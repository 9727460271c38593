import type { JobShopInstance, JobShopJob, JobShopOperation } from "../model/jobshop.js";
import { jobShopIds } from "../model/jobshop.js";
import { ok, type Result } from "../result.js";
import { baseName, type InputError } from "./input-error.js";
import {
  fail,
  firstNonNumeric,
  instanceNameFromComments,
  isDurationTicks,
  jobLabel,
  readHeader,
  scanLines,
} from "./text-lines.js";

/**
 * Reads a job shop in the OR-Library layout: `#` comment lines and blank lines are ignored; a line
 * `jobs machines`; then one line per job of `machine duration` pairs in processing order, machines
 * numbered from 0. Every job visits every machine exactly once.
 *
 * Ids come from `jobShopIds` (machines m0.., jobs j0.., operations j0.o0..); releases are 0 and
 * weights 1. The instance is named by a `# instance NAME` comment, else by the file's base name.
 */
export function parseOrLibrary(text: string, source: string): Result<JobShopInstance, InputError> {
  const lines = scanLines(text);
  const content = lines.filter((l) => !l.comment);
  const headerLine = content[0];
  if (!headerLine)
    return fail(
      source,
      lines.length === 0
        ? 'empty file: expected a header line "jobs machines"'
        : 'no header line "jobs machines": the file holds only comments',
    );
  const header = readHeader(headerLine, source, 2);
  if (!header.ok) return header;
  const { jobs: jobCount, machines: machineCount } = header.value;
  const rows = content.slice(1);
  const jobs: JobShopJob[] = [];
  for (let j = 0; j < jobCount; j++) {
    const row = rows[j];
    if (!row)
      return fail(
        source,
        `the header declares ${jobCount} jobs but ${rows.length === 0 ? "no job line follows" : `only ${rows.length} job line${rows.length === 1 ? "" : "s"} follow${rows.length === 1 ? "s" : ""}`}`,
        { line: headerLine.line },
      );
    const bad = firstNonNumeric(row);
    if (bad)
      return fail(source, `${jobLabel(j)}: non-numeric token "${bad.text}"`, {
        line: row.line,
        column: bad.column,
      });
    const count = row.tokens.length;
    if (count % 2 !== 0)
      return fail(
        source,
        `${jobLabel(j)} has ${count} numbers, an odd count: expected ${machineCount} "machine duration" pairs (${2 * machineCount} numbers)`,
        { line: row.line },
      );
    if (count / 2 !== machineCount)
      return fail(
        source,
        `${jobLabel(j)} has ${count / 2} operations, expected ${machineCount} (one per machine)`,
        { line: row.line },
      );
    const operations: JobShopOperation[] = [];
    const seen = new Map<number, number>();
    for (let k = 0; k < machineCount; k++) {
      const machine = row.tokens[2 * k]!;
      const duration = row.tokens[2 * k + 1]!;
      const m = machine.value!;
      if (!Number.isInteger(m) || m < 0 || m >= machineCount)
        return fail(
          source,
          `${jobLabel(j)}, operation ${k + 1}: machine index ${machine.text} ${Number.isInteger(m) ? "out of range" : "is not an integer in"} 0..${machineCount - 1}`,
          { line: row.line, column: machine.column },
        );
      const earlier = seen.get(m);
      if (earlier !== undefined)
        return fail(
          source,
          `${jobLabel(j)}: machine ${m} is repeated (operations ${earlier + 1} and ${k + 1}); a job visits each machine once`,
          { line: row.line, column: machine.column },
        );
      seen.set(m, k);
      if (!isDurationTicks(duration.value!))
        return fail(
          source,
          `${jobLabel(j)}, operation ${k + 1}: duration ${duration.text} must be a whole number of ticks, 0 or more`,
          { line: row.line, column: duration.column },
        );
      operations.push({
        id: jobShopIds.operation(j, k),
        machine: m,
        durationTicks: duration.value!,
      });
    }
    jobs.push({ id: jobShopIds.job(j), operations, releaseTicks: 0, weight: 1 });
  }
  const extra = rows[jobCount];
  if (extra)
    return fail(
      source,
      `more job lines than the ${jobCount} declared in the header (line ${headerLine.line})`,
      { line: extra.line },
    );
  return ok({
    name: instanceNameFromComments(lines) ?? baseName(source),
    machineIds: Array.from({ length: machineCount }, (_, m) => jobShopIds.machine(m)),
    jobs,
  });
}
