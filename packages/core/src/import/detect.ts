import type { JobShopInstance } from "../model/jobshop.js";
import type { Result } from "../result.js";
import type { InputError } from "./input-error.js";
import { parseOrLibrary } from "./orlib.js";
import { parseTaillard } from "./taillard.js";
import { isWordLine, scanLines, type TextLine } from "./text-lines.js";

/** The two job-shop text layouts: OR-Library (`orlib`) and Taillard's (`taillard`). */
export type JobShopFormat = "orlib" | "taillard";

export const JOB_SHOP_FORMATS: readonly JobShopFormat[] = ["orlib", "taillard"];

interface Shape {
  readonly jobs: number;
  readonly machines: number;
  readonly headerNumbers: number;
  readonly labels: boolean;
  readonly rows: readonly (readonly number[])[];
}

/** Header and numeric rows of a file, or undefined when it is not a clean numeric layout. */
function shapeOf(text: string): Shape | undefined {
  const content = scanLines(text).filter((l) => !l.comment);
  let start = 0;
  while (content[start] && isWordLine(content[start]!)) start++;
  const header = content[start];
  if (!header || header.tokens.some((t) => t.value === undefined)) return undefined;
  const [jobs, machines] = header.tokens.map((t) => t.value!);
  if (jobs === undefined || machines === undefined) return undefined;
  if (!(Number.isInteger(jobs) && jobs > 0 && Number.isInteger(machines) && machines > 0))
    return undefined;
  let labels = false;
  const rows: number[][] = [];
  for (const line of content.slice(start + 1)) {
    if (isWordLine(line) && line.tokens.length === 1) {
      labels = true;
      continue;
    }
    if (line.tokens.some((t) => t.value === undefined)) return undefined;
    rows.push(line.tokens.map((t) => t.value!));
  }
  return { jobs, machines, headerNumbers: header.tokens.length, labels, rows };
}

const isPermutation = (values: readonly number[], from: number, size: number): boolean =>
  values.length === size &&
  new Set(values).size === size &&
  values.every((v) => Number.isInteger(v) && v >= from && v < from + size);

const rowsMatch = (shape: Shape, format: JobShopFormat): boolean => {
  const { jobs: n, machines: m, rows } = shape;
  if (format === "orlib")
    return (
      shape.headerNumbers === 2 &&
      !shape.labels &&
      rows.length === n &&
      rows.every(
        (row) =>
          row.length === 2 * m &&
          isPermutation(
            row.filter((_, i) => i % 2 === 0),
            0,
            m,
          ),
      )
    );
  return (
    rows.length === 2 * n &&
    rows.every((row) => row.length === m) &&
    rows.slice(n).every((row) => isPermutation(row, 1, m))
  );
};

/**
 * Tells the layout of a well-formed job-shop text: OR-Library rows are `machine duration` pairs
 * whose machines form a permutation of 0..m-1; Taillard's file has 2n rows of m numbers whose last
 * n rows are permutations of 1..m. Undefined when the text is neither (or malformed).
 */
export function detectJobShopFormat(text: string): JobShopFormat | undefined {
  const shape = shapeOf(text);
  if (!shape) return undefined;
  if (rowsMatch(shape, "orlib")) return "orlib";
  if (rowsMatch(shape, "taillard")) return "taillard";
  return undefined;
}

/**
 * The layout a malformed file most likely meant, so that its errors are reported in the terms of
 * that layout: Taillard's when it has section labels, extra header numbers, or rows of about m
 * numbers; OR-Library's otherwise.
 */
function guessJobShopFormat(text: string): JobShopFormat {
  const content = scanLines(text).filter((l) => !l.comment);
  if (content.some((l) => isWordLine(l))) return "taillard";
  const [header, ...rows] = content as [TextLine | undefined, ...TextLine[]];
  if (!header) return "orlib";
  if (header.tokens.length > 2 && header.tokens.every((t) => t.value !== undefined))
    return "taillard";
  const m = header.tokens[1]?.value;
  if (m === undefined) return "orlib";
  const near = (count: number, target: number) => Math.abs(count - target);
  const taillardLike = rows.filter(
    (r) => near(r.tokens.length, m) < near(r.tokens.length, 2 * m),
  ).length;
  return taillardLike > rows.length / 2 ? "taillard" : "orlib";
}

/**
 * Reads a job-shop text file in the given layout, or, without one, in the detected layout
 * (`detectJobShopFormat`); a file that matches neither is read as the layout it most resembles,
 * so that the error names what is wrong with it.
 */
export function parseJobShop(
  text: string,
  source: string,
  format?: JobShopFormat,
): Result<JobShopInstance, InputError> {
  const chosen = format ?? detectJobShopFormat(text) ?? guessJobShopFormat(text);
  return chosen === "orlib" ? parseOrLibrary(text, source) : parseTaillard(text, source);
}
