/**
 * keepalived.conf -> spec, construct by construct: global_defs, vrrp_script, vrrp_instance,
 * sync groups, virtual_server (every setting), real servers, every checker kind, groups,
 * and what is reported instead of imported. Every imported spec must pass parseSpec and
 * validate; a property test feeds random configurations and expects no throw and no error.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { findingKey } from "../../src/import/import-findings.js";
import { importKeepalivedConf, type ImportResult } from "../../src/import/import-keepalived-conf.js";
import { hasErrors, formatIssues } from "../../src/issues.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import { validate } from "../../src/validate/validate.js";
import { FC_SEED } from "../support/arbitraries.js";

function imp(text: string, directorName?: string): ImportResult {
  const r = importKeepalivedConf(text, "k.conf", directorName === undefined ? {} : { directorName });
  assert.ok(!hasErrors(r.specIssues), formatIssues(r.specIssues));
  const parsed = parseSpec(r.spec);
  assert.ok(parsed.ok, formatIssues(parsed.issues));
  assert.ok(!hasErrors(validate(parsed.spec)));
  return r;
}

const keys = (r: ImportResult) => r.findings.map((f) => findingKey(f));
const conf = (...lines: string[]) => `${lines.join("\n")}\n`;

describe("global_defs", () => {
  test("router_id names the director; sync daemon, timeouts and script user are carried over; e-mail is reported", () => {
    const r = imp(conf(
      "global_defs {", // 1
      "  router_id lb-a", // 2
      "  enable_script_security", // 3
      "  script_user keepalived_script", // 4
      "  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8848 ttl 2 group 233.252.0.1", // 5
      "  lvs_timeouts tcp 900 tcpfin 120 udp 300", // 6
      "  notification_email {", // 7
      "    ops@example.net", // 8
      "  }", // 9
      "}", // 10
      "vrrp_instance VI_1 {", // 11
      "  interface eth1", // 12
      "  virtual_router_id 51", // 13
      "  state MASTER", // 14
      "  priority 150", // 15
      "  virtual_ipaddress {", // 16
      "    203.0.113.100/32", // 17
      "  }", // 18
      "}", // 19
    ));
    assert.deepEqual(r.spec.directors, [{ name: "lb-a", interfaces: ["eth1"] }]);
    assert.deepEqual(r.spec.syncDaemon, { interface: "eth1", instance: "VI_1", syncId: 7, maxlen: 1400, port: 8848, ttl: 2, group: "233.252.0.1" });
    assert.deepEqual(r.spec.timeouts, { tcp: 900, tcpFin: 120, udp: 300 });
    assert.deepEqual(r.spec.keepalived, { scriptUser: "keepalived_script" });
    assert.deepEqual(keys(r), ["notification_email@7"]);
    assert.equal(r.findings[0]!.code, "unsupported-construct");
    assert.deepEqual(r.findings[0]!.path, ["global_defs", "notification_email"]);
    assert.equal(r.findings[0]!.location?.file, "k.conf");
  });

  test("without a usable router_id the director is named from the file (or the caller)", () => {
    assert.equal(importKeepalivedConf("", "/etc/keepalived/keepalived.conf").spec.directors[0]!.name, "keepalived.conf");
    assert.equal(imp("", "lb9").spec.directors[0]!.name, "lb9");
    const r = importKeepalivedConf("global_defs {\n  router_id 9:bad\n}\n", "/x/1-lb.conf");
    assert.equal(r.spec.directors[0]!.name, "lb.conf");
    assert.deepEqual(keys(r), ["router_id@2"]);
  });
});

describe("vrrp_script", () => {
  test("keepalived's 1 s interval is made explicit; a reversed weight or a relative program is reported", () => {
    const r = imp(conf(
      "vrrp_script chk_web {", // 1
      '  script "/usr/local/bin/check-web --port 80"', // 2
      "  timeout 3", // 3
      "  weight -20", // 4
      "  rise 2", // 5
      "  fall 3", // 6
      "}", // 7
      "vrrp_script chk_rev {", // 8
      "  script /usr/local/bin/x", // 9
      "  weight 10 reverse", // 10
      "}", // 11
      "vrrp_script chk_rel {", // 12
      '  script "killall -0 haproxy"', // 13
      "}", // 14
      "vrrp_instance VI_1 {", // 15
      "  interface eth0", // 16
      "  virtual_router_id 1", // 17
      "  priority 100", // 18
      "  state MASTER", // 19
      "  virtual_ipaddress {", // 20
      "    203.0.113.1", // 21
      "  }", // 22
      "  track_script {", // 23
      "    chk_web", // 24
      "    chk_rel", // 25
      "  }", // 26
      "}", // 27
    ));
    assert.deepEqual(r.spec.vrrp?.scripts, [
      { name: "chk_web", command: ["/usr/local/bin/check-web", "--port", "80"], interval: 1, timeout: 3, weight: -20, rise: 2, fall: 3 },
    ]);
    assert.deepEqual(r.spec.vrrp?.instances?.[0]?.trackScripts, [{ name: "chk_web" }]);
    assert.deepEqual(keys(r), ["vrrp_script@8", "weight@10", "vrrp_script@12", "chk_rel@25"]);
    assert.match(r.findings[2]!.message, /absolute path/);
  });
});

describe("vrrp_instance", () => {
  const instance = (name: string, vrid: number, ...body: string[]) => [
    `vrrp_instance ${name} {`, "  interface eth0", `  virtual_router_id ${vrid}`, ...body.map((l) => `  ${l}`), "}",
  ];

  test("keepalived's priority and state defaults become explicit values and overrides", () => {
    const r = imp(conf(
      ...instance("VI_1", 1, "virtual_ipaddress {", "  203.0.113.1", "}"),
      ...instance("VI_2", 2, "state MASTER", "virtual_ipaddress {", "  203.0.113.2", "}"),
      ...instance("VI_3", 3, "state BACKUP", "nopreempt", "priority 90", "virtual_ipaddress {", "  203.0.113.3", "}"),
      "vrrp_sync_group G { group { VI_1 VI_2 VI_3 } }",
    ));
    const inst = r.spec.vrrp!.instances!;
    assert.deepEqual(inst.map((i) => [i.name, i.priority, i.nopreempt]), [["VI_1", 100, undefined], ["VI_2", 255, undefined], ["VI_3", 90, true]]);
    // no state: keepalived starts BACKUP below 255; the spec would derive MASTER
    assert.deepEqual(r.spec.directors[0]!.vrrp, { VI_1: { state: "BACKUP" } });
    assert.equal(r.spec.vrrp!.syncGroup, "G");
  });

  test("AH with MASTER, nopreempt with MASTER: imported as keepalived runs them, and reported", () => {
    const r = imp(conf(
      ...instance("VI_1", 1, "state MASTER", "priority 100", "nopreempt", "virtual_ipaddress {", "  203.0.113.1", "}"),
      ...instance("VI_2", 2, "state MASTER", "priority 100", "authentication {", "  auth_type AH", "  auth_pass s3cret", "}", "virtual_ipaddress {", "  203.0.113.2", "}"),
      "vrrp_sync_group G { group { VI_1 VI_2 } }",
    ));
    assert.deepEqual(keys(r), ["nopreempt@6", "state@14"]);
    assert.equal(r.spec.vrrp!.instances![0]!.nopreempt, undefined);
    assert.deepEqual(r.spec.directors[0]!.vrrp, { VI_2: { state: "BACKUP" } });
    assert.equal(r.spec.vrrp!.instances![1]!.authType, "AH");
    assert.equal(r.spec.vrrp!.instances![1]!.authPassword, "s3cret");
  });

  test("addresses: dev of another interface and repeats are dropped, attributes reported, excluded kept", () => {
    const r = imp(conf(
      "vrrp_instance VI_1 {", // 1
      "  interface eth0", // 2
      "  virtual_router_id 7", // 3
      "  state MASTER", // 4
      "  priority 100", // 5
      "  virtual_ipaddress {", // 6
      "    203.0.113.7/32 dev eth0", // 7
      "    203.0.113.8 dev eth1", // 8
      "    203.0.113.9 label eth0:9", // 9
      "    203.0.113.7", // 10
      "  }", // 11
      "  virtual_ipaddress_excluded {", // 12
      "    2001:db8::7/64", // 13
      "  }", // 14
      "  unicast_src_ip 198.51.100.1", // 15
      "  unicast_peer {", // 16
      "    198.51.100.2", // 17
      "  }", // 18
      "  track_interface {", // 19
      "    eth2", // 20
      "  }", // 21
      "  advert_int 2", // 22
      "  preempt_delay 30", // 23
      "  version 3", // 24
      "  notify_master /usr/local/bin/notify", // 25
      "}", // 26
    ));
    const inst = r.spec.vrrp!.instances![0]!;
    assert.deepEqual(inst.vips, ["203.0.113.7/32", "203.0.113.9"]);
    assert.deepEqual(inst.excludedVips, ["2001:db8::7/64"]);
    assert.deepEqual([inst.unicast, inst.unicastPeers], [true, ["198.51.100.2"]]);
    assert.deepEqual(inst.trackInterfaces, [{ name: "eth2" }]);
    assert.deepEqual([inst.advertInterval, inst.version], [2, 3]);
    assert.deepEqual(inst.notifyMaster, ["/usr/local/bin/notify"]);
    assert.deepEqual(r.spec.directors[0]!.vrrp, { VI_1: { unicastSrcIp: "198.51.100.1" } });
    assert.deepEqual(r.spec.directors[0]!.interfaces, ["eth0", "eth2"]);
    // preempt_delay clashes with the initial MASTER state: keepalived warns, the spec refuses it
    assert.deepEqual(keys(r), ["203.0.113.8@8", "203.0.113.9@9", "203.0.113.7@10", "preempt_delay@23"]);
  });

  test("a long auth_pass is cut to the 8 characters keepalived sends; no message shows it", () => {
    const r = imp(conf(...instance("VI_1", 1, "state MASTER", "priority 100", "authentication {", "  auth_type PASS", "  auth_pass 0123456789abc", "}", "virtual_ipaddress {", "  203.0.113.1", "}")));
    assert.equal(r.spec.vrrp!.instances![0]!.authPassword, "01234567");
    assert.deepEqual(keys(r), ["auth_pass@8"]);
    for (const f of r.findings) assert.doesNotMatch(`${f.message} ${f.hint ?? ""}`, /0123/);
  });

  test("the old per-instance lvs_sync_daemon_interface becomes the sync daemon", () => {
    const r = imp(conf(...instance("VI_1", 1, "state MASTER", "priority 100", "lvs_sync_daemon_interface eth1", "virtual_ipaddress {", "  203.0.113.1", "}")));
    assert.deepEqual(r.spec.syncDaemon, { interface: "eth1", instance: "VI_1" });
    assert.deepEqual(r.spec.directors[0]!.interfaces, ["eth0", "eth1"]);
  });

  test("sync groups are imported exactly: partial groups, several groups with notify scripts, instances on their own", () => {
    const three = [
      ...instance("VI_1", 1, "state MASTER", "priority 100", "garp_master_delay 3", "virtual_ipaddress {", "  203.0.113.1", "}"), // 1-10
      ...instance("VI_2", 2, "state MASTER", "priority 100", "virtual_ipaddress {", "  203.0.113.2", "}"), // 11-19
      ...instance("VI_3", 3, "state MASTER", "priority 100", "virtual_ipaddress {", "  203.0.113.3", "}"), // 20-28
    ];
    const partial = imp(conf(
      ...three,
      "vrrp_sync_group G1 {", "  group {", "    VI_1", "    VI_2", "  }", "  notify_master \"/usr/local/bin/g1 master\"", "}", // 29-35
      "vrrp_sync_group G2 {", "  group {", "    VI_3 VI_2", "  }", "}", // 36-40
    ));
    assert.equal(partial.spec.vrrp!.syncGroup, undefined);
    assert.equal(partial.spec.vrrp!.instances![0]!.garpMasterDelay, 3);
    // VI_2 is already in G1 (keepalived ignores the second membership); G2 is left with VI_3 alone, which the spec refuses
    assert.deepEqual(partial.spec.vrrp!.syncGroups, [{ name: "G1", instances: ["VI_1", "VI_2"], notifyMaster: ["/usr/local/bin/g1", "master"] }]);
    assert.deepEqual(keys(partial), ["vrrp_sync_group@36", "VI_3@38"]);
    // no group: every instance on its own
    const none = imp(conf(...three));
    assert.equal(none.spec.vrrp!.syncGroup, undefined);
    assert.deepEqual(none.spec.vrrp!.syncGroups, []);
    assert.deepEqual(keys(none), []);
    // one group of every instance: the simple form
    const all = imp(conf(...three, "vrrp_sync_group G { group { VI_1 VI_2 VI_3 } }"));
    assert.equal(all.spec.vrrp!.syncGroup, "G");
    assert.equal(all.spec.vrrp!.syncGroups, undefined);
    const single = imp(conf(...instance("VI_1", 1, "state MASTER", "priority 100", "virtual_ipaddress {", "  203.0.113.1", "}"), "vrrp_sync_group G { group { VI_1 } }"));
    assert.deepEqual(keys(single), ["vrrp_sync_group@10"]);
  });
});

describe("virtual_server", () => {
  test("every setting of an address service, with aliases and keepalived's defaults made explicit", () => {
    const r = imp(conf(
      "virtual_server 203.0.113.10 443 {", // 1
      "  delay_loop 10", // 2
      "  lb_algo sh", // 3
      "  sh-port", // 4
      "  lb_kind DR", // 5
      "  protocol TCP", // 6
      "  persistence_timeout 600", // 7
      "  persistence_granularity 255.255.255.0", // 8
      "  quorum 2", // 9
      "  hysteresis 1", // 10
      '  quorum_up "/usr/local/bin/up --svc web"', // 11
      "  quorum_down /usr/local/bin/down", // 12
      "  alpha", // 13
      "  omega", // 14
      "  inhibit_on_failure", // 15
      "  sorry_server 192.0.2.99 443", // 16
      "  sorry_server_inhibit", // 17
      "  virtualhost www.example.net", // 18
      "  connect_timeout 4", // 19
      "  retry 2", // 20
      "  delay_before_retry 1", // 21
      "  warmup 5", // 22
      "  real_server 192.0.2.21 8443 {", // 23
      "    weight 3", // 24
      "    uthreshold 100", // 25
      "    lthreshold 10", // 26
      "    SSL_GET {", // 27
      "      url {", // 28
      "        path /healthz", // 29
      "        status_code 200 301-302", // 30
      "      }", // 31
      "      connect_port 8080", // 32
      "    }", // 33
      "  }", // 34
      "  real_server 192.0.2.22 443 {", // 35
      "    SSL_GET {", // 36
      "      url {", // 37
      "        path /healthz", // 38
      "        status_code 200 301-302", // 39
      "      }", // 40
      "      connect_port 8080", // 41
      "    }", // 42
      "  }", // 43
      "}", // 44
    ));
    assert.deepEqual(r.spec.services, [{
      name: "tcp-203.0.113.10-443",
      protocol: "tcp",
      address: "203.0.113.10",
      port: 443,
      scheduler: "sh",
      schedulerFlags: ["sh-port"],
      persistence: { timeout: 600, netmask: "255.255.255.0" },
      virtualhost: "www.example.net",
      pool: {
        forwarding: { method: "dr" },
        servers: [
          { address: "192.0.2.21", weight: 3, upperThreshold: 100, lowerThreshold: 10 },
          { address: "192.0.2.22", weight: 1 },
        ],
        healthChecks: [{ type: "https", urls: [{ path: "/healthz", statusCode: [200, "301-302"] }], connectPort: 8080 }],
        delayLoop: 10,
        connectTimeout: 4,
        retry: 2,
        delayBeforeRetry: 1,
        warmup: 5,
        quorum: 2,
        hysteresis: 1,
        quorumUp: ["/usr/local/bin/up", "--svc", "web"],
        quorumDown: ["/usr/local/bin/down"],
        alpha: true,
        omega: true,
        inhibitOnFailure: true,
        sorryServer: { inhibit: true, address: "192.0.2.99" },
      },
    }]);
    // DR: keepalived resets 8443 to the service port
    assert.deepEqual(keys(r), ["real_server@23"]);
  });

  test("fwmark services: ip_family, NAT ports kept, protocol reported; a missing protocol is UDP", () => {
    const r = imp(conf(
      "virtual_server fwmark 7 {", // 1
      "  ip_family inet6", // 2
      "  protocol TCP", // 3
      "  lvs_sched rr", // 4
      "  real_server 2001:db8::21 8080 {", // 5
      "    TCP_CHECK {", // 6
      "    }", // 7
      "  }", // 8
      "}", // 9
      "virtual_server 203.0.113.53 53 {", // 10
      "  real_server 192.0.2.53 53 {", // 11
      "    DNS_CHECK {", // 12
      "      type AAAA", // 13
      "      name www.example.net", // 14
      "    }", // 15
      "  }", // 16
      "}", // 17
    ));
    const [fw, dns] = r.spec.services;
    assert.deepEqual([fw!.fwmark, fw!.family, fw!.protocol, fw!.pool.servers], [7, "inet6", undefined, [{ address: "2001:db8::21", port: 8080, weight: 1 }]]);
    assert.deepEqual(fw!.pool.healthChecks, [{ type: "tcp" }]);
    // keepalived's delay_loop default (60 s) is also the spec's: left out
    assert.equal(fw!.pool.delayLoop, undefined);
    assert.deepEqual([dns!.protocol, dns!.scheduler, dns!.pool.forwarding], ["udp", "wlc", { method: "nat" }]);
    assert.deepEqual(dns!.pool.healthChecks, [{ type: "dns", name: "www.example.net", queryType: "AAAA" }]);
    assert.deepEqual(keys(r), ["protocol@3", "virtual_server@10"]);
    assert.match(r.findings[1]!.message, /falls back to UDP/);
  });

  test("flags before lvs_sched, unknown schedulers, TCP one-packet and tunnel options", () => {
    const r = imp(conf(
      "virtual_server 203.0.113.1 80 {", // 1
      "  mh-port", // 2
      "  lvs_sched mh", // 3
      "  mh-fallback", // 4
      "  protocol TCP", // 5
      "  ops", // 6
      "  lvs_method TUN type gue port 6080 csum", // 7
      "  real_server 192.0.2.1 80 {", // 8
      "    lvs_method NAT", // 9
      "    TCP_CHECK {", // 10
      "    }", // 11
      "  }", // 12
      "  real_server 192.0.2.2 80 {", // 13
      "    TCP_CHECK {", // 14
      "    }", // 15
      "  }", // 16
      "}", // 17
      "virtual_server 203.0.113.2 80 {", // 18
      "  lvs_sched best", // 19
      "  protocol TCP", // 20
      "  real_server 192.0.2.3 80 {", // 21
      "  }", // 22
      "}", // 23
    ));
    assert.equal(r.spec.services.length, 1);
    const s = r.spec.services[0]!;
    assert.deepEqual(s.schedulerFlags, ["mh-fallback"]);
    assert.equal(s.onePacket, undefined);
    assert.deepEqual(s.pool.forwarding, { method: "tunnel", tunnelType: "gue", tunnelPort: 6080, tunnelChecksum: "csum" });
    assert.deepEqual(s.pool.servers, [{ address: "192.0.2.1", port: 80, weight: 1, forwarding: { method: "nat" } }, { address: "192.0.2.2", weight: 1 }]);
    assert.deepEqual(keys(r), ["mh-port@2", "ops@6", "virtual_server@18", "lvs_sched@19"]);
  });

  test("servers with other checkers than the rest, without checkers, and per-server flags keep their own", () => {
    const rs = (addr: string, ...body: string[]) => [`  real_server ${addr} 80 {`, ...body.map((l) => `    ${l}`), "  }"];
    const r = imp(conf(
      "virtual_server 203.0.113.1 80 {", // 1
      "  protocol TCP", // 2
      ...rs("192.0.2.1", "inhibit_on_failure", "notify_up \"/usr/local/bin/up web\"", "TCP_CHECK {", "  connect_ip 192.0.2.1", "  connect_port 80", "}"), // 3-10
      ...rs("192.0.2.2", "alpha off", "notify_down /usr/local/bin/down", "TCP_CHECK {", "}"), // 11-16
      ...rs("192.0.2.3", "HTTP_GET {", "  url {", "    path /", "  }", "}"), // 17-23
      ...rs("192.0.2.4"), // 24-25
      "}", // 26
      "virtual_server 203.0.113.2 80 {", // 27
      "  protocol TCP", // 28
      ...rs("192.0.2.5"), // 29-30
      "}", // 31
    ));
    const pool = r.spec.services[0]!.pool;
    // own address and port are the defaults: the first two servers agree, and their list is the pool's
    assert.deepEqual(pool.healthChecks, [{ type: "tcp" }]);
    assert.equal(pool.inhibitOnFailure, undefined);
    assert.deepEqual(pool.servers.map((s) => s.healthChecks), [undefined, undefined, [{ type: "http", urls: [{ path: "/" }] }], []]);
    assert.equal(pool.servers[0]!.inhibitOnFailure, true);
    assert.deepEqual(pool.servers[0]!.notifyUp, ["/usr/local/bin/up", "web"]);
    assert.deepEqual(pool.servers[1]!.notifyDown, ["/usr/local/bin/down"]);
    // `alpha off` is keepalived's default: nothing to carry
    assert.equal(pool.servers[1]!.alpha, undefined);
    assert.equal(r.spec.services[1]!.pool.healthChecks, undefined);
    assert.deepEqual(keys(r), ["virtual_server@27"]);
    assert.match(r.findings[0]!.message, /applier/);
  });

  test("a virtual server that sets inhibit_on_failure and alpha, with servers that turn them off", () => {
    const r = imp(conf(
      "virtual_server 203.0.113.1 80 {",
      "  protocol TCP",
      "  inhibit_on_failure",
      "  alpha",
      "  real_server 192.0.2.1 80 {",
      "    inhibit_on_failure off",
      "    TCP_CHECK {",
      "    }",
      "  }",
      "  real_server 192.0.2.2 80 {",
      "    alpha false",
      "    TCP_CHECK {",
      "    }",
      "  }",
      "}",
    ));
    const pool = r.spec.services[0]!.pool;
    assert.equal(pool.inhibitOnFailure, true);
    assert.equal(pool.alpha, true);
    assert.deepEqual(pool.servers.map((s) => [s.inhibitOnFailure, s.alpha]), [[false, undefined], [undefined, false]]);
    assert.deepEqual(keys(r), []);
  });

  test("a virtual server without real servers is not imported", () => {
    const r = imp(conf("virtual_server 203.0.113.1 80 {", "  protocol TCP", "}"));
    assert.deepEqual(r.spec.services, []);
    assert.deepEqual(keys(r), ["virtual_server@1"]);
  });
});

describe("checkers", () => {
  const one = (check: string[], proto = "TCP") => conf(
    "virtual_server 203.0.113.1 80 {",
    `  protocol ${proto}`,
    "  real_server 192.0.2.1 80 {",
    ...check.map((l) => `    ${l}`),
    "  }",
    "}",
  );
  const checks = (r: ImportResult) => r.spec.services[0]?.pool.healthChecks;

  test("HTTP_GET: urls with path, digest (lower-cased), status codes, virtualhost; checker virtualhost fills the urls", () => {
    const r = imp(one([
      "HTTP_GET {",
      "  url {", "    path /a?x=1", "    digest 640205B7B0FC66C1EA91C463FAC6334D", "  }",
      "  url {", "    path /b", "    status_code 200", "    virtualhost b.example.net", "  }",
      "  virtualhost www.example.net",
      "  http_protocol 1.1",
      "  connect_timeout 2.5",
      "  nb_get_retry 4",
      "}",
    ]));
    assert.deepEqual(checks(r), [{
      type: "http",
      urls: [
        { path: "/a?x=1", digest: "640205b7b0fc66c1ea91c463fac6334d", virtualhost: "www.example.net" },
        { path: "/b", statusCode: [200], virtualhost: "b.example.net" },
      ],
      httpProtocol: "1.1",
      connectTimeout: 2.5,
      retry: 4,
    }]);
  });

  test("SSL_GET with enable_sni; a url without path and regex keys are reported", () => {
    const r = imp(one(["SSL_GET {", "  enable_sni", "  url {", "    path /", "    regex ok", "  }", "  url {", "    digest 640205b7b0fc66c1ea91c463fac6334d", "  }", "}"]));
    assert.deepEqual(checks(r), [{ type: "https", urls: [{ path: "/" }], enableSni: true }]);
    assert.deepEqual(keys(r), ["regex@8", "url@10"]);
  });

  test("SMTP_CHECK: one check per host", () => {
    const r = imp(one(["SMTP_CHECK {", "  helo_name mx.example.net", "  retry 2", "  host {", "    connect_ip 192.0.2.1", "  }", "  host {", "    connect_ip 198.51.100.25", "    connect_port 587", "    bindto 192.0.2.250", "  }", "}"]));
    assert.deepEqual(checks(r), [
      { type: "smtp", heloName: "mx.example.net", retry: 2 },
      { type: "smtp", heloName: "mx.example.net", retry: 2, connectIp: "198.51.100.25", connectPort: 587, bindTo: "192.0.2.250" },
    ]);
  });

  test("UDP_CHECK, PING_CHECK, MISC_CHECK (argv split) and FILE_CHECK", () => {
    assert.deepEqual(checks(imp(one(["UDP_CHECK {", "  payload 0a0b", "  require_reply 0c", "  min_reply_length 2", "  max_reply_length 64", "}"], "UDP"))), [
      { type: "udp", payload: "0a0b", requireReply: "0c", minReplyLength: 2, maxReplyLength: 64 },
    ]);
    assert.deepEqual(checks(imp(one(["UDP_CHECK {", "  require_reply", "}"], "UDP"))), [{ type: "udp", requireReply: true }]);
    assert.deepEqual(checks(imp(one(["PING_CHECK {", "  retry 4", "  delay_loop 3", "}"]))), [{ type: "ping", retry: 4, delayLoop: 3 }]);
    const misc = imp(one(["MISC_CHECK {", '  misc_path "/usr/local/bin/check.sh arg1 --x=2"', "  misc_timeout 5", "  misc_dynamic", "  connect_timeout 3", "}"]));
    assert.deepEqual(checks(misc), [{ type: "command", command: ["/usr/local/bin/check.sh", "arg1", "--x=2"], timeout: 5, dynamic: true }]);
    assert.deepEqual(keys(misc), ["connect_timeout@8"]);
    const file = imp(`track_file maint {\n  file /var/run/maint\n  weight -10\n}\n${one(["FILE_CHECK {", "  track_file maint", "  weight 5 reverse", "}"])}`);
    assert.deepEqual(checks(file), [{ type: "file", name: "maint", path: "/var/run/maint", weight: 5, reverse: true }]);
  });

  test("BFD_CHECK, a DNS_CHECK without name, a notify fifo and unknown keys are reported", () => {
    const r = imp(one([
      "weight 2", // 4
      "notify_fifo /run/fifo", // 5
      "BFD_CHECK {", // 6
      "  name bfd1", // 7
      "}", // 8
      "DNS_CHECK {", // 9
      "}", // 10
      "TCP_CHECK {", // 11
      "  bind_if eth0", // 12
      "}", // 13
      "frobnicate 1", // 14
    ]));
    assert.deepEqual(checks(r), [{ type: "tcp" }]);
    assert.deepEqual(keys(r), ["notify_fifo@5", "BFD_CHECK@6", "DNS_CHECK@9", "bind_if@12", "frobnicate@14"]);
    assert.match(r.findings[1]!.message, /BFD is not modelled/);
  });

  test("pieces the spec's own rules refuse are dropped and reported with the rule's message", () => {
    const r = imp(one(["HTTP_GET {", "  url {", '    path "/a b"', "  }", "}", "TCP_CHECK {", "}"]));
    assert.deepEqual(checks(r), [{ type: "tcp" }]);
    // the url goes for its path, then the checker for having no url left
    assert.deepEqual(keys(r), ["HTTP_GET@4", "url@5"]);
    assert.match(r.findings[0]!.message, /no urls/);
    assert.match(r.findings[1]!.message, /URL path/);
  });
});

describe("virtual_server_group", () => {
  test("a group becomes one service with the group's members (ranges kept); a real server on a VIP and unused groups are reported", () => {
    const r = imp(conf(
      "virtual_server_group WEB {", // 1
      "  203.0.113.10 80", // 2
      "  203.0.113.11 8080", // 3
      "  203.0.113.20-29 80", // 4
      "  fwmark 5", // 5
      "}", // 6
      "virtual_server_group UNUSED {", // 7
      "  203.0.113.99 80", // 8
      "}", // 9
      "virtual_server group WEB {", // 10
      "  protocol TCP", // 11
      "  lvs_sched wrr", // 12
      "  real_server 192.0.2.21 80 {", // 13
      "    TCP_CHECK {", // 14
      "      connect_timeout 2", // 15
      "    }", // 16
      "  }", // 17
      "  real_server 203.0.113.11 8080 {", // 18
      "    TCP_CHECK {", // 19
      "      connect_timeout 2", // 20
      "    }", // 21
      "  }", // 22
      "}", // 23
    ));
    const [web] = r.spec.services;
    assert.equal(r.spec.services.length, 1);
    assert.deepEqual([web!.name, web!.protocol, web!.address, web!.port, web!.fwmark, web!.scheduler], ["WEB", "tcp", undefined, undefined, undefined, "wrr"]);
    assert.deepEqual(web!.group, { members: [
      { address: "203.0.113.10", port: 80 }, { address: "203.0.113.11", port: 8080 }, { address: "203.0.113.20", last: 29, port: 80 }, { fwmark: 5 },
    ] });
    assert.deepEqual(web!.pool.servers, [{ address: "192.0.2.21", port: 80, weight: 1 }]);
    assert.deepEqual(keys(r), ["virtual_server_group@7", "real_server@18"]);
    assert.match(r.findings[1]!.message, /one of the addresses of group service "WEB"/);
  });
});

describe("robustness", () => {
  const words = [
    "global_defs", "vrrp_instance", "virtual_server", "real_server", "vrrp_script", "vrrp_sync_group", "group", "TCP_CHECK",
    "HTTP_GET", "url", "path", "/", "weight", "priority", "state", "MASTER", "interface", "eth0", "virtual_router_id", "51",
    "virtual_ipaddress", "203.0.113.1", "192.0.2.1", "80", "fwmark", "protocol", "TCP", "lb_algo", "rr", "sh-port",
    "persistence_timeout", "include", "x.conf", "@high", "$X", "\"quoted text\"", "#", "!", "{", "}", "-1", "999999999999",
    "track_script", "authentication", "auth_pass", "sorry_server", "quorum", "SMTP_CHECK", "host", "connect_ip", "misc_path",
    "virtual_server_group", "1.2.3.4-5", "::1", "nopreempt", "lvs_sync_daemon", "lvs_timeouts", "tcp", "FILE_CHECK", "track_file",
  ];
  test("random configurations never throw and always give a spec without errors", () => {
    const line = fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 6 }).map((ws) => ws.join(" "));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const r = importKeepalivedConf(lines.join("\n"), "fuzz.conf", { readInclude: () => "virtual_server 203.0.113.1 80 {" });
        assert.ok(!hasErrors(r.specIssues), formatIssues(r.specIssues));
        for (const f of r.findings) assert.equal(f.code, "unsupported-construct");
      }),
      { seed: FC_SEED, numRuns: 400 },
    );
  });
});
