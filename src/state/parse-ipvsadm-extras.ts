/**
 * state: the parts of a director's IPVS state that `ipvsadm -S` does not save:
 * connection timeouts (`ipvsadm -L --timeout`), the sync daemons (`ipvsadm -L --daemon`)
 * and per-real-server connection counts (`ipvsadm -L -n`), which decide when a drained
 * real server may be deleted.
 */
import { error, type Issue } from "../issues.js";
import { canonicalAddress } from "../model/addresses.js";
import { isIpAddress } from "../schema/spec-formats.js";
import { parseIpvsadmThresholds, readCleanListingColumns, readListingColumns, type ThresholdMap } from "./parse-ipvsadm-thresholds.js";

/** Connection timeouts in seconds, as `ipvsadm --set TCP TCPFIN UDP` takes them. */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** One running sync daemon as `ipvsadm -L --daemon` lists it. */
export interface SyncDaemonState {
  state: "master" | "backup";
  interface: string;
  syncId: number;
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

/** Active and inactive connection counts of one real server. */
export interface ConnectionCounts {
  activeConn: number;
  inactConn: number;
}

/**
 * Connection counts by service key string, then real-server key string. A Map is one; the
 * live-state reader answers from the listing text on demand (see read-clean-live-table.ts).
 */
export interface ConnectionMap {
  get(serviceKey: string): ReadonlyMap<string, ConnectionCounts> | undefined;
}

/** A ConnectionMap as nested maps, as the listing readers build it. */
export type ConnectionTable = Map<string, Map<string, ConnectionCounts>>;

/** Parses `Timeout (tcp tcpfin udp): 900 120 300`. */
export function parseIpvsadmTimeouts(text: string): { timeouts?: IpvsTimeouts; issues: Issue[] } {
  const m = /^\s*Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(text);
  if (!m) {
    const first = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
    return { issues: [error("invalid-value", ["timeouts"], `not an 'ipvsadm -L --timeout' line: '${first.trim()}'`)] };
  }
  return { timeouts: { tcp: Number(m[1]), tcpFin: Number(m[2]), udp: Number(m[3]) }, issues: [] };
}

function daemonField(daemon: SyncDaemonState, name: string, value: string): boolean {
  const num = /^\d+$/.test(value) ? Number(value) : undefined;
  switch (name) {
    case "mcast": daemon.interface = value; return true;
    case "syncid": if (num === undefined) return false; daemon.syncId = num; return true;
    case "maxlen": if (num === undefined) return false; daemon.maxlen = num; return true;
    case "port": if (num === undefined) return false; daemon.port = num; return true;
    case "ttl": if (num === undefined) return false; daemon.ttl = num; return true;
    case "group": if (!isIpAddress(value)) return false; daemon.group = canonicalAddress(value); return true;
    default: return false;
  }
}

/**
 * Parses `ipvsadm -L --daemon`: zero, one or two lines like
 * `master sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)`.
 */
export function parseIpvsadmDaemon(text: string): { daemons: SyncDaemonState[]; issues: Issue[] } {
  const daemons: SyncDaemonState[] = [];
  const issues: Issue[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "") return;
    const m = /^(master|backup) sync daemon \((.*)\)$/.exec(trimmed);
    if (!m) {
      issues.push(error("invalid-value", ["line", line], `line ${line}: not a sync daemon line: '${trimmed}'`));
      return;
    }
    const daemon: SyncDaemonState = { state: m[1] as "master" | "backup", interface: "", syncId: 0 };
    for (const part of m[2]!.split(",")) {
      const [name = "", value = ""] = part.trim().split("=");
      if (!daemonField(daemon, name, value)) {
        issues.push(error("invalid-value", ["line", line], `line ${line}: unreadable sync daemon field '${part.trim()}'`));
      }
    }
    daemons.push(daemon);
  });
  return { daemons, issues };
}

/**
 * Parses the ActiveConn/InActConn columns of `ipvsadm -L -n` (any listing that has them,
 * `--thresholds` too) into counts by service and real server.
 */
export function parseIpvsadmConnections(text: string): { connections: ConnectionTable; issues: Issue[] } {
  const { map, issues } = readListingColumns(text, ["ActiveConn", "InActConn"], (activeConn, inactConn) => ({ activeConn, inactConn }));
  return { connections: map, issues };
}

const THRESHOLD_LISTING_COLUMNS = ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"] as const;

/**
 * Reads `ipvsadm -L -n --thresholds`, which has the Uthreshold, Lthreshold, ActiveConn and
 * InActConn columns, into thresholds and connection counts in one pass (the read-state dump
 * carries no separate plain listing). A listing the one-pass reader cannot take is read
 * twice, by parseIpvsadmThresholds and parseIpvsadmConnections, which word its issues.
 */
export function parseIpvsadmThresholdListing(text: string): { thresholds: ThresholdMap; connections: ConnectionTable; issues: Issue[] } {
  const connections: ConnectionTable = new Map();
  const thresholds = readCleanListingColumns(text, THRESHOLD_LISTING_COLUMNS, (v) => ({
    upper: v[0]!, lower: v[1]!, activeConn: v[2]!, inactConn: v[3]!,
  }));
  if (thresholds) {
    const split: ThresholdMap = new Map();
    for (const [svc, inner] of thresholds) {
      const lastInner: Map<string, { upper: number; lower: number }> = new Map();
      const connInner: Map<string, ConnectionCounts> = new Map();
      for (const [rs, row] of inner) {
        lastInner.set(rs, { upper: row.upper, lower: row.lower });
        connInner.set(rs, { activeConn: row.activeConn, inactConn: row.inactConn });
      }
      split.set(svc, lastInner);
      connections.set(svc, connInner);
    }
    return { thresholds: split, connections, issues: [] };
  }
  const t = parseIpvsadmThresholds(text);
  const c = parseIpvsadmConnections(text);
  return { thresholds: t.thresholds, connections: c.connections, issues: [...t.issues, ...c.issues] };
}
