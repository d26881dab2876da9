/**
 * The one type for every user-facing problem: schema violations, semantic rule failures,
 * import findings and apply-time refusals all arrive as an {@link Issue}.
 */

/** Every code an {@link Issue} can carry. The table in docs/errors.md documents each one. */
export const ISSUE_CODES = [
  // schema level: the shape of the input
  "unknown-field",
  "missing-field",
  "wrong-type",
  "invalid-value",
  "out-of-range",
  "invalid-name",
  "invalid-interface-name",
  "invalid-path",
  "invalid-url-path",
  "invalid-command",
  "invalid-hostname",
  "invalid-address",
  "invalid-host-key",
  "invalid-secret",
  "yaml-syntax",
  "too-deep",
  "yaml-alias-limit",
  "internal-error",
  // services
  "duplicate-service",
  "duplicate-name",
  "duplicate-real-server",
  "scheduler-flag-mismatch",
  "scheduler-needs-newer-kernel",
  "port-remap-without-nat",
  "zero-port-without-persistence",
  "one-packet-on-tcp",
  "mixed-family-without-tunnel",
  "tunnel-option-mismatch",
  "threshold-order",
  "netmask-wrong-family",
  "persistence-engine-needs-udp",
  "http-check-without-path",
  "mh-drain-without-fallback",
  "real-server-is-vip",
  "quorum-above-weights",
  "hysteresis-not-below-quorum",
  "check-needs-tcp",
  "check-needs-port",
  "server-setting-without-checks",
  "keepalived-incompatible",
  "sorry-server-family",
  "fwmark-service-port",
  "unknown-director",
  "empty-pool",
  // VRRP and HA
  "duplicate-vrid",
  "vip-wrong-family",
  "auth-password-too-long",
  "priority-out-of-range",
  "nopreempt-conflict",
  "vrrp-pair-mismatch",
  "unknown-interface",
  "unknown-vrrp-instance",
  "unknown-vrrp-script",
  "unicast-peer-family",
  "sync-daemon-instance",
  "stateless-ha-needs-mh",
  // import
  "unsupported-construct",
  // plan and apply
  "stale-plan",
  "apply-failed",
  "ssh-failed",
  "missing-ssh",
] as const;

export type IssueCode = (typeof ISSUE_CODES)[number];

export type Severity = "error" | "warning";

/** A path into the user's input, e.g. `["services", 2, "pool", "servers", 0, "weight"]`. */
export type IssuePath = ReadonlyArray<string | number>;

/** Where in a source file an issue points. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** the text of the source line, for the caret display */
  lineText?: string;
}

/** A problem found in the user's input or while talking to a director. */
export interface Issue {
  code: IssueCode;
  path: IssuePath;
  message: string;
  severity: Severity;
  hint?: string;
  location?: SourceLocation;
}

/** Builds an error issue. */
export function error(code: IssueCode, path: IssuePath, message: string, hint?: string): Issue {
  return hint === undefined
    ? { code, path, message, severity: "error" }
    : { code, path, message, severity: "error", hint };
}

/** Builds a warning issue. */
export function warning(code: IssueCode, path: IssuePath, message: string, hint?: string): Issue {
  return hint === undefined
    ? { code, path, message, severity: "warning" }
    : { code, path, message, severity: "warning", hint };
}

/** `["services", 2, "pool"]` -> `services[2].pool` */
export function formatPath(path: IssuePath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(root)" : out;
}

/** True when any issue is an error (warnings alone do not block). */
export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((i) => i.severity === "error");
}

/** Stable order: by location, then path, then code. */
export function sortIssues(issues: readonly Issue[]): Issue[] {
  return [...issues].sort((a, b) => {
    const la = a.location, lb = b.location;
    if (la && lb && (la.line !== lb.line || la.column !== lb.column)) {
      return la.line - lb.line || la.column - lb.column;
    }
    const pa = formatPath(a.path), pb = formatPath(b.path);
    if (pa !== pb) return pa < pb ? -1 : 1;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/** Longest source excerpt printed under an issue, in characters (UTF-16 units). */
export const EXCERPT_WIDTH = 120;

/** A character of a text that takes no column of its own: a line break or a control character. */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * The part of a source line shown under an issue: at most EXCERPT_WIDTH characters around
 * the (1-based) column, `…` where the line is cut, control characters as `?` (a terminal
 * must not act on them), and the padding that puts a caret under the column's character
 * (tabs kept as tabs, so the caret lines up wherever the terminal puts its tab stops).
 */
export function excerpt(lineText: string, column: number): { text: string; caret: string } {
  const at = Math.max(0, Math.min(column - 1, lineText.length));
  let start = 0, end = lineText.length;
  if (end > EXCERPT_WIDTH) {
    start = Math.max(0, Math.min(at - Math.floor(EXCERPT_WIDTH / 2), lineText.length - EXCERPT_WIDTH));
    end = start + EXCERPT_WIDTH;
    // never cut a surrogate pair in half
    if (start > 0 && isLowSurrogate(lineText.charCodeAt(start))) start++;
    if (end < lineText.length && isLowSurrogate(lineText.charCodeAt(end))) end--;
  }
  const before = lineText.slice(start, at).replace(CONTROL, "?");
  const text = (start > 0 ? "…" : "") + lineText.slice(start, end).replace(CONTROL, "?") + (end < lineText.length ? "…" : "");
  const caret = (start > 0 ? " " : "") + before.replace(/[^\t]/gu, " ");
  return { text, caret };
}

/** `text` on one line (control characters as `?`), cut to `max` characters with `…`. */
function oneLine(text: string, max: number): string {
  const line = text.replace(CONTROL, "?");
  if (line.length <= max) return line;
  let cut = max - 1;
  if (isLowSurrogate(line.charCodeAt(cut))) cut--;
  return `${line.slice(0, cut)}…`;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Formats issues for a terminal: `file:line:col: error[code] path: message`, the source
 * line (cut to {@link EXCERPT_WIDTH} characters around the column) with a caret under the
 * column, and the hint.
 */
export function formatIssues(issues: readonly Issue[]): string {
  const lines: string[] = [];
  for (const issue of sortIssues(issues)) {
    const where = issue.location
      ? `${oneLine(issue.location.file, 400)}:${issue.location.line}:${issue.location.column}: `
      : "";
    lines.push(`${where}${issue.severity}[${issue.code}] ${oneLine(formatPath(issue.path), 200)}: ${oneLine(issue.message, 400)}`);
    if (issue.location?.lineText !== undefined) {
      const { text, caret } = excerpt(issue.location.lineText, issue.location.column);
      const gutter = String(issue.location.line).padStart(5);
      lines.push(`${gutter} | ${text}`);
      lines.push(`${" ".repeat(5)} | ${caret}^`);
    }
    if (issue.hint !== undefined) lines.push(`      hint: ${oneLine(issue.hint, 400)}`);
  }
  return lines.join("\n");
}

/** Thrown by the throwing variants of the API (`compileOrThrow`); carries every issue. */
export class IssuesError extends Error {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[]) {
    super(`invalid spec:\n${formatIssues(issues)}`);
    this.name = "IssuesError";
    this.issues = issues;
  }
}
