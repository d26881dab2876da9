/**
 * Real-server rules: duplicates, port remapping, address families, tunnel options,
 * thresholds, a real server equal to the VIP, mh draining, and the sorry server.
 */
import type { Issue, IssuePath } from "../issues.js";
import { addressFamily, formatAddressPort } from "../model/addresses.js";
import { flagBit, realServerPort, serviceFamily } from "../model/normalize.js";
import { plainIpv4Value } from "../schema/ip-text.js";
import type { ForwardingSpec, ParsedSpec, ServiceSpec } from "../schema/spec-schema.js";
import {
  IssueCollector, describeRealServer, describeService, effectiveForwarding, hasIdentity, safeCanonical, servicePort,
} from "./validation-context.js";

const FAMILY_TEXT = { inet: "IPv4", inet6: "IPv6" } as const;

/** Real-server ports as the kernel stores them (DR/TUN forced to the service port). */
function effectivePorts(s: ServiceSpec): number[] {
  if (hasIdentity(s)) return s.pool.servers.map((rs) => realServerPort(s, rs));
  return s.pool.servers.map((rs) => rs.port ?? s.port ?? 0);
}

function checkTunnelOptions(fwd: ForwardingSpec, path: IssuePath, where: string, out: IssueCollector): void {
  if (fwd.method !== "tunnel") {
    for (const field of ["tunnelType", "tunnelPort", "tunnelChecksum"] as const) {
      if (fwd[field] === undefined) continue;
      out.error(
        "tunnel-option-mismatch",
        [...path, field],
        `${field} ${String(fwd[field])} of ${where} is a tunnel option, but the forwarding method is ${fwd.method}`,
        "remove it, or set method: tunnel",
      );
    }
    return;
  }
  const type = fwd.tunnelType ?? "ipip";
  if (type === "gue" && fwd.tunnelPort === undefined) {
    out.error(
      "tunnel-option-mismatch",
      [...path, "tunnelPort"],
      `gue tunnel of ${where} has no tunnelPort: the kernel needs the real servers' GUE UDP port (--tun-port)`,
      "add tunnelPort, e.g. 6080, matching the FOU/GUE receive port on the real servers",
    );
  }
  if (type !== "gue" && fwd.tunnelPort !== undefined) {
    out.error(
      "tunnel-option-mismatch",
      [...path, "tunnelPort"],
      `tunnelPort ${fwd.tunnelPort} of ${where} applies only to gue tunnels, but the tunnel type is ${type}`,
      "remove tunnelPort, or set tunnelType: gue",
    );
  }
  if (type === "ipip" && fwd.tunnelChecksum !== undefined) {
    out.error(
      "tunnel-option-mismatch",
      [...path, "tunnelChecksum"],
      `tunnelChecksum ${fwd.tunnelChecksum} of ${where} is not available for ipip tunnels (only gue and gre carry checksums)`,
      "remove tunnelChecksum, or use tunnelType gue or gre",
    );
  }
  if (type === "gre" && fwd.tunnelChecksum === "remcsum") {
    out.error(
      "tunnel-option-mismatch",
      [...path, "tunnelChecksum"],
      `tunnelChecksum remcsum of ${where} is for gue tunnels only; gre takes nocsum or csum`,
      "use csum or nocsum, or tunnelType gue",
    );
  }
}

/** Issue paths and labels are built only for findings: checkServer runs for every real server. */
function serverPath(i: number, j: number, field: string): IssuePath {
  return ["services", i, "pool", "servers", j, field];
}

function checkServer(s: ServiceSpec, i: number, j: number, vip: string | undefined, canonical: string, out: IssueCollector): void {
  const rs = s.pool.servers[j]!;
  const fwd = effectiveForwarding(s, rs);
  const svcPort = servicePort(s);

  if (rs.forwarding) checkTunnelOptions(rs.forwarding, serverPath(i, j, "forwarding"), `real server ${describeRealServer(s, rs)}`, out);

  if (rs.port !== undefined && svcPort !== undefined && fwd.method !== "nat" && rs.port !== svcPort) {
    const portText = s.fwmark !== undefined ? "fwmark services use port 0" : `service port ${svcPort}`;
    out.error(
      "port-remap-without-nat",
      serverPath(i, j, "port"),
      `real server ${describeRealServer(s, rs)} uses ${fwd.method} forwarding, which cannot remap ports: only nat does (${portText})`,
      s.fwmark !== undefined
        ? "remove the port, or use nat forwarding"
        : `set the port to ${svcPort} or remove it, or use nat forwarding`,
    );
  }

  const family = serviceFamily(s);
  const rsFamily = addressFamily(rs.address);
  if (rsFamily !== family && fwd.method !== "tunnel" && (s.fwmark !== undefined || s.address !== undefined)) {
    out.error(
      "mixed-family-without-tunnel",
      serverPath(i, j, "address"),
      `real server ${rs.address} is ${FAMILY_TEXT[rsFamily]} but ${describeService(s)} is ${FAMILY_TEXT[family]}: only tunnel forwarding crosses address families (this server uses ${fwd.method})`,
      `use ${FAMILY_TEXT[family]} real servers, or forwarding method tunnel`,
    );
  }

  if (s.fwmark === undefined && s.address !== undefined && canonical === vip) {
    out.error(
      "real-server-is-vip",
      serverPath(i, j, "address"),
      `real server ${rs.address} is the virtual address of ${describeService(s)} itself: the director would forward to itself`,
      "list the backends' own addresses as real servers",
    );
  }

  if (
    rs.lowerThreshold !== undefined && rs.upperThreshold !== undefined && rs.upperThreshold > 0 &&
    rs.lowerThreshold > rs.upperThreshold
  ) {
    out.error(
      "threshold-order",
      serverPath(i, j, "lowerThreshold"),
      `lowerThreshold ${rs.lowerThreshold} of real server ${describeRealServer(s, rs)} is above its upperThreshold ${rs.upperThreshold}: the kernel rejects it (ERANGE)`,
      "make lowerThreshold at most upperThreshold (traffic resumes below the lower one)",
    );
  }

  if (s.scheduler === "mh" && rs.weight === 0 && !s.schedulerFlags.some((f) => flagBit(f) === 0)) {
    out.warning(
      "mh-drain-without-fallback",
      serverPath(i, j, "weight"),
      `real server ${describeRealServer(s, rs)} has weight 0 in mh ${describeService(s)} without mh-fallback: clients that hash to it get "no destination available" instead of another server (kubernetes #139497)`,
      "add mh-fallback to schedulerFlags",
    );
  }
}

/** Plain IPv4 servers in strictly ascending order (address, then port): none can appear twice. */
function strictlyAscendingIpv4(canonical: readonly string[], ports: readonly number[]): boolean {
  let previous = -1;
  for (let j = 0; j < canonical.length; j++) {
    const v4 = plainIpv4Value(canonical[j]!);
    const port = ports[j] ?? 0;
    if (v4 < 0 || (port & 0xffff) !== port) return false;
    // address and port as one number below 2^48: exact in a double
    const key = v4 * 65536 + port;
    if (key <= previous) return false;
    previous = key;
  }
  return true;
}

function checkDuplicates(s: ServiceSpec, i: number, canonical: readonly string[], out: IssueCollector): void {
  const ports = effectivePorts(s);
  // the usual pool, listed in order, needs no map
  if (strictlyAscendingIpv4(canonical, ports)) return;
  // plain IPv4 servers keyed by a number (address and port), the rest by their text: no key string per server
  const seen = new Map<number | string, number>();
  s.pool.servers.forEach((rs, j) => {
    const address = canonical[j]!;
    const port = ports[j] ?? 0;
    const v4 = (port & 0xffff) === port ? plainIpv4Value(address) : -1;
    const key = v4 >= 0 ? v4 * 65536 + port : formatAddressPort(address, port);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, j);
      return;
    }
    const text = formatAddressPort(address, port);
    const forced = rs.port !== undefined && rs.port !== ports[j] ? ` (its port ${rs.port} is forced to ${port} by ${effectiveForwarding(s, rs).method} forwarding)` : "";
    out.error(
      "duplicate-real-server",
      ["services", i, "pool", "servers", j],
      `real server ${text} appears twice in ${describeService(s)}: servers[${first}] and servers[${j}]${forced}`,
      "remove one: the kernel rejects the second add and keepalived drops it",
    );
  });
}

function checkSorryServer(s: ServiceSpec, i: number, out: IssueCollector): void {
  const sorry = s.pool.sorryServer;
  if (!sorry || (s.fwmark === undefined && s.address === undefined)) return;
  const method = sorry.forwarding ?? s.pool.forwarding.method;
  const family = serviceFamily(s);
  const sorryFamily = addressFamily(sorry.address);
  if (sorryFamily !== family && method !== "tunnel") {
    out.error(
      "sorry-server-family",
      ["services", i, "pool", "sorryServer", "address"],
      `sorry server ${sorry.address} is ${FAMILY_TEXT[sorryFamily]} but ${describeService(s)} is ${FAMILY_TEXT[family]}: only tunnel forwarding crosses address families (the sorry server uses ${method})`,
      `use an ${FAMILY_TEXT[family]} sorry server`,
    );
  }
}

/** Real-server and sorry-server rules. */
export function validateRealServers(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  spec.services.forEach((s, i) => {
    checkTunnelOptions(s.pool.forwarding, ["services", i, "pool", "forwarding"], `the pool of ${describeService(s)}`, out);
    const vip = s.fwmark === undefined && s.address !== undefined ? safeCanonical(s.address) : undefined;
    // each address in canonical form once, for the VIP check and the duplicate check
    const canonical = s.pool.servers.map((rs) => safeCanonical(rs.address));
    s.pool.servers.forEach((_, j) => checkServer(s, i, j, vip, canonical[j]!, out));
    checkDuplicates(s, i, canonical, out);
    checkSorryServer(s, i, out);
  });
  return out.issues;
}
