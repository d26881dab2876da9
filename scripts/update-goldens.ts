/**
 * Rewrites test/golden/<example>/ from the current renderers: exactly the files
 * `buildFiles()` lists for examples/<example>.yaml (or examples/<example>/<example>.yaml),
 * secrets included.
 *
 * A human runs this, reads `git diff test/golden` line by line against ipvsadm(8) and
 * keepalived.conf(5), and commits the goldens with the renderer
 * change that explains them (see test/golden/README.md). The golden test never writes.
 *
 * Usage: npx tsx scripts/update-goldens.ts [example-name ...]
 *   no names: every example; golden directories without an example are removed
 *   names:    only those examples (e.g. `nat-web ha-pair`)
 * Nothing is written unless every selected example compiles.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFiles, compileText, type BuildFile } from "../src/compile.js";
import { formatIssues } from "../src/issues.js";
import { exampleSpecs } from "../test/support/example-specs.js";
import { listFiles } from "../test/support/list-files.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const GOLDEN_DIR = join(ROOT, "test", "golden");

/** Example names: examples/NAME.yaml and examples/NAME/NAME.yaml. */
function exampleNames(): string[] {
  return exampleSpecs(ROOT).map((e) => e.name);
}


/** "new", "unchanged" or "changed" for the golden dir of one example, before rewriting it. */
function compareWithGolden(dir: string, files: BuildFile[]): string {
  const existing = listFiles(dir);
  if (existing.length === 0) return "new";
  const same =
    existing.join("\n") === files.map((f) => f.path).sort().join("\n") &&
    files.every((f) => readFileSync(join(dir, f.path)).equals(Buffer.from(f.content, "utf8")));
  return same ? "unchanged" : "changed";
}

function main(argv: string[]): number {
  const all = exampleNames();
  const unknown = argv.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    console.error(`update-goldens: no such example: ${unknown.join(", ")} (have: ${all.join(", ")})`);
    return 2;
  }
  const selected = argv.length > 0 ? argv : all;

  // compile everything first: an invalid example must not leave half-updated goldens
  const rendered = new Map<string, BuildFile[]>();
  let failed = false;
  for (const name of selected) {
    const file = exampleSpecs(ROOT).find((e) => e.name === name)!.path;
    const result = compileText(readFileSync(join(ROOT, file), "utf8"), file);
    if (!result.ok) {
      console.error(`update-goldens: ${file} does not compile:\n${formatIssues(result.issues)}`);
      failed = true;
      continue;
    }
    if (result.issues.length > 0) console.warn(`update-goldens: ${file} has warnings:\n${formatIssues(result.issues)}`);
    rendered.set(name, buildFiles(result.output));
  }
  if (failed) {
    console.error("update-goldens: nothing written");
    return 1;
  }

  for (const [name, files] of rendered) {
    const dir = join(GOLDEN_DIR, name);
    const status = compareWithGolden(dir, files);
    rmSync(dir, { recursive: true, force: true });
    for (const f of files) {
      const path = join(dir, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content, { mode: f.secret ? 0o600 : 0o644 });
    }
    console.log(`${status.padEnd(9)} test/golden/${name}/ (${files.length} files: ${files.map((f) => f.path).join(", ")})`);
  }

  if (argv.length === 0) {
    // golden dirs whose example is gone would fail the test's "no extra" check
    for (const entry of readdirSync(GOLDEN_DIR)) {
      const path = join(GOLDEN_DIR, entry);
      if (statSync(path).isDirectory() && !all.includes(entry)) {
        rmSync(path, { recursive: true, force: true });
        console.log(`removed   test/golden/${entry}/ (no examples/${entry}.yaml nor examples/${entry}/${entry}.yaml)`);
      }
    }
  }
  console.log("now review: git diff -- test/golden");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
