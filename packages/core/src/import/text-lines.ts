import { jobShopIds } from "../model/jobshop.js";
import { err, type Result } from "../result.js";
import type { InputError } from "./input-error.js";

/** One whitespace-separated token of a line; `value` is undefined when it is not a number. */
export interface Token {
  readonly text: string;
  /** 1-based column of the token's first character. */
  readonly column: number;
  readonly value: number | undefined;
}

/** A non-blank line of a job-shop text file. */
export interface TextLine {
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  readonly tokens: readonly Token[];
  /** A `#` comment line. */
  readonly comment: boolean;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Splits text into its non-blank lines and their tokens; a leading byte-order mark is dropped. */
export function scanLines(text: string): TextLine[] {
  const out: TextLine[] = [];
  const raw = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  raw.forEach((lineText, i) => {
    const trimmed = lineText.trim();
    if (trimmed === "") return;
    const comment = trimmed.startsWith("#");
    const tokens: Token[] = [];
    if (!comment) {
      for (const match of lineText.matchAll(/\S+/g)) {
        const tokenText = match[0];
        tokens.push({
          text: tokenText,
          column: (match.index ?? 0) + 1,
          value: NUMBER.test(tokenText) ? Number(tokenText) : undefined,
        });
      }
    }
    out.push({ line: i + 1, text: lineText, tokens, comment });
  });
  return out;
}

/** A line with at least one token and no number at all: a label such as `Times`. */
export const isWordLine = (line: TextLine): boolean =>
  !line.comment && line.tokens.length > 0 && line.tokens.every((t) => t.value === undefined);

/** The first non-numeric token of a line, if any. */
export const firstNonNumeric = (line: TextLine): Token | undefined =>
  line.tokens.find((t) => t.value === undefined);

/** `# instance NAME` comments name the instance (as in the OR-Library files). */
export function instanceNameFromComments(lines: readonly TextLine[]): string | undefined {
  for (const line of lines) {
    if (!line.comment) continue;
    const match = /^\s*#\s*instance\s+(\S+)/i.exec(line.text);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

export const isPositiveInteger = (value: number): boolean => Number.isInteger(value) && value > 0;

/** A duration: public instances (some OR-Library and Taillard variants) hold operations of length 0. */
export const isDurationTicks = (value: number): boolean => Number.isInteger(value) && value >= 0;

/** Builds a failed Result carrying one InputError. */
export function fail(
  source: string,
  message: string,
  at?: { line: number; column?: number },
): { readonly ok: false; readonly error: InputError } {
  return err({
    source,
    ...(at ? { line: at.line } : {}),
    ...(at?.column !== undefined ? { column: at.column } : {}),
    message,
  });
}

/** The header `jobs machines [extra numbers]`: two positive integers, then anything numeric. */
export interface Header {
  readonly jobs: number;
  readonly machines: number;
  readonly line: TextLine;
}

export function readHeader(
  line: TextLine,
  source: string,
  maxNumbers: number | undefined,
): Result<Header, InputError> {
  const bad = firstNonNumeric(line);
  if (bad)
    return fail(
      source,
      `non-numeric token "${bad.text}" where the header line "jobs machines" was expected`,
      { line: line.line, column: bad.column },
    );
  if (line.tokens.length < 2 || (maxNumbers !== undefined && line.tokens.length > maxNumbers))
    return fail(
      source,
      `the header line must be "jobs machines" (2 numbers), found ${line.tokens.length} number${line.tokens.length === 1 ? "" : "s"}`,
      { line: line.line },
    );
  const [jobs, machines] = line.tokens as [Token, Token];
  for (const [token, what] of [
    [jobs, "number of jobs"],
    [machines, "number of machines"],
  ] as const) {
    if (!isPositiveInteger(token.value!))
      return fail(source, `the ${what} must be a positive integer, found ${token.text}`, {
        line: line.line,
        column: token.column,
      });
  }
  return { ok: true, value: { jobs: jobs.value!, machines: machines.value!, line } };
}

/** How a job is named in messages: its 1-based position in the file and its id. */
export const jobLabel = (j: number): string => `job ${j + 1} (${jobShopIds.job(j)})`;
