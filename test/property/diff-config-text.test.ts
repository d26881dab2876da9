/**
 * diffConfigText (the anchored keepalived.conf diff of the plan) must be a correct patch for
 * any pair of texts; where the edits stay inside blocks it must change no more lines than
 * jsdiff's minimal diff of the whole file, and for the usual plan (a few weights changed in
 * blocks of distinct lines) print exactly what createTwoFilesPatch prints.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { applyPatch, createTwoFilesPatch, reversePatch, parsePatch, formatPatch } from "diff";
import fc from "fast-check";
import { diffConfigText } from "../../src/plan/diff-config-text.js";

/** A config-like text: top-level headers (some repeated), indented bodies, closing braces. */
const block = fc.record({
  header: fc.constantFrom("virtual_server 192.0.2.1 80 {", "virtual_server 192.0.2.2 80 {", "virtual_server 192.0.2.3 443 {",
    "vrrp_instance VI_1 {", "global_defs {", "virtual_server fwmark 5 {", "include /etc/keepalived/x.conf"),
  body: fc.array(fc.constantFrom("  lb_algo wlc", "  real_server 198.51.100.1 80 {", "    weight 1", "    weight 2", "  }", "", "\tdelay_loop 5"), { maxLength: 6 }),
});
const text = fc.array(block, { maxLength: 8 }).map((blocks) =>
  blocks.map((b) => [b.header, ...b.body, ...(b.header.endsWith("{") ? ["}"] : [])].join("\n") + "\n").join(""));

/** Edits of whole lines that keep every top-level line where it is. */
function editInside(source: string, edits: { at: number; kind: number; line: string }[]): string {
  const lines = source === "" ? [] : source.slice(0, -1).split("\n");
  for (const e of edits) {
    if (lines.length === 0) break;
    const at = e.at % lines.length;
    if (/^[^\s}]/.test(lines[at]!)) continue;
    if (e.kind === 0) lines[at] = e.line;
    else if (e.kind === 1) lines.splice(at, 1);
    else lines.splice(at + 1, 0, e.line);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
const edit = fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 2 }), line: fc.constantFrom("    weight 9", "  lb_algo rr", "", "  }") });

function check(a: string, b: string, context: number): string {
  const patch = diffConfigText("live", "desired", a, b, context);
  assert.equal(applyPatch(a, patch), b, `patch does not turn old into new:\n${patch}`);
  assert.equal(applyPatch(b, formatPatch(reversePatch(parsePatch(patch)))), a, "reversed patch does not undo");
  return patch;
}

test("a patch that turns any text into any other", () => {
  fc.assert(fc.property(text, text, fc.integer({ min: 0, max: 4 }), (a, b, context) => {
    check(a, b, context);
  }), { seed: 11, numRuns: 3000 });
});

test("texts without a final newline go to jsdiff unchanged", () => {
  assert.equal(diffConfigText("a", "b", "x\ny", "x\nz\n"), createTwoFilesPatch("a", "b", "x\ny", "x\nz\n", "", "", { context: 3 }));
});

const changed = (patch: string) => patch.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;

test("as few changed lines as jsdiff's minimal diff when edits stay inside blocks", () => {
  fc.assert(fc.property(text, fc.array(edit, { maxLength: 6 }), fc.integer({ min: 0, max: 4 }), (a, edits, context) => {
    const b = editInside(a, edits);
    const patch = check(a, b, context);
    assert.equal(changed(patch), changed(createTwoFilesPatch("live", "desired", a, b, "", "", { context })));
  }), { seed: 12, numRuns: 3000 });
});

test("the same text as createTwoFilesPatch for weight edits in blocks of distinct lines", () => {
  // the plan's usual keepalived.conf change: a few weights in a big file
  const blocks = Array.from({ length: 40 }, (_, k) => [`virtual_server 192.0.2.${k} 80 {`, "  lb_algo wlc", `  real_server 198.51.100.${k} 80 {`, `    weight ${k % 7}`, "  }", "}"]);
  const a = blocks.flat().join("\n") + "\n";
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 8 }), fc.integer({ min: 0, max: 4 }), (which, context) => {
    const b = blocks.map((lines, k) => (which.includes(k) ? lines.map((l) => l.replace(/weight \d+/, "weight 9")) : lines)).flat().join("\n") + "\n";
    assert.equal(check(a, b, context), createTwoFilesPatch("live", "desired", a, b, "", "", { context }));
  }), { seed: 13, numRuns: 500 });
});

test("an unchanged text has no hunks; a new file is all additions", () => {
  assert.doesNotMatch(diffConfigText("a", "b", "x {\n}\n", "x {\n}\n"), /@@/);
  assert.match(diffConfigText("a", "b", "", "x {\n  y\n}\n"), /^@@ -0,0 \+1,3 @@$/m);
});
