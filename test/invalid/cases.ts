/**
 * The catalogue of invalid inputs: each case is the valid {@link baseSpec} with one
 * mutation, and names the issue it must produce (code, formatted path, message text).
 * `stage: "schema"` cases are caught by parseSpec, the others by validate().
 */
import type { IssueCode, Severity } from "../../src/issues.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";

const HOST_KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const HOST_KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICSB+3nLXHdkc6OFyk/K4W9l1KAgZnXWu0bGdZqw/MQZ";

/** The VRRP password of the base spec: no message may ever contain it. */
export const BASE_PASSWORD = "s3cr3tPw";

/**
 * A valid spec touching most features: an HA pair with unicast VRRP and the sync daemon,
 * a NAT service owned by keepalived (services[0]), a UDP DR service (1), an IPv6 mh
 * service tunnelled with gue to IPv6 and IPv4 servers (2), and a fwmark sh service with
 * persistence (3). Every call returns a fresh copy.
 */
export function baseSpec(): SpecInput {
  return {
    targetKernel: "6.1",
    directors: [
      { name: "lb1", interfaces: ["eth0", "eth1"], address: "192.0.2.2", ssh: { host: "198.51.100.2", hostKey: HOST_KEY_1 } },
      { name: "lb2", interfaces: ["eth0", "eth1"], address: "192.0.2.3", ssh: { host: "198.51.100.3", hostKey: HOST_KEY_2 } },
    ],
    services: [
      {
        name: "web",
        protocol: "tcp",
        address: "192.0.2.10",
        port: 80,
        scheduler: "wlc",
        pool: {
          forwarding: { method: "nat" },
          servers: [
            { address: "203.0.113.10", port: 8080, weight: 10 },
            { address: "203.0.113.11", port: 8080, weight: 10 },
          ],
          healthChecks: [{ type: "http", urls: [{ path: "/healthz", statusCode: [200] }] }],
        },
      },
      {
        name: "dns",
        protocol: "udp",
        address: "192.0.2.11",
        port: 53,
        scheduler: "rr",
        onePacket: true,
        pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.20" }, { address: "203.0.113.21" }] },
      },
      {
        name: "api6",
        protocol: "tcp",
        address: "2001:db8::10",
        port: 443,
        scheduler: "mh",
        schedulerFlags: ["mh-fallback", "mh-port"],
        pool: {
          forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 6080 },
          servers: [{ address: "2001:db8:1::10" }, { address: "203.0.113.30" }],
        },
      },
      {
        name: "marked",
        fwmark: 8,
        family: "inet",
        scheduler: "sh",
        schedulerFlags: ["sh-port"],
        persistence: { timeout: 300, netmask: "255.255.255.0" },
        pool: {
          forwarding: { method: "dr" },
          servers: [{ address: "203.0.113.40" }, { address: "203.0.113.41" }],
          healthChecks: [{ type: "tcp", connectPort: 443 }],
        },
      },
    ],
    vrrp: {
      instances: [
        {
          name: "VI_1",
          interface: "eth1",
          virtualRouterId: 51,
          priority: 150,
          vips: ["192.0.2.10/32", "192.0.2.11/32"],
          excludedVips: ["2001:db8::10/128"],
          authType: "PASS",
          authPassword: BASE_PASSWORD,
          unicast: true,
          trackInterfaces: [{ name: "eth0" }],
          trackScripts: [{ name: "chk_ipvs" }],
        },
      ],
      scripts: [{ name: "chk_ipvs", command: ["/usr/bin/pgrep", "-x", "keepalived"] }],
    },
    syncDaemon: { interface: "eth1", instance: "VI_1" },
  };
}

export interface InvalidCase {
  name: string;
  mutate: (spec: SpecInput) => void;
  /** who catches it: the schema (parseSpec) or the semantic rules (validate) */
  stage: "schema" | "validate";
  code: IssueCode;
  /** formatPath() of the issue's path */
  path: string;
  /** a distinctive part of the message */
  message: string;
  /** default: error */
  severity?: Severity;
  /** a part of the hint, when the fix is obvious */
  hint?: string;
  /** text that must appear in no message or hint (secrets) */
  secrets?: string[];
}

// small accessors so mutations read as one line
const svc = (s: SpecInput, i: number) => s.services[i]!;

/** Adds plain VRRP instances (VRID 60, 61, ... on eth1) next to the base spec's VI_1. */
function withSecondInstance(s: SpecInput, ...names: string[]): void {
  (names.length > 0 ? names : ["VI_2"]).forEach((name, k) => {
    s.vrrp!.instances!.push({ name, interface: "eth1", virtualRouterId: 60 + k, vips: [`192.0.2.${60 + k}/32`], unicast: true });
  });
}
/**
 * A second site in the spec: directors lb3 and lb4 run their own instance VI_B (reusing
 * VRID 51, which is fine: the sites share no director) with a service on its VIP; VI_1 and
 * the base services stay on lb1 and lb2, and the sync daemon follows each director's first
 * instance. Valid as it is.
 */
function withSecondSite(s: SpecInput): void {
  s.directors.push(
    { name: "lb3", interfaces: ["eth0", "eth1"], address: "192.0.2.4" },
    { name: "lb4", interfaces: ["eth0", "eth1"], address: "192.0.2.5" },
  );
  s.vrrp!.instances![0]!.directors = ["lb1", "lb2"];
  s.vrrp!.instances!.push({ name: "VI_B", directors: ["lb3", "lb4"], interface: "eth1", virtualRouterId: 51, vips: ["192.0.2.70/32"], unicast: true });
  for (const service of s.services) service.directors = ["lb1", "lb2"];
  s.services.push({
    name: "web-b", protocol: "tcp", address: "192.0.2.70", port: 80, directors: ["lb3", "lb4"],
    pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.50" }] },
  });
  if (s.syncDaemon) delete s.syncDaemon.instance;
}
const instNamed = (s: SpecInput, name: string) => s.vrrp!.instances!.find((i) => i.name === name)!;
const srv = (s: SpecInput, i: number, j: number) => s.services[i]!.pool.servers[j]!;
const inst = (s: SpecInput) => s.vrrp!.instances![0]!;
const stateless = (s: SpecInput) => {
  s.ha = { mode: "stateless" };
  s.sysctl = { sloppyTcp: true };
  delete s.syncDaemon;
};

export const CASES: InvalidCase[] = [
  // ---- service identity and names
  {
    name: "duplicate service identity",
    mutate: (s) => { s.services.push({ name: "web-copy", protocol: "tcp", address: "192.0.2.10", port: 80, pool: { servers: [{ address: "203.0.113.12" }] } }); },
    stage: "validate", code: "duplicate-service", path: "services[4]",
    message: 'same identity tcp/192.0.2.10:80 as service "web" (services[0]) on directors lb1 and lb2',
  },
  {
    name: "duplicate service identity, IPv6 written differently",
    mutate: (s) => { s.services.push({ name: "api6-again", protocol: "tcp", address: "2001:DB8:0::10", port: 443, pool: { servers: [{ address: "2001:db8:1::11" }] } }); },
    stage: "validate", code: "duplicate-service", path: "services[4]",
    message: 'same identity tcp/[2001:db8::10]:443 as service "api6"',
  },
  {
    name: "duplicate fwmark service",
    mutate: (s) => { s.services.push({ name: "marked-again", fwmark: 8, persistence: {}, pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.42" }] } }); },
    stage: "validate", code: "duplicate-service", path: "services[4]",
    message: 'same identity fwmark/inet/8 as service "marked"',
  },
  {
    name: "duplicate service name",
    mutate: (s) => { svc(s, 1).name = "web"; },
    stage: "validate", code: "duplicate-name", path: "services[1].name",
    message: 'service name "web" is already used by services[0]',
  },
  {
    name: "duplicate real server",
    mutate: (s) => { svc(s, 0).pool.servers.push({ address: "203.0.113.10", port: 8080 }); },
    stage: "validate", code: "duplicate-real-server", path: "services[0].pool.servers[2]",
    message: "real server 203.0.113.10:8080 appears twice",
  },
  {
    // in ascending order otherwise: the check that skips ordered pools must still see it
    name: "duplicate real server right after itself",
    mutate: (s) => { svc(s, 1).pool.servers.splice(1, 0, { address: "203.0.113.20" }); },
    stage: "validate", code: "duplicate-real-server", path: "services[1].pool.servers[1]",
    message: "real server 203.0.113.20:53 appears twice",
  },
  {
    name: "duplicate real server, IPv6 written differently",
    mutate: (s) => { svc(s, 2).pool.servers.push({ address: "2001:DB8:1:0::10" }); },
    stage: "validate", code: "duplicate-real-server", path: "services[2].pool.servers[2]",
    message: "real server [2001:db8:1::10]:443 appears twice",
  },
  {
    name: "duplicate director name",
    mutate: (s) => { s.directors[1]!.name = "lb1"; },
    stage: "validate", code: "duplicate-name", path: "directors[1].name",
    message: 'director name "lb1" is already used by directors[0]',
  },
  {
    name: "duplicate VRRP instance name",
    mutate: (s) => { s.vrrp!.instances!.push({ ...inst(s), virtualRouterId: 52 }); },
    stage: "validate", code: "duplicate-name", path: "vrrp.instances[1].name",
    message: 'VRRP instance name "VI_1" is already used',
  },

  // ---- schedulers
  {
    name: "sh flag on a wlc service",
    mutate: (s) => { svc(s, 0).schedulerFlags = ["sh-port"]; },
    stage: "validate", code: "scheduler-flag-mismatch", path: "services[0].schedulerFlags[0]",
    message: 'scheduler flag "sh-port" belongs to the sh scheduler', hint: "remove it",
  },
  {
    name: "flag-3 on an mh service (ipvsadm cannot list it)",
    mutate: (s) => { svc(s, 2).schedulerFlags = ["mh-fallback", "flag-3"]; },
    stage: "validate", code: "scheduler-flag-mismatch", path: "services[2].schedulerFlags[1]",
    message: "flag-3 could never be read back", hint: "remove it",
  },
  {
    name: "sh flag on an mh service",
    mutate: (s) => { svc(s, 2).schedulerFlags = ["sh-fallback", "mh-port"]; },
    stage: "validate", code: "scheduler-flag-mismatch", path: "services[2].schedulerFlags[0]",
    message: 'uses mh', hint: 'use "mh-fallback" instead',
  },
  {
    name: "twos on kernel 6.1",
    mutate: (s) => { svc(s, 0).scheduler = "twos"; },
    stage: "validate", code: "scheduler-needs-newer-kernel", path: "services[0].scheduler",
    message: 'scheduler "twos" needs Linux 6.2 or newer, but targetKernel is "6.1"',
  },
  {
    name: "mh on kernel 4.14",
    mutate: (s) => { s.targetKernel = "4.14"; },
    stage: "validate", code: "scheduler-needs-newer-kernel", path: "services[2].scheduler",
    message: "needs Linux 4.18 or newer",
  },

  // ---- ports, protocols, forwarding
  {
    name: "DR real server remaps the port",
    mutate: (s) => { srv(s, 1, 0).port = 5353; },
    stage: "validate", code: "port-remap-without-nat", path: "services[1].pool.servers[0].port",
    message: "real server 203.0.113.20:5353 uses dr forwarding, which cannot remap ports: only nat does (service port 53)",
  },
  {
    name: "per-server DR override on a NAT pool remaps the port",
    mutate: (s) => { srv(s, 0, 1).forwarding = { method: "dr" }; },
    stage: "validate", code: "port-remap-without-nat", path: "services[0].pool.servers[1].port",
    message: "real server 203.0.113.11:8080 uses dr forwarding, which cannot remap ports",
  },
  {
    name: "fwmark DR real server with a port",
    mutate: (s) => { srv(s, 3, 0).port = 80; },
    stage: "validate", code: "port-remap-without-nat", path: "services[3].pool.servers[0].port",
    message: "fwmark services use port 0",
  },
  {
    name: "port 0 without persistence",
    mutate: (s) => { svc(s, 1).port = 0; },
    stage: "validate", code: "zero-port-without-persistence", path: "services[1].port",
    message: "port 0 (all ports) without persistence",
  },
  {
    name: "one-packet scheduling on TCP",
    mutate: (s) => { svc(s, 0).onePacket = true; },
    stage: "validate", code: "one-packet-on-tcp", path: "services[0].onePacket",
    message: 'only for UDP and fwmark services, but service "web" (tcp/192.0.2.10:80) is tcp',
  },
  {
    name: "one-packet scheduling on SCTP",
    mutate: (s) => { svc(s, 1).protocol = "sctp"; },
    stage: "validate", code: "one-packet-on-tcp", path: "services[1].onePacket",
    message: "is sctp",
  },
  {
    name: "IPv6 real server in an IPv4 NAT service",
    mutate: (s) => { srv(s, 0, 0).address = "2001:db8:2::10"; },
    stage: "validate", code: "mixed-family-without-tunnel", path: "services[0].pool.servers[0].address",
    message: 'real server 2001:db8:2::10 is IPv6 but service "web" (tcp/192.0.2.10:80) is IPv4: only tunnel forwarding crosses address families (this server uses nat)',
  },
  {
    name: "IPv4 server of a tunnelled IPv6 service switched to DR",
    mutate: (s) => { srv(s, 2, 1).forwarding = { method: "dr" }; },
    stage: "validate", code: "mixed-family-without-tunnel", path: "services[2].pool.servers[1].address",
    message: "(this server uses dr)",
  },
  {
    name: "sorry server of the other family",
    mutate: (s) => { svc(s, 0).pool.sorryServer = { address: "2001:db8::99", port: 8080 }; },
    stage: "validate", code: "sorry-server-family", path: "services[0].pool.sorryServer.address",
    message: "sorry server 2001:db8::99 is IPv6",
  },
  {
    name: "gue tunnel without tunnelPort",
    mutate: (s) => { svc(s, 2).pool.forwarding = { method: "tunnel", tunnelType: "gue" }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[2].pool.forwarding.tunnelPort",
    message: "gue tunnel of the pool of service \"api6\"",
  },
  {
    name: "tunnelPort on an ipip tunnel",
    mutate: (s) => { svc(s, 2).pool.forwarding = { method: "tunnel", tunnelType: "ipip", tunnelPort: 6080 }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[2].pool.forwarding.tunnelPort",
    message: "tunnelPort 6080 of the pool of service \"api6\" (tcp/[2001:db8::10]:443) applies only to gue tunnels, but the tunnel type is ipip",
  },
  {
    name: "checksum on an ipip tunnel",
    mutate: (s) => { svc(s, 2).pool.forwarding = { method: "tunnel", tunnelChecksum: "csum" }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[2].pool.forwarding.tunnelChecksum",
    message: "not available for ipip tunnels",
  },
  {
    name: "remcsum on a gre tunnel",
    mutate: (s) => { svc(s, 2).pool.forwarding = { method: "tunnel", tunnelType: "gre", tunnelChecksum: "remcsum" }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[2].pool.forwarding.tunnelChecksum",
    message: "gre takes nocsum or csum",
  },
  {
    name: "tunnel option with DR forwarding",
    mutate: (s) => { svc(s, 1).pool.forwarding = { method: "dr", tunnelType: "gue" }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[1].pool.forwarding.tunnelType",
    message: "tunnelType gue of the pool of service \"dns\" (udp/192.0.2.11:53) is a tunnel option, but the forwarding method is dr",
  },
  {
    name: "tunnel option on a per-server NAT override",
    mutate: (s) => { srv(s, 0, 0).forwarding = { method: "nat", tunnelPort: 6080 }; },
    stage: "validate", code: "tunnel-option-mismatch", path: "services[0].pool.servers[0].forwarding.tunnelPort",
    message: "of real server 203.0.113.10:8080 is a tunnel option",
  },

  // ---- weights, thresholds, quorum
  {
    name: "lower threshold above upper threshold",
    mutate: (s) => { Object.assign(srv(s, 0, 0), { upperThreshold: 100, lowerThreshold: 500 }); },
    stage: "validate", code: "threshold-order", path: "services[0].pool.servers[0].lowerThreshold",
    message: "lowerThreshold 500 of real server 203.0.113.10:8080 is above its upperThreshold 100",
  },
  {
    name: "negative weight (schema)",
    mutate: (s) => { srv(s, 0, 0).weight = -1; },
    stage: "schema", code: "out-of-range", path: "services[0].pool.servers[0].weight",
    message: "weight must be between 0 and 2147483647",
  },
  {
    name: "quorum above the sum of weights",
    mutate: (s) => { svc(s, 0).pool.quorum = 100; },
    stage: "validate", code: "quorum-above-weights", path: "services[0].pool.quorum",
    message: "quorum 100 of service \"web\" (tcp/192.0.2.10:80) is above the sum of its real-server weights (20)",
  },
  {
    name: "hysteresis not below quorum",
    mutate: (s) => { Object.assign(svc(s, 0).pool, { quorum: 5, hysteresis: 5 }); },
    stage: "validate", code: "hysteresis-not-below-quorum", path: "services[0].pool.hysteresis",
    message: "hysteresis 5", hint: "at most 4",
  },
  {
    name: "mh drain without mh-fallback",
    mutate: (s) => { svc(s, 2).schedulerFlags = ["mh-port"]; srv(s, 2, 0).weight = 0; },
    stage: "validate", code: "mh-drain-without-fallback", path: "services[2].pool.servers[0].weight", severity: "warning",
    message: '"no destination available"', hint: "add mh-fallback",
  },
  {
    name: "real server equal to the VIP",
    mutate: (s) => { srv(s, 0, 0).address = "192.0.2.10"; },
    stage: "validate", code: "real-server-is-vip", path: "services[0].pool.servers[0].address",
    message: "real server 192.0.2.10 is the virtual address of service \"web\"",
  },

  // ---- persistence
  {
    name: "persistence timeout out of range (schema)",
    mutate: (s) => { svc(s, 3).persistence = { timeout: 3000000 }; },
    stage: "schema", code: "out-of-range", path: "services[3].persistence.timeout",
    message: "persistence timeout must be between 1 and 2678400",
  },
  {
    name: "netmask on an IPv6 service",
    mutate: (s) => { svc(s, 2).persistence = { netmask: "255.255.255.0" }; },
    stage: "validate", code: "netmask-wrong-family", path: "services[2].persistence.netmask",
    message: "persistence netmask 255.255.255.0 is for IPv4 services", hint: "prefix",
  },
  {
    name: "prefix on an IPv4 service",
    mutate: (s) => { svc(s, 3).persistence = { prefix: 24 }; },
    stage: "validate", code: "netmask-wrong-family", path: "services[3].persistence.prefix",
    message: "persistence prefix 24 is for IPv6 services", hint: "netmask: 255.255.255.0",
  },
  {
    name: "non-contiguous netmask",
    mutate: (s) => { svc(s, 3).persistence = { netmask: "255.0.255.0" }; },
    stage: "validate", code: "invalid-value", path: "services[3].persistence.netmask",
    message: "persistence netmask 255.0.255.0 of service \"marked\" (fwmark/inet/8) is not a contiguous mask",
  },
  {
    name: "sip persistence engine on TCP",
    mutate: (s) => { svc(s, 0).persistence = { engine: "sip" }; },
    stage: "validate", code: "persistence-engine-needs-udp", path: "services[0].persistence.engine", severity: "warning",
    message: "persistence engine sip reads SIP Call-IDs from UDP only",
  },

  // ---- fwmark and identity fields
  {
    name: "fwmark above 2^31-1 (schema)",
    mutate: (s) => { svc(s, 3).fwmark = 2147483648; },
    stage: "schema", code: "out-of-range", path: "services[3].fwmark",
    message: "fwmark must be between 1 and 2147483647",
  },
  {
    name: "fwmark 0 (schema)",
    mutate: (s) => { svc(s, 3).fwmark = 0; },
    stage: "schema", code: "out-of-range", path: "services[3].fwmark",
    message: "fwmark must be between 1 and 2147483647",
  },
  {
    name: "fwmark service with a port",
    mutate: (s) => { svc(s, 3).port = 80; },
    stage: "validate", code: "fwmark-service-port", path: "services[3].port",
    message: 'fwmark service "marked" (fwmark 8) must not set port (80)',
  },
  {
    name: "fwmark service with an address",
    mutate: (s) => { svc(s, 3).address = "192.0.2.12"; },
    stage: "validate", code: "fwmark-service-port", path: "services[3].address",
    message: "must not set address (192.0.2.12)",
  },
  {
    name: "address service without port",
    mutate: (s) => { delete svc(s, 0).port; },
    stage: "validate", code: "missing-field", path: "services[0].port",
    message: 'service "web" has no port',
  },
  {
    name: "address service without protocol",
    mutate: (s) => { delete svc(s, 1).protocol; },
    stage: "validate", code: "missing-field", path: "services[1].protocol",
    message: 'service "dns" has no protocol', hint: "tcp, udp or sctp",
  },
  {
    name: "family that contradicts the address",
    mutate: (s) => { svc(s, 0).family = "inet6"; },
    stage: "validate", code: "invalid-value", path: "services[0].family",
    message: "sets family inet6, but its address 192.0.2.10 is inet",
  },

  // ---- health checks, pools, directors
  {
    name: "HTTP check without urls",
    mutate: (s) => { svc(s, 0).pool.healthChecks = [{ type: "http" }]; },
    stage: "validate", code: "http-check-without-path", path: "services[0].pool.healthChecks[0].urls",
    message: "keepalived 2.2.7 crashes on a HTTP_GET without a url",
  },
  {
    name: "HTTPS check url without path",
    mutate: (s) => { svc(s, 0).pool.healthChecks = [{ type: "https", urls: [{ statusCode: [200] }] }]; },
    stage: "validate", code: "http-check-without-path", path: "services[0].pool.healthChecks[0].urls[0].path",
    message: "has no path: keepalived 2.2.7 crashes on a SSL_GET url without a path",
  },
  {
    name: "TCP check on a UDP service",
    mutate: (s) => { svc(s, 1).pool.healthChecks = [{ type: "tcp" }]; },
    stage: "validate", code: "check-needs-tcp", path: "services[1].pool.healthChecks[0]", severity: "warning",
    message: "opens a TCP connection to the UDP service port",
  },
  {
    name: "TCP check without connectPort on a fwmark service",
    mutate: (s) => { svc(s, 3).pool.healthChecks = [{ type: "tcp" }]; },
    stage: "validate", code: "check-needs-port", path: "services[3].pool.healthChecks[0].connectPort",
    message: "would connect to port 0",
  },
  {
    name: "a server's own http check without a path",
    mutate: (s) => { svc(s, 0).pool.servers[1]!.healthChecks = [{ type: "http", urls: [{ statusCode: [200] }] }]; },
    stage: "validate", code: "http-check-without-path", path: "services[0].pool.servers[1].healthChecks[0].urls[0].path",
    message: "has no path",
  },
  {
    name: "a server's own tcp check on a fwmark service without connectPort",
    mutate: (s) => { svc(s, 3).pool.servers[0]!.healthChecks = [{ type: "tcp" }]; },
    stage: "validate", code: "check-needs-port", path: "services[3].pool.servers[0].healthChecks[0].connectPort",
    message: "would connect to port 0",
  },
  {
    name: "haSuspend on a fwmark service",
    mutate: (s) => { svc(s, 3).pool.haSuspend = true; },
    stage: "validate", code: "keepalived-incompatible", path: "services[3].pool.haSuspend",
    message: "cannot suspend the checks of a fwmark service",
  },
  {
    name: "notifyUp on a server of an applier-owned service",
    mutate: (s) => { svc(s, 1).pool.servers[0]!.notifyUp = ["/usr/local/bin/up"]; },
    stage: "validate", code: "server-setting-without-checks", path: "services[1].pool.servers[0].notifyUp",
    message: 'service "dns" (udp/192.0.2.11:53) has no health check',
  },
  {
    name: "a server's empty check list on an applier-owned service",
    mutate: (s) => { svc(s, 1).pool.servers[1]!.healthChecks = []; },
    stage: "validate", code: "server-setting-without-checks", path: "services[1].pool.servers[1].healthChecks",
    message: "keepalived never sees this server",
  },
  {
    name: "every server opts out of the pool's checks: no check runs, the applier owns the service",
    mutate: (s) => { for (const rs of svc(s, 0).pool.servers) rs.healthChecks = []; },
    stage: "validate", code: "server-setting-without-checks", path: "services[0].pool.servers[1].healthChecks",
    message: 'service "web" (tcp/192.0.2.10:80) has no health check',
  },
  {
    name: "a server's notifyDown that is not an absolute program",
    mutate: (s) => { svc(s, 0).pool.servers[0]!.notifyDown = ["alert.sh"]; },
    stage: "schema", code: "invalid-command", path: "services[0].pool.servers[0].notifyDown[0]",
    message: "absolute",
  },
  {
    name: "a group service that also sets an address",
    mutate: (s) => { Object.assign(svc(s, 0), { group: { members: [{ address: "192.0.2.40", port: 80 }] } }); },
    stage: "validate", code: "invalid-value", path: "services[0].address",
    message: "its members are its identity",
  },
  {
    name: "a group range that runs backwards",
    mutate: (s) => { s.services.push({ name: "grp", protocol: "tcp", group: { members: [{ address: "192.0.2.40", last: 30, port: 80 }] }, pool: { servers: [{ address: "203.0.113.60" }] } }); },
    stage: "validate", code: "out-of-range", path: "services[4].group.members[0].last",
    message: "is empty",
  },
  {
    name: "a NAT server without a port in a group with a fwmark member",
    mutate: (s) => { s.services.push({ name: "grp", protocol: "tcp", group: { members: [{ address: "192.0.2.40", port: 80 }, { fwmark: 9 }] }, pool: { servers: [{ address: "203.0.113.60" }] } }); },
    stage: "validate", code: "missing-field", path: "services[4].pool.servers[0].port",
    message: "keepalived would use one port for all of them",
  },
  {
    name: "a group member that is another service's identity",
    mutate: (s) => { s.services.push({ name: "grp", protocol: "tcp", group: { members: [{ address: "192.0.2.9", last: 10, port: 80 }] }, pool: { servers: [{ address: "203.0.113.60" }] } }); },
    stage: "validate", code: "duplicate-service", path: "services[4].group.members[0]",
    message: 'is also an identity of service "web"',
  },
  {
    name: "a real server that is one of its group's addresses",
    mutate: (s) => { s.services.push({ name: "grp", protocol: "tcp", group: { members: [{ address: "192.0.2.40", last: 42, port: 80 }] }, pool: { servers: [{ address: "192.0.2.41" }] } }); },
    stage: "validate", code: "real-server-is-vip", path: "services[4].pool.servers[0].address",
    message: "one of the addresses of group service",
  },
  {
    name: "a DR group's tcp check without connectPort",
    mutate: (s) => { s.services.push({ name: "grp", protocol: "tcp", group: { members: [{ address: "192.0.2.40", port: 80 }] }, pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.60" }], healthChecks: [{ type: "tcp" }] } }); },
    stage: "validate", code: "check-needs-port", path: "services[4].pool.healthChecks[0].connectPort",
    message: "carries no port of its own",
  },
  {
    name: "empty pool owned by keepalived",
    mutate: (s) => { svc(s, 0).pool.servers = []; },
    stage: "validate", code: "empty-pool", path: "services[0].pool.servers",
    message: "keepalived drops a virtual server without real servers",
  },
  {
    name: "empty pool owned by the applier",
    mutate: (s) => { svc(s, 1).pool.servers = []; },
    stage: "validate", code: "empty-pool", path: "services[1].pool.servers", severity: "warning",
    message: 'service "dns" (udp/192.0.2.11:53) has no real servers',
  },
  {
    name: "service names an unknown director",
    mutate: (s) => { svc(s, 0).directors = ["lb1", "lb3"]; },
    stage: "validate", code: "unknown-director", path: "services[0].directors[1]",
    message: 'names director "lb3", which is not declared (directors: lb1, lb2)',
  },

  // ---- VRRP
  {
    name: "syncGroup and syncGroups together",
    mutate: (s) => { withSecondInstance(s); s.vrrp!.syncGroup = "SG"; s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2"] }]; },
    stage: "validate", code: "invalid-value", path: "vrrp.syncGroup",
    message: "but syncGroups lists the groups too",
  },
  {
    name: "two sync groups with one name",
    mutate: (s) => { withSecondInstance(s, "VI_2", "VI_3"); s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2"] }, { name: "G1", instances: ["VI_3", "VI_4"] }]; },
    stage: "validate", code: "duplicate-name", path: "vrrp.syncGroups[1].name",
    message: "sync group G1 is defined twice",
  },
  {
    name: "a sync group naming an undefined instance",
    mutate: (s) => { withSecondInstance(s); s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2", "VI_9"] }]; },
    stage: "validate", code: "unknown-vrrp-instance", path: "vrrp.syncGroups[0].instances[2]",
    message: "names instance VI_9, which vrrp.instances does not define",
  },
  {
    name: "a sync group of one instance",
    mutate: (s) => { withSecondInstance(s); s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1"] }]; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.syncGroups[0].instances",
    message: "a group of fewer than two instances syncs nothing",
  },
  {
    name: "an instance in two sync groups",
    mutate: (s) => { withSecondInstance(s, "VI_2", "VI_3"); s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2"] }, { name: "G2", instances: ["VI_3", "VI_1"] }]; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.syncGroups[1].instances[1]",
    message: "instance VI_1 is already in sync group G1",
  },
  {
    name: "the members of a sync group prefer different masters",
    mutate: (s) => { withSecondInstance(s); s.directors[1]!.vrrp = { VI_2: { priority: 200 } }; s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2"] }]; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "vrrp.syncGroups[0]", severity: "warning",
    message: "prefer different masters (lb1 for VI_1; lb2 for VI_2)",
  },
  {
    name: "a director starts the members of a sync group in different states",
    mutate: (s) => { withSecondInstance(s); s.directors[0]!.vrrp = { VI_2: { state: "BACKUP" } }; s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_2"] }]; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "directors[0].vrrp", severity: "warning",
    message: "starts the instances of sync group G1 in different states (MASTER: VI_1; BACKUP: VI_2)",
  },
  {
    name: "duplicate VRID on one interface",
    mutate: (s) => { s.vrrp!.instances!.push({ name: "VI_2", interface: "eth1", virtualRouterId: 51, vips: ["192.0.2.12/32"] }); },
    stage: "validate", code: "duplicate-vrid", path: "vrrp.instances[1].virtualRouterId",
    message: "instances VI_1 and VI_2 both use virtualRouterId 51 on interface eth1 of directors lb1 and lb2",
  },
  {
    name: "VIP of the other family in one instance",
    mutate: (s) => { inst(s).vips.push("2001:db8::11/128"); },
    stage: "validate", code: "vip-wrong-family", path: "vrrp.instances[0].vips[2]",
    message: "VIP 2001:db8::11/128 of instance VI_1 is IPv6, but the instance is IPv4", hint: "excludedVips",
  },
  {
    name: "VRRP password longer than 8 characters",
    mutate: (s) => { inst(s).authPassword = "longpassword123"; },
    stage: "validate", code: "auth-password-too-long", path: "vrrp.instances[0].authPassword",
    message: "longer than 8 characters", secrets: ["longpassword123", "longpass"],
  },
  {
    name: "VRRP password outside the grammar",
    mutate: (s) => { inst(s).authPassword = "pa$s#1"; },
    stage: "validate", code: "invalid-secret", path: "vrrp.instances[0].authPassword",
    message: "(value not shown)", secrets: ["pa$s#1"],
  },
  {
    name: "VRRP password outside the grammar in a director override",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { authPassword: "a b\"c" } }; },
    stage: "validate", code: "invalid-secret", path: "directors[1].vrrp.VI_1.authPassword",
    message: "on director lb2", secrets: ["a b\"c"],
  },
  {
    name: "VRRP password of the wrong type (schema)",
    mutate: (s) => { Object.assign(inst(s), { authPassword: 12345678 }); },
    stage: "schema", code: "wrong-type", path: "vrrp.instances[0].authPassword",
    message: "(value not shown)", secrets: ["12345678"],
  },
  {
    name: "base priority out of range",
    mutate: (s) => { inst(s).priority = 300; },
    stage: "validate", code: "priority-out-of-range", path: "vrrp.instances[0].priority",
    message: "priority 300 of instance VI_1 must be between 1 and 255",
  },
  {
    name: "per-director priority out of range",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { priority: 0 } }; },
    stage: "validate", code: "priority-out-of-range", path: "directors[1].vrrp.VI_1.priority",
    message: "priority 0 of instance VI_1 on director lb2",
  },
  {
    name: "nopreempt with state MASTER",
    mutate: (s) => { inst(s).nopreempt = true; s.directors[0]!.vrrp = { VI_1: { state: "MASTER" } }; },
    stage: "validate", code: "nopreempt-conflict", path: "directors[0].vrrp.VI_1.state",
    message: "has nopreempt and state MASTER",
  },
  {
    name: "nopreempt with priority 255",
    mutate: (s) => { inst(s).nopreempt = true; inst(s).priority = 255; },
    stage: "validate", code: "nopreempt-conflict", path: "vrrp.instances[0].priority",
    message: "nopreempt with priority 255 on director lb1",
  },
  {
    name: "fractional advert interval with VRRP version 2",
    mutate: (s) => { inst(s).advertInterval = 0.5; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.instances[0].advertInterval",
    message: "VRRP version 2 advertises in whole seconds; 0.5 is not one",
  },
  {
    name: "authentication on VRRP version 3",
    mutate: (s) => { inst(s).version = 3; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.instances[0].authType",
    message: "VRRP version 3 has no authentication",
  },
  {
    name: "instance tracking its own interface",
    mutate: (s) => { inst(s).trackInterfaces = [{ name: "eth1" }]; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.instances[0].trackInterfaces[0].name",
    message: "instance VI_1 cannot track its own interface eth1",
  },
  {
    name: "preemptDelay with the initial MASTER",
    mutate: (s) => { inst(s).preemptDelay = 30; },
    stage: "validate", code: "keepalived-incompatible", path: "vrrp.instances[0].preemptDelay",
    message: "preemptDelay on VI_1 clashes with the initial state MASTER of director lb1",
  },
  {
    name: "VRID 0",
    mutate: (s) => { inst(s).virtualRouterId = 0; },
    stage: "validate", code: "out-of-range", path: "vrrp.instances[0].virtualRouterId",
    message: "virtualRouterId 0 of instance VI_1 must be between 1 and 255",
  },
  {
    name: "instance interface not on the directors",
    mutate: (s) => { inst(s).interface = "eth2"; },
    stage: "validate", code: "unknown-interface", path: "vrrp.instances[0].interface",
    message: 'interface "eth2" of instance VI_1 is not declared in the interfaces of directors lb1 and lb2',
  },
  {
    name: "per-director interface override not on that director",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { interface: "bond0" } }; },
    stage: "validate", code: "unknown-interface", path: "directors[1].vrrp.VI_1.interface",
    message: 'interface "bond0" of instance VI_1 is not declared in the interfaces of director lb2',
  },
  {
    name: "track script not defined",
    mutate: (s) => { inst(s).trackScripts = [{ name: "chk_nothing" }]; },
    stage: "validate", code: "unknown-vrrp-script", path: "vrrp.instances[0].trackScripts[0].name",
    message: 'tracks script "chk_nothing", which is not defined in vrrp.scripts (chk_ipvs)',
  },
  {
    name: "track interface not on the directors",
    mutate: (s) => { inst(s).trackInterfaces = [{ name: "eth3" }]; },
    stage: "validate", code: "unknown-interface", path: "vrrp.instances[0].trackInterfaces[0].name",
    message: 'tracks interface "eth3"',
  },
  {
    name: "unicast peer of the other family",
    mutate: (s) => { inst(s).unicastPeers = ["2001:db8::3"]; },
    stage: "validate", code: "unicast-peer-family", path: "vrrp.instances[0].unicastPeers[0]",
    message: "unicast peer 2001:db8::3 of instance VI_1 is IPv6, but the instance is IPv4",
  },
  {
    name: "sync daemon interface not on the directors",
    mutate: (s) => { s.syncDaemon!.interface = "eth5"; },
    stage: "validate", code: "unknown-interface", path: "syncDaemon.interface",
    message: 'sync daemon interface "eth5" is not declared in the interfaces of directors lb1 and lb2',
  },
  {
    name: "sync daemon follows an undefined instance",
    mutate: (s) => { s.syncDaemon!.instance = "VI_9"; },
    stage: "validate", code: "sync-daemon-instance", path: "syncDaemon.instance",
    message: 'VRRP instance "VI_9", which is not defined (instances: VI_1)',
  },
  {
    name: "directors disagree on the VRID",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { virtualRouterId: 52 } }; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.virtualRouterId",
    message: "directors lb1 and lb2 disagree on virtualRouterId of instance VI_1 (51 vs 52)",
  },
  {
    name: "directors disagree on the password",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { authPassword: "0therPw1" } }; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.authPassword",
    message: "disagree on authPassword of instance VI_1 (values not shown)", secrets: ["0therPw1"],
  },
  {
    name: "two directors forced MASTER with the same priority",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { state: "MASTER", priority: 150 } }; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.state", severity: "warning",
    message: "both start instance VI_1 as MASTER with priority 150",
  },
  {
    name: "director overrides an undefined instance",
    mutate: (s) => { s.directors[0]!.vrrp = { VI_X: { priority: 100 } }; },
    stage: "validate", code: "unknown-vrrp-instance", path: "directors[0].vrrp.VI_X",
    message: 'director lb1 overrides VRRP instance "VI_X", which is not defined (instances: VI_1)',
  },

  // ---- several VRRP pairs in one spec (vrrp.instances[].directors)
  {
    name: "VRRP instance names an unknown director",
    mutate: (s) => { withSecondSite(s); instNamed(s, "VI_B").directors = ["lb3", "lb9"]; },
    stage: "validate", code: "unknown-director", path: "vrrp.instances[1].directors[1]",
    message: 'VRRP instance VI_B names director "lb9", which is not declared (directors: lb1, lb2, lb3, lb4)',
  },
  {
    name: "a director listed twice in an instance",
    mutate: (s) => { withSecondSite(s); instNamed(s, "VI_B").directors = ["lb3", "lb3", "lb4"]; },
    stage: "validate", code: "invalid-value", path: "vrrp.instances[1].directors[1]",
    message: "director lb3 is listed twice in the directors of VRRP instance VI_B",
  },
  {
    name: "an empty directors list on an instance (schema)",
    mutate: (s) => { instNamed(s, "VI_1").directors = []; },
    stage: "schema", code: "out-of-range", path: "vrrp.instances[0].directors",
    message: "must have at least 1 item",
  },
  {
    name: "one sync group of instances on different directors",
    mutate: (s) => { withSecondSite(s); s.vrrp!.syncGroups = [{ name: "G1", instances: ["VI_1", "VI_B"] }]; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "vrrp.syncGroups[0].instances[1]",
    message: "instance VI_B runs on lb3 and lb4, but VI_1, in the same sync group G1, runs on lb1 and lb2",
  },
  {
    name: "a service on a VIP carried by a director outside the instance",
    mutate: (s) => { withSecondSite(s); s.services[0]!.directors = ["lb1", "lb2", "lb3"]; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "services[0].directors[2]",
    message: "a VIP of VRRP instance VI_1, which lb1 and lb2 run, but director lb3 carries it too: the VIP never arrives there",
  },
  {
    name: "a service on every director, on the VIP of an instance on some",
    mutate: (s) => { withSecondSite(s); delete s.services[1]!.directors; },
    stage: "validate", code: "vrrp-pair-mismatch", path: "services[1]",
    message: "which lb1 and lb2 run, but director lb3 carries it too",
  },
  {
    name: "the sync daemon follows an instance some VRRP directors lack",
    mutate: (s) => { withSecondSite(s); s.syncDaemon = { interface: "eth1", instance: "VI_1" }; },
    stage: "validate", code: "sync-daemon-instance", path: "syncDaemon.instance",
    message: "the sync daemon follows VRRP instance VI_1 on every director, but lb3 and lb4 run VRRP without it",
  },
  {
    name: "director overrides an instance it does not run",
    mutate: (s) => { withSecondSite(s); s.directors[2]!.vrrp = { VI_1: { priority: 100 } }; },
    stage: "validate", code: "unknown-vrrp-instance", path: "directors[2].vrrp.VI_1",
    message: 'director lb3 overrides VRRP instance "VI_1", which it does not run (the instance\'s directors: lb1, lb2)',
  },
  {
    name: "duplicate VRID on a director two sites' instances share",
    mutate: (s) => { withSecondSite(s); instNamed(s, "VI_B").directors = ["lb3", "lb4", "lb2"]; },
    stage: "validate", code: "duplicate-vrid", path: "vrrp.instances[1].virtualRouterId",
    message: "instances VI_1 and VI_B both use virtualRouterId 51 on interface eth1 of director lb2",
  },

  // ---- stateless HA
  {
    name: "stateless HA with a wlc service",
    mutate: stateless,
    stage: "validate", code: "stateless-ha-needs-mh", path: "services[0].scheduler",
    message: "stateless HA (directors behind ECMP, no shared state) needs mh", hint: "mh-fallback, mh-port",
  },
  {
    name: "stateless HA mh service without mh-fallback",
    mutate: (s) => { stateless(s); svc(s, 2).schedulerFlags = ["mh-port"]; },
    stage: "validate", code: "stateless-ha-needs-mh", path: "services[2].schedulerFlags",
    message: "without mh-fallback",
  },
  {
    name: "stateless HA without sloppy_tcp",
    mutate: (s) => { stateless(s); s.sysctl = {}; },
    stage: "validate", code: "stateless-ha-needs-mh", path: "sysctl.sloppyTcp",
    message: "net.ipv4.vs.sloppy_tcp=1",
  },
  {
    name: "stateless HA with the sync daemon",
    mutate: (s) => { s.ha = { mode: "stateless" }; },
    stage: "validate", code: "stateless-ha-needs-mh", path: "syncDaemon",
    message: "no master director",
  },

  // ---- hostile strings and other schema-level codes (parseSpec)
  {
    name: "interface with a shell command",
    mutate: (s) => { s.directors[0]!.interfaces = ["eth0; rm -rf /"]; },
    stage: "schema", code: "invalid-interface-name", path: "directors[0].interfaces[0]",
    message: "must be an interface name",
  },
  {
    name: "VRRP interface with a shell command",
    mutate: (s) => { inst(s).interface = "eth1 $(reboot)"; },
    stage: "schema", code: "invalid-interface-name", path: "vrrp.instances[0].interface",
    message: "must be an interface name",
  },
  {
    name: "URL path with a quote",
    mutate: (s) => { svc(s, 0).pool.healthChecks = [{ type: "http", urls: [{ path: '/health"z' }] }]; },
    stage: "schema", code: "invalid-url-path", path: "services[0].pool.healthChecks[0].urls[0].path",
    message: "must be an URL path",
  },
  {
    name: "URL path with a newline",
    mutate: (s) => { svc(s, 0).pool.healthChecks = [{ type: "http", urls: [{ path: "/ok\n}\nvirtual_server 1.2.3.4 80 {" }] }]; },
    stage: "schema", code: "invalid-url-path", path: "services[0].pool.healthChecks[0].urls[0].path",
    message: "must be an URL path",
  },
  {
    name: "URL path with a space",
    mutate: (s) => { svc(s, 0).pool.healthChecks = [{ type: "http", urls: [{ path: "/a b" }] }]; },
    stage: "schema", code: "invalid-url-path", path: "services[0].pool.healthChecks[0].urls[0].path",
    message: "must be an URL path",
  },
  {
    name: "command argument with ';'",
    mutate: (s) => { s.vrrp!.scripts![0]!.command = ["/usr/bin/pgrep", "x;reboot"]; },
    stage: "schema", code: "invalid-command", path: "vrrp.scripts[0].command[1]",
    message: "must be a command argument",
  },
  {
    name: "command argument with $()",
    mutate: (s) => { s.vrrp!.scripts![0]!.command = ["/usr/bin/pgrep", "$(reboot)"]; },
    stage: "schema", code: "invalid-command", path: "vrrp.scripts[0].command[1]",
    message: "must be a command argument",
  },
  {
    name: "command argument with backticks",
    mutate: (s) => { s.vrrp!.scripts![0]!.command = ["/usr/bin/pgrep", "`reboot`"]; },
    stage: "schema", code: "invalid-command", path: "vrrp.scripts[0].command[1]",
    message: "must be a command argument",
  },
  {
    name: "command argument with a space",
    mutate: (s) => { svc(s, 0).pool.quorumDown = ["/usr/local/bin/notify", "down now"]; },
    stage: "schema", code: "invalid-command", path: "services[0].pool.quorumDown[1]",
    message: "must be a command argument",
  },
  {
    name: "command program that is not an absolute path",
    mutate: (s) => { s.vrrp!.scripts![0]!.command = ["pgrep", "keepalived"]; },
    stage: "schema", code: "invalid-command", path: "vrrp.scripts[0].command[0]",
    message: "must be an absolute path to the program",
  },
  {
    name: "service name with a space",
    mutate: (s) => { svc(s, 0).name = "my web"; },
    stage: "schema", code: "invalid-name", path: "services[0].name",
    message: "must be a name",
  },
  {
    name: "director name with a space",
    mutate: (s) => { s.directors[0]!.name = "lb 1"; },
    stage: "schema", code: "invalid-name", path: "directors[0].name",
    message: "must be a name",
  },
  {
    name: "host key with a trailing comment",
    mutate: (s) => { s.directors[0]!.ssh!.hostKey = `${HOST_KEY_1} root@lb1`; },
    stage: "schema", code: "invalid-host-key", path: "directors[0].ssh.hostKey",
    message: "must be an OpenSSH public key",
  },
  {
    name: "host key with a second line",
    mutate: (s) => { s.directors[0]!.ssh!.hostKey = `${HOST_KEY_1}\n${HOST_KEY_2}`; },
    stage: "schema", code: "invalid-host-key", path: "directors[0].ssh.hostKey",
    message: "must be an OpenSSH public key",
  },
  {
    name: "unknown field",
    mutate: (s) => { Object.assign(svc(s, 0), { lb_algo: "rr" }); },
    stage: "schema", code: "unknown-field", path: "services[0].lb_algo",
    message: "unknown field 'lb_algo'",
  },
  {
    name: "wrong type",
    mutate: (s) => { Object.assign(svc(s, 0), { port: "80" }); },
    stage: "schema", code: "wrong-type", path: "services[0].port",
    message: "must be number",
  },
  {
    name: "malformed address",
    mutate: (s) => { srv(s, 0, 0).address = "203.0.113.300"; },
    stage: "schema", code: "invalid-address", path: "services[0].pool.servers[0].address",
    message: "must be an IPv4 address",
  },
  {
    name: "path with traversal",
    mutate: (s) => { s.keepalived = { configDir: "/etc/keepalived/../../root" }; },
    stage: "schema", code: "invalid-path", path: "keepalived.configDir",
    message: "without '..'",
  },
  {
    name: "hostname with a shell command",
    mutate: (s) => { s.directors[0]!.ssh!.host = "lb1;reboot"; },
    stage: "schema", code: "invalid-hostname", path: "directors[0].ssh.host",
    message: "must be an IP address or a DNS name",
  },
];

/** Mutations of the base spec that look suspicious but are valid: each must yield no issue. */
export const VALID_VARIANTS: { name: string; mutate: (spec: SpecInput) => void }[] = [
  {
    name: "independent instances (syncGroups: []) may track with weights",
    mutate: (s) => {
      withSecondInstance(s);
      s.vrrp!.syncGroups = [];
      s.vrrp!.instances![1]!.trackInterfaces = [{ name: "eth0", weight: -10 }];
      s.vrrp!.scripts![0]!.weight = 5;
    },
  },
  {
    name: "per-server checks and settings: own checks, none, overrides, notify scripts",
    mutate: (s) => {
      const web = s.services[0]!.pool;
      web.inhibitOnFailure = true;
      Object.assign(web.servers[0]!, { healthChecks: [{ type: "tcp", connectPort: 8081 }], notifyUp: ["/usr/local/bin/up", "web"], notifyDown: ["/usr/local/bin/down"] });
      Object.assign(web.servers[1]!, { healthChecks: [], inhibitOnFailure: false, alpha: true });
    },
  },
  {
    name: "a service whose only checks are one server's own is keepalived's",
    mutate: (s) => { s.services[1]!.pool.servers[0]!.healthChecks = [{ type: "udp", payload: "00" }]; },
  },
  {
    name: "same port on an IPv4 and an IPv6 address",
    mutate: (s) => { s.services.push({ name: "web6", protocol: "tcp", address: "2001:db8::1", port: 80, pool: { servers: [{ address: "2001:db8:1::20", port: 8080 }] } }); },
  },
  {
    name: "same address and port over tcp and udp",
    mutate: (s) => { s.services.push({ name: "dns-tcp", protocol: "tcp", address: "192.0.2.11", port: 53, pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.20" }] } }); },
  },
  {
    name: "same identity on disjoint directors",
    mutate: (s) => {
      s.services[0]!.directors = ["lb1"];
      s.services.push({ name: "web-lb2", protocol: "tcp", address: "192.0.2.10", port: 80, directors: ["lb2"], pool: { servers: [{ address: "203.0.113.12", port: 8080 }] } });
    },
  },
  {
    name: "same fwmark in both families",
    mutate: (s) => { s.services.push({ name: "marked6", fwmark: 8, family: "inet6", persistence: {}, pool: { forwarding: { method: "dr" }, servers: [{ address: "2001:db8:1::40" }] } }); },
  },
  {
    name: "twos on kernel 6.10 (numeric comparison)",
    mutate: (s) => { s.targetKernel = "6.10"; s.services[0]!.scheduler = "twos"; },
  },
  {
    name: "flag-N with any scheduler, mh drain with fallback",
    mutate: (s) => { s.services[0]!.schedulerFlags = ["flag-1"]; s.services[2]!.pool.servers[0]!.weight = 0; },
  },
  {
    name: "DR server naming the service port, NAT server remapping",
    mutate: (s) => { s.services[1]!.pool.servers[0]!.port = 53; s.services[0]!.pool.servers[0]!.port = 9090; },
  },
  {
    name: "thresholds with upper 0 (no limit)",
    mutate: (s) => { Object.assign(s.services[0]!.pool.servers[0]!, { upperThreshold: 0, lowerThreshold: 50 }); },
  },
  {
    name: "same VRID for an IPv6 instance on the same interface",
    mutate: (s) => { s.vrrp!.instances!.push({ name: "VI_6", interface: "eth1", virtualRouterId: 51, vips: ["2001:db8::10/128"], unicastPeers: ["2001:db8::3"], unicast: true }); },
  },
  {
    name: "per-director interface and priority overrides",
    mutate: (s) => {
      s.directors[1]!.interfaces = ["ens3", "ens4"];
      s.directors[1]!.vrrp = { VI_1: { interface: "ens4", priority: 100 } };
      s.vrrp!.instances![0]!.trackInterfaces = [];
      s.syncDaemon = { interface: "eth1", instance: "VI_1" };
      s.directors[1]!.interfaces.push("eth1");
    },
  },
  {
    name: "two sites, each its own VRRP pair, reusing VRID 51",
    mutate: withSecondSite,
  },
  {
    name: "an instance's directors in another order than the spec's (lb2 the preferred master)",
    mutate: (s) => { inst(s).directors = ["lb2", "lb1"]; },
  },
  {
    name: "two sites and an instance on all four directors, which the sync daemon follows",
    mutate: (s) => {
      withSecondSite(s);
      s.vrrp!.instances!.push({ name: "VI_ALL", interface: "eth1", virtualRouterId: 52, vips: ["192.0.2.80/32"], unicast: true });
      s.syncDaemon = { interface: "eth1", instance: "VI_ALL" };
    },
  },
  {
    name: "stateless HA done right",
    mutate: (s) => {
      s.ha = { mode: "stateless" };
      s.sysctl = { sloppyTcp: true };
      delete s.syncDaemon;
      s.services = [s.services[2]!];
    },
  },
];
