import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter } from "yaml";
import type { DocPath } from "./path.js";

export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Finds where a path is written in a parsed YAML (or JSON) document: the value at the path, or
 * with `at: "key"` its key. A path that does not exist (a missing field) resolves to the nearest
 * existing ancestor.
 */
export function locateInDocument(
  doc: Document,
  lineCounter: LineCounter,
  path: DocPath,
  at: "key" | "value" = "value",
): Position | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const [i, segment] of path.entries()) {
    let next: unknown;
    let keyOffset: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair) {
        next = pair.value;
        keyOffset = rangeStart(pair.key);
      }
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
    }
    if (next === undefined && keyOffset === undefined) break;
    const last = i === path.length - 1;
    const valueOffset = rangeStart(next);
    offset = last && at === "key" ? (keyOffset ?? valueOffset) : (valueOffset ?? keyOffset);
    node = next;
    if (offset === undefined) break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === "object" && "range" in node) {
    const range = (node as { range?: readonly number[] | null }).range;
    return range?.[0];
  }
  return undefined;
}

/** The first syntax error of a JSON text, with its character offset. */
export interface JsonSyntaxError {
  readonly offset: number;
  readonly message: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/**
 * Locates the first JSON syntax error (V8's JSON.parse messages do not always give a position).
 * Undefined when the text is valid JSON.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const describe = () => (i >= text.length ? "end of file" : JSON.stringify(text[i]));
  const stop = (message: string): never => {
    throw new Stop(i, message);
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else stop(`unexpected ${describe()}, expected a value`);
  };
  const string = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) stop("unterminated string");
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) stop("bad \\u escape");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else stop("bad escape in string");
      } else if (c!.charCodeAt(0) < 0x20) stop("line break or control character inside a string");
      else i++;
    }
  };
  const number = () => {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = i;
    if (!match.exec(text)) stop(`unexpected ${describe()}, expected a value`);
    i = match.lastIndex;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{") object();
    else if (c === "[") array();
    else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else stop(`unexpected ${describe()}, expected a value`);
  };
  const object = () => {
    i++;
    space();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      space();
      if (text[i] !== '"')
        stop(
          text[i] === "}"
            ? "trailing comma before }"
            : `unexpected ${describe()}, expected a field name in double quotes`,
        );
      string();
      space();
      if (text[i] !== ":") stop(`unexpected ${describe()}, expected ":" after the field name`);
      i++;
      value();
      space();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      stop(`unexpected ${describe()}, expected "," or "}"`);
    }
  };
  const array = () => {
    i++;
    space();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      space();
      if (text[i] === "]") stop("trailing comma before ]");
      value();
      space();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      stop(`unexpected ${describe()}, expected "," or "]"`);
    }
  };
  try {
    value();
    space();
    if (i < text.length) stop(`unexpected ${describe()} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: e.message };
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}
