/**
 * The digest read (issue #17, point 3): a plan's cost grows with the change, not with the
 * table. The host sends the director one digest per desired service, the sha256 of the
 * service's block as renderIpvsadmRules prints it (src/render/rule-blocks.ts cuts it from
 * compile's rules); the read-state script (digest_read in src/apply-script/scripts.sh.ts)
 * hashes each live service's `ipvsadm -S -n` lines with its thresholds put in the same
 * way, and prints in full only the services whose digest differs or that the host did not
 * list (foreign, other owners', removed ones), and the others by their number (section
 * `same`). The fingerprint still covers the whole table.
 *
 * A service listed as the same has exactly the desired block's lines on the director, so
 * the host reads that block instead of the director's copy: the table is the one the full
 * read gives (test/unit/digest-read.test.ts on the host, test/lab/digest-read.test.ts
 * against a kernel: the plans are deepEqual). Only the connection counts of unchanged
 * services are not read; the planner only looks up those of servers it drains.
 */
import { createHash } from "node:crypto";
import type { IpvsService } from "../model/model.js";
import { serviceSelector } from "../model/service-key.js";
import { renderIpvsadmRules } from "../render/render-ipvsadm-rules.js";
import { RuleBlocks } from "../render/rule-blocks.js";
import { parseIpvsadmSave } from "./parse-ipvsadm-save.js";
import { readRuleBlocks, type ExpectedTable } from "./read-clean-live-table.js";

/** What a digest read sends: one `DIGEST SELECTOR` line per service, and those services' blocks in that order. */
export interface DigestRequest {
  /** the lines sent to the director */
  text: string;
  /** the block of line n (1-based) at n - 1 */
  blocks: string[];
  /** the expected table and the rules the blocks come from */
  expected: ExpectedTable & { rules: string };
}

/** The sha256 (hex) of a service's block (its lines without the last newline), as digest_read hashes it. */
export function blockDigest(block: string): string {
  return createHash("sha256").update(block).update("\n").digest("hex");
}

/** The digest request of the expected table (its rules rendered when the caller has none). */
export function digestRequest(expected: ExpectedTable): DigestRequest {
  const rules = expected.rules ?? renderIpvsadmRules(expected.table);
  const blocks = RuleBlocks.of(rules);
  const lines: string[] = [];
  const found: string[] = [];
  for (const s of expected.table.services) {
    const selector = serviceSelector(s.key);
    const block = blocks.blockOf(selector);
    // a service without its block is simply not listed: the director then prints it in full
    if (block === undefined) continue;
    found.push(block);
    lines.push(`${blockDigest(block)} ${selector}`);
  }
  return { text: lines.length === 0 ? "" : `${lines.join("\n")}\n`, blocks: found, expected: { table: expected.table, rules } };
}

/**
 * The services the director reported unchanged (section `same`: line numbers of the
 * request), read from their desired blocks; undefined when the section names a line the
 * request does not have.
 */
export function sameServices(same: string, request: DigestRequest): IpvsService[] | undefined {
  const texts: string[] = [];
  const seen = new Set<number>();
  for (const word of same.split(/\s+/)) {
    if (word === "") continue;
    const n = /^\d{1,9}$/.test(word) ? Number(word) : 0;
    const block = request.blocks[n - 1];
    if (block === undefined || seen.has(n)) return undefined;
    seen.add(n);
    texts.push(block);
  }
  if (texts.length === 0) return [];
  const text = `${texts.join("\n")}\n`;
  return readRuleBlocks(text, request.expected) ?? parseIpvsadmSave(text).table.services;
}
