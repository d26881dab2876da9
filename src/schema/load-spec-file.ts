/**
 * Reads spec text (YAML or JSON, JSON being YAML) into a ParsedSpec. For files the parse
 * step is ajv with the shipped JSON Schema, which zod generates: it checks the value and
 * fills in the schema's defaults, so the value it passes is the parsed spec (a test holds
 * ajv and zod to the same verdicts and the same values). Messages come from zod, the
 * schema's source, and every issue gets the file, line and column of the node it names.
 */
import type { ValidateFunction } from "ajv";
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import { error, type Issue, type IssuePath } from "../issues.js";
import generatedValidator from "./generated/validate-spec-file.js";
import { parseSpec } from "./parse-spec.js";
import { readPlainYaml } from "./read-plain-yaml.js";
import { problemIssues, readYamlDocument, yamlValue } from "./read-yaml-document.js";
import type { ParsedSpec } from "./spec-schema.js";

/**
 * The ajv validator of the shipped JSON Schema, precompiled by `npm run schema` (compiling
 * it in every process cost ~0.4 s); a test proves it matches the schema zod generates. It
 * fills in defaults where they are missing: it writes to the value it checks.
 */
const validateSchema = generatedValidator as unknown as ValidateFunction;

/** Where a path points in a parsed document: the value node, or for a missing/unknown key its map. */
function nodeRange(doc: Document, path: IssuePath, preferKey: boolean): [number, number] | undefined {
  let node: unknown = doc.contents;
  let last: [number, number] | undefined = rangeOf(node);
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
      if (!pair) return last;
      const keyRange = rangeOf(pair.key);
      node = pair.value;
      last = rangeOf(node) ?? keyRange ?? last;
      // unknown fields: point at the key itself
      if (preferKey && part === path[path.length - 1] && keyRange) last = keyRange;
    } else if (isSeq(node) && typeof part === "number") {
      node = node.items[part];
      last = rangeOf(node) ?? last;
    } else {
      return last;
    }
  }
  return last;
}

function rangeOf(node: unknown): [number, number] | undefined {
  const r = (node as Node | undefined)?.range;
  return r ? [r[0], r[1]] : undefined;
}

/** Adds file:line:column and the source line to issues that point into the document. */
function locate(issues: Issue[], doc: Document, lines: LineCounter, text: string, file: string): Issue[] {
  const sourceLines = text.split(/\r?\n/);
  return issues.map((issue) => {
    const range = nodeRange(doc, issue.path, issue.code === "unknown-field");
    if (!range) return issue;
    const pos = lines.linePos(range[0]);
    return { ...issue, location: { file, line: pos.line, column: pos.col, lineText: sourceLines[pos.line - 1] ?? "" } };
  });
}

export type LoadResult =
  | { ok: true; spec: ParsedSpec; issues: [] }
  | { ok: false; issues: Issue[] };

/**
 * Parses spec text. `file` is only used in locations. Never throws, for any text: YAML syntax
 * errors, input over the limits (nesting, aliases), schema violations and zod issues all
 * come back as located Issues.
 */
export function loadSpecText(text: string, file: string): LoadResult {
  try {
    return loadText(text, file);
  } catch (e) {
    return { ok: false, issues: [unexpectedFailure(e)] };
  }
}

/** An exception no input should cause (a bug): an issue that says so, never a throw. */
export function unexpectedFailure(e: unknown): Issue {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return error("too-deep", [], "nested too deeply to read");
  const message = e instanceof Error ? e.message : String(e);
  return error("internal-error", [], `${(message.split("\n")[0] ?? "").slice(0, 200)} (a bug: please report it with the spec)`);
}

function loadText(text: string, file: string): LoadResult {
  // most specs are plain YAML: read them fast, and keep the full parser (with source
  // positions) for everything else and for every spec that has a problem to point at
  const plain = readPlainYaml(text);
  // the value is ours alone: ajv may fill in its defaults, and a valid one is the spec
  // (a second schema pass with zod cost about a fifth of a 10k-service compile, issue #7)
  if (plain !== undefined && validateSchema(plain.value)) return { ok: true, spec: plain.value as ParsedSpec, issues: [] };
  const read = readYamlDocument(text);
  const { doc, lineCounter } = read;
  if (read.problems.length > 0 || doc === undefined) return { ok: false, issues: problemIssues(read.problems, text, lineCounter, file) };
  const converted = yamlValue(doc);
  if ("problem" in converted) return { ok: false, issues: problemIssues([converted.problem], text, lineCounter, file) };
  const value = converted.value;
  if (validateSchema(value)) return { ok: true, spec: value as ParsedSpec, issues: [] };
  const schemaErrors = validateSchema.errors ?? [];
  // the messages come from zod, the schema's source (the defaults ajv filled in change
  // nothing there); ajv's own findings only if zod has none
  const parsed = parseSpec(value);
  const issues = !parsed.ok && parsed.issues.length > 0
    ? parsed.issues
    : schemaErrors.map((e) =>
      error("invalid-value", e.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p)), e.message ?? "is invalid"),
    );
  return { ok: false, issues: locate(issues, doc, lineCounter, text, file) };
}

/** Locates issues (e.g. from validate()) in the text they came from. */
export function locateIssues(issues: Issue[], text: string, file: string): Issue[] {
  try {
    const { doc, lineCounter } = readYamlDocument(text);
    return doc === undefined ? issues : locate(issues, doc, lineCounter, text, file);
  } catch {
    return issues;
  }
}
