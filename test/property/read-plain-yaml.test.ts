/**
 * readPlainYaml (src/schema/read-plain-yaml.ts) is a fast path in front of the `yaml`
 * package: whenever it answers, its value must be exactly what `yaml` reads from an
 * error-free document. Random values are printed in many styles, then mangled, and every
 * answer is checked against the real parser.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parseDocument, stringify } from "yaml";
import { readPlainYaml } from "../../src/schema/read-plain-yaml.js";
import { generateSpec, specToYaml } from "../../bench/generate.js";
import { exampleSpecs } from "../support/example-specs.js";

const SEED = 20260708;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What the full parser reads, or undefined when it reports an error. */
function reference(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  return { value: doc.toJS({ maxAliasCount: 100 }) };
}

/** Checks one text; returns whether the fast path answered. */
function agrees(text: string): boolean {
  const fast = readPlainYaml(text);
  if (fast === undefined) return false;
  const ref = reference(text);
  assert.ok(ref, `the fast reader accepted a text the yaml package rejects:\n${text}`);
  assert.deepEqual(fast.value, ref.value, `different values for:\n${text}`);
  return true;
}

const TRICKY = [
  "10.0.0.1", "2001:db8::1", "::", "6.1", "0x1F", "0o17", "017", "1e3", "1E-2", ".5", "1.", "-1", "+1", "-.inf", ".NaN", "~",
  "null", "Null", "True", "FALSE", "yes", "no", "on", "a b", "a: b", "a:b", "a #b", "a#b", "-", "- a", "-a", "?x", "? x", ":x",
  "[a]", "{a}", "a,b", "'q'", "\"q\"", "", " a", "a ", "http://x/y?z=1", "#", "&a", "*a", "!t", "|", ">", "%", "@", "`",
  "/healthz", "ssh-ed25519 AAAA", "é", "a\\b", "it's", "say \"hi\"", "x]", "x}", "1_000", "0b1", "+.5", "12:30",
];
const KEYS = ["a", "b", "name", "$schema", "x.y", "a-b", "a_b", "true", "null", "1a", "-k", "k k", "a:b", "", "é", "TRUE", "port", "weight"];

const scalar = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -100000, max: 100000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small" }, scalar, tie("list"), tie("map")),
  list: fc.array(tie("node"), { maxLength: 4 }),
  map: fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 4 }),
})).node;
const doc = fc.dictionary(fc.constantFrom(...KEYS), value, { minKeys: 1, maxKeys: 5 });

/** Values like real specs: names, addresses, numbers, booleans, nested maps and lists. */
const plainScalar = fc.oneof(
  fc.constantFrom("lb1", "eth0", "10.0.0.1", "2001:db8::1", "/healthz", "wlc", "6.1", "a b", "ssh-ed25519 AAAA"),
  fc.integer({ min: -1000, max: 100000 }),
  fc.constantFrom(0.5, 2.25, -1, 1e21),
  fc.boolean(),
);
const plainValue = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small" }, plainScalar, tie("list"), tie("map")),
  list: fc.array(fc.oneof(plainScalar, tie("map")), { maxLength: 4 }),
  map: fc.dictionary(fc.constantFrom("a", "b", "name", "x.y", "a-b", "$schema", "port"), tie("node"), { maxKeys: 4 }),
})).node;
const plainDoc = fc.dictionary(fc.constantFrom("a", "b", "name", "services", "pool"), plainValue, { minKeys: 1, maxKeys: 5 });

/** The same value in several printing styles. */
function printings(v: unknown): string[] {
  const out = [
    stringify(v),
    stringify(v, { indent: 4 }),
    stringify(v, { indentSeq: false }),
    stringify(v, { collectionStyle: "flow" }),
    stringify(v, { flowCollectionPadding: false, defaultStringType: "QUOTE_SINGLE" }),
  ];
  try {
    out.push(specToYaml(v as Parameters<typeof specToYaml>[0]));
  } catch {
    // the bench emitter prints only what specs contain
  }
  return out;
}

/** Small edits: a character dropped, doubled or replaced, a comment or indentation added. */
const edit = fc.tuple(fc.nat(), fc.constantFrom("", " ", "  ", "\n", "#", " #c", ":", ": ", "-", "- ", "'", '"', "[", "]", "{", "}", ",", "\t", "\r", "&a ", "*a", "!", "|", "---\n", "\\"), fc.boolean());
function applyEdit(text: string, [at, insert, replace]: [number, string, boolean]): string {
  const i = at % (text.length + 1);
  return text.slice(0, i) + insert + text.slice(replace ? i + 1 : i);
}

describe("readPlainYaml agrees with the yaml package whenever it answers", () => {
  test("random values with awkward scalars, in every printing style", () => {
    fc.assert(fc.property(doc, (v) => {
      for (const text of printings(v)) agrees(text);
    }), { seed: SEED, numRuns: 600 });
  });

  test("spec-like values in block style: the fast path answers, and agrees", () => {
    let answered = 0, total = 0;
    fc.assert(fc.property(plainDoc, (v) => {
      // block styles with plain keys (quoted keys are left to the full parser)
      for (const text of printings(v).filter((t) => !t.startsWith("{") && !t.startsWith("'"))) {
        total++;
        if (agrees(text)) answered++;
      }
    }), { seed: SEED, numRuns: 400 });
    // not vacuous: nearly all block-style printings are in the subset
    assert.ok(answered > total * 0.8, `the fast path answered only ${answered} of ${total}`);
  });

  test("mangled texts: a wrong answer is never given", () => {
    fc.assert(fc.property(doc, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.nat(5), (v, edits, style) => {
      const base = printings(v);
      const text = edits.reduce(applyEdit, base[style % base.length]!);
      agrees(text);
    }), { seed: SEED, numRuns: 3000 });
  });

  test("hand-picked corner cases", () => {
    const cases: [string, boolean][] = [
      ["a: 1\nb:\n- x\n- y\nc: 2\n", true],
      ["a:\n  - x\n  -\n    k: v\n", true],
      ["- a: 1\n  b: 2\n- c\n", true],
      ["a: [1, 2\n  ]\n", false],
      ["a: 'it''s'\n", true],
      ["a: b\n  c\n", false],
      ["a: 1\na: 2\n", false],
      ["__proto__: 1\n", false],
      ["a: &x 1\nb: *x\n", false],
      ["a: |\n  text\n", false],
      ["  a: 1\n  b: 2\n", true],
      ["a:\n    b: 1\n  c: 2\n", false],
      ["a: 1 # comment\n# whole line\nb: '#' # c\n", true],
      ["a: {b: c, d: [e, {f: g}]}\n", true],
      ["a: [b: c]\n", false],
      ["a: x: y\n", false],
      ['a: "x"#c\n', false],
      ["a: [x]#c\n", false],
    ];
    for (const [text, fast] of cases) {
      assert.equal(agrees(text), fast, text);
    }
  });

  test("every example and the benchmark spec take the fast path, with the same value", () => {
    for (const e of exampleSpecs(ROOT)) {
      assert.ok(agrees(readFileSync(join(ROOT, e.path), "utf8")), e.path);
    }
    assert.ok(agrees(specToYaml(generateSpec({ services: 20, directors: 2 }))));
  });
});
