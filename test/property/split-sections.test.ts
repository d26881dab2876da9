/**
 * splitSections reads dump sections as slices of the text; it must give exactly the
 * sections the line-by-line reading (kept here as the reference) gives, for any text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { splitSections } from "../../src/state/live-state.js";
/** The line-by-line reading splitSections replaced. */
function original(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current: string | undefined;
  let lines: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^==ipvsc:([a-z0-9-]+)==$/.exec(line);
    if (m) { if (current !== undefined) out[current] = lines.join("\n"); current = m[1]!; lines = []; }
    else if (current !== undefined) lines.push(line);
  }
  if (current !== undefined) out[current] = lines.join("\n").replace(/\n$/, "");
  return out;
}
const piece = fc.constantFrom("==ipvsc:save==", "==ipvsc:end==", "==ipvsc:a-1==", "==ipvsc:BAD==", "==ipvsc:x== ", "==ipvsc:", "x", "", "\r", "==ipvsc:save==\r", "a b", "\n");
test("same sections as the line-by-line original", () => {
  fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), fc.constantFrom("\n", "", "\r\n"), (parts, sep) => {
    const text = parts.join(sep === "" ? "\n" : sep) + (sep === "" ? "" : sep);
    assert.deepEqual(splitSections(text), original(text), JSON.stringify(text));
    const t2 = parts.join("\n");
    assert.deepEqual(splitSections(t2), original(t2), JSON.stringify(t2));
  }), { seed: 5, numRuns: 20000 });
});
