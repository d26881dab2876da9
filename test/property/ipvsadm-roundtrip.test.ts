// Property tests: the ipvsadm renderer and parser are inverse on every valid table, the
// renderer is deterministic, and specs survive spec -> normalize -> render -> parse.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalize } from "../../src/model/normalize.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import { parseIpvsadmSave } from "../../src/state/parse-ipvsadm-save.js";
import { validate } from "../../src/validate/validate.js";
import type { IpvsTable } from "../../src/model/model.js";
import { FC_SEED, arbIpvsTable, arbSpecCase } from "../support/arbitraries.js";

const RUNS = { seed: FC_SEED, numRuns: 300 };

/** A shuffled copy: services and each pool in another order. */
function shuffled(table: IpvsTable, order: number[]): IpvsTable {
  const pick = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = (order[i % order.length] ?? 0) % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { services: pick(table.services).map((s) => ({ ...s, realServers: pick(s.realServers) })) };
}

describe("ipvsadm rules round trip", () => {
  test("parse(render(t)) equals t, without issues", () => {
    fc.assert(
      fc.property(arbIpvsTable(), (table) => {
        const { table: back, issues } = parseIpvsadmSave(renderIpvsadmRules(table));
        assert.deepEqual(issues, []);
        assert.deepEqual(back, table);
      }),
      RUNS,
    );
  });

  test("render is idempotent through parse", () => {
    fc.assert(
      fc.property(arbIpvsTable(), (table) => {
        const text = renderIpvsadmRules(table);
        assert.equal(renderIpvsadmRules(parseIpvsadmSave(text).table), text);
      }),
      RUNS,
    );
  });

  test("render does not depend on the order of services and real servers", () => {
    fc.assert(
      fc.property(arbIpvsTable(), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (table, order) => {
        const before = JSON.stringify(table);
        assert.equal(renderIpvsadmRules(shuffled(table, order)), renderIpvsadmRules(table));
        assert.equal(JSON.stringify(table), before, "the input table was modified");
      }),
      RUNS,
    );
  });

  test("render output has one trailing newline, no blank lines and no comments", () => {
    fc.assert(
      fc.property(arbIpvsTable(), (table) => {
        const text = renderIpvsadmRules(table);
        if (table.services.length === 0) return assert.equal(text, "");
        assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"));
        for (const line of text.slice(0, -1).split("\n")) assert.match(line, /^-[Aa] \S/);
      }),
      RUNS,
    );
  });
});

describe("specs through the pipeline", () => {
  test("generated specs pass the schema and the semantic rules", () => {
    fc.assert(
      fc.property(arbSpecCase(), ({ spec }) => {
        const parsed = parseSpec(spec);
        assert.deepEqual(parsed.issues, []);
        if (!parsed.ok) return;
        assert.deepEqual(validate(parsed.spec), []);
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  test("spec -> parseSpec -> normalize -> render -> parse equals the normalized table", () => {
    fc.assert(
      fc.property(arbSpecCase(), ({ spec, tables }) => {
        const parsed = parseSpec(spec);
        assert.ok(parsed.ok, JSON.stringify(parsed.issues));
        const model = normalize(parsed.spec);
        for (const director of model.directors) {
          const { table, issues } = parseIpvsadmSave(renderIpvsadmRules(director.table));
          assert.deepEqual(issues, []);
          assert.deepEqual(table, director.table);
          // and the normalized table is the one the spec was written from
          assert.deepEqual(director.table, tables[director.name]);
        }
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});
