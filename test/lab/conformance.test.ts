/**
 * Conformance against a real 6.1 kernel: every director table the compiler renders (every
 * example, and 200 generated specs) loads with `ipvsadm -R` without a word on stderr, and
 * `ipvsadm -S -n` plus `ipvsadm -L -n --thresholds`, parsed, equal the normalized table,
 * and the planner's one-pass reader (state/read-clean-live-table.ts) reads them the same.
 *
 * One director, booted once, WITHOUT the lab network (no namespaces, no VIP routes): the
 * generated and example addresses are off-link documentation addresses and the kernel takes
 * them as unicast when it has no route at all. (On a director with the lab network,
 * examples/dr-mh-persistence.yaml's 203.0.113.31 is the broadcast address of rs1's /28 and
 * the kernel refuses it with "Invalid operation".) `ipvsadm -R` goes on after a failed line
 * and exits with the status of its LAST line, so the test checks its output (stdout and
 * stderr: must be empty) and the table read back, not just its exit status.
 *
 * Rule sets are loaded `-C` first, so nothing leaks from one case to the next. One SSH exec
 * carries the rule sets of 10 generated specs (load, `-S -n`, `--thresholds` for each, split
 * by marker lines); identical rule sets within it (the directors of one spec mostly share
 * theirs) are loaded once.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compile, compileText } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { IpvsTable } from "../../src/model/model.js";
import { arbSpecCase, FC_SEED, type SpecCase } from "../support/arbitraries.js";
import { bootDirectors, labStatus, requireLabOrSkip, type LabDirector } from "./lab.js";
import { readCleanLiveTable } from "../../src/state/read-clean-live-table.js";
import { canonicalTable, loadAndReadBack, type TableReadBack } from "./support/ipvs-readback.js";
import { exampleSpecs } from "../support/example-specs.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = exampleSpecs(ROOT).map((e) => e.file);
const GENERATED_RUNS = 200;
/** specs per SSH exec: each exec costs ~0.1-0.2 s under TCG before any ipvsadm runs */
const SPECS_PER_EXEC = 10;

/** One director's table to check: what it must read back as, and the rules that load it. */
interface TableCase {
  label: string;
  rules: string;
  expected: IpvsTable[];
}

/** Why a read-back is wrong, or undefined when it is right. */
function mismatch(c: TableCase, back: TableReadBack): string | undefined {
  const problems: string[] = [];
  if (back.restoreOutput !== "") problems.push(`ipvsadm -R printed:\n${back.restoreOutput}`);
  if (back.restoreCode !== 0) problems.push(`ipvsadm -R exited ${back.restoreCode}`);
  if (back.issues.length > 0) problems.push(`the listings did not parse: ${JSON.stringify(back.issues)}`);
  // the planner's one-pass reader must take the kernel's real output, not only the
  // benchmark's, and read it exactly as the general reader does
  const fast = readCleanLiveTable(back.saveText, back.thresholdsText);
  if (!fast) problems.push("the one-pass live-table reader handed this real dump over to the general reader");
  else {
    try {
      assert.deepEqual(canonicalTable(fast.table), back.table);
    } catch (e) {
      problems.push(`the one-pass live-table reader differs from the general reader: ${(e as Error).message}`);
    }
  }
  for (const expected of c.expected) {
    try {
      assert.deepEqual(back.table, canonicalTable(expected));
    } catch (e) {
      problems.push((e as Error).message);
      break;
    }
  }
  if (problems.length === 0) return undefined;
  return [
    `${c.label}:`,
    ...problems,
    "--- rules loaded",
    c.rules,
    "--- ipvsadm -S -n",
    back.saveText,
    "--- ipvsadm -L -n --thresholds",
    back.thresholdsText,
  ].join("\n");
}

/** Loads the cases' distinct rule sets in one exec and checks every case; returns the failures. */
async function checkCases(d: LabDirector, cases: readonly TableCase[]): Promise<string[]> {
  const distinct = [...new Set(cases.map((c) => c.rules))];
  const backs = await loadAndReadBack(d, distinct);
  const failures: string[] = [];
  for (const c of cases) {
    const why = mismatch(c, backs[distinct.indexOf(c.rules)]!);
    if (why !== undefined) failures.push(why);
  }
  return failures;
}

/** The director tables of a generated spec, or why it does not compile. */
function generatedCases(specCase: SpecCase, index: number): TableCase[] | string {
  const result = compile(specCase.spec);
  if (!result.ok) return formatIssues(result.issues);
  const { model, directors } = result.output;
  return directors.map((art) => {
    const director = model.directors.find((m) => m.name === art.name);
    const fromGenerator = specCase.tables[art.name];
    if (director === undefined || fromGenerator === undefined) throw new Error(`spec #${index}: no table for ${art.name}`);
    return {
      label: `generated spec #${index}, director ${art.name}\n--- spec\n${JSON.stringify(specCase.spec)}`,
      rules: art.ipvsadmRules,
      // the normalized table, and the table the generator wrote the spec from
      expected: [director.table, fromGenerator],
    };
  });
}

describe("conformance: rendered rules in a real 6.1 kernel (ipvsadm -R, then -S -n and --thresholds)", () => {
  let d: LabDirector | undefined;
  before(async () => {
    if (labStatus().available) [d] = await bootDirectors(1);
  });
  after(async () => {
    await d?.close();
  });

  it("the check is not vacuous: a line the kernel refuses shows in the restore output and the read-back", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const rules = [
      "-A -t 203.0.113.1:80 -s twos", // no twos scheduler in 6.1
      "-A -t 203.0.113.2:80 -s rr",
      "-a -t 203.0.113.2:80 -r 192.0.2.1:80 -g -w 1",
      "-a -t 203.0.113.2:80 -r 224.0.0.1:80 -g -w 1", // not unicast
      "-a -t 203.0.113.2:80 -r 192.0.2.3:80 -g -w 1",
      "",
    ].join("\n");
    const [back] = await loadAndReadBack(d, [rules]);
    assert.ok(back);
    // the exit status is the last line's: 0 here, although two lines failed
    assert.equal(back.restoreCode, 0);
    assert.match(back.restoreOutput, /Scheduler or persistence engine not found/);
    assert.match(back.restoreOutput, /Invalid operation/);
    assert.deepEqual(back.table.services.map((s) => s.realServers.map((rs) => rs.address)), [["192.0.2.1", "192.0.2.3"]]);
  });

  it("why validation rejects flag-3 on sh and mh: ipvsadm 1.31 cannot list it (the kernel keeps it)", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const rules = [
      "-A -t 203.0.113.1:80 -s sh -b flag-3",
      "-A -t 203.0.113.2:80 -s mh -b mh-port,flag-3",
      "-A -t 203.0.113.3:80 -s wlc -b flag-3",
      "",
    ].join("\n");
    const [back] = await loadAndReadBack(d, [rules]);
    assert.ok(back);
    assert.equal(back.restoreOutput, "");
    // sh: a bare "-b" (ipvsadm -R cannot read this back); mh: flag-3 gone; others: listed
    const lines = back.saveText.split("\n").filter((l) => l !== "").map((l) => l.trimEnd()).sort();
    assert.deepEqual(lines, [
      "-A -t 203.0.113.1:80 -s sh -b",
      "-A -t 203.0.113.2:80 -s mh -b mh-port",
      "-A -t 203.0.113.3:80 -s wlc -b flag-3",
    ]);
  });

  for (const file of EXAMPLES) {
    it(`examples/${file}: every director's table loads cleanly and reads back equal`, async (t) => {
      if (!requireLabOrSkip(t) || d === undefined) return;
      const path = `examples/${file}`;
      const result = compileText(readFileSync(join(ROOT, path), "utf8"), path);
      assert.ok(result.ok, formatIssues(result.issues));
      const { model, directors } = result.output;
      assert.ok(directors.length > 0);
      const cases = directors.map((art): TableCase => {
        const director = model.directors.find((m) => m.name === art.name);
        assert.ok(director);
        assert.ok(director.table.services.length > 0, `${path}: ${art.name} has an empty table`);
        return { label: `${path}, director ${art.name}`, rules: art.ipvsadmRules, expected: [director.table] };
      });
      const failures = await checkCases(d, cases);
      assert.deepEqual(failures, [], failures.join("\n\n"));
    });
  }

  it(`${GENERATED_RUNS} generated specs (arbSpecCase, seed FC_SEED): every director's table loads cleanly and reads back equal`, async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    // arbSpecCase promises specs that compile (test/property checks that); a draw that does
    // not is skipped here and another one taken, so 200 specs always reach the kernel
    const specCases = fc.sample(arbSpecCase(), { seed: FC_SEED, numRuns: 2 * GENERATED_RUNS });
    const failures: string[] = [];
    const notCompiling: string[] = [];
    let checked = 0;
    let tables = 0;
    let services = 0;
    let realServers = 0;
    const pending: TableCase[] = [];
    for (const [i, specCase] of specCases.entries()) {
      if (checked === GENERATED_RUNS) break;
      const cases = generatedCases(specCase, i);
      if (typeof cases === "string") {
        notCompiling.push(`#${i}: ${cases}`);
        continue;
      }
      checked += 1;
      tables += cases.length;
      for (const c of cases) {
        services += c.expected[0]!.services.length;
        realServers += c.expected[0]!.services.reduce((n, s) => n + s.realServers.length, 0);
      }
      pending.push(...cases);
      if (checked % SPECS_PER_EXEC === 0) failures.push(...(await checkCases(d, pending.splice(0))));
    }
    if (pending.length > 0) failures.push(...(await checkCases(d, pending.splice(0))));
    t.diagnostic(
      `${checked} specs, ${tables} director tables, ${services} services, ${realServers} real servers; ` +
        `${notCompiling.length} draws skipped (do not compile)`,
    );
    if (notCompiling.length > 0) t.diagnostic(`first draw that does not compile: ${notCompiling[0]}`);
    assert.equal(checked, GENERATED_RUNS, `only ${checked} of ${specCases.length} draws compile:\n${notCompiling.slice(0, 3).join("\n")}`);
    assert.ok(services > GENERATED_RUNS, "the generator produced (almost) empty tables");
    assert.equal(
      failures.length,
      0,
      `${failures.length} of ${tables} tables differ; the first ones:\n\n${failures.slice(0, 3).join("\n\n")}`,
    );
  });
});
