/** Parses the read-state script's output (see src/apply-script/scripts.sh.ts) into a LiveState. */
import { error, type Issue } from "../issues.js";
import { parseIpvsadmSave } from "./parse-ipvsadm-save.js";
import { parseIpvsadmThresholds, setThresholds } from "./parse-ipvsadm-thresholds.js";
import { parseIpvsadmConnections, parseIpvsadmDaemon, parseIpvsadmThresholdListing, parseIpvsadmTimeouts } from "./parse-ipvsadm-extras.js";
import { parseOwnershipRecord, splitSections, type LiveState, type OwnershipRecord } from "./live-state.js";
import { readCleanLiveTable, type CleanLiveTable, type ExpectedTable } from "./read-clean-live-table.js";
import { sameServices, type DigestRequest } from "./digest-read.js";
import { serviceKeyString, sortServiceList } from "../model/service-key.js";


/** How parseLiveState reads. */
export interface ParseLiveStateOptions {
  /**
   * The table the caller expects to find (the desired one, when planning), with its rules
   * text when there is one. Only a hint to read faster: the answer is the same, but a
   * service listed exactly as expected gets the expected service's `realServers` array
   * itself, and one with differences the expected server objects it matched; both sides
   * then treat them as read-only. The planner sees what is unchanged at a glance.
   */
  expected?: ExpectedTable;
  /**
   * The digest read's request (src/state/digest-read.ts), when the dump answers one: the
   * services the director lists as unchanged (section `same`) are read from their blocks.
   */
  digests?: DigestRequest;
}

/** Reads one director's state dump. Problems become issues; it never throws. */
export function parseLiveState(director: string, text: string, options: ParseLiveStateOptions = {}): LiveState {
  const sec = splitSections(text);
  const issues: Issue[] = [];
  if (sec.end === undefined) issues.push(error("ssh-failed", ["director", director], `the state dump of ${director} is incomplete`));
  // the connection counts come from the thresholds listing; a dump of an older read-state
  // script also has the plain `ipvsadm -L -n` listing (section `list`), read as before
  const clean = sec.list === undefined ? readCleanLiveTable(sec.save ?? "", sec.thresholds ?? "", options.expected) : undefined;
  const read = clean ?? readTableWithIssues(sec.save ?? "", sec.thresholds ?? "", sec.list, issues);
  const { connections } = read;
  let table = read.table;
  if (sec.same !== undefined) {
    // a digest read: the services it did not print are the request's, as desired
    const same = options.digests ? sameServices(sec.same, options.digests) : undefined;
    if (!same) {
      issues.push(error("ssh-failed", ["director", director], `the state dump of ${director} lists unchanged services that were not asked about`));
    } else if (same.length > 0) {
      const services = sortServiceList([...table.services, ...same]);
      const keys = new Set(services.map((s) => serviceKeyString(s.key)));
      if (keys.size !== services.length) issues.push(error("ssh-failed", ["director", director], `the state dump of ${director} lists a service twice`));
      table = { services };
    }
  }
  const timeouts = parseIpvsadmTimeouts(sec.timeouts ?? "");
  const daemon = parseIpvsadmDaemon(sec.daemon ?? "");
  const ownership: OwnershipRecord[] = [];
  for (const chunk of (sec.owners ?? "").split(/^--$/m)) {
    const rec = parseOwnershipRecord(chunk);
    if (rec) ownership.push(rec);
  }
  const addresses = (sec.addresses ?? "").split("\n").map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 2)
    .map(([iface, address]) => ({ interface: iface!, address: address! }));
  const state: LiveState = {
    director,
    fingerprint: (sec.fingerprint ?? "").trim(),
    contextFingerprint: (sec["context-fingerprint"] ?? "").trim(),
    table,
    connections,
    keepalivedConf: sec["keepalived-conf-present"] !== undefined ? `${sec["keepalived-conf"] ?? ""}\n` : undefined,
    keepalivedRunning: (sec["keepalived-running"] ?? "").trim() === "yes",
    ownership,
    vrrpStates: {},
    syncDaemons: daemon.daemons,
    addresses,
    issues,
  };
  if (timeouts.timeouts) state.timeouts = timeouts.timeouts;
  return state;
}

/**
 * The general reading of the table sections: any dump, every problem an issue. A clean dump
 * gives the same table and counts as readCleanLiveTable.
 */
export function readTableWithIssues(save: string, thresholdsText: string, list: string | undefined, issues: Issue[]): CleanLiveTable {
  const parsed = parseIpvsadmSave(save);
  const listing = list === undefined ? parseIpvsadmThresholdListing(thresholdsText) : undefined;
  const thresholds = listing ?? parseIpvsadmThresholds(thresholdsText);
  const connections = listing ?? parseIpvsadmConnections(list ?? "");
  issues.push(...parsed.issues, ...(listing ? listing.issues : [...thresholds.issues, ...connections.issues]));
  // the parsed table is ours alone: thresholds go onto it instead of onto a copy
  return { table: setThresholds(parsed.table, thresholds.thresholds), connections: connections.connections };
}
