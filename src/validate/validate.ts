/**
 * validate: the semantic rules that relate fields to each other, run on a spec that passed
 * the schema (defaults filled, the user's order kept) so every path points into the input.
 * Every rule family runs and every issue is reported: nothing stops at the first problem,
 * and nothing throws.
 */
import { error, type Issue } from "../issues.js";
import type { ParsedSpec } from "../schema/spec-schema.js";
import { validateDirectors } from "./validate-directors.js";
import { validateGroups } from "./validate-groups.js";
import { validateHa } from "./validate-ha.js";
import { validateHaPairs } from "./validate-ha-pairs.js";
import { validateHealthChecks } from "./validate-health-checks.js";
import { validateKeepalivedCompat } from "./validate-keepalived-compat.js";
import { validateRealServers } from "./validate-real-servers.js";
import { validateServices } from "./validate-services.js";
import { validateSyncGroups } from "./validate-sync-groups.js";
import { validateVrrp } from "./validate-vrrp.js";
import { IssueCollector } from "./validation-context.js";

/** One family of rules: a pure function from the parsed spec to its findings. */
export type RuleFamily = (spec: ParsedSpec) => Issue[];

/** The rule families, in the order their findings are listed. */
export const RULE_FAMILIES: ReadonlyArray<readonly [string, RuleFamily]> = [
  ["directors", validateDirectors],
  ["services", validateServices],
  ["real servers", validateRealServers],
  ["health checks", validateHealthChecks],
  ["vrrp", validateVrrp],
  ["ha", validateHa],
  ["ha pairs", validateHaPairs],
  ["keepalived compatibility", validateKeepalivedCompat],
  ["sync groups", validateSyncGroups],
  ["service groups", validateGroups],
];

/**
 * Checks a parsed spec against every semantic rule and returns all issues (errors and
 * warnings). An empty list means the spec is good to normalize and render.
 */
export function validate(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  for (const [name, family] of RULE_FAMILIES) {
    try {
      for (const issue of family(spec)) out.add(issue);
    } catch (e) {
      // a bug in a rule must not hide the other families' findings, nor pass the spec
      out.add(error("invalid-value", [], `the ${name} rules failed on this spec (${e instanceof Error ? e.message : String(e)}); please report this`));
    }
  }
  return out.issues;
}
