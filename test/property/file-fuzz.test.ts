/**
 * File-level fuzzing of `ipvsc validate` and `ipvsc build`, in-process (runCli). Inputs are
 * the example specs (as written, and as JSON) and generated valid specs (as YAML and JSON),
 * with a leaf of the value swapped for a hostile one, then the text damaged: bits flipped,
 * bytes inserted and deleted (NUL, invalid UTF-8, CR), lines duplicated, deleted, swapped,
 * re-indented, scalars replaced by hostile strings in every quoting style, hostile lines
 * inserted (anchors, aliases, tags, unclosed and deep brackets). For every mutant:
 * - neither command throws or rejects, and each exits 0 or 1; they agree on the verdict;
 * - an accepted spec renders only lines the renderers can write: ipvsadm rules of the
 *   `-A`/`-a` grammar, one `-A` per service of the compiled model; keepalived.conf lines of
 *   the writer's token grammar, as many `virtual_server`/`vrrp_instance`/`real_server` blocks
 *   as the model has; printable ASCII outside quoted values; nothing written outside --out.
 *
 * Seeded (FILE_FUZZ_SEED overrides FC_SEED) and bounded in runs and in time: the report of
 * a failure names the seed and the shrunk input.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { runCli, type CliIo } from "../../src/cli/cli.js";
import { compileText } from "../../src/compile.js";
import type { DirectorModel, Model } from "../../src/model/model.js";
import { FC_SEED, arbSpecInput } from "../support/arbitraries.js";
import { listFiles } from "../support/list-files.js";
import { exampleSpecs } from "../support/example-specs.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SEED = Number(process.env["FILE_FUZZ_SEED"] ?? FC_SEED);
/** Runs, and the wall-clock budget for them (this runs on a slow 2-core machine). */
const NUM_RUNS = 600;
const TIME_LIMIT_MS = 15_000;

// ------------------------------------------------------------------------------ inputs

const EXAMPLES = exampleSpecs(ROOT).map((e) => readFileSync(join(ROOT, e.path), "utf8"));

/** Nesting that overflows a recursive parser's stack (1,000 is enough to make V8 abort inside `yaml`). */
const DEEP = 100_000;

/** Strings that try to break out of a value, a line, a token or the parser. */
const HOSTILE: readonly string[] = [
  "eth0; rm -rf /", "x\nvirtual_server 1.2.3.4 80 {", "-A -t 1.2.3.4:80", "x\n-A -t 1.2.3.4:80 -s rr", "x\n-a -t 1.2.3.4:80 -r 1.2.3.5:80 -m -w 1",
  "} virtual_server 1.2.3.4 80 {", "1.2.3.4 80 {", "includea /etc/shadow", "auth_pass x", "x\r\ny", "x\ry", "a\tb", "a  b", " a", "a ",
  "a".repeat(5000), "b".repeat(70_000), "*alias", "&anchor", "!!binary", "!!binary aGk=", "{", "}", "[", "]", "[".repeat(200), "\u0000", "eth0\u0000",
  "\"", "'", "#", "!", "$(reboot)", "${HOME}", "`id`", "\\", "\\n", "é", "eth\u00e9", "\u2028", "\ufeff", "\ud800", "\u200b", "\u007f",
  "0", "-1", "1e309", "NaN", ".inf", "null", "~", "true", "0x50", "065535", "<<", "", " ", "lb1", "eth0", "VI_1", "203.0.113.10", "/usr/bin/x y",
];

/** Whole lines to insert: YAML structure that is not data. */
const HOSTILE_LINES: readonly string[] = [
  "a: &a [x, x]", "<<: *a", "b: *a", "- *a", "*a", "&a", "!!binary", "!!str", "%YAML 1.2", "---", "...", "? x", "{", "[", "}", "]",
  "\"", "'", "|", ">", "#", "- {", `x: ${"[".repeat(DEEP)}`, "[".repeat(DEEP), "{\"a\":".repeat(DEEP), "- ".repeat(2000) + "x",
  "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  "virtual_server 1.2.3.4 80 {", "-A -t 1.2.3.4:80 -s rr", "services: []", "directors: []", "\t- x", "\u0000", "\ufeff",
  `x: ${"[".repeat(1000)}`, "{\"a\":".repeat(1000),
];

/** Values a structural edit puts in place of a leaf (strings from HOSTILE too): hostile, and valid but odd. */
const HOSTILE_VALUES: readonly unknown[] = [
  -1, 0, 1.5, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 1e309, -0, null, true, false, {}, [], [[["x"]]], { "<<": "x" }, ["eth0", "eth0"],
  { name: "x" }, "::ffff:192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:DB8::1", "::", "fe80::1%eth0", "sh", "mh", "flag-1", "dr", "tunnel",
  "gue", "udp", "sctp", "PASS", "AH", "BACKUP",
];

type Json = unknown;

/** The leaves (scalars) of a value, by path. */
function leafPaths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) {
    if (v.length === 0) out.push(at);
    v.forEach((x, i) => leafPaths(x, [...at, i], out));
  } else if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 0) out.push(at);
    for (const k of keys) leafPaths((v as Record<string, Json>)[k], [...at, k], out);
  } else {
    out.push(at);
  }
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let node = root;
  for (const p of path) node = (node as Record<string | number, Json>)[p];
  return node;
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  let node = root as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, Json>;
  node[path[path.length - 1]!] = value;
  return root;
}

interface LeafEdit {
  at: number;
  value: number;
  /** every leaf equal to the chosen one changes too (a consistent rename: an interface, an instance name) */
  everywhere: boolean;
}

function hostileValue(n: number): Json {
  const all = [...HOSTILE, ...HOSTILE_VALUES];
  return all[n % all.length];
}

/** A spec value with some leaves replaced, as YAML or JSON. */
function serialise(value: Json, format: "yaml" | "json", edits: LeafEdit[]): string {
  let v = structuredClone(value);
  for (const e of edits) {
    const paths = leafPaths(v);
    const chosen = paths[e.at % paths.length]!;
    const was = JSON.stringify(getAt(v, chosen));
    for (const p of e.everywhere ? paths.filter((q) => JSON.stringify(getAt(v, q)) === was) : [chosen]) {
      v = setAt(v, p, structuredClone(hostileValue(e.value)));
    }
  }
  return format === "json" ? JSON.stringify(v, null, 2) : stringify(v);
}

// --------------------------------------------------------------------------- mutations

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insertByte"; at: number; byte: number }
  | { kind: "insertBytes"; at: number; which: number }
  | { kind: "delete"; at: number; n: number }
  | { kind: "dupLine" | "deleteLine"; at: number }
  | { kind: "swapLines"; at: number; other: number }
  | { kind: "indent"; at: number; delta: number; tab: boolean }
  | { kind: "scalar"; at: number; hostile: number; style: number; everywhere: boolean }
  | { kind: "insertLine"; at: number; which: number }
  | { kind: "crlf" };

/** Byte sequences that are not text: NUL, invalid UTF-8, lone CR, a BOM, a tab. */
const BYTES: readonly number[][] = [[0], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x0d], [0x0d, 0x0a], [0xef, 0xbb, 0xbf], [0x09], [0x80]];

const pos = fc.nat({ max: 1 << 30 });
const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insertByte" as const), at: pos, byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insertBytes" as const), at: pos, which: fc.nat() }),
  fc.record({ kind: fc.constant("delete" as const), at: pos, n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constantFrom("dupLine" as const, "deleteLine" as const), at: pos }),
  fc.record({ kind: fc.constant("swapLines" as const), at: pos, other: pos }),
  fc.record({ kind: fc.constant("indent" as const), at: pos, delta: fc.integer({ min: -4, max: 4 }), tab: fc.boolean() }),
  {
    arbitrary: fc.record({ kind: fc.constant("scalar" as const), at: pos, hostile: fc.nat(), style: fc.nat({ max: 2 }), everywhere: fc.boolean() }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant("insertLine" as const), at: pos, which: fc.nat() }), weight: 2 },
  fc.record({ kind: fc.constant("crlf" as const) }),
);

/** Scalars of a YAML or JSON line: a value after `: `, `- `, `[` or `,`, quoted or plain. */
const SCALAR = /(?<=: |- |\[ ?|, ?)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s,[\]{}#"'][^,[\]{}#\n]*?)(?=\s*(?:[,\]}]|\s#|$))/g;

/** How a hostile string is written in place of a scalar: as is, double-quoted, single-quoted. */
function written(s: string, style: number): string {
  if (style === 1) return JSON.stringify(s);
  if (style === 2) return `'${s.replace(/'/g, "''")}'`;
  return s;
}

/** latin1 keeps bytes and characters one to one, so line edits and byte edits mix. */
const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

function mutate(text: string, mutations: Mutation[]): Buffer {
  let b = Buffer.from(text, "utf8");
  for (const m of mutations) {
    const n = b.length;
    switch (m.kind) {
      case "flip":
        if (n > 0) b[m.at % n] = b[m.at % n]! ^ (1 << m.bit);
        break;
      case "insertByte":
      case "insertBytes": {
        const at = m.at % (n + 1);
        const bytes = m.kind === "insertByte" ? [m.byte] : BYTES[m.which % BYTES.length]!;
        b = Buffer.concat([b.subarray(0, at), Buffer.from(bytes), b.subarray(at)]);
        break;
      }
      case "delete": {
        const at = m.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + m.n))]);
        break;
      }
      case "crlf":
        b = Buffer.from(b.toString("latin1").replace(/\n/g, "\r\n"), "latin1");
        break;
      default:
        b = Buffer.from(mutateLines(b.toString("latin1").split("\n"), m).join("\n"), "latin1");
    }
  }
  return b;
}

type LineMutation = Extract<Mutation, { kind: "dupLine" | "deleteLine" | "swapLines" | "indent" | "scalar" | "insertLine" }>;

/** A line-level mutation of `lines` (latin1 text, one character per byte), in place. */
function mutateLines(lines: string[], m: LineMutation): string[] {
  const i = m.at % lines.length;
  switch (m.kind) {
    case "dupLine":
      lines.splice(i, 0, lines[i]!);
      break;
    case "deleteLine":
      lines.splice(i, 1);
      break;
    case "swapLines": {
      const j = m.other % lines.length;
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      break;
    }
    case "indent": {
      const line = lines[i]!;
      const lead = /^[ \t]*/.exec(line)![0].length;
      if (m.tab) lines[i] = `\t${line}`;
      else lines[i] = m.delta >= 0 ? " ".repeat(m.delta) + line : line.slice(Math.min(lead, -m.delta));
      break;
    }
    case "insertLine":
      lines.splice(i, 0, latin1(HOSTILE_LINES[m.which % HOSTILE_LINES.length]!));
      break;
    case "scalar":
      // a scalar of some line, from this one on, replaced by a hostile string: there only,
      // or wherever the same scalar occurs
      for (let k = 0; k < lines.length; k++) {
        const li = (i + k) % lines.length;
        const found = [...lines[li]!.matchAll(SCALAR)];
        if (found.length === 0) continue;
        const s = found[m.at % found.length]!;
        const value = latin1(written(HOSTILE[m.hostile % HOSTILE.length]!, m.style));
        const replace = (line: string) => line.replace(SCALAR, (x) => (x === s[0] ? value : x));
        if (m.everywhere) return lines.map(replace);
        lines[li] = lines[li]!.slice(0, s.index) + value + lines[li]!.slice(s.index + s[0].length);
        break;
      }
      break;
  }
  return lines;
}

const arbEdits = fc.array(fc.record({ at: fc.nat(), value: fc.nat(), everywhere: fc.boolean() }), { maxLength: 2 });
const arbFormat = fc.constantFrom("yaml" as const, "json" as const);

const arbBase: fc.Arbitrary<{ text: string; file: string }> = fc.oneof(
  // an example as written
  { arbitrary: fc.nat({ max: EXAMPLES.length - 1 }).map((i) => ({ text: EXAMPLES[i]!, file: "spec.yaml" })), weight: 1 },
  // an example, maybe with hostile leaves, as YAML or JSON
  {
    arbitrary: fc.record({ i: fc.nat({ max: EXAMPLES.length - 1 }), format: arbFormat, edits: arbEdits })
      .map(({ i, format, edits }) => ({ text: serialise(parse(EXAMPLES[i]!) as Json, format, edits), file: `spec.${format}` })),
    weight: 2,
  },
  // a generated valid spec, maybe with hostile leaves
  {
    arbitrary: fc.record({ spec: arbSpecInput({ maxServices: 3, maxRealServers: 3 }), format: arbFormat, edits: arbEdits })
      .map(({ spec, format, edits }) => ({ text: serialise(spec, format, edits), file: `spec.${format}` })),
    weight: 3,
  },
);

// ------------------------------------------------------------------ what renderers write

const IP4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IP6 = String.raw`\[[0-9a-f:.]+\]`;
const SELECTOR = String.raw`(?:(?:-t|-u|--sctp-service) (?:${IP4}|${IP6}):\d{1,5}|-f \d{1,10}(?: -6)?)`;
const SERVICE_LINE = new RegExp(
  String.raw`^-A (${SELECTOR}) -s [a-z]+(?: -p \d+(?: -M (?:${IP4}|\d{1,3}))?)?(?: --pe sip)?(?: -o)?(?: -b [a-z0-9-]+(?:,[a-z0-9-]+)*)?$`,
);
const SERVER_LINE = new RegExp(
  String.raw`^-a (${SELECTOR}) -r (?:${IP4}|${IP6}):\d{1,5} -[gim] -w \d+(?: -x \d+ -y \d+)?` +
  String.raw`(?: --tun-type (?:ipip|gue|gre)(?: --tun-port \d{1,5})?(?: --tun-(?:nocsum|csum|remcsum))?)?$`,
);

/** Problems with an ipvsadm rule file for `services` services of `servers` real servers. */
function ipvsadmProblems(text: string, services: number, servers: number): string[] {
  const problems: string[] = [];
  if (text === "") return services === 0 ? [] : [`empty, expected ${services} services`];
  if (!text.endsWith("\n")) problems.push("no final newline");
  let current: string | undefined;
  let nServices = 0, nServers = 0;
  const selectors = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const s = SERVICE_LINE.exec(line);
    const r = s ? undefined : SERVER_LINE.exec(line);
    if (s) {
      nServices++;
      current = s[1]!;
      if (selectors.has(current)) problems.push(`service ${current} twice`);
      selectors.add(current);
    } else if (r) {
      nServers++;
      if (r[1] !== current) problems.push(`real server line under another service: ${JSON.stringify(line)}`);
    } else {
      problems.push(`not a line the renderer writes: ${JSON.stringify(line)}`);
    }
  }
  if (nServices !== services) problems.push(`${nServices} -A lines for ${services} services`);
  if (nServers !== servers) problems.push(`${nServers} -a lines for ${servers} real servers`);
  return problems;
}

// keepalived-writer.ts: a bare token has no whitespace, quote, comment, `$`, brace,
// backslash or control character; a quoted value has single spaces between such words
const BARE = String.raw`[^\s"'#!$\{\}\\\u0000-\u001f\u007f-\u009f]+`;
const QUOTED = String.raw`"${BARE}(?: ${BARE})*"`;
const VALUE = `(?:${BARE}|${QUOTED})`;
const STATEMENT = new RegExp(`^(${BARE})((?: ${VALUE})*)( \\{)?$`);
const PRINTABLE = /^[\x20-\x7e]*$/;

interface KeepalivedExpect {
  virtualServers: number;
  realServers: number;
  vrrpInstances: number;
  vrrpScripts: number;
}

/** Problems with a keepalived.conf: grammar, nesting, characters, and block counts. */
function keepalivedProblems(text: string, expect: KeepalivedExpect): string[] {
  const problems: string[] = [];
  if (!text.endsWith("\n")) problems.push("no final newline");
  const lines = text.slice(0, -1).split("\n");
  if (!/^# rendered by pulumi-ipvs; do not edit \(director [\x21-\x7e]+\)$/.test(lines[0] ?? "")) {
    problems.push(`header: ${JSON.stringify(lines[0])}`);
  }
  let depth = 0;
  const counts: Record<string, number> = {};
  lines.slice(1).forEach((line, k) => {
    const at = `line ${k + 2}: ${JSON.stringify(line.slice(0, 200))}`;
    if (line === "") {
      if (depth !== 0) problems.push(`blank line inside a block, ${at}`);
      return;
    }
    if (line === `${"  ".repeat(Math.max(0, depth - 1))}}`) {
      depth--;
      if (depth < 0) problems.push(`unbalanced }, ${at}`);
      return;
    }
    const indent = "  ".repeat(depth);
    const m = line.startsWith(indent) ? STATEMENT.exec(line.slice(indent.length)) : null;
    if (!m) return void problems.push(`not a line the writer prints, ${at}`);
    // outside quotes, printable ASCII only; inside, no control characters either (BARE)
    if (!PRINTABLE.test(line.replace(new RegExp(QUOTED, "g"), '""'))) problems.push(`a character outside printable ASCII, ${at}`);
    const keyword = m[1]!;
    if (m[3]) {
      if (depth === 0 || keyword === "real_server") counts[keyword] = (counts[keyword] ?? 0) + 1;
      if (depth === 0 && !["global_defs", "vrrp_script", "vrrp_sync_group", "vrrp_instance", "virtual_server", "track_file"].includes(keyword)) {
        problems.push(`unexpected top-level block, ${at}`);
      }
      if (depth > 0 && ["virtual_server", "vrrp_instance", "global_defs", "vrrp_script"].includes(keyword)) problems.push(`nested top-level block, ${at}`);
      depth++;
    } else if (depth === 0) {
      problems.push(`statement outside a block, ${at}`);
    }
  });
  if (depth !== 0) problems.push(`${depth} block(s) left open`);
  const want: Record<string, number> = {
    global_defs: 1, virtual_server: expect.virtualServers, real_server: expect.realServers,
    vrrp_instance: expect.vrrpInstances, vrrp_script: expect.vrrpScripts,
  };
  for (const [k, n] of Object.entries(want)) if ((counts[k] ?? 0) !== n) problems.push(`${counts[k] ?? 0} ${k} blocks, the model has ${n}`);
  return problems;
}

const SYSCTL_LINE = /^net\.ipv[46]\.[a-z0-9_.]+ = \d+$/;

function keepalivedExpect(model: Model, d: DirectorModel): KeepalivedExpect {
  const owned = d.services.filter((s) => s.owner === "keepalived" && s.health !== undefined);
  return {
    virtualServers: owned.length,
    realServers: owned.reduce((n, s) => n + s.ipvs.realServers.length, 0),
    vrrpInstances: d.vrrpInstances.length,
    vrrpScripts: model.vrrpScripts.length,
  };
}

/** Everything wrong with what `build` wrote to `out` for `model`. */
function buildProblems(out: string, model: Model): string[] {
  const problems: string[] = [];
  const files = new Set(listFiles(out));
  const read = (f: string) => {
    files.delete(f);
    try {
      return readFileSync(join(out, f), "utf8");
    } catch {
      problems.push(`${f} is missing`);
      return undefined;
    }
  };
  const servers = (ss: { realServers: unknown[] }[]) => ss.reduce((n, s) => n + s.realServers.length, 0);
  const rules = read("ipvsadm.rules");
  if (rules !== undefined) {
    const table = model.services.map((s) => s.ipvs);
    problems.push(...ipvsadmProblems(rules, table.length, servers(table)).map((p) => `ipvsadm.rules: ${p}`));
  }
  const sysctl = read("sysctl.conf");
  if (sysctl !== undefined) {
    const [header, ...rest] = sysctl.slice(0, -1).split("\n");
    if (header !== "# rendered by pulumi-ipvs; do not edit") problems.push(`sysctl.conf header ${JSON.stringify(header)}`);
    for (const l of rest) if (!SYSCTL_LINE.test(l)) problems.push(`sysctl.conf: not a line the renderer writes: ${JSON.stringify(l)}`);
  }
  for (const d of model.directors) {
    const conf = read(`keepalived/${d.name}.conf`);
    if (conf !== undefined) problems.push(...keepalivedProblems(conf, keepalivedExpect(model, d)).map((p) => `keepalived/${d.name}.conf: ${p}`));
    if (files.has(`ipvsadm/${d.name}.rules`)) {
      const own = read(`ipvsadm/${d.name}.rules`)!;
      problems.push(...ipvsadmProblems(own, d.table.services.length, servers(d.table.services)).map((p) => `ipvsadm/${d.name}.rules: ${p}`));
    }
    for (const inst of d.vrrpInstances.filter((i) => i.hasAuthPassword)) {
      const secret = read(`secrets/${d.name}/vrrp-auth-${inst.name}.conf`);
      if (secret !== undefined && !new RegExp(`^auth_pass ${BARE}\n$`).test(secret)) problems.push(`secret of ${inst.name}: not an auth_pass line`);
      if (secret !== undefined && !PRINTABLE.test(secret.slice(0, -1))) problems.push(`secret of ${inst.name}: a character outside printable ASCII`);
    }
  }
  for (const f of files) problems.push(`${f}: a file the model does not explain`);
  return problems;
}

// -------------------------------------------------------------------------------- runs

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** Output kept for a failure report: the start of it (a deep document's report runs to hundreds of MB). */
const KEPT = 4000;

async function cli(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const keep = (text: string, s: string) => (text.length < KEPT ? text + s.slice(0, KEPT) : text);
  const io: CliIo = { out: (s) => void (out = keep(out, s)), err: (s) => void (err = keep(err, s)), env: {}, cwd };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** Feeds one file to validate and build in a fresh working directory; throws on any broken property. Returns whether it was accepted. */
async function checkFile(bytes: Buffer, file: string, work: string): Promise<boolean> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  writeFileSync(join(work, file), bytes);
  const shown = () => `the file (${bytes.length} bytes): ${JSON.stringify(bytes.toString("utf8").slice(0, 600))}`;
  let v, b;
  try {
    v = await cli(["validate", file], work);
    b = await cli(["build", file, "--out", "out"], work);
  } catch (e) {
    throw new Error(`runCli threw ${(e as Error).stack ?? String(e)}\n${shown()}`);
  }
  assert.ok(v.code === 0 || v.code === 1, `validate exited ${v.code}\n${v.err}\n${shown()}`);
  assert.ok(b.code === 0 || b.code === 1, `build exited ${b.code}\n${b.err}\n${shown()}`);
  assert.equal(b.code, v.code, `validate and build disagree\n${v.err}${b.err}\n${shown()}`);
  const entries = readdirSync(work).sort();
  if (b.code !== 0) {
    assert.deepEqual(entries, [file], `build failed but wrote files\n${shown()}`);
    return false;
  }
  assert.deepEqual(entries, [file, "out"].sort(), `build wrote outside --out\n${shown()}`);
  const compiled = compileText(readFileSync(join(work, file), "utf8"), file);
  assert.ok(compiled.ok, `build accepted a spec compileText rejects\n${shown()}`);
  const problems = buildProblems(join(work, "out"), compiled.output.model);
  assert.deepEqual(problems, [], `rendered files the renderers cannot have written\n${shown()}`);
  return true;
}

describe("ipvsc validate and build on damaged spec files", () => {
  const work = mkdtempSync(join(tmpdir(), "ipvsc-file-fuzz-"));
  tempDirs.push(work);
  const cwd = join(work, "cwd");

  test("the examples and generated specs pass unchanged, as YAML and JSON, and render what the checks expect", async () => {
    for (const text of EXAMPLES) {
      assert.ok(await checkFile(Buffer.from(text), "spec.yaml", cwd), "an example is rejected");
      assert.ok(await checkFile(Buffer.from(serialise(parse(text) as Json, "json", [])), "spec.json", cwd), "an example's JSON is rejected");
    }
    // seed 23 drew a spec whose stand-in VIP was the address of a service only some directors
    // carry, which validation refuses (arbSpecCase now picks a VIP no service uses)
    const arb = arbSpecInput({ maxServices: 3, maxRealServers: 3 });
    for (const spec of [...fc.sample(arb, { seed: SEED, numRuns: 10 }), ...fc.sample(arb, { seed: 23, numRuns: 3 })]) {
      for (const format of ["yaml", "json"] as const) {
        const file = `spec.${format}`;
        assert.ok(await checkFile(Buffer.from(serialise(spec, format, [])), file, cwd), `a generated spec is rejected:\n${serialise(spec, "yaml", [])}`);
      }
    }
    // the checks can fail: a rule file with an injected line is caught
    assert.match(ipvsadmProblems("-A -t 1.2.3.4:80 -s rr\nvirtual_server 1.2.3.4 80 {\n", 1, 0).join(), /not a line the renderer writes/);
    assert.match(ipvsadmProblems("-A -t 1.2.3.4:80 -s rr\n-A -t 1.2.3.4:80 -s rr -b x\n-A -t 1.2.3.5:80 -s rr\n", 2, 0).join(), /twice.*3 -A lines for 2/);
    const conf = "# rendered by pulumi-ipvs; do not edit (director lb1)\n\nglobal_defs {\n  router_id lb1\n}\n\nvirtual_server 1.2.3.4 80 {\n  lvs_sched \"x\ny\"\n}\n";
    assert.match(keepalivedProblems(conf, { virtualServers: 1, realServers: 0, vrrpInstances: 0, vrrpScripts: 0 }).join(), /not a line the writer prints/);
    const injected = "# rendered by pulumi-ipvs; do not edit (director lb1)\n\nglobal_defs {\n  router_id lb1\n}\n\nvirtual_server 1.2.3.4 80 {\n}\n";
    assert.match(keepalivedProblems(injected, { virtualServers: 0, realServers: 0, vrrpInstances: 0, vrrpScripts: 0 }).join(), /1 virtual_server blocks, the model has 0/);
    assert.match(keepalivedProblems(conf.replace("\"x\ny\"", "caf\u00e9"), { virtualServers: 1, realServers: 0, vrrpInstances: 0, vrrpScripts: 0 }).join(), /outside printable ASCII/);
  });

  test(`mutants never crash the CLI, and an accepted one renders only renderer lines (seed ${SEED})`, async () => {
    const started = Date.now();
    let accepted = 0;
    const details = await fc.check(
      fc.asyncProperty(arbBase, fc.array(arbMutation, { maxLength: 3 }), async (base, mutations) => {
        if (await checkFile(mutate(base.text, mutations), base.file, cwd)) accepted++;
      }),
      { seed: SEED, numRuns: NUM_RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`file fuzz: ${details.numRuns} mutants (${accepted} accepted and checked line by line) in ${seconds} s, seed ${SEED}${details.interrupted ? ", stopped by the time limit" : ""}`);
    if (details.failed) {
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      assert.fail(`file fuzz failed with seed ${SEED} (FILE_FUZZ_SEED=${SEED} reruns it)\n${fc.defaultReportMessage(details) ?? ""}\n${error}`);
    }
    assert.ok(details.numRuns >= 50, `only ${details.numRuns} mutants ran in ${TIME_LIMIT_MS} ms`);
  });
});
