/**
 * Renders a director resource's diff the way `pulumi preview --diff` lists a detailed diff:
 * one line per property path, the old value from the state, the new one from the inputs.
 * Used to write (and check) the preview examples in docs/component-library.md.
 */
import { diffLines } from "diff";
import type { DirectorView } from "../../src/index.js";
import type { DirectorDiff } from "../../components/director-provider.js";

const TYPE = "pulumi-nodejs:dynamic/ipvs:IpvsDirectorState";

/** `services["a b"].servers["c"].weight` -> ["services", "a b", "servers", "c", "weight"] */
function parsePath(path: string): string[] {
  const out: string[] = [];
  for (const m of path.matchAll(/([A-Za-z]+)|\["((?:[^"\\]|\\.)*)"\]/g)) out.push(m[1] ?? JSON.parse(`"${m[2]}"`));
  return out;
}

function lookup(view: DirectorView, path: string): unknown {
  let v: unknown = view;
  for (const key of parsePath(path)) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object") {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${typeof v === "object" ? "{...}" : show(v)}`).join(", ")} }`;
  }
  return String(value);
}

/** The preview text of one director resource ("" when the diff has no change). */
export function renderPreview(name: string, id: string, diff: DirectorDiff, olds: DirectorView, news: DirectorView): string {
  if (!diff.changes) return "";
  const lines = [
    `  ~ ${TYPE}: (update)`,
    `      [id=${id}]`,
    `      [urn=urn:pulumi:prod::acme::ipvs:index:IpvsCluster$ipvs:index:IpvsDirector$${TYPE}::${name}]`,
  ];
  for (const [path, d] of Object.entries(diff.detailedDiff)) {
    if (path === "keepalivedConf") {
      lines.push(`    ~ keepalivedConf:`);
      for (const part of diffLines(olds.keepalivedConf, news.keepalivedConf)) {
        const mark = part.added ? "+" : part.removed ? "-" : " ";
        for (const l of part.value.replace(/\n$/, "").split("\n")) if (mark !== " ") lines.push(`        ${mark} ${l}`);
      }
    } else if (d.kind === "update") {
      lines.push(`    ~ ${path}: ${show(lookup(olds, path))} => ${show(lookup(news, path))}`);
    } else if (d.kind === "add") {
      lines.push(`    + ${path}: ${show(lookup(news, path))}`);
    } else {
      lines.push(`    - ${path}: ${show(lookup(olds, path))}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
