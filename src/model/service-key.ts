/** Identity of services and real servers: stable string keys and a total order. */
import { compareAddresses, formatAddressPort } from "./addresses.js";
import type { IpvsRealServer, IpvsService, ServiceKey } from "./model.js";

const PROTOCOL_FLAG = { tcp: "-t", udp: "-u", sctp: "--sctp-service" } as const;

/** The service part of an ipvsadm command: `-t 10.0.0.1:80`, `-f 8 -6`, ... */
export function serviceSelector(key: ServiceKey): string {
  if (key.kind === "fwmark") return key.family === "inet6" ? `-f ${key.fwmark} -6` : `-f ${key.fwmark}`;
  return `${PROTOCOL_FLAG[key.protocol]} ${formatAddressPort(key.address, key.port)}`;
}

/** A stable identity string, e.g. `tcp/10.0.0.1:80` or `fwmark/inet6/8`. */
export function serviceKeyString(key: ServiceKey): string {
  if (key.kind === "fwmark") return `fwmark/${key.family}/${key.fwmark}`;
  return `${key.protocol}/${formatAddressPort(key.address, key.port)}`;
}

/** Real-server identity within a service. */
export function realServerKeyString(rs: Pick<IpvsRealServer, "address" | "port">): string {
  return formatAddressPort(rs.address, rs.port);
}

const KIND_ORDER = { addr: 0, fwmark: 1 } as const;
const PROTOCOL_ORDER = { tcp: 0, udp: 1, sctp: 2 } as const;

/** Total order: address services (by address, protocol, port) before fwmark services. */
export function compareServiceKeys(a: ServiceKey, b: ServiceKey): number {
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  if (a.kind === "addr" && b.kind === "addr") {
    return compareAddresses(a.address, b.address) || PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] || a.port - b.port;
  }
  if (a.kind === "fwmark" && b.kind === "fwmark") {
    return (a.family === b.family ? 0 : a.family === "inet" ? -1 : 1) || a.fwmark - b.fwmark;
  }
  return 0;
}

export function compareRealServers(a: Pick<IpvsRealServer, "address" | "port">, b: Pick<IpvsRealServer, "address" | "port">): number {
  return compareAddresses(a.address, b.address) || a.port - b.port;
}

/** Sorts a table in place into canonical order and returns it. */
export function sortServices<T extends Pick<IpvsService, "key" | "realServers">>(services: T[]): T[] {
  services.sort((a, b) => compareServiceKeys(a.key, b.key));
  for (const s of services) s.realServers.sort(compareRealServers);
  return services;
}
