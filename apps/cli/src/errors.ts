/** Exit codes of the command line (sysexits-style). */
export const EXIT = {
  ok: 0,
  /** A wrong flag or argument. */
  usage: 64,
  /** An input file that cannot be read as what it claims to be. */
  dataError: 65,
  /** A file that does not exist or cannot be read. */
  noInput: 66,
  /** Something failed that is not the user's input. */
  software: 70,
} as const;

/**
 * An expected failure at the command line's boundary: printed as one line, no stack trace,
 * and the process exits with `exitCode`.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = "CliError";
  }
}
