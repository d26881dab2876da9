/**
 * keepalived features beyond one list of checks per pool (issue #16): per-real-server
 * checks and settings, ... For each: the rendered keepalived.conf says exactly what the
 * spec says, ownership stays per service, the real `keepalived -t -e` accepts the config
 * (rc 0, empty stderr; skipped loudly without root/keepalived/ip netns), and importing the
 * rendered config gives a spec that compiles to the same files.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile, type CompileOutput } from "../../src/compile.js";
import { importKeepalivedConf } from "../../src/import/import-keepalived-conf.js";
import { findingKey } from "../../src/import/import-findings.js";
import { formatIssues } from "../../src/issues.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { checkDirector, keepalivedSkip } from "../support/keepalived-check.js";

const skip = await keepalivedSkip();

function compiled(spec: SpecInput): CompileOutput {
  const r = compile(spec);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output;
}

/** The lines of one `NAME ARGS {` block of `text` (the first one), without indentation. */
function block(text: string, header: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === `${header} {`);
  assert.ok(start >= 0, `no block ${header} in\n${text}`);
  const depth = lines[start]!.length - lines[start]!.trimStart().length;
  const out: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "}" && l.length - l.trimStart().length === depth) break;
    out.push(l.trim());
  }
  return out;
}

/** Imports the rendered keepalived.conf of the (only) director back and compiles it. */
function reimported(out: CompileOutput): { again: CompileOutput; findings: string[] } {
  const d = out.directors[0]!;
  const secrets = new Map(d.secretFiles.map((s) => [s.path, s.content]));
  const r = importKeepalivedConf(d.keepalivedConf, "/etc/keepalived/keepalived.conf", {
    readInclude: (p) => secrets.get(p), directorName: d.name,
  });
  return { again: compiled(r.spec), findings: r.findings.map((f) => findingKey(f)) };
}

async function assertKeepalivedAccepts(out: CompileOutput): Promise<void> {
  for (const director of out.model.directors) {
    const r = await checkDirector(out.model, director);
    const context = `keepalived -t -e for ${director.name}: rc ${r.code}\n--- stderr\n${r.stderr}\n--- config\n${r.conf}`;
    assert.equal(r.code, 0, context);
    assert.equal(r.stderr, "", context);
  }
}

const director = { name: "lb1", interfaces: ["eth0"] };

describe("per-real-server checks and settings", () => {
  const spec = (): SpecInput => ({
    directors: [director],
    services: [
      {
        name: "web", protocol: "tcp", address: "192.0.2.10", port: 80,
        pool: {
          servers: [
            { address: "203.0.113.1" },
            // its own check, replacing the pool's, and notify scripts
            {
              address: "203.0.113.2",
              healthChecks: [{ type: "tcp", connectPort: 8081, retry: 2 }],
              notifyUp: ["/bin/true", "up"], notifyDown: ["/bin/true", "down"],
            },
            // no check at all: keepalived keeps it up
            { address: "203.0.113.3", healthChecks: [], inhibitOnFailure: false, alpha: true },
            // the same value as the pool's: nothing to say
            { address: "203.0.113.4", inhibitOnFailure: true },
          ],
          healthChecks: [{ type: "http", urls: [{ path: "/healthz", statusCode: [200] }] }],
          inhibitOnFailure: true,
        },
      },
      {
        // no pool checks, one server's own: still keepalived's (ownership is per service)
        name: "dns", protocol: "udp", address: "192.0.2.11", port: 53,
        pool: { servers: [{ address: "203.0.113.5" }, { address: "203.0.113.6", healthChecks: [{ type: "dns", name: "example.org" }] }] },
      },
      {
        name: "plain", protocol: "tcp", address: "192.0.2.12", port: 80,
        pool: { servers: [{ address: "203.0.113.7" }] },
      },
    ],
  });
  const out = compiled(spec());
  const conf = out.directors[0]!.keepalivedConf;

  test("ownership is per service: any check, the pool's or one server's, makes it keepalived's", () => {
    assert.deepEqual(out.model.services.map((s) => [s.name, s.owner]), [["web", "keepalived"], ["dns", "keepalived"], ["plain", "applier"]]);
    assert.doesNotMatch(conf, /virtual_server 192\.0\.2\.12 80/);
  });

  test("each server is rendered with its own checks and settings, the rest with the pool's", () => {
    const vs = block(conf, "virtual_server 192.0.2.10 80");
    assert.ok(vs.includes("inhibit_on_failure"));
    assert.deepEqual(block(conf, "real_server 203.0.113.1 80"), [
      "weight 1", "HTTP_GET {", "url {", "path /healthz", "status_code 200", "}", "}",
    ]);
    assert.deepEqual(block(conf, "real_server 203.0.113.2 80"), [
      "weight 1", 'notify_up "/bin/true up"', 'notify_down "/bin/true down"', "TCP_CHECK {", "connect_port 8081", "retry 2", "}",
    ]);
    assert.deepEqual(block(conf, "real_server 203.0.113.3 80"), ["weight 1", "inhibit_on_failure off", "alpha"]);
    assert.deepEqual(block(conf, "real_server 203.0.113.4 80"), [
      "weight 1", "HTTP_GET {", "url {", "path /healthz", "status_code 200", "}", "}",
    ]);
    assert.deepEqual(block(conf, "real_server 203.0.113.5 53"), ["weight 1"]);
    assert.deepEqual(block(conf, "real_server 203.0.113.6 53"), ["weight 1", "DNS_CHECK {", "type A", "name example.org", "}"]);
  });

  test("the ipvsadm rules do not change: the kernel table knows no checks", () => {
    const base = spec();
    for (const s of base.services) {
      for (const rs of s.pool.servers) {
        delete rs.healthChecks; delete rs.notifyUp; delete rs.notifyDown; delete rs.inhibitOnFailure; delete rs.alpha;
      }
    }
    base.services[1]!.pool.healthChecks = [{ type: "dns", name: "example.org" }];
    assert.equal(compiled(base).ipvsadmRules, out.ipvsadmRules);
  });

  test("keepalived -t -e accepts the rendered config", { skip }, async () => {
    await assertKeepalivedAccepts(out);
  });

  test("importing the rendered config gives a spec that compiles to the same files", () => {
    // keepalived.conf holds keepalived's services only: leave the applier's out
    const own = spec();
    own.services = own.services.filter((s) => s.name !== "plain");
    const first = compiled(own);
    const { again, findings } = reimported(first);
    assert.deepEqual(findings, [], "nothing reported");
    assert.equal(again.directors[0]!.keepalivedConf, first.directors[0]!.keepalivedConf);
    assert.equal(again.ipvsadmRules, first.ipvsadmRules);
  });
});
