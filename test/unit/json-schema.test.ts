import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { JSON_SCHEMA_FILE, SCHEMA_VALIDATOR_FILE, specJsonSchema, specJsonSchemaText } from "../../src/schema/json-schema.js";
import type { ValidateFunction } from "ajv";
import generated from "../../src/schema/generated/validate-spec-file.js";
import { SPEC_FORMATS } from "../../src/schema/spec-formats.js";
import { baseSpec, CASES } from "../invalid/cases.js";
import { exampleSpecs } from "../support/example-specs.js";

const precompiled = generated as unknown as ValidateFunction;
import { schemaValidatorSource, specFileAjv } from "../../scripts/schema-validator-source.js";

describe("the JSON Schema for spec files", () => {
  test("the shipped file is exactly what the zod schema generates (run `npm run schema` after schema changes)", () => {
    assert.equal(readFileSync(JSON_SCHEMA_FILE, "utf8"), specJsonSchemaText());
  });

  test("the precompiled ajv validator is exactly what ajv generates for it (run `npm run schema`)", () => {
    assert.equal(readFileSync(SCHEMA_VALIDATOR_FILE, "utf8"), schemaValidatorSource());
  });

  test("the precompiled validator answers like a runtime compile on the base spec and every schema-stage invalid case", () => {
    const runtime = specFileAjv().compile(specJsonSchema());
    const specs = [baseSpec(), ...CASES.filter((c) => c.stage === "schema").map((c) => {
      const s = baseSpec();
      c.mutate(s);
      return s;
    })];
    for (const s of specs) {
      const value: unknown = JSON.parse(JSON.stringify(s));
      assert.equal(precompiled(value), runtime(value), JSON.stringify(value).slice(0, 200));
      assert.deepEqual(precompiled.errors ?? null, runtime.errors ?? null);
    }
    assert.ok(specs.length > 20);
  });

  test("it names exactly the formats the validator is given, and each one is used", () => {
    const used = new Set<string>();
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n !== null && typeof n === "object") {
        const format = (n as { format?: unknown }).format;
        if (typeof format === "string") used.add(format);
        Object.values(n).forEach(walk);
      }
    };
    walk(specJsonSchema());
    assert.deepEqual([...used].sort(), Object.keys(SPEC_FORMATS).sort());
  });

  test("every YAML example validates against it with ajv", () => {
    const validateFn = specFileAjv().compile(specJsonSchema());
    const examples = exampleSpecs(".").map((e) => e.file);
    assert.ok(examples.length >= 6);
    for (const f of examples) {
      const ok = validateFn(parse(readFileSync(`examples/${f}`, "utf8")));
      assert.ok(ok, `${f}: ${JSON.stringify(validateFn.errors)}`);
    }
  });

  test("it rejects what the zod schema rejects: unknown fields, bad enums, out-of-range numbers", () => {
    const validateFn = specFileAjv().compile(specJsonSchema());
    const base = { directors: [{ name: "lb1", interfaces: ["eth0"] }], services: [] as unknown[] };
    assert.equal(validateFn(base), true);
    assert.equal(validateFn({ ...base, extra: 1 }), false);
    const svc = { name: "s", protocol: "tcp", address: "192.0.2.1", port: 80, pool: { servers: [] } };
    assert.equal(validateFn({ ...base, services: [svc] }), true);
    assert.equal(validateFn({ ...base, services: [{ ...svc, scheduler: "random" }] }), false);
    assert.equal(validateFn({ ...base, services: [{ ...svc, port: 70000 }] }), false);
    assert.equal(validateFn({ ...base, directors: [{ name: "lb1", interfaces: ["eth0; rm -rf /"] }] }), false);
  });
});
