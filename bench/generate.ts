/**
 * Benchmark inputs: large, realistic specs (N services x 32 real servers), the same spec as
 * YAML text, a "previous" spec with 1% of its real servers changed, and the state dump a
 * director running that previous spec would print (the read-state script's sections).
 *
 * Everything is deterministic (seeded PRNG) so runs compare. Addresses are only strings in
 * files and are never contacted: VIPs come from 100.64.0.0/10 and 2001:db8:1::/48, real
 * servers from 10.0.0.0/8 and 2001:db8:2::/48, director addresses from 198.51.100.0/24.
 * Each service gets its own VIP and its own block of real-server addresses, so identities
 * never collide whatever the size.
 */
import type { CompileOutput } from "../src/compile.js";
import type { IpvsService } from "../src/model/model.js";
import { formatAddressPort } from "../src/model/addresses.js";
import { serviceKeyString } from "../src/model/service-key.js";
import type { SpecInput } from "../src/schema/spec-schema.js";
import { prng } from "../test/support/prng.js";

/** What to generate. */
export interface GenerateOptions {
  /** number of virtual services */
  services: number;
  /** real servers per service, at most 60 @default 32 */
  serversPerService?: number;
  /** 1 = a single director, 2 = an HA pair with VRRP and the sync daemon @default 2 */
  directors?: 1 | 2;
  /** PRNG seed @default 1 */
  seed?: number;
}

type ServiceInput = SpecInput["services"][number];
type RealServerInput = ServiceInput["pool"]["servers"][number];


function ipv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const BASE_100_64 = (100 << 24) | (64 << 16);
const BASE_10 = 10 << 24;

/** The IPv4 VIP of service i: 100.64.0.0/10, host parts 1..250 so no .0 or .255. */
function vip4(i: number): string {
  return ipv4(BASE_100_64 + Math.floor(i / 250) * 256 + (i % 250) + 1);
}

/** Real server j of service i: 10.0.0.0/8, a /26-sized block per service. */
function rs4(i: number, j: number): string {
  return ipv4(BASE_10 + i * 64 + j + 1);
}

function vip6(i: number): string {
  return `2001:db8:1:${(i + 1).toString(16)}::1`;
}

function rs6(i: number, j: number): string {
  return `2001:db8:2:${(i + 1).toString(16)}::${(j + 1).toString(16)}`;
}

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";

type Kind = "tcp-nat" | "tcp-dr" | "udp" | "fwmark" | "tcp6" | "tcp-tun";

/** The service mix: mostly NAT/DR TCP, some UDP, fwmark, IPv6 and IPIP tunnels. */
function kindOf(r: number): Kind {
  if (r < 0.42) return "tcp-nat";
  if (r < 0.7) return "tcp-dr";
  if (r < 0.8) return "udp";
  if (r < 0.85) return "fwmark";
  if (r < 0.97) return "tcp6";
  return "tcp-tun";
}

function schedulerOf(r: number): Pick<ServiceInput, "scheduler" | "schedulerFlags"> {
  if (r < 0.5) return { scheduler: "wlc" };
  if (r < 0.75) return { scheduler: "wrr" };
  if (r < 0.85) return { scheduler: "rr" };
  if (r < 0.9) return { scheduler: "lc" };
  if (r < 0.95) return { scheduler: "sh", schedulerFlags: ["sh-port"] };
  return { scheduler: "mh", schedulerFlags: ["mh-fallback", "mh-port"] };
}

/** Service i of the spec; `rand` drives the mix. */
function serviceAt(i: number, spp: number, rand: () => number): ServiceInput {
  const kind = kindOf(rand());
  const sched = schedulerOf(rand());
  const name = `svc-${String(i).padStart(6, "0")}`;
  const weight = () => 1 + Math.floor(rand() * 5);
  const withThresholds = rand() < 0.02;
  const servers: RealServerInput[] = [];
  for (let j = 0; j < spp; j++) {
    const rs: RealServerInput = { address: kind === "tcp6" ? rs6(i, j) : rs4(i, j), weight: weight() };
    if (kind === "tcp-nat" || (kind === "tcp6" && i % 2 === 0)) rs.port = 8080;
    if (withThresholds) {
      rs.upperThreshold = 1000;
      rs.lowerThreshold = 800;
    }
    servers.push(rs);
  }
  const method = kind === "tcp-nat" || (kind === "tcp6" && i % 2 === 0) ? "nat" : kind === "tcp-tun" ? "tunnel" : kind === "udp" && i % 2 === 0 ? "nat" : "dr";
  // identity first, as people write it
  const svc: ServiceInput = kind === "fwmark"
    ? { name, fwmark: i + 1, ...sched, persistence: { timeout: 300 }, pool: { forwarding: { method }, servers } }
    : {
      name,
      protocol: kind === "udp" ? "udp" : "tcp",
      address: kind === "tcp6" ? vip6(i) : vip4(i),
      port: kind === "udp" ? 53 : i % 3 === 0 ? 80 : 443,
      ...sched,
      pool: { forwarding: { method }, servers },
    };
  if (kind !== "fwmark" && kind !== "udp" && rand() < 0.05) {
    svc.persistence = kind === "tcp6" ? { timeout: 600, prefix: 64 } : { timeout: 600, netmask: "255.255.255.0" };
  }
  // ~10% of all services: HTTP health checks, so keepalived owns them (TCP services only)
  if (svc.protocol === "tcp" && rand() < 0.125) {
    svc.pool.healthChecks = [{ type: "http", connectTimeout: 3, retry: 2, urls: [{ path: "/healthz", statusCode: [200] }] }];
    svc.pool.delayLoop = 5;
  }
  return svc;
}

/** A spec with `services` services of `serversPerService` real servers each. */
export function generateSpec(options: GenerateOptions): SpecInput {
  const spp = options.serversPerService ?? 32;
  if (spp > 60) throw new Error("at most 60 real servers per service fit the address plan");
  const rand = prng(options.seed ?? 1);
  const pair = (options.directors ?? 2) === 2;
  const services: ServiceInput[] = [];
  for (let i = 0; i < options.services; i++) services.push(serviceAt(i, spp, rand));
  const director = (n: number) => ({
    name: `lb${n}`,
    ssh: { host: `198.51.100.${10 + n}`, hostKey: HOST_KEY },
    interfaces: ["eth0", "eth1"],
    address: `198.51.100.${10 + n}`,
  });
  const spec: SpecInput = {
    targetKernel: "6.1",
    directors: pair ? [director(1), director(2)] : [director(1)],
    services,
  };
  if (pair) {
    const vips = services.filter((s) => s.address !== undefined && !s.address.includes(":")).slice(0, 16).map((s) => `${s.address!}/32`);
    spec.vrrp = {
      instances: [{ name: "VI_LB", interface: "eth1", virtualRouterId: 51, priority: 150, vips, unicast: true, trackInterfaces: [{ name: "eth0" }] }],
    };
    spec.syncDaemon = { interface: "eth1", instance: "VI_LB", syncId: 51 };
  }
  return spec;
}

/** Counts of what mutateSpec() changed. */
export interface MutationSummary {
  weightChanged: number;
  removed: number;
  added: number;
}

/**
 * The spec as it was before a 1% change: a copy of `spec` where `fraction` of the real
 * servers differ (60% a different weight, 20% absent, 20% with an extra neighbour). Planning
 * `spec` against a director running this one is a routine small rollout.
 */
export function previousSpec(spec: SpecInput, fraction = 0.01, seed = 7): { spec: SpecInput; summary: MutationSummary } {
  const rand = prng(seed);
  const summary: MutationSummary = { weightChanged: 0, removed: 0, added: 0 };
  const services = spec.services.map((svc, i) => {
    const servers: RealServerInput[] = [];
    let extra = 0;
    for (const rs of svc.pool.servers) {
      if (rand() >= fraction) {
        servers.push(rs);
        continue;
      }
      const r = rand();
      if (r < 0.6) {
        servers.push({ ...rs, weight: ((rs.weight ?? 1) % 5) + 1 });
        summary.weightChanged++;
      } else if (r < 0.8) {
        summary.removed++;
      } else {
        servers.push(rs);
        const j = 60 - extra++; // outside the generated 0..59 range: never a duplicate
        const v6 = rs.address.includes(":");
        servers.push({ ...rs, address: v6 ? rs6(i, j) : rs4(i, j), weight: 1 });
        summary.added++;
      }
    }
    return { ...svc, pool: { ...svc.pool, servers } };
  });
  return { spec: { ...spec, services }, summary };
}

// --- YAML ----------------------------------------------------------------------------

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalarText(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v !== "string") throw new Error(`not a scalar: ${JSON.stringify(v)}`);
  // plain when YAML reads it back as the same string: names, paths, addresses
  const plain = (/^[A-Za-z/][\w./-]*$/.test(v) && !RESERVED.test(v)) || /^\d+\.\d+\.\d+\.\d+$/.test(v) || /^[0-9a-f]+:[0-9a-f:]*$/i.test(v);
  return plain ? v : JSON.stringify(v);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

function flowText(v: unknown): string {
  if (isScalar(v)) return scalarText(v);
  if (Array.isArray(v)) return `[${v.map(flowText).join(", ")}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{ ${entries.map(([k, x]) => `${k}: ${flowText(x)}`).join(", ")} }`;
}

/** Small values print on one line: `{ address: 10.0.0.1, weight: 3 }`, `[eth0, eth1]`. */
function isFlowable(v: unknown): boolean {
  if (isScalar(v)) return true;
  if (Array.isArray(v)) return v.every(isScalar);
  return Object.values(v as Record<string, unknown>).every((x) => isScalar(x) || (Array.isArray(x) && x.every(isScalar)));
}

function emit(v: unknown, indent: string, out: string[]): void {
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined) continue;
    if (isFlowable(x)) {
      out.push(`${indent}${k}: ${flowText(x)}`);
    } else if (Array.isArray(x)) {
      out.push(`${indent}${k}:`);
      for (const item of x) {
        if (isFlowable(item)) {
          out.push(`${indent}  - ${flowText(item)}`);
        } else {
          const lines: string[] = [];
          emit(item, `${indent}    `, lines);
          out.push(`${indent}  - ${lines[0]!.trimStart()}`, ...lines.slice(1));
        }
      }
    } else {
      out.push(`${indent}${k}:`);
      emit(x, `${indent}  `, out);
    }
  }
}

/** The spec as YAML in the style of examples/*.yaml (block structure, one flow map per real server). */
export function specToYaml(spec: SpecInput): string {
  const out: string[] = ["# generated by bench/generate.ts"];
  emit(spec, "", out);
  return `${out.join("\n")}\n`;
}

// --- the live state dump ---------------------------------------------------------------

const PROTOCOL_NAME = { tcp: "TCP", udp: "UDP", sctp: "SCTP" } as const;

function listingServiceLine(s: IpvsService, tail: string): string {
  const k = s.key;
  if (k.kind === "fwmark") return `FWM  ${k.fwmark}${k.family === "inet6" ? " IPv6" : ""} ${tail}`;
  return `${PROTOCOL_NAME[k.protocol]}  ${formatAddressPort(k.address, k.port)} ${tail}`;
}

/**
 * `ipvsadm -L -n --thresholds` for a table, as ipvsadm 1.31 prints it (its ActiveConn and
 * InActConn columns are the connection counts the planner reads).
 */
function renderThresholdListing(services: readonly IpvsService[]): string {
  const th = ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port"];
  for (const s of services) {
    th.push(listingServiceLine(s, ""));
    for (const rs of s.realServers) {
      const addr = formatAddressPort(rs.address, rs.port).padEnd(30);
      th.push(`  -> ${addr}${String(rs.upperThreshold).padEnd(11)}${String(rs.lowerThreshold).padEnd(11)}${"3".padEnd(11)}12`);
    }
  }
  return th.join("\n");
}

/** What `ipvsadm -S -n` prints for our rule file: the same lines without `-x`/`-y`. */
function saveTextOf(rules: string): string {
  return rules.replace(/ -x \d+ -y \d+/g, "").trimEnd();
}

/**
 * The read-state dump of `director` running `previous` (a compile of previousSpec()):
 * its table (`-S -n`, the thresholds listing), its keepalived.conf, and the ownership record
 * `owner` wrote when it applied it. keepalived is running.
 */
export function renderLiveDump(previous: CompileOutput, director: string, owner: string): string {
  const d = previous.directors.find((x) => x.name === director);
  const dm = previous.model.directors.find((x) => x.name === director);
  if (!d || !dm) throw new Error(`no director ${director}`);
  const thresholds = renderThresholdListing(dm.table.services);
  const record = [`owner ${owner}`, ...dm.services.map((s) => `service ${s.name} ${serviceKeyString(s.ipvs.key)} ${s.owner}`)].join("\n");
  return [
    "==ipvsc:fingerprint==", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "==ipvsc:save==", saveTextOf(d.ipvsadmRules),
    "==ipvsc:thresholds==", thresholds,
    "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300",
    "==ipvsc:daemon==", "master sync daemon (mcast=eth1, syncid=51)",
    "==ipvsc:keepalived-running==", "yes",
    "==ipvsc:keepalived-conf==", d.keepalivedConf.trimEnd(), "==ipvsc:keepalived-conf-present==", "yes",
    "==ipvsc:owners==", record, "--",
    "==ipvsc:addresses==", "eth0 198.51.100.11/24", "eth1 192.0.2.11/24",
    "==ipvsc:end==", "",
  ].join("\n");
}

/** Total real servers of a spec. */
export function realServerCount(spec: SpecInput): number {
  return spec.services.reduce((n, s) => n + s.pool.servers.length, 0);
}
