/**
 * Loading rendered rules into a lab director and reading the kernel table back, for the
 * conformance, keepalived and traffic lab tests.
 *
 * One SSH exec per batch: for each rule set, `ipvsadm -R` (the set prefixed with a `-C`
 * line, so the clear and the load are one process), then `ipvsadm -S -n` and
 * `ipvsadm -L -n --thresholds` (`-S` never saves thresholds). Sections are split on marker
 * lines; under TCG every process costs ~50 ms, so the fewer the better.
 *
 * Works with test/lab/lab.ts only through its public helpers (owned by another helper).
 */
import type { IpvsTable } from "../../../src/model/model.js";
import { sortServices } from "../../../src/model/service-key.js";
import type { Issue } from "../../../src/issues.js";
import { parseIpvsadmSave } from "../../../src/state/parse-ipvsadm-save.js";
import { applyThresholds, parseIpvsadmThresholds } from "../../../src/state/parse-ipvsadm-thresholds.js";
import type { LabDirector } from "../lab.js";

/** What one rule set became in the kernel. */
export interface TableReadBack {
  /** everything `ipvsadm -R` printed (stdout and stderr); empty when every line loaded */
  restoreOutput: string;
  restoreCode: number;
  /** `ipvsadm -S -n` */
  saveText: string;
  /** `ipvsadm -L -n --thresholds` */
  thresholdsText: string;
  /** save + thresholds, parsed, in canonical order */
  table: IpvsTable;
  /** parse issues of either listing (expected: none) */
  issues: Issue[];
}

const MARK = "@@ipvs-lab-readback";

function heredocDelimiter(text: string, i: number): string {
  let tag = `__IPVS_RULES_${i}__`;
  while (text.split("\n").includes(tag)) tag = `_${tag}_`;
  return tag;
}

/** The guest shell script that loads each rule set in turn and reads the table after each. */
export function readBackScript(ruleSets: readonly string[]): string {
  const parts: string[] = [];
  ruleSets.forEach((rules, i) => {
    const body = `-C\n${rules}${rules === "" || rules.endsWith("\n") ? "" : "\n"}`;
    const tag = heredocDelimiter(body, i);
    parts.push(
      `echo '${MARK} ${i} restore'`,
      `ipvsadm -R 2>&1 <<'${tag}'\n${body}${tag}`,
      `echo "${MARK} ${i} rc $?"`,
      `echo '${MARK} ${i} save'`,
      "ipvsadm -S -n 2>&1",
      `echo '${MARK} ${i} thresholds'`,
      "ipvsadm -L -n --thresholds 2>&1",
    );
  });
  parts.push(`echo '${MARK} end'`);
  return parts.join("\n");
}

/** A deep copy in canonical order: the comparison treats services and pools as sets. */
export function canonicalTable(table: IpvsTable): IpvsTable {
  return { services: sortServices(structuredClone(table.services)) };
}

/** Parses `-S -n` and `--thresholds` text into one table. */
export function parseLiveTable(saveText: string, thresholdsText: string): { table: IpvsTable; issues: Issue[] } {
  const saved = parseIpvsadmSave(saveText);
  const thresholds = parseIpvsadmThresholds(thresholdsText);
  return {
    table: canonicalTable(applyThresholds(saved.table, thresholds.thresholds)),
    issues: [...saved.issues, ...thresholds.issues],
  };
}

/** Splits the output of {@link readBackScript}. */
export function parseReadBackOutput(stdout: string, count: number): TableReadBack[] {
  const sections = new Map<string, string[]>();
  const codes = new Map<number, number>();
  let current: string[] | undefined;
  let ended = false;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(`${MARK} `)) {
      const words = line.slice(MARK.length + 1).split(" ");
      if (words[0] === "end") {
        ended = true;
        current = undefined;
      } else if (words[1] === "rc") {
        codes.set(Number(words[0]), Number(words[2]));
        current = undefined;
      } else {
        current = [];
        sections.set(`${words[0]} ${words[1]}`, current);
      }
      continue;
    }
    current?.push(line);
  }
  if (!ended) throw new Error(`read-back script did not finish; output:\n${stdout}`);
  const text = (key: string): string => {
    const lines = sections.get(key);
    if (lines === undefined) throw new Error(`read-back output lacks section ${key}:\n${stdout}`);
    return lines.join("\n").replace(/\n+$/, "") + (lines.some((l) => l !== "") ? "\n" : "");
  };
  const out: TableReadBack[] = [];
  for (let i = 0; i < count; i++) {
    const saveText = text(`${i} save`);
    const thresholdsText = text(`${i} thresholds`);
    const { table, issues } = parseLiveTable(saveText, thresholdsText);
    out.push({
      restoreOutput: text(`${i} restore`),
      restoreCode: codes.get(i) ?? -1,
      saveText,
      thresholdsText,
      table,
      issues,
    });
  }
  return out;
}

/**
 * Loads each rule set into the director in turn (`-C` first, so nothing leaks from the
 * previous set) and reads the table back after each: one SSH exec for all of them. The
 * director's table holds the last set afterwards.
 */
export async function loadAndReadBack(d: LabDirector, ruleSets: readonly string[]): Promise<TableReadBack[]> {
  const r = await d.exec(readBackScript(ruleSets), { timeoutMs: 30000 + ruleSets.length * 5000 });
  if (r.code !== 0 || r.stderr !== "") {
    throw new Error(`${d.name}: read-back script failed (exit ${r.code}): ${r.stderr}\n${r.stdout}`);
  }
  return parseReadBackOutput(r.stdout, ruleSets.length);
}

/** `ipvsadm -C; ipvsadm -R` with the rules on stdin; throws unless it exits 0 with empty stderr. */
export async function loadRules(d: LabDirector, rules: string): Promise<void> {
  const r = await d.exec("ipvsadm -C && ipvsadm -R", { stdin: rules });
  if (r.code !== 0 || r.stderr !== "" || r.stdout !== "") {
    throw new Error(`${d.name}: ipvsadm -R failed (exit ${r.code}):\n${r.stderr}${r.stdout}\n--- rules\n${rules}`);
  }
}

/** The director's live table (`-S -n` plus thresholds), parsed; throws on parse issues. */
export async function readLiveTable(d: LabDirector): Promise<IpvsTable> {
  const out = await d.run(`ipvsadm -S -n && echo '${MARK} thresholds' && ipvsadm -L -n --thresholds`);
  const marker = `${MARK} thresholds\n`;
  const at = out.indexOf(marker);
  if (at < 0) throw new Error(`${d.name}: no thresholds section in:\n${out}`);
  const { table, issues } = parseLiveTable(out.slice(0, at), out.slice(at + marker.length));
  if (issues.length > 0) throw new Error(`${d.name}: cannot parse the live table: ${JSON.stringify(issues)}\n${out}`);
  return table;
}
