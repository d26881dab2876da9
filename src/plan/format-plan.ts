/** Three renderings of a plan: for people (terminal), JSON (stable), Markdown (pull requests). */
import type { ContestedService, DirectorPlan, ForeignService, Plan, PlanOperation } from "./plan-types.js";

const SYMBOL: Record<PlanOperation["action"], string> = {
  "add-service": "+", "edit-service": "~", "remove-service": "-",
  "add-real-server": "+", "edit-real-server": "~", "drain-real-server": "v", "remove-real-server": "-",
};

const COLOR = { "+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m", v: "\x1b[35m", reset: "\x1b[0m", bold: "\x1b[1m", dim: "\x1b[2m" };

function opLine(op: PlanOperation): string {
  const what = op.realServer ? `real server ${op.realServer} of ${op.service} (${op.serviceKey})` : `service ${op.service} (${op.serviceKey})`;
  const verb = op.action.split("-")[0];
  const changes = op.changes.map((c) => `${c.field}: ${c.from} -> ${c.to}`).join(", ");
  return `${SYMBOL[op.action]} ${verb} ${what}${changes ? `: ${changes}` : ""} [${op.class}${op.owner === "keepalived" ? ", via keepalived" : ""}]${op.note ? ` (${op.note})` : ""}`;
}

function counts(d: DirectorPlan): string {
  const by = (c: string) => d.operations.filter((o) => o.class === c).length;
  return `${d.operations.length} change(s): ${by("in-place")} in-place, ${by("draining")} draining, ${by("disruptive")} disruptive`;
}

/** Services adopted by this plan (a plan saved before adoption existed has none). */
function adoptingOf(d: DirectorPlan): string[] {
  return d.adopting ?? [];
}

/** The director's headline: no changes, adoption only (nothing but the ownership record), or the counts. */
function headline(d: DirectorPlan): string {
  if (d.empty) return "no changes";
  if (d.operations.length > 0 || d.keepalived.action !== "none" || d.foreign.some((f) => f.pruned)) return counts(d);
  const n = adoptingOf(d).length;
  return n > 0
    ? `adopting ${n} service(s) already on the director: no change to the IPVS table (apply records them as owned by ${d.owner})`
    : `ownership record update only: no change to the IPVS table`;
}

function adoptionLine(d: DirectorPlan): string | undefined {
  const names = adoptingOf(d);
  if (names.length === 0) return undefined;
  const shown = names.length <= 10 ? names.join(", ") : `${names.slice(0, 10).join(", ")} and ${names.length - 10} more`;
  return `= adopt ${shown}: on the director already, recorded as owned by ${d.owner} (no kernel change)`;
}

/** A service another owner records: information, never an operation of this plan. */
export function otherOwnerLine(f: ForeignService): string {
  return `service ${f.serviceKey} (${f.realServers} real server${f.realServers === 1 ? "" : "s"}) is owned by ${f.ownedBy}: not ours, left alone`;
}

/** A service no owner records, not declared here (drift; removed only by prune). */
function foreignLine(f: ForeignService): string {
  return `foreign service ${f.serviceKey} (${f.realServers} real servers): left alone`;
}

/** A service this spec declares that another owner records too. */
export function contestedLine(c: ContestedService): string {
  return `service ${c.service} (${c.serviceKey}) is also recorded by ${c.ownedBy}: both specs manage it (declare it in one only)`;
}

/** The plan for a terminal, like `terraform plan`; `color` adds ANSI colours. */
export function formatPlanText(plan: Plan, opts: { color?: boolean } = {}): string {
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${COLOR.reset}` : s);
  const out: string[] = [];
  out.push(`Rollout order: ${plan.order.join(" -> ")}`);
  for (const d of plan.directors) {
    out.push("");
    out.push(c(COLOR.bold, `director ${d.director}: ${headline(d)}`));
    out.push(c(COLOR.dim, `  live state ${d.fingerprint.slice(0, 12)}`));
    const adoption = adoptionLine(d);
    if (adoption !== undefined) out.push(`  ${c(COLOR.dim, adoption)}`);
    for (const op of d.operations) {
      const line = opLine(op);
      out.push(`  ${c(COLOR[SYMBOL[op.action] as "+"], line)}`);
    }
    if (d.keepalived.action !== "none") out.push(`  ${c(COLOR["~"], `~ keepalived: ${d.keepalived.action}`)}`);
    if (d.keepalived.diff) {
      for (const l of d.keepalived.diff.split("\n").slice(2)) {
        const col = l.startsWith("+") ? COLOR["+"] : l.startsWith("-") ? COLOR["-"] : COLOR.dim;
        if (l !== "") out.push(`    ${c(col, l)}`);
      }
    }
    for (const x of d.contested ?? []) out.push(`  ${c(COLOR["~"], `! ${contestedLine(x)}`)}`);
    for (const f of d.foreign) {
      if (f.pruned) out.push(`  ${c(COLOR["-"], `- prune foreign service ${f.serviceKey}`)}`);
      else out.push(`  ${c(COLOR.dim, f.ownedBy !== undefined ? `i ${otherOwnerLine(f)}` : `! ${foreignLine(f)}`)}`);
    }
  }
  return `${out.join("\n")}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The plan as stable JSON (sorted keys, two-space indent). Contains no secrets. */
export function formatPlanJson(plan: Plan): string {
  return `${JSON.stringify(sortKeys(plan), null, 2)}\n`;
}

/** The plan as Markdown for a pull-request comment. */
export function formatPlanMarkdown(plan: Plan): string {
  const out: string[] = ["## IPVS rollout plan", "", `Rollout order: ${plan.order.map((d) => `\`${d}\``).join(" → ")}`];
  for (const d of plan.directors) {
    out.push("", `### \`${d.director}\`: ${headline(d)}`);
    const adoption = adoptionLine(d);
    if (adoption !== undefined) out.push("", adoption.slice(2));
    if (d.operations.length > 0) {
      out.push("", "| | change | class | via |", "|---|---|---|---|");
      for (const op of d.operations) out.push(`| ${SYMBOL[op.action]} | ${opLine(op).slice(2).replace(/ \[.*$/, "").replace(/\|/g, "\\|")} | ${op.class} | ${op.owner} |`);
    }
    if (d.keepalived.diff) out.push("", "<details><summary>keepalived.conf diff</summary>", "", "```diff", d.keepalived.diff.trimEnd(), "```", "</details>");
    for (const x of d.contested ?? []) out.push("", `**Also recorded by ${x.ownedBy}:** \`${x.service}\` (\`${x.serviceKey}\`): both specs manage it.`);
    if (d.foreign.length > 0) {
      out.push("", "Foreign services (not declared here):");
      for (const f of d.foreign) {
        out.push(`- \`${f.serviceKey}\`${f.pruned ? " — **pruned**" : f.ownedBy !== undefined ? ` — owned by ${f.ownedBy}, not ours, left alone` : " — no owner records it, left alone"}`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}
