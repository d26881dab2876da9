/**
 * Rules for `group` services (keepalived's virtual_server_group): the members stand for the
 * service's identity, so the identity rules are checked here, per member:
 * - no address/port/fwmark next to `group`; `protocol` when a member is an address;
 * - one address family; ranges that run forwards over at most 256 addresses;
 * - port 0 only with persistence; every expanded identity unique, also against other
 *   services on a shared director;
 * - real servers: never one of the group's addresses; the group's family unless tunnelled;
 *   NAT servers name their port when the members' ports differ (or a member is a fwmark),
 *   DR/tunnel servers name none (keepalived gives them each entry's port), and then checks
 *   that connect to the server need a connectPort;
 * - ha_suspend not with a fwmark member (keepalived clears it).
 */
import type { Issue } from "../issues.js";
import { addressFamily } from "../model/addresses.js";
import { groupFamily, memberAddresses, MAX_RANGE, serviceKeyOf } from "../model/normalize.js";
import { serviceKeyString } from "../model/service-key.js";
import type { ParsedSpec, ServiceSpec } from "../schema/spec-schema.js";
import { IssueCollector, directorsOf, effectiveForwarding, listText, safeCanonical } from "./validation-context.js";

const PORT_CHECKS = new Set(["tcp", "http", "https", "udp"]);

function checkGroup(s: ServiceSpec, i: number, out: IssueCollector): void {
  const group = s.group!;
  const at = ["services", i, "group"] as const;
  for (const field of ["address", "port", "fwmark"] as const) {
    if (s[field] === undefined) continue;
    out.error("invalid-value", ["services", i, field], `service "${s.name}" has a group: its members are its identity, so it must not set ${field}`, `remove ${field}, or make it a member`);
  }
  const addresses = group.members.filter((m) => "address" in m);
  if (addresses.length > 0 && s.protocol === undefined) {
    out.error("missing-field", ["services", i, "protocol"], `service "${s.name}" has address members but no protocol`, "add protocol: tcp, udp or sctp");
  }
  const family = groupFamily(s);
  if (s.family !== undefined && s.family !== family) {
    out.error("invalid-value", ["services", i, "family"], `service "${s.name}" sets family ${s.family}, but its address members are ${family}`, "remove family: the addresses decide it");
  }
  group.members.forEach((m, k) => {
    if (!("address" in m)) return;
    if (addressFamily(m.address) !== family) {
      out.error("invalid-value", [...at, "members", k, "address"], `member ${m.address} of group service "${s.name}" is not ${family} like the others: a group has one address family`, "put the other family in a service of its own");
    }
    if (m.last !== undefined && memberAddresses(m.address, m.last).length === 0) {
      out.error("out-of-range", [...at, "members", k, "last"], `range ${m.address}-${m.last} of group service "${s.name}" is empty, runs past the address's last ${family === "inet" ? "byte" : "group"} or spans more than ${MAX_RANGE} addresses`, family === "inet" ? "use a last byte above the address's and at most 255" : "use a last group above the address's (a number; rendered in hex)");
    }
    if (m.port === 0 && !s.persistence) {
      out.error("zero-port-without-persistence", [...at, "members", k, "port"], `member ${m.address} port 0 of group service "${s.name}" has no persistence: the kernel rejects it`, "add persistence, or a fwmark member");
    }
  });
  const hasFwmark = group.members.some((m) => "fwmark" in m);
  const ports = new Set(addresses.map((m) => ("port" in m ? m.port : 0)));
  const vips = new Set(addresses.flatMap((m) => ("address" in m ? memberAddresses(m.address, m.last) : [])));
  s.pool.servers.forEach((rs, j) => {
    const path = ["services", i, "pool", "servers", j] as const;
    const fwd = effectiveForwarding(s, rs);
    if (vips.has(safeCanonical(rs.address))) {
      out.error("real-server-is-vip", [...path, "address"], `real server ${rs.address} is one of the addresses of group service "${s.name}": the director would forward to itself`, "list the backends' own addresses as real servers");
    }
    if (addressFamily(rs.address) !== family && fwd.method !== "tunnel") {
      out.error("mixed-family-without-tunnel", [...path, "address"], `real server ${rs.address} is not ${family} like group service "${s.name}": only tunnel forwarding crosses families`, "use servers of the group's family, or tunnel forwarding");
    }
    if (fwd.method === "nat" && rs.port === undefined && (hasFwmark || ports.size > 1)) {
      out.error("missing-field", [...path, "port"], `NAT real server ${rs.address} of group service "${s.name}" has no port, and the members ${hasFwmark ? "include a fwmark" : `use ports ${[...ports].join(", ")}`}: keepalived would use one port for all of them`, "set the port the server listens on");
    }
    if (fwd.method !== "nat" && rs.port !== undefined) {
      out.error("port-remap-without-nat", [...path, "port"], `real server ${rs.address} of group service "${s.name}" uses ${fwd.method} forwarding: it gets each member's own port, so it must not set one`, "remove the port, or use nat forwarding");
    }
    const checks = rs.healthChecks ?? s.pool.healthChecks ?? [];
    if (fwd.method === "nat") return;
    checks.forEach((c, k) => {
      if (!PORT_CHECKS.has(c.type) || ("connectPort" in c && c.connectPort !== undefined)) return;
      const where = rs.healthChecks ? [...path, "healthChecks", k, "connectPort"] : ["services", i, "pool", "healthChecks", k, "connectPort"];
      out.error("check-needs-port", where, `${c.type} check of real server ${rs.address} in group service "${s.name}" has no connectPort: a ${fwd.method} server of a group carries no port of its own, so the check would connect to port 0`, "set connectPort");
    });
  });
  if (s.pool.haSuspend === true && hasFwmark) {
    out.error("keepalived-incompatible", ["services", i, "pool", "haSuspend"], `haSuspend on group service "${s.name}" with a fwmark member: keepalived clears ha_suspend for fwmarks (with a warning)`, "remove haSuspend");
  }
}

/** Every expanded identity once per shared director, groups against groups and plain services. */
function checkIdentities(spec: ParsedSpec, out: IssueCollector): void {
  const seen = new Map<string, { name: string; directors: string[] }>();
  spec.services.forEach((s, i) => {
    const directors = directorsOf(spec, s);
    const entries: Array<{ key: string; path: (string | number)[] }> = [];
    if (s.group) {
      const family = groupFamily(s);
      s.group.members.forEach((m, k) => {
        if ("fwmark" in m) entries.push({ key: serviceKeyString({ kind: "fwmark", fwmark: m.fwmark, family }), path: ["services", i, "group", "members", k] });
        else for (const address of memberAddresses(m.address, m.last)) entries.push({ key: serviceKeyString({ kind: "addr", protocol: s.protocol ?? "tcp", address, port: m.port }), path: ["services", i, "group", "members", k] });
      });
    } else if (s.fwmark !== undefined || (s.protocol !== undefined && s.address !== undefined && s.port !== undefined)) {
      entries.push({ key: serviceKeyString(serviceKeyOf(s)), path: ["services", i] });
    }
    for (const e of entries) {
      const first = seen.get(e.key);
      if (first) {
        const shared = first.directors.filter((d) => directors.includes(d));
        // two plain services are validate-services' finding
        if (shared.length > 0 && (s.group || spec.services.find((x) => x.name === first.name)?.group)) {
          out.error("duplicate-service", e.path, `${e.key} of service "${s.name}" is also an identity of service "${first.name}" on ${listText(shared)}`, "a kernel table holds each identity once: remove the member or the other service");
        }
        continue;
      }
      seen.set(e.key, { name: s.name, directors });
    }
  });
}

export function validateGroups(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  spec.services.forEach((s, i) => {
    if (s.group) checkGroup(s, i, out);
  });
  checkIdentities(spec, out);
  return out.issues;
}
