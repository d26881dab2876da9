import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { JSON_SCHEMA_FILE, specJsonSchema, specJsonSchemaText } from "../../src/schema/json-schema.js";

describe("the JSON Schema for spec files", () => {
  test("the shipped file is exactly what the zod schema generates (run `npm run schema` after schema changes)", () => {
    assert.equal(readFileSync(JSON_SCHEMA_FILE, "utf8"), specJsonSchemaText());
  });

  test("every YAML example validates against it with ajv", () => {
    const validateFn = new Ajv2020({ allErrors: true, strict: false }).compile(specJsonSchema());
    const examples = readdirSync("examples").filter((f) => f.endsWith(".yaml"));
    assert.ok(examples.length >= 6);
    for (const f of examples) {
      const ok = validateFn(parse(readFileSync(`examples/${f}`, "utf8")));
      assert.ok(ok, `${f}: ${JSON.stringify(validateFn.errors)}`);
    }
  });

  test("it rejects what the zod schema rejects: unknown fields, bad enums, out-of-range numbers", () => {
    const validateFn = new Ajv2020({ allErrors: true, strict: false }).compile(specJsonSchema());
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
