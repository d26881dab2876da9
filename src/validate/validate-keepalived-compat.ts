/**
 * VRRP settings keepalived 2.2 accepts only with a warning. Any warning makes
 * `keepalived -t` exit 5, and the apply script refuses a config that fails -t, so these
 * are errors here, before anything renders.
 */
import { derivedState, instanceDirectorIndices } from "../model/normalize.js";
import { addressFamily } from "../model/addresses.js";
import type { Issue } from "../issues.js";
import type { ParsedSpec } from "../schema/spec-schema.js";
import { groupedInstances } from "./validate-sync-groups.js";
import { IssueCollector } from "./validation-context.js";

export function validateKeepalivedCompat(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  const instances = spec.vrrp?.instances ?? [];
  // weights are ignored per instance: only for the instances a rendered sync group holds
  const grouped = groupedInstances(spec);
  instances.forEach((inst, i) => {
    const path = ["vrrp", "instances", i] as const;
    const inSyncGroup = grouped.has(inst.name);
    const v6 = inst.vips[0] !== undefined && addressFamily(inst.vips[0].split("/")[0]!) === "inet6";
    const version = inst.version ?? (v6 ? 3 : 2);
    if (version === 2 && !Number.isInteger(inst.advertInterval)) {
      out.error("keepalived-incompatible", [...path, "advertInterval"], `VRRP version 2 advertises in whole seconds; ${inst.advertInterval} is not one`, "use a whole number, or version: 3");
    }
    if (version === 3 && (inst.authType !== undefined || inst.authPassword !== undefined)) {
      out.error("keepalived-incompatible", [...path, "authType"], `VRRP version 3${v6 ? " (every IPv6 instance)" : ""} has no authentication`, "remove authType and authPassword");
    }
    (inst.trackInterfaces ?? []).forEach((t, k) => {
      if (t.name === inst.interface) out.error("keepalived-incompatible", [...path, "trackInterfaces", k, "name"], `instance ${inst.name} cannot track its own interface ${t.name}`, "keepalived already follows the instance's interface");
      if (inSyncGroup && t.weight !== undefined) out.error("keepalived-incompatible", [...path, "trackInterfaces", k, "weight"], "keepalived ignores track_interface weights inside a sync group", "drop the weight (a failed interface faults the whole group)");
    });
    (inst.trackScripts ?? []).forEach((t, k) => {
      if (inSyncGroup && t.weight !== undefined) out.error("keepalived-incompatible", [...path, "trackScripts", k, "weight"], "keepalived ignores track_script weights inside a sync group", "drop the weight");
    });
    instanceDirectorIndices(spec, inst).forEach((order, rank) => {
      const d = spec.directors[order]!;
      const o = d.vrrp?.[inst.name] ?? {};
      const nopreempt = o.nopreempt ?? inst.nopreempt;
      const state = o.state ?? derivedState(nopreempt, rank);
      if (inst.preemptDelay !== undefined && (nopreempt || state === "MASTER")) {
        out.error("keepalived-incompatible", [...path, "preemptDelay"], `preemptDelay on ${inst.name} clashes with ${nopreempt ? "nopreempt" : `the initial state MASTER of director ${d.name}`}`, "remove preemptDelay, or use nopreempt alone");
      }
      if ((o.authType ?? inst.authType) === "AH" && state === "MASTER") {
        out.error("keepalived-incompatible", [...path, "authType"], `AH authentication clashes with the initial state MASTER of director ${d.name}`, "use PASS, or start every director as BACKUP (nopreempt)");
      }
    });
  });
  (spec.vrrp?.scripts ?? []).forEach((s, k) => {
    if (s.weight === undefined) return;
    const by = instances.filter((inst) => grouped.has(inst.name) && (inst.trackScripts ?? []).some((t) => t.name === s.name)).map((inst) => inst.name);
    if (by.length > 0) out.error("keepalived-incompatible", ["vrrp", "scripts", k, "weight"], `keepalived ignores the weight of script ${s.name} inside a sync group (tracked by ${by.join(", ")})`, "drop the weight, or track it from instances outside every sync group");
  });
  return out.issues;
}
