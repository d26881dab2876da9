// Smoke test of the director lab itself: one real director under QEMU, IPVS rules
// loaded with ipvsadm, traffic from the client namespace through NAT, DR and TUN
// services (IPv4 and IPv6, TCP and UDP), and keepalived's config check.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  bootDirectors,
  clientRequests,
  labStatus,
  REAL_SERVERS,
  requireLabOrSkip,
  setRealServerMode,
  setupLabNetwork,
  shq,
  tally,
  UDP_PORT,
  VIP_V4,
  VIP_V6,
  type LabDirector,
} from "./lab.js";

const started = Date.now();
const [rs1, rs2] = REAL_SERVERS as [(typeof REAL_SERVERS)[0], (typeof REAL_SERVERS)[0]];
const NAT_VIP = VIP_V4(0);
const DR_VIP = VIP_V4(1);
const TUN_VIP = VIP_V4(2);
const NAT_VIP6 = VIP_V6(0);

// rs2 serves the NAT service on 8080: NAT is the one method that remaps ports
const RULES = [
  `-A -t ${NAT_VIP}:80 -s rr`,
  `-a -t ${NAT_VIP}:80 -r ${rs1.v4}:80 -m -w 1`,
  `-a -t ${NAT_VIP}:80 -r ${rs2.v4}:8080 -m -w 1`,
  `-A -u ${NAT_VIP}:${UDP_PORT} -s rr`,
  `-a -u ${NAT_VIP}:${UDP_PORT} -r ${rs1.v4}:${UDP_PORT} -m -w 1`,
  `-a -u ${NAT_VIP}:${UDP_PORT} -r ${rs2.v4}:${UDP_PORT} -m -w 1`,
  `-A -t ${DR_VIP}:80 -s rr`,
  `-a -t ${DR_VIP}:80 -r ${rs1.v4}:80 -g -w 1`,
  `-a -t ${DR_VIP}:80 -r ${rs2.v4}:80 -g -w 1`,
  `-A -t ${TUN_VIP}:80 -s rr`,
  `-a -t ${TUN_VIP}:80 -r ${rs1.v4}:80 -i -w 1 --tun-type ipip`,
  `-a -t ${TUN_VIP}:80 -r ${rs2.v4}:80 -i -w 1 --tun-type ipip`,
  `-A -t [${NAT_VIP6}]:80 -s rr`,
  `-a -t [${NAT_VIP6}]:80 -r [${rs1.v6}]:80 -m -w 1`,
  `-a -t [${NAT_VIP6}]:80 -r [${rs2.v6}]:80 -m -w 1`,
];

const KEEPALIVED_CONF = `global_defs {
  router_id lab_dir1
}
vrrp_instance VI_1 {
  state BACKUP
  interface vc0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    ${VIP_V4(60)}/32 dev vc0
  }
}
virtual_server ${VIP_V4(10)} 80 {
  delay_loop 5
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server ${rs1.v4} 80 {
    weight 2
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server ${rs2.v4} 8080 {
    weight 1
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 2
    }
  }
}
`;

describe("director lab smoke", () => {
  let d: LabDirector | undefined;
  let bootSeconds = 0;

  before(async () => {
    if (!labStatus().available) return;
    const t0 = Date.now();
    [d] = await bootDirectors(1);
    bootSeconds = (Date.now() - t0) / 1000;
    await setupLabNetwork(d!);
    await setRealServerMode(d!, "dr", [DR_VIP], [rs1.ns, rs2.ns]);
    await setRealServerMode(d!, "tun", [TUN_VIP], [rs1.ns, rs2.ns]);
  });

  after(async () => {
    await d?.close();
    console.log(`director lab smoke: boot ${bootSeconds.toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("loads NAT, DR and TUN real servers with ipvsadm -R and reads them back with -S -n", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const load = await d!.exec("ipvsadm -C && ipvsadm -R", { stdin: `${RULES.join("\n")}\n` });
    // -R exits 0 even when a line fails: stderr is the signal
    assert.equal(load.stderr, "");
    assert.equal(load.code, 0);
    const saved = await d!.run("ipvsadm -S -n");
    const lines = saved.split("\n").filter((l) => l !== "");
    assert.deepEqual(new Set(lines), new Set(RULES));
    assert.equal(lines.length, RULES.length);
  });

  it("HTTP through a NAT VIP (rr) reaches rs1 and rs2, rs2 on its remapped port", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const r = await clientRequests(d!, { addr: NAT_VIP, port: 80, count: 8 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 4, rs2: 4 });
    const ports = await clientRequests(d!, { addr: NAT_VIP, port: 80, count: 2, path: "/port" });
    assert.deepEqual([...ports.servers].sort(), ["80", "8080"]);
  });

  it("HTTP through a DR VIP reaches rs1 and rs2", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const r = await clientRequests(d!, { addr: DR_VIP, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 3, rs2: 3 });
  });

  it("HTTP through a TUN (ipip) VIP reaches rs1 and rs2", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const r = await clientRequests(d!, { addr: TUN_VIP, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 3, rs2: 3 });
  });

  it("UDP through a NAT VIP reaches rs1 and rs2", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const r = await clientRequests(d!, { addr: NAT_VIP, port: UDP_PORT, proto: "udp", count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 3, rs2: 3 });
  });

  it("HTTP through an IPv6 NAT VIP reaches rs1 and rs2", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const r = await clientRequests(d!, { addr: NAT_VIP6, port: 80, count: 6 });
    assert.equal(r.failures, 0, r.stderr);
    assert.deepEqual(tally(r.servers), { rs1: 3, rs2: 3 });
  });

  it("every connection went through IPVS to the expected real servers", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const conns = await d!.run("ipvsadm -L -n -c");
    for (const vip of [NAT_VIP, DR_VIP, TUN_VIP]) assert.match(conns, new RegExp(`${vip.replace(/\./g, "\\.")}:80 `));
    assert.match(conns, new RegExp(`\\[${NAT_VIP6}\\]:80`));
  });

  it("keepalived -t -e -f accepts a valid config and rejects a broken one", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const ok = await d!.exec(`cat > /tmp/ka.conf && keepalived -t -e -f /tmp/ka.conf`, { stdin: KEEPALIVED_CONF });
    assert.equal(ok.stderr, "");
    assert.equal(ok.code, 0);
    const bad = await d!.exec(`printf %s ${shq("bogus_keyword {\n")} > /tmp/bad.conf && keepalived -t -e -f /tmp/bad.conf`);
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /Unknown keyword 'bogus_keyword'/);
  });
});
