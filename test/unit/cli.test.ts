/**
 * ipvsc in-process (`runCli` with captured output) and once as the real executable:
 * validate and build of every example, invalid specs with located issues, usage errors,
 * and hostile strings that must stop a build before anything is written.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildFiles, compileText } from "../../src/compile.js";
import { runIpvsc, type Captured } from "../support/run-cli.js";
import { listFiles } from "../support/list-files.js";
import { exampleSpecs } from "../support/example-specs.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = exampleSpecs(ROOT).map((e) => e.file).sort();


/** Runs the CLI in-process with `cwd`, capturing stdout and stderr. */
const ipvsc = (argv: string[], cwd = ROOT): Promise<Captured> => runIpvsc(argv, cwd);

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ipvsc-cli-test-"));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});


const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";

/** A small valid spec with an HTTP check and a command check; the hostile tests edit it. */
const BASE_SPEC = `directors:
  - name: lb1
    ssh: { host: lb1.example.net, hostKey: "${HOST_KEY}" }
    interfaces: [eth0]
services:
  - name: web
    protocol: tcp
    address: 203.0.113.10
    port: 80
    pool:
      forwarding: { method: nat }
      servers:
        - { address: 192.0.2.11, port: 8080 }
      healthChecks:
        - type: http
          urls: [{ path: "/healthz" }]
        - type: command
          command: [/usr/local/bin/check-web, "--host", "192.0.2.11"]
`;

/** Writes `text` as `name` into a fresh temp dir; returns the dir. */
function specDir(name: string, text: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, name), text);
  return dir;
}

/** The two lines formatIssues prints under an issue header: source line, then the caret. */
function caretLines(line: number, column: number, lineText: string): string {
  return `${String(line).padStart(5)} | ${lineText}\n      | ${" ".repeat(column - 1)}^`;
}

describe("ipvsc validate", () => {
  // hand-counted from the example files
  const summaries: Record<string, string> = {
    "dr-mh-persistence.yaml": "1 service (1 applier-owned, 0 keepalived-owned), 3 real servers, 1 director",
    "fleet/fleet.yaml": "4 services (1 applier-owned, 3 keepalived-owned), 9 real servers, 6 directors, 3 VRRP instances",
    "fwmark-ports.yaml": "1 service (0 applier-owned, 1 keepalived-owned), 2 real servers, 1 director",
    "ha-pair.yaml": "2 services (1 applier-owned, 1 keepalived-owned), 4 real servers, 2 directors, 1 VRRP instance",
    "ha-stateless.yaml": "2 services (1 applier-owned, 1 keepalived-owned), 5 real servers, 2 directors",
    "ipv6-service.yaml": "2 services (2 applier-owned, 0 keepalived-owned), 4 real servers, 1 director",
    "nat-web.yaml": "1 service (0 applier-owned, 1 keepalived-owned), 3 real servers, 1 director",
    "udp-dns.yaml": "2 services (1 applier-owned, 1 keepalived-owned), 4 real servers, 1 director",
  };

  test("every example has a summary here", () => {
    assert.deepEqual(Object.keys(summaries).sort(), EXAMPLES);
  });

  for (const file of EXAMPLES) {
    test(`examples/${file} -> 0 and one summary line`, async () => {
      const r = await ipvsc(["validate", `examples/${file}`]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
      assert.equal(r.out, `examples/${file}: valid: ${summaries[file]}\n`);
    });
  }

  test("a spec breaking the schema -> 1, every issue located with its source line and caret", async () => {
    const text = `directors:
  - name: lb1
    interfaces: [eth0]
services:
  - name: web
    protocol: tcp
    address: 203.0.113.10
    port: 80
    scheduler: fastest
    pool:
      servers:
        - { address: 192.0.2.11, weight: -3 }
        - { address: 192.0.2.300 }
`;
    const dir = specDir("bad.yaml", text);
    const r = await ipvsc(["validate", "bad.yaml"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const expected = [
      `bad.yaml:9:16: error[invalid-value] services[0].scheduler: must be one of "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos", got "fastest"`,
      caretLines(9, 16, "    scheduler: fastest"),
      "bad.yaml:12:42: error[out-of-range] services[0].pool.servers[0].weight: weight must be between 0 and 2147483647",
      caretLines(12, 42, "        - { address: 192.0.2.11, weight: -3 }"),
      "bad.yaml:13:22: error[invalid-address] services[0].pool.servers[1].address: must be an IPv4 address (a.b.c.d) or an IPv6 address",
      caretLines(13, 22, "        - { address: 192.0.2.300 }"),
      "bad.yaml: invalid (3 errors, 0 warnings)",
      "",
    ].join("\n");
    assert.equal(r.err, expected);
  });

  test("a spec breaking semantic rules -> 1, every issue located with its source line and caret", async () => {
    // schema-valid, but: a DR real server on another port, and an mh flag on rr
    const text = `directors:
  - name: lb1
    interfaces: [eth0]
services:
  - name: web
    protocol: tcp
    address: 203.0.113.10
    port: 80
    scheduler: rr
    schedulerFlags: [mh-port]
    pool:
      forwarding: { method: dr }
      servers:
        - { address: 192.0.2.11, port: 8080 }
`;
    const dir = specDir("rules.yaml", text);
    const r = await ipvsc(["validate", "rules.yaml"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const expectations = [
      { head: "rules.yaml:10:22: error[scheduler-flag-mismatch] services[0].schedulerFlags[0]: ", caret: caretLines(10, 22, "    schedulerFlags: [mh-port]") },
      { head: "rules.yaml:14:40: error[port-remap-without-nat] services[0].pool.servers[0].port: ", caret: caretLines(14, 40, "        - { address: 192.0.2.11, port: 8080 }") },
    ];
    for (const { head, caret } of expectations) {
      const at = r.err.indexOf(head);
      assert.ok(at >= 0, `missing located issue "${head}" in:\n${r.err}`);
      const [headLine, ...rest] = r.err.slice(at).split("\n");
      assert.ok(headLine!.length > head.length, `issue without a message: ${headLine}`);
      assert.equal(rest.slice(0, 2).join("\n"), caret);
    }
    // every issue line carries a location: nothing unlocated slips through
    const issueLines = r.err.split("\n").filter((l) => /\berror\[|\bwarning\[/.test(l));
    assert.equal(issueLines.length, expectations.length, r.err);
    for (const l of issueLines) assert.match(l, /^rules\.yaml:\d+:\d+: (error|warning)\[[a-z-]+\] \S+: \S/);
    assert.match(r.err, /^rules\.yaml: invalid \(2 errors, 0 warnings\)$/m);
  });

  test("a missing file -> 1 with a message naming the file", async () => {
    const dir = tempDir();
    const r = await ipvsc(["validate", "nope.yaml"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^ipvsc: cannot read nope\.yaml: (ENOENT|no such file)/i);
  });

  test("YAML that does not parse -> 1 with a located yaml-syntax issue", async () => {
    const dir = specDir("broken.yaml", "directors: [\n  - name: lb1\n");
    const r = await ipvsc(["validate", "broken.yaml"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /^broken\.yaml:\d+:\d+: error\[yaml-syntax\] /m);
  });
});

describe("ipvsc build", () => {
  for (const file of EXAMPLES) {
    test(`examples/${file} --out DIR -> 0, the files of buildFiles() on disk, secrets 0600`, async () => {
      const out = join(tempDir(), "out");
      const r = await ipvsc(["build", `examples/${file}`, "--out", out]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
      const compiled = compileText(readFileSync(join(ROOT, "examples", file), "utf8"), `examples/${file}`);
      assert.ok(compiled.ok);
      const expected = buildFiles(compiled.output);
      assert.deepEqual(listFiles(out), expected.map((f) => f.path).sort());
      for (const f of expected) {
        const path = join(out, f.path);
        assert.ok(readFileSync(path).equals(Buffer.from(f.content, "utf8")), `${f.path} differs from buildFiles()`);
        const mode = statSync(path).mode & 0o777;
        if (f.secret) assert.equal(mode, 0o600, `${f.path}: mode ${mode.toString(8)}`);
        else assert.equal(mode & 0o022, 0, `${f.path}: group/world-writable (${mode.toString(8)})`);
      }
      assert.match(r.out, new RegExp(`^wrote ${expected.length} files to `, "m"));
    });
  }

  test("a secret file that already exists with mode 0644 ends up 0600, secrets/ not group/world-readable", async () => {
    const out = tempDir();
    const stale = join(out, "secrets", "lb1", "vrrp-auth-VI_WEB.conf");
    mkdirSync(join(out, "secrets", "lb1"), { recursive: true });
    writeFileSync(stale, "auth_pass old\n", { mode: 0o644 });
    const r = await ipvsc(["build", "examples/ha-pair.yaml", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(statSync(stale).mode & 0o777, 0o600);
    assert.equal(readFileSync(stale, "utf8"), "auth_pass s3cr3tPw\n");
    // secrets/lb2 is new: created by the build, so its mode is the build's
    assert.equal(statSync(join(out, "secrets", "lb2")).mode & 0o077, 0, "secrets/lb2 is group/world-accessible");
  });

  test("the build summary never prints a secret", async () => {
    const out = join(tempDir(), "out");
    const r = await ipvsc(["build", "examples/ha-pair.yaml", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes("s3cr3tPw") && !r.err.includes("s3cr3tPw"));
  });

  test("an invalid spec -> 1 and nothing written", async () => {
    const dir = specDir("bad.yaml", BASE_SPEC.replace("port: 80\n", "port: 80\n    scheduler: fastest\n"));
    const r = await ipvsc(["build", "bad.yaml", "--out", "out"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /error\[invalid-value\] services\[0\]\.scheduler/);
    assert.match(r.err, /nothing written/);
    assert.equal(existsSync(join(dir, "out")), false);
    assert.deepEqual(readdirSync(dir), ["bad.yaml"]);
  });

  test("the base spec of the hostile tests builds (so their failures are the hostile strings)", async () => {
    const dir = specDir("base.yaml", BASE_SPEC);
    const r = await ipvsc(["build", "base.yaml", "--out", "out"], dir);
    assert.equal(r.code, 0, r.err);
    const conf = readFileSync(join(dir, "out", "keepalived", "lb1.conf"), "utf8");
    assert.match(conf, /^ {8}path \/healthz$/m);
    assert.match(conf, /^ {6}misc_path "\/usr\/local\/bin\/check-web --host 192\.0\.2\.11"$/m);
  });
});

describe("ipvsc usage errors -> 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["no command", [], /Usage: ipvsc/],
    ["an unknown command", ["frobnicate", "examples/nat-web.yaml"], /unknown command 'frobnicate'/],
    ["validate without a spec", ["validate"], /missing required argument 'spec'/],
    ["build without a spec", ["build", "--out", "x"], /missing required argument 'spec'/],
    ["build without --out", ["build", "examples/nat-web.yaml"], /required option '-o, --out <dir>' not specified/],
    ["validate with two specs", ["validate", "examples/nat-web.yaml", "examples/ha-pair.yaml"], /too many arguments/],
  ];
  for (const [what, argv, message] of cases) {
    test(what, async () => {
      const cwd = tempDir();
      const r = await ipvsc(argv, cwd);
      assert.equal(r.code, 2, `${r.out}${r.err}`);
      assert.match(r.err, message);
      assert.deepEqual(readdirSync(cwd), [], "a usage error wrote something");
    });
  }

  test("--help -> 0 on stdout", async () => {
    const r = await ipvsc(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /validate <spec>/);
    assert.match(r.out, /build \[options\] <spec>/);
  });
});

describe("hostile strings stop a build before anything is written", () => {
  const cases: { what: string; edit: (spec: string) => string; code: string; path: string; line: number }[] = [
    {
      what: "an interface name carrying a shell command",
      edit: (s) => s.replace("interfaces: [eth0]", 'interfaces: ["eth0; rm -rf /"]'),
      code: "invalid-interface-name",
      path: "directors[0].interfaces[0]",
      line: 4,
    },
    {
      what: "an URL path with a double quote",
      edit: (s) => s.replace('path: "/healthz"', 'path: "/health\\"z"'),
      code: "invalid-url-path",
      path: "services[0].pool.healthChecks[0].urls[0].path",
      line: 16,
    },
    {
      what: "an URL path with a newline (YAML \\n escape)",
      edit: (s) => s.replace('path: "/healthz"', 'path: "/healthz\\n}\\nMISC_CHECK {"'),
      code: "invalid-url-path",
      path: "services[0].pool.healthChecks[0].urls[0].path",
      line: 16,
    },
    {
      what: "a command argument with $(reboot)",
      edit: (s) => s.replace('"--host"', '"$(reboot)"'),
      code: "invalid-command",
      path: "services[0].pool.healthChecks[1].command[1]",
      line: 18,
    },
  ];
  for (const c of cases) {
    test(`${c.what} -> 1, error[${c.code}], nothing written`, async () => {
      const text = c.edit(BASE_SPEC);
      assert.notEqual(text, BASE_SPEC, "the edit did not apply");
      const dir = specDir("hostile.yaml", text);
      const r = await ipvsc(["build", "hostile.yaml", "--out", "out"], dir);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, new RegExp(`^hostile\\.yaml:${c.line}:\\d+: error\\[${c.code}\\] ${c.path.replace(/[[\].]/g, "\\$&")}: `, "m"));
      assert.match(r.err, /nothing written/);
      assert.equal(r.out, "");
      assert.equal(existsSync(join(dir, "out")), false, "the build wrote an output directory");
      assert.deepEqual(readdirSync(dir), ["hostile.yaml"]);
    });
  }
});

describe("the real executable", () => {
  const run = promisify(execFile);

  test("node --import tsx src/cli/main.ts validate examples/nat-web.yaml -> 0 and the summary", async () => {
    const r = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "validate", "examples/nat-web.yaml"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.stdout, "examples/nat-web.yaml: valid: 1 service (0 applier-owned, 1 keepalived-owned), 3 real servers, 1 director\n");
    assert.equal(r.stderr, "");
  });

  test("an invalid spec through the executable exits 1", async () => {
    const dir = specDir("bad.yaml", BASE_SPEC.replace("interfaces: [eth0]", 'interfaces: ["eth0; rm -rf /"]'));
    await assert.rejects(
      run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "validate", join(dir, "bad.yaml")], { cwd: ROOT, encoding: "utf8" }),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 1);
        assert.match(e.stderr ?? "", /\/bad\.yaml:4:\d+: error\[invalid-interface-name\]/m);
        return true;
      },
    );
  });
});
