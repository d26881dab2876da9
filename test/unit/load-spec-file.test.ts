import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatIssues, formatPath } from "../../src/issues.js";
import { compileText } from "../../src/compile.js";
import { loadSpecText } from "../../src/schema/load-spec-file.js";

const GOOD = `directors:
  - name: lb1
    interfaces: [eth0]
services:
  - name: web
    protocol: tcp
    address: 203.0.113.10
    port: 80
    pool:
      servers:
        - { address: 192.0.2.11, weight: 3 }
`;

describe("loadSpecText", () => {
  test("a valid file parses, with defaults filled in", () => {
    const r = loadSpecText(GOOD, "good.yaml");
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.spec.services[0]!.scheduler, "wlc");
    assert.equal(r.spec.targetKernel, "6.1");
    assert.deepEqual(r.spec.services[0]!.pool.forwarding, { method: "nat" });
  });

  test("JSON is accepted too", () => {
    const r = loadSpecText(JSON.stringify({ directors: [{ name: "lb1", interfaces: ["eth0"] }], services: [] }), "s.json");
    assert.equal(r.ok, true);
  });

  test("a wrong value is located at its line and column, with the source line", () => {
    const text = GOOD.replace("weight: 3", "weight: -3");
    const r = loadSpecText(text, "bad.yaml");
    assert.equal(r.ok, false);
    const [issue] = r.issues;
    assert.ok(issue);
    assert.equal(issue.code, "out-of-range");
    assert.equal(formatPath(issue.path), "services[0].pool.servers[0].weight");
    assert.equal(issue.location?.line, 11);
    assert.equal(issue.location?.column, 42);
    assert.match(formatIssues(r.issues), /^bad\.yaml:11:42: error\[out-of-range\] services\[0\]\.pool\.servers\[0\]\.weight: weight must be between 0 and 2147483647\n\s+11 \| .*weight: -3 }\n\s+\|\s+\^$/m);
  });

  test("an unknown field points at the key", () => {
    const r = loadSpecText(GOOD.replace("    port: 80\n", "    port: 80\n    prot: 81\n"), "bad.yaml");
    assert.equal(r.ok, false);
    const issue = r.issues.find((i) => i.code === "unknown-field");
    assert.ok(issue, formatIssues(r.issues));
    assert.equal(formatPath(issue.path), "services[0].prot");
    assert.deepEqual([issue.location?.line, issue.location?.column], [9, 5]);
  });

  test("a missing field is reported at its parent", () => {
    const r = loadSpecText(GOOD.replace("  - name: web\n", "  - nam: web\n"), "bad.yaml");
    assert.equal(r.ok, false);
    const missing = r.issues.find((i) => i.code === "missing-field");
    assert.ok(missing);
    assert.equal(formatPath(missing.path), "services[0].name");
    assert.equal(missing.message, "is required");
    assert.equal(missing.location?.line, 5);
  });

  test("YAML syntax errors carry a position and never throw", () => {
    const r = loadSpecText("directors:\n  - name: lb1\n   interfaces: [eth0\n", "broken.yaml");
    assert.equal(r.ok, false);
    assert.equal(r.issues[0]?.code, "yaml-syntax");
    assert.ok((r.issues[0]?.location?.line ?? 0) >= 2);
  });

  test("duplicate keys are a syntax error, not a silent override", () => {
    const r = loadSpecText(GOOD.replace("    port: 80\n", "    port: 80\n    port: 81\n"), "dup.yaml");
    assert.equal(r.ok, false);
    assert.equal(r.issues[0]?.code, "yaml-syntax");
  });

  test("a hostile interface name is rejected with its own code", () => {
    const r = loadSpecText(GOOD.replace("[eth0]", '["eth0; rm -rf /"]'), "evil.yaml");
    assert.equal(r.ok, false);
    assert.equal(r.issues[0]?.code, "invalid-interface-name");
    assert.equal(formatPath(r.issues[0]!.path), "directors[0].interfaces[0]");
  });

  test("every problem is reported at once", () => {
    const text = GOOD.replace("weight: 3", "weight: -3").replace("port: 80", "port: 99999").replace("[eth0]", '["a b"]');
    const r = loadSpecText(text, "many.yaml");
    assert.equal(r.ok, false);
    assert.deepEqual(r.issues.map((i) => formatPath(i.path)).sort(), [
      "directors[0].interfaces[0]", "services[0].pool.servers[0].weight", "services[0].port",
    ]);
  });
});

describe("compileText", () => {
  test("semantic errors and warnings point into the file; schema errors come located from the loader", () => {
    const duplicate = compileText(GOOD.replace("        - { address: 192.0.2.11, weight: 3 }\n", "        - { address: 192.0.2.11, weight: 3 }\n        - { address: 192.0.2.11 }\n"), "dup.yaml");
    assert.equal(duplicate.ok, false);
    const dup = duplicate.issues.find((i) => i.code === "duplicate-real-server");
    assert.ok(dup, formatIssues(duplicate.issues));
    assert.deepEqual([dup.location?.file, dup.location?.line], ["dup.yaml", 12]);

    const drained = compileText(GOOD.replace("    port: 80\n", "    port: 80\n    scheduler: mh\n").replace("weight: 3", "weight: 0"), "mh.yaml");
    assert.equal(drained.ok, true, formatIssues(drained.issues));
    const warning = drained.issues.find((i) => i.code === "mh-drain-without-fallback");
    assert.ok(warning, formatIssues(drained.issues));
    assert.equal(warning.severity, "warning");
    assert.equal(warning.location?.line, 12);

    const schema = compileText(GOOD.replace("weight: 3", "weight: -3"), "bad.yaml");
    assert.equal(schema.ok, false);
    assert.deepEqual(schema.issues.map((i) => [i.code, i.location?.line]), [["out-of-range", 11]]);
  });
});
