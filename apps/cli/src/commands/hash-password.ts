import { hashPassword } from "@consort/broker";
import { CliError, EXIT } from "../errors.js";

export interface HashPasswordFlags {
  /** With a username and role, print a whole users-file entry instead of the bare hash. */
  readonly username?: string;
  readonly role?: string;
}

/** Reads all of a non-terminal stdin: the password is its first line, without the newline. */
async function readPiped(input: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const [first = "", ...rest] = text.split(/\r?\n/);
  if (rest.some((line) => line !== ""))
    throw new CliError("stdin: expected one line (the password), found several", EXIT.dataError);
  return first;
}

/** Asks on the terminal with echo off (raw mode); Ctrl-C or Ctrl-D gives up. */
function prompt(
  question: string,
  input: NodeJS.ReadStream,
  err: NodeJS.WriteStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    err.write(question);
    input.setRawMode(true);
    input.resume();
    let typed = "";
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      err.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004")
          return done(new CliError("no password given", EXIT.usage));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.on("data", onData);
  });
}

/**
 * `consort hash-password`: an scrypt hash for the broker's users file. The password comes from
 * stdin (one line) or a prompt without echo, never from the command line, where `ps` and shell
 * history would show it.
 */
export async function hashPasswordCommand(
  flags: HashPasswordFlags,
  input: NodeJS.ReadStream,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  if ((flags.username === undefined) !== (flags.role === undefined))
    throw new CliError("--username and --role go together", EXIT.usage);
  let password: string;
  if (input.isTTY) {
    password = await prompt("Password: ", input, err);
    const again = await prompt("Again: ", input, err);
    if (again !== password) throw new CliError("the two passwords differ", EXIT.dataError);
  } else {
    password = await readPiped(input);
  }
  if (password === "") throw new CliError("the password is empty", EXIT.dataError);
  const hash = await hashPassword(password);
  if (flags.username !== undefined && flags.role !== undefined) {
    // YAML and JSON alike: one list item of a users file.
    out.write(
      `- { username: ${JSON.stringify(flags.username)}, role: ${JSON.stringify(flags.role)}, passwordHash: ${JSON.stringify(hash)} }\n`,
    );
  } else {
    out.write(`${hash}\n`);
  }
  return EXIT.ok;
}
