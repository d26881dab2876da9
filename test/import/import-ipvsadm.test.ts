/**
 * `ipvsadm -S -n` dump -> spec: applier-owned services that compile back into rules which
 * load into the same table (a fixture and a property over random valid tables), and lines
 * or services the spec refuses reported at their line.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import { compile } from "../../src/compile.js";
import { findingKey } from "../../src/import/import-findings.js";
import { importIpvsadmSave } from "../../src/import/import-ipvsadm-save.js";
import { formatIssues, hasErrors } from "../../src/issues.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { parseIpvsadmSave } from "../../src/state/parse-ipvsadm-save.js";
import { FC_SEED, arbIpvsTable } from "../support/arbitraries.js";

const DUMP = readFileSync(new URL("fixtures/ipvsadm-save.txt", import.meta.url), "utf8");

/** dump -> spec -> compile -> ipvsadm.rules -> table */
function roundTrip(dump: string) {
  const r = importIpvsadmSave(dump, "dump.txt");
  assert.ok(!hasErrors(r.specIssues), formatIssues(r.specIssues));
  const c = compile(r.spec);
  assert.ok(c.ok, formatIssues(c.issues));
  const back = parseIpvsadmSave(c.output.ipvsadmRules);
  assert.deepEqual(back.issues, []);
  return { result: r, back: back.table, rules: c.output.ipvsadmRules };
}

describe("importIpvsadmSave", () => {
  test("the fixture dump round-trips to the same table, every service applier-owned", () => {
    const { result, back } = roundTrip(DUMP);
    assert.deepEqual(result.findings, []);
    assert.deepEqual(back, parseIpvsadmSave(DUMP).table);
    assert.ok(result.spec.services.every((s) => s.pool.healthChecks === undefined));
    assert.deepEqual(result.spec.directors, [{ name: "dump.txt", interfaces: ["eth0"] }]);
    // the empty service is kept: a warning, as for any spec
    assert.deepEqual(result.specIssues.map((i) => i.code), ["empty-pool"]);
  });

  test("services carry the table's settings; overrides only where a server differs", () => {
    const { result } = roundTrip(DUMP);
    const byName = new Map(result.spec.services.map((s) => [s.name, s]));
    assert.deepEqual(byName.get("tcp-203.0.113.20-443"), {
      name: "tcp-203.0.113.20-443",
      protocol: "tcp",
      address: "203.0.113.20",
      port: 443,
      scheduler: "mh",
      schedulerFlags: ["mh-fallback", "mh-port"],
      persistence: { timeout: 600, netmask: "255.255.255.0" },
      pool: {
        forwarding: { method: "dr" },
        servers: [{ address: "203.0.113.31", weight: 100 }, { address: "203.0.113.32", weight: 0 }],
      },
    });
    assert.deepEqual(byName.get("fwmark-10")?.pool, {
      forwarding: { method: "dr" },
      servers: [
        { address: "192.0.2.21", weight: 1 },
        { address: "192.0.2.22", weight: 1, forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 6080, tunnelChecksum: "csum" } },
      ],
    });
    assert.deepEqual(byName.get("tcp-2001_db8__10-80")?.persistence, { timeout: 300 });
    assert.equal(byName.get("udp-203.0.113.53-53")?.onePacket, true);
  });

  test("lines ipvsadm would refuse, and services the spec refuses, are reported at their line", () => {
    const dump = [
      "-A -t 203.0.113.1:80 -s bogus", // 1
      "-a -t 203.0.113.77:80 -r 192.0.2.1:80 -m", // 2
      "-A -t 203.0.113.2:80 -s rr", // 3
      "-a -t 203.0.113.2:80 -r 203.0.113.2:80 -m -w 1", // 4
      "-a -t 203.0.113.2:80 -r 192.0.2.2:80 -m -w 1", // 5
      "-A -f 3000000000 -s rr", // 6
      "", // 7
    ].join("\n");
    const r = importIpvsadmSave(dump, "dump.txt");
    assert.ok(!hasErrors(r.specIssues), formatIssues(r.specIssues));
    assert.deepEqual(r.findings.map((f) => findingKey(f)), ["-A@1", "-a@2", "-a@4", "-A@6"]);
    assert.match(r.findings[0]!.message, /unknown scheduler 'bogus'/);
    assert.match(r.findings[2]!.message, /virtual address/);
    assert.match(r.findings[3]!.message, /fwmark/);
    assert.deepEqual(r.spec.services.map((s) => [s.name, s.pool.servers.map((x) => x.address)]), [["tcp-203.0.113.2-80", ["192.0.2.2"]]]);
  });

  test("property: every valid table the spec can express comes back unchanged", () => {
    let clean = 0;
    fc.assert(
      fc.property(arbIpvsTable(), (table) => {
        const r = importIpvsadmSave(renderIpvsadmRules(table), "dump.txt");
        assert.ok(!hasErrors(r.specIssues), formatIssues(r.specIssues));
        if (r.findings.length > 0) return; // a table the spec's rules refuse in part: reported, checked above
        clean++;
        const c = compile(r.spec);
        assert.ok(c.ok, formatIssues(c.issues));
        assert.deepEqual(parseIpvsadmSave(c.output.ipvsadmRules).table, table);
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
    assert.ok(clean > 250, `only ${clean} of 300 tables imported without findings`);
  });
});
