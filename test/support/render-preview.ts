/**
 * Renders a director resource's preview in the layout `pulumi preview --diff` prints for an
 * update without a detailed diff (Node's provider hosts drop it): the old inputs (after a
 * refresh: the view the provider read from the director) against the new inputs (the view
 * the spec asks for), nested objects opened with `{`, keys aligned within an object, `~`
 * for a changed value (`2 => 5`), `+`/`-` for an added or removed key. Only properties of
 * the view are compared: the other inputs are the same on both sides unless the spec
 * changed them. Used to write (and check) the examples in docs/component-library.md.
 */
import { diffLines } from "diff";
import type { DirectorView } from "../../src/index.js";

const TYPE = "pulumi-nodejs:dynamic/ipvs:IpvsDirectorState";

type Value = string | number | boolean | undefined | { [key: string]: Value };

function isObject(v: Value): v is { [key: string]: Value } {
  return v !== null && typeof v === "object";
}

function scalar(v: Value): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function same(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `value` in full, every line marked with `mark` (an added or removed key). */
function whole(mark: "+" | "-", key: string, width: number, value: Value, indent: string, out: string[]): void {
  const title = `${indent}${mark} ${key.padEnd(width)}: `;
  if (!isObject(value)) {
    out.push(`${title}${scalar(value)}`);
    return;
  }
  out.push(`${title}{`);
  const keys = Object.keys(value).sort();
  const w = Math.max(0, ...keys.map((k) => k.length));
  for (const k of keys) whole(mark, k, w, value[k], `${indent}    `, out);
  out.push(`${indent}  }`);
}

/** The differences of two objects, Pulumi's way. */
function objectDiff(olds: { [key: string]: Value }, news: { [key: string]: Value }, indent: string, out: string[]): void {
  const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].sort().filter((k) => !same(olds[k], news[k]));
  const width = Math.max(0, ...keys.map((k) => k.length));
  for (const k of keys) {
    const a = olds[k], b = news[k];
    if (a === undefined) whole("+", k, width, b, indent, out);
    else if (b === undefined) whole("-", k, width, a, indent, out);
    else if (isObject(a) && isObject(b)) {
      out.push(`${indent}~ ${k.padEnd(width)}: {`);
      objectDiff(a, b, `${indent}    `, out);
      out.push(`${indent}  }`);
    } else if (typeof a === "string" && typeof b === "string" && (a.includes("\n") || b.includes("\n"))) {
      // a multi-line string: a line diff
      out.push(`${indent}~ ${k.padEnd(width)}: (text)`);
      for (const part of diffLines(a, b)) {
        if (!part.added && !part.removed) continue;
        for (const l of part.value.replace(/\n$/, "").split("\n")) out.push(`${indent}    ${part.added ? "+" : "-"} ${l}`);
      }
    } else {
      out.push(`${indent}~ ${k.padEnd(width)}: ${scalar(a)} => ${scalar(b)}`);
    }
  }
}

/** The preview text of one director resource ("" when it has no change). */
export function renderPreview(name: string, id: string, changes: boolean, olds: DirectorView, news: DirectorView): string {
  if (!changes) return "";
  const out = [
    `  ~ ${TYPE}: (update)`,
    `      [id=${id}]`,
    `      [urn=urn:pulumi:prod::acme::ipvs:index:IpvsCluster$ipvs:index:IpvsDirector$${TYPE}::${name}]`,
  ];
  objectDiff(olds as unknown as { [key: string]: Value }, news as unknown as { [key: string]: Value }, "    ", out);
  return `${out.join("\n")}\n`;
}
