/**
 * The benchmark inputs (bench/generate.ts) must stay valid: the 1k-service spec compiles
 * without issues in both input forms, and planning it against the generated live dump (1%
 * of the real servers changed) yields about 1% operations. No timings here: see
 * `npm run bench` and BENCHMARKS.md.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { compile, compileText, type CompileOutput } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";
import { generateSpec, previousSpec, realServerCount, renderLiveDump, specToYaml } from "../../bench/generate.js";

function compiled(value: unknown): CompileOutput {
  const r = compile(value);
  assert.ok(r.ok, JSON.stringify(r.issues.slice(0, 3)));
  assert.deepEqual(r.issues, [], "the generated spec draws no warnings either");
  return r.output;
}

describe("bench/generate.ts", () => {
  const spec = generateSpec({ services: 1000 });

  test("the 1k spec: 32 real servers per service, a realistic mix, compiles from the value and from YAML", () => {
    assert.equal(spec.services.length, 1000);
    assert.equal(realServerCount(spec), 32000);
    const out = compiled(spec);
    const owners = out.model.services.map((s) => s.owner);
    const keepalived = owners.filter((o) => o === "keepalived").length;
    assert.ok(keepalived > 50 && keepalived < 200, `about 10% health-checked, got ${keepalived}`);
    const keys = out.model.services.map((s) => s.ipvs.key);
    assert.ok(keys.some((k) => k.kind === "fwmark"), "some fwmark services");
    assert.ok(keys.some((k) => k.kind === "addr" && k.protocol === "udp"), "some UDP services");
    assert.ok(keys.some((k) => k.kind === "addr" && k.address.includes(":")), "some IPv6 services");
    assert.equal(out.directors.length, 2);
    assert.match(out.directors[0]!.keepalivedConf, /HTTP_GET/);

    const small = generateSpec({ services: 50 });
    assert.deepEqual(parseYaml(specToYaml(small)), JSON.parse(JSON.stringify(small)), "the YAML says the same as the value");
    const yaml = specToYaml(spec);
    const fromText = compileText(yaml, "bench.yaml");
    assert.ok(fromText.ok, JSON.stringify(fromText.issues.slice(0, 3)));
    assert.deepEqual(fromText.issues, []);
    assert.equal(fromText.output.ipvsadmRules, out.ipvsadmRules);
  });

  test("a single director works too", () => {
    const out = compiled(generateSpec({ services: 50, directors: 1 }));
    assert.equal(out.directors.length, 1);
  });

  test("the live dump with 1% changed real servers plans to about 1% operations", () => {
    const out = compiled(spec);
    const previous = previousSpec(spec);
    const changed = previous.summary.weightChanged + previous.summary.removed + previous.summary.added;
    const total = realServerCount(spec);
    assert.ok(changed > total * 0.005 && changed < total * 0.015, `about 1% changed, got ${changed} of ${total}`);

    const dump = renderLiveDump(compiled(previous.spec), "lb1", "bench");
    const live = parseLiveState("lb1", dump);
    assert.deepEqual(live.issues, []);
    const desired = { model: out.model.directors[0]!, keepalivedConf: out.directors[0]!.keepalivedConf };
    const plan = planDirector(desired, live, { owner: "bench" });
    const ops = plan.operations.length;
    assert.ok(ops > total * 0.005 && ops < total * 0.02, `about 1% operations, got ${ops} of ${total} real servers`);
    assert.ok(plan.operations.every((o) => o.action !== "add-service" && o.action !== "remove-service"), "no service comes or goes");
    assert.deepEqual(plan.foreign, []);
    assert.equal(plan.keepalived.action, "reload", "health-checked pools changed too");
  });
});
