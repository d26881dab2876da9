/**
 * plan: the unified diff of a director's keepalived.conf, live against desired.
 *
 * jsdiff's Myers search costs O(N·D) on the whole file: 0.6 s for a 390k-line config with a
 * few hundred scattered weight changes, and 16 s at five times the size. A config is a
 * sequence of top-level blocks whose header lines (`virtual_server 10.0.0.1 80 {`,
 * `vrrp_instance VI_1 {`) are mostly unique, so the files are first lined up on the
 * top-level lines that occur exactly once in each (in the order both agree on: a longest
 * increasing subsequence, as patience diff does). The text between two neighbouring anchors
 * is compared as one string, and jsdiff only diffs the stretches that differ. The hunks are
 * built with the context rules of jsdiff's structuredPatch and printed by its formatPatch,
 * so the output is a standard patch (test/property/diff-config-text.test.ts applies it back
 * with jsdiff and compares it with createTwoFilesPatch).
 */
import { createTwoFilesPatch, diffArrays, formatPatch, type StructuredPatchHunk } from "diff";

/** Lines that differ, or a stretch of equal text (`text`: whole lines, each ending in a newline). */
type Run = { kind: "removed" | "added"; lines: string[] } | { kind: "equal"; text: string; count: number };

/** `createTwoFilesPatch(oldName, newName, oldText, newText, "", "", { context })`, anchored as above. */
export function diffConfigText(oldName: string, newName: string, oldText: string, newText: string, context = 3): string {
  // a text without its final newline needs jsdiff's "\ No newline at end of file": rare and small
  if (!(oldText === "" || oldText.endsWith("\n")) || !(newText === "" || newText.endsWith("\n"))) {
    return createTwoFilesPatch(oldName, newName, oldText, newText, "", "", { context });
  }
  const runs: Run[] = [];
  const pushEqual = (text: string) => {
    if (text === "") return;
    const last = runs[runs.length - 1];
    if (last?.kind === "equal") runs[runs.length - 1] = { kind: "equal", text: last.text + text, count: last.count + countLines(text) };
    else runs.push({ kind: "equal", text, count: countLines(text) });
  };
  const pushChange = (kind: "removed" | "added", lines: string[]) => {
    if (lines.length === 0) return;
    const last = runs[runs.length - 1];
    if (last?.kind === kind) for (const l of lines) last.lines.push(l);
    else runs.push({ kind, lines });
  };
  const a = topLevelLines(oldText), b = topLevelLines(newText);
  let i = 0, j = 0;
  for (const [ai, bi] of [...anchors(a, b), [-1, -1] as const]) {
    // the stretch up to the anchor line, then the anchor line itself (equal in both)
    const aEnd = ai < 0 ? oldText.length : a.starts[ai]!, bEnd = bi < 0 ? newText.length : b.starts[bi]!;
    const x = oldText.slice(i, aEnd), y = newText.slice(j, bEnd);
    if (x === y) pushEqual(x);
    else {
      for (const change of diffArrays(splitLines(x), splitLines(y))) {
        if (change.added) pushChange("added", change.value);
        else if (change.removed) pushChange("removed", change.value);
        else pushEqual(change.value.map((l) => `${l}\n`).join(""));
      }
    }
    if (ai < 0) break;
    const aLineEnd = oldText.indexOf("\n", aEnd) + 1, bLineEnd = newText.indexOf("\n", bEnd) + 1;
    pushEqual(oldText.slice(aEnd, aLineEnd));
    i = aLineEnd;
    j = bLineEnd;
  }
  return formatPatch({ oldFileName: oldName, newFileName: newName, oldHeader: "", newHeader: "", hunks: hunksOf(runs, context) });
}

function countLines(text: string): number {
  let n = 0;
  for (let k = text.indexOf("\n"); k >= 0; k = text.indexOf("\n", k + 1)) n++;
  return n;
}

/** The lines of whole-line text, without their newlines. */
function splitLines(text: string): string[] {
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

/** Where each top-level line starts (not indented, not blank, not a closing brace) and its text. */
function topLevelLines(text: string): { starts: number[]; lines: string[] } {
  const starts: number[] = [], lines: string[] = [];
  for (let at = 0; at < text.length;) {
    const end = text.indexOf("\n", at);
    const c = text.charCodeAt(at);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 125) {
      starts.push(at);
      lines.push(text.slice(at, end));
    }
    at = end + 1;
  }
  return { starts, lines };
}

/** Indexes of top-level lines that occur once in each file, paired in an order both agree on. */
function anchors(a: { lines: string[] }, b: { lines: string[] }): [number, number][] {
  const once = (lines: readonly string[]) => {
    const at = new Map<string, number>();
    lines.forEach((l, k) => at.set(l, at.has(l) ? -1 : k));
    return at;
  };
  const inB = once(b.lines);
  const pairs: [number, number][] = [];
  for (const [line, ai] of once(a.lines)) {
    const bi = inB.get(line);
    if (ai >= 0 && bi !== undefined && bi >= 0) pairs.push([ai, bi]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  return longestIncreasing(pairs);
}

/** The longest subsequence of pairs (sorted by their first number) whose second numbers increase. */
function longestIncreasing(pairs: readonly [number, number][]): [number, number][] {
  const tails: number[] = []; // tails[len - 1]: index of the pair ending the best subsequence of length len
  const previous: number[] = new Array<number>(pairs.length).fill(-1);
  for (let k = 0; k < pairs.length; k++) {
    const v = pairs[k]![1];
    let lo = 0, hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]!]![1] < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[k] = tails[lo - 1]!;
    tails[lo] = k;
  }
  const out: [number, number][] = [];
  for (let k = tails.length > 0 ? tails[tails.length - 1]! : -1; k >= 0; k = previous[k]!) out.push(pairs[k]!);
  return out.reverse();
}

/** The first `n` lines of an equal run. */
function headLines(run: { text: string }, n: number): string[] {
  const out: string[] = [];
  for (let at = 0; out.length < n && at < run.text.length;) {
    const end = run.text.indexOf("\n", at);
    out.push(run.text.slice(at, end));
    at = end + 1;
  }
  return out;
}

/** The last `n` lines of an equal run. */
function tailLines(run: { text: string }, n: number): string[] {
  const out: string[] = [];
  let end = run.text.length - 1;
  while (out.length < n && end >= 0) {
    const start = run.text.lastIndexOf("\n", end - 1) + 1;
    out.push(run.text.slice(start, end));
    end = start - 1;
  }
  return out.reverse();
}

/** Hunks with `context` lines around each change, joined where the gap is at most twice the context (structuredPatch's rules). */
function hunksOf(runs: readonly Run[], context: number): StructuredPatchHunk[] {
  const hunks: StructuredPatchHunk[] = [];
  let oldLine = 1, newLine = 1;
  let open: StructuredPatchHunk | undefined;
  const addContext = (lines: string[]) => {
    for (const l of lines) open!.lines.push(` ${l}`);
    open!.oldLines += lines.length;
    open!.newLines += lines.length;
  };
  runs.forEach((run, k) => {
    if (run.kind === "equal") {
      if (open) {
        if (run.count <= context * 2 && k < runs.length - 1) {
          addContext(headLines(run, run.count)); // a short gap before another change joins the hunks
        } else {
          addContext(headLines(run, Math.min(run.count, context)));
          hunks.push(open);
          open = undefined;
        }
      }
      oldLine += run.count;
      newLine += run.count;
      return;
    }
    if (!open) {
      const prev = runs[k - 1];
      const before = prev?.kind === "equal" && context > 0 ? tailLines(prev, context) : [];
      open = { oldStart: oldLine - before.length, oldLines: 0, newStart: newLine - before.length, newLines: 0, lines: [] };
      addContext(before);
    }
    const sign = run.kind === "added" ? "+" : "-";
    for (const l of run.lines) open.lines.push(sign + l);
    if (run.kind === "added") {
      open.newLines += run.lines.length;
      newLine += run.lines.length;
    } else {
      open.oldLines += run.lines.length;
      oldLine += run.lines.length;
    }
  });
  if (open) hunks.push(open);
  return hunks;
}
