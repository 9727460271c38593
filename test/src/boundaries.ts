/**
 * The architecture's boundaries, checked on the source (DESIGN.md, STYLE.md "Imports point
 * inward"), with TypeScript's own parser so comments, strings and property names never count:
 *
 * (a) `packages/core/src` (tests and test-support aside) is pure: no clock, timers, randomness
 *     or Node I/O, and no import of another `@consort/*` package;
 * (b) `apps/broker`, `apps/edge-agent` and `apps/coordinator` import none of one another, in
 *     source or in package.json;
 * (c) no file reaches into another package by a relative `../` path.
 *
 * Each finding is one line, `file:line: what`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export interface Violation {
  /** Repository-relative, with `/`. */
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

export const formatViolation = (v: Violation): string => `${v.file}:${v.line}: ${v.what}`;

/** A file to check: its repository-relative path (with `/`) and its text. */
export interface SourceText {
  readonly path: string;
  readonly text: string;
}

const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const SKIPPED_DIRS = new Set(["node_modules", "dist", ".turbo", ".git", "coverage"]);

/** The apps that must not import one another, by directory and package name. */
export const ISOLATED_APPS: Readonly<Record<string, string>> = {
  "apps/broker": "@consort/broker",
  "apps/edge-agent": "@consort/edge-agent",
  "apps/coordinator": "@consort/coordinator",
};

const CORE_SRC = "packages/core/src/";
const isCoreProduct = (path: string) =>
  path.startsWith(CORE_SRC) &&
  !/\.test\.[cm]?[jt]sx?$/.test(path) &&
  !path.slice(CORE_SRC.length).split("/").includes("test-support");

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith("_")));
const isNodeBuiltin = (specifier: string) =>
  specifier.startsWith("node:") || NODE_BUILTINS.has(specifier.split("/")[0] ?? specifier);

/** Globals core may not touch at all: time, timers, process, randomness, host I/O. */
const CORE_DENIED_GLOBALS: Readonly<Record<string, string>> = {
  setTimeout: "timers (take a clock or timer port)",
  setInterval: "timers (take a clock or timer port)",
  setImmediate: "timers (take a clock or timer port)",
  process: "the process (take settings as arguments)",
  performance: "the clock (take `now` as an argument)",
  crypto: "randomness (take a seeded Random)",
  fetch: "network I/O",
  require: "module loading",
};

/** Members that are impure on otherwise harmless globals. */
const CORE_DENIED_MEMBERS: Readonly<Record<string, string>> = {
  "Date.now": "the clock (take `now` as an argument)",
  "Math.random": "randomness (take a seeded Random)",
  "performance.now": "the clock (take `now` as an argument)",
};

const parsed = new WeakMap<SourceText, ts.SourceFile>();
/** Parsed once per file, whatever number of rules read it. */
function parse(file: SourceText): ts.SourceFile {
  let sf = parsed.get(file);
  if (sf === undefined) {
    sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
    parsed.set(file, sf);
  }
  return sf;
}

const importsFound = new WeakMap<SourceText, { specifier: string; line: number }[]>();

const lineOf = (sf: ts.SourceFile, node: ts.Node) =>
  sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;

/** Every module a file names: static and dynamic imports, re-exports, require, import types. */
export function importsOf(file: SourceText): { specifier: string; line: number }[] {
  const known = importsFound.get(file);
  if (known) return known;
  const sf = parse(file);
  const out: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node))
      out.push({ specifier: node.text, line: lineOf(sf, node) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    )
      add(node.moduleReference.expression);
    else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require"))
    )
      add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  importsFound.set(file, out);
  return out;
}

/** Is this identifier a use of a name (not a property name, key or declaration)? */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) ||
      ts.isGetAccessor(p) ||
      ts.isSetAccessor(p) ||
      ts.isEnumMember(p) ||
      ts.isVariableDeclaration(p) ||
      ts.isParameter(p) ||
      ts.isFunctionDeclaration(p) ||
      ts.isClassDeclaration(p) ||
      ts.isInterfaceDeclaration(p) ||
      ts.isTypeAliasDeclaration(p) ||
      ts.isBindingElement(p) ||
      ts.isImportSpecifier(p) ||
      ts.isExportSpecifier(p) ||
      ts.isImportClause(p) ||
      ts.isNamespaceImport(p) ||
      ts.isLabeledStatement(p)) &&
    (p as { name?: ts.Node }).name === id
  )
    return false;
  // A type position (`x: Performance`, `typeof setTimeout`) is not a use of the value.
  if (ts.isTypeReferenceNode(p) || ts.isTypeQueryNode(p)) return false;
  return true;
}

/** (a) Core stays pure. */
export function coreViolations(file: SourceText): Violation[] {
  if (!isCoreProduct(file.path)) return [];
  const out: Violation[] = [];
  for (const { specifier, line } of importsOf(file)) {
    if (isNodeBuiltin(specifier))
      out.push({ file: file.path, line, what: `imports ${specifier}: core does no Node I/O` });
    else if (specifier.startsWith("@consort/"))
      out.push({
        file: file.path,
        line,
        what: `imports ${specifier}: core imports nothing of ours`,
      });
  }
  const sf = parse(file);
  // A name the file declares itself (a parameter `performance`, a local `process`) is not the
  // global: syntax cannot tell scopes apart, so such a name is not checked in that file.
  const declared = new Set<string>();
  const collect = (node: ts.Node): void => {
    const p = node.parent;
    if (
      ts.isIdentifier(node) &&
      p !== undefined &&
      (ts.isVariableDeclaration(p) ||
        ts.isParameter(p) ||
        ts.isFunctionDeclaration(p) ||
        ts.isClassDeclaration(p) ||
        ts.isBindingElement(p) ||
        ts.isImportSpecifier(p) ||
        ts.isImportClause(p) ||
        ts.isNamespaceImport(p)) &&
      p.name === node
    )
      declared.add(node.text);
    ts.forEachChild(node, collect);
  };
  collect(sf);
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const member = `${node.expression.text}.${node.name.text}`;
      const why = CORE_DENIED_MEMBERS[member];
      if (why)
        out.push({ file: file.path, line: lineOf(sf, node), what: `uses ${member}: ${why}` });
    }
    if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "Date"
    )
      out.push({
        file: file.path,
        line: lineOf(sf, node),
        what: "uses new Date(): the clock (take `now` as an argument)",
      });
    if (
      ts.isIdentifier(node) &&
      Object.hasOwn(CORE_DENIED_GLOBALS, node.text) &&
      !declared.has(node.text) &&
      isReference(node)
    ) {
      const parent = node.parent;
      // `performance.now` is reported once, as a member.
      const member =
        ts.isPropertyAccessExpression(parent) && parent.expression === node
          ? `${node.text}.${parent.name.text}`
          : node.text;
      if (!Object.hasOwn(CORE_DENIED_MEMBERS, member))
        out.push({
          file: file.path,
          line: lineOf(sf, node),
          what: `uses ${member}: ${CORE_DENIED_GLOBALS[node.text]}`,
        });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The isolated app a repository path lies in, if any. */
function appOf(path: string): string | undefined {
  return Object.keys(ISOLATED_APPS).find((dir) => path.startsWith(`${dir}/`));
}

const appPackageNamed = (specifier: string) =>
  Object.entries(ISOLATED_APPS).find(
    ([, name]) => specifier === name || specifier.startsWith(`${name}/`),
  );

/** (b) An isolated app's source imports no other isolated app. */
export function appImportViolations(file: SourceText): Violation[] {
  const app = appOf(file.path);
  if (app === undefined || !SOURCE.test(file.path)) return [];
  const out: Violation[] = [];
  for (const { specifier, line } of importsOf(file)) {
    const other = appPackageNamed(specifier);
    if (other && other[0] !== app)
      out.push({
        file: file.path,
        line,
        what: `imports ${specifier}: ${app} must not import another app (share it through @consort/protocol or @consort/core)`,
      });
  }
  return out;
}

const DEPENDENCY_FIELDS = [
  "dependencies",
  "devDependencies",
  "peerDependencies",
  "optionalDependencies",
] as const;

/** (b) An isolated app's package.json depends on no other isolated app. */
export function appDependencyViolations(file: SourceText): Violation[] {
  const app = appOf(file.path);
  if (app === undefined || file.path !== `${app}/package.json`) return [];
  const json = JSON.parse(file.text) as Partial<Record<string, Record<string, string>>>;
  const lines = file.text.split("\n");
  const out: Violation[] = [];
  for (const field of DEPENDENCY_FIELDS)
    for (const name of Object.keys(json[field] ?? {})) {
      const other = appPackageNamed(name);
      if (!other || other[0] === app) continue;
      const line = lines.findIndex((l) => l.includes(`"${name}"`)) + 1;
      out.push({
        file: file.path,
        line,
        what: `${field} has ${name}: ${app} must not depend on another app`,
      });
    }
  return out;
}

/** (c) No relative import leaves its own package. `packages` are the workspace directories. */
export function relativeImportViolations(
  file: SourceText,
  packages: readonly string[],
): Violation[] {
  if (!SOURCE.test(file.path)) return [];
  const ownerOf = (path: string) =>
    packages
      .filter((p) => path === p || path.startsWith(`${p}/`))
      .sort((a, b) => b.length - a.length)[0] ?? "(repository root)";
  const owner = ownerOf(file.path);
  const out: Violation[] = [];
  for (const { specifier, line } of importsOf(file)) {
    if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
    const target = posix.normalize(posix.join(posix.dirname(file.path), specifier));
    const targetOwner = target.startsWith("../") ? "(outside the repository)" : ownerOf(target);
    if (targetOwner !== owner)
      out.push({
        file: file.path,
        line,
        what: `imports ${specifier}, a file of ${targetOwner}: import the package by name`,
      });
  }
  return out;
}

/** Every rule over one file. */
export function violationsIn(file: SourceText, packages: readonly string[]): Violation[] {
  return [
    ...coreViolations(file),
    ...appImportViolations(file),
    ...appDependencyViolations(file),
    ...relativeImportViolations(file, packages),
  ];
}

/** The repository's source files and app package.json files, repository-relative. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith("."))
          walk(join(dir, entry.name));
      } else if (SOURCE.test(entry.name) || entry.name === "package.json") {
        out.push(relative(root, join(dir, entry.name)).split(sep).join("/"));
      }
    }
  };
  walk(root);
  return out.sort();
}

/** Checks the whole repository at `root`; its workspaces come from its package.json. */
export function checkRepository(root: string): Violation[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    workspaces?: string[];
  };
  const packages = (manifest.workspaces ?? []).map((w) => w.replace(/\/$/, ""));
  return filesUnder(root).flatMap((path) =>
    violationsIn({ path, text: readFileSync(join(root, path), "utf8") }, packages),
  );
}

/** The repository this file belongs to. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../..", import.meta.url));
