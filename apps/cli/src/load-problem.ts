import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import {
  detectJobShopFormat,
  formatInputError,
  indexModel,
  type JobShopInstance,
  jobShopToModel,
  type ModelIndex,
  modelToJobShop,
  parseOrLibrary,
  parseScenario,
  parseTaillard,
  type Scenario,
  scenarioIssue,
  type TaskModel,
} from "@consort/core";
import { CliError, EXIT } from "./errors.js";

export const INPUT_FORMATS = ["orlib", "taillard", "scenario"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export const FORMAT_NAMES: Record<InputFormat, string> = {
  orlib: "OR-Library",
  taillard: "Taillard",
  scenario: "scenario",
};

export interface LoadedProblem {
  readonly source: string;
  readonly format: InputFormat;
  readonly model: TaskModel;
  readonly index: ModelIndex;
  /** The parsed scenario, when the file is one: it locates later issues in the file. */
  readonly scenario?: Scenario;
}

/** Reads a file as text, turning the usual failures into one readable line. */
export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CliError(`${file}: no such file`, EXIT.noInput);
    if (code === "EISDIR") throw new CliError(`${file}: is a directory, not a file`, EXIT.noInput);
    if (code === "EACCES") throw new CliError(`${file}: permission denied`, EXIT.noInput);
    throw new CliError(`${file}: cannot be read (${code ?? String(error)})`, EXIT.noInput);
  }
}

const SCENARIO_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Picks the layout: the flag when given, the extension for scenarios, else the text's shape. */
export function chooseFormat(
  file: string,
  text: string,
  flag: InputFormat | undefined,
): InputFormat {
  if (flag) return flag;
  if (SCENARIO_EXTENSIONS.has(extname(file).toLowerCase())) return "scenario";
  const detected = detectJobShopFormat(text);
  if (!detected) {
    throw new CliError(
      `${file}: cannot tell whether this is an OR-Library or a Taillard job shop; pass --format orlib|taillard|scenario`,
      EXIT.dataError,
    );
  }
  return detected;
}

/** Loads a problem file of any supported layout into the task model. */
export async function loadProblem(file: string, flag?: InputFormat): Promise<LoadedProblem> {
  const text = await readText(file);
  const format = chooseFormat(file, text, flag);
  let model: TaskModel;
  let scenario: Scenario | undefined;
  if (format === "scenario") {
    const parsed = parseScenario(text, file);
    if (!parsed.ok) throw new CliError(formatInputError(firstError(parsed.error)), EXIT.dataError);
    scenario = parsed.value;
    model = scenario.model;
  } else {
    const parsed = format === "orlib" ? parseOrLibrary(text, file) : parseTaillard(text, file);
    if (!parsed.ok) throw new CliError(formatInputError(firstError(parsed.error)), EXIT.dataError);
    model = jobShopToModel(parsed.value);
  }
  const indexed = indexModel(model);
  if (!indexed.ok) {
    const issue = indexed.error[0]!;
    throw new CliError(`${file}: ${issue.path}: ${issue.message}`, EXIT.dataError);
  }
  return { source: file, format, model, index: indexed.value, ...(scenario ? { scenario } : {}) };
}

function firstError<E>(error: E | readonly E[]): E {
  return Array.isArray(error) ? (error[0] as E) : (error as E);
}

/** The job shop inside a loaded problem, or a one-line error saying why it is not one. */
export function asJobShop(problem: LoadedProblem): JobShopInstance {
  const result = modelToJobShop(problem.model);
  if (!result.ok) {
    const issue = result.error[0]!;
    const where = problem.scenario
      ? formatInputError(scenarioIssue(problem.scenario, issue))
      : `${problem.source}: ${issue.path}: ${issue.message}`;
    throw new CliError(`not a job shop the solver can take: ${where}`, EXIT.dataError);
  }
  return result.value;
}
