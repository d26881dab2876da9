/**
 * Golden files: every examples/<name>.yaml (or examples/<name>/<name>.yaml), compiled and laid out by buildFiles(), must equal
 * test/golden/<name>/ byte for byte, with exactly the same set of files. The goldens are
 * reviewed text (see test/golden/README.md); this test only reads them. To change them run
 * `npx tsx scripts/update-goldens.ts`, review `git diff -- test/golden`, and commit.
 *
 * Also here: determinism. The same example compiled twice, and copies whose order-free
 * lists are shuffled, give the same bytes.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { buildFiles, compile, compileText, type BuildFile, type CompileResult } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import { exampleSpecs } from "../support/example-specs.js";
import { listFiles } from "../support/list-files.js";
// a seeded PRNG, so each fast-check seed names one permutation
import { prng } from "../support/prng.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GOLDEN_DIR = join(ROOT, "test", "golden");
const SPECS = exampleSpecs(ROOT);
const EXAMPLES = SPECS.map((e) => e.name);

const UPDATE_HINT = "if the renderer change is intended: npx tsx scripts/update-goldens.ts, review git diff -- test/golden, commit";

function examplePath(name: string): string {
  return SPECS.find((e) => e.name === name)!.path;
}

function exampleText(name: string): string {
  return readFileSync(join(ROOT, examplePath(name)), "utf8");
}

/** compileText of an example; fails the test with the formatted issues when it does not compile. */
function compileExample(name: string): Extract<CompileResult, { ok: true }> {
  const result = compileText(exampleText(name), examplePath(name));
  assert.ok(result.ok, `${examplePath(name)} does not compile:\n${formatIssues(result.issues)}`);
  return result;
}


/** Path -> content, for comparing whole builds. */
function asMap(files: BuildFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.content]));
}

describe("golden files: every example renders exactly its reviewed files", () => {
  test("there is one golden directory per example and no other", () => {
    const dirs = readdirSync(GOLDEN_DIR).filter((e) => statSync(join(GOLDEN_DIR, e)).isDirectory()).sort();
    assert.deepEqual(dirs, EXAMPLES, UPDATE_HINT);
  });

  for (const name of EXAMPLES) {
    describe(name, () => {
      const dir = join(GOLDEN_DIR, name);

      test("compiles without warnings", () => {
        const result = compileExample(name);
        assert.deepEqual(result.issues, [], formatIssues(result.issues));
      });

      test("the set of files equals the golden directory (no missing, no extra)", () => {
        assert.ok(existsSync(dir), `missing test/golden/${name}/: ${UPDATE_HINT}`);
        const files = buildFiles(compileExample(name).output);
        const paths = files.map((f) => f.path);
        assert.equal(new Set(paths).size, paths.length, `buildFiles lists a path twice: ${paths.join(", ")}`);
        assert.deepEqual([...paths].sort(), listFiles(dir), UPDATE_HINT);
      });

      test("every file equals its golden byte for byte", () => {
        const files = buildFiles(compileExample(name).output);
        for (const f of files) {
          const goldenPath = join(dir, f.path);
          assert.ok(existsSync(goldenPath), `no golden for ${name}/${f.path}: ${UPDATE_HINT}`);
          const golden = readFileSync(goldenPath);
          // text first, for a readable diff; then bytes, so encoding differences cannot hide
          assert.equal(f.content, golden.toString("utf8"), `${name}/${f.path} differs from its golden; ${UPDATE_HINT}`);
          assert.ok(Buffer.from(f.content, "utf8").equals(golden), `${name}/${f.path}: bytes differ`);
        }
      });

      test("secrets are flagged, live only under secrets/, and appear in no other file", () => {
        const { output } = compileExample(name);
        const files = buildFiles(output);
        for (const f of files) {
          assert.equal(f.secret, f.path.startsWith("secrets/"), `${f.path}: secret flag and location disagree`);
        }
        const passwords = output.model.directors.flatMap((d) => Object.values(d.vrrpSecrets));
        for (const f of files.filter((x) => !x.secret)) {
          for (const pw of passwords) assert.ok(!f.content.includes(pw), `${f.path} contains a VRRP password`);
        }
        for (const f of files.filter((x) => x.secret)) {
          assert.ok(passwords.some((pw) => f.content.includes(pw)), `${f.path} is flagged secret but holds no known secret`);
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------------------
// determinism

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}


function shuffleInPlace(list: Json[], rand: () => number): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
}

/**
 * Reorders every list of `spec` whose order carries no meaning: services, each pool's
 * servers, each service's directors, VRRP instances and scripts. The top-level directors
 * list and each VRRP instance's directors are left alone: their order decides VRRP state
 * and priority.
 */
function shuffleSpec(spec: JsonObject, rand: () => number): JsonObject {
  const copy = structuredClone(spec);
  const shuffle = (v: Json | undefined): void => {
    if (Array.isArray(v)) shuffleInPlace(v, rand);
  };
  const services = copy["services"];
  shuffle(services);
  for (const s of Array.isArray(services) ? services : []) {
    if (!isObject(s)) continue;
    shuffle(s["directors"]);
    const pool = s["pool"];
    if (isObject(pool)) shuffle(pool["servers"]);
  }
  const vrrp = copy["vrrp"];
  if (isObject(vrrp)) {
    shuffle(vrrp["instances"]);
    shuffle(vrrp["scripts"]);
  }
  return copy;
}

/** Whether `spec` has a list shuffleSpec can reorder into something different. */
function hasShufflableList(spec: JsonObject): boolean {
  const long = (v: Json | undefined): boolean => Array.isArray(v) && v.length > 1;
  const services = spec["services"];
  if (long(services)) return true;
  for (const s of Array.isArray(services) ? services : []) {
    if (isObject(s) && (long(s["directors"]) || (isObject(s["pool"]) && long(s["pool"]["servers"])))) return true;
  }
  const vrrp = spec["vrrp"];
  return isObject(vrrp) && (long(vrrp["instances"]) || long(vrrp["scripts"]));
}

function exampleValue(name: string): JsonObject {
  const value = parseYaml(exampleText(name)) as Json;
  assert.ok(isObject(value), `${examplePath(name)} is not a mapping`);
  return value;
}

function compileValue(value: JsonObject, what: string): Map<string, string> {
  const result = compile(value);
  assert.ok(result.ok, `${what} does not compile:\n${formatIssues(result.issues)}`);
  return asMap(buildFiles(result.output));
}

describe("determinism: same input, same bytes", () => {
  for (const name of EXAMPLES) {
    describe(name, () => {
      test("compiling the text twice gives identical files", () => {
        const a = asMap(buildFiles(compileExample(name).output));
        const b = asMap(buildFiles(compileExample(name).output));
        assert.deepEqual(b, a);
      });

      test("compile(value) of the parsed YAML gives the same files as compileText", () => {
        const fromText = asMap(buildFiles(compileExample(name).output));
        assert.deepEqual(compileValue(exampleValue(name), name), fromText);
      });

      test("rotating the order-free lists changes no byte", () => {
        const original = exampleValue(name);
        const rotated = shuffleSpec(original, () => 0); // j = 0 at every step: a rotation, never the identity
        if (hasShufflableList(original)) assert.notDeepEqual(rotated, original, "the permutation changed nothing");
        assert.deepEqual(compileValue(rotated, `${name} (reordered)`), compileValue(original, name));
      });

      test("shuffling the order-free lists changes no byte (30 seeded permutations)", () => {
        const original = exampleValue(name);
        const expected = compileValue(original, name);
        let changed = 0;
        fc.assert(
          fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (seed) => {
            const shuffled = shuffleSpec(original, prng(seed));
            if (JSON.stringify(shuffled) !== JSON.stringify(original)) changed++;
            assert.deepEqual(compileValue(shuffled, `${name} shuffled with seed ${seed}`), expected);
          }),
          { seed: 20240611, numRuns: 30 },
        );
        if (hasShufflableList(original)) assert.ok(changed > 0, "no permutation differed from the original order");
      });
    });
  }
});
