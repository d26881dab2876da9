// Unit tests for the ipvsadm rule renderer: every option, address forms, tunnels,
// thresholds, the single-command renderers and determinism.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IpvsRealServer, IpvsService, IpvsTable } from "../../src/model/model.js";
import {
  renderDeleteRealServer, renderDeleteService, renderIpvsadmRules, renderRealServerCommand, renderRealServerLine,
  renderServiceCommand, renderServiceLine,
} from "../../src/render/render-ipvsadm-rules.js";

function svc(over: Partial<IpvsService> = {}): IpvsService {
  return {
    key: { kind: "addr", protocol: "tcp", address: "203.0.113.10", port: 80 },
    family: "inet",
    scheduler: "wlc",
    flags: [],
    onePacket: false,
    realServers: [],
    ...over,
  };
}

function rs(over: Partial<IpvsRealServer> = {}): IpvsRealServer {
  return { address: "192.0.2.10", port: 80, forwarding: "dr", weight: 1, upperThreshold: 0, lowerThreshold: 0, ...over };
}

describe("service lines", () => {
  test("-s is always printed, also for the default wlc", () => {
    assert.equal(renderServiceLine(svc()), "-A -t 203.0.113.10:80 -s wlc");
  });

  test("persistence carries an explicit timeout; the full-length mask is left out", () => {
    assert.equal(
      renderServiceLine(svc({ persistence: { timeout: 360, prefixLength: 32 } })),
      "-A -t 203.0.113.10:80 -s wlc -p 360",
    );
  });

  test("IPv4 netmask is dotted, IPv6 netmask a prefix length", () => {
    assert.equal(
      renderServiceLine(svc({ scheduler: "wrr", persistence: { timeout: 30, prefixLength: 24 } })),
      "-A -t 203.0.113.10:80 -s wrr -p 30 -M 255.255.255.0",
    );
    const v6 = svc({ key: { kind: "addr", protocol: "tcp", address: "2001:db8::80", port: 80 }, family: "inet6" });
    assert.equal(renderServiceLine({ ...v6, persistence: { timeout: 30, prefixLength: 64 } }), "-A -t [2001:db8::80]:80 -s wlc -p 30 -M 64");
    assert.equal(renderServiceLine({ ...v6, persistence: { timeout: 30, prefixLength: 128 } }), "-A -t [2001:db8::80]:80 -s wlc -p 30");
  });

  test("options come in ipvsadm's order: -s -p -M --pe -o -b", () => {
    const s = svc({
      key: { kind: "addr", protocol: "udp", address: "203.0.113.10", port: 5060 },
      scheduler: "sh",
      flags: ["sh-fallback", "sh-port"],
      persistence: { timeout: 120, prefixLength: 16 },
      persistenceEngine: "sip",
      onePacket: true,
    });
    assert.equal(renderServiceLine(s), "-A -u 203.0.113.10:5060 -s sh -p 120 -M 255.255.0.0 --pe sip -o -b sh-fallback,sh-port");
  });

  test("scheduler flags are named for the scheduler, deduplicated, in bit order", () => {
    assert.equal(renderServiceLine(svc({ scheduler: "sh", flags: ["sh-port", "flag-1", "sh-fallback"] })), "-A -t 203.0.113.10:80 -s sh -b sh-fallback,sh-port");
    assert.equal(renderServiceLine(svc({ scheduler: "mh", flags: ["flag-3", "mh-port"] })), "-A -t 203.0.113.10:80 -s mh -b mh-port,flag-3");
    assert.equal(renderServiceLine(svc({ scheduler: "rr", flags: ["flag-2"] })), "-A -t 203.0.113.10:80 -s rr -b flag-2");
  });

  test("service forms: udp, sctp, IPv6, port 0, fwmark, fwmark -6", () => {
    assert.equal(renderServiceLine(svc({ key: { kind: "addr", protocol: "udp", address: "203.0.113.10", port: 53 } })), "-A -u 203.0.113.10:53 -s wlc");
    assert.equal(renderServiceLine(svc({ key: { kind: "addr", protocol: "sctp", address: "203.0.113.10", port: 3868 } })), "-A --sctp-service 203.0.113.10:3868 -s wlc");
    assert.equal(
      renderServiceLine(svc({ key: { kind: "addr", protocol: "tcp", address: "203.0.113.4", port: 0 }, scheduler: "mh", flags: ["mh-port"], persistence: { timeout: 360, prefixLength: 32 } })),
      "-A -t 203.0.113.4:0 -s mh -p 360 -b mh-port",
    );
    assert.equal(renderServiceLine(svc({ key: { kind: "fwmark", fwmark: 8, family: "inet" }, onePacket: true })), "-A -f 8 -s wlc -o");
    assert.equal(
      renderServiceLine(svc({ key: { kind: "fwmark", fwmark: 8, family: "inet6" }, family: "inet6", scheduler: "nq", persistence: { timeout: 100, prefixLength: 48 } })),
      "-A -f 8 -6 -s nq -p 100 -M 48",
    );
  });
});

describe("real-server lines", () => {
  const s = svc();

  test("forwarding switch and weight are always printed", () => {
    assert.equal(renderRealServerLine(s, rs()), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -g -w 1");
    assert.equal(renderRealServerLine(s, rs({ forwarding: "nat", port: 8080, weight: 5 })), "-a -t 203.0.113.10:80 -r 192.0.2.10:8080 -m -w 5");
    assert.equal(renderRealServerLine(s, rs({ weight: 0 })), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -g -w 0");
  });

  test("thresholds follow the weight, only when one is non-zero", () => {
    assert.equal(renderRealServerLine(s, rs({ upperThreshold: 100, lowerThreshold: 50 })), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -g -w 1 -x 100 -y 50");
    assert.equal(renderRealServerLine(s, rs({ upperThreshold: 100 })), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -g -w 1 -x 100 -y 0");
    assert.equal(
      renderRealServerLine(s, rs({ forwarding: "tunnel", upperThreshold: 9, lowerThreshold: 3, tunnel: { type: "ipip" } })),
      "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 -x 9 -y 3 --tun-type ipip",
    );
  });

  test("every tunnel server names its type; gue and gre always name the checksum mode", () => {
    const line = (tunnel: IpvsRealServer["tunnel"]) => renderRealServerLine(s, rs({ forwarding: "tunnel", ...(tunnel ? { tunnel } : {}) }));
    assert.equal(line({ type: "ipip" }), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type ipip");
    assert.equal(line(undefined), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type ipip");
    assert.equal(line({ type: "gue", port: 6080 }), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum");
    assert.equal(line({ type: "gue", port: 6080, checksum: "remcsum" }), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum");
    assert.equal(line({ type: "gre" }), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type gre --tun-nocsum");
    assert.equal(line({ type: "gre", checksum: "csum" }), "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -i -w 1 --tun-type gre --tun-csum");
  });

  test("IPv6 real servers, mixed family tunnels and fwmark port 0", () => {
    const v6 = svc({ key: { kind: "addr", protocol: "tcp", address: "2001:db8::80", port: 80 }, family: "inet6" });
    assert.equal(
      renderRealServerLine(v6, rs({ address: "2001:db8:0:2::1", forwarding: "nat", port: 8080 })),
      "-a -t [2001:db8::80]:80 -r [2001:db8:0:2::1]:8080 -m -w 1",
    );
    assert.equal(
      renderRealServerLine(v6, rs({ forwarding: "tunnel", tunnel: { type: "gue", port: 6080, checksum: "remcsum" } })),
      "-a -t [2001:db8::80]:80 -r 192.0.2.10:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum",
    );
    const fw6 = svc({ key: { kind: "fwmark", fwmark: 8, family: "inet6" }, family: "inet6" });
    assert.equal(
      renderRealServerLine(fw6, rs({ address: "2001:db8::1", port: 0, forwarding: "tunnel", tunnel: { type: "gre", checksum: "csum" } })),
      "-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gre --tun-csum",
    );
  });
});

describe("planner commands", () => {
  const s = svc({ scheduler: "rr", persistence: { timeout: 60, prefixLength: 32 } });

  test("-E and -e carry the full definition", () => {
    assert.equal(renderServiceCommand("-E", s), "-E -t 203.0.113.10:80 -s rr -p 60");
    assert.equal(renderServiceCommand("-A", s), renderServiceLine(s));
    assert.equal(renderRealServerCommand("-e", s, rs({ weight: 0, upperThreshold: 5 })), "-e -t 203.0.113.10:80 -r 192.0.2.10:80 -g -w 0 -x 5 -y 0");
    assert.equal(renderRealServerCommand("-a", s, rs()), renderRealServerLine(s, rs()));
  });

  test("deletes name only the identities", () => {
    assert.equal(renderDeleteService(s.key), "-D -t 203.0.113.10:80");
    assert.equal(renderDeleteService({ kind: "fwmark", fwmark: 9, family: "inet6" }), "-D -f 9 -6");
    assert.equal(renderDeleteRealServer(s.key, { address: "192.0.2.10", port: 80 }), "-d -t 203.0.113.10:80 -r 192.0.2.10:80");
    assert.equal(
      renderDeleteRealServer({ kind: "addr", protocol: "udp", address: "2001:db8::53", port: 53 }, { address: "2001:db8::5", port: 53 }),
      "-d -u [2001:db8::53]:53 -r [2001:db8::5]:53",
    );
  });
});

describe("whole rule files", () => {
  const table: IpvsTable = {
    services: [
      svc({ key: { kind: "fwmark", fwmark: 8, family: "inet" }, realServers: [rs({ port: 0 })] }),
      svc({
        key: { kind: "addr", protocol: "tcp", address: "203.0.113.200", port: 443 },
        realServers: [rs({ address: "198.51.100.2", port: 443 }), rs({ address: "192.0.2.200", port: 443 }), rs({ address: "192.0.2.30", port: 443 })],
      }),
      svc({ key: { kind: "addr", protocol: "udp", address: "203.0.113.10", port: 53 } }),
      svc({ key: { kind: "addr", protocol: "tcp", address: "203.0.113.10", port: 80 }, realServers: [rs({ forwarding: "nat", port: 8080 }), rs({ forwarding: "nat", port: 80 })] }),
      svc({ key: { kind: "addr", protocol: "tcp", address: "2001:db8::80", port: 80 }, family: "inet6" }),
    ],
  };
  const expected = [
    "-A -t 203.0.113.10:80 -s wlc",
    "-a -t 203.0.113.10:80 -r 192.0.2.10:80 -m -w 1",
    "-a -t 203.0.113.10:80 -r 192.0.2.10:8080 -m -w 1",
    "-A -u 203.0.113.10:53 -s wlc",
    "-A -t 203.0.113.200:443 -s wlc",
    "-a -t 203.0.113.200:443 -r 192.0.2.30:443 -g -w 1",
    "-a -t 203.0.113.200:443 -r 192.0.2.200:443 -g -w 1",
    "-a -t 203.0.113.200:443 -r 198.51.100.2:443 -g -w 1",
    "-A -t [2001:db8::80]:80 -s wlc",
    "-A -f 8 -s wlc",
    "-a -f 8 -r 192.0.2.10:0 -g -w 1",
    "",
  ].join("\n");

  test("services and real servers come in numeric order, each service followed by its servers", () => {
    assert.equal(renderIpvsadmRules(table), expected);
  });

  test("the same table in another order renders the same bytes, and the input is left alone", () => {
    const before = JSON.stringify(table);
    const reversed: IpvsTable = { services: [...table.services].reverse().map((s) => ({ ...s, realServers: [...s.realServers].reverse() })) };
    assert.equal(renderIpvsadmRules(reversed), expected);
    assert.equal(renderIpvsadmRules(table), renderIpvsadmRules(table));
    assert.equal(JSON.stringify(table), before);
  });

  test("an empty table is the empty string", () => {
    assert.equal(renderIpvsadmRules({ services: [] }), "");
  });
});
