import type { JobShopInstance, JobShopJob } from "../model/jobshop.js";
import { jobShopIds } from "../model/jobshop.js";
import { ok, type Result } from "../result.js";
import { baseName, type InputError } from "./input-error.js";
import {
  fail,
  firstNonNumeric,
  instanceNameFromComments,
  isDurationTicks,
  isWordLine,
  jobLabel,
  readHeader,
  scanLines,
  type TextLine,
} from "./text-lines.js";

/** The section labels of Taillard's published files. */
const sectionLabel = (line: TextLine): "times" | "machines" | undefined => {
  if (line.tokens.length !== 1) return undefined;
  const word = line.tokens[0]!.text.replace(/:$/, "").toLowerCase();
  return word === "times" || word === "machines" ? word : undefined;
};

/**
 * Reads a job shop in Taillard's layout: a header line `jobs machines` (Taillard's files add the
 * seeds and bounds after these two numbers; they are ignored), then the processing-time matrix
 * (one row per job, in processing order), then the machine-order matrix (one row per job, machines
 * numbered from 1). Word lines as in Taillard's files are skipped: a description line before the
 * header ("Nb of jobs, Nb of Machines, ...") and the labels `Times` and `Machines`. `#` comment
 * lines and blank lines are ignored. A file holds one instance.
 *
 * Ids, releases, weights and the name are as in `parseOrLibrary`.
 */
export function parseTaillard(text: string, source: string): Result<JobShopInstance, InputError> {
  const lines = scanLines(text);
  const content = lines.filter((l) => !l.comment);
  if (content.length === 0)
    return fail(
      source,
      lines.length === 0
        ? 'empty file: expected a header line "jobs machines"'
        : 'no header line "jobs machines": the file holds only comments',
    );
  let start = 0;
  while (content[start] && isWordLine(content[start]!) && !sectionLabel(content[start]!)) start++;
  const headerLine = content[start];
  if (!headerLine || sectionLabel(headerLine))
    return fail(source, 'no header line "jobs machines" before the matrices', {
      line: (headerLine ?? content[0]!).line,
    });
  const header = readHeader(headerLine, source, undefined);
  if (!header.ok) return header;
  const { jobs: n, machines: m } = header.value;

  const plain: TextLine[] = [];
  const timesSection: TextLine[] = [];
  const machinesSection: TextLine[] = [];
  let section: "none" | "times" | "machines" = "none";
  let timesLabel: TextLine | undefined;
  let machinesLabel: TextLine | undefined;
  for (const line of content.slice(start + 1)) {
    const label = sectionLabel(line);
    if (label === "times" && !timesLabel && !machinesLabel) {
      timesLabel = line;
      section = "times";
      continue;
    }
    if (label === "machines" && !machinesLabel) {
      machinesLabel = line;
      section = "machines";
      continue;
    }
    const bad = firstNonNumeric(line);
    if (bad) {
      if (isWordLine(line) && /^nb\b/i.test(line.tokens[0]!.text))
        return fail(
          source,
          "a second instance starts here; Taillard's files hold several instances: put each in its own file",
          { line: line.line },
        );
      return fail(source, `non-numeric token "${bad.text}"`, {
        line: line.line,
        column: bad.column,
      });
    }
    (section === "none" ? plain : section === "times" ? timesSection : machinesSection).push(line);
  }
  if (timesLabel && plain.length > 0)
    return fail(source, `numbers between the header and the "Times" label`, {
      line: plain[0]!.line,
    });
  const headerAt = { line: headerLine.line };
  let timeRows: TextLine[];
  let orderRows: TextLine[];
  if (machinesLabel) {
    timeRows = timesLabel ? timesSection : plain;
    orderRows = machinesSection;
    const counted: [TextLine[], string][] = [
      [timeRows, "processing-time"],
      [orderRows, "machine-order"],
    ];
    for (const [rows, what] of counted) {
      if (rows.length < n)
        return fail(
          source,
          `the header declares ${n} jobs but the ${what} matrix has ${rows.length} row${rows.length === 1 ? "" : "s"}`,
          headerAt,
        );
      if (rows.length > n)
        return fail(
          source,
          `more ${what} rows than the ${n} jobs declared in the header (line ${headerLine.line})`,
          { line: rows[n]!.line },
        );
    }
  } else {
    const rows = timesLabel ? timesSection : plain;
    if (rows.length < 2 * n)
      return fail(
        source,
        `the header declares ${n} jobs: expected ${2 * n} rows (${n} of processing times, then ${n} of machine orders), found ${rows.length}`,
        headerAt,
      );
    if (rows.length > 2 * n)
      return fail(
        source,
        `more rows than declared: the header (line ${headerLine.line}) declares ${n} jobs, so ${2 * n} rows (${n} of processing times, then ${n} of machine orders)`,
        { line: rows[2 * n]!.line },
      );
    timeRows = rows.slice(0, n);
    orderRows = rows.slice(n);
  }

  for (let j = 0; j < n; j++) {
    const row = timeRows[j]!;
    if (row.tokens.length !== m)
      return fail(
        source,
        `processing-time row of ${jobLabel(j)} has ${row.tokens.length} numbers, expected ${m}`,
        { line: row.line },
      );
    const bad = row.tokens.findIndex((t) => !isDurationTicks(t.value!));
    if (bad >= 0)
      return fail(
        source,
        `${jobLabel(j)}, operation ${bad + 1}: duration ${row.tokens[bad]!.text} must be a whole number of ticks, 0 or more`,
        { line: row.line, column: row.tokens[bad]!.column },
      );
  }
  const jobs: JobShopJob[] = [];
  for (let j = 0; j < n; j++) {
    const row = orderRows[j]!;
    if (row.tokens.length !== m)
      return fail(
        source,
        `machine-order row of ${jobLabel(j)} has ${row.tokens.length} numbers, expected ${m}`,
        { line: row.line },
      );
    const seen = new Map<number, number>();
    for (const [k, token] of row.tokens.entries()) {
      const machine = token.value!;
      if (!Number.isInteger(machine) || machine < 1 || machine > m)
        return fail(
          source,
          `${jobLabel(j)}, operation ${k + 1}: machine ${token.text} ${Number.isInteger(machine) ? "out of range" : "is not an integer in"} 1..${m}${machine === 0 ? " (Taillard's layout numbers machines from 1)" : ""}`,
          { line: row.line, column: token.column },
        );
      const earlier = seen.get(machine);
      if (earlier !== undefined)
        return fail(
          source,
          `machine order of ${jobLabel(j)} is not a permutation of 1..${m}: machine ${machine} appears twice (operations ${earlier + 1} and ${k + 1})`,
          { line: row.line, column: token.column },
        );
      seen.set(machine, k);
    }
    const times = timeRows[j]!.tokens;
    jobs.push({
      id: jobShopIds.job(j),
      operations: row.tokens.map((token, k) => ({
        id: jobShopIds.operation(j, k),
        machine: token.value! - 1,
        durationTicks: times[k]!.value!,
      })),
      releaseTicks: 0,
      weight: 1,
    });
  }
  return ok({
    name: instanceNameFromComments(lines) ?? baseName(source),
    machineIds: Array.from({ length: m }, (_, k) => jobShopIds.machine(k)),
    jobs,
  });
}
