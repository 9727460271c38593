import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  DISPATCH_RULES,
  dispatchSchedule,
  formatInputError,
  type JobShopInstance,
  parseOrLibrary,
  solveJobShop,
} from "@consort/core";
import { machineLine, median, writeSection } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";
import { readText } from "../load-problem.js";

export interface BenchJobShopFlags {
  readonly data: string;
  readonly timeLimit: number;
  readonly seeds: number;
  readonly out?: string;
  readonly json: boolean;
}

interface Row {
  instance: string;
  size: string;
  optimum: number;
  dispatch: number;
  found: number[];
  seconds: number[];
}

const gap = (value: number, optimum: number) => (100 * (value - optimum)) / optimum;

/** `consort bench jobshop`: gap to proven optima, against the dispatch-rule baseline of the same run. */
export async function benchJobShopCommand(
  flags: BenchJobShopFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const optimaText = await readText(join(flags.data, "optima.json"));
  let optima: Record<string, number>;
  try {
    optima = JSON.parse(optimaText) as Record<string, number>;
  } catch (error) {
    throw new CliError(
      `${join(flags.data, "optima.json")}: not valid JSON (${(error as Error).message})`,
      EXIT.dataError,
    );
  }
  const files = (await readdir(flags.data))
    .filter((f) => f.endsWith(".txt") && optima[basename(f, ".txt")] !== undefined)
    .sort();
  if (files.length === 0)
    throw new CliError(`${flags.data}: no instance with an optimum in optima.json`, EXIT.noInput);

  const rows: Row[] = [];
  for (const file of files) {
    const path = join(flags.data, file);
    const parsed = parseOrLibrary(await readText(path), path);
    if (!parsed.ok) throw new CliError(formatInputError(parsed.error), EXIT.dataError);
    const instance: JobShopInstance = parsed.value;
    const name = basename(file, ".txt");
    const optimum = optima[name]!;
    const dispatch = Math.min(
      ...DISPATCH_RULES.map((rule) => dispatchSchedule(instance, rule).makespan),
    );
    const row: Row = {
      instance: name,
      size: `${instance.jobs.length}x${instance.machineIds.length}`,
      optimum,
      dispatch,
      found: [],
      seconds: [],
    };
    for (let seed = 1; seed <= flags.seeds; seed++) {
      const started = performance.now();
      const solution = solveJobShop(instance, {
        objective: "makespan",
        seed,
        timeLimitMs: flags.timeLimit * 1000,
        now: () => performance.now(),
      });
      const seconds = (performance.now() - started) / 1000;
      row.found.push(solution.value);
      row.seconds.push(seconds);
      err.write(
        `${name} seed ${seed}: ${solution.value} (optimum ${optimum}, gap ${gap(solution.value, optimum).toFixed(2)}%) in ${seconds.toFixed(1)} s\n`,
      );
    }
    rows.push(row);
  }

  const command = `consort bench jobshop --time-limit ${flags.timeLimit} --seeds ${flags.seeds}`;
  const table = [
    "| instance | size | optimum | dispatch (gap %) | found, median (gap %) | found, worst (gap %) | seconds, median |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => {
      const med = median(r.found);
      const worst = Math.max(...r.found);
      return `| ${r.instance} | ${r.size} | ${r.optimum} | ${r.dispatch} (${gap(r.dispatch, r.optimum).toFixed(1)}) | ${med} (${gap(med, r.optimum).toFixed(2)}) | ${worst} (${gap(worst, r.optimum).toFixed(2)}) | ${median(r.seconds).toFixed(1)} |`;
    }),
  ].join("\n");
  const section = [
    "## Job shop: reference solver against proven optima",
    "",
    `Command: \`npm run bench\` (runs \`${command}\`)  `,
    `Machine: ${machineLine()}  `,
    `Runs: ${flags.seeds} seeds per instance, ${flags.timeLimit} s each, one thread; the search stops early when it reaches the lower bound. The baseline is the best dispatch rule's schedule, measured in the same run.`,
    "",
    table,
  ].join("\n");
  if (flags.out) await writeSection(flags.out, "jobshop", section);
  if (flags.json) {
    out.write(
      `${JSON.stringify({ benchmark: "jobshop", command, machine: machineLine(), rows })}\n`,
    );
  } else out.write(`${section}\n`);
  return EXIT.ok;
}
