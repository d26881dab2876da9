/**
 * Service-level rules: identity fields, duplicate identities and names, scheduler flags and
 * kernel support, port 0, one-packet scheduling, persistence, director references, empty pools.
 */
import type { Issue } from "../issues.js";
import { addressFamily, netmaskToPrefix, prefixToNetmask } from "../model/addresses.js";
import { flagNamesFor, serviceFamily } from "../model/normalize.js";
import { serviceKeyString } from "../model/service-key.js";
import type { ParsedSpec, SchedulerFlag, SchedulerName, ServiceSpec } from "../schema/spec-schema.js";
import {
  IssueCollector, describeService, directorsOf, identityOf, isKeepalivedOwned, kernelAtLeast, listText,
} from "./validation-context.js";

/** Schedulers newer than some kernels still in use: [major, minor] of the first kernel with them. */
const SCHEDULER_SINCE: Partial<Record<SchedulerName, [number, number]>> = {
  mh: [4, 18],
  twos: [6, 2],
};

function checkIdentityFields(s: ServiceSpec, i: number, out: IssueCollector): void {
  if (s.group) return; // its members are its identity: validate-groups.ts
  if (s.fwmark !== undefined) {
    for (const field of ["address", "port", "protocol"] as const) {
      const value = s[field];
      if (value === undefined) continue;
      out.error(
        "fwmark-service-port",
        ["services", i, field],
        `fwmark service "${s.name}" (fwmark ${s.fwmark}) must not set ${field} (${String(value)}): a fwmark service is identified by its mark and family alone`,
        field === "address"
          ? "mark the packets to this address with iptables/nftables and drop 'address' here, or drop 'fwmark'"
          : `remove '${field}', or drop 'fwmark' to make this an address service`,
      );
    }
    return;
  }
  for (const field of ["protocol", "address", "port"] as const) {
    if (s[field] !== undefined) continue;
    out.error(
      "missing-field",
      ["services", i, field],
      `service "${s.name}" has no ${field}: a service needs protocol, address and port, or a fwmark`,
      field === "protocol" ? "add protocol: tcp, udp or sctp" : undefined,
    );
  }
  if (s.family !== undefined && s.address !== undefined && addressFamily(s.address) !== s.family) {
    out.error(
      "invalid-value",
      ["services", i, "family"],
      `service "${s.name}" sets family ${s.family}, but its address ${s.address} is ${addressFamily(s.address)}`,
      "remove 'family': address services take the family of their address",
    );
  }
}

function checkDuplicates(spec: ParsedSpec, out: IssueCollector): void {
  const byKey = new Map<string, number[]>();
  const byName = new Map<string, number>();
  spec.services.forEach((s, i) => {
    const first = byName.get(s.name);
    if (first !== undefined) {
      out.error(
        "duplicate-name",
        ["services", i, "name"],
        `service name "${s.name}" is already used by services[${first}]`,
        "service names must be unique: they name keepalived blocks and plan entries",
      );
    } else {
      byName.set(s.name, i);
    }

    const key = identityOf(s);
    if (!key) return;
    const text = serviceKeyString(key);
    const earlier = byKey.get(text) ?? [];
    const mine = new Set(directorsOf(spec, s));
    for (const j of earlier) {
      const other = spec.services[j]!;
      const shared = directorsOf(spec, other).filter((d) => mine.has(d));
      if (shared.length === 0) continue; // disjoint director sets never meet in one kernel table
      out.error(
        "duplicate-service",
        ["services", i],
        `service "${s.name}" has the same identity ${text} as service "${other.name}" (services[${j}]) on director${shared.length > 1 ? "s" : ""} ${listText(shared)}`,
        "a kernel table holds one service per protocol, address and port (or fwmark and family): change one, or merge the pools",
      );
      break;
    }
    earlier.push(i);
    byKey.set(text, earlier);
  });
}

function flagHint(scheduler: SchedulerName, flag: SchedulerFlag): string {
  const bit = flag.endsWith("fallback") ? 0 : 1;
  if (scheduler === "sh" || scheduler === "mh") return `use "${flagNamesFor(scheduler)[bit]}" instead`;
  return `remove it: ${scheduler} takes no ${flag.slice(0, 2)} flags`;
}

function checkScheduler(spec: ParsedSpec, s: ServiceSpec, i: number, out: IssueCollector): void {
  s.schedulerFlags.forEach((flag, k) => {
    if (flag === "flag-3" && (s.scheduler === "sh" || s.scheduler === "mh")) {
      // verified on a real director: `-S -n` drops it (or prints a bare -b that -R rejects),
      // so the flag would be invisible to plans and drift detection
      out.error(
        "scheduler-flag-mismatch",
        ["services", i, "schedulerFlags", k],
        `scheduler flag "flag-3" on ${describeService(s)}: ipvsadm lists ${s.scheduler} flags only by their ${s.scheduler}- names, so flag-3 could never be read back, planned or checked for drift`,
        `remove it; ${s.scheduler} uses ${s.scheduler}-fallback and ${s.scheduler}-port`,
      );
      return;
    }
    const owner = flag.startsWith("sh-") ? "sh" : flag.startsWith("mh-") ? "mh" : undefined;
    if (owner === undefined || owner === s.scheduler) return;
    out.error(
      "scheduler-flag-mismatch",
      ["services", i, "schedulerFlags", k],
      `scheduler flag "${flag}" belongs to the ${owner} scheduler, but ${describeService(s)} uses ${s.scheduler}`,
      flagHint(s.scheduler, flag),
    );
  });

  const since = SCHEDULER_SINCE[s.scheduler];
  if (since && !kernelAtLeast(spec.targetKernel, since[0], since[1])) {
    out.error(
      "scheduler-needs-newer-kernel",
      ["services", i, "scheduler"],
      `scheduler "${s.scheduler}" needs Linux ${since[0]}.${since[1]} or newer, but targetKernel is "${spec.targetKernel}": the kernel answers "Scheduler or persistence engine not found"`,
      `pick another scheduler, or set targetKernel to "${since[0]}.${since[1]}" or newer if the directors run it`,
    );
  }
}

function checkPortAndProtocol(s: ServiceSpec, i: number, out: IssueCollector): void {
  if (s.fwmark === undefined && s.port === 0 && !s.persistence) {
    out.error(
      "zero-port-without-persistence",
      ["services", i, "port"],
      `${describeService(s)} uses port 0 (all ports) without persistence: the kernel rejects it ("Zero port specified for non-persistent service")`,
      "add persistence, or use a fwmark service for several ports",
    );
  }
  if (s.onePacket && s.fwmark === undefined && (s.protocol === "tcp" || s.protocol === "sctp")) {
    out.error(
      "one-packet-on-tcp",
      ["services", i, "onePacket"],
      `one-packet scheduling (-o) works only for UDP and fwmark services, but ${describeService(s)} is ${s.protocol}`,
      "remove onePacket: connection-oriented protocols are scheduled per connection",
    );
  }
}

function checkPersistence(s: ServiceSpec, i: number, out: IssueCollector): void {
  const p = s.persistence;
  if (!p) return;
  const family = serviceFamily(s);
  const path = ["services", i, "persistence"];
  if (p.netmask !== undefined) {
    if (family === "inet6") {
      out.error(
        "netmask-wrong-family",
        [...path, "netmask"],
        `persistence netmask ${p.netmask} is for IPv4 services, but ${describeService(s)} is IPv6`,
        "use 'prefix' (1..128) to group IPv6 clients",
      );
    } else if (addressFamily(p.netmask) === "inet6") {
      out.error(
        "netmask-wrong-family",
        [...path, "netmask"],
        `persistence netmask ${p.netmask} is an IPv6 address, but ${describeService(s)} is IPv4`,
        "use a dotted IPv4 mask such as 255.255.255.0",
      );
    } else if (netmaskToPrefix(p.netmask) === undefined) {
      out.error(
        "invalid-value",
        [...path, "netmask"],
        `persistence netmask ${p.netmask} of ${describeService(s)} is not a contiguous mask (ones, then zeros)`,
        "use a mask such as 255.255.255.0 (/24) or 255.255.0.0 (/16)",
      );
    }
  }
  if (p.prefix !== undefined && family === "inet") {
    out.error(
      "netmask-wrong-family",
      [...path, "prefix"],
      `persistence prefix ${p.prefix} is for IPv6 services, but ${describeService(s)} is IPv4`,
      p.prefix <= 32 ? `use netmask: ${prefixToNetmask(p.prefix)}` : "use 'netmask' with a dotted IPv4 mask",
    );
  }
  if (p.engine === "sip" && s.fwmark === undefined && s.protocol !== undefined && s.protocol !== "udp") {
    // ip_vs_pe_sip parses only UDP and falls back to plain persistence for anything else
    out.warning(
      "persistence-engine-needs-udp",
      [...path, "engine"],
      `persistence engine sip reads SIP Call-IDs from UDP only, but ${describeService(s)} is ${s.protocol}: the kernel silently falls back to plain client-address persistence`,
      "remove 'engine', or use it on a UDP service",
    );
  }
}

function checkDirectorsAndPool(spec: ParsedSpec, s: ServiceSpec, i: number, out: IssueCollector): void {
  const known = spec.directors.map((d) => d.name);
  (s.directors ?? []).forEach((name, j) => {
    if (known.includes(name)) return;
    out.error(
      "unknown-director",
      ["services", i, "directors", j],
      `${describeService(s)} names director "${name}", which is not declared (directors: ${known.join(", ")})`,
      "add the director to 'directors', or fix the name",
    );
  });

  if (s.pool.servers.length === 0) {
    const path = ["services", i, "pool", "servers"];
    if (isKeepalivedOwned(s)) {
      out.error(
        "empty-pool",
        path,
        `${describeService(s)} has health checks but no real servers: keepalived drops a virtual server without real servers, so it would never be created`,
        "add real servers, or remove the service",
      );
    } else {
      out.warning(
        "empty-pool",
        path,
        `${describeService(s)} has no real servers: the VIP accepts packets and drops them ("no destination available")`,
        "add real servers, or remove the service until it has some",
      );
    }
  }
}

/** Service-level rules. */
export function validateServices(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  spec.services.forEach((s, i) => {
    checkIdentityFields(s, i, out);
    checkScheduler(spec, s, i, out);
    checkPortAndProtocol(s, i, out);
    checkPersistence(s, i, out);
    checkDirectorsAndPool(spec, s, i, out);
  });
  checkDuplicates(spec, out);
  return out.issues;
}
