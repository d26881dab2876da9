/**
 * `ipvsc import` in-process: a keepalived.conf split over includes (a glob among them) to
 * YAML on stdout and to files, the TypeScript program (it typechecks against the public
 * entry and exports the same spec), an ipvsadm dump, warnings as `file:line:` lines, and
 * the exit codes for unreadable input and usage errors.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { runIpvsc, type Captured } from "../support/run-cli.js";
import { compileText } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("fixtures/", import.meta.url));

const ipvsc = (argv: string[], cwd = FIXTURES): Promise<Captured> => runIpvsc(argv, cwd);

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ipvsc-import-"));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("ipvsc import keepalived.conf", () => {
  test("counts a service keepalived's when one real server has a check of its own, as compile decides it", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "keepalived.conf"), [
      "virtual_server 203.0.113.10 80 {", "  lb_algo rr", "  lb_kind NAT", "  protocol TCP",
      "  real_server 192.0.2.11 80 {", "    TCP_CHECK {", "      connect_timeout 3", "    }", "  }",
      "  real_server 192.0.2.12 80 {", "  }",
      "}", "",
    ].join("\n"));
    const r = await ipvsc(["import", "keepalived.conf"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /imported 1 service \(1 keepalived-owned, 0 applier-owned\)/);
    const compiled = compileText(r.out, "stdout.yaml");
    assert.ok(compiled.ok, formatIssues(compiled.issues));
    assert.equal(compiled.output.model.services[0]!.owner, "keepalived");
  });

  test("follows includes, prints warnings as file:line, writes a spec that compiles", async () => {
    const r = await ipvsc(["import", "includes/keepalived.conf"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.err.split("\n").filter((l) => l.includes("warning[")), [
      "includes/keepalived.conf:5: warning[unsupported-construct] notification_email: e-mail alerts are not modelled; not imported",
      "includes/vrrp.conf:14: warning[unsupported-construct] smtp_alert: e-mail alerts are not modelled; not imported",
    ]);
    assert.match(r.err, /imported 2 services \(2 keepalived-owned, 0 applier-owned\), 1 VRRP instance; 2 warnings/);
    assert.match(r.out, /^# imported from includes\/keepalived\.conf by ipvsc import/);
    assert.match(r.out, /\$schema: \.\.\/\.\.\/\.\.\/schema\/ipvs-spec\.schema\.json/);
    const compiled = compileText(r.out, "stdout.yaml");
    assert.ok(compiled.ok, formatIssues(compiled.issues));
    const m = compiled.output.model;
    assert.deepEqual(m.services.map((s) => s.name), ["tcp-203.0.113.100-80", "udp-203.0.113.100-53"]);
    assert.deepEqual(m.directors.map((d) => [d.name, d.interfaces]), [["lb-test", ["eth1"]]]);
    assert.equal(m.syncDaemon?.syncId, 5);
    assert.equal(m.directors[0]!.vrrpSecrets["VI_WEB"], "s3cr3tPw");
  });

  test("-o and --typescript write private files; the program typechecks and exports the same spec", async () => {
    const dir = tempDir();
    const r = await ipvsc(["import", join(FIXTURES, "includes/keepalived.conf"), "-o", join(dir, "spec.yaml"), "--typescript", join(dir, "lb.ts"), "--name", "lb1"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `wrote ${join(dir, "spec.yaml")}\nwrote ${join(dir, "lb.ts")}\n`);
    // the VRRP password makes both files secrets
    assert.equal(statSync(join(dir, "spec.yaml")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "lb.ts")).mode & 0o777, 0o600);
    const yaml = compileText(readFileSync(join(dir, "spec.yaml"), "utf8"), "spec.yaml");
    assert.ok(yaml.ok, formatIssues(yaml.issues));
    assert.equal(yaml.output.model.directors[0]!.name, "lb1");

    const program = readFileSync(join(dir, "lb.ts"), "utf8");
    assert.match(program, /^import \{ compile, formatIssues, type SpecInput \} from "pulumi-ipvs";$/m);
    // run it against this checkout's public entry
    const local = join(dir, "lb-local.ts");
    writeFileSync(local, program.replace('"pulumi-ipvs"', JSON.stringify(join(ROOT, "src/index.ts"))));
    const mod = (await import(pathToFileURL(local).href)) as { spec: unknown; result: { ok: boolean } };
    assert.equal(mod.result.ok, true);
    const { $schema, ...fromYaml } = parseYaml(readFileSync(join(dir, "spec.yaml"), "utf8")) as Record<string, unknown>;
    assert.equal(typeof $schema, "string");
    assert.deepEqual(mod.spec, fromYaml);

    // and it typechecks against the public entry, under the project's strict settings
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", skipLibCheck: true,
        noUncheckedIndexedAccess: true, types: ["node"], typeRoots: [join(ROOT, "node_modules/@types")],
        paths: { "pulumi-ipvs": [join(ROOT, "src/index.ts")] },
      },
      files: ["lb.ts"],
    }));
    const tsc = await promisify(execFile)(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")]).then(
      () => ({ code: 0, out: "" }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? "" }),
    );
    assert.equal(tsc.code, 0, tsc.out);
  });

  test("unreadable input exits 1; no input or two inputs is a usage error", async () => {
    const missing = await ipvsc(["import", "nope.conf"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^ipvsc import: cannot read nope\.conf: no such file or directory$/m);
    assert.equal((await ipvsc(["import"])).code, 2);
    assert.equal((await ipvsc(["import", "includes/keepalived.conf", "--ipvsadm", "ipvsadm-save.txt"])).code, 2);
  });
});

describe("ipvsc import --ipvsadm", () => {
  test("a dump becomes applier-owned services that compile", async () => {
    const r = await ipvsc(["import", "--ipvsadm", "ipvsadm-save.txt", "--name", "lb2"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /imported 6 services \(0 keepalived-owned, 6 applier-owned\), 0 VRRP instances; 0 warnings/);
    // what validate() says about the spec is printed too
    assert.match(r.err, /warning\[empty-pool\] services\[3\]\.pool\.servers/);
    const compiled = compileText(r.out, "stdout.yaml");
    assert.ok(compiled.ok, formatIssues(compiled.issues));
    assert.ok(compiled.output.model.services.every((s) => s.owner === "applier"));
  });
});
