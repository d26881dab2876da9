/**
 * Writers for an imported spec: a YAML spec file (with `$schema`, readable key order, flow
 * style for small items, and comments for placeholders and secrets) and a TypeScript
 * program that passes the same object to `compile()` from the package's public entry.
 * Same spec, same text.
 */
import { isMap, isScalar, isSeq, Document, visit, type Node, type Pair } from "yaml";
import type { SpecInput } from "../schema/spec-schema.js";
import type { SpecNote } from "./import-context.js";

/** Keys in the order a reader expects them; others follow in their own order. */
const KEY_ORDER = [
  "$schema", "targetKernel", "ha", "directors", "services", "vrrp", "syncDaemon", "timeouts", "sysctl", "keepalived",
  // directors, services, instances, scripts
  "type", "name", "ssh", "interfaces", "protocol", "address", "routerId", "port", "fwmark", "family",
  "scheduler", "schedulerFlags", "persistence", "onePacket", "virtualhost",
  "interface", "virtualRouterId", "priority", "advertInterval", "version", "nopreempt", "preemptDelay", "vips", "excludedVips",
  "authType", "authPassword", "unicast", "unicastPeers", "trackInterfaces", "trackScripts", "command", "interval",
  // pools and checks
  "forwarding", "method", "servers", "weight", "healthChecks", "urls", "path",
];

function rank(key: string): number {
  const r = KEY_ORDER.indexOf(key);
  return r < 0 ? KEY_ORDER.length : r;
}

/** A copy of plain data with object keys in reading order (`pool` and `vrrp` overrides last). */
export function orderSpecKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => orderSpecKeys(v)) as T;
  if (value === null || typeof value !== "object") return value;
  const src = value as Record<string, unknown>;
  const keys = Object.keys(src).filter((k) => src[k] !== undefined);
  const last = (k: string) => (k === "pool" || (k === "vrrp" && "interfaces" in src) ? 1 : 0);
  keys.sort((a, b) => last(a) - last(b) || rank(a) - rank(b));
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = orderSpecKeys(src[k]);
  return out as T;
}

/** Options of {@link formatSpecYaml}. */
export interface SpecYamlOptions {
  /** the `$schema` value: a path to ipvs-spec.schema.json relative to the file, or its URL */
  schema?: string;
  /** comment lines at the top of the file */
  header?: readonly string[];
  /** comments attached to spec paths */
  notes?: readonly SpecNote[];
}

function isScalarOnly(node: unknown): boolean {
  if (isSeq(node)) return node.items.every((i) => isScalar(i));
  if (isMap(node)) return node.items.every((p) => isScalar(p.value));
  return false;
}

function attachNote(doc: Document, note: SpecNote): void {
  const path = [...note.path];
  const last = path.pop();
  if (last === undefined) return;
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  const text = ` ${note.comment}`;
  if (isMap(parent)) {
    const pair = parent.items.find((p: Pair) => isScalar(p.key) && p.key.value === last);
    if (pair && isScalar(pair.key)) pair.key.commentBefore = text;
  } else if (isSeq(parent) && typeof last === "number") {
    const item = parent.items[last] as Node | undefined;
    if (item) item.commentBefore = text;
  }
}

/** The spec as a YAML file: `$schema` first, then the spec in reading order. */
export function formatSpecYaml(spec: SpecInput, options: SpecYamlOptions = {}): string {
  const body = orderSpecKeys({ ...(options.schema !== undefined ? { $schema: options.schema } : {}), ...spec });
  const doc = new Document(body);
  visit(doc, {
    Seq(_, node) {
      if (isScalarOnly(node)) node.flow = true;
      for (const item of node.items) if (isMap(item) && isScalarOnly(item)) item.flow = true;
    },
  });
  for (const note of options.notes ?? []) attachNote(doc, note);
  if (options.header && options.header.length > 0) doc.commentBefore = options.header.map((l) => ` ${l}`).join("\n");
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function tsLiteral(value: unknown, indent: string, path: ReadonlyArray<string | number>, notes: ReadonlyMap<string, string>): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  const inner = `${indent}  `;
  const note = (p: ReadonlyArray<string | number>) => {
    const c = notes.get(JSON.stringify(p));
    return c === undefined ? "" : `${inner}// ${c}\n`;
  };
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
    const items = value.map((v, i) => `${note([...path, i])}${inner}${tsLiteral(v, inner, [...path, i], notes)},`);
    return `[\n${items.join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const key = (k: string) => (IDENTIFIER.test(k) ? k : JSON.stringify(k));
  const flat = entries.every(([k, v]) => (v === null || typeof v !== "object") && !notes.has(JSON.stringify([...path, k])));
  if (flat) {
    // small objects of plain values read best on one line
    const line = `{ ${entries.map(([k, v]) => `${key(k)}: ${JSON.stringify(v)}`).join(", ")} }`;
    if (indent.length + line.length <= 100) return line;
  }
  const lines = entries.map(([k, v]) => `${note([...path, k])}${inner}${key(k)}: ${tsLiteral(v, inner, [...path, k], notes)},`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** Options of {@link formatSpecTypeScript}. */
export interface SpecProgramOptions {
  header?: readonly string[];
  notes?: readonly SpecNote[];
  /** the module the program imports compile() from @default "pulumi-ipvs" */
  importFrom?: string;
}

/**
 * A TypeScript program that compiles the spec: it exports `spec` (typed `SpecInput`) and
 * `result` (what `compile(spec)` returns) and throws with every issue when the spec is invalid.
 */
export function formatSpecTypeScript(spec: SpecInput, options: SpecProgramOptions = {}): string {
  const notes = new Map((options.notes ?? []).map((n) => [JSON.stringify(n.path), n.comment]));
  const from = options.importFrom ?? "pulumi-ipvs";
  const lines = [
    ...(options.header ?? []).map((l) => `// ${l}`),
    `import { compile, formatIssues, type SpecInput } from ${JSON.stringify(from)};`,
    "",
    `export const spec: SpecInput = ${tsLiteral(orderSpecKeys(spec), "", [], notes)};`,
    "",
    "/** The artifacts: the ipvsadm rules and one keepalived.conf per director. */",
    "export const result = compile(spec);",
    "if (!result.ok) throw new Error(formatIssues(result.issues));",
    "",
  ];
  return lines.join("\n");
}
