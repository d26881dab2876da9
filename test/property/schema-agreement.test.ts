/**
 * Spec files are parsed by ajv with the JSON Schema that zod generates (defaults filled in,
 * formats checked by the functions zod's refinements call); TypeScript values by zod. The
 * two must be one schema: for any value, the same verdict, and for a valid one the same
 * parsed spec. Values here are valid specs with random damage: a field set to an awkward
 * value, removed, added where it does not belong, or swapped for another part of the spec.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { parse } from "yaml";
import type { ValidateFunction } from "ajv";
import generated from "../../src/schema/generated/validate-spec-file.js";
import { specJsonSchema } from "../../src/schema/json-schema.js";
import { Spec } from "../../src/schema/spec-schema.js";
import { generateSpec } from "../../bench/generate.js";
import { baseSpec, CASES, VALID_VARIANTS } from "../invalid/cases.js";
import { FC_SEED, arbSpecInput } from "../support/arbitraries.js";
import { exampleSpecs } from "../support/example-specs.js";

const validateFile = generated as unknown as ValidateFunction;

type Json = unknown;

/** Valid specs to damage: the feature-rich base and its variants, the examples, a bench spec. */
function baseValues(): Json[] {
  const out: Json[] = [baseSpec()];
  for (const v of VALID_VARIANTS) {
    const s = baseSpec();
    v.mutate(s);
    out.push(s);
  }
  for (const e of exampleSpecs(".")) {
    out.push(parse(readFileSync(e.path, "utf8")) as Json);
  }
  out.push(generateSpec({ services: 4 }));
  return out.map((v) => JSON.parse(JSON.stringify(v)) as Json);
}

/** Every property name the schema knows, and one it does not. */
function schemaKeys(): string[] {
  const keys = new Set<string>(["bogus"]);
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n !== null && typeof n === "object") {
      for (const [k, v] of Object.entries(n)) {
        if (k === "properties" && v !== null && typeof v === "object") for (const p of Object.keys(v)) keys.add(p);
        walk(v);
      }
    }
  };
  walk(specJsonSchema());
  return [...keys].sort();
}

/** Values that sit on the edges of the schema's types, ranges, patterns and formats. */
const AWKWARD: readonly Json[] = [
  "", "x", "lb1", "eth0", "tcp", "udp", "nat", "dr", "tunnel", "gue", "wlc", "mh", "mh-port", "A", "MASTER", "PASS",
  "6.1", "7", "192.0.2.1", "192.0.2.256", "192.0.2", "01.2.3.4", "1.2.3.4.5", "::1", "2001:db8::1", "fe80::1%eth0",
  "2001:db8::/64", "192.0.2.1/32", "192.0.2.1/33", "2001:db8::1/129", "192.0.2.1/", "example.org", "-bad-.org",
  "/bin/true", "bin/true", "/usr/bin/check", "a b", "/healthz", "200-299", "0123456789abcdef0123456789abcdef",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB", "/etc/keepalived", "/etc/../x",
  0, -0, 1, 2, 3, -1, 1.5, 0.25, 22, 53, 80, 100, 255, 256, 599, 600, 65535, 65536, 86400, 2678400, 2678401,
  2147483647, 2147483648, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  true, false, null, [], {}, ["eth0"], ["/bin/true", "x"], ["bin/true"], [200, "200-299"],
  { method: "nat" }, { method: "tunnel", tunnelType: "gue", tunnelPort: 6080 }, { address: "192.0.2.9" }, { type: "tcp" },
  { type: "dns", name: "example.org" }, { type: "command", command: ["/bin/true"] },
];

interface Position { parent: Record<string, Json> | Json[]; key: string | number }

/** Every place a value sits in `root`, and every object or array, in document order. */
function positions(root: Json): { at: Position[]; containers: (Record<string, Json> | Json[])[] } {
  const at: Position[] = [];
  const containers: (Record<string, Json> | Json[])[] = [];
  const walk = (n: Json): void => {
    if (Array.isArray(n)) {
      containers.push(n);
      n.forEach((v, i) => { at.push({ parent: n, key: i }); walk(v); });
    } else if (n !== null && typeof n === "object") {
      const obj = n as Record<string, Json>;
      containers.push(obj);
      for (const k of Object.keys(obj)) { at.push({ parent: obj, key: k }); walk(obj[k]); }
    }
  };
  walk(root);
  return { at, containers };
}

type Damage = { kind: "set" | "delete" | "add" | "graft" | "repeat"; where: number; pick: number; key: number };

const KEYS = schemaKeys();

function damage(value: Json, d: Damage): void {
  const { at, containers } = positions(value);
  const pos = at[d.where % Math.max(1, at.length)];
  switch (d.kind) {
    case "set":
      if (pos) (pos.parent as Record<string | number, Json>)[pos.key] = structuredClone(AWKWARD[d.pick % AWKWARD.length]);
      return;
    case "delete":
      if (!pos) return;
      if (Array.isArray(pos.parent)) pos.parent.splice(pos.key as number, 1);
      else delete pos.parent[pos.key as string];
      return;
    case "add": {
      const objects = containers.filter((c) => !Array.isArray(c)) as Record<string, Json>[];
      const target = objects[d.where % objects.length];
      if (target) target[KEYS[d.key % KEYS.length]!] = structuredClone(AWKWARD[d.pick % AWKWARD.length]);
      return;
    }
    case "graft": {
      const from = at[d.pick % Math.max(1, at.length)];
      if (pos && from) (pos.parent as Record<string | number, Json>)[pos.key] = structuredClone((from.parent as Record<string | number, Json>)[from.key]);
      return;
    }
    case "repeat": {
      const arrays = containers.filter((c) => Array.isArray(c)) as Json[][];
      const target = arrays[d.where % Math.max(1, arrays.length)];
      if (target && target.length > 0) target.push(structuredClone(target[d.pick % target.length]));
      return;
    }
  }
}

const arbDamage: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constantFrom("set", "delete", "add", "graft", "repeat"),
  where: fc.nat(),
  pick: fc.nat(),
  key: fc.nat(),
});

/** The file parse (ajv) and the value parse (zod) of one value: same verdict, same spec. */
function agree(value: Json): boolean {
  const forFile = structuredClone(value);
  const fileOk = validateFile(forFile);
  const byZod = Spec.safeParse(structuredClone(value));
  assert.equal(fileOk, byZod.success, [
    `ajv says ${fileOk ? "valid" : JSON.stringify(validateFile.errors?.slice(0, 2))}`,
    `zod says ${byZod.success ? "valid" : JSON.stringify(byZod.error.issues.slice(0, 2))}`,
    JSON.stringify(value).slice(0, 800),
  ].join("\n"));
  if (byZod.success) {
    assert.ok(isDeepStrictEqual(forFile, byZod.data), `parsed values differ:\najv ${JSON.stringify(forFile).slice(0, 600)}\nzod ${JSON.stringify(byZod.data).slice(0, 600)}`);
  }
  return byZod.success;
}

describe("the spec-file validator (ajv) and the zod schema are one schema", () => {
  const bases = baseValues();

  test("the valid specs pass both, with the same defaults filled in", () => {
    for (const b of bases) assert.equal(agree(b), true);
    // the dump of a generated spec leaves most defaults out: ajv must fill them in
    const sparse = structuredClone(bases[bases.length - 1]) as { services: { scheduler?: string }[] };
    delete sparse.services[0]!.scheduler;
    assert.equal(agree(sparse), true);
  });

  test("every schema-stage case of the invalid catalogue fails both", () => {
    const cases = CASES.filter((c) => c.stage === "schema");
    assert.ok(cases.length > 20);
    for (const c of cases) {
      const s = baseSpec();
      c.mutate(s);
      assert.equal(agree(JSON.parse(JSON.stringify(s)) as Json), false, c.name);
    }
  });

  test("damaged specs get the same verdict and, when valid, the same value", () => {
    let valid = 0, invalid = 0;
    fc.assert(
      fc.property(fc.nat(), fc.array(arbDamage, { minLength: 1, maxLength: 3 }), (which, damages) => {
        const value = structuredClone(bases[which % bases.length]);
        for (const d of damages) damage(value, d);
        if (agree(value)) valid++;
        else invalid++;
      }),
      { seed: FC_SEED, numRuns: 3000 },
    );
    // both verdicts are exercised, or the property says little
    assert.ok(valid > 300 && invalid > 300, `valid ${valid}, invalid ${invalid}`);
  });

  test("generated specs (any style: defaults written out or left out) parse the same", () => {
    fc.assert(fc.property(arbSpecInput(), (spec) => { assert.equal(agree(JSON.parse(JSON.stringify(spec)) as Json), true); }), { seed: FC_SEED, numRuns: 200 });
  });

  test("no default sits where a JSON Schema validator does not fill it in (inside oneOf, anyOf, not)", () => {
    const found: string[] = [];
    const walk = (n: unknown, path: string, inside: boolean): void => {
      if (Array.isArray(n)) n.forEach((v, i) => walk(v, `${path}/${i}`, inside));
      else if (n !== null && typeof n === "object") {
        if (inside && "default" in n) found.push(path);
        for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`, inside || k === "oneOf" || k === "anyOf" || k === "not");
      }
    };
    walk(specJsonSchema(), "#", false);
    assert.deepEqual(found, []);
  });
});
