/**
 * Import findings: what the importer could not carry into the spec, or carried with a
 * change, as `unsupported-construct` warnings that point at the source line. The issue
 * path is the chain of keywords down to the construct (`virtual_server.real_server.notify_up`);
 * its last element is the construct's keyword.
 */
import { formatPath, warning, type Issue, type SourceLocation } from "../issues.js";

/** An `unsupported-construct` warning at `location`; `path` ends with the construct's keyword. */
export function unsupported(location: SourceLocation, path: readonly string[], message: string, hint?: string): Issue {
  return { ...warning("unsupported-construct", [...path], message, hint), location };
}

/** The construct's keyword: the last element of the finding's path. */
export function findingKeyword(issue: Issue): string {
  const last = issue.path[issue.path.length - 1];
  return last === undefined ? "" : String(last);
}

/** `keyword@line`, e.g. `notification_email@4`; with `withFile`, `file:keyword@line`. */
export function findingKey(issue: Issue, withFile = false): string {
  const line = issue.location?.line ?? 0;
  const key = `${findingKeyword(issue)}@${line}`;
  return withFile && issue.location ? `${issue.location.file}:${key}` : key;
}

/**
 * One line per finding, as the CLI prints them:
 * `keepalived.conf:12: warning[unsupported-construct] message` (issues without a location
 * print their spec path instead).
 */
export function formatFindings(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const where = i.location ? `${i.location.file}:${i.location.line}: ` : `${formatPath(i.path)}: `;
      return `${where}${i.severity}[${i.code}] ${i.message}${i.hint !== undefined ? ` (hint: ${i.hint})` : ""}`;
    })
    .join("\n");
}

/** Stable order: file (in first-seen order), line, column, then message. */
export function sortFindings(issues: readonly Issue[], files: readonly string[] = []): Issue[] {
  const rank = (f: string | undefined) => {
    const r = f === undefined ? -1 : files.indexOf(f);
    return r < 0 ? files.length : r;
  };
  return [...issues].sort((a, b) => {
    const la = a.location, lb = b.location;
    const fa = rank(la?.file), fb = rank(lb?.file);
    if (fa !== fb) return fa - fb;
    if ((la?.file ?? "") !== (lb?.file ?? "")) return (la?.file ?? "") < (lb?.file ?? "") ? -1 : 1;
    const d = (la?.line ?? 0) - (lb?.line ?? 0) || (la?.column ?? 0) - (lb?.column ?? 0);
    if (d !== 0) return d;
    return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
  });
}
