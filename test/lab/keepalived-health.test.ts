/**
 * keepalived health checks against a real director: keepalived runs the keepalived.conf we
 * render for a NAT service on VIP_V4(1):80 over the lab's three real servers, with an HTTP
 * check of `/` every second (delayLoop 1, connectTimeout 1, retry 1, delayBeforeRetry 1).
 * Stopping rs2's httpd must take rs2 out of the kernel table (or, with inhibitOnFailure, set
 * its weight to 0); starting it again must bring rs2 back with its weight.
 *
 * One director for the file; keepalived is killed and the table cleared between cases.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compile, type DirectorArtifacts } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { IpvsTable } from "../../src/model/model.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import {
  clientRequests, REAL_SERVERS, requireLabOrSkip, tally, VIP_V4,
} from "./lab.js";
import { canonicalTable, readLiveTable } from "./support/ipvs-readback.js";
import { keepalivedLabDirector, startHttpd, startKeepalived, stopHttpd, stopKeepalived, waitForTable } from "./support/keepalived-lab.js";

const VIP = VIP_V4(1);
const RS2 = REAL_SERVERS[1]!;
/** rs2's weight: not 1, so "back with its weight" is not a default */
const RS2_WEIGHT = 3;
/** bound for a check result to reach the table (expected: ~2-3 s at delayLoop 1, retry 1) */
const BOUND_MS = 15000;

function healthSpec(inhibitOnFailure: boolean): SpecInput {
  return {
    directors: [{ name: "lab1", interfaces: ["vc0"] }],
    services: [
      {
        name: "web",
        protocol: "tcp",
        address: VIP,
        port: 80,
        scheduler: "rr",
        pool: {
          forwarding: { method: "nat" },
          delayLoop: 1,
          connectTimeout: 1,
          retry: 1,
          delayBeforeRetry: 1,
          ...(inhibitOnFailure ? { inhibitOnFailure: true } : {}),
          servers: REAL_SERVERS.map((rs) => ({ address: rs.v4, weight: rs === RS2 ? RS2_WEIGHT : 1 })),
          healthChecks: [{ type: "http", urls: [{ path: "/" }] }],
        },
      },
    ],
  };
}

function compileDirector(spec: SpecInput): { artifacts: DirectorArtifacts; table: IpvsTable } {
  const result = compile(spec);
  assert.ok(result.ok, formatIssues(result.issues));
  const artifacts = result.output.directors[0];
  const director = result.output.model.directors[0];
  assert.ok(artifacts && director);
  assert.match(artifacts.keepalivedConf, /HTTP_GET/);
  return { artifacts, table: director.table };
}

/** rs2's entry in the VIP's pool, if any. */
function rs2Of(table: IpvsTable): { weight: number } | undefined {
  const svc = table.services.find((s) => s.key.kind === "addr" && s.key.address === VIP && s.key.port === 80);
  return svc?.realServers.find((rs) => rs.address === RS2.v4);
}

function poolAddresses(table: IpvsTable): string[] {
  return table.services.flatMap((s) => s.realServers.map((rs) => rs.address));
}

describe("keepalived health checks (rendered keepalived.conf, HTTP check of /, real director)", () => {
  const director = keepalivedLabDirector();

  it(`a failed check takes rs2 out of the table within ${BOUND_MS / 1000} s; a passing one brings it back within ${BOUND_MS / 1000} s`, async (t) => {
    const lab = director();
    if (!requireLabOrSkip(t) || lab === undefined) return;
    const { artifacts, table } = compileDirector(healthSpec(false));
    assert.doesNotMatch(artifacts.keepalivedConf, /inhibit_on_failure/);
    await startKeepalived(lab, artifacts);
    try {
      const all = REAL_SERVERS.map((rs) => rs.v4).sort();
      await waitForTable(lab, "all three real servers in the table", (tb) => poolAddresses(tb).length === 3, BOUND_MS);
      // healthy: keepalived's table is exactly the rendered ipvsadm table
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));

      await stopHttpd(lab, RS2.ns, 80);
      try {
        const down = await waitForTable(lab, "rs2 leaves the table", (tb) => rs2Of(tb) === undefined, BOUND_MS);
        t.diagnostic(`rs2 left the table ${down.elapsedMs} ms after its httpd stopped`);
        assert.deepEqual(poolAddresses(down.table).sort(), all.filter((a) => a !== RS2.v4));
        // and traffic keeps flowing to the other two
        const r = await clientRequests(lab, { addr: VIP, port: 80, count: 6 });
        assert.equal(r.failures, 0, r.stderr);
        assert.deepEqual(tally(r.servers), { rs1: 3, rs3: 3 });
      } finally {
        await startHttpd(lab, RS2.ns, 80);
      }
      const up = await waitForTable(lab, "rs2 back in the table", (tb) => rs2Of(tb)?.weight === RS2_WEIGHT, BOUND_MS);
      t.diagnostic(`rs2 was back ${up.elapsedMs} ms after its httpd started`);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));
    } finally {
      await stopKeepalived(lab);
    }
  });

  it(`inhibitOnFailure: a failed check sets rs2's weight to 0 within ${BOUND_MS / 1000} s (rs2 stays); a passing one restores weight ${RS2_WEIGHT}`, async (t) => {
    const lab = director();
    if (!requireLabOrSkip(t) || lab === undefined) return;
    const { artifacts, table } = compileDirector(healthSpec(true));
    assert.match(artifacts.keepalivedConf, /inhibit_on_failure/);
    await startKeepalived(lab, artifacts);
    try {
      await waitForTable(lab, "all three real servers in the table", (tb) => poolAddresses(tb).length === 3, BOUND_MS);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));

      await stopHttpd(lab, RS2.ns, 80);
      try {
        const down = await waitForTable(lab, "rs2 at weight 0", (tb) => rs2Of(tb)?.weight === 0, BOUND_MS);
        t.diagnostic(`rs2 went to weight 0 ${down.elapsedMs} ms after its httpd stopped`);
        assert.equal(poolAddresses(down.table).length, 3, "inhibit keeps rs2 in the table");
        // weight 0: no new connections to rs2
        const r = await clientRequests(lab, { addr: VIP, port: 80, count: 6 });
        assert.equal(r.failures, 0, r.stderr);
        assert.deepEqual(tally(r.servers), { rs1: 3, rs3: 3 });
      } finally {
        await startHttpd(lab, RS2.ns, 80);
      }
      const up = await waitForTable(lab, `rs2 back at weight ${RS2_WEIGHT}`, (tb) => rs2Of(tb)?.weight === RS2_WEIGHT, BOUND_MS);
      t.diagnostic(`rs2 was back at weight ${RS2_WEIGHT} ${up.elapsedMs} ms after its httpd started`);
      assert.deepEqual(await readLiveTable(lab), canonicalTable(table));
    } finally {
      await stopKeepalived(lab);
    }
  });
});
