/**
 * The repository stands alone: a fresh clone with nothing beside it runs every test. No
 * file under test/, scripts/, bench/, .ci/ or examples/ (nor a package.json script) may
 * name a path outside the repository other than the system's package paths and temp dirs:
 * - a relative path that climbs out (`../sibling/...`, `join(ROOT, "..")`, `dirname(ROOT)`,
 *   `${ROOT}/../x`, `$(dirname "$0")/../..`, `cd ..` in a script at the root);
 * - an absolute path outside SYSTEM_DIRS (`/work/sibling/corpus`, `/home/me/samples`).
 * Comments count: a pointer to a file a fresh clone does not have is as broken as a read.
 *
 * The scan is textual and line based, so it knows a few spellings, not every program: it
 * is a tripwire for the usual ones. Strings that only look like host paths (spec fields,
 * SSH settings, paths inside the lab's director image) are listed in DATA with the reason;
 * an entry that no longer matches anything fails too, so the list cannot go stale.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { listFiles } from "../support/list-files.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Folders whose files are scanned (package.json's scripts are scanned too). */
const SCANNED = ["test", "scripts", "bench", ".ci", "examples"];

/** Where a test may look besides the repository: the system's package paths, /proc and friends, temp dirs. */
const SYSTEM_DIRS = ["/usr", "/etc", "/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/var/lib", "/var/run", "/lib", "/lib64", "/bin", "/sbin", "/run"];

/**
 * Paths that are data, not places on this machine: in `file` (a repository path, or a
 * folder ending in `/`), a flagged path starting with `path`, and why. Each must still
 * occur: an entry that matches nothing fails the test.
 */
const DATA: { file: string; path: string; why: string }[] = [
  { file: "test/import/import-director.test.ts", path: "/home/ops/.ssh/", why: "an SSH key path in a director's connection settings" },
  { file: "test/import/import-director.test.ts", path: "/srv/keepalived", why: "a director's keepalived config dir (a spec field)" },
  { file: "test/import/map-keepalived-conf.test.ts", path: "/x/1-lb.conf", why: "the file name an imported config is reported under" },
  { file: "test/import/corpus.test.ts", path: "../schema/ipvs-spec.schema.json", why: "the $schema reference written into an imported spec file" },
  { file: "test/invalid/cases.ts", path: "/etc/keepalived/../../root", why: "a configDir the validator must refuse" },
  { file: "test/property/schema-agreement.test.ts", path: "/etc/../x", why: "an awkward spec value" },
  { file: "test/lab/", path: "/lab/", why: "the lab's scripts inside the director image (copied from test/lab/guest)" },
  { file: "test/lab/", path: "/root/", why: "root's home inside the director image (lab tests run commands there)" },
  { file: "test/lab/setup.sh", path: "../run", why: "the target of /var/run inside the director image it builds" },
];

/** Names a test binds the repository root to (join(ROOT, ...), `${ROOT}/...`). */
const ROOT_NAMES = /^(?:ROOT|REPO|REPO_ROOT|ROOT_DIR|repoRoot|rootDir|process\.cwd\(\))$/;
/** Names for the scanned file's own folder. */
const HERE_NAMES = /^(?:HERE|__dirname|LAB_DIR|dirname\(fileURLToPath\(import\.meta\.url\)\))$/;

interface Finding {
  file: string;
  line: number;
  path: string;
  why: string;
  /** the DATA entry that explains it */
  data?: number;
}

/** Whether the repository path `rel` (posix, relative to the root) stays inside the root. */
function inside(rel: string): boolean {
  const n = posix.normalize(rel);
  return n !== ".." && !n.startsWith("../") && !posix.isAbsolute(n);
}

function isSystemPath(p: string): boolean {
  const n = posix.normalize(p);
  return SYSTEM_DIRS.some((d) => n === d || n.startsWith(`${d}/`));
}

/** The arguments of a call whose `(` ends just before `text`, split on top-level commas, and where the call ends. */
function splitArgs(text: string): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0, quote = "", from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) return { args: [...args, text.slice(from, i).trim()], end: i + 1 };
      depth--;
    } else if (c === "," && depth === 0) {
      args.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  return { args: [...args, text.slice(from).trim()], end: text.length };
}

const literal = (arg: string): string | undefined => /^(["'`])([^"'`$]*)\1$/.exec(arg)?.[2];

// a path that starts with `../`, not inside a longer path (a/../b) or a word
const CLIMB = /(?<![\w.$}\])/-])\.\.\/[\w.@+/-]*/g;
// a change of directory to `..` or above (shell cd, process.chdir, a child's cwd)
const CD_UP = /(?:\bcd\s+|\bchdir\(\s*|\bcwd:\s*)(["'`]?)(\.\.(?:\/[\w.@+-]*)*)\1(?![\w./])/g;
// an absolute path of two or more segments, not inside a relative path, a URL or an
// expansion (`$x/a/b`, `"$x"/a/b`, `${x}/a/b`, `$(cmd)/a/b`)
const ABSOLUTE = /(?<![\w.$}\])/~*@+-]|\$\{?\w+\}?")\/[\w.-]+\/[\w.@%+/-]*/g;
const SHELL_HERE = /\$\(dirname\s+"?\$(?:0|\{BASH_SOURCE\[0\]\}|\{BASH_SOURCE\})"?\)((?:\/[\w.-]*)*)/g;
const TEMPLATE_ROOT = /\$\{\s*([\w.()]+)\s*\}((?:\/[\w.-]*)+)/g;
const PATH_CALL = /\b(?:join|resolve)\(/g;
const PARENT_OF_ROOT = /\bdirname\(\s*([\w.()]+)\s*\)/g;

/**
 * Replaces the regular-expression literals of a line of JavaScript with spaces, so `/eth1/`
 * in `assert.match(x, /eth1/)` is not read as a path. A `/` opens one after `(,=:[!&|?{};`
 * or at the start; it must close on the line and be followed by flags and a non-word.
 */
function blankRegexLiterals(line: string): string {
  let out = line, quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      quote = c;
      continue;
    }
    if (c !== "/") continue;
    if (line[i + 1] === "/") break; // a comment: the rest of the line is text
    if (line[i + 1] === "*") {
      i++;
      continue;
    }
    if (!/(?:^|[(,=:[!&|?{};])\s*$/.test(line.slice(0, i))) continue;
    let j = i + 1, inClass = false;
    for (; j < line.length; j++) {
      const d = line[j]!;
      if (d === "\\") j++;
      else if (d === "[") inClass = true;
      else if (d === "]") inClass = false;
      else if (d === "/" && !inClass) break;
    }
    if (j >= line.length) continue;
    const flags = /^[dgimsuvy]*/.exec(line.slice(j + 1))![0];
    const end = j + 1 + flags.length;
    if (/\w/.test(line[end] ?? "")) continue;
    out = out.slice(0, i) + " ".repeat(end - i) + out.slice(end);
    i = end - 1;
  }
  return out;
}

const dataFor = (file: string, path: string) =>
  DATA.findIndex((d) => (d.file.endsWith("/") ? file.startsWith(d.file) : file === d.file) && path.startsWith(d.path));

/**
 * Paths in `text`, the file `file` (repository-relative), that leave the repository. A
 * finding that DATA explains carries the entry's index in `data`.
 */
function scanText(file: string, text: string): Finding[] {
  const dir = posix.dirname(file);
  const javascript = /\.[cm]?[jt]s$/.test(file);
  // programs run at the root or next to themselves; a data file's relative paths are its own
  const program = javascript || /\.(?:sh|pl|py)$|^[^.]+$/.test(posix.basename(file));
  const out: Finding[] = [];
  text.split("\n").forEach((raw, i) => {
    const lineText = javascript ? blankRegexLiterals(raw) : raw;
    const add = (path: string, why: string) => {
      const data = dataFor(file, path);
      out.push(data < 0 ? { file, line: i + 1, path, why } : { file, line: i + 1, path, why, data });
    };
    // the spans already judged with their base, so the generic rule skips them
    const judged: [number, number][] = [];
    const judge = (start: number, length: number) => judged.push([start, start + length]);
    const isJudged = (at: number) => judged.some(([a, b]) => at >= a && at < b);

    // imports and new URL(..., import.meta.url): relative to this file
    for (const m of lineText.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*|\bnew URL\(\s*)(["'`])([^"'`]*)\1/g)) {
      const spec = m[2]!;
      if (/^new URL/.test(m[0]) && !/^\s*,\s*import\.meta\.url/.test(lineText.slice(m.index + m[0].length))) continue;
      judge(m.index, m[0].length);
      if (spec.startsWith(".") && !inside(posix.join(dir, spec))) add(spec, `climbs out of the repository from ${dir}/`);
    }
    // join(BASE, "a", "..") and resolve(...): judged from BASE when it names the root or this folder
    for (const m of lineText.matchAll(PATH_CALL)) {
      const { args, end } = splitArgs(lineText.slice(m.index + m[0].length));
      const base = args[0] ?? "";
      const from = ROOT_NAMES.test(base) ? "." : HERE_NAMES.test(base) ? dir : undefined;
      if (from === undefined) {
        // an unknown base (a temp dir, a parameter): its `..` is not ours to judge; a
        // literal base is left to the rule for any other path
        if (literal(base) === undefined) judge(m.index, m[0].length + end);
        continue;
      }
      judge(m.index, m[0].length + end);
      let at = from;
      for (const a of args.slice(1)) {
        const lit = literal(a);
        if (lit === undefined) break;
        at = posix.join(at, lit);
        if (!inside(at)) {
          add(`${base}/${args.slice(1).map((x) => literal(x) ?? x).join("/")}`, `climbs out of the repository from ${base}`);
          break;
        }
      }
    }
    for (const m of lineText.matchAll(PARENT_OF_ROOT)) {
      if (ROOT_NAMES.test(m[1]!)) add(m[0], "the folder the repository sits in");
    }
    for (const m of lineText.matchAll(TEMPLATE_ROOT)) {
      const from = ROOT_NAMES.test(m[1]!) ? "." : HERE_NAMES.test(m[1]!) ? dir : undefined;
      if (from === undefined) continue;
      judge(m.index, m[0].length);
      if (!inside(posix.join(from, m[2]!))) add(m[0], `climbs out of the repository from ${m[1]}`);
    }
    for (const m of lineText.matchAll(SHELL_HERE)) {
      judge(m.index, m[0].length);
      if (!inside(posix.join(dir, m[1]!))) add(m[0], `climbs out of the repository from ${dir}/`);
    }
    // any other path starting with `../`, and a cd to `..`: in a program, relative to this
    // file or to the root (the cwd of every test and script), and climbing out from either
    // is out; in a data file (YAML, JSON, Markdown, fixtures), relative to the file
    for (const re of [CLIMB, CD_UP]) {
      for (const m of lineText.matchAll(re)) {
        const path = m[2] ?? m[0];
        const at = m.index + m[0].indexOf(path);
        if (isJudged(at)) continue;
        judge(at, path.length);
        if (!inside(posix.join(dir, path)) || (program && !inside(path))) add(path, "climbs out of the repository");
      }
    }
    for (const m of lineText.matchAll(ABSOLUTE)) {
      if (!isSystemPath(m[0])) add(m[0], "an absolute path outside the repository and the system's directories");
    }
  });
  return out;
}

/** package.json's scripts, each a line of its own: they run at the root. */
function scanPackageScripts(): Finding[] {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { scripts?: Record<string, string> };
  return Object.entries(pkg.scripts ?? {}).flatMap(([name, script]) =>
    scanText("package.json", script).map((f) => ({ ...f, file: `package.json (scripts.${name})` })));
}

const TEXT = /\.(?:ts|mts|mjs|js|cjs|sh|pl|py|json|ya?ml|md|txt|conf|rules)$|^[^.]+$/;

/** Scanned files, repository-relative; not this one, which spells out what it must catch. */
function scannedFiles(): string[] {
  const self = posix.relative(ROOT, fileURLToPath(import.meta.url));
  return SCANNED.flatMap((d) => listFiles(`${ROOT}${d}`).map((f) => `${d}/${f}`))
    .filter((f) => f !== self && !f.split("/").includes("node_modules") && TEXT.test(posix.basename(f)));
}

const show = (f: Finding) => `${f.file}:${f.line}: ${f.path} (${f.why})`;

describe("the repository stands alone", () => {
  const files = scannedFiles();
  const all = [...files.flatMap((f) => scanText(f, readFileSync(`${ROOT}${f}`, "utf8"))), ...scanPackageScripts()];

  test("no scanned file names a path outside the repository, the system's directories and temp dirs", () => {
    assert.ok(files.length > 50 && files.includes(".ci/run") && files.includes("test/import/corpus.test.ts"), `scanned only ${files.join(", ")}`);
    assert.deepEqual(all.filter((f) => f.data === undefined).map(show), [], "paths outside the repository");
  });

  test("every DATA entry still explains a path", () => {
    const used = new Set(all.map((f) => f.data));
    const unused = DATA.filter((_, k) => !used.has(k));
    assert.deepEqual(unused, [], "these entries match nothing any more: drop them");
  });

  describe("it bites", () => {
    const flagged = (file: string, line: string) => scanText(file, line).filter((f) => f.data === undefined).map((f) => f.path);
    test("a folder beside the clone, in every spelling the scan knows", () => {
      assert.deepEqual(flagged("test/import/corpus.test.ts", `const C = join(ROOT, "..", "sibling", "corpus");`), ["ROOT/../sibling/corpus"]);
      assert.deepEqual(flagged("test/import/corpus.test.ts", `const C = resolve(ROOT, "../sibling");`), ["ROOT/../sibling"]);
      assert.deepEqual(flagged("test/a.test.ts", `const C = path.join(ROOT, "..");`), ["ROOT/.."]);
      assert.deepEqual(flagged("test/a.test.ts", `const C = join(dirname(ROOT), "sibling");`), ["dirname(ROOT)"]);
      assert.deepEqual(flagged("test/a.test.ts", "const C = `${ROOT}/../sibling`;"), ["${ROOT}/../sibling"]);
      assert.deepEqual(flagged("test/a/b.test.ts", `const C = new URL("../../../sibling/x", import.meta.url);`), ["../../../sibling/x"]);
      assert.deepEqual(flagged("test/a/b.test.ts", `import x from "../../../sibling/x.js";`), ["../../../sibling/x.js"]);
      // from test/import, ../sibling would be test/sibling; from the root (the tests' cwd) it is not
      assert.deepEqual(flagged("test/import/corpus.test.ts", `readFileSync("../sibling/corpus/x")`), ["../sibling/corpus/x"]);
      assert.deepEqual(flagged("test/a.test.ts", `const C = "/work/sibling/corpus/keepalived-samples";`), ["/work/sibling/corpus/keepalived-samples"]);
      assert.deepEqual(flagged("test/a.test.ts", ` * see /work/sibling/reference/keepalived.md`), ["/work/sibling/reference/keepalived.md"]);
      assert.deepEqual(flagged("test/a.test.ts", `assert.match(readFileSync("/home/me/x.conf", "utf8"), /eth1/);`), ["/home/me/x.conf"]);
      assert.deepEqual(flagged("test/lab/x.sh", `cp "$(dirname "$0")/../../../sibling/a" .`), ['$(dirname "$0")/../../../sibling/a']);
      assert.deepEqual(flagged(".ci/run", `cd "$(dirname "$0")/../.."`), ['$(dirname "$0")/../..']);
      assert.deepEqual(flagged("package.json", `cd .. && ls sibling`), [".."]);
      assert.deepEqual(flagged("test/a.test.ts", `spawnSync("ls", [], { cwd: "../sibling" })`), ["../sibling"]);
      assert.deepEqual(flagged("scripts/x.sh", `tar -xf "$CACHE"/x.tar -C /opt/corpus/x`), ["/opt/corpus/x"]);
      assert.deepEqual(flagged("test/unit/x.test.ts", `await d.run("/lab/net-setup.sh")`), ["/lab/net-setup.sh"], "DATA is per file");
      assert.deepEqual(flagged("examples/x.yaml", `# $schema=../../schema/x.json`), ["../../schema/x.json"]);
      assert.deepEqual(flagged("test/golden/README.md", "see `/work/sibling/reference/ipvsadm.md`"), ["/work/sibling/reference/ipvsadm.md"]);
    });

    test("and lets the repository's own paths, system paths and temp dirs through", () => {
      const ok = [
        `const ROOT = fileURLToPath(new URL("../../", import.meta.url));`,
        `import { compile } from "../../src/compile.js";`,
        `const d = join(ROOT, "examples", "..", "test");`,
        `mkdirSync(join(dir, rel, ".."), { recursive: true });`,
        `const dir = mkdtempSync(join(tmpdir(), "x-"));`,
        `const SAMPLES = "/usr/share/doc/keepalived/samples";`,
        `readFileSync("/proc/net/tcp", "utf8")`,
        `cd "$(dirname "$0")/.."`,
        `for f in "$LAB_DIR"/guest/*; do cp "$f" "$root/lab/"; done`,
        `deb=$(ls -1t "$CACHE"/debs/linux-image-6.1.*-amd64_*.deb)`,
        `const u = "http://192.0.2.1/healthz/x";`,
        `// a comment // with/slashes/ in it`,
        `const p = join(state, "a/b/../c");`,
        `assert.match(conf, /vrrp_sync_group/); assert.doesNotMatch(conf, /^\\s+unicast_/m);`,
        `if (rel.startsWith("..")) throw new Error("outside");`,
      ];
      for (const line of ok) assert.deepEqual(flagged("test/unit/x.test.ts", line), [], line);
    });
  });
});
