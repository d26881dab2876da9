/**
 * plan: what an edit of a service or a real server changes, field by field, as the plan
 * shows it (`scheduler: wlc -> mh`). Most services and servers of a plan have not changed:
 * a field-for-field comparison answers for them without building their descriptions.
 */
import { prefixToNetmask } from "../model/addresses.js";
import type { IpvsRealServer, IpvsService } from "../model/model.js";
import type { FieldChange } from "./plan-types.js";

/** A service's settings as the plan names them. */
export function describeService(s: IpvsService): Record<string, string> {
  return {
    scheduler: s.scheduler,
    flags: s.flags.join(",") || "-",
    persistence: s.persistence
      ? `${s.persistence.timeout}s${maskText(s)}`
      : "off",
    "persistence-engine": s.persistenceEngine ?? "-",
    "one-packet": s.onePacket ? "on" : "off",
  };
}

function maskText(s: IpvsService): string {
  const p = s.persistence;
  if (!p) return "";
  const full = s.family === "inet" ? 32 : 128;
  if (p.prefixLength === full) return "";
  return s.family === "inet" ? ` mask ${prefixToNetmask(p.prefixLength)}` : ` prefix /${p.prefixLength}`;
}

/** A real server's settings (all but its identity) as the plan names them. */
export function describeRealServer(rs: IpvsRealServer): Record<string, string> {
  return {
    forwarding: rs.forwarding + (rs.tunnel ? `(${rs.tunnel.type}${rs.tunnel.port ? `:${rs.tunnel.port}` : ""}${rs.tunnel.checksum ? `,${rs.tunnel.checksum}` : ""})` : ""),
    weight: String(rs.weight),
    "upper-threshold": String(rs.upperThreshold),
    "lower-threshold": String(rs.lowerThreshold),
  };
}

/**
 * Every field describeService reads is equal, so the two describe the same. It may say
 * false for two that describe the same (the descriptions then decide), never true for two
 * that do not: test/property/describe-changes.test.ts.
 */
export function sameServiceSettings(a: IpvsService, b: IpvsService): boolean {
  return a.scheduler === b.scheduler && a.onePacket === b.onePacket && a.persistenceEngine === b.persistenceEngine &&
    a.family === b.family && a.flags.length === b.flags.length && a.flags.every((f, i) => f === b.flags[i]) &&
    a.persistence?.timeout === b.persistence?.timeout && a.persistence?.prefixLength === b.persistence?.prefixLength;
}

/** Every field describeRealServer reads is equal, so the two describe the same (as sameServiceSettings). */
export function sameRealServerSettings(a: IpvsRealServer, b: IpvsRealServer): boolean {
  return a.forwarding === b.forwarding && a.weight === b.weight && a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold && a.tunnel?.type === b.tunnel?.type && a.tunnel?.port === b.tunnel?.port &&
    a.tunnel?.checksum === b.tunnel?.checksum && (a.tunnel === undefined) === (b.tunnel === undefined);
}

function changesBetween(a: Record<string, string>, b: Record<string, string>): FieldChange[] {
  return Object.keys(b).filter((k) => a[k] !== b[k]).map((k) => ({ field: k, from: a[k] ?? "-", to: b[k]! }));
}

/** The settings that differ from `was` to `now`, in the plan's words; empty when none. */
export function serviceChanges(was: IpvsService, now: IpvsService): FieldChange[] {
  return sameServiceSettings(was, now) ? [] : changesBetween(describeService(was), describeService(now));
}

/** The settings of a real server that differ from `was` to `now`; empty when none. */
export function realServerChanges(was: IpvsRealServer, now: IpvsRealServer): FieldChange[] {
  return sameRealServerSettings(was, now) ? [] : changesBetween(describeRealServer(was), describeRealServer(now));
}
