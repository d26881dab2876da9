/**
 * Issue #14, points 2 and 3: no input ever gets a stack trace, and error excerpts are
 * bounded. ipvsc runs in-process (runCli) in a temp directory on hostile files (an alias
 * bomb, YAML and JSON nested 100,000 deep, garbage), on outputs it must not or cannot write
 * (an existing file, a foreign or unwritable directory, a symbolic link), on missing and
 * unreadable specs; each ends with exit 1 (2 for usage) and one message of the documented
 * shape, never a stack frame. One test runs the real executable (bin/ipvsc.js) on the alias
 * bomb and on failures only its last-resort handler can catch.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { runIpvsc, type Captured } from "../support/run-cli.js";
import { FileError, readTextFile, writePlanFile } from "../../src/cli/files.js";
import { compileText } from "../../src/compile.js";
import { EXCERPT_WIDTH, excerpt, formatIssues } from "../../src/issues.js";
import { MAX_DEPTH } from "../../src/schema/input-limits.js";
import { loadSpecText } from "../../src/schema/load-spec-file.js";
import { listFiles } from "../support/list-files.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = readFileSync(join(ROOT, "examples", "ha-pair.yaml"), "utf8");


/** Runs the CLI in-process in `cwd`, capturing stdout and stderr. */
const ipvsc = (argv: string[], cwd: string): Promise<Captured> => runIpvsc(argv, cwd);

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ipvsc-hostile-"));
  tempDirs.push(dir);
  return dir;
}
/** Directories made unwritable for a test, made writable again before the temp dirs are removed. */
const locked: string[] = [];
after(() => {
  for (const d of locked) unlock(d);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A directory with `name` holding `text`. */
function specDir(name: string, text: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, name), text);
  return dir;
}

/** No stack frame anywhere in what ipvsc printed. */
function assertNoTrace(r: Captured): void {
  for (const text of [r.out, r.err]) {
    assert.doesNotMatch(text, /^\s+at /m, `a stack frame was printed:\n${text}`);
    assert.doesNotMatch(text, /\b(?:RangeError|ReferenceError|TypeError|SyntaxError)\b/, `an exception name was printed:\n${text}`);
  }
}

/** stderr is exactly one line, matching `shape`. */
function assertOneLine(r: Captured, shape: RegExp): void {
  assertNoTrace(r);
  const lines = r.err.split("\n");
  assert.equal(lines.pop(), "", `stderr does not end with a line break: ${JSON.stringify(r.err)}`);
  assert.equal(lines.length, 1, `not one line:\n${r.err}`);
  assert.match(lines[0]!, shape);
}

/** A located issue: its header line, the excerpt and the caret, then the verdict line. */
function assertLocatedIssue(r: Captured, file: string, code: string): { line: number; column: number; source: string; caret: string } {
  assertNoTrace(r);
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, "");
  const lines = r.err.split("\n");
  const header = new RegExp(`^${file.replace(/[.]/g, "\\.")}:(\\d+):(\\d+): error\\[${code}\\] \\(root\\): \\S.*$`);
  const m = header.exec(lines[0]!);
  assert.ok(m, `first line is not "${file}:line:col: error[${code}] (root): message":\n${r.err}`);
  assert.match(lines[1]!, /^ {0,4}\d+ \| /);
  assert.match(lines[2]!, /^ {6}\| [ \t]*\^$/);
  assert.match(lines[3]!, new RegExp(`^${file.replace(/[.]/g, "\\.")}: invalid \\(1 error, 0 warnings\\)$`));
  assert.equal(lines.length, 5, r.err);
  for (const l of lines) assert.ok(l.length <= 300, `an output line of ${l.length} characters`);
  return { line: Number(m[1]), column: Number(m[2]), source: lines[1]!, caret: lines[2]! };
}

const DEEP = 100_000;

/** The alias bomb ("billion laughs"): nine levels of nine aliases each. */
const ALIAS_BOMB = [
  `a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`,
  ...["b", "c", "d", "e", "f", "g", "h", "i"].map((n, i) => {
    const prev = "abcdefghi"[i]!;
    return `${n}: &${n} [${Array(9).fill(`*${prev}`).join(", ")}]`;
  }),
  "",
].join("\n");

describe("hostile spec files -> exit 1 and one located issue", () => {
  test("a YAML alias bomb: error[yaml-alias-limit] at the alias that passes the limit", async () => {
    const dir = specDir("bomb.yaml", ALIAS_BOMB);
    const started = Date.now();
    const r = await ipvsc(["validate", "bomb.yaml"], dir);
    const at = assertLocatedIssue(r, "bomb.yaml", "yaml-alias-limit");
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.match(r.err, /alias bomb/);
    // the alias the message points at: a `*` under the caret
    const lineText = ALIAS_BOMB.split("\n")[at.line - 1]!;
    assert.equal(lineText[at.column - 1], "*");
    assert.equal(at.caret.indexOf("^") - 8, at.column - 1);
  });

  test("build of the alias bomb writes nothing", async () => {
    const dir = specDir("bomb.yaml", ALIAS_BOMB);
    const r = await ipvsc(["build", "bomb.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assertNoTrace(r);
    assert.match(r.err, /^bomb\.yaml:\d+:\d+: error\[yaml-alias-limit\] /m);
    assert.deepEqual(readdirSync(dir), ["bomb.yaml"]);
  });

  const deepCases: { what: string; file: string; text: string; column: number }[] = [
    // the root mapping is a level: the 256th `[` opens level 257
    { what: "a YAML flow sequence", file: "deep.yaml", text: `directors: ${"[".repeat(DEEP)}${"]".repeat(DEEP)}\n`, column: 12 + MAX_DEPTH - 1 },
    { what: "YAML block sequences (`- - - x`)", file: "deep-block.yaml", text: `${"- ".repeat(DEEP)}x\n`, column: 2 * MAX_DEPTH + 1 },
    { what: "an unclosed YAML flow sequence", file: "unclosed.yaml", text: "[".repeat(DEEP), column: MAX_DEPTH + 1 },
    { what: "a JSON object", file: "deep.json", text: `{"directors":${'{"a":'.repeat(DEEP)}1${"}".repeat(DEEP)}}\n`, column: 14 + 5 * (MAX_DEPTH - 1) },
    { what: "a JSON array", file: "deep-array.json", text: `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, column: MAX_DEPTH + 1 },
  ];
  for (const c of deepCases) {
    test(`${c.what} nested ${DEEP.toLocaleString("en-US")} deep: error[too-deep] where level ${MAX_DEPTH + 1} opens`, async () => {
      const dir = specDir(c.file, c.text);
      const started = Date.now();
      const r = await ipvsc(["validate", c.file], dir);
      const at = assertLocatedIssue(r, c.file, "too-deep");
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      assert.deepEqual([at.line, at.column], [1, c.column]);
      assert.match(r.err, new RegExp(`nested deeper than ${MAX_DEPTH} levels`));
      // the excerpt is cut around the column, not the whole 100k-character line
      assert.ok(at.source.length < EXCERPT_WIDTH + 20, `excerpt of ${at.source.length} characters`);
    });
  }

  test(`a block mapping nested ${MAX_DEPTH} deep still reads (the limit is not off by one); one level more does not`, () => {
    const nested = (levels: number) => Array.from({ length: levels }, (_, i) => `${" ".repeat(i)}a:`).join("\n") + " 1\n";
    const within = loadSpecText(nested(MAX_DEPTH), "ok.yaml");
    assert.ok(!within.ok);
    assert.ok(within.issues.every((i) => i.code !== "too-deep"), formatIssues(within.issues));
    const beyond = loadSpecText(nested(MAX_DEPTH + 1), "deep.yaml");
    assert.ok(!beyond.ok);
    assert.deepEqual(beyond.issues.map((i) => [i.code, i.location?.line]), [["too-deep", MAX_DEPTH + 1]]);
  });

  test("more than 1000 aliases, an alias that contains itself, an alias with no anchor: located issues", async () => {
    const many = `x: &x 1\nlist:\n${"  - *x\n".repeat(1001)}`;
    const r = await ipvsc(["validate", "many.yaml"], specDir("many.yaml", many));
    const at = assertLocatedIssue(r, "many.yaml", "yaml-alias-limit");
    assert.equal(at.line, 3 + 1000);
    assert.match(r.err, /more than 1000 aliases/);

    const cycle = await ipvsc(["validate", "cycle.yaml"], specDir("cycle.yaml", "directors: &d [ { name: lb1, interfaces: *d } ]\n"));
    assertLocatedIssue(cycle, "cycle.yaml", "yaml-alias-limit");
    assert.match(cycle.err, /stands for a node that contains it/);

    const dangling = await ipvsc(["validate", "dangling.yaml"], specDir("dangling.yaml", "directors: *nope\n"));
    const d = assertLocatedIssue(dangling, "dangling.yaml", "yaml-syntax");
    assert.deepEqual([d.line, d.column], [1, 12]);
  });

  test("aliases as a spec uses them are fine: 150 services share one anchored pool", async () => {
    const services = Array.from({ length: 150 }, (_, i) => [
      `  - name: web${i}`,
      "    protocol: tcp",
      "    address: 203.0.113.10",
      `    port: ${8000 + i}`,
      i === 0 ? "    pool: &pool" : "    pool: *pool",
      ...(i === 0 ? ["      forwarding: { method: nat }", "      servers:", "        - { address: 192.0.2.11 }", "        - { address: 192.0.2.12 }"] : []),
    ].join("\n"));
    const text = `directors:\n  - name: lb1\n    interfaces: [eth0]\nservices:\n${services.join("\n")}\n`;
    const r = await ipvsc(["validate", "shared.yaml"], specDir("shared.yaml", text));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^shared\.yaml: valid: 150 services .*300 real servers/);
  });

  test("a mapping of 100,000 keys with a duplicate is read in linear time", async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i}: 1`);
    keys.push("k7: 2");
    const started = Date.now();
    const r = await ipvsc(["validate", "keys.json"], specDir("keys.json", `{${keys.join(", ")}}`));
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assertLocatedIssue(r, "keys.json", "yaml-syntax");
    assert.match(r.err, /Map keys must be unique/);
  });

  test("binary garbage: exit 1, at most 20 syntax errors and a count of the rest, nothing a terminal acts on", async () => {
    let seed = 7;
    const bytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    const dir = tempDir();
    writeFileSync(join(dir, "garbage.yaml"), bytes);
    const r = await ipvsc(["validate", "garbage.yaml"], dir);
    assert.equal(r.code, 1);
    assertNoTrace(r);
    const headers = r.err.split("\n").filter((l) => /error\[/.test(l));
    assert.ok(headers.length >= 1 && headers.length <= 21, `${headers.length} issues`);
    // no escape sequence or other control character reaches the terminal
    assert.doesNotMatch(r.err, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    for (const l of r.err.split("\n")) assert.ok(l.length <= 500, `an output line of ${l.length} characters`);
  });

  test("loadSpecText and compileText never throw, whatever the text", () => {
    const texts = [
      "", "\u0000", "\ufeff", "---\n---\n", "%YAML 9.9\n---\nx", "? [a]\n: b", "[a]: b", "{a: 1}: 2", "!!binary aGk=", "!!map [1]",
      "a: !!int x", "<<: *a", "*a", "&a", "a: &a\n  b: *a", "__proto__: 1", "constructor: {}", "a: 1e999999", "\"\\u", "'",
      `x: ${"{a: ".repeat(300)}`, `${"? ".repeat(5000)}x`, `${"- ".repeat(300)}x`, "a:\n\tb: 1", "\r\r\r", "a: |\n  x\n b", ALIAS_BOMB,
      `directors:\n  - name: ${"x".repeat(70_000)}\n`, `services: [${"[".repeat(257)}`,
    ];
    for (const text of texts) {
      assert.doesNotThrow(() => loadSpecText(text, "t.yaml"), `loadSpecText threw on ${JSON.stringify(text.slice(0, 40))}`);
      assert.doesNotThrow(() => compileText(text, "t.yaml"), `compileText threw on ${JSON.stringify(text.slice(0, 40))}`);
    }
  });
});

describe("error excerpts are bounded", () => {
  test("a 200 KB one-line JSON spec with errors deep in it: a short excerpt per error, the caret under the value", async () => {
    const servers = Array.from({ length: 5000 }, (_, i) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, weight: 1 }));
    servers[4000]!.weight = -3;
    servers[4990]!.weight = -4;
    const spec = {
      directors: [{ name: "lb1", interfaces: ["eth0"] }],
      services: [{ name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, pool: { servers } }],
    };
    const text = JSON.stringify(spec);
    assert.ok(text.length > 150_000 && !text.includes("\n"));
    const r = await ipvsc(["validate", "big.json"], specDir("big.json", text));
    assert.equal(r.code, 1);
    assertNoTrace(r);
    const lines = r.err.split("\n");
    const headers = lines.map((l, i) => [l, i] as const).filter(([l]) => /error\[out-of-range\]/.test(l));
    assert.equal(headers.length, 2, r.err);
    for (const [header, i] of headers) {
      const m = /^big\.json:1:(\d+): /.exec(header);
      assert.ok(m, header);
      const column = Number(m[1]);
      const source = lines[i + 1]!, caret = lines[i + 2]!;
      assert.ok(source.length <= 8 + EXCERPT_WIDTH + 2, `excerpt line of ${source.length} characters`);
      assert.match(source, /^ {4}1 \| ….*…$/);
      // the character above the caret is the one the column names: the `-` of the weight
      const shown = source.slice(8), pad = caret.slice(8);
      assert.equal(pad.at(-1), "^");
      assert.equal(shown[pad.length - 1], text[column - 1]);
      assert.equal(text[column - 1], "-");
    }
    assert.ok(r.err.length < 2000, `${r.err.length} characters of output for two errors`);
  });

  test("excerpt(): short lines whole, long ones cut around the column with …, the caret on its character", () => {
    assert.deepEqual(excerpt("port: x", 7), { text: "port: x", caret: "      " });
    const line = Array.from({ length: 400 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    for (const column of [1, 2, 60, 61, 200, 340, 399, 400, 401]) {
      const { text, caret } = excerpt(line, column);
      assert.ok(text.length <= EXCERPT_WIDTH + 2, `${text.length} at ${column}`);
      if (column <= line.length) assert.equal(text[caret.length], line[column - 1], `column ${column}`);
    }
    assert.ok(excerpt(line, 1).text.endsWith("…") && !excerpt(line, 1).text.startsWith("…"));
    assert.ok(excerpt(line, 400).text.startsWith("…") && !excerpt(line, 400).text.endsWith("…"));
    // tabs stay tabs under the line, so the caret lines up on a terminal
    assert.deepEqual(excerpt("\tport:\tx", 8), { text: "\tport:\tx", caret: "\t     \t" });
    // control characters are not sent to the terminal
    assert.equal(excerpt("a\u001b[31mb", 1).text, "a?[31mb");
    // a surrogate pair is never cut in half
    const astral = "😀".repeat(200);
    for (const column of [1, 100, 201, 400]) {
      const { text } = excerpt(astral, column);
      assert.doesNotMatch(text, /(?:^|[^\ud800-\udbff])[\udc00-\udfff]|[\ud800-\udbff](?![\udc00-\udfff])/, `column ${column}`);
    }
  });

  test("a message quoting a 70,000-character value stays one short line", async () => {
    const text = EXAMPLE.replace(/scheduler: \w+/, `scheduler: ${"b".repeat(70_000)}`);
    assert.notEqual(text, EXAMPLE);
    const r = await ipvsc(["validate", "long.yaml"], specDir("long.yaml", text));
    assert.equal(r.code, 1);
    assertNoTrace(r);
    for (const l of r.err.split("\n")) assert.ok(l.length <= 500, `a line of ${l.length} characters`);
    assert.match(r.err, /\(70000 characters\)/);
  });
});

describe("missing and unreadable specs -> exit 1, `ipvsc: cannot read <path>: <reason>`", () => {
  test("a missing spec", async () => {
    const r = await ipvsc(["validate", "nope.yaml"], tempDir());
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc: cannot read nope\.yaml: no such file or directory$/);
  });

  test("a directory as the spec", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "spec.yaml"));
    const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc: cannot read spec\.yaml: is a directory$/);
  });

  test("a spec under a file (a path that is not a directory)", async () => {
    const dir = specDir("file", "x");
    const r = await ipvsc(["validate", "file/spec.yaml"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc: cannot read file\/spec\.yaml: a part of the path is not a directory$/);
  });

  test("a spec without read permission", async (t) => {
    if (process.getuid?.() === 0) return t.skip("root reads any file");
    const dir = specDir("secret.yaml", EXAMPLE);
    chmodSync(join(dir, "secret.yaml"), 0o000);
    const r = await ipvsc(["validate", "secret.yaml"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc: cannot read secret\.yaml: permission denied$/);
  });

  test("an endless input stops at the size bound (readTextFile on /dev/zero)", async (t) => {
    if (!existsSync("/dev/zero")) return t.skip("no /dev/zero");
    await assert.rejects(readTextFile("/dev/zero", "/dev/zero", 1 << 20), (e: unknown) => {
      assert.ok(e instanceof FileError);
      assert.equal(e.message, "cannot read /dev/zero: larger than 1 MiB");
      return true;
    });
  });
});

/** Makes `dir` unwritable even for root (chattr +i) or as a user (chmod); false when neither can. */
function lock(dir: string): boolean {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o555);
    locked.push(dir);
    return true;
  }
  try {
    execFileSync("chattr", ["+i", dir], { stdio: "ignore" });
    locked.push(dir);
    return true;
  } catch {
    return false;
  }
}

function unlock(dir: string): void {
  if (process.getuid?.() !== 0) chmodSync(dir, 0o755);
  else execFileSync("chattr", ["-i", dir], { stdio: "ignore" });
}

/** A previous build of examples/ha-pair.yaml in `dir/out`, and the files it holds. */
async function previousBuild(dir: string): Promise<Map<string, string>> {
  writeFileSync(join(dir, "spec.yaml"), EXAMPLE);
  const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
  assert.equal(r.code, 0, r.err);
  return new Map(listFiles(join(dir, "out")).map((f) => [f, readFileSync(join(dir, "out", f), "utf8")]));
}

function snapshot(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

describe("build --out that must not or cannot be written -> exit 1, one line, nothing written", () => {
  test("an existing file (`--out /etc/passwd` before the fix: an uncaught EEXIST)", async () => {
    const dir = specDir("spec.yaml", EXAMPLE);
    writeFileSync(join(dir, "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    const r = await ipvsc(["build", "spec.yaml", "--out", "passwd"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: passwd exists and is not a directory; nothing written$/);
    assert.equal(readFileSync(join(dir, "passwd"), "utf8"), "root:x:0:0:root:/root:/bin/sh\n");
    assert.deepEqual(readdirSync(dir).sort(), ["passwd", "spec.yaml"]);
  });

  test("a path under a file", async () => {
    const dir = specDir("spec.yaml", EXAMPLE);
    writeFileSync(join(dir, "file"), "x");
    const r = await ipvsc(["build", "spec.yaml", "--out", "file/out"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: cannot write to file\/out: a part of the path is not a directory; nothing written$/);
  });

  test("a directory that holds files a build did not write (`--out /etc`)", async () => {
    const dir = specDir("spec.yaml", EXAMPLE);
    mkdirSync(join(dir, "etc"));
    writeFileSync(join(dir, "etc", "sysctl.conf"), "kernel.panic = 10\n");
    writeFileSync(join(dir, "etc", "hosts"), "127.0.0.1 localhost\n");
    const before = snapshot(join(dir, "etc"));
    const r = await ipvsc(["build", "spec.yaml", "--out", "etc"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: etc holds files a build did not write \("hosts"\); give a new or empty directory, or one an earlier build wrote; nothing written$/);
    assert.deepEqual(snapshot(join(dir, "etc")), before);
  });

  test("a symbolic link in place of an output file is refused, not followed", async () => {
    const dir = tempDir();
    await previousBuild(dir);
    writeFileSync(join(dir, "victim"), "not ipvsc's\n");
    rmSync(join(dir, "out", "sysctl.conf"));
    symlinkSync(join(dir, "victim"), join(dir, "out", "sysctl.conf"));
    const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: out\/sysctl\.conf is a symbolic link; ipvsc does not write through links; nothing written$/);
    assert.equal(readFileSync(join(dir, "victim"), "utf8"), "not ipvsc's\n");
  });

  test("a directory in place of an output file", async () => {
    const dir = tempDir();
    await previousBuild(dir);
    rmSync(join(dir, "out", "ipvsadm.rules"));
    mkdirSync(join(dir, "out", "ipvsadm.rules"));
    const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: out\/ipvsadm\.rules exists and is not a regular file; nothing written$/);
  });

  test("an unwritable directory where the output would be created", async (t) => {
    const dir = specDir("spec.yaml", EXAMPLE);
    const parent = join(dir, "locked");
    mkdirSync(parent);
    let out = "locked/out";
    if (!lock(parent)) {
      // root without CAP_LINUX_IMMUTABLE: sysfs refuses new entries to everyone
      if (!existsSync("/sys/kernel")) return t.skip("cannot make a directory unwritable here");
      out = "/sys/kernel/ipvsc-build-test";
    }
    const r = await ipvsc(["build", "spec.yaml", "--out", out], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, new RegExp(`^ipvsc build: cannot create ${out.replace(/[./]/g, "\\$&")}: (?:permission denied|operation not permitted|read-only file system); nothing written$`));
    assert.equal(existsSync(join(dir, out)), false);
  });

  test("an unwritable existing output directory: nothing written, the previous build left as it was", async (t: TestContext) => {
    const dir = tempDir();
    const before = await previousBuild(dir);
    // a change, so that the build has something new to write
    writeFileSync(join(dir, "spec.yaml"), EXAMPLE.replace("weight: 3", "weight: 4"));
    assert.notEqual(readFileSync(join(dir, "spec.yaml"), "utf8"), EXAMPLE);
    // the first directories are writable, the last one the build writes to is not
    if (!lock(join(dir, "out", "secrets", "lb2"))) return t.skip("cannot make a directory unwritable here");
    const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assertOneLine(r, /^ipvsc build: cannot write out\/secrets\/lb2\/[\w.-]+: (?:permission denied|operation not permitted); nothing written$/);
    unlock(join(dir, "out", "secrets", "lb2"));
    locked.pop();
    // every file as the previous build left it, and no temporary file left behind
    assert.deepEqual(snapshot(join(dir, "out")), before);
    const all = execFileSync("find", [join(dir, "out")], { encoding: "utf8" });
    assert.doesNotMatch(all, /\.ipvsc-[0-9a-f]{12}/);
  });

  test("into an earlier build's directory: every file replaced, modes as a fresh build's", async () => {
    const dir = tempDir();
    await previousBuild(dir);
    writeFileSync(join(dir, "spec.yaml"), EXAMPLE.replace("weight: 3", "weight: 4"));
    const r = await ipvsc(["build", "spec.yaml", "--out", "out"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(readFileSync(join(dir, "out", "ipvsadm.rules"), "utf8"), / -w 4\b/);
    for (const f of listFiles(join(dir, "out"))) {
      const mode = statSync(join(dir, "out", f)).mode & 0o777;
      if (f.startsWith("secrets/")) assert.equal(mode & 0o077, 0, `${f}: ${mode.toString(8)}`);
      else assert.equal(mode & 0o022, 0, `${f}: ${mode.toString(8)}`);
    }
    assert.doesNotMatch(execFileSync("find", [join(dir, "out")], { encoding: "utf8" }), /\.ipvsc-[0-9a-f]{12}/);
  });
});

describe("plan --out is no way to overwrite a file", () => {
  test("writePlanFile refuses an existing file that is not a plan, replaces an earlier plan", async () => {
    const dir = tempDir();
    const path = join(dir, "notes.txt");
    writeFileSync(path, "important\n");
    await assert.rejects(writePlanFile(path, "notes.txt", '{"version":1,"directors":[]}\n'), (e: unknown) => {
      assert.ok(e instanceof FileError);
      assert.equal(e.message, "notes.txt exists and is not an ipvsc plan; the plan was not saved (remove it or choose another name)");
      return true;
    });
    assert.equal(readFileSync(path, "utf8"), "important\n");
    const plan = join(dir, "plan.json");
    await writePlanFile(plan, "plan.json", '{"version":1,"directors":[]}\n');
    await writePlanFile(plan, "plan.json", '{"version":1,"directors":[],"x":1}\n');
    assert.equal(readFileSync(plan, "utf8"), '{"version":1,"directors":[],"x":1}\n');
    assert.deepEqual(readdirSync(dir).sort(), ["notes.txt", "plan.json"]);
  });
});

describe("usage errors -> exit 2 with commander's message", () => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown option", ["validate", "--frobnicate", "x.yaml"], /unknown option '--frobnicate'/],
    ["a missing argument", ["build", "x.yaml", "--out"], /option '-o, --out <dir>' argument missing/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
    ["a connect timeout that is not a number", ["plan", "x.yaml", "--connect-timeout", "soon"], /option '--connect-timeout <seconds>' argument 'soon' is invalid/],
    ["a connect timeout of 0", ["drift", "x.yaml", "--connect-timeout", "0"], /option '--connect-timeout <seconds>' argument '0' is invalid/],
    ["a drain timeout that is not a number", ["apply", "x.yaml", "--drain-timeout", "-5"], /option '--drain-timeout <seconds>' argument '-5' is invalid/],
    ["an unknown plan format", ["plan", "x.yaml", "--format", "yaml"], /option '-f, --format <format>' argument 'yaml' is invalid\. Allowed choices are text, json, markdown\./],
  ];
  for (const [what, argv, message] of cases) {
    test(what, async () => {
      const cwd = tempDir();
      const r = await ipvsc(argv, cwd);
      assert.equal(r.code, 2, r.out + r.err);
      assertNoTrace(r);
      assert.match(r.err, new RegExp(`^error: ${message.source}`, "m"));
      assert.deepEqual(readdirSync(cwd), []);
    });
  }
});

describe("the real executable prints no stack trace", () => {
  const run = promisify(execFile);

  /**
   * A copy of the package layout around bin/ipvsc.js (byte for byte the file npm installs)
   * whose built CLI module is `main`: the CLI's TypeScript source, or a module that fails.
   */
  function executable(main: string | undefined): string {
    const dir = tempDir();
    mkdirSync(join(dir, "bin"));
    copyFileSync(join(ROOT, "bin", "ipvsc.js"), join(dir, "bin", "ipvsc.js"));
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    if (main !== undefined) {
      mkdirSync(join(dir, "dist", "src", "cli"), { recursive: true });
      writeFileSync(join(dir, "dist", "src", "cli", "main.js"), main);
    }
    return join(dir, "bin", "ipvsc.js");
  }

  /** Runs `node --import tsx <bin> ...args` from the repository (tsx compiles the source); never rejects. */
  async function node(bin: string, args: string[]): Promise<Captured> {
    try {
      const r = await run(process.execPath, ["--import", "tsx", bin, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: x.code ?? -1, out: x.stdout ?? "", err: x.stderr ?? "" };
    }
  }

  test("node bin/ipvsc.js validate <alias bomb> -> exit 1, the located issue, no stack trace", { timeout: 90_000 }, async () => {
    const bin = executable(`import ${JSON.stringify(pathToFileURL(join(ROOT, "src", "cli", "main.ts")).href)};\n`);
    const dir = specDir("bomb.yaml", ALIAS_BOMB);
    const r = await node(bin, ["validate", join(dir, "bomb.yaml")]);
    assert.equal(r.code, 1, r.err);
    assertNoTrace(r);
    assert.match(r.err, /^\/.*\/bomb\.yaml:\d+:\d+: error\[yaml-alias-limit\] \(root\): /);
    assert.match(r.err, /bomb\.yaml: invalid \(1 error, 0 warnings\)\n$/);
  });

  const lastResort: [string, string, RegExp][] = [
    ["an exception thrown while loading", 'throw new Error("boom\\nsecond line");\n', /^ipvsc: internal error: boom\n$/],
    ["an exception thrown later", 'setTimeout(() => { throw new RangeError("Maximum call stack size exceeded"); }, 1);\n', /^ipvsc: internal error: Maximum call stack size exceeded\n$/],
    ["a rejection nobody handles", 'Promise.reject(new TypeError("x is not a function"));\n', /^ipvsc: internal error: x is not a function\n$/],
    ["something thrown that is no Error", "throw 42;\n", /^ipvsc: internal error: 42\n$/],
  ];
  for (const [what, main, expected] of lastResort) {
    test(`the last-resort handler: ${what} -> exit 1, one line`, { timeout: 60_000 }, async () => {
      const r = await node(executable(main), ["validate", "x.yaml"]);
      assert.equal(r.code, 1);
      assert.equal(r.out, "");
      assert.match(r.err, expected);
    });
  }

  test("an unbuilt package says so in one line", { timeout: 60_000 }, async () => {
    const r = await node(executable(undefined), ["--help"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "ipvsc: ipvsc is not built: run `npm run build` in its directory\n");
  });
});
