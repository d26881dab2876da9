/**
 * The rule file is written as bytes (AsciiWriter) for speed; every line must be exactly
 * what the single-command renderers print, which the planner uses for its batches.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { IpvsTable } from "../../src/model/model.js";
import { renderIpvsadmRules, renderRealServerLine, renderServiceLine } from "../../src/render/render-ipvsadm-rules.js";
import { FC_SEED, arbIpvsTable } from "../support/arbitraries.js";

/** The rule file as lines from the single-command renderers (the table in canonical order). */
function lineByLine(table: IpvsTable): string {
  const lines = table.services.flatMap((s) => [renderServiceLine(s), ...s.realServers.map((rs) => renderRealServerLine(s, rs))]);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

test("the written rule file is the single-command renderers' lines", () => {
  fc.assert(fc.property(arbIpvsTable({ maxServices: 8, maxRealServers: 6 }), (table) => {
    assert.equal(renderIpvsadmRules(table), lineByLine(table));
  }), { seed: FC_SEED, numRuns: 500 });
});

test("numbers print as String() prints them, and text beyond ASCII still renders", () => {
  const odd = (weight: number, address = "192.0.2.1"): IpvsTable => ({
    services: [{
      key: { kind: "addr", protocol: "tcp", address: "203.0.113.1", port: 80 }, family: "inet", scheduler: "wlc", flags: [], onePacket: false,
      realServers: [{ address, port: 8080, forwarding: "nat", weight, upperThreshold: 0, lowerThreshold: 0 }],
    }],
  });
  for (const weight of [0, 9, 10, 99, 100, 65535, 2147483647, 4294967295, 4294967296, 1.5, -1, 1e21, Number.NaN]) {
    assert.equal(renderIpvsadmRules(odd(weight)), lineByLine(odd(weight)), String(weight));
  }
  assert.equal(renderIpvsadmRules(odd(1, "192.0.2.1é")), lineByLine(odd(1, "192.0.2.1é")));
  assert.match(renderIpvsadmRules(odd(1, "192.0.2.1é")), /192\.0\.2\.1é:8080/);
});
