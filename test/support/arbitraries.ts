/**
 * fast-check arbitraries for property tests and the lab: IPVS tables the kernel accepts
 * and specs that pass the schema and the semantic rules.
 *
 * Every table respects the rules in reference/ipvsadm.md: port 0 only on persistent
 * services, -o only on UDP and fwmark services, scheduler flags named for their scheduler,
 * mixed address families only for tunnel servers, DR/TUN servers on the service port, gue
 * with a port, ipip without checksum options, gre without port or remcsum, lower threshold
 * at most the upper one, fwmarks 1..2^31-1, only schedulers the target kernel has, unique
 * services and real servers, documentation addresses, real servers never the VIP.
 * Tables come out in canonical (sorted) order, with nocsum implicit, as the model keeps them.
 */
import fc from "fast-check";
import { prefixToNetmask } from "../../src/model/addresses.js";
import type {
  Family, ForwardingMethod, IpvsRealServer, IpvsService, IpvsTable, Protocol, SchedulerFlag, SchedulerName, ServiceKey,
  TunnelOptions,
} from "../../src/model/model.js";
import { canonicalFlags, flagNamesFor, specIdentityOf } from "../../src/model/normalize.js";
import { realServerKeyString, serviceKeyString, sortServices } from "../../src/model/service-key.js";
import { SCHEDULERS, type SpecInput } from "../../src/schema/spec-schema.js";

/** The one seed every property test runs with, so a failure reproduces. */
export const FC_SEED = 20260516;

/** Schedulers a Debian 12 (Linux 6.1) director has: everything but twos (6.2+). */
export const KERNEL_6_1_SCHEDULERS: readonly SchedulerName[] = SCHEDULERS.filter((s) => s !== "twos");

export interface TableOptions {
  /** schedulers to draw from @default KERNEL_6_1_SCHEDULERS */
  schedulers?: readonly SchedulerName[];
  /** @default 6 */
  maxServices?: number;
  /** @default 0 */
  minRealServers?: number;
  /** @default 5 */
  maxRealServers?: number;
}

const hex = (n: number) => n.toString(16);

// VIPs and real servers come from disjoint documentation ranges: a real server is never a VIP
const arbVip4 = fc.integer({ min: 1, max: 254 }).map((n) => `203.0.113.${n}`);
const arbVip6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8:0:1::${hex(n)}`);
const arbRealAddress4 = fc
  .tuple(fc.constantFrom("192.0.2", "198.51.100"), fc.integer({ min: 1, max: 254 }))
  .map(([net, n]) => `${net}.${n}`);
const arbRealAddress6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8:0:2::${hex(n)}`);

const arbPort = fc.oneof(
  { arbitrary: fc.constantFrom(80, 443, 53, 8080, 5060), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 2 },
);
const arbWeight = fc.oneof(
  { arbitrary: fc.constant(1), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 100 }), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 65535 }), weight: 1 },
);
const arbUpperThreshold = fc.oneof(
  { arbitrary: fc.constant(0), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 100000 }), weight: 1 },
);
const arbTimeout = fc.oneof(
  { arbitrary: fc.constant(360), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 3600 }), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 2678400 }), weight: 1 },
);
const arbFwmark = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }));

interface ServiceShape {
  key: ServiceKey;
  family: Family;
  scheduler: SchedulerName;
  flags: SchedulerFlag[];
  persistence?: { timeout: number; prefixLength: number };
  persistenceEngine?: "sip";
  onePacket: boolean;
}

function arbServiceShape(schedulers: readonly SchedulerName[]): fc.Arbitrary<ServiceShape> {
  return fc
    .record({
      fwmarkRoll: fc.integer({ min: 0, max: 9 }),
      protocol: fc.constantFrom<Protocol>("tcp", "tcp", "tcp", "udp", "udp", "sctp"),
      family: fc.constantFrom<Family>("inet", "inet", "inet", "inet6"),
      vip4: arbVip4,
      vip6: arbVip6,
      port: arbPort,
      zeroPort: fc.integer({ min: 0, max: 5 }),
      fwmark: arbFwmark,
      scheduler: fc.constantFrom(...schedulers),
      flagRoll: fc.integer({ min: 0, max: 4 }),
      flagBits: fc.subarray([0, 1, 2]),
      persistent: fc.integer({ min: 0, max: 2 }),
      timeout: arbTimeout,
      prefix4: fc.oneof(fc.constant(32), fc.constant(24), fc.integer({ min: 1, max: 32 })),
      prefix6: fc.oneof(fc.constant(128), fc.constant(64), fc.integer({ min: 1, max: 128 })),
      pe: fc.boolean(),
      onePacket: fc.integer({ min: 0, max: 2 }),
    })
    .map((r) => {
      const persistent = r.persistent === 0;
      const fwmark = r.fwmarkRoll < 2;
      const key: ServiceKey = fwmark
        ? { kind: "fwmark", fwmark: r.fwmark, family: r.family }
        : {
          kind: "addr",
          protocol: r.protocol,
          address: r.family === "inet" ? r.vip4 : r.vip6,
          // port 0 (all ports) exists only on persistent services
          port: persistent && r.zeroPort === 0 ? 0 : r.port,
        };
      // flags on schedulers that ignore them are legal but rare in practice
      const named = r.scheduler === "sh" || r.scheduler === "mh" || r.flagRoll === 0;
      const names = flagNamesFor(r.scheduler);
      const shape: ServiceShape = {
        key,
        family: r.family,
        scheduler: r.scheduler,
        // flag-3 on sh/mh cannot be listed or restored by ipvsadm 1.31: validation rejects it
        flags: named
          ? canonicalFlags(r.scheduler, r.flagBits.filter((b) => !(b === 2 && (r.scheduler === "sh" || r.scheduler === "mh"))).map((b) => names[b]!))
          : [],
        onePacket: r.onePacket === 0 && (fwmark || r.protocol === "udp"),
      };
      if (persistent) {
        shape.persistence = { timeout: r.timeout, prefixLength: r.family === "inet" ? r.prefix4 : r.prefix6 };
        if (r.pe && key.kind === "addr" && key.protocol === "udp") shape.persistenceEngine = "sip";
      }
      return shape;
    });
}

function arbTunnel(): fc.Arbitrary<TunnelOptions> {
  return fc
    .record({
      type: fc.constantFrom("ipip", "ipip", "gue", "gre"),
      port: fc.oneof(fc.constant(6080), fc.integer({ min: 1, max: 65535 })),
      checksum: fc.constantFrom(undefined, "csum", "remcsum"),
    })
    .map(({ type, port, checksum }): TunnelOptions => {
      if (type === "ipip") return { type };
      if (type === "gue") return checksum === undefined ? { type, port } : { type, port, checksum };
      return checksum === "csum" ? { type: "gre", checksum } : { type: "gre" };
    });
}

function arbRealServer(svc: ServiceShape): fc.Arbitrary<IpvsRealServer> {
  const servicePort = svc.key.kind === "addr" ? svc.key.port : 0;
  return fc
    .record({
      forwarding: fc.constantFrom<ForwardingMethod>("nat", "nat", "dr", "dr", "tunnel"),
      otherFamily: fc.integer({ min: 0, max: 3 }),
      address4: arbRealAddress4,
      address6: arbRealAddress6,
      natPort: fc.oneof(fc.constant(servicePort), arbPort),
      weight: arbWeight,
      upper: arbUpperThreshold,
      lowerRoll: fc.integer({ min: 0, max: 100000 }),
      tunnel: arbTunnel(),
    })
    .map((r) => {
      // only tunnel servers may be of the other address family
      const family = r.forwarding === "tunnel" && r.otherFamily === 0 ? (svc.family === "inet" ? "inet6" : "inet") : svc.family;
      const rs: IpvsRealServer = {
        address: family === "inet" ? r.address4 : r.address6,
        // DR and tunnel keep the service port; NAT may remap, except on all-port and fwmark services
        port: r.forwarding === "nat" && servicePort !== 0 ? r.natPort : servicePort,
        forwarding: r.forwarding,
        weight: r.weight,
        upperThreshold: r.upper,
        lowerThreshold: r.upper === 0 ? 0 : r.lowerRoll % (r.upper + 1),
      };
      if (r.forwarding === "tunnel") rs.tunnel = r.tunnel;
      return rs;
    });
}

function arbService(opts: TableOptions): fc.Arbitrary<IpvsService> {
  return arbServiceShape(opts.schedulers ?? KERNEL_6_1_SCHEDULERS).chain((shape) =>
    fc
      .uniqueArray(arbRealServer(shape), {
        minLength: opts.minRealServers ?? 0,
        maxLength: opts.maxRealServers ?? 5,
        selector: realServerKeyString,
      })
      .map((realServers): IpvsService => ({ ...shape, realServers })),
  );
}

/** A valid kernel IPVS table in canonical order (≤ 6 services of ≤ 5 real servers by default). */
export function arbIpvsTable(opts: TableOptions = {}): fc.Arbitrary<IpvsTable> {
  return fc
    .uniqueArray(arbService(opts), { maxLength: opts.maxServices ?? 6, selector: (s) => serviceKeyString(s.key) })
    .map((services) => ({ services: sortServices(services) }));
}

// ---------------------------------------------------------------------------------------
// specs

type ServiceInput = SpecInput["services"][number];
type RealServerInput = ServiceInput["pool"]["servers"][number];
type ForwardingInput = NonNullable<RealServerInput["forwarding"]>;

/** A generated spec with the table each director must end up with. */
export interface SpecCase {
  spec: SpecInput;
  /** expected kernel table by director name */
  tables: Record<string, IpvsTable>;
}

interface ServiceStyle {
  /** write defaults out explicitly (scheduler wlc, weight 1, timeout 360, ipip, nocsum, ...) */
  verbose: boolean;
  healthCheck: boolean;
  /** a subset of directors, or undefined for all */
  directors: string[] | undefined;
}

function forwardingInput(rs: IpvsRealServer, verbose: boolean): ForwardingInput {
  if (rs.forwarding !== "tunnel") return { method: rs.forwarding };
  const t = rs.tunnel ?? { type: "ipip" };
  const out: ForwardingInput = { method: "tunnel" };
  if (t.type !== "ipip" || verbose) out.tunnelType = t.type;
  if (t.port !== undefined) out.tunnelPort = t.port;
  if (t.checksum !== undefined) out.tunnelChecksum = t.checksum;
  else if (verbose && t.type !== "ipip") out.tunnelChecksum = "nocsum";
  return out;
}

/** Writes a valid kernel service the way a user might: defaults left out or spelled out. */
function serviceInput(svc: IpvsService, index: number, style: ServiceStyle): ServiceInput {
  const { verbose } = style;
  const servicePort = svc.key.kind === "addr" ? svc.key.port : 0;
  const pool = forwardingInput(svc.realServers[0]!, verbose);
  const servers = svc.realServers.map((rs): RealServerInput => {
    const out: RealServerInput = { address: rs.address };
    if (rs.forwarding === "nat" && (rs.port !== servicePort || verbose) && svc.key.kind === "addr") out.port = rs.port;
    if (rs.weight !== 1 || verbose) out.weight = rs.weight;
    if (rs.upperThreshold !== 0 || verbose) out.upperThreshold = rs.upperThreshold;
    if (rs.lowerThreshold !== 0 || verbose) out.lowerThreshold = rs.lowerThreshold;
    const fwd = forwardingInput(rs, verbose);
    if (JSON.stringify(fwd) !== JSON.stringify(pool)) out.forwarding = fwd;
    return out;
  });
  const out: ServiceInput = { name: `svc-${index}`, pool: { forwarding: pool, servers } };
  Object.assign(out, specIdentityOf(svc.key, verbose));
  if (svc.scheduler !== "wlc" || verbose) out.scheduler = svc.scheduler;
  if (svc.flags.length > 0 || verbose) out.schedulerFlags = [...svc.flags];
  if (svc.onePacket || verbose) out.onePacket = svc.onePacket;
  if (svc.persistence) {
    const p: NonNullable<ServiceInput["persistence"]> = {};
    if (svc.persistence.timeout !== 360 || verbose) p.timeout = svc.persistence.timeout;
    const full = svc.family === "inet" ? 32 : 128;
    if (svc.persistence.prefixLength !== full || verbose) {
      if (svc.family === "inet") p.netmask = prefixToNetmask(svc.persistence.prefixLength);
      else p.prefix = svc.persistence.prefixLength;
    }
    if (svc.persistenceEngine) p.engine = svc.persistenceEngine;
    out.persistence = p;
  }
  if (style.healthCheck && svc.key.kind === "addr" && svc.key.protocol === "tcp" && servicePort !== 0) {
    out.pool.healthChecks = [{ type: "tcp" }];
  }
  if (style.directors) out.directors = style.directors;
  return out;
}

/** mh drains need mh-fallback (else a warning): add it where a server has weight 0. */
function withoutDrainWarnings(svc: IpvsService): IpvsService {
  if (svc.scheduler !== "mh" || !svc.realServers.some((rs) => rs.weight === 0)) return svc;
  return { ...svc, flags: canonicalFlags("mh", [...svc.flags, "mh-fallback"]) };
}

/**
 * Specs that pass parseSpec and validate() without errors or warnings, with the tables
 * their directors must get: 1 or 2 directors, ≤ 6 services of 1..5 real servers, an
 * optional VRRP instance over the IPv4 VIPs. Realistic enough to load into a real kernel.
 */
export function arbSpecCase(opts: TableOptions = {}): fc.Arbitrary<SpecCase> {
  const tableOpts: TableOptions = { ...opts, minRealServers: Math.max(1, opts.minRealServers ?? 1) };
  return fc
    .record({
      directorCount: fc.integer({ min: 1, max: 2 }),
      table: arbIpvsTable(tableOpts),
      vrrp: fc.boolean(),
      vrid: fc.integer({ min: 1, max: 255 }),
    })
    .chain(({ directorCount, table, vrrp, vrid }) => {
      const names = ["lb1", "lb2"].slice(0, directorCount);
      const services = table.services.map(withoutDrainWarnings);
      const arbStyle: fc.Arbitrary<ServiceStyle> = fc.record({
        verbose: fc.boolean(),
        healthCheck: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
        directors: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 4 },
          { arbitrary: fc.subarray(names, { minLength: 1 }), weight: 1 },
        ),
      });
      return fc.tuple(...services.map(() => arbStyle)).map((styles): SpecCase => {
        const spec: SpecInput = {
          directors: names.map((name) => ({ name, interfaces: ["eth0"] })),
          services: services.map((svc, i) => serviceInput(svc, i, styles[i]!)),
        };
        if (vrrp) {
          // a VIP moves to every director, so an address some director does not carry stays
          // out of the instance (validate-ha-pairs: a VIP service on only some directors)
          const partial = new Set(services.flatMap((s, i) => {
            const on = styles[i]!.directors;
            return s.key.kind === "addr" && on !== undefined && on.length < names.length ? [s.key.address] : [];
          }));
          const vips = [...new Set(services.flatMap((s) => (s.key.kind === "addr" && s.family === "inet" && !partial.has(s.key.address) ? [s.key.address] : [])))];
          // with none, a VIP no service uses (a partial service on it would be refused)
          const used = new Set(services.flatMap((s) => (s.key.kind === "addr" ? [s.key.address] : [])));
          let spare = 254;
          while (used.has(`203.0.113.${spare}`)) spare--;
          spec.vrrp = {
            instances: [{ name: "VI_1", interface: "eth0", virtualRouterId: vrid, vips: vips.length > 0 ? vips.map((v) => `${v}/32`) : [`203.0.113.${spare}/32`] }],
          };
        }
        const tables: Record<string, IpvsTable> = {};
        for (const name of names) {
          tables[name] = {
            services: services.filter((_, i) => styles[i]!.directors?.includes(name) ?? true).map((s) => ({ ...s, realServers: [...s.realServers] })),
          };
        }
        return { spec, tables };
      });
    });
}

/** Valid spec objects (the `SpecInput` half of {@link arbSpecCase}). */
export function arbSpecInput(opts: TableOptions = {}): fc.Arbitrary<SpecInput> {
  return arbSpecCase(opts).map((c) => c.spec);
}
