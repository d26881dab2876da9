/**
 * Traffic through a real director with rules from OUR renderer: one spec, compiled, its
 * director's `ipvsadm -R` rules loaded into the lab director, then requests from the
 * client namespace through each VIP. Covers NAT / DR / TUN (ipip, gre, gue) over TCP, NAT over UDP, IPv6
 * NAT, the spread of wrr 1:2:3, and the stickiness of sh and mh.
 *
 * One director for the file; the rules are loaded once (every service has its own VIP).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compile } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { IpvsTable } from "../../src/model/model.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import {
  bootDirectors, clientRequests, enableGue, labStatus, REAL_SERVERS, requireLabOrSkip, setRealServerMode, setupLabNetwork, tally,
  UDP_PORT, VIP_V4, VIP_V6, type LabDirector,
} from "./lab.js";
import { canonicalTable, loadRules, readLiveTable } from "./support/ipvs-readback.js";

type ServiceInput = SpecInput["services"][number];
type PoolInput = ServiceInput["pool"];

const NAT_VIP = VIP_V4(1);
const DR_VIP = VIP_V4(2);
const TUN_VIP = VIP_V4(3);
const UDP_VIP = VIP_V4(4);
const NAT_VIP6 = VIP_V6(5);
const WRR_VIP = VIP_V4(6);
const SH_VIP = VIP_V4(7);
const MH_VIP = VIP_V4(8);
const GRE_VIP = VIP_V4(9);
const GUE_VIP = VIP_V4(10);
const GUE_PORT = 6080;

const WRR_WEIGHTS = [1, 2, 3] as const;
const WRR_REQUESTS = 120;
/** each server's count may differ from its exact share by this fraction of that share */
const WRR_TOLERANCE = 0.15;
const STICKY_REQUESTS = 30;

function service(name: string, address: string, scheduler: ServiceInput["scheduler"], pool: PoolInput, extra: Partial<ServiceInput> = {}): ServiceInput {
  return { name, protocol: "tcp", address, port: 80, scheduler, pool, ...extra };
}

const v4Servers = (weights: readonly number[] = [1, 1, 1]) => REAL_SERVERS.map((rs, i) => ({ address: rs.v4, weight: weights[i]! }));

const SPEC: SpecInput = {
  directors: [{ name: "lab1", interfaces: ["vc0"] }],
  services: [
    // NAT remaps: rs3 serves this one on 8080
    service("nat-tcp", NAT_VIP, "rr", {
      forwarding: { method: "nat" },
      servers: REAL_SERVERS.map((rs, i) => ({ address: rs.v4, port: i === 2 ? 8080 : 80 })),
    }),
    service("dr-tcp", DR_VIP, "rr", { forwarding: { method: "dr" }, servers: v4Servers() }),
    service("tun-tcp", TUN_VIP, "rr", { forwarding: { method: "tunnel", tunnelType: "ipip" }, servers: v4Servers() }),
    service("tun-gre-tcp", GRE_VIP, "rr", { forwarding: { method: "tunnel", tunnelType: "gre" }, servers: v4Servers() }),
    service("tun-gue-tcp", GUE_VIP, "rr", {
      forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: GUE_PORT },
      servers: v4Servers(),
    }),
    service("nat-udp", UDP_VIP, "rr", { forwarding: { method: "nat" }, servers: v4Servers() }, { protocol: "udp", port: UDP_PORT }),
    service("nat6-tcp", NAT_VIP6, "rr", { forwarding: { method: "nat" }, servers: REAL_SERVERS.map((rs) => ({ address: rs.v6 })) }),
    service("wrr-tcp", WRR_VIP, "wrr", { forwarding: { method: "nat" }, servers: v4Servers(WRR_WEIGHTS) }),
    service("sh-tcp", SH_VIP, "sh", { forwarding: { method: "nat" }, servers: v4Servers() }),
    service("mh-tcp", MH_VIP, "mh", { forwarding: { method: "nat" }, servers: v4Servers() }),
  ],
};

describe("traffic through a real director, rules from our renderer", () => {
  let d: LabDirector | undefined;
  let rules = "";
  let table: IpvsTable = { services: [] };

  before(async () => {
    const result = compile(SPEC);
    assert.ok(result.ok, formatIssues(result.issues));
    rules = result.output.directors[0]!.ipvsadmRules;
    table = result.output.model.directors[0]!.table;
    if (!labStatus().available) return;
    [d] = await bootDirectors(1);
    await setupLabNetwork(d!);
    await setRealServerMode(d!, "dr", [DR_VIP]);
    await setRealServerMode(d!, "tun", [TUN_VIP, GRE_VIP, GUE_VIP]);
    await enableGue(d!, GUE_PORT);
    await loadRules(d!, rules);
  });
  after(async () => {
    await d?.close();
  });

  it("the rendered rules load cleanly and read back as the normalized table", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    assert.match(rules, / -g /);
    assert.match(rules, / -i .*--tun-type ipip/);
    assert.match(rules, / -i .*--tun-type gre/);
    assert.match(rules, new RegExp(` -i .*--tun-type gue --tun-port ${GUE_PORT}`));
    assert.deepEqual(await readLiveTable(d), canonicalTable(table));
  });

  it("NAT TCP (rr, rs3 remapped to :8080) reaches all three real servers", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: NAT_VIP, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
    const ports = await clientRequests(d, { addr: NAT_VIP, port: 80, count: 3, path: "/port" });
    assert.deepEqual([...ports.servers].sort(), ["80", "80", "8080"]);
  });

  it("DR TCP (rr) reaches all three real servers", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: DR_VIP, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
  });

  it("TUN TCP (ipip, rr) reaches all three real servers", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: TUN_VIP, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
  });

  for (const [kind, vip] of [["gre", GRE_VIP], [`gue :${GUE_PORT}`, GUE_VIP]] as const) {
    it(`TUN TCP (${kind}, rr) reaches all three real servers`, async (t) => {
      if (!requireLabOrSkip(t) || d === undefined) return;
      const r = await clientRequests(d, { addr: vip, port: 80, count: 6 });
      assert.equal(r.failures, 0, r.stderr);
      assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
    });
  }

  it(`NAT UDP :${UDP_PORT} (rr) reaches all three real servers`, async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: UDP_VIP, port: UDP_PORT, proto: "udp", count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
  });

  it("IPv6 NAT TCP (rr) reaches all three real servers", async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: NAT_VIP6, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 2, rs2: 2, rs3: 2 });
  });

  it(`wrr ${WRR_WEIGHTS.join(":")} spreads ${WRR_REQUESTS} requests within ±${WRR_TOLERANCE * 100}% of each server's share`, async (t) => {
    if (!requireLabOrSkip(t) || d === undefined) return;
    const r = await clientRequests(d, { addr: WRR_VIP, port: 80, count: WRR_REQUESTS });
    assert.equal(r.failures, 0, r.stderr);
    const counts = tally(r.servers);
    t.diagnostic(`wrr counts: ${JSON.stringify(counts)}`);
    const total = WRR_WEIGHTS.reduce((a, b) => a + b, 0);
    for (const [i, rs] of REAL_SERVERS.entries()) {
      const share = (WRR_REQUESTS * WRR_WEIGHTS[i]!) / total;
      const got = counts[rs.ns] ?? 0;
      assert.ok(
        Math.abs(got - share) <= WRR_TOLERANCE * share,
        `${rs.ns} (weight ${WRR_WEIGHTS[i]}) answered ${got} of ${WRR_REQUESTS}, expected ${share} ±${WRR_TOLERANCE * 100}%: ${JSON.stringify(counts)}`,
      );
    }
    assert.deepEqual(Object.keys(counts).sort(), ["rs1", "rs2", "rs3"]);
  });

  for (const [scheduler, vip] of [["sh", SH_VIP], ["mh", MH_VIP]] as const) {
    it(`${scheduler} keeps the one client on one real server across ${STICKY_REQUESTS} requests`, async (t) => {
      if (!requireLabOrSkip(t) || d === undefined) return;
      const first = await clientRequests(d, { addr: vip, port: 80, count: STICKY_REQUESTS / 2 });
      const second = await clientRequests(d, { addr: vip, port: 80, count: STICKY_REQUESTS / 2 });
      assert.equal(first.failures + second.failures, 0, first.stderr + second.stderr);
      const servers = [...first.servers, ...second.servers];
      assert.equal(servers.length, STICKY_REQUESTS);
      const counts = tally(servers);
      t.diagnostic(`${scheduler}: ${JSON.stringify(counts)}`);
      assert.equal(Object.keys(counts).length, 1, `${scheduler} spread one client over ${JSON.stringify(counts)}`);
      assert.match(servers[0]!, /^rs[123]$/);
    });
  }
});
