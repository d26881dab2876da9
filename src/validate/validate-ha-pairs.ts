/**
 * Cross-director rules for HA pairs (and larger groups): what the directors that share a
 * VRRP instance, or stand side by side behind ECMP, must agree on before anything renders.
 * An instance runs on its `directors` (default: every director), so any of them can become
 * master of its VIPs. See docs/ha.md for the reasoning behind each rule and its severity.
 *
 * - a service on a VRRP VIP (protocol, address and port) carried by only some of the
 *   instance's directors: error (the others refuse the VIP's connections as soon as they
 *   become master); the same identity served by different pools on disjoint director sets
 *   counts as carried; carried by a director outside the instance: error (the VIP never
 *   arrives there);
 * - one VIP in the vips of two instances: error (two instances fight over one address);
 * - two directors with the same address, or a director address that is a VIP: error;
 * - equal priorities, or a MASTER below a preempting peer: warning (the spec's order is not
 *   what decides, or the VIP moves once at start);
 * - the sync daemon's group must be a multicast address: error.
 */
import type { Issue, IssuePath } from "../issues.js";
import { addressFamily } from "../model/addresses.js";
import { derivedPriority, derivedState, instanceDirectorIndices } from "../model/normalize.js";
import type { ParsedSpec, ServiceSpec, VrrpInstanceSpec } from "../schema/spec-schema.js";
import { IssueCollector, describeService, directorsOf, listText, safeCanonical } from "./validation-context.js";

const DEFAULT_PRIORITY = 150;

/** The address part of a VIP (`192.0.2.10/32` -> `192.0.2.10`), canonical. */
function vipAddress(vip: string): string {
  return safeCanonical(vip.split("/")[0] ?? "");
}

interface VipOwner {
  instance: VrrpInstanceSpec;
  index: number;
}

/**
 * Canonical VIP address -> the instance moving it (vips first, then excludedVips). Two
 * instances listing one address in `vips` is an error; excludedVips are not compared (an
 * address may be advertised by one instance and carried unadvertised by another family's).
 */
function vipOwners(spec: ParsedSpec, out: IssueCollector): Map<string, VipOwner> {
  const owners = new Map<string, VipOwner>();
  const instances = spec.vrrp?.instances ?? [];
  instances.forEach((inst, k) => {
    inst.vips.forEach((vip, j) => {
      const address = vipAddress(vip);
      const first = owners.get(address);
      if (first === undefined) {
        owners.set(address, { instance: inst, index: k });
      } else if (first.index === k) {
        out.error("invalid-value", ["vrrp", "instances", k, "vips", j], `VIP ${address} is listed twice in instance ${inst.name}`, "list each VIP once");
      } else {
        out.error(
          "vrrp-pair-mismatch",
          ["vrrp", "instances", k, "vips", j],
          `VIP ${address} of instance ${inst.name} is also a VIP of instance ${first.instance.name} (vrrp.instances[${first.index}]): two instances would add and remove the same address independently`,
          "keep each VIP in exactly one instance",
        );
      }
    });
  });
  instances.forEach((inst, k) => {
    for (const vip of inst.excludedVips ?? []) {
      const address = vipAddress(vip);
      if (!owners.has(address)) owners.set(address, { instance: inst, index: k });
    }
  });
  return owners;
}

/** `tcp/192.0.2.10:80`-like identity of an address service (no fwmark), canonical. */
function identityText(s: ServiceSpec): string | undefined {
  if (s.fwmark !== undefined || s.address === undefined || s.protocol === undefined || s.port === undefined) return undefined;
  return `${s.protocol}/${safeCanonical(s.address)}/${s.port}`;
}

/** The names of the directors running an instance (its `directors`, else all), in its order. */
function instanceDirectorNames(spec: ParsedSpec, inst: VrrpInstanceSpec): string[] {
  return instanceDirectorIndices(spec, inst).map((i) => spec.directors[i]!.name);
}

function checkServiceCoverage(spec: ParsedSpec, owners: Map<string, VipOwner>, out: IssueCollector): void {
  if ((spec.ha?.mode ?? "vrrp") !== "vrrp") return;
  const declared = spec.directors.map((d) => d.name);
  // which directors carry each identity, over every service that declares it: the same VIP
  // and port may be served by different pools on different directors (disjoint director sets)
  const carriersOf = new Map<string, Set<string>>();
  for (const s of spec.services) {
    const id = identityText(s);
    if (id === undefined) continue;
    const set = carriersOf.get(id) ?? new Set<string>();
    for (const n of directorsOf(spec, s)) if (declared.includes(n)) set.add(n);
    carriersOf.set(id, set);
  }
  const reported = new Set<string>();
  spec.services.forEach((s: ServiceSpec, i) => {
    const id = identityText(s);
    if (id === undefined) return; // fwmark services match any address: nothing to compare
    const address = safeCanonical(s.address!);
    const owner = owners.get(address);
    if (owner === undefined) return;
    const all = instanceDirectorNames(spec, owner.instance);
    const runs = owner.instance.directors === undefined ? "which every director runs"
      : all.length === 0 ? "which no declared director runs" : `which ${listText(all)} run${all.length === 1 ? "s" : ""}`;
    // a director outside the instance never holds the VIP: the service there never gets a packet
    const outside = (s.directors ?? []).findIndex((n) => declared.includes(n) && !all.includes(n));
    if (outside >= 0 || (s.directors === undefined && all.length < declared.length)) {
      const name = outside >= 0 ? s.directors![outside]! : declared.find((n) => !all.includes(n))!;
      out.error(
        "vrrp-pair-mismatch",
        outside >= 0 ? ["services", i, "directors", outside] : ["services", i],
        `${describeService(s)} is on ${address}, a VIP of VRRP instance ${owner.instance.name}, ${runs}, but director ${name} carries it too: the VIP never arrives there, so that director's copy of the service never gets a packet`,
        "list only the instance's directors in the service's 'directors', or add the director to the instance's directors",
      );
    }
    if (reported.has(id)) return;
    const carriers = all.filter((n) => carriersOf.get(id)!.has(n));
    const missing = all.filter((n) => !carriers.includes(n));
    if (missing.length === 0 || carriers.length === 0) return;
    reported.add(id);
    out.error(
      "vrrp-pair-mismatch",
      s.directors !== undefined ? ["services", i, "directors"] : ["services", i],
      `${describeService(s)} is on ${address}, a VIP of VRRP instance ${owner.instance.name}, ${runs}, but only ${listText(carriers)} carr${carriers.length === 1 ? "ies" : "y"} it: when ${listText(missing)} become${missing.length === 1 ? "s" : ""} master, the VIP's connections to this service are refused`,
      "let every director that can hold the VIP carry the service: drop 'directors' or list them all",
    );
  });
}

function checkDirectorAddresses(spec: ParsedSpec, owners: Map<string, VipOwner>, out: IssueCollector): void {
  const seen = new Map<string, number>();
  spec.directors.forEach((d, i) => {
    if (d.address === undefined) return;
    const address = safeCanonical(d.address);
    const first = seen.get(address);
    if (first !== undefined) {
      out.error(
        "invalid-value",
        ["directors", i, "address"],
        `director ${d.name} has the address ${address} of director ${spec.directors[first]!.name}: VRRP unicast peers and the sync daemon tell directors apart by address`,
        "give each director its own address on the VRRP link",
      );
    } else {
      seen.set(address, i);
    }
    const owner = owners.get(address);
    if (owner !== undefined) {
      out.error(
        "invalid-value",
        ["directors", i, "address"],
        `director ${d.name}'s own address ${address} is a VIP of VRRP instance ${owner.instance.name}: a VIP must move between directors, never be one director's fixed address`,
        "use a separate address for the VIP",
      );
    }
  });
}

interface Effective {
  name: string;
  order: number;
  priority: number;
  state: "MASTER" | "BACKUP";
  nopreempt: boolean;
  priorityPath: IssuePath;
  statePath: IssuePath;
}

/** What each director running the instance starts it with (rank: its place among them). */
function effectiveOf(spec: ParsedSpec, inst: VrrpInstanceSpec, k: number): Effective[] {
  return instanceDirectorIndices(spec, inst).map((order, rank) => {
    const d = spec.directors[order]!;
    const o = d.vrrp?.[inst.name] ?? {};
    const nopreempt = o.nopreempt ?? inst.nopreempt;
    return {
      name: d.name,
      order,
      priority: o.priority ?? derivedPriority(inst.priority ?? DEFAULT_PRIORITY, rank),
      state: o.state ?? derivedState(nopreempt, rank),
      nopreempt,
      priorityPath: o.priority !== undefined ? ["directors", order, "vrrp", inst.name, "priority"] : ["vrrp", "instances", k, "priority"],
      statePath: o.state !== undefined ? ["directors", order, "vrrp", inst.name, "state"] : ["directors", order, "vrrp", inst.name],
    };
  });
}

function checkPriorities(spec: ParsedSpec, out: IssueCollector): void {
  if (spec.directors.length < 2) return;
  (spec.vrrp?.instances ?? []).forEach((inst, k) => {
    const list = effectiveOf(spec, inst, k).filter((e) => Number.isInteger(e.priority) && e.priority >= 1 && e.priority <= 255);
    // equal priorities: two MASTERs are validate-vrrp's finding; any other tie is this one
    const byPriority = new Map<number, Effective>();
    for (const e of list) {
      const first = byPriority.get(e.priority);
      if (first === undefined) {
        byPriority.set(e.priority, e);
        continue;
      }
      if (first.state === "MASTER" && e.state === "MASTER") continue;
      out.warning(
        "vrrp-pair-mismatch",
        e.priorityPath[0] === "directors" ? e.priorityPath : ["directors", e.order, "vrrp", inst.name],
        `directors ${first.name} and ${e.name} have the same priority ${e.priority} in instance ${inst.name}: the election is decided by the higher IP address, not by the order of the directors`,
        "give every director a distinct priority (the default derives 150, 140, ... from the order)",
      );
    }
    // a MASTER that a preempting peer outranks hands the VIP over right after it starts
    for (const m of list) {
      if (m.state !== "MASTER") continue;
      const higher = list.find((e) => e !== m && e.priority > m.priority && !e.nopreempt);
      if (!higher) continue;
      out.warning(
        "vrrp-pair-mismatch",
        m.statePath,
        `director ${m.name} starts instance ${inst.name} as MASTER with priority ${m.priority}, but ${higher.name} has ${higher.priority} and preempts: the VIP moves once every time both start`,
        `start ${m.name} as BACKUP, or give it the highest priority`,
      );
    }
  });
}

function isMulticast(address: string): boolean {
  if (addressFamily(address) === "inet6") return address.toLowerCase().startsWith("ff");
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239;
}

function checkSyncDaemon(spec: ParsedSpec, out: IssueCollector): void {
  const sd = spec.syncDaemon;
  if (!sd) return;
  if (sd.group !== undefined && !isMulticast(sd.group)) {
    out.error(
      "invalid-value",
      ["syncDaemon", "group"],
      `sync daemon group ${sd.group} is not a multicast address: the master sends connection updates to a multicast group (default 224.0.0.81)`,
      "use an address in 224.0.0.0/4 (IPv4) or ff00::/8 (IPv6), or leave group out",
    );
  }
}

/** Cross-director HA rules. */
export function validateHaPairs(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  const owners = vipOwners(spec, out);
  checkServiceCoverage(spec, owners, out);
  checkDirectorAddresses(spec, owners, out);
  checkPriorities(spec, out);
  checkSyncDaemon(spec, out);
  return out.issues;
}
