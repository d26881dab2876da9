/**
 * normalize: parsed spec -> model. Applies defaults, canonicalises addresses, resolves
 * per-server overrides and per-director overrides, and sorts. It assumes validate() found
 * no errors; it never reports problems itself.
 */
import type { ParsedSpec, RealServerSpec, SchedulerFlag, SchedulerName, ServiceSpec, VrrpInstanceSpec } from "../schema/spec-schema.js";
import ipaddr from "ipaddr.js";
import { addressFamily, canonicalAddress, netmaskToPrefix, parsePrefix } from "./addresses.js";
import {
  realServerHealthKey,
  type DirectorModel, type Family, type HealthCheckedPool, type IpvsRealServer, type IpvsService, type Model, type Protocol,
  type NotifyScripts, type RealServerHealth, type ServiceGroup, type ServiceKey, type ServiceModel, type SyncGroupModel,
  type VrrpInstanceModel,
} from "./model.js";
import { serviceSortKey, sortByKey, sortServices } from "./service-key.js";

/** Flag names in bit order (flag-1, flag-2, flag-3) for each scheduler family. */
export function flagNamesFor(scheduler: SchedulerName): readonly [SchedulerFlag, SchedulerFlag, SchedulerFlag] {
  if (scheduler === "sh") return ["sh-fallback", "sh-port", "flag-3"];
  if (scheduler === "mh") return ["mh-fallback", "mh-port", "flag-3"];
  return ["flag-1", "flag-2", "flag-3"];
}

/** The bit (0..2) a flag name stands for, whatever the scheduler. */
export function flagBit(flag: SchedulerFlag): number {
  switch (flag) {
    case "sh-fallback": case "mh-fallback": case "flag-1": return 0;
    case "sh-port": case "mh-port": case "flag-2": return 1;
    case "flag-3": return 2;
  }
}

/** Canonical flag list for a scheduler: deduplicated, named as ipvsadm prints them, bit order. */
export function canonicalFlags(scheduler: SchedulerName, flags: readonly SchedulerFlag[]): SchedulerFlag[] {
  const names = flagNamesFor(scheduler);
  const bits = new Set(flags.map(flagBit));
  return [0, 1, 2].filter((b) => bits.has(b)).map((b) => names[b]!);
}

export function serviceKeyOf(s: ServiceSpec): ServiceKey {
  if (s.fwmark !== undefined) return { kind: "fwmark", fwmark: s.fwmark, family: s.family ?? "inet" };
  return { kind: "addr", protocol: s.protocol ?? "tcp", address: canonicalAddress(s.address ?? "0.0.0.0"), port: s.port ?? 0 };
}

/**
 * The spec fields that name a service with this key, the inverse of serviceKeyOf:
 * protocol/address/port, or fwmark/family (family left out when it is the default inet and
 * `explicitFamily` is false). For writers of specs (importers, test generators).
 */
export function specIdentityOf(key: ServiceKey, explicitFamily = true):
  { protocol: Protocol; address: string; port: number } | { fwmark: number; family?: Family } {
  if (key.kind === "addr") return { protocol: key.protocol, address: key.address, port: key.port };
  return key.family !== "inet" || explicitFamily ? { fwmark: key.fwmark, family: key.family } : { fwmark: key.fwmark };
}

export function serviceFamily(s: ServiceSpec): Family {
  if (s.fwmark !== undefined) return s.family ?? "inet";
  return addressFamily(s.address ?? "0.0.0.0");
}

/** The port the kernel stores for a real server: the service port (0 for fwmark), or with NAT its own. */
export function realServerPort(service: ServiceSpec, rs: RealServerSpec): number {
  const fwd = rs.forwarding ?? service.pool.forwarding;
  const servicePort = service.fwmark !== undefined ? 0 : service.port ?? 0;
  // the kernel forces the service port on DR and tunnel servers; only NAT remaps
  return fwd.method === "nat" ? rs.port ?? servicePort : servicePort;
}

function realServerOf(service: ServiceSpec, rs: RealServerSpec): IpvsRealServer {
  const fwd = rs.forwarding ?? service.pool.forwarding;
  const out: IpvsRealServer = {
    address: canonicalAddress(rs.address),
    port: realServerPort(service, rs),
    forwarding: fwd.method,
    weight: rs.weight,
    upperThreshold: rs.upperThreshold ?? 0,
    lowerThreshold: rs.lowerThreshold ?? 0,
  };
  if (fwd.method === "tunnel") {
    const type = fwd.tunnelType ?? "ipip";
    out.tunnel = { type };
    if (type === "gue" && fwd.tunnelPort !== undefined) out.tunnel.port = fwd.tunnelPort;
    // nocsum is the kernel default and stays implicit, so a table has one form (ipvsadm -S prints it either way)
    if (fwd.tunnelChecksum !== undefined && fwd.tunnelChecksum !== "nocsum") out.tunnel.checksum = fwd.tunnelChecksum;
  }
  return out;
}

/** The kernel form of one declared service. */
export function ipvsServiceOf(s: ServiceSpec): IpvsService {
  const key = serviceKeyOf(s);
  const family = serviceFamily(s);
  const out: IpvsService = {
    key,
    family,
    scheduler: s.scheduler,
    flags: canonicalFlags(s.scheduler, s.schedulerFlags),
    onePacket: s.onePacket,
    realServers: s.pool.servers.map((rs) => realServerOf(s, rs)),
  };
  if (s.persistence) {
    const full = family === "inet" ? 32 : 128;
    const prefixLength = s.persistence.netmask !== undefined
      ? netmaskToPrefix(s.persistence.netmask) ?? full
      : s.persistence.prefix ?? full;
    out.persistence = { timeout: s.persistence.timeout, prefixLength };
    if (s.persistence.engine) out.persistenceEngine = s.persistence.engine;
  }
  return out;
}

/**
 * keepalived owns a service when any check applies to it: some server's checks (its own,
 * else the pool's) are not empty; a pool without servers by its own checks. Ownership is
 * per service, never per server.
 */
export function hasHealthChecks(s: ServiceSpec): boolean {
  const pool = s.pool.healthChecks?.length ?? 0;
  if (s.pool.servers.length === 0) return pool > 0;
  return s.pool.servers.some((rs) => (rs.healthChecks?.length ?? pool) > 0);
}

/** A real server's keepalived settings that differ from its pool's, or undefined when none do. */
function serverHealthOf(rs: RealServerSpec, pool: HealthCheckedPool): RealServerHealth | undefined {
  const out: RealServerHealth = {};
  if (rs.healthChecks !== undefined) out.checks = rs.healthChecks;
  if (rs.inhibitOnFailure !== undefined && rs.inhibitOnFailure !== pool.inhibitOnFailure) out.inhibitOnFailure = rs.inhibitOnFailure;
  if (rs.alpha !== undefined && rs.alpha !== pool.alpha) out.alpha = rs.alpha;
  if (rs.notifyUp) out.notifyUp = rs.notifyUp;
  if (rs.notifyDown) out.notifyDown = rs.notifyDown;
  return Object.keys(out).length > 0 ? out : undefined;
}

function healthOf(s: ServiceSpec): HealthCheckedPool | undefined {
  const p = s.pool;
  if (!hasHealthChecks(s)) return undefined;
  const h: HealthCheckedPool = {
    checks: p.healthChecks ?? [],
    inhibitOnFailure: p.inhibitOnFailure ?? false,
    alpha: p.alpha ?? false,
    omega: p.omega ?? false,
    haSuspend: p.haSuspend ?? false,
  };
  for (const rs of p.servers) {
    const own = serverHealthOf(rs, h);
    if (!own) continue;
    h.servers ??= {};
    h.servers[realServerHealthKey({ address: canonicalAddress(rs.address), port: realServerPort(s, rs) })] = own;
  }
  if (p.delayLoop !== undefined) h.delayLoop = p.delayLoop;
  if (p.connectTimeout !== undefined) h.connectTimeout = p.connectTimeout;
  if (p.retry !== undefined) h.retry = p.retry;
  if (p.delayBeforeRetry !== undefined) h.delayBeforeRetry = p.delayBeforeRetry;
  if (p.warmup !== undefined) h.warmup = p.warmup;
  if (p.quorum !== undefined) h.quorum = p.quorum;
  if (p.hysteresis !== undefined) h.hysteresis = p.hysteresis;
  if (p.quorumUp) h.quorumUp = p.quorumUp;
  if (p.quorumDown) h.quorumDown = p.quorumDown;
  if (s.virtualhost !== undefined) h.virtualhost = s.virtualhost;
  if (p.sorryServer) {
    const key = serviceKeyOf(s);
    h.sorryServer = {
      address: canonicalAddress(p.sorryServer.address),
      port: p.sorryServer.port ?? (key.kind === "addr" ? key.port : 0),
      inhibit: p.sorryServer.inhibit ?? false,
    };
    if (p.sorryServer.forwarding) h.sorryServer.forwarding = p.sorryServer.forwarding;
  }
  return h;
}

/** The notify scripts of an instance or a sync group. */
export function notifyOf(o: { notifyMaster?: string[] | undefined; notifyBackup?: string[] | undefined; notifyFault?: string[] | undefined; notifyStop?: string[] | undefined; notify?: string[] | undefined }): NotifyScripts {
  const out: NotifyScripts = {};
  if (o.notifyMaster) out.master = o.notifyMaster;
  if (o.notifyBackup) out.backup = o.notifyBackup;
  if (o.notifyFault) out.fault = o.notifyFault;
  if (o.notifyStop) out.stop = o.notifyStop;
  if (o.notify) out.any = o.notify;
  return out;
}

/**
 * The sync groups of a spec: `syncGroups` exactly when given; else one group of every
 * instance (named `syncGroup`, default SG_IPVS) when there are two or more, or when
 * `syncGroup` is set. Each director renders a group with the members it runs, and only
 * when it runs two or more of them (a group of one is not rendered): with instances on
 * different directors (`vrrp.instances[].directors`) the default group joins, per
 * director, the instances that director runs.
 */
export function syncGroupsOf(spec: ParsedSpec): { groups: SyncGroupModel[]; single?: string } {
  const vrrp = spec.vrrp;
  if (!vrrp) return { groups: [] };
  if (vrrp.syncGroups !== undefined) {
    const groups = vrrp.syncGroups.map((g) => ({ name: g.name, instances: [...g.instances], notify: notifyOf(g) }));
    return { groups: groups.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  }
  const name = vrrp.syncGroup ?? (vrrp.instances.length > 1 ? "SG_IPVS" : undefined);
  if (name === undefined) return { groups: [] };
  return { groups: [{ name, instances: vrrp.instances.map((i) => i.name), notify: {} }], single: name };
}

/** Initial VRRP state of the director at `order` when the spec does not set one. */
export function derivedState(nopreempt: boolean, order: number): "MASTER" | "BACKUP" {
  return nopreempt || order > 0 ? "BACKUP" : "MASTER";
}

/** Priority of the director at `order` when the spec does not set one: 150, 140, ... (min 1). */
export function derivedPriority(base: number, order: number): number {
  return Math.max(1, base - 10 * order);
}

/**
 * The directors running a VRRP instance, as indices into `spec.directors`, in the
 * instance's order: its `directors` list (names the spec does not declare and repeats are
 * skipped), else every director in spec order. The position in this list is the
 * director's rank in the instance: 0 is the preferred master.
 */
export function instanceDirectorIndices(spec: Pick<ParsedSpec, "directors">, inst: Pick<VrrpInstanceSpec, "directors">): number[] {
  if (inst.directors === undefined) return spec.directors.map((_, i) => i);
  const out: number[] = [];
  for (const name of inst.directors) {
    const i = spec.directors.findIndex((d) => d.name === name);
    if (i >= 0 && !out.includes(i)) out.push(i);
  }
  return out;
}

/** The instances (spec order) the director at `order` runs. */
export function instancesOfDirector(spec: ParsedSpec, order: number): VrrpInstanceSpec[] {
  return (spec.vrrp?.instances ?? []).filter((inst) => instanceDirectorIndices(spec, inst).includes(order));
}

/**
 * The VRRP instance the sync daemon of the director at `order` follows: `syncDaemon.instance`,
 * else the first instance (spec order) the director runs; undefined when it runs none.
 */
export function syncDaemonInstanceOf(spec: ParsedSpec, order: number): string | undefined {
  const own = instancesOfDirector(spec, order);
  if (own.length === 0) return undefined;
  return spec.syncDaemon?.instance ?? own[0]!.name;
}

function vrrpInstancesFor(spec: ParsedSpec, order: number): { instances: VrrpInstanceModel[]; secrets: Record<string, string> } {
  const director = spec.directors[order]!;
  const instances: VrrpInstanceModel[] = [];
  const secrets: Record<string, string> = {};
  for (const inst of spec.vrrp?.instances ?? []) {
    const members = instanceDirectorIndices(spec, inst);
    // the director's rank among the instance's directors decides its default state and priority
    const rank = members.indexOf(order);
    if (rank < 0) continue;
    const o = director.vrrp?.[inst.name] ?? {};
    const nopreempt = o.nopreempt ?? inst.nopreempt;
    const vips = inst.vips.map(parsePrefix);
    const srcIp = o.unicastSrcIp ?? director.address;
    // one explicit list serves every director: each drops its own address (a router is not its own peer)
    const self = srcIp === undefined ? undefined : canonicalAddress(srcIp);
    const peers = inst.unicast
      ? (inst.unicastPeers ?? members.filter((i) => i !== order && spec.directors[i]!.address !== undefined).map((i) => spec.directors[i]!.address!))
        .filter((p) => canonicalAddress(p) !== self)
      : [];
    const model: VrrpInstanceModel = {
      name: inst.name,
      state: o.state ?? derivedState(nopreempt, rank),
      interface: o.interface ?? inst.interface,
      virtualRouterId: o.virtualRouterId ?? inst.virtualRouterId,
      priority: o.priority ?? derivedPriority(inst.priority ?? 150, rank),
      advertInterval: o.advertInterval ?? inst.advertInterval,
      family: vips[0]?.family ?? "inet",
      vips: vips.map((v) => `${v.address}/${v.length}`),
      excludedVips: (inst.excludedVips ?? []).map(parsePrefix).map((v) => `${v.address}/${v.length}`),
      hasAuthPassword: (o.authPassword ?? inst.authPassword) !== undefined,
      unicastPeers: peers.map(canonicalAddress),
      nopreempt,
      trackInterfaces: inst.trackInterfaces ?? [],
      trackScripts: inst.trackScripts ?? [],
      notify: notifyOf(inst),
    };
    const authType = o.authType ?? inst.authType ?? (model.hasAuthPassword ? "PASS" : undefined);
    if (authType) model.authType = authType;
    if (inst.unicast && srcIp !== undefined) model.unicastSrcIp = canonicalAddress(srcIp);
    if (inst.preemptDelay !== undefined) model.preemptDelay = inst.preemptDelay;
    if (inst.version !== undefined) model.version = inst.version;
    if (inst.garpMasterDelay !== undefined) model.garpMasterDelay = inst.garpMasterDelay;
    const password = o.authPassword ?? inst.authPassword;
    if (password !== undefined) secrets[inst.name] = password;
    instances.push(model);
  }
  instances.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { instances, secrets };
}

/** Most addresses one group member may stand for (a whole IPv4 last byte). */
export const MAX_RANGE = 256;

/** The addresses of a group member: one, or its range (empty when the range runs backwards or is too long). */
export function memberAddresses(address: string, last: number | undefined): string[] {
  const start = canonicalAddress(address);
  if (last === undefined) return [start];
  const family = addressFamily(start);
  const first = family === "inet" ? Number(start.split(".")[3]) : Number.parseInt(ipaddr.parse(start).toNormalizedString().split(":")[7]!, 16);
  if (last < first || last - first >= MAX_RANGE || (family === "inet" && last > 255)) return [];
  const out: string[] = [];
  for (let v = first; v <= last; v++) {
    if (family === "inet") out.push(`${start.split(".").slice(0, 3).join(".")}.${v}`);
    else {
      const parts = ipaddr.parse(start).toNormalizedString().split(":");
      parts[7] = v.toString(16);
      out.push(canonicalAddress(parts.join(":")));
    }
  }
  return out;
}

/** The family of a group service: its first address member's, else `family` (default inet). */
export function groupFamily(s: ServiceSpec): Family {
  const addr = s.group?.members.find((m) => "address" in m);
  return addr && "address" in addr ? addressFamily(addr.address) : s.family ?? "inet";
}

/** The kernel identities a group service stands for, in member order. */
export function groupKeysOf(s: ServiceSpec): ServiceKey[] {
  const family = groupFamily(s);
  return (s.group?.members ?? []).flatMap((m): ServiceKey[] => {
    if ("fwmark" in m) return [{ kind: "fwmark", fwmark: m.fwmark, family }];
    return memberAddresses(m.address, m.last).map((address) => ({ kind: "addr", protocol: s.protocol ?? "tcp", address, port: m.port }));
  });
}

/** The service as one member of its group: the plain service with that identity. */
export function memberView(s: ServiceSpec, key: ServiceKey): ServiceSpec {
  const { group: _group, ...rest } = s;
  if (key.kind === "fwmark") {
    const { protocol: _p, address: _a, port: _port, ...plain } = rest;
    return { ...plain, fwmark: key.fwmark, family: key.family };
  }
  const { fwmark: _f, family: _fam, ...plain } = rest;
  return { ...plain, protocol: key.protocol, address: key.address, port: key.port };
}

/** keepalived's virtual_server_group of a group service. */
function serviceGroupOf(s: ServiceSpec): ServiceGroup {
  const family = groupFamily(s);
  const entries = (s.group?.members ?? []).map((m) => {
    if ("fwmark" in m) return `fwmark ${m.fwmark}${family === "inet6" ? " inet6" : ""}`;
    const start = canonicalAddress(m.address);
    if (m.last === undefined) return `${start} ${m.port}`;
    return `${start}-${family === "inet" ? m.last : m.last.toString(16)} ${m.port}`;
  });
  const out: ServiceGroup = { name: s.name, entries, family };
  if ((s.group?.members ?? []).some((m) => "address" in m)) out.protocol = s.protocol ?? "tcp";
  return out;
}

/** Parsed, validated spec -> model. */
export function normalize(spec: ParsedSpec): Model {
  const allDirectors = spec.directors.map((d) => d.name);
  const services: ServiceModel[] = spec.services.flatMap((s, specIndex) => {
    const directors = [...(s.directors ?? allDirectors)].sort();
    if (s.group) {
      // each member is a service of its own for the table, the plan and the apply
      const group = serviceGroupOf(s);
      return groupKeysOf(s).map((key, k) => {
        const view = memberView(s, key);
        const health = healthOf(view);
        const m: ServiceModel = {
          name: `${s.name}.${k + 1}`, specIndex, ipvs: ipvsServiceOf(view), owner: health ? "keepalived" : "applier", directors, group,
        };
        if (health) m.health = health;
        return m;
      });
    }
    const health = healthOf(s);
    const m: ServiceModel = {
      name: s.name,
      specIndex,
      ipvs: ipvsServiceOf(s),
      owner: health ? "keepalived" : "applier",
      directors,
    };
    if (health) m.health = health;
    return [m];
  });
  sortServices(services.map((s) => s.ipvs));
  sortByKey(services, (s) => serviceSortKey(s.ipvs.key));

  const directors: DirectorModel[] = spec.directors.map((d, order) => {
    const own = services.filter((s) => s.directors.includes(d.name));
    const { instances, secrets } = vrrpInstancesFor(spec, order);
    const dm: DirectorModel = {
      name: d.name,
      order,
      interfaces: [...d.interfaces],
      routerId: d.routerId ?? d.name,
      // the same service objects as model.services: the model is read-only data, and a
      // copy per director doubled the model's memory for an HA pair
      table: { services: own.map((s) => s.ipvs) },
      services: own,
      vrrpInstances: instances,
      vrrpSecrets: secrets,
    };
    if (d.ssh) {
      dm.ssh = { host: d.ssh.host, port: d.ssh.port, user: d.ssh.user, hostKey: d.ssh.hostKey };
      if (d.ssh.privateKeyPath) dm.ssh.privateKeyPath = d.ssh.privateKeyPath;
    }
    if (d.address !== undefined) dm.address = canonicalAddress(d.address);
    if (spec.syncDaemon) {
      const follows = syncDaemonInstanceOf(spec, order);
      if (follows !== undefined) dm.syncDaemonInstance = follows;
    }
    return dm;
  });

  const model: Model = {
    targetKernel: spec.targetKernel,
    services,
    directors,
    syncGroups: syncGroupsOf(spec).groups,
    vrrpScripts: (spec.vrrp?.scripts ?? []).map((s) => {
      const out: Model["vrrpScripts"][number] = { name: s.name, command: s.command, interval: s.interval };
      if (s.timeout !== undefined) out.timeout = s.timeout;
      if (s.weight !== undefined) out.weight = s.weight;
      if (s.rise !== undefined) out.rise = s.rise;
      if (s.fall !== undefined) out.fall = s.fall;
      return out;
    }).sort((a, b) => (a.name < b.name ? -1 : 1)),
    haMode: spec.ha?.mode ?? "vrrp",
    sysctl: {
      expireNodestConn: spec.sysctl?.expireNodestConn ?? true,
      expireQuiescentTemplate: spec.sysctl?.expireQuiescentTemplate ?? true,
      conntrack: spec.sysctl?.conntrack ?? false,
      ipForward: spec.sysctl?.ipForward ?? true,
      ...(spec.sysctl?.connReuseMode !== undefined ? { connReuseMode: spec.sysctl.connReuseMode } : {}),
      ...(spec.sysctl?.sloppyTcp !== undefined ? { sloppyTcp: spec.sysctl.sloppyTcp } : {}),
      ...(spec.sysctl?.sloppySctp !== undefined ? { sloppySctp: spec.sysctl.sloppySctp } : {}),
    },
    keepalived: {
      configDir: spec.keepalived?.configDir ?? "/etc/keepalived",
      scriptUser: spec.keepalived?.scriptUser ?? "root",
    },
  };
  const sync = syncGroupsOf(spec);
  if (sync.single !== undefined) model.syncGroup = sync.single;
  if (spec.syncDaemon) {
    const sd = spec.syncDaemon;
    model.syncDaemon = { interface: sd.interface, syncId: sd.syncId };
    const instance = sd.instance ?? spec.vrrp?.instances[0]?.name;
    if (instance !== undefined) model.syncDaemon.instance = instance;
    if (sd.maxlen !== undefined) model.syncDaemon.maxlen = sd.maxlen;
    if (sd.port !== undefined) model.syncDaemon.port = sd.port;
    if (sd.ttl !== undefined) model.syncDaemon.ttl = sd.ttl;
    if (sd.group !== undefined) model.syncDaemon.group = canonicalAddress(sd.group);
  }
  if (spec.timeouts) {
    model.timeouts = { tcp: spec.timeouts.tcp ?? 0, tcpFin: spec.timeouts.tcpFin ?? 0, udp: spec.timeouts.udp ?? 0 };
  }
  return model;
}
