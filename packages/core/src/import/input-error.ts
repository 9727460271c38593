/**
 * A problem in an input file, located well enough for the user to find it: the file (`source`),
 * the 1-based line and column when known, and for structured files the path of the element
 * (e.g. `jobs[1].operations[0].duration`).
 */
export interface InputError {
  readonly source: string;
  readonly line?: number;
  readonly column?: number;
  readonly path?: string;
  readonly message: string;
}

/**
 * One readable line, compiler style: `ft06.txt:7: job 2 (j1) has 5 operations, expected 6` or
 * `plant.yaml:12:7: jobs[1].operations[0].duration: must be a positive integer, found -3`.
 */
export function formatInputError(error: InputError): string {
  let where = error.source;
  if (error.line !== undefined) {
    where += `:${error.line}`;
    if (error.column !== undefined) where += `:${error.column}`;
  }
  const path = error.path ? `${error.path}: ` : "";
  return `${where}: ${path}${oneLine(error.message)}`;
}

const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, " ").trim();

/** The file name of a source without its folders and its last extension: `data/ft06.txt` -> `ft06`. */
export function baseName(source: string): string {
  const file = source.split(/[\\/]/).pop() ?? source;
  const dot = file.lastIndexOf(".");
  const name = dot > 0 ? file.slice(0, dot) : file;
  return name === "" ? "instance" : name;
}

/** 1-based line and column of a character offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
