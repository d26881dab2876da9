/**
 * Director rules: unique names, and per-director VRRP overrides that name an instance
 * the spec does not define or the director does not run.
 */
import type { Issue } from "../issues.js";
import type { ParsedSpec } from "../schema/spec-schema.js";
import { IssueCollector } from "./validation-context.js";

/** Director-level rules. */
export function validateDirectors(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  const seen = new Map<string, number>();
  const instances = (spec.vrrp?.instances ?? []).map((i) => i.name);
  spec.directors.forEach((d, i) => {
    const first = seen.get(d.name);
    if (first === undefined) {
      seen.set(d.name, i);
    } else {
      out.error(
        "duplicate-name",
        ["directors", i, "name"],
        `director name "${d.name}" is already used by directors[${first}]`,
        "director names must be unique: services, plans and state files refer to directors by name",
      );
    }
    for (const key of Object.keys(d.vrrp ?? {})) {
      const inst = spec.vrrp?.instances.find((x) => x.name === key);
      if (inst) {
        if (inst.directors !== undefined && !inst.directors.includes(d.name)) {
          out.error(
            "unknown-vrrp-instance",
            ["directors", i, "vrrp", key],
            `director ${d.name} overrides VRRP instance "${key}", which it does not run (the instance's directors: ${inst.directors.join(", ")})`,
            "remove the override, or add the director to the instance's directors",
          );
        }
        continue;
      }
      out.error(
        "unknown-vrrp-instance",
        ["directors", i, "vrrp", key],
        `director ${d.name} overrides VRRP instance "${key}", which is not defined${instances.length > 0 ? ` (instances: ${instances.join(", ")})` : " (vrrp.instances is empty)"}`,
        "fix the name, or define the instance under vrrp.instances",
      );
    }
  });
  return out.issues;
}
