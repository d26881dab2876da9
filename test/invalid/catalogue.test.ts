import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ISSUE_CODES, formatIssues, formatPath, type Issue, type IssueCode } from "../../src/issues.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { validate } from "../../src/validate/validate.js";
import { BASE_PASSWORD, CASES, VALID_VARIANTS, baseSpec, type InvalidCase } from "./cases.js";

/** Runs a spec through the pipeline's checking stages: the schema, then (if it parsed) validate. */
function check(spec: SpecInput): { stage: "schema" | "validate"; issues: Issue[] } {
  const parsed = parseSpec(spec);
  if (!parsed.ok) return { stage: "schema", issues: parsed.issues };
  return { stage: "validate", issues: validate(parsed.spec) };
}

function mutated(mutate: (s: SpecInput) => void): SpecInput {
  const spec = baseSpec();
  mutate(spec);
  return spec;
}

function findIssue(issues: readonly Issue[], c: Pick<InvalidCase, "code" | "path">): Issue | undefined {
  return issues.find((i) => i.code === c.code && formatPath(i.path) === c.path);
}

/**
 * Codes that no spec value can trigger: YAML syntax and the file's limits (nesting, aliases)
 * are the file loader's (test/unit/cli-hostile-input.test.ts), internal errors are bugs, the
 * rest come from import, plan and apply.
 */
const NOT_FROM_A_SPEC_VALUE: readonly IssueCode[] = [
  "yaml-syntax", "too-deep", "yaml-alias-limit", "internal-error", "unsupported-construct", "stale-plan", "apply-failed", "ssh-failed", "missing-ssh",
];

describe("the base spec", () => {
  test("parses and yields no issue at all", () => {
    const { stage, issues } = check(baseSpec());
    assert.equal(stage, "validate", formatIssues(issues));
    assert.deepEqual(issues, [], formatIssues(issues));
  });

  test("baseSpec() returns a fresh copy each time", () => {
    const a = baseSpec();
    a.services[0]!.name = "changed";
    assert.equal(baseSpec().services[0]!.name, "web");
  });
});

describe("catalogue of invalid inputs", () => {
  test("has at least 45 cases with distinct names", () => {
    assert.ok(CASES.length >= 45, `only ${CASES.length} cases`);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  for (const c of CASES) {
    test(`${c.name}: ${c.code} at ${c.path}`, () => {
      const { stage, issues } = check(mutated(c.mutate));
      assert.equal(stage, c.stage, `caught by ${stage}, expected ${c.stage}:\n${formatIssues(issues)}`);
      const issue = findIssue(issues, c);
      assert.ok(issue, `no ${c.code} at ${c.path}; got:\n${formatIssues(issues)}`);
      assert.ok(issue.message.includes(c.message), `message ${JSON.stringify(issue.message)} lacks ${JSON.stringify(c.message)}`);
      assert.equal(issue.severity, c.severity ?? "error");
      if (c.hint !== undefined) {
        assert.ok(issue.hint?.includes(c.hint), `hint ${JSON.stringify(issue.hint)} lacks ${JSON.stringify(c.hint)}`);
      }
      for (const secret of [BASE_PASSWORD, ...(c.secrets ?? [])]) {
        for (const i of issues) {
          assert.ok(!i.message.includes(secret) && !(i.hint ?? "").includes(secret), `secret echoed in ${i.code}: ${i.message}`);
        }
      }
    });
  }

  test("covers every code a spec value can trigger", () => {
    const covered = new Set(CASES.map((c) => c.code));
    const missing = ISSUE_CODES.filter((code) => !covered.has(code) && !NOT_FROM_A_SPEC_VALUE.includes(code));
    assert.deepEqual(missing, []);
  });
});

describe("valid look-alikes", () => {
  for (const v of VALID_VARIANTS) {
    test(`${v.name}: no issue`, () => {
      const { stage, issues } = check(mutated(v.mutate));
      assert.equal(stage, "validate", formatIssues(issues));
      assert.deepEqual(issues, [], formatIssues(issues));
    });
  }
});

describe("validate collects", () => {
  test("reports every independent problem in one spec, not the first", () => {
    const picked = [
      "DR real server remaps the port",
      "one-packet scheduling on TCP",
      "sorry server of the other family",
      "lower threshold above upper threshold",
      "HTTP check without urls",
      "VIP of the other family in one instance",
      "VRRP password longer than 8 characters",
      "directors disagree on the VRID",
      "service names an unknown director",
      "prefix on an IPv4 service",
    ];
    const cases = picked.map((name) => {
      const c = CASES.find((x) => x.name === name);
      assert.ok(c, name);
      return c;
    });
    const spec = baseSpec();
    for (const c of cases) c.mutate(spec);
    const { stage, issues } = check(spec);
    assert.equal(stage, "validate");
    for (const c of cases) {
      const issue = findIssue(issues, c);
      assert.ok(issue, `missing ${c.code} at ${c.path}:\n${formatIssues(issues)}`);
      assert.ok(issue.message.includes(c.message));
    }
  });

  test("never throws and is deterministic on any mix of catalogue mutations", () => {
    const semantic = CASES.filter((c) => c.stage === "validate");
    fc.assert(
      fc.property(fc.subarray(semantic.map((_, i) => i), { minLength: 1, maxLength: 8 }), (picked) => {
        const build = () => {
          const spec = baseSpec();
          for (const i of picked) semantic[i]!.mutate(spec);
          return spec;
        };
        const parsed = parseSpec(build());
        if (!parsed.ok) return; // two mutations may together break the shape
        const first = validate(parsed.spec);
        const again = parseSpec(build());
        assert.ok(again.ok);
        assert.deepEqual(validate(again.spec), first);
        for (const issue of first) assert.ok((ISSUE_CODES as readonly string[]).includes(issue.code));
        assert.ok(first.length > 0, `no issue for ${picked.map((i) => semantic[i]!.name).join(", ")}`);
      }),
      { seed: 20240611, numRuns: 200 },
    );
  });

  test("validate does not change the spec it checks", () => {
    const parsed = parseSpec(mutated((s) => { s.services[0]!.pool.servers.push({ address: "203.0.113.10", port: 8080 }); }));
    assert.ok(parsed.ok);
    const before = JSON.stringify(parsed.spec);
    validate(parsed.spec);
    assert.equal(JSON.stringify(parsed.spec), before);
  });
});

describe("docs/errors.md", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  test("documents every issue code in its table", () => {
    const rows = new Set([...doc.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]));
    const undocumented = ISSUE_CODES.filter((c) => !rows.has(c));
    assert.deepEqual(undocumented, []);
    const unknown = [...rows].filter((c) => !(ISSUE_CODES as readonly string[]).includes(c ?? ""));
    assert.deepEqual(unknown, []);
  });
});
