/**
 * Reading a director's dump with the desired table as a hint (parseLiveState's `expected`),
 * and planning with compile's rules text, must change nothing but speed: the same plan,
 * byte for byte, as without them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateSpec, previousSpec, renderLiveDump } from "../../bench/generate.js";
import { compile, type CompileOutput } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

function mustCompile(value: unknown): CompileOutput {
  const r = compile(value);
  assert.ok(r.ok, JSON.stringify(r.issues.slice(0, 3)));
  return r.output;
}

test("the plan against a dump read with the desired table as a hint is the plan without it", () => {
  const spec = generateSpec({ services: 300 });
  const desired = mustCompile(spec);
  const previous = previousSpec(spec);
  for (const director of ["lb1", "lb2"]) {
    const dump = renderLiveDump(mustCompile(previous.spec), director, "bench");
    const model = desired.model.directors.find((d) => d.name === director)!;
    const artifacts = desired.directors.find((d) => d.name === director)!;
    const forPlan = { model, keepalivedConf: artifacts.keepalivedConf };
    const plain = parseLiveState(director, dump);
    const hinted = parseLiveState(director, dump, { expected: { table: model.table, rules: artifacts.ipvsadmRules } });
    const tableOnly = parseLiveState(director, dump, { expected: { table: model.table } });
    assert.deepEqual(tableOnly, plain);
    assert.deepEqual(hinted, plain);
    // most services are unchanged: their servers are the desired arrays themselves
    const desiredArrays = new Set(model.table.services.map((s) => s.realServers));
    const shared = hinted.table.services.filter((s) => desiredArrays.has(s.realServers)).length;
    assert.ok(shared > hinted.table.services.length / 2, `${shared} of ${hinted.table.services.length} shared`);
    const a = planDirector(forPlan, plain, { owner: "bench" });
    // and with compile's rules text, whose blocks become the plan's expected rules
    const b = planDirector({ ...forPlan, ipvsadmRules: artifacts.ipvsadmRules }, hinted, { owner: "bench" });
    assert.ok(a.operations.length > 0 && a.expectedRules.length > 0);
    assert.deepEqual(b, a);
  }
});
