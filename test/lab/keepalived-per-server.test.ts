/**
 * A per-real-server check that differs from the pool's (issue #16, point 6): keepalived runs
 * the keepalived.conf we render for a NAT service on VIP_V4(2):80 over the lab's three real
 * servers. The pool's check is HTTP `/` on each server's own port 80; rs2 has its own check
 * instead, TCP to port 8080. Stopping the httpd on 8080 of BOTH rs1 and rs2 must take only
 * rs2 out of the kernel table (rs1's check never looks at 8080); starting rs2's again brings
 * it back. One director; keepalived is stopped at the end.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compile } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { IpvsTable } from "../../src/model/model.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import {
  clientRequests, REAL_SERVERS, requireLabOrSkip, tally, VIP_V4,
} from "./lab.js";
import { canonicalTable, readLiveTable } from "./support/ipvs-readback.js";
import { keepalivedLabDirector, startHttpd, startKeepalived, stopHttpd, stopKeepalived, waitForTable } from "./support/keepalived-lab.js";

const VIP = VIP_V4(2);
const [RS1, RS2] = [REAL_SERVERS[0]!, REAL_SERVERS[1]!];
/** bound for a check result to reach the table (expected: ~2-3 s at delayLoop 1, retry 1) */
const BOUND_MS = 15000;

const spec: SpecInput = {
  directors: [{ name: "lab1", interfaces: ["vc0"] }],
  services: [{
    name: "web", protocol: "tcp", address: VIP, port: 80, scheduler: "rr",
    pool: {
      forwarding: { method: "nat" },
      delayLoop: 1, connectTimeout: 1, retry: 1, delayBeforeRetry: 1,
      servers: REAL_SERVERS.map((rs) => (rs === RS2 ? { address: rs.v4, healthChecks: [{ type: "tcp" as const, connectPort: 8080 }] } : { address: rs.v4 })),
      healthChecks: [{ type: "http", urls: [{ path: "/" }] }],
    },
  }],
};

function addresses(table: IpvsTable): string[] {
  return table.services.flatMap((s) => s.realServers.map((rs) => rs.address)).sort();
}

describe("a per-server check that differs from the pool's (real director, rendered keepalived.conf)", () => {
  const director = keepalivedLabDirector();

  it(`a failing 8080 takes out rs2 only (its own check), not rs1 (the pool's check of :80), within ${BOUND_MS / 1000} s; rs2 comes back`, async (t) => {
    const lab = director();
    if (!requireLabOrSkip(t) || lab === undefined) return;
    const result = compile(spec);
    assert.ok(result.ok, formatIssues(result.issues));
    const artifacts = result.output.directors[0]!;
    const table = result.output.model.directors[0]!.table;
    assert.match(artifacts.keepalivedConf, /real_server 203\.0\.113\.34 80 \{\n\s+weight 1\n\s+TCP_CHECK \{\n\s+connect_port 8080\n/);
    await startKeepalived(lab, artifacts);
    try {
      const all = REAL_SERVERS.map((rs) => rs.v4).sort();
      await waitForTable(lab, "all three real servers in the table", (tb) => addresses(tb).length === 3, BOUND_MS);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));

      await stopHttpd(lab, RS1.ns, 8080);
      await stopHttpd(lab, RS2.ns, 8080);
      try {
        const down = await waitForTable(lab, "rs2 leaves the table", (tb) => !addresses(tb).includes(RS2.v4), BOUND_MS);
        t.diagnostic(`rs2 left the table ${down.elapsedMs} ms after its :8080 stopped`);
        assert.deepEqual(addresses(down.table), all.filter((a) => a !== RS2.v4));
        // rs1 has no listener on 8080 either, yet its check (HTTP on :80) keeps it: still there a few check rounds later
        await new Promise((r) => setTimeout(r, 4000));
        const later = await waitForTable(lab, "a read of the table", () => true, BOUND_MS);
        assert.deepEqual(addresses(later.table), all.filter((a) => a !== RS2.v4));
        const r = await clientRequests(lab, { addr: VIP, port: 80, count: 6 });
        assert.equal(r.failures, 0, r.stderr);
        assert.deepEqual(tally(r.servers), { rs1: 3, rs3: 3 });
      } finally {
        await startHttpd(lab, RS1.ns, 8080);
        await startHttpd(lab, RS2.ns, 8080);
      }
      const up = await waitForTable(lab, "rs2 back in the table", (tb) => addresses(tb).includes(RS2.v4), BOUND_MS);
      t.diagnostic(`rs2 was back ${up.elapsedMs} ms after its :8080 started`);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));
    } finally {
      await stopKeepalived(lab);
    }
  });
});
