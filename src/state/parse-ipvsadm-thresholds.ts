/**
 * state: the tabular `ipvsadm -L -n ...` listings. `-S` never saves thresholds, so the live
 * table is `-S -n` plus `-L -n --thresholds`:
 *
 *     IP Virtual Server version 1.2.1 (size=4096)
 *     Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
 *       -> RemoteAddress:Port
 *     TCP  10.0.0.1:80 wlc
 *       -> 192.168.1.10:8080            5          0          0          0
 *     FWM  8 IPv6 nq persistent 100 mask 48
 *       -> [2001:db8::1]:0              0          0          0          0
 *
 * The real-server columns are named by the header: the words after `RemoteAddress:Port`,
 * or, when that line has none (`--thresholds`, `--stats`, ...), the words after
 * `LocalAddress:Port`. So one reader serves every listing format.
 */
import { error, type Issue } from "../issues.js";
import { canonicalAddress } from "../model/addresses.js";
import type { IpvsTable, Protocol, ServiceKey } from "../model/model.js";
import { realServerKeyString, serviceKeyString } from "../model/service-key.js";
import { plainIpv4Value } from "../schema/ip-text.js";
import { isIpAddress } from "../schema/spec-formats.js";

/** One real-server row of a listing, its columns by header name (`Weight`, `ActiveConn`, ...). */
export interface ListingRealServer {
  address: string;
  port: number;
  columns: Record<string, string>;
}

/** One service of a listing with its real-server rows. */
export interface ListingService {
  key: ServiceKey;
  realServers: ListingRealServer[];
}

/** upper/lower thresholds by service key string, then real-server key string. */
export type ThresholdMap = Map<string, Map<string, { upper: number; lower: number }>>;

const PROTOCOLS: Record<string, Protocol> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

function parseListedAddress(text: string): { address: string; port: number } | undefined {
  // the common `a.b.c.d:port`: the same answer as the patterns below, without them
  const colon = text.lastIndexOf(":");
  if (colon > 0 && text.charCodeAt(0) !== 91 && plainIpv4Value(text.slice(0, colon)) >= 0 && /^\d+$/.test(text.slice(colon + 1))) {
    const port = Number(text.slice(colon + 1));
    return port > 65535 ? undefined : { address: text.slice(0, colon), port };
  }
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\]]+):(\d+)$/.exec(text);
  if (!m || !isIpAddress(m[1]!)) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { address: canonicalAddress(m[1]!), port };
}

/**
 * Reads any `ipvsadm -L -n` listing (plain, `--thresholds`, `--persistent-conn`,
 * `--tun-info`, `--stats`, `--rate`) into services and real-server rows. Lines it cannot
 * read are issues (path `["line", N]`); it never throws.
 */
export function parseIpvsadmListing(text: string): { services: ListingService[]; issues: Issue[] } {
  const services: ListingService[] = [];
  const issues: Issue[] = [];
  let columns: string[] = [];
  let current: ListingService | undefined;
  const bad = (line: number, message: string) => issues.push(error("invalid-value", ["line", line], `line ${line}: ${message}`));

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    const tokens = trimmed === "" ? [] : trimmed.split(/\s+/);
    const first = tokens[0];
    if (first === undefined) return;
    if (first === "IP" && tokens[1] === "Virtual") return;
    if (first === "Prot") {
      const at = tokens.indexOf("LocalAddress:Port");
      columns = tokens.slice(at + 1);
      return;
    }
    if (first === "->") {
      if (tokens[1] === "RemoteAddress:Port") {
        if (tokens.length > 2) columns = tokens.slice(2);
        return;
      }
      if (!current) {
        bad(line, "real server before any service");
        return;
      }
      const addr = tokens[1] === undefined ? undefined : parseListedAddress(tokens[1]);
      if (!addr) {
        bad(line, `'${tokens[1] ?? ""}' is not an address:port (list with -n)`);
        return;
      }
      // a plain loop: this runs for every real server of a listing
      const row: Record<string, string> = {};
      for (let i = 0; i < columns.length; i++) {
        const v = tokens[i + 2];
        if (v !== undefined) row[columns[i]!] = v;
      }
      current.realServers.push({ address: addr.address, port: addr.port, columns: row });
      return;
    }
    if (first === "FWM") {
      const mark = tokens[1];
      if (mark === undefined || !/^\d+$/.test(mark) || Number(mark) < 1 || Number(mark) > 4294967295) {
        bad(line, `'${mark ?? ""}' is not a fwmark`);
        current = undefined;
        return;
      }
      current = { key: { kind: "fwmark", fwmark: Number(mark), family: tokens[2] === "IPv6" ? "inet6" : "inet" }, realServers: [] };
      services.push(current);
      return;
    }
    const protocol = PROTOCOLS[first];
    if (protocol !== undefined) {
      const addr = tokens[1] === undefined ? undefined : parseListedAddress(tokens[1]);
      if (!addr) {
        bad(line, `'${tokens[1] ?? ""}' is not an address:port (list with -n)`);
        current = undefined;
        return;
      }
      current = { key: { kind: "addr", protocol, address: addr.address, port: addr.port }, realServers: [] };
      services.push(current);
      return;
    }
    bad(line, `'${first}' starts no service or real-server line`);
  });
  return { services, issues };
}

function columnNumber(row: ListingRealServer, name: string): number | undefined {
  const v = row.columns[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Reads one pair of numeric columns from every real-server row into a nested map. */
export function collectColumns<T>(
  listing: { services: ListingService[]; issues: Issue[] },
  names: readonly [string, string],
  make: (a: number, b: number) => T,
): { map: Map<string, Map<string, T>>; issues: Issue[] } {
  const map = new Map<string, Map<string, T>>();
  const issues = [...listing.issues];
  for (const svc of listing.services) {
    const id = serviceKeyString(svc.key);
    const inner = map.get(id) ?? new Map<string, T>();
    map.set(id, inner);
    for (const rs of svc.realServers) {
      const a = columnNumber(rs, names[0]);
      const b = columnNumber(rs, names[1]);
      if (a === undefined || b === undefined) {
        issues.push(error("invalid-value", ["service", id], `${id} real server ${realServerKeyString(rs)}: no numeric ${names.join("/")} columns`));
        continue;
      }
      inner.set(realServerKeyString(rs), make(a, b));
    }
  }
  return { map, issues };
}

/**
 * parseIpvsadmListing + collectColumns in one pass, for a listing without a single unreadable
 * line or value: no row objects in between (a listing has a row per real server, hundreds
 * of thousands on a big director). `make` gets the values of any number of columns in the
 * order of `names` (a reused array: copy what it keeps). Undefined at the first
 * irregularity, or when a column is missing, where the two-step reading takes over and
 * words the issues.
 */
export function readCleanListingColumns<T>(
  text: string,
  names: readonly string[],
  make: (values: readonly number[]) => T,
): Map<string, Map<string, T>> | undefined {
  const map = new Map<string, Map<string, T>>();
  let columns: string[] = [];
  // where each wanted column sits in a row's values (the last of equal names, as a row object keeps it)
  let at: number[] = names.map(() => -1);
  const locate = () => {
    at = names.map((n) => columns.lastIndexOf(n));
  };
  const values: number[] = names.map(() => 0);
  let inner: Map<string, T> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === "") continue;
    const tokens = trimmed.split(/\s+/);
    const first = tokens[0]!;
    if (first === "IP" && tokens[1] === "Virtual") continue;
    if (first === "Prot") {
      columns = tokens.slice(tokens.indexOf("LocalAddress:Port") + 1);
      locate();
      continue;
    }
    if (first === "->") {
      if (tokens[1] === "RemoteAddress:Port") {
        if (tokens.length > 2) {
          columns = tokens.slice(2);
          locate();
        }
        continue;
      }
      const addr = inner && tokens[1] !== undefined ? parseListedAddress(tokens[1]) : undefined;
      if (!inner || !addr) return undefined;
      for (let i = 0; i < at.length; i++) {
        const v = at[i]! < 0 ? undefined : tokens[at[i]! + 2];
        if (v === undefined || !/^\d+$/.test(v)) return undefined;
        values[i] = Number(v);
      }
      inner.set(realServerKeyString(addr), make(values));
      continue;
    }
    let key: ServiceKey;
    if (first === "FWM") {
      const mark = tokens[1];
      if (mark === undefined || !/^\d+$/.test(mark) || Number(mark) < 1 || Number(mark) > 4294967295) return undefined;
      key = { kind: "fwmark", fwmark: Number(mark), family: tokens[2] === "IPv6" ? "inet6" : "inet" };
    } else {
      const protocol = PROTOCOLS[first];
      const addr = protocol !== undefined && tokens[1] !== undefined ? parseListedAddress(tokens[1]) : undefined;
      if (!protocol || !addr) return undefined;
      key = { kind: "addr", protocol, address: addr.address, port: addr.port };
    }
    const id = serviceKeyString(key);
    inner = map.get(id) ?? new Map<string, T>();
    map.set(id, inner);
  }
  return map;
}

/** Reads one pair of numeric columns of a listing into a nested map (see collectColumns). */
export function readListingColumns<T>(
  text: string,
  names: readonly [string, string],
  make: (a: number, b: number) => T,
): { map: Map<string, Map<string, T>>; issues: Issue[] } {
  const clean = readCleanListingColumns(text, names, (v) => make(v[0]!, v[1]!));
  if (clean) return { map: clean, issues: [] };
  return collectColumns(parseIpvsadmListing(text), names, make);
}

/**
 * Parses `ipvsadm -L -n --thresholds` into thresholds by service and real server, e.g.
 * `thresholds.get("tcp/10.0.0.1:80")?.get("192.168.1.10:8080") -> { upper: 5, lower: 0 }`.
 */
export function parseIpvsadmThresholds(text: string): { thresholds: ThresholdMap; issues: Issue[] } {
  const { map, issues } = readListingColumns(text, ["Uthreshold", "Lthreshold"], (upper, lower) => ({ upper, lower }));
  return { thresholds: map, issues };
}

/**
 * applyThresholds without the copy: sets the thresholds on `table`'s own real servers and
 * returns it. For a table the caller just parsed and owns (parseLiveState).
 */
export function setThresholds(table: IpvsTable, thresholds: ThresholdMap): IpvsTable {
  for (const svc of table.services) {
    const inner = thresholds.get(serviceKeyString(svc.key));
    if (!inner) continue;
    for (const rs of svc.realServers) {
      const t = inner.get(realServerKeyString(rs));
      if (!t) continue;
      rs.upperThreshold = t.upper;
      rs.lowerThreshold = t.lower;
    }
  }
  return table;
}

/** A copy of the table with the thresholds the map names; real servers it does not name keep theirs. */
export function applyThresholds(table: IpvsTable, thresholds: ThresholdMap): IpvsTable {
  return {
    services: table.services.map((svc) => {
      const inner = thresholds.get(serviceKeyString(svc.key));
      return {
        ...svc,
        realServers: svc.realServers.map((rs) => {
          const t = inner?.get(realServerKeyString(rs));
          return t ? { ...rs, upperThreshold: t.upper, lowerThreshold: t.lower } : { ...rs };
        }),
      };
    }),
  };
}

