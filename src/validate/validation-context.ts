/**
 * Helpers shared by the rule families: an issue collector that drops exact repeats, and
 * small facts about services (label, identity, effective forwarding, director share).
 */
import { error, formatPath, warning, type Issue, type IssueCode, type IssuePath } from "../issues.js";
import { canonicalAddress, formatAddressPort } from "../model/addresses.js";
import { hasHealthChecks, serviceKeyOf } from "../model/normalize.js";
import type { ServiceKey } from "../model/model.js";
import { serviceKeyString } from "../model/service-key.js";
import type { ForwardingSpec, ParsedSpec, RealServerSpec, ServiceSpec } from "../schema/spec-schema.js";

/** Collects issues in the order found; the same code, path and message is kept once. */
export class IssueCollector {
  private readonly seen = new Set<string>();
  private readonly list: Issue[] = [];

  add(issue: Issue): void {
    const key = `${issue.code}\u0000${formatPath(issue.path)}\u0000${issue.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(issue);
  }

  error(code: IssueCode, path: IssuePath, message: string, hint?: string): void {
    this.add(error(code, path, message, hint));
  }

  warning(code: IssueCode, path: IssuePath, message: string, hint?: string): void {
    this.add(warning(code, path, message, hint));
  }

  get issues(): Issue[] {
    return [...this.list];
  }
}

/** The canonical text of an address, or the text itself when it does not parse. */
export function safeCanonical(address: string): string {
  try {
    return canonicalAddress(address);
  } catch {
    return address;
  }
}

/** True when the service names its identity: a fwmark, or protocol, address and port. */
export function hasIdentity(s: ServiceSpec): boolean {
  if (s.fwmark !== undefined) return true;
  return s.protocol !== undefined && s.address !== undefined && s.port !== undefined;
}

/** The kernel identity of a service, undefined while fields are missing. */
export function identityOf(s: ServiceSpec): ServiceKey | undefined {
  return hasIdentity(s) ? serviceKeyOf(s) : undefined;
}

/** `service "web" (tcp/192.0.2.10:80)`, or just `service "web"` while the identity is incomplete. */
export function describeService(s: ServiceSpec): string {
  const key = identityOf(s);
  return key ? `service "${s.name}" (${serviceKeyString(key)})` : `service "${s.name}"`;
}

/** The port real servers of this service get by default: the service port, 0 for fwmark. */
export function servicePort(s: ServiceSpec): number | undefined {
  return s.fwmark !== undefined ? 0 : s.port;
}

/** `203.0.113.10:8080`, or the bare address when no port is known. */
export function describeRealServer(s: ServiceSpec, rs: RealServerSpec): string {
  const port = rs.port ?? servicePort(s);
  return port === undefined ? rs.address : formatAddressPort(rs.address, port);
}

/** The forwarding a real server really uses: its own override, else the pool's. */
export function effectiveForwarding(s: ServiceSpec, rs: RealServerSpec): ForwardingSpec {
  return rs.forwarding ?? s.pool.forwarding;
}

/** Path of the forwarding block a real server uses (its own or the pool's). */
export function forwardingPath(serviceIndex: number, s: ServiceSpec, serverIndex: number): IssuePath {
  const rs = s.pool.servers[serverIndex];
  return rs?.forwarding
    ? ["services", serviceIndex, "pool", "servers", serverIndex, "forwarding"]
    : ["services", serviceIndex, "pool", "forwarding"];
}

/** keepalived owns pools with at least one health check, the pool's or a server's own (see DESIGN: ownership). */
export function isKeepalivedOwned(s: ServiceSpec): boolean {
  return hasHealthChecks(s);
}

/** The directors that carry a service: its own list, or all of them. */
export function directorsOf(spec: ParsedSpec, s: ServiceSpec): string[] {
  return s.directors ?? spec.directors.map((d) => d.name);
}

/** `"6.10"` -> [6, 10]; undefined when the text is not major.minor. */
export function parseKernelVersion(text: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Numeric comparison of kernel versions: "6.10" is newer than "6.2". */
export function kernelAtLeast(target: string, major: number, minor: number): boolean {
  const v = parseKernelVersion(target);
  if (!v) return true; // the schema reports malformed versions
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** `a, b and c` */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]!}`;
}
