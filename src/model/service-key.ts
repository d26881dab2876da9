/** Identity of services and real servers: stable string keys and a total order. */
import { addressSortKey, compareAddresses, formatAddressPort } from "./addresses.js";
import type { IpvsRealServer, IpvsService, ServiceKey } from "./model.js";
import { plainIpv4Value, plainIpv6Groups } from "../schema/ip-text.js";

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

/** A string whose plain comparison orders like compareServiceKeys (equal keys for equal identities). */
export function serviceSortKey(key: ServiceKey): string {
  if (key.kind === "fwmark") return `1${key.family === "inet" ? 0 : 1}${String(key.fwmark).padStart(10, "0")}`;
  return `0${addressSortKey(key.address)}${PROTOCOL_ORDER[key.protocol]}${String(key.port).padStart(5, "0")}`;
}

/** A string whose plain comparison orders like compareRealServers. */
export function realServerSortKey(rs: Pick<IpvsRealServer, "address" | "port">): string {
  return `${addressSortKey(rs.address)}${String(rs.port).padStart(5, "0")}`;
}

/**
 * Sorts `items` in place by precomputed string keys: the same order as a stable sort with
 * the matching comparator (ties keep their order), with each key computed once.
 */
export function sortByKey<T>(items: T[], keyOf: (item: T) => string): T[] {
  if (items.length < 2) return items;
  const keyed = items.map((item, i) => ({ item, key: keyOf(item), i }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.item;
  return items;
}

/** True when no neighbours are out of order: a stable sort would leave `items` as they are. */
export function isSorted<T>(items: readonly T[], compare: (a: T, b: T) => number): boolean {
  for (let i = 1; i < items.length; i++) if (compare(items[i - 1]!, items[i]!) > 0) return false;
  return true;
}

type RealServerAddress = Pick<IpvsRealServer, "address" | "port">;

const byServiceKey = (a: Pick<IpvsService, "key">, b: Pick<IpvsService, "key">) => compareServiceKeys(a.key, b.key);

/** Sorts real servers in place like a stable sort with compareRealServers; sorted lists are left as they are. */
export function sortRealServers<T extends RealServerAddress>(servers: T[]): T[] {
  return realServersSorted(servers) ? servers : sortByKey(servers, realServerSortKey);
}

/**
 * isSorted(servers, compareRealServers), reading each IPv4 address once instead of twice
 * (this runs over every real server of a table): two IPv4 addresses order by their value.
 */
export function realServersSorted(servers: readonly RealServerAddress[]): boolean {
  let prev = servers[0];
  if (prev === undefined) return true;
  let pv = plainIpv4Value(prev.address);
  // plain IPv6 text is read once too: as 16-bit groups, which order like its bytes
  let pg = pv < 0 ? plainIpv6Groups(prev.address) : undefined;
  for (let i = 1; i < servers.length; i++) {
    const cur = servers[i]!;
    const cv = plainIpv4Value(cur.address);
    const cg = cv < 0 ? plainIpv6Groups(cur.address) : undefined;
    if (pv >= 0 && cv >= 0) {
      if (pv > cv || (pv === cv && prev.port > cur.port)) return false;
    } else if (pg && cg) {
      const d = compareIpv6Groups(pg, cg);
      if (d > 0 || (d === 0 && prev.port > cur.port)) return false;
    } else if (compareRealServers(prev, cur) > 0) {
      return false;
    }
    prev = cur;
    pv = cv;
    pg = cg;
  }
  return true;
}

/** Two equal neighbours (address and port) in a server list: in a sorted one, a server listed twice. */
export function hasDuplicateNeighbours(servers: readonly RealServerAddress[]): boolean {
  for (let i = 1; i < servers.length; i++) {
    if (servers[i]!.port === servers[i - 1]!.port && servers[i]!.address === servers[i - 1]!.address) return true;
  }
  return false;
}

/** The numeric order of two IPv6 addresses given as eight 16-bit groups. */
function compareIpv6Groups(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Sorts services in place by key (not their real servers) and returns them. */
export function sortServiceList<T extends Pick<IpvsService, "key">>(services: T[]): T[] {
  return isSorted(services, byServiceKey) ? services : sortByKey(services, (s) => serviceSortKey(s.key));
}

/** Sorts a table in place into canonical order and returns it. */
export function sortServices<T extends Pick<IpvsService, "key" | "realServers">>(services: T[]): T[] {
  sortServiceList(services);
  for (const s of services) sortRealServers(s.realServers);
  return services;
}
