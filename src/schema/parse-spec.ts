/** parse: unknown value -> ParsedSpec via zod, with zod's issues mapped to our Issue codes. */
import type { z } from "zod";
import { error, type Issue, type IssueCode } from "../issues.js";
import { grammarByPattern } from "./grammar.js";
import { Spec, type ParsedSpec } from "./spec-schema.js";

type ZodIssue = z.core.$ZodIssue;

function codeOf(issue: ZodIssue): IssueCode {
  switch (issue.code) {
    case "unrecognized_keys": return "unknown-field";
    case "invalid_type": return issue.input === undefined ? "missing-field" : "wrong-type";
    case "too_small": case "too_big": return "out-of-range";
    case "invalid_value": case "invalid_union": return "invalid-value";
    case "invalid_format": {
      const src = issue.pattern?.replace(/^\/(.*)\/[a-z]*$/, "$1");
      return (src !== undefined && grammarByPattern(src)?.code) || "invalid-value";
    }
    case "custom": {
      const code = (issue.params as { code?: IssueCode } | undefined)?.code;
      return code ?? "invalid-value";
    }
    default: return "invalid-value";
  }
}

function messageOf(issue: ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map(quotedKey).join(", ")}`;
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${issue.expected}, got ${describe(issue.input)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(issue.input)}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) return `'${issue.discriminator}' is not one of the known kinds`;
      return "matches none of the allowed forms";
    case "too_small":
      if (issue.origin === "array") return `must have at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? "" : "s"}`;
      return issue.message;
    default:
      return issue.message;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return quoted(value);
  return JSON.stringify(value) ?? String(value);
}

/** Longest piece of the user's text a message quotes. */
const QUOTE_WIDTH = 60;

/** A string of the input as JSON, cut to QUOTE_WIDTH characters (a message stays one short line). */
function quoted(value: string): string {
  if (value.length <= QUOTE_WIDTH) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTE_WIDTH))}… (${value.length} characters)`;
}

/** A key of the input in a message: JSON-quoted when it holds anything unusual, and cut. */
function quotedKey(key: string): string {
  return /^[A-Za-z0-9_$.-]{1,60}$/.test(key) ? `'${key}'` : quoted(key);
}

/** Maps zod issues to ours; unknown keys become one issue per key so each gets a location. */
export function issuesFromZod(issues: readonly ZodIssue[], basePath: ReadonlyArray<string | number> = []): Issue[] {
  const out: Issue[] = [];
  for (const zi of issues) {
    const path = [...basePath, ...zi.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    if (zi.code === "unrecognized_keys") {
      for (const key of zi.keys) out.push(error("unknown-field", [...path, key], `unknown field ${quotedKey(key)}`));
      continue;
    }
    if (zi.code === "invalid_union" && !("discriminator" in zi && zi.discriminator) && zi.errors.length > 0) {
      // report the branch that got furthest: the one with the fewest issues
      const best = [...zi.errors].sort((a, b) => a.length - b.length)[0]!;
      out.push(...issuesFromZod(best, path));
      continue;
    }
    // secrets: the input is never echoed, whatever its type
    const secret = path[path.length - 1] === "authPassword";
    out.push(error(codeOf(zi), path, secret ? "must be a string (value not shown)" : messageOf(zi)));
  }
  return out;
}

/** Result of checking a value against the schema. */
export type ParseResult = { ok: true; spec: ParsedSpec; issues: [] } | { ok: false; issues: Issue[] };

/** Checks a plain value (from TypeScript or a parsed file) against the spec schema. */
export function parseSpec(value: unknown): ParseResult {
  // reportInput: codeOf() and messageOf() read issue.input (wrong-type vs missing-field, "got ...")
  const r = Spec.safeParse(value, { reportInput: true });
  if (r.success) return { ok: true, spec: r.data, issues: [] };
  return { ok: false, issues: issuesFromZod(r.error.issues) };
}
