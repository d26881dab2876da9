/**
 * What a director reports about itself, parsed into the model. The raw text comes from the
 * read-state script (src/apply-script/read-state-script.ts) run over SSH; this file only parses.
 */
import type { Issue } from "../issues.js";
import type { IpvsTable } from "../model/model.js";
import type { ConnectionMap, IpvsTimeouts, SyncDaemonState } from "./parse-ipvsadm-extras.js";

/** The record a director keeps of which services one owner (stack) manages there. */
export interface OwnershipRecord {
  owner: string;
  /** service name -> service key string (serviceKeyString) */
  services: Record<string, string>;
}

/** Everything the planner needs to know about one live director. */
export interface LiveState {
  director: string;
  /** sha256 computed on the director over the table, keepalived.conf and ownership records */
  fingerprint: string;
  /**
   * sha256 on the director of the same without the table (keepalived.conf and ownership
   * records): with the touched services listed one by one, what an apply checks of a plan
   * that touches few services. "" when the director did not report it.
   */
  contextFingerprint?: string;
  table: IpvsTable;
  /** service key string -> real-server key string -> counts */
  connections: ConnectionMap;
  keepalivedConf: string | undefined;
  keepalivedRunning: boolean;
  /** every owner's record found on the director */
  ownership: OwnershipRecord[];
  /** VRRP instance -> state, from keepalived's data dump or the VIPs present */
  vrrpStates: Record<string, string>;
  timeouts?: IpvsTimeouts;
  syncDaemons: SyncDaemonState[];
  /** interface -> addresses with prefix, for finding the VRRP master */
  addresses: { interface: string; address: string }[];
  issues: Issue[];
}

/** Splits the read-state script's output into its `==ipvsc:NAME==` sections. */
export function splitSections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current: string | undefined;
  let bodyStart = 0;
  // a section's body is the text between its header line and the next header: a slice of
  // the dump, where splitting it into lines and joining them again cost a second copy
  let at = text.startsWith("==ipvsc:") ? 0 : nextHeaderLine(text, 0);
  while (at >= 0) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const m = /^==ipvsc:([a-z0-9-]+)==$/.exec(text.slice(at, end));
    if (m) {
      if (current !== undefined) out[current] = text.slice(bodyStart, Math.max(bodyStart, at - 1));
      current = m[1]!;
      bodyStart = end + 1;
    }
    at = nextHeaderLine(text, end);
  }
  if (current !== undefined) out[current] = text.slice(bodyStart).replace(/\n$/, "");
  return out;
}

/** Start of the next line from `from` on that could be a section header, or -1. */
function nextHeaderLine(text: string, from: number): number {
  // searched without its leading newline: V8 looks for a pattern's first character first,
  // and a newline is the commonest character of a dump (six times slower on 44 MB)
  for (let i = text.indexOf("==ipvsc:", from); i >= 0; i = text.indexOf("==ipvsc:", i + 1)) {
    if (i > from && text.charCodeAt(i - 1) === 10) return i;
  }
  return -1;
}

/** Parses an ownership record file: first line `owner NAME`, then `service NAME KEY` lines. */
export function parseOwnershipRecord(text: string): OwnershipRecord | undefined {
  let owner: string | undefined;
  const services: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === "owner" && parts[1]) owner = parts[1];
    else if (parts[0] === "service" && parts[1] && parts[2]) services[parts[1]] = parts.slice(2).join(" ");
  }
  return owner === undefined ? undefined : { owner, services };
}

/** Renders an ownership record (sorted, deterministic). */
export function renderOwnershipRecord(record: OwnershipRecord): string {
  const names = Object.keys(record.services).sort();
  return [`owner ${record.owner}`, ...names.map((n) => `service ${n} ${record.services[n]}`)].join("\n") + "\n";
}
