/**
 * Sync-group rules (`vrrp.syncGroups`), as keepalived 2.2 applies them plus the
 * cross-director checks it cannot make:
 * - `syncGroup` (one group of every instance) and `syncGroups` are two ways to say it: not both;
 * - group names are unique; members are defined instances, listed once;
 * - an instance belongs to at most one group ("cannot exist in more than one sync group",
 *   keepalived ignores the second) and a group has two or more members ("has only 1 virtual
 *   router"): both are keepalived warnings, so `keepalived -t` exits 5;
 * - the members of a group run on the same directors (`vrrp.instances[].directors`): error;
 * - per group and director, the members start in one state, and one director is the
 *   preferred master of every member (else the group, which moves as one, follows whichever
 *   member changes first): warnings.
 */
import type { Issue } from "../issues.js";
import { derivedPriority, derivedState, instanceDirectorIndices, instancesOfDirector } from "../model/normalize.js";
import type { ParsedSpec } from "../schema/spec-schema.js";
import { IssueCollector, listText } from "./validation-context.js";

const DEFAULT_PRIORITY = 150;

/**
 * The instance names that end up in a rendered sync group on some director: a group
 * renders on a director with the members it runs, when they are two or more.
 */
export function groupedInstances(spec: ParsedSpec): Set<string> {
  const vrrp = spec.vrrp;
  if (!vrrp) return new Set();
  const names = new Set(vrrp.instances.map((i) => i.name));
  const groups = vrrp.syncGroups === undefined
    ? [vrrp.instances.map((i) => i.name)]
    : vrrp.syncGroups.map((g) => [...new Set(g.instances.filter((n) => names.has(n)))]);
  const out = new Set<string>();
  spec.directors.forEach((_, order) => {
    const runs = new Set(instancesOfDirector(spec, order).map((i) => i.name));
    for (const g of groups) {
      const members = g.filter((n) => runs.has(n));
      if (members.length > 1) for (const m of members) out.add(m);
    }
  });
  return out;
}

export function validateSyncGroups(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  const vrrp = spec.vrrp;
  const groups = vrrp?.syncGroups;
  if (!vrrp || groups === undefined) return out.issues;
  if (vrrp.syncGroup !== undefined) {
    out.error(
      "invalid-value",
      ["vrrp", "syncGroup"],
      `syncGroup ${vrrp.syncGroup} joins every instance into one group, but syncGroups lists the groups too`,
      "use one of them: syncGroups, with that group in it, says everything",
    );
  }
  const instances = new Map(vrrp.instances.map((inst, k) => [inst.name, { inst, k }]));
  const groupOf = new Map<string, string>();
  const seenNames = new Map<string, number>();
  groups.forEach((g, gi) => {
    const path = ["vrrp", "syncGroups", gi] as const;
    const first = seenNames.get(g.name);
    if (first !== undefined) {
      out.error("duplicate-name", [...path, "name"], `sync group ${g.name} is defined twice (vrrp.syncGroups[${first}] and [${gi}])`, "rename one, or merge them");
    } else {
      seenNames.set(g.name, gi);
    }
    const members: string[] = [];
    g.instances.forEach((name, m) => {
      if (!instances.has(name)) {
        out.error("unknown-vrrp-instance", [...path, "instances", m], `sync group ${g.name} names instance ${name}, which vrrp.instances does not define`, "fix the name or define the instance");
        return;
      }
      if (members.includes(name)) {
        out.error("invalid-value", [...path, "instances", m], `instance ${name} is listed twice in sync group ${g.name}`, "list it once");
        return;
      }
      const other = groupOf.get(name);
      if (other !== undefined) {
        out.error(
          "keepalived-incompatible",
          [...path, "instances", m],
          `instance ${name} is already in sync group ${other}: keepalived keeps an instance in one sync group and ignores it in ${g.name} (with a warning)`,
          "keep each instance in one group",
        );
        return;
      }
      groupOf.set(name, g.name);
      members.push(name);
    });
    if (members.length < 2) {
      out.error(
        "keepalived-incompatible",
        [...path, "instances"],
        `sync group ${g.name} has ${members.length === 0 ? "no instance" : `only ${members[0]!}`}: a group of fewer than two instances syncs nothing, and keepalived warns about it`,
        "add another instance, or remove the group (an instance outside every group fails over on its own)",
      );
      return;
    }
    if (!sameDirectors(spec, g.name, gi, g.instances, members.map((n) => instances.get(n)!.inst), out)) return;
    if (spec.directors.length < 2) return;
    checkGroupAcrossDirectors(spec, g.name, gi, members.map((n) => instances.get(n)!.inst), out);
  });
  return out.issues;
}

type Instances = NonNullable<ParsedSpec["vrrp"]>["instances"];

/**
 * The members of a group run on the same directors: the group fails over as one, which a
 * director running only some of them cannot do (and each director renders the group with
 * the members it runs, so the pair would disagree on what the group is). Reports the first
 * member whose set differs from the first member's; true when all agree.
 */
function sameDirectors(spec: ParsedSpec, name: string, gi: number, listed: string[], members: Instances, out: IssueCollector): boolean {
  const setOf = (inst: Instances[number]) => instanceDirectorIndices(spec, inst).map((i) => spec.directors[i]!.name);
  const first = members[0];
  if (!first) return true;
  const want = setOf(first);
  for (const inst of members.slice(1)) {
    const have = setOf(inst);
    if (have.length === want.length && have.every((n) => want.includes(n))) continue;
    out.error(
      "vrrp-pair-mismatch",
      ["vrrp", "syncGroups", gi, "instances", listed.indexOf(inst.name)],
      `instance ${inst.name} runs on ${listText(have)}, but ${first.name}, in the same sync group ${name}, runs on ${listText(want)}: a sync group fails over as one, so its instances must run on the same directors`,
      "give the instances of a group the same directors, or split the group",
    );
    return false;
  }
  return true;
}

/** The members of a group must start alike on each director and prefer the same master. */
function checkGroupAcrossDirectors(
  spec: ParsedSpec, name: string, gi: number, members: Instances, out: IssueCollector,
): void {
  const preferred = new Map<string, string[]>();
  for (const inst of members) {
    let best: { director: string; priority: number } | undefined;
    instanceDirectorIndices(spec, inst).forEach((order, rank) => {
      const d = spec.directors[order]!;
      const o = d.vrrp?.[inst.name] ?? {};
      const priority = o.priority ?? derivedPriority(inst.priority ?? DEFAULT_PRIORITY, rank);
      if (!best || priority > best.priority) best = { director: d.name, priority };
    });
    if (best) preferred.set(best.director, [...(preferred.get(best.director) ?? []), inst.name]);
  }
  if (preferred.size > 1) {
    const parts = [...preferred].map(([d, list]) => `${d} for ${listText(list)}`);
    out.warning(
      "vrrp-pair-mismatch",
      ["vrrp", "syncGroups", gi],
      `the instances of sync group ${name} prefer different masters (${parts.join("; ")}): the group moves as one, so it follows whichever member changes state first`,
      "give one director the highest priority in every member, or split the group",
    );
  }
  spec.directors.forEach((d, order) => {
    const states = new Map<string, string[]>();
    for (const inst of members) {
      const rank = instanceDirectorIndices(spec, inst).indexOf(order);
      if (rank < 0) continue;
      const o = d.vrrp?.[inst.name] ?? {};
      const state = o.state ?? derivedState(o.nopreempt ?? inst.nopreempt, rank);
      states.set(state, [...(states.get(state) ?? []), inst.name]);
    }
    if (states.size < 2) return;
    out.warning(
      "vrrp-pair-mismatch",
      ["directors", order, "vrrp"],
      `director ${d.name} starts the instances of sync group ${name} in different states (MASTER: ${listText(states.get("MASTER") ?? [])}; BACKUP: ${listText(states.get("BACKUP") ?? [])}): the group changes state as one, so some member changes right after start`,
      "give the members the same state (and nopreempt) on each director",
    );
  });
}
