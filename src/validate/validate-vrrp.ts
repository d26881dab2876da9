/**
 * VRRP rules: per instance (IDs, priorities, VIP families, passwords, peers, tracked
 * scripts and interfaces), per director (effective values after overrides, duplicate
 * VRIDs, nopreempt), across directors (values both peers must share), and the sync daemon.
 * Passwords are secrets: no message ever contains one.
 */
import type { Issue, IssuePath, Severity, IssueCode } from "../issues.js";
import { addressFamily } from "../model/addresses.js";
import type { Family } from "../model/model.js";
import { derivedPriority, instanceDirectorIndices } from "../model/normalize.js";
import { VRRP_PASSWORD } from "../schema/grammar.js";
import type { DirectorSpec, ParsedSpec, VrrpInstanceSpec } from "../schema/spec-schema.js";
import { IssueCollector, listText } from "./validation-context.js";

type Override = NonNullable<DirectorSpec["vrrp"]>[string];
type OverrideField = keyof Override;

const FAMILY_TEXT = { inet: "IPv4", inet6: "IPv6" } as const;
const DEFAULT_PRIORITY = 150;

/**
 * Groups the same finding over several directors into one issue: the message template's
 * `{director}` becomes `director lb1` or `directors lb1 and lb2`.
 */
class PerDirector {
  private readonly groups = new Map<string, {
    severity: Severity; code: IssueCode; path: IssuePath; template: string; hint: string | undefined; directors: string[];
  }>();

  add(severity: Severity, code: IssueCode, path: IssuePath, director: string, template: string, hint?: string): void {
    const key = `${code}\u0000${path.join("\u0001")}\u0000${template}`;
    const g = this.groups.get(key);
    if (g) {
      if (!g.directors.includes(director)) g.directors.push(director);
      return;
    }
    this.groups.set(key, { severity, code, path, template, hint, directors: [director] });
  }

  flush(out: IssueCollector): void {
    for (const g of this.groups.values()) {
      const who = `director${g.directors.length > 1 ? "s" : ""} ${listText(g.directors)}`;
      const message = g.template.replaceAll("{director}", who);
      if (g.severity === "error") out.error(g.code, g.path, message, g.hint);
      else out.warning(g.code, g.path, message, g.hint);
    }
    this.groups.clear();
  }
}

/** What one director runs for one instance, with the path each value came from. */
interface Effective {
  director: DirectorSpec;
  order: number;
  override: Override;
  interface: string;
  virtualRouterId: number;
  priority: number;
  state: "MASTER" | "BACKUP";
  nopreempt: boolean;
  advertInterval: number;
  authType: "PASS" | "AH" | undefined;
  authPassword: string | undefined;
  pathOf(field: OverrideField): IssuePath;
}

function instanceFamily(inst: VrrpInstanceSpec): Family {
  return addressFamily(inst.vips[0]?.split("/")[0] ?? "0.0.0.0");
}

/** What the director at `order`, the `rank`-th of the instance's directors, runs for it. */
function effectiveFor(spec: ParsedSpec, inst: VrrpInstanceSpec, k: number, order: number, rank: number): Effective {
  const director = spec.directors[order]!;
  const override: Override = director.vrrp?.[inst.name] ?? {};
  const nopreempt = override.nopreempt ?? inst.nopreempt;
  const authPassword = override.authPassword ?? inst.authPassword;
  return {
    director,
    order,
    override,
    interface: override.interface ?? inst.interface,
    virtualRouterId: override.virtualRouterId ?? inst.virtualRouterId,
    priority: override.priority ?? derivedPriority(inst.priority ?? DEFAULT_PRIORITY, rank),
    // the same defaulting normalize() applies
    state: override.state ?? (nopreempt || rank > 0 ? "BACKUP" : "MASTER"),
    nopreempt,
    advertInterval: override.advertInterval ?? inst.advertInterval,
    authType: override.authType ?? inst.authType ?? (authPassword !== undefined ? "PASS" : undefined),
    authPassword,
    pathOf: (field) =>
      override[field] !== undefined
        ? ["directors", order, "vrrp", inst.name, field]
        : ["vrrp", "instances", k, field],
  };
}

function checkRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function checkPassword(password: string, path: IssuePath, where: string, out: IssueCollector): void {
  if (!VRRP_PASSWORD.pattern.test(password)) {
    out.error(
      "invalid-secret",
      path,
      `authPassword of ${where} must be ${VRRP_PASSWORD.describe} (value not shown)`,
      "choose a password of letters, digits and simple punctuation",
    );
  }
  if (password.length > 8) {
    out.error(
      "auth-password-too-long",
      path,
      `authPassword of ${where} is longer than 8 characters: keepalived silently truncates auth_pass to 8 (value not shown)`,
      "use at most 8 characters; VRRP PASS authentication carries only 8",
    );
  }
}

function checkNames(spec: ParsedSpec, out: IssueCollector): void {
  for (const [list, what, field] of [
    [spec.vrrp?.instances ?? [], "VRRP instance", "instances"],
    [spec.vrrp?.scripts ?? [], "VRRP script", "scripts"],
  ] as const) {
    const seen = new Map<string, number>();
    list.forEach((item, k) => {
      const first = seen.get(item.name);
      if (first === undefined) {
        seen.set(item.name, k);
        return;
      }
      out.error("duplicate-name", ["vrrp", field, k, "name"], `${what} name "${item.name}" is already used by vrrp.${field}[${first}]`);
    });
  }
}

function checkInstanceBase(spec: ParsedSpec, inst: VrrpInstanceSpec, k: number, out: IssueCollector): void {
  const base = ["vrrp", "instances", k];
  const where = `instance ${inst.name}`;
  if (!checkRange(inst.virtualRouterId, 1, 255)) {
    out.error("out-of-range", [...base, "virtualRouterId"], `virtualRouterId ${inst.virtualRouterId} of ${where} must be between 1 and 255`);
  }
  if (inst.priority !== undefined && !checkRange(inst.priority, 1, 255)) {
    out.error(
      "priority-out-of-range",
      [...base, "priority"],
      `priority ${inst.priority} of ${where} must be between 1 and 255`,
      "VRRP priorities are 1..255 (255 = address owner); the default base is 150",
    );
  }

  const family = instanceFamily(inst);
  inst.vips.forEach((vip, j) => {
    if (j === 0 || addressFamily(vip.split("/")[0] ?? "") === family) return;
    out.error(
      "vip-wrong-family",
      [...base, "vips", j],
      `VIP ${vip} of ${where} is ${FAMILY_TEXT[addressFamily(vip)]}, but the instance is ${FAMILY_TEXT[family]} (its first VIP is ${inst.vips[0] ?? ""}): all VIPs of one instance share a family`,
      "move it to excludedVips, or to another instance",
    );
  });

  (inst.unicastPeers ?? []).forEach((peer, j) => {
    if (addressFamily(peer) === family) return;
    out.error(
      "unicast-peer-family",
      [...base, "unicastPeers", j],
      `unicast peer ${peer} of ${where} is ${FAMILY_TEXT[addressFamily(peer)]}, but the instance is ${FAMILY_TEXT[family]}`,
      `use the peers' ${FAMILY_TEXT[family]} addresses`,
    );
  });
  if (inst.unicastPeers !== undefined && !inst.unicast) {
    out.warning(
      "invalid-value",
      [...base, "unicastPeers"],
      `unicastPeers of ${where} are ignored because unicast is false: advertisements go to multicast`,
      "set unicast: true, or remove unicastPeers",
    );
  }

  if (inst.authPassword !== undefined) checkPassword(inst.authPassword, [...base, "authPassword"], where, out);

  const scripts = new Set((spec.vrrp?.scripts ?? []).map((s) => s.name));
  (inst.trackScripts ?? []).forEach((t, j) => {
    if (scripts.has(t.name)) return;
    out.error(
      "unknown-vrrp-script",
      [...base, "trackScripts", j, "name"],
      `${where} tracks script "${t.name}", which is not defined in vrrp.scripts${scripts.size > 0 ? ` (${[...scripts].join(", ")})` : ""}`,
      "define the script under vrrp.scripts, or fix the name",
    );
  });
}

function checkOnDirector(inst: VrrpInstanceSpec, k: number, e: Effective, groups: PerDirector, out: IssueCollector): void {
  const where = `instance ${inst.name}`;
  const name = e.director.name;
  const o = e.override;
  const interfaces = e.director.interfaces;

  if (!interfaces.includes(e.interface)) {
    groups.add(
      "error", "unknown-interface", e.pathOf("interface"), name,
      `interface "${e.interface}" of ${where} is not declared in the interfaces of {director}`,
      "add it to the director's interfaces, or set a per-director interface override",
    );
  }
  (inst.trackInterfaces ?? []).forEach((t, j) => {
    if (interfaces.includes(t.name)) return;
    groups.add(
      "error", "unknown-interface", ["vrrp", "instances", k, "trackInterfaces", j, "name"], name,
      `${where} tracks interface "${t.name}", which is not declared in the interfaces of {director}`,
      "add it to the director's interfaces, or remove it from trackInterfaces",
    );
  });

  if (o.virtualRouterId !== undefined && !checkRange(o.virtualRouterId, 1, 255)) {
    out.error("out-of-range", e.pathOf("virtualRouterId"), `virtualRouterId ${o.virtualRouterId} of ${where} on director ${name} must be between 1 and 255`);
  }
  if (o.priority !== undefined && !checkRange(o.priority, 1, 255)) {
    out.error(
      "priority-out-of-range",
      e.pathOf("priority"),
      `priority ${o.priority} of ${where} on director ${name} must be between 1 and 255`,
      "VRRP priorities are 1..255 (255 = address owner)",
    );
  } else if (o.priority === undefined && (inst.priority === undefined || checkRange(inst.priority, 1, 255)) && !checkRange(e.priority, 1, 255)) {
    groups.add(
      "error", "priority-out-of-range", ["vrrp", "instances", k, "priority"], name,
      `derived priority ${e.priority} of ${where} on {director} is outside 1..255`,
      "set the priority per director in directors[].vrrp",
    );
  }
  if (o.authPassword !== undefined) checkPassword(o.authPassword, e.pathOf("authPassword"), `${where} on director ${name}`, out);

  if (e.nopreempt && o.state === "MASTER") {
    out.error(
      "nopreempt-conflict",
      e.pathOf("state"),
      `${where} on director ${name} has nopreempt and state MASTER: keepalived clears nopreempt for a MASTER, so it would preempt anyway`,
      "use state BACKUP (the default with nopreempt) on every director and let priorities decide",
    );
  }
  if (e.nopreempt && e.priority === 255) {
    groups.add(
      "error", "nopreempt-conflict", e.pathOf("priority"), name,
      `${where} has nopreempt with priority 255 on {director}: a priority-255 router owns the addresses and always takes over`,
      "use a priority below 255 with nopreempt",
    );
  }

  if (e.authType !== undefined && e.authPassword === undefined) {
    groups.add(
      "error", "missing-field", ["vrrp", "instances", k, "authPassword"], name,
      `${where} uses auth_type ${e.authType} but has no authPassword on {director}`,
      "set authPassword (from a secret), or remove authType",
    );
  }

  const family = instanceFamily(inst);
  if (inst.unicast && o.unicastSrcIp !== undefined && addressFamily(o.unicastSrcIp) !== family) {
    out.error(
      "unicast-peer-family",
      e.pathOf("unicastSrcIp"),
      `unicastSrcIp ${o.unicastSrcIp} of ${where} on director ${name} is ${FAMILY_TEXT[addressFamily(o.unicastSrcIp)]}, but the instance is ${FAMILY_TEXT[family]}`,
    );
  }
}

function checkUnicastDirectors(spec: ParsedSpec, inst: VrrpInstanceSpec, members: number[], out: IssueCollector): void {
  if (!inst.unicast || inst.unicastPeers !== undefined || members.length < 2) return;
  const family = instanceFamily(inst);
  members.forEach((i) => {
    const d = spec.directors[i]!;
    if (d.address === undefined) {
      out.error(
        "missing-field",
        ["directors", i, "address"],
        `instance ${inst.name} uses unicast without unicastPeers, so its peers are its directors' addresses, but director ${d.name} has no address`,
        "set the director's address on the VRRP link, or list unicastPeers",
      );
    } else if (addressFamily(d.address) !== family) {
      out.error(
        "unicast-peer-family",
        ["directors", i, "address"],
        `director ${d.name}'s address ${d.address} is a unicast peer of instance ${inst.name}, but it is ${FAMILY_TEXT[addressFamily(d.address)]} and the instance is ${FAMILY_TEXT[family]}`,
        "list unicastPeers of the instance's family",
      );
    }
  });
}

/**
 * Per director, over the instances it runs: two instances that share no director never
 * meet on one host (two sites may both use VRID 51).
 */
function checkDuplicateVrids(spec: ParsedSpec, all: Effective[][], groups: PerDirector): void {
  const instances = spec.vrrp?.instances ?? [];
  spec.directors.forEach((d, order) => {
    const seen = new Map<string, string>();
    instances.forEach((inst, k) => {
      const e = all[k]?.find((x) => x.order === order);
      if (!e) return;
      // IPv4 and IPv6 VRRP are separate protocols: the same ID may serve both on one link
      const key = `${e.interface}\u0000${instanceFamily(inst)}\u0000${e.virtualRouterId}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, inst.name);
        return;
      }
      groups.add(
        "error", "duplicate-vrid", e.pathOf("virtualRouterId"), d.name,
        `instances ${first} and ${inst.name} both use virtualRouterId ${e.virtualRouterId} on interface ${e.interface} of {director}: routers on one link need distinct IDs per family`,
        "give each instance on an interface its own virtualRouterId",
      );
    });
  });
}

const SHARED_FIELDS = ["virtualRouterId", "advertInterval", "authType", "authPassword"] as const;

function checkPeersAgree(inst: VrrpInstanceSpec, list: Effective[], out: IssueCollector): void {
  const first = list[0];
  if (!first) return;
  for (const field of SHARED_FIELDS) {
    const other = list.find((e) => e[field] !== first[field]);
    if (!other) continue;
    const path = other.override[field] !== undefined ? other.pathOf(field) : first.pathOf(field);
    const values = field === "authPassword" ? "values not shown" : `${String(first[field] ?? "none")} vs ${String(other[field] ?? "none")}`;
    out.error(
      "vrrp-pair-mismatch",
      path,
      `directors ${first.director.name} and ${other.director.name} disagree on ${field} of instance ${inst.name} (${values}): VRRP peers must share it, or they ignore each other's adverts and both become MASTER`,
      `set ${field} once on the instance and drop the per-director overrides`,
    );
  }

  const masters = new Map<number, Effective>();
  for (const e of list) {
    if (e.state !== "MASTER") continue;
    const earlier = masters.get(e.priority);
    if (!earlier) {
      masters.set(e.priority, e);
      continue;
    }
    out.warning(
      "vrrp-pair-mismatch",
      e.override.state !== undefined ? e.pathOf("state") : ["directors", e.order, "vrrp", inst.name],
      `directors ${earlier.director.name} and ${e.director.name} both start instance ${inst.name} as MASTER with priority ${e.priority}: the tie is broken by IP address, not by the spec`,
      "give the directors different priorities, or start all but one as BACKUP",
    );
  }
}

function checkSyncDaemon(spec: ParsedSpec, groups: PerDirector, out: IssueCollector): void {
  const sd = spec.syncDaemon;
  if (!sd) return;
  const instances = spec.vrrp?.instances ?? [];
  // a director that runs no VRRP instance runs no sync daemon (it has no role to follow)
  const runsVrrp = (order: number) => instances.length === 0 || instances.some((inst) => instanceDirectorIndices(spec, inst).includes(order));
  for (const [order, d] of spec.directors.entries()) {
    if (!runsVrrp(order) || d.interfaces.includes(sd.interface)) continue;
    groups.add(
      "error", "unknown-interface", ["syncDaemon", "interface"], d.name,
      `sync daemon interface "${sd.interface}" is not declared in the interfaces of {director}`,
      "add it to the director's interfaces, or pick a declared interface",
    );
  }
  const names = (spec.vrrp?.instances ?? []).map((i) => i.name);
  if (sd.instance !== undefined && !names.includes(sd.instance)) {
    out.error(
      "sync-daemon-instance",
      ["syncDaemon", "instance"],
      `sync daemon follows VRRP instance "${sd.instance}", which is not defined${names.length > 0 ? ` (instances: ${names.join(", ")})` : ""}`,
      "name a VRRP instance from vrrp.instances",
    );
  } else if (sd.instance !== undefined) {
    // the instance's state decides each director's role: every director running VRRP needs it
    const followed = instanceDirectorIndices(spec, instances.find((i) => i.name === sd.instance)!);
    const without = spec.directors.filter((_, order) => runsVrrp(order) && !followed.includes(order)).map((d) => d.name);
    if (without.length > 0) {
      out.error(
        "sync-daemon-instance",
        ["syncDaemon", "instance"],
        `the sync daemon follows VRRP instance ${sd.instance} on every director, but ${listText(without)} run${without.length === 1 ? "s" : ""} VRRP without it: there it would follow an instance the director does not have`,
        "leave syncDaemon.instance out (each director then follows the first instance it runs), or let the instance run on those directors",
      );
    }
  } else if (names.length === 0) {
    out.error(
      "sync-daemon-instance",
      ["syncDaemon"],
      "the sync daemon follows a VRRP instance's state (the master sends, backups receive), but no VRRP instance is defined",
      "define a VRRP instance, or remove syncDaemon",
    );
  }
}

/** `directors` of an instance: declared directors, each once. */
function checkInstanceDirectors(spec: ParsedSpec, inst: VrrpInstanceSpec, k: number, out: IssueCollector): void {
  const known = spec.directors.map((d) => d.name);
  const seen = new Map<string, number>();
  (inst.directors ?? []).forEach((name, j) => {
    const path = ["vrrp", "instances", k, "directors", j];
    if (!known.includes(name)) {
      out.error(
        "unknown-director",
        path,
        `VRRP instance ${inst.name} names director "${name}", which is not declared (directors: ${known.join(", ")})`,
        "add the director to 'directors', or fix the name",
      );
      return;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      out.error(
        "invalid-value",
        path,
        `director ${name} is listed twice in the directors of VRRP instance ${inst.name} (directors[${first}] and [${j}])`,
        "list each director once, the preferred master first",
      );
      return;
    }
    seen.set(name, j);
  });
}

/** VRRP and sync-daemon rules. */
export function validateVrrp(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  const groups = new PerDirector();
  const instances = spec.vrrp?.instances ?? [];
  checkNames(spec, out);
  const all: Effective[][] = instances.map((inst, k) => {
    checkInstanceBase(spec, inst, k, out);
    checkInstanceDirectors(spec, inst, k, out);
    const members = instanceDirectorIndices(spec, inst);
    checkUnicastDirectors(spec, inst, members, out);
    const list = members.map((order, rank) => effectiveFor(spec, inst, k, order, rank));
    for (const e of list) checkOnDirector(inst, k, e, groups, out);
    checkPeersAgree(inst, list, out);
    return list;
  });
  checkDuplicateVrids(spec, all, groups);
  checkSyncDaemon(spec, groups, out);
  groups.flush(out);
  return out.issues;
}
