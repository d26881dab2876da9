/**
 * state: the one-pass reader of a director's table as the read-state script dumps it,
 * `ipvsadm -S -n` and `ipvsadm -L -n --thresholds`. Both listings come from the same
 * kernel walk, so they name the same services in the same order, each with the same real
 * servers in the same order: the reader walks them in lockstep and puts the thresholds
 * straight onto the servers it just read, without a key string or a map entry per real
 * server (a big director has hundreds of thousands).
 *
 * It only answers for a clean dump. At the first thing it does not expect (a line the
 * general reader would reject or word an issue about, a duplicate, the two listings out of
 * step because the table changed between them, an unknown column layout) it returns
 * undefined, and parseLiveState reads the dump the general way, which words the issues.
 * test/property/read-clean-live-table.test.ts checks that both ways give the same answer.
 *
 * Given the table the caller expects (the desired one, when planning), it also compares as
 * it reads: a service whose servers the dump lists exactly as expected gets the expected
 * servers array itself (with compile's rules text, after one string comparison of the
 * whole service), and a service with a few differences an array of its own that holds the
 * expected server objects it matched. A big table that barely changed costs no object per
 * unchanged server here, and the planner sees at a glance (`===`) what is unchanged. The
 * answer equals the one without an expectation; the expected table is never written to.
 *
 * It reads an ASCII copy of each section as bytes (ipvsadm prints nothing else; reading a
 * sliced string by character is about twice as slow); anything beyond ASCII goes the
 * general way.
 */
import { Buffer } from "node:buffer";
import type { IpvsRealServer, IpvsService, IpvsTable, SchedulerName, ServiceKey } from "../model/model.js";
import { hasDuplicateNeighbours, realServersSorted, serviceKeyString, serviceSelector, sortRealServers, sortServiceList } from "../model/service-key.js";
import { formatIpv6Groups, plainIpv4Value, plainIpv6Groups } from "../schema/ip-text.js";
import { SCHEDULERS } from "../schema/spec-schema.js";
import { RuleBlocks } from "../render/rule-blocks.js";
import type { ConnectionCounts, ConnectionMap } from "./parse-ipvsadm-extras.js";
import { INT_MAX, MAX_PERSISTENCE_TIMEOUT, parseIpvsadmLine } from "./parse-ipvsadm-save.js";

const LISTING_PROTOCOLS: Record<string, string> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };
const THRESHOLD_COLUMNS = ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"] as const;

/** The table of a clean dump, sorted, with a lookup of the connection counts. */
export interface CleanLiveTable {
  table: IpvsTable;
  connections: ConnectionMap;
}

/** What a caller expects to read (see readCleanLiveTable). */
export interface ExpectedTable {
  table: IpvsTable;
  /**
   * renderIpvsadmRules(table), as compile gives it with the table: a service whose lines
   * in the dump are the very lines of its block here is compared in one go.
   */
  rules?: string;
}

/**
 * Reads a clean `-S -n` + `--thresholds` pair; undefined when it is not one (see the file
 * comment). Services whose servers the dump lists as `expected` has them share
 * `expected`'s arrays or server objects, which must then stay unchanged (the model is
 * read-only data).
 */
export function readCleanLiveTable(save: string, listing: string, expected?: ExpectedTable): CleanLiveTable | undefined {
  const saveBytes = asciiBytes(save), listingBytes = asciiBytes(listing);
  if (!saveBytes || !listingBytes) return undefined;
  const read = readCleanSave(save, saveBytes, expected ? expectedServers(expected.table) : undefined, expected?.rules === undefined ? undefined : RuleBlocks.of(expected.rules));
  if (!read) return undefined;
  const { services, ids, shared, partly } = read;
  const connections = readThresholdsInStep(listing, listingBytes, services, ids, shared, partly);
  if (!connections) return undefined;
  sortServiceList(services);
  for (const s of services) {
    // a shared array is sorted already (expectedServers checked it) and is not ours to sort
    if (!shared.has(s.realServers)) sortRealServers(s.realServers);
    if (hasDuplicateNeighbours(s.realServers)) return undefined;
  }
  return { table: { services }, connections };
}

/**
 * The services of `text`, rule blocks cut from `expected.rules` (renderIpvsadmRules' lines,
 * thresholds included), read as readCleanLiveTable reads a dump whose listing gives those
 * thresholds: the digest read's unchanged services (src/state/digest-read.ts). Undefined
 * where the text is not one the one-pass reader takes (the general reader then reads it).
 */
export function readRuleBlocks(text: string, expected: ExpectedTable): IpvsService[] | undefined {
  const bytes = asciiBytes(text);
  if (!bytes) return undefined;
  const read = readCleanSave(text, bytes, expectedServers(expected.table), expected.rules === undefined ? undefined : RuleBlocks.of(expected.rules));
  if (!read) return undefined;
  for (const s of read.services) {
    if (!read.shared.has(s.realServers)) sortRealServers(s.realServers);
    if (hasDuplicateNeighbours(s.realServers)) return undefined;
  }
  return read.services;
}

/**
 * The expected servers of each service (by key string) that a dump can give back as they
 * are (readableAsIs), or undefined: those services are read the plain way.
 */
function expectedServers(expected: IpvsTable): (id: string, family: IpvsService["family"]) => IpvsRealServer[] | undefined {
  const byKey = new Map<string, IpvsService>();
  for (const s of expected.services) byKey.set(serviceKeyString(s.key), s);
  return (id, family) => {
    const s = byKey.get(id);
    if (!s || s.family !== family || s.realServers.length === 0) return undefined;
    return readableAsIs(s) ? s.realServers : undefined;
  };
}

/**
 * The reader gives these servers back field for field from their own `-S` lines (or from
 * renderIpvsadmRules' lines): sorted as a read table is, every address in the form the
 * reader keeps (a plain dotted quad, or IPv6 as formatIpv6Groups prints it) and of the
 * service's family, numbers in range, DR and tunnel servers of an address service on its
 * port (the kernel forces it), tunnels plain ipip, thresholds the reader accepts.
 */
function readableAsIs(svc: IpvsService): boolean {
  const servers = svc.realServers;
  const forcedPort = svc.key.kind === "addr" ? svc.key.port : -1;
  const v4 = svc.family === "inet";
  for (const rs of servers) {
    const port = rs.port, weight = rs.weight, upper = rs.upperThreshold, lower = rs.lowerThreshold;
    // integers in range: x >>> 0 === x holds for the integers 0..2^32-1 only
    if ((port & 0xffff) !== port || weight >>> 0 !== weight || weight > INT_MAX) return false;
    if (lower >>> 0 !== lower || upper >>> 0 !== upper || lower > upper || upper > INT_MAX) return false;
    const forwarding = rs.forwarding;
    if (forwarding === "tunnel") {
      const t = rs.tunnel;
      if (!t || t.type !== "ipip" || t.port !== undefined || t.checksum !== undefined) return false;
    } else if (rs.tunnel !== undefined || (forwarding !== "nat" && forwarding !== "dr")) {
      return false;
    }
    if (forwarding !== "nat" && forcedPort >= 0 && port !== forcedPort) return false;
    if (v4 ? plainIpv4Value(rs.address) < 0 : !isPlainIpv6Text(rs.address)) return false;
  }
  return realServersSorted(servers);
}

/** IPv6 text exactly as formatIpv6Groups prints it: the form the reader keeps. */
function isPlainIpv6Text(address: string): boolean {
  const groups = plainIpv6Groups(address);
  return groups !== undefined && formatIpv6Groups(groups) === address;
}

/** The text as bytes at the same positions when it is all ASCII, as ipvsadm prints it; else undefined. */
function asciiBytes(text: string): Uint8Array | undefined {
  // reading bytes costs about half of reading characters of a sliced string (the dump's sections)
  return Buffer.byteLength(text, "utf8") === text.length ? Buffer.from(text, "latin1") : undefined;
}

/** The bytes from `at` on are `ascii`'s (one function per argument type keeps each call site monomorphic). */
function bytesAt(b: Uint8Array, at: number, ascii: Uint8Array): boolean {
  const n = ascii.length;
  for (let k = 0; k < n; k++) if (b[at + k] !== ascii[k]) return false;
  return true;
}

/** The bytes from `at` on spell the ASCII string `ascii`. */
function spellsAt(b: Uint8Array, at: number, ascii: string): boolean {
  const n = ascii.length;
  for (let k = 0; k < n; k++) if (b[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** Decimal digits from `at` to `end` (at most 10) as a number, or -1. */
function digitsAt(b: Uint8Array, at: number, end: number): number {
  if (end <= at || end - at > 10) return -1;
  let value = 0;
  for (let i = at; i < end; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
  }
  return value;
}

/** End of the run of digits that starts at `at`. */
function digitsEnd(b: Uint8Array, at: number, end: number): number {
  let i = at;
  while (i < end) {
    const c = b[i]!;
    if (c < 48 || c > 57) break;
    i++;
  }
  return i;
}

/** ` -m -w `, ` -g -w ` or ` -i -w ` at `i`: the forwarding it names, or undefined. */
function forwardingAt(b: Uint8Array, i: number): IpvsRealServer["forwarding"] | undefined {
  if (b[i] !== 32 || b[i + 1] !== 45 || b[i + 3] !== 32 || b[i + 4] !== 45 || b[i + 5] !== 119 || b[i + 6] !== 32) return undefined;
  const f = b[i + 2];
  return f === 109 ? "nat" : f === 103 ? "dr" : f === 105 ? "tunnel" : undefined;
}

/** What readCleanSave read: services in dump order, their key strings, and which servers arrays share what. */
interface SaveRead {
  services: IpvsService[];
  ids: string[];
  /** arrays that are expected arrays themselves */
  shared: Set<IpvsRealServer[]>;
  /** arrays of the reader's own that hold expected servers */
  partly: Set<IpvsRealServer[]>;
}

/**
 * `-S -n` in dump order (services and their servers unsorted), or undefined. Real-server
 * lines of the plain `A:P -m|-g -w W` form are read here; every other line goes through
 * the general reader, and must be a service or a real server of the service before it.
 *
 * With `expectedOf`, a service whose lines are its block in `blocks` (compile's rules)
 * takes the expected servers at once. Otherwise its server lines are compared with the
 * expected servers in order: a line that reads as the next expected server (or the one
 * after, when the dump lacks one) gives that very server, any other plain line is read. A
 * service whose lines all matched takes the expected array; one with differences gets an
 * array of its own holding the expected servers it matched. At a line neither way knows
 * the reader goes back to the service's first server line and reads them the plain way.
 */
function readCleanSave(
  text: string,
  b: Uint8Array,
  expectedOf?: (id: string, family: IpvsService["family"]) => IpvsRealServer[] | undefined,
  blocks?: RuleBlocks,
): SaveRead | undefined {
  const services: IpvsService[] = [];
  const ids: string[] = [];
  const shared = new Set<IpvsRealServer[]>();
  const partly = new Set<IpvsRealServer[]>();
  const seen = new Set<string>();
  let current: IpvsService | undefined;
  let prefix: Uint8Array = Buffer.alloc(0);
  // while comparing: the expected servers, how many of them the lines matched, the service's
  // own list once a line differs (expected servers and read ones), where the first line starts
  let expectedRs: IpvsRealServer[] | undefined;
  let matched = 0;
  let partial: IpvsRealServer[] | undefined;
  let serversAt = 0;
  const n = text.length;
  for (let pos = 0; ;) {
    if (expectedRs) {
      let end = pos < n ? text.indexOf("\n", pos) : n;
      if (end < 0) end = n;
      if (pos < n && bytesAt(b, pos, prefix)) {
        const at = pos + prefix.length;
        const rs = expectedRs[matched];
        if (rs && serverLineIs(b, at, end, current!, rs)) {
          partial?.push(rs);
          matched++;
          pos = end + 1;
          continue;
        }
        // a server the dump does not have, then the next expected one
        const next = expectedRs[matched + 1];
        if (next && serverLineIs(b, at, end, current!, next)) {
          (partial ??= expectedRs.slice(0, matched)).push(next);
          matched += 2;
          pos = end + 1;
          continue;
        }
        // a server of its own: another weight, or one the spec does not have
        const read = readPlainServer(text, b, at, end, current!);
        if (read) {
          (partial ??= expectedRs.slice(0, matched)).push(read);
          if (rs && read.address === rs.address && read.port === rs.port) matched++;
          pos = end + 1;
          continue;
        }
      } else if (pos >= n || text.startsWith("-A ", pos)) {
        // the service's lines end here: exactly the expected servers, or some of them
        if (!partial && matched === expectedRs.length) {
          current!.realServers = expectedRs;
          shared.add(expectedRs);
        } else {
          const own = partial ?? expectedRs.slice(0, matched);
          current!.realServers = own;
          partly.add(own);
        }
        expectedRs = partial = undefined;
        if (pos >= n) break;
        continue;
      }
      // anything else: read this service's lines the plain way
      expectedRs = partial = undefined;
      pos = serversAt;
      continue;
    }
    if (pos >= n) break;
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    const rs = current && bytesAt(b, pos, prefix) ? readPlainServer(text, b, pos + prefix.length, end, current) : undefined;
    if (rs) {
      current!.realServers.push(rs);
    } else if (end > pos) {
      const plain = readPlainService(text, b, pos, end);
      const cmd = plain ? { op: "add-service" as const, service: plain } : parseIpvsadmLine(text.slice(pos, end));
      if (cmd?.op === "add-service") {
        const id = serviceKeyString(cmd.service.key);
        if (seen.has(id)) return undefined;
        seen.add(id);
        current = cmd.service; // a fresh object with no servers yet, from either reader
        services.push(current);
        ids.push(id);
        prefix = Buffer.from(`-a ${serviceSelector(current.key)} -r `, "latin1");
        expectedRs = expectedOf?.(id, current.family);
        matched = 0;
        serversAt = end + 1;
        const blockEnd = expectedRs && blocks ? blocks.endOfSameBlock(text, pos, end) : -1;
        if (blockEnd >= 0) {
          // the very lines compile rendered for these servers: the reader would read them back
          current.realServers = expectedRs!;
          shared.add(expectedRs!);
          expectedRs = undefined;
          pos = blockEnd + 1;
          continue;
        }
      } else if (cmd?.op === "add-server" && current && serviceKeyString(cmd.key) === serviceKeyString(current.key)) {
        current.realServers.push(cmd.server);
      } else if (cmd !== undefined || text.slice(pos, end).trim() !== "") {
        return undefined;
      }
    }
    pos = end + 1;
  }
  return { services, ids, shared, partly };
}

/** `address:` (`[address]:` for IPv6) at `at`, as ipvsadm prints a server: the position of the colon, or -1. */
function hostEndAt(b: Uint8Array, at: number, address: string, v6: boolean): number {
  let i = at;
  if (v6 && b[i++] !== 91) return -1;
  if (!spellsAt(b, i, address)) return -1;
  i += address.length;
  if (v6 && b[i++] !== 93) return -1;
  return b[i] === 58 ? i : -1;
}

/**
 * The line from `at` to `end` (after `-a SELECTOR -r `) is one readPlainServer reads as
 * `rs` of `svc`, thresholds aside (the listing has them), for an `rs` that readableAsIs
 * accepted. Compared in place: nothing is allocated.
 */
function serverLineIs(b: Uint8Array, at: number, end: number, svc: IpvsService, rs: IpvsRealServer): boolean {
  let i = hostEndAt(b, at, rs.address, svc.family === "inet6");
  if (i < 0) return false;
  const portEnd = digitsEnd(b, i + 1, end);
  const port = digitsAt(b, i + 1, portEnd);
  if (port < 0 || port > 65535) return false;
  i = portEnd;
  if (forwardingAt(b, i) !== rs.forwarding) return false;
  // the kernel forces the service port on DR and tunnel servers of address services
  if (rs.port !== (rs.forwarding !== "nat" && svc.key.kind === "addr" ? svc.key.port : port)) return false;
  i += 7;
  const weightEnd = digitsEnd(b, i, end);
  if (weightEnd === i || digitsAt(b, i, weightEnd) !== rs.weight || rs.weight > INT_MAX) return false;
  i = weightEnd;
  if (rs.forwarding === "tunnel") {
    const t = rs.tunnel;
    if (!t || t.type !== "ipip" || t.port !== undefined || t.checksum !== undefined || !spellsAt(b, i, TUNNEL_IPIP)) return false;
    i += TUNNEL_IPIP.length;
  } else if (rs.tunnel !== undefined) {
    return false;
  }
  return i === end;
}

/** What readAddressPort read last (one scratch record: it runs for every line of a dump). */
const scanned = { address: "", family: "inet" as "inet" | "inet6", port: 0 };

/**
 * `a.b.c.d:P` (a dotted quad as ipaddr.js prints it: parts 0..255, no leading zeros) or
 * `[IPv6]:P` in plain lowercase groups, from `at`: the position after the port, the values
 * in `scanned`; -1 for anything else (the general reader decides those).
 */
function readAddressPort(text: string, b: Uint8Array, at: number, end: number): number {
  let i: number;
  if (b[at] === 91) {
    const close = text.indexOf("]", at);
    if (close < 0 || close > end || b[close + 1] !== 58) return -1;
    const groups = plainIpv6Groups(text.slice(at + 1, close));
    if (!groups) return -1;
    scanned.address = formatIpv6Groups(groups);
    scanned.family = "inet6";
    i = close + 2;
  } else {
    // a dotted quad as ipaddr.js prints it (plainIpv4Value's rule), then its port
    const colon = text.indexOf(":", at);
    if (colon < 0 || colon >= end) return -1;
    const address = text.slice(at, colon);
    if (plainIpv4Value(address) < 0) return -1;
    scanned.address = address;
    scanned.family = "inet";
    i = colon + 1;
  }
  const portEnd = digitsEnd(b, i, end);
  const port = digitsAt(b, i, portEnd);
  if (port < 0 || port > 65535) return -1;
  scanned.port = port;
  return portEnd;
}

const SCHEDULER_NAMES: ReadonlySet<string> = new Set(SCHEDULERS);

/**
 * The service of a line `-A -t|-u A:P -s SCHED[ -p SECONDS]`, as the general reader
 * reads it; undefined for any other form (flags, masks, fwmarks, ...: the general reader).
 */
function readPlainService(text: string, b: Uint8Array, at: number, end: number): IpvsService | undefined {
  let protocol: "tcp" | "udp";
  if (text.startsWith("-A -t ", at)) protocol = "tcp";
  else if (text.startsWith("-A -u ", at)) protocol = "udp";
  else return undefined;
  let i = readAddressPort(text, b, at + 6, end);
  if (i < 0 || !text.startsWith(" -s ", i)) return undefined;
  const schedEnd = text.indexOf(" ", i + 4);
  const stop = schedEnd < 0 || schedEnd > end ? end : schedEnd;
  const scheduler = text.slice(i + 4, stop);
  if (!SCHEDULER_NAMES.has(scheduler)) return undefined;
  i = stop;
  let timeout = 0;
  if (text.startsWith(" -p ", i)) {
    const timeoutEnd = digitsEnd(b, i + 4, end);
    timeout = digitsAt(b, i + 4, timeoutEnd);
    if (timeout < 1 || timeout > MAX_PERSISTENCE_TIMEOUT) return undefined;
    i = timeoutEnd;
  }
  if (i !== end || (scanned.port === 0 && timeout === 0)) return undefined;
  const svc: IpvsService = {
    key: { kind: "addr", protocol, address: scanned.address, port: scanned.port },
    family: scanned.family,
    scheduler: scheduler as SchedulerName,
    flags: [],
    onePacket: false,
    realServers: [],
  };
  if (timeout > 0) svc.persistence = { timeout, prefixLength: scanned.family === "inet" ? 32 : 128 };
  return svc;
}

/**
 * The real server of a line `-a SELECTOR -r ` + `A:P -m|-g|-i -w W[ -x U -y L][ --tun-type ipip]`, read from
 * `at` to `end`, with the general reader's answer and checks; undefined for any other form.
 */
function readPlainServer(text: string, b: Uint8Array, at: number, end: number, svc: IpvsService): IpvsRealServer | undefined {
  let i = readAddressPort(text, b, at, end);
  if (i < 0 || scanned.family !== svc.family) return undefined;
  const address = scanned.address;
  const port = scanned.port;
  const forwarding = forwardingAt(b, i);
  if (!forwarding) return undefined;
  i += 7;
  const weightEnd = digitsEnd(b, i, end);
  const weight = digitsAt(b, i, weightEnd);
  if (weight < 0 || weight > INT_MAX) return undefined;
  i = weightEnd;
  let upper = 0, lower = 0;
  if (b[i] === 32 && b[i + 1] === 45 && b[i + 2] === 120 && b[i + 3] === 32) {
    // ` -x U -y L`
    const upperEnd = digitsEnd(b, i + 4, end);
    upper = digitsAt(b, i + 4, upperEnd);
    if (upper < 0 || upper > INT_MAX || !spellsAt(b, upperEnd, " -y ")) return undefined;
    i = digitsEnd(b, upperEnd + 4, end);
    lower = digitsAt(b, upperEnd + 4, i);
    if (lower < 0 || lower > upper) return undefined;
  }
  // `-S` prints `--tun-type ipip` for every tunnel server; other tunnels go the general way
  if (forwarding === "tunnel" && spellsAt(b, i, TUNNEL_IPIP)) i += TUNNEL_IPIP.length;
  else if (forwarding === "tunnel") return undefined;
  if (i !== end) return undefined;
  const key = svc.key;
  const rs: IpvsRealServer = {
    address,
    // the kernel forces the service port on DR and tunnel servers of address services
    port: forwarding !== "nat" && key.kind === "addr" ? key.port : port,
    forwarding,
    weight,
    upperThreshold: upper,
    lowerThreshold: lower,
  };
  if (forwarding === "tunnel") rs.tunnel = { type: "ipip" };
  return rs;
}

const TUNNEL_IPIP = " --tun-type ipip";

/** The listing's column names, as `Prot LocalAddress:Port ...` or `-> RemoteAddress:Port ...` name them. */
function headerColumns(tokens: readonly string[]): string[] | undefined {
  if (tokens[0] === "Prot") return tokens.slice(tokens.indexOf("LocalAddress:Port") + 1);
  if (tokens[0] === "->" && tokens[1] === "RemoteAddress:Port") return tokens.length > 2 ? tokens.slice(2) : undefined;
  return undefined;
}

/** The listing's service line names `key`. */
function listsService(tokens: readonly string[], key: ServiceKey): boolean {
  if (key.kind === "fwmark") {
    return tokens[0] === "FWM" && tokens[1] === String(key.fwmark) && (tokens[2] === "IPv6") === (key.family === "inet6");
  }
  if (LISTING_PROTOCOLS[tokens[0] ?? ""] !== key.protocol) return false;
  const text = tokens[1] ?? "";
  const v6 = key.address.includes(":");
  const host = v6 ? `[${key.address}]` : key.address;
  return text.length > host.length && text.startsWith(host) && text.charCodeAt(host.length) === 58 &&
    /^\d{1,10}$/.test(text.slice(host.length + 1)) && Number(text.slice(host.length + 1)) === key.port;
}

/** A real-server row `  -> A:P  n n n n` names `rs`: the position after its address, or -1. */
function rowAddressEnd(b: Uint8Array, at: number, end: number, rs: IpvsRealServer): number {
  const i = hostEndAt(b, at, rs.address, rs.address.includes(":"));
  if (i < 0) return -1;
  const portEnd = digitsEnd(b, i + 1, end);
  if (digitsAt(b, i + 1, portEnd) !== rs.port) return -1;
  const after = b[portEnd];
  return portEnd < end && (after === 32 || after === 9) ? portEnd : -1;
}

/** `  -> ` at `pos`: a real-server row of the listing. */
function isRowAt(b: Uint8Array, pos: number): boolean {
  return b[pos] === 32 && b[pos + 1] === 32 && b[pos + 2] === 45 && b[pos + 3] === 62 && b[pos + 4] === 32;
}

/**
 * Walks `--thresholds` in step with `services` (dump order), setting each server's
 * thresholds; the connection counts stay in the text until asked for. Undefined when the
 * listing does not match the services one for one or its columns are not the expected ones.
 * Expected servers (readCleanSave) are only compared, and copied where the listing gives
 * them other thresholds.
 */
function readThresholdsInStep(
  text: string,
  b: Uint8Array,
  services: readonly IpvsService[],
  ids: readonly string[],
  shared: ReadonlySet<IpvsRealServer[]>,
  partly: ReadonlySet<IpvsRealServer[]>,
): ConnectionMap | undefined {
  let at: number[] | undefined;
  let svcIndex = -1;
  let rsIndex = 0;
  let svc: IpvsService | undefined;
  // the current service's servers: the expected array itself, an array holding expected servers, or its own
  let sharing: "whole" | "partly" | "own" = "own";
  const values: number[] = new Array<number>(16).fill(0);
  let maxColumn = 0;
  const rowStarts: number[] = [];
  const rowEnds: number[] = [];
  const n = text.length;
  for (let pos = 0; pos < n;) {
    if (svc && at && isRowAt(b, pos)) {
      // a row is read to its end in one pass, without looking for its newline first
      const rs = svc.realServers[rsIndex];
      const from = rs ? rowAddressEnd(b, pos + 5, n, rs) : -1;
      const end = from < 0 ? -1 : readRowNumbers(b, from, n, values);
      if (end < 0 || rowNumbers.count <= maxColumn) return undefined;
      const upper = values[at[0]!]!, lower = values[at[1]!]!;
      if (rs!.upperThreshold !== upper || rs!.lowerThreshold !== lower) {
        // other thresholds than an expected server's: the service gets one of its own
        if (sharing === "whole") {
          svc.realServers = svc.realServers.map(copyOfReadServer);
          sharing = "own";
        } else if (sharing === "partly") {
          svc.realServers[rsIndex] = copyOfReadServer(rs!);
        }
        const own = svc.realServers[rsIndex]!;
        own.upperThreshold = upper;
        own.lowerThreshold = lower;
      }
      rsIndex++;
      rowEnds[svcIndex] = end;
      pos = end + 1;
    } else {
      let end = text.indexOf("\n", pos);
      if (end < 0) end = n;
      const trimmed = text.slice(pos, end).trim();
      const tokens = trimmed === "" ? [] : trimmed.split(/\s+/);
      const columns = headerColumns(tokens);
      if (columns) {
        at = THRESHOLD_COLUMNS.map((c) => columns.lastIndexOf(c));
        if (at.some((x) => x < 0)) return undefined;
        maxColumn = Math.max(...at);
      } else if (tokens.length > 0 && !(tokens[0] === "IP" && tokens[1] === "Virtual") && tokens[1] !== "RemoteAddress:Port") {
        // a service line: the next service of the dump, whose servers are all listed so far
        if (svc && rsIndex !== svc.realServers.length) return undefined;
        svc = services[++svcIndex];
        if (!svc || !at || !listsService(tokens, svc.key)) return undefined;
        sharing = shared.has(svc.realServers) ? "whole" : partly.has(svc.realServers) ? "partly" : "own";
        rsIndex = 0;
        rowStarts[svcIndex] = end + 1;
        rowEnds[svcIndex] = end;
      }
      pos = end + 1;
    }
  }
  if (svcIndex !== services.length - 1 || (svc && rsIndex !== svc.realServers.length)) return undefined;
  if (services.length > 0 && !at) return undefined;
  return new ListedConnections(text, ids, rowStarts, rowEnds, at ?? []);
}

/** A server as readPlainServer would have read it (one serverLineIs matched, or one it read). */
function copyOfReadServer(rs: IpvsRealServer): IpvsRealServer {
  const copy: IpvsRealServer = {
    address: rs.address, port: rs.port, forwarding: rs.forwarding, weight: rs.weight,
    upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold,
  };
  if (rs.tunnel) copy.tunnel = { type: "ipip" };
  return copy;
}

/** How many numbers readRowNumbers read last (one scratch record: it runs for every row). */
const rowNumbers = { count: 0 };

/**
 * The whitespace-separated decimal numbers from `at` to the end of the line (a newline or
 * `n`) into `out` (reused: a row has a handful), their count in rowNumbers; the end of the
 * line, or -1 on anything else.
 */
function readRowNumbers(b: Uint8Array, at: number, n: number, out: number[]): number {
  let count = 0;
  let i = at;
  for (;;) {
    let c = i < n ? b[i]! : 10;
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 10) break;
    let value = 0;
    const start = i;
    while (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      c = ++i < n ? b[i]! : 10;
    }
    if (i === start || i - start > 10 || (c !== 32 && c !== 9 && c !== 10) || count === out.length) return -1;
    out[count++] = value;
  }
  rowNumbers.count = count;
  return i;
}

/**
 * Connection counts read on demand from the listing: only the planner's few drained
 * servers are ever looked up, so the rows are not turned into maps up front.
 */
class ListedConnections implements ConnectionMap {
  private index: Map<string, number> | undefined;
  private readonly cache = new Map<number, Map<string, ConnectionCounts>>();

  constructor(
    private readonly text: string,
    private readonly ids: readonly string[],
    private readonly rowStarts: readonly number[],
    private readonly rowEnds: readonly number[],
    private readonly columns: readonly number[],
  ) {}

  get(serviceKey: string): ReadonlyMap<string, ConnectionCounts> | undefined {
    this.index ??= new Map(this.ids.map((id, i) => [id, i]));
    const i = this.index.get(serviceKey);
    if (i === undefined) return undefined;
    let rows = this.cache.get(i);
    if (!rows) {
      rows = new Map();
      // rows the lockstep read checked: `  -> A:P  n n n n`, where A:P is the server's key string
      const values = new Array<number>(16).fill(0);
      const first = this.rowStarts[i]!, stop = this.rowEnds[i]!;
      const text = this.text.slice(first, stop);
      const b = Buffer.from(text, "latin1");
      for (let pos = 0; pos < text.length;) {
        let end = text.indexOf("\n", pos);
        if (end < 0) end = text.length;
        // between the rows there may be lines the lockstep read skipped (blank ones)
        if (isRowAt(b, pos)) {
          let addressEnd = pos + 5;
          while (b[addressEnd] !== 32 && b[addressEnd] !== 9) addressEnd++;
          readRowNumbers(b, addressEnd, end, values);
          rows.set(text.slice(pos + 5, addressEnd), { activeConn: values[this.columns[2]!]!, inactConn: values[this.columns[3]!]! });
        }
        pos = end + 1;
      }
      this.cache.set(i, rows);
    }
    return rows;
  }
}
