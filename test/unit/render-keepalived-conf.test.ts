import { test, describe } from "node:test";
import { rm } from "node:fs/promises";
import assert from "node:assert/strict";
import { normalize } from "../../src/model/normalize.js";
import type { Model } from "../../src/model/model.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import {
  KeepalivedWriter, KeepalivedWriterError, formatNumber, formatQuoted, formatToken, quoted,
} from "../../src/render/keepalived-writer.js";
import { renderKeepalivedConf } from "../../src/render/render-keepalived-conf.js";
import { renderVrrpAuthFiles, vrrpAuthIncludePath } from "../../src/render/render-vrrp-auth.js";
import {
  checkDirector, checkKeepalivedConf, keepalivedSkip, makeKeepalivedDir, withConfigDir,
} from "../support/keepalived-check.js";

const skip = await keepalivedSkip();

function build(spec: SpecInput): Model {
  const parsed = parseSpec(spec);
  assert.ok(parsed.ok, `spec must parse: ${JSON.stringify(parsed.issues)}`);
  return normalize(parsed.spec);
}

function confOf(model: Model, director = 0): string {
  return renderKeepalivedConf(model, model.directors[director]!);
}

/** The block that starts with `header {` (exact line), up to its closing brace. */
function blockOf(conf: string, header: string): string {
  const lines = conf.split("\n");
  const start = lines.findIndex((l) => l.trim() === `${header} {`);
  assert.ok(start >= 0, `no block '${header}' in:\n${conf}`);
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  const end = lines.findIndex((l, i) => i > start && l === `${" ".repeat(indent)}}`);
  return lines.slice(start, end + 1).join("\n");
}

/** Lines of `text`, trimmed, for order-insensitive membership asserts. */
function trimmedLines(text: string): string[] {
  return text.split("\n").map((l) => l.trim());
}

function assertLines(text: string, expected: string[]): void {
  const have = trimmedLines(text);
  for (const line of expected) assert.ok(have.includes(line), `missing line '${line}' in:\n${text}`);
}

/** keepalived -t -e on every director of the model: rc 0 and nothing on stderr. */
async function assertKeepalivedAccepts(model: Model): Promise<void> {
  for (const d of model.directors) {
    const r = await checkDirector(model, d);
    assert.equal(r.stderr, "", `keepalived -t printed for ${d.name}:\n${r.stderr}\n--- config ---\n${r.conf}`);
    assert.equal(r.code, 0, `keepalived -t exit ${r.code} for ${d.name}\n--- config ---\n${r.conf}`);
  }
}

const oneDirector = [{ name: "d1", interfaces: ["eth0", "eth1"] }];
const rs = (address: string, extra: Record<string, unknown> = {}) => ({ address, ...extra });

// ---------------------------------------------------------------------------------------
// fixtures: each covers a part of the grammar; every one must pass keepalived -t -e

const checkersSpec: SpecInput = {
  directors: oneDirector,
  services: [
    {
      name: "web-http", protocol: "tcp", address: "192.0.2.10", port: 80,
      pool: {
        servers: [rs("198.51.100.2", { weight: 3 }), rs("198.51.100.1", { weight: 2 })],
        healthChecks: [{
          type: "http", connectIp: "198.51.100.9", connectPort: 8080, bindTo: "192.0.2.1", connectTimeout: 2.5,
          retry: 2, delayBeforeRetry: 1.5, warmup: 3, delayLoop: 5, httpProtocol: "1.1",
          urls: [
            { path: "/healthz?full=1", statusCode: [200, "301-302"], virtualhost: "www.example.com" },
            { path: "/index.html", digest: "9b3a0c85a887a256d6939da88aabd8cd" },
          ],
        }],
      },
    },
    {
      name: "web-https", protocol: "tcp", address: "192.0.2.10", port: 443,
      pool: {
        servers: [rs("198.51.100.1")],
        healthChecks: [{ type: "https", enableSni: true, httpProtocol: "1.0C" }, { type: "https", urls: [{ statusCode: [204] }] }],
      },
    },
    {
      name: "smtp", protocol: "tcp", address: "192.0.2.11", port: 25,
      pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "smtp", heloName: "lb.example.com", connectTimeout: 10 }] },
    },
    {
      name: "dns", protocol: "udp", address: "192.0.2.12", port: 53, onePacket: true,
      pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "dns", queryType: "AAAA", name: "example.com", retry: 3 }] },
    },
    {
      name: "udp-echo", protocol: "udp", address: "192.0.2.13", port: 7,
      pool: {
        servers: [rs("198.51.100.1")],
        healthChecks: [
          { type: "udp", payload: "0a0b0c", requireReply: "0a0b", minReplyLength: 2, maxReplyLength: 64 },
          { type: "udp", requireReply: true },
        ],
      },
    },
    {
      name: "ssh", protocol: "tcp", address: "192.0.2.14", port: 22,
      pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "ping", delayLoop: 2 }, { type: "tcp", connectPort: 22 }] },
    },
    {
      name: "app", protocol: "tcp", address: "192.0.2.15", port: 8080,
      pool: {
        servers: [rs("198.51.100.1")],
        healthChecks: [{
          type: "command", command: ["/usr/bin/test", "-e", "/etc/hostname"], timeout: 2.5, dynamic: true, retry: 1,
          delayBeforeRetry: 2, warmup: 1, delayLoop: 4,
        }],
      },
    },
    {
      name: "maint", protocol: "sctp", address: "192.0.2.16", port: 9000,
      pool: {
        servers: [rs("198.51.100.1")],
        healthChecks: [{ type: "file", name: "maint-flag", path: "/run/ipvs-test/maint", weight: -10, reverse: true }, { type: "tcp" }],
      },
    },
    {
      name: "unchecked", protocol: "tcp", address: "192.0.2.17", port: 80,
      pool: { servers: [rs("198.51.100.1")] },
    },
  ],
};

const schedulersSpec: SpecInput = {
  directors: oneDirector,
  services: ([
    ["rr", ["flag-1"]], ["wrr", []], ["lc", []], ["wlc", ["flag-2", "flag-3"]], ["lblc", []], ["lblcr", []],
    ["dh", []], ["sh", ["sh-port", "sh-fallback"]], ["sed", []], ["nq", []], ["fo", []], ["ovf", []],
    ["mh", ["mh-fallback", "mh-port"]], ["twos", []],
  ] as const).map(([scheduler, flags], i) => ({
    name: `s-${scheduler}`, protocol: "tcp" as const, address: "192.0.2.20", port: 1000 + i, scheduler,
    schedulerFlags: [...flags],
    pool: { servers: [rs("198.51.100.1"), rs("198.51.100.2")], healthChecks: [{ type: "tcp" as const }] },
  })),
};

const forwardingSpec: SpecInput = {
  directors: oneDirector,
  services: [
    { name: "nat", protocol: "tcp", address: "192.0.2.30", port: 80, pool: { forwarding: { method: "nat" }, servers: [rs("198.51.100.1", { port: 8080 })], healthChecks: [{ type: "tcp" }] } },
    { name: "dr", protocol: "tcp", address: "192.0.2.31", port: 80, pool: { forwarding: { method: "dr" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] } },
    { name: "ipip", protocol: "tcp", address: "192.0.2.32", port: 80, pool: { forwarding: { method: "tunnel" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] } },
    {
      name: "gue", protocol: "tcp", address: "192.0.2.33", port: 80,
      pool: { forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 6080, tunnelChecksum: "csum" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] },
    },
    {
      name: "gre", protocol: "tcp", address: "192.0.2.34", port: 80,
      pool: { forwarding: { method: "tunnel", tunnelType: "gre", tunnelChecksum: "csum" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] },
    },
    {
      name: "mixed", protocol: "tcp", address: "192.0.2.35", port: 80,
      pool: {
        forwarding: { method: "dr" },
        servers: [
          rs("198.51.100.1"), rs("198.51.100.2"),
          rs("198.51.100.3", { forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 5555, tunnelChecksum: "remcsum" } }),
        ],
        healthChecks: [{ type: "tcp" }],
      },
    },
  ],
};

const persistenceSpec: SpecInput = {
  directors: oneDirector,
  services: [
    { name: "p4", protocol: "tcp", address: "192.0.2.40", port: 443, persistence: { timeout: 600, netmask: "255.255.255.0" }, pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] } },
    { name: "p4-all-ports", protocol: "tcp", address: "192.0.2.41", port: 0, persistence: { timeout: 300 }, pool: { forwarding: { method: "dr" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp", connectPort: 443 }] } },
    { name: "p6", protocol: "tcp", address: "2001:db8::40", port: 443, persistence: { timeout: 600, prefix: 64 }, pool: { servers: [rs("2001:db8:1::1")], healthChecks: [{ type: "tcp" }] } },
    { name: "sip", protocol: "udp", address: "192.0.2.42", port: 5060, onePacket: true, persistence: { timeout: 60, engine: "sip" }, pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "udp", requireReply: true }] } },
  ],
};

const fwmarkSpec: SpecInput = {
  directors: oneDirector,
  services: [
    { name: "fw4", fwmark: 8, scheduler: "sh", schedulerFlags: ["sh-port"], persistence: { timeout: 600, netmask: "255.255.0.0" }, pool: { forwarding: { method: "dr" }, servers: [rs("198.51.100.2"), rs("198.51.100.1")], healthChecks: [{ type: "tcp", connectPort: 80 }] } },
    { name: "fw6", fwmark: 9, family: "inet6", pool: { forwarding: { method: "dr" }, servers: [rs("2001:db8:1::2"), rs("2001:db8:1::1")], healthChecks: [{ type: "http", connectPort: 80, urls: [{ path: "/" }] }] } },
    { name: "fw-udp", fwmark: 10, onePacket: true, pool: { forwarding: { method: "dr" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "ping" }] } },
    { name: "v6", protocol: "tcp", address: "2001:db8::80", port: 80, pool: { forwarding: { method: "dr" }, servers: [rs("2001:db8:1::1"), rs("2001:db8:1::a")], healthChecks: [{ type: "tcp" }] } },
  ],
};

const poolOptionsSpec: SpecInput = {
  directors: oneDirector,
  services: [
    {
      name: "guarded", protocol: "tcp", address: "192.0.2.50", port: 80, virtualhost: "www.example.com",
      pool: {
        servers: [
          rs("198.51.100.1", { weight: 5, upperThreshold: 1000, lowerThreshold: 800 }),
          rs("198.51.100.2", { weight: 0 }),
          rs("198.51.100.3", { weight: 5, upperThreshold: 50 }),
        ],
        healthChecks: [{ type: "http", urls: [{ path: "/ping", statusCode: [200] }] }],
        delayLoop: 6, connectTimeout: 3, retry: 2, delayBeforeRetry: 1, warmup: 0.5,
        quorum: 5, hysteresis: 2,
        quorumUp: ["/usr/bin/logger", "quorum-up"], quorumDown: ["/usr/bin/logger", "quorum-down"],
        sorryServer: { address: "198.51.100.99", port: 8080, inhibit: true, forwarding: "nat" },
        inhibitOnFailure: true, alpha: true, omega: true,
      },
    },
    {
      name: "sorry-dr", protocol: "tcp", address: "192.0.2.51", port: 80,
      pool: { forwarding: { method: "dr" }, servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }], sorryServer: { address: "198.51.100.98", forwarding: "dr" } },
    },
  ],
};

const vrrpSpec: SpecInput = {
  directors: [
    { name: "lb1", interfaces: ["eth0", "eth1"], address: "192.0.2.2", routerId: "lb1-router", vrrp: { VI_6: { priority: 200, state: "BACKUP" } } },
    { name: "lb2", interfaces: ["eth0", "eth1"], address: "192.0.2.3" },
  ],
  services: [
    { name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "tcp" }] } },
  ],
  vrrp: {
    instances: [
      {
        name: "VI_1", interface: "eth1", virtualRouterId: 51,
        vips: ["203.0.113.10/32", "203.0.113.11"], excludedVips: ["2001:db8::10/64"],
        // AH is refused with initial state MASTER; nopreempt makes every director BACKUP
        authType: "AH", authPassword: "s3cr.t-1", unicast: true, nopreempt: true,
        // in a sync group keepalived ignores tracking weights (warning): none here
        trackInterfaces: [{ name: "eth0" }],
        trackScripts: [{ name: "chk_haproxy" }, { name: "chk_fs" }],
      },
      // IPv6 is VRRPv3: fractional advert_int is fine, authentication is not
      { name: "VI_6", interface: "eth1", virtualRouterId: 52, vips: ["2001:db8::10/64"], version: 3, advertInterval: 0.5, preemptDelay: 30 },
    ],
    scripts: [
      { name: "chk_haproxy", command: ["/usr/bin/test", "-e", "/etc/hostname"], interval: 2, timeout: 1, rise: 2, fall: 3 },
      { name: "chk_fs", command: ["/usr/bin/true"], interval: 1.5, timeout: 0.5 },
    ],
    syncGroup: "SG_1",
  },
  syncDaemon: { interface: "eth1", instance: "VI_1", syncId: 7, maxlen: 1472, port: 8848, ttl: 2, group: "224.0.0.81" },
  timeouts: { tcp: 900, tcpFin: 0, udp: 300 },
};

/** One instance, no sync group: tracking weights count here. */
const vrrpWeightsSpec: SpecInput = {
  directors: [
    { name: "lb1", interfaces: ["eth0", "eth1", "eth2"] },
    { name: "lb2", interfaces: ["eth0", "eth1", "eth2"] },
  ],
  services: [],
  vrrp: {
    instances: [{
      name: "VI_W", interface: "eth1", virtualRouterId: 60, vips: ["198.51.100.200/24"], authPassword: "pw-w",
      trackInterfaces: [{ name: "eth0", weight: -20 }, { name: "eth2" }], trackScripts: [{ name: "chk_w", weight: 10 }],
    }],
    scripts: [{ name: "chk_w", command: ["/usr/bin/true"], weight: -30 }],
  },
};

const fixtures: Record<string, SpecInput> = {
  checkers: checkersSpec,
  schedulers: schedulersSpec,
  forwarding: forwardingSpec,
  persistence: persistenceSpec,
  fwmark: fwmarkSpec,
  "pool options": poolOptionsSpec,
  vrrp: vrrpSpec,
  "vrrp weights": vrrpWeightsSpec,
};

// ---------------------------------------------------------------------------------------

describe("renderKeepalivedConf: key lines", () => {
  test("global_defs carries router id, script security and reload_check_config", () => {
    const conf = confOf(build(checkersSpec));
    assert.match(conf, /^# rendered by pulumi-ipvs; do not edit \(director d1\)\n/);
    const g = blockOf(conf, "global_defs");
    assertLines(g, ["router_id d1", "enable_script_security", "script_user root", "reload_check_config"]);
    assert.doesNotMatch(g, /lvs_sync_daemon|lvs_timeouts/);
  });

  test("only health-checked services become virtual_server blocks", () => {
    const conf = confOf(build(checkersSpec));
    assert.ok(conf.includes("virtual_server 192.0.2.10 80 {"));
    assert.ok(!conf.includes("192.0.2.17"), "the applier owns the unchecked service");
  });

  test("every checker kind", () => {
    const conf = confOf(build(checkersSpec));
    const http = blockOf(conf, "virtual_server 192.0.2.10 80");
    assertLines(http, [
      "HTTP_GET {", "connect_ip 198.51.100.9", "connect_port 8080", "bindto 192.0.2.1", "connect_timeout 2.5",
      "retry 2", "delay_before_retry 1.5", "warmup 3", "delay_loop 5", "http_protocol 1.1",
      "path /healthz?full=1", "status_code 200 301-302", "virtualhost www.example.com",
      "path /index.html", "digest 9b3a0c85a887a256d6939da88aabd8cd", "protocol TCP",
    ]);
    // real servers sorted by address whatever the spec order
    assert.ok(http.indexOf("real_server 198.51.100.1 80 {") < http.indexOf("real_server 198.51.100.2 80 {"));
    assertLines(http, ["weight 2", "weight 3"]);

    const https = blockOf(conf, "virtual_server 192.0.2.10 443");
    assertLines(https, ["SSL_GET {", "enable_sni", "http_protocol 1.0C", "status_code 204"]);
    // a url without a path crashes keepalived -t: the renderer supplies "/"
    assert.equal(trimmedLines(https).filter((l) => l === "path /").length, 2);

    assertLines(blockOf(conf, "virtual_server 192.0.2.11 25"), ["SMTP_CHECK {", "helo_name lb.example.com", "connect_timeout 10"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.12 53"), ["DNS_CHECK {", "type AAAA", "name example.com", "retry 3", "protocol UDP", "ops"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.13 7"), [
      "UDP_CHECK {", "payload 0a0b0c", "require_reply 0a0b", "min_reply_length 2", "max_reply_length 64", "require_reply",
    ]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.14 22"), ["PING_CHECK {", "delay_loop 2", "TCP_CHECK {", "connect_port 22"]);

    const misc = blockOf(conf, "virtual_server 192.0.2.15 8080");
    assertLines(misc, [
      "MISC_CHECK {", 'misc_path "/usr/bin/test -e /etc/hostname"', "misc_timeout 3", "misc_dynamic",
      "retry 1", "delay_before_retry 2", "warmup 1", "delay_loop 4",
    ]);

    const file = blockOf(conf, "virtual_server 192.0.2.16 9000");
    assertLines(file, ["FILE_CHECK {", "track_file maint-flag", "weight -10 reverse", "protocol SCTP"]);
    assertLines(blockOf(conf, "track_file maint-flag"), ['file "/run/ipvs-test/maint"']);
    assert.ok(conf.indexOf("track_file maint-flag {") < conf.indexOf("virtual_server"), "track_file is declared before use");
  });

  test("MISC_CHECK takes no connection keys: the schema refuses them, as keepalived does", () => {
    const r = parseSpec({
      directors: oneDirector,
      services: [{
        name: "app", protocol: "tcp", address: "192.0.2.15", port: 80,
        pool: { servers: [rs("198.51.100.1")], healthChecks: [{ type: "command", command: ["/usr/bin/true"], connectIp: "198.51.100.9", connectPort: 81 }] },
      }],
    });
    assert.equal(r.ok, false);
    assert.deepEqual(r.issues.map((i) => i.code), ["unknown-field", "unknown-field"]);
  });

  test("every scheduler, flags after lvs_sched", () => {
    const conf = confOf(build(schedulersSpec));
    for (const [port, sched, flags] of [
      [1000, "rr", ["flag-1"]], [1003, "wlc", ["flag-2", "flag-3"]], [1007, "sh", ["sh-fallback", "sh-port"]],
      [1012, "mh", ["mh-fallback", "mh-port"]], [1013, "twos", []], [1011, "ovf", []],
    ] as const) {
      const vs = blockOf(conf, `virtual_server 192.0.2.20 ${port}`);
      const lines = trimmedLines(vs);
      const at = lines.indexOf(`lvs_sched ${sched}`);
      assert.ok(at > 0, `lvs_sched ${sched} in ${vs}`);
      assert.deepEqual(lines.slice(at + 1, at + 1 + flags.length), [...flags]);
    }
  });

  test("NAT, DR and the three tunnel types; per-server override only where it differs", () => {
    const conf = confOf(build(forwardingSpec));
    assertLines(blockOf(conf, "virtual_server 192.0.2.30 80"), ["lvs_method NAT", "real_server 198.51.100.1 8080 {"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.31 80"), ["lvs_method DR"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.32 80"), ["lvs_method TUN type ipip"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.33 80"), ["lvs_method TUN type gue port 6080 csum"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.34 80"), ["lvs_method TUN type gre csum"]);
    const mixed = blockOf(conf, "virtual_server 192.0.2.35 80");
    assert.equal(trimmedLines(mixed).filter((l) => l.startsWith("lvs_method")).length, 2);
    assertLines(mixed, ["lvs_method DR", "lvs_method TUN type gue port 5555 remcsum"]);
    assertLines(blockOf(mixed, "real_server 198.51.100.3 80"), ["lvs_method TUN type gue port 5555 remcsum"]);
  });

  test("persistence: IPv4 mask, IPv6 prefix, sip engine", () => {
    const conf = confOf(build(persistenceSpec));
    assertLines(blockOf(conf, "virtual_server 192.0.2.40 443"), ["persistence_timeout 600", "persistence_granularity 255.255.255.0"]);
    const all = blockOf(conf, "virtual_server 192.0.2.41 0");
    assertLines(all, ["persistence_timeout 300"]);
    assert.doesNotMatch(all, /persistence_granularity/, "per-client is the default");
    assertLines(blockOf(conf, "virtual_server 2001:db8::40 443"), ["persistence_granularity 64"]);
    assertLines(blockOf(conf, "virtual_server 192.0.2.42 5060"), ["persistence_engine sip", "ops", "protocol UDP"]);
  });

  test("fwmark services: ip_family, no protocol, real servers on port 0", () => {
    const conf = confOf(build(fwmarkSpec));
    const fw4 = blockOf(conf, "virtual_server fwmark 8");
    assertLines(fw4, ["ip_family inet", "lvs_sched sh", "sh-port", "persistence_granularity 255.255.0.0", "real_server 198.51.100.1 0 {"]);
    assert.doesNotMatch(fw4, /protocol/);
    const fw6 = blockOf(conf, "virtual_server fwmark 9");
    assertLines(fw6, ["ip_family inet6", "real_server 2001:db8:1::1 0 {"]);
    assert.ok(fw6.indexOf("2001:db8:1::1 0") < fw6.indexOf("2001:db8:1::2 0"));
    assertLines(blockOf(conf, "virtual_server fwmark 10"), ["ops"]);
    assertLines(blockOf(conf, "virtual_server 2001:db8::80 80"), ["protocol TCP", "real_server 2001:db8:1::a 80 {"]);
    // address services first, then fwmark ones (model order)
    assert.ok(conf.indexOf("virtual_server 2001:db8::80 80") < conf.indexOf("virtual_server fwmark 8"));
  });

  test("quorum, hysteresis, alpha/omega, inhibit, sorry server, thresholds, VS timing", () => {
    const conf = confOf(build(poolOptionsSpec));
    const vs = blockOf(conf, "virtual_server 192.0.2.50 80");
    assertLines(vs, [
      "delay_loop 6", "virtualhost www.example.com", "quorum 5", "hysteresis 2",
      'quorum_up "/usr/bin/logger quorum-up"', 'quorum_down "/usr/bin/logger quorum-down"',
      "alpha", "omega", "inhibit_on_failure", "connect_timeout 3", "retry 2", "delay_before_retry 1", "warmup 0.5",
      "sorry_server 198.51.100.99 8080", "sorry_server_inhibit", "sorry_server_lvs_method NAT",
    ]);
    const rs1 = blockOf(vs, "real_server 198.51.100.1 80");
    assertLines(rs1, ["weight 5", "uthreshold 1000", "lthreshold 800"]);
    assertLines(blockOf(vs, "real_server 198.51.100.2 80"), ["weight 0"]);
    const rs3 = blockOf(vs, "real_server 198.51.100.3 80");
    assertLines(rs3, ["uthreshold 50"]);
    assert.doesNotMatch(rs3, /lthreshold/, "zero thresholds are not printed");
    const dr = blockOf(conf, "virtual_server 192.0.2.51 80");
    assertLines(dr, ["sorry_server 198.51.100.98 80", "sorry_server_lvs_method DR"]);
    assert.doesNotMatch(dr, /sorry_server_inhibit/);
  });

  test("VRRP: scripts, sync group, instances, sync daemon, timeouts", () => {
    const model = build(vrrpSpec);
    const lb1 = confOf(model, 0);
    const lb2 = confOf(model, 1);
    const g = blockOf(lb1, "global_defs");
    assertLines(g, ["router_id lb1-router", "lvs_sync_daemon eth1 VI_1 id 7 maxlen 1472 port 8848 ttl 2 group 224.0.0.81", "lvs_timeouts tcp 900 udp 300"]);
    assertLines(blockOf(lb1, "vrrp_script chk_haproxy"), ['script "/usr/bin/test -e /etc/hostname"', "interval 2", "timeout 1", "rise 2", "fall 3"]);
    // keepalived ignores fractional script timers: rounded up
    assertLines(blockOf(lb1, "vrrp_script chk_fs"), ['script "/usr/bin/true"', "interval 2", "timeout 1"]);
    assertLines(blockOf(lb1, "vrrp_sync_group SG_1"), ["group {", "VI_1", "VI_6"]);

    const vi1 = blockOf(lb1, "vrrp_instance VI_1");
    assertLines(vi1, [
      "state BACKUP", "interface eth1", "virtual_router_id 51", "priority 150", "advert_int 1", "nopreempt",
      "auth_type AH", `includea ${vrrpAuthIncludePath("/etc/keepalived", "VI_1")}`,
      "unicast_src_ip 192.0.2.2", "203.0.113.10/32 dev eth1", "203.0.113.11/32 dev eth1",
      "eth0", "chk_haproxy", "chk_fs",
    ]);
    assertLines(blockOf(vi1, "virtual_ipaddress_excluded"), ["2001:db8::10/64 dev eth1"]);
    assert.deepEqual(trimmedLines(blockOf(vi1, "unicast_peer")), ["unicast_peer {", "192.0.2.3", "}"]);
    assert.deepEqual(trimmedLines(blockOf(vi1, "track_script")), ["track_script {", "chk_haproxy", "chk_fs", "}"]);
    const vi1b = blockOf(lb2, "vrrp_instance VI_1");
    assertLines(vi1b, ["priority 140", "unicast_src_ip 192.0.2.3"]);
    assert.deepEqual(trimmedLines(blockOf(vi1b, "unicast_peer")), ["unicast_peer {", "192.0.2.2", "}"]);
    const vi6 = blockOf(lb1, "vrrp_instance VI_6");
    assertLines(vi6, ["state BACKUP", "priority 200", "version 3", "advert_int 0.5", "preempt_delay 30", "2001:db8::10/64 dev eth1"]);
    assert.doesNotMatch(vi6, /authentication|nopreempt|unicast/);
    assertLines(blockOf(lb2, "vrrp_instance VI_6"), ["state BACKUP", "priority 140"]);
    // instance blocks come after the scripts and the group they name
    assert.ok(lb1.indexOf("vrrp_script chk_fs") < lb1.indexOf("vrrp_sync_group") && lb1.indexOf("vrrp_sync_group") < lb1.indexOf("vrrp_instance"));
  });

  test("VRRP: tracking weights, PASS by default, no sync group for a single instance", () => {
    const model = build(vrrpWeightsSpec);
    const conf = confOf(model, 0);
    assert.doesNotMatch(conf, /vrrp_sync_group|virtual_server|lvs_sync_daemon/);
    const vi = blockOf(conf, "vrrp_instance VI_W");
    assertLines(vi, ["state MASTER", "auth_type PASS", "198.51.100.200/24 dev eth1", "eth0 weight -20", "eth2", "chk_w weight 10"]);
    assertLines(blockOf(conf, "vrrp_script chk_w"), ["weight -30", "interval 2"]);
    assertLines(blockOf(confOf(model, 1), "vrrp_instance VI_W"), ["state BACKUP", "priority 140"]);
  });

  test("a sync group of one instance is not printed (keepalived warns about it)", () => {
    const model = build({ ...vrrpWeightsSpec, vrrp: { ...vrrpWeightsSpec.vrrp, syncGroup: "SG_X" } });
    assert.equal(model.syncGroup, "SG_X");
    assert.doesNotMatch(confOf(model), /vrrp_sync_group/);
  });

  test("lvs_timeouts is omitted when every part is zero", () => {
    const model = build({ ...checkersSpec, timeouts: { tcp: 0 } });
    assert.doesNotMatch(confOf(model), /lvs_timeouts/);
  });
});

describe("VRRP secrets", () => {
  test("the password never appears in keepalived.conf, only in its include", () => {
    const model = build(vrrpSpec);
    for (const d of model.directors) {
      const conf = renderKeepalivedConf(model, d);
      assert.ok(!conf.includes("s3cr.t-1"), "password leaked into keepalived.conf");
      assert.doesNotMatch(conf, /auth_pass/);
      assert.deepEqual(renderVrrpAuthFiles(model, d), [
        { path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: "auth_pass s3cr.t-1\n" },
      ]);
    }
  });

  test("per-director password overrides go to that director's include", () => {
    const spec = structuredClone(vrrpSpec) as { directors: { vrrp?: Record<string, Record<string, unknown>> }[] };
    spec.directors[1]!.vrrp = { VI_1: { authPassword: "other-pw" } };
    const model = build(spec as SpecInput);
    assert.equal(renderVrrpAuthFiles(model, model.directors[1]!)[0]!.content, "auth_pass other-pw\n");
    assert.ok(!renderKeepalivedConf(model, model.directors[1]!).includes("other-pw"));
  });

  test("include path helper", () => {
    assert.equal(vrrpAuthIncludePath("/etc/keepalived", "VI_1"), "/etc/keepalived/vrrp-auth-VI_1.conf");
    assert.equal(vrrpAuthIncludePath("/etc/keepalived/", "VI_1"), "/etc/keepalived/vrrp-auth-VI_1.conf");
  });

  test("a password that could break the include line is refused", () => {
    const model = build(vrrpSpec);
    const d = { ...model.directors[0]!, vrrpSecrets: { VI_1: "pw\nauth_type AH" } };
    assert.throws(() => renderVrrpAuthFiles(model, d), KeepalivedWriterError);
  });
});

describe("determinism", () => {
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    // small LCG: deterministic shuffles without a dependency
    const out = [...items];
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  for (const [name, spec] of Object.entries(fixtures)) {
    test(`${name}: same model, same bytes; shuffled services and servers, same bytes`, () => {
      const a = build(spec);
      const first = a.directors.map((d) => renderKeepalivedConf(a, d));
      assert.deepEqual(a.directors.map((d) => renderKeepalivedConf(a, d)), first);
      for (const seed of [1, 7, 42]) {
        const mixed = structuredClone(spec) as { services: { pool: { servers: unknown[] } }[] };
        mixed.services = shuffled(mixed.services, seed).map((s) => ({ ...s, pool: { ...s.pool, servers: shuffled(s.pool.servers, seed + 1) } }));
        const b = build(mixed as SpecInput);
        assert.deepEqual(b.directors.map((d) => renderKeepalivedConf(b, d)), first);
      }
      const text = first.join("\n");
      assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}|\d\d:\d\d:\d\d/, "no dates or times");
      assert.doesNotMatch(text, /(?:^|\s)-?\d+\.\d*0(?=\s|$)/m, "numbers without trailing zeros");
    });
  }
});

describe("keepalived writer (defence in depth)", () => {
  const hostile = ["a b", "a\tb", 'a"b', "a'b", "a#b", "a!b", "a$b", "a{b", "a}b", "a\nb", "a\\b", ""];

  test("refuses tokens keepalived would misread", () => {
    for (const t of hostile) {
      assert.throws(() => formatToken(t), KeepalivedWriterError, JSON.stringify(t));
      assert.throws(() => new KeepalivedWriter().line("path", t), KeepalivedWriterError, JSON.stringify(t));
      assert.throws(() => new KeepalivedWriter().line(t), KeepalivedWriterError, JSON.stringify(t));
      assert.throws(() => new KeepalivedWriter().block(["vrrp_instance", t], () => {}), KeepalivedWriterError, JSON.stringify(t));
    }
  });

  test("quoted values allow single spaces only", () => {
    assert.equal(formatQuoted("/usr/bin/check -p 80"), '"/usr/bin/check -p 80"');
    for (const t of ['a"b', "a#b", "a!b", "a$b", "a{b", "a}b", "a\nb", "a\tb", " a", "a ", "a  b", ""]) {
      assert.throws(() => new KeepalivedWriter().line("script", quoted(t)), KeepalivedWriterError, JSON.stringify(t));
    }
  });

  test("a captured piece repeats byte for byte at its own depth only; shared text goes at the top level only", () => {
    const w = new KeepalivedWriter();
    let piece: ReturnType<KeepalivedWriter["capture"]> | undefined;
    w.block(["virtual_server", "192.0.2.1", 80], () => {
      w.block(["real_server", "198.51.100.1", 80], () => {
        piece = w.capture(() => w.block(["TCP_CHECK"], () => w.line("connect_timeout", 3)));
      });
      w.block(["real_server", "198.51.100.2", 80], () => w.repeat(piece!));
      assert.throws(() => w.repeat(piece!), KeepalivedWriterError);
      assert.throws(() => w.appendText("x {\n}"), KeepalivedWriterError);
    });
    const direct = new KeepalivedWriter();
    direct.block(["virtual_server", "192.0.2.1", 80], () => {
      for (const rs of ["198.51.100.1", "198.51.100.2"]) direct.block(["real_server", rs, 80], () => direct.block(["TCP_CHECK"], () => direct.line("connect_timeout", 3)));
    });
    assert.equal(w.toString(), direct.toString());
    assert.equal(new KeepalivedWriter().appendText(direct.lines().join("\n")).toString(), direct.toString());
  });

  test("a comment cannot smuggle a line", () => {
    assert.throws(() => new KeepalivedWriter().comment("x\nvirtual_server"), KeepalivedWriterError);
  });

  test("numbers print canonically", () => {
    assert.equal(formatNumber(1), "1");
    assert.equal(formatNumber(1.0), "1");
    assert.equal(formatNumber(0.5), "0.5");
    assert.equal(formatNumber(-253), "-253");
    assert.equal(formatNumber(2147483647), "2147483647");
    assert.equal(formatNumber(1e-7), "0");
    assert.equal(formatNumber(0.000001), "0.000001");
    assert.throws(() => formatNumber(Number.NaN), KeepalivedWriterError);
    assert.throws(() => formatNumber(Infinity), KeepalivedWriterError);
  });

  test("blocks indent two spaces per level", () => {
    const w = new KeepalivedWriter();
    w.block(["a"], () => w.block(["b", 1], () => w.line("c", "d", undefined, 2.5)));
    assert.equal(w.toString(), "a {\n  b 1 {\n    c d 2.5\n  }\n}\n");
  });
});

describe("keepalived -t -e accepts every rendered config", { skip }, () => {
  for (const [name, spec] of Object.entries(fixtures)) {
    test(name, async () => {
      await assertKeepalivedAccepts(build(spec));
    });
  }

  test("the check sees errors: protocol on a fwmark service is a warning (rc 5)", async () => {
    const conf = confOf(build(fwmarkSpec)).replace("ip_family inet\n", "ip_family inet\n  protocol TCP\n");
    const r = await checkKeepalivedConf(conf, { interfaces: ["eth0", "eth1"] });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /protocol specified for fwmark/);
  });

  test("the check sees a missing secrets include (includea)", async () => {
    const dir = await makeKeepalivedDir();
    try {
      const model = withConfigDir(build(vrrpSpec), dir);
      const r = await checkKeepalivedConf(renderKeepalivedConf(model, model.directors[0]!), { dir, interfaces: ["eth0", "eth1"] });
      assert.equal(r.code, 6);
      assert.match(r.stderr, /Config files missing '.*vrrp-auth-VI_1\.conf'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the check sees a password keepalived would truncate", async () => {
    const dir = await makeKeepalivedDir();
    try {
      const model = withConfigDir(build(vrrpWeightsSpec), dir);
      const d = { ...model.directors[0]!, vrrpSecrets: { VI_W: "longer-than-8" } };
      const r = await checkKeepalivedConf(renderKeepalivedConf(model, d), { dir, interfaces: ["eth0", "eth1", "eth2"], extraFiles: renderVrrpAuthFiles(model, d) });
      assert.equal(r.code, 5);
      assert.match(r.stderr, /Truncating auth_pass/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the check sees an unknown interface", async () => {
    const dir = await makeKeepalivedDir();
    try {
      const model = withConfigDir(build(vrrpSpec), dir);
      const d = model.directors[0]!;
      const r = await checkKeepalivedConf(renderKeepalivedConf(model, d), { dir, interfaces: ["eth0"], extraFiles: renderVrrpAuthFiles(model, d) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /eth1/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
