/**
 * A group service (keepalived's virtual_server_group, issue #16 point 3) on a real director:
 * keepalived runs the keepalived.conf we render for a NAT group of the range
 * VIP_V4(3)..VIP_V4(5) on port 80 over the lab's three real servers, HTTP check of `/`. The
 * table keepalived builds is exactly the expanded rules (one service per member); stopping
 * rs2's httpd takes rs2 out of every member at once, starting it brings it back.
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

const RS2 = REAL_SERVERS[1]!;
const BOUND_MS = 15000;
const LAST = Number(VIP_V4(5).split(".")[3]);

const spec: SpecInput = {
  directors: [{ name: "lab1", interfaces: ["vc0"] }],
  services: [{
    name: "web", protocol: "tcp", scheduler: "rr",
    group: { members: [{ address: VIP_V4(3), last: LAST, port: 80 }] },
    pool: {
      forwarding: { method: "nat" },
      delayLoop: 1, connectTimeout: 1, retry: 1, delayBeforeRetry: 1,
      servers: REAL_SERVERS.map((rs) => ({ address: rs.v4 })),
      healthChecks: [{ type: "http", urls: [{ path: "/" }] }],
    },
  }],
};

function servers(table: IpvsTable): string[] {
  return table.services.map((s) => `${s.key.kind === "addr" ? s.key.address : "?"}: ${s.realServers.map((rs) => rs.address).sort().join(" ")}`);
}

describe("a group service on a real director (rendered keepalived.conf)", () => {
  const director = keepalivedLabDirector();

  it(`keepalived builds one service per member; a failed check takes rs2 out of all of them within ${BOUND_MS / 1000} s`, async (t) => {
    const lab = director();
    if (!requireLabOrSkip(t) || lab === undefined) return;
    const result = compile(spec);
    assert.ok(result.ok, formatIssues(result.issues));
    const artifacts = result.output.directors[0]!;
    const table = result.output.model.directors[0]!.table;
    assert.equal(table.services.length, 3);
    assert.match(artifacts.keepalivedConf, new RegExp(`virtual_server_group web \\{\\n\\s+${VIP_V4(3).replace(/\./g, "\\.")}-${LAST} 80\\n`));
    await startKeepalived(lab, artifacts);
    try {
      const all = REAL_SERVERS.map((rs) => rs.v4).sort();
      await waitForTable(lab, "three services of three servers", (tb) => tb.services.length === 3 && tb.services.every((s) => s.realServers.length === 3), BOUND_MS);
      // keepalived's table is exactly the expanded rules
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));
      await stopHttpd(lab, RS2.ns, 80);
      try {
        const down = await waitForTable(lab, "rs2 leaves every member", (tb) => tb.services.every((s) => !s.realServers.some((rs) => rs.address === RS2.v4)), BOUND_MS);
        t.diagnostic(`rs2 left all members ${down.elapsedMs} ms after its httpd stopped`);
        assert.equal(down.table.services.length, 3);
        for (const line of servers(down.table)) assert.match(line, new RegExp(`: ${all.filter((a) => a !== RS2.v4).join(" ").replace(/\./g, "\\.")}$`));
        const r = await clientRequests(lab, { addr: VIP_V4(4), port: 80, count: 6 });
        assert.equal(r.failures, 0, r.stderr);
        assert.deepEqual(tally(r.servers), { rs1: 3, rs3: 3 });
      } finally {
        await startHttpd(lab, RS2.ns, 80);
      }
      await waitForTable(lab, "rs2 back in every member", (tb) => tb.services.every((s) => s.realServers.length === 3), BOUND_MS);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));
    } finally {
      await stopKeepalived(lab);
    }
  });
});
