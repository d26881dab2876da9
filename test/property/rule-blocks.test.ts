/** A service's block found in a table's rules text is that service's rules, rendered alone. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { serviceSelector } from "../../src/model/service-key.js";
import { RuleBlocks } from "../../src/render/rule-blocks.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { FC_SEED, arbIpvsTable } from "../support/arbitraries.js";

test("every service's block is its own rendering, and a dump of the same lines matches it to its end", () => {
  fc.assert(fc.property(arbIpvsTable({ maxServices: 8, maxRealServers: 4 }), (table) => {
    const rules = renderIpvsadmRules(table);
    const blocks = new RuleBlocks(rules);
    for (const s of table.services) {
      const alone = renderIpvsadmRules({ services: [s] }).replace(/\n$/, "");
      assert.equal(blocks.blockOf(serviceSelector(s.key)), alone);
      // the same lines in a dump, between others: the block ends where the next service begins
      const dump = `${alone}\n-A -t 203.0.113.250:1 -s rr`;
      assert.equal(blocks.endOfSameBlock(dump, 0, dump.indexOf("\n") < 0 ? dump.length : dump.indexOf("\n")), alone.length);
      // one character more or less is not the same block
      const longer = `${alone}0\n-A -t 203.0.113.250:1 -s rr`;
      assert.equal(blocks.endOfSameBlock(longer, 0, longer.indexOf("\n")), -1);
    }
    assert.equal(blocks.blockOf("-t no-such-service:1"), undefined);
  }), { seed: FC_SEED, numRuns: 300 });
});
