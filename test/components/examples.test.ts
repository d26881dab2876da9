/**
 * Every Pulumi program under examples/ runs under mocks (each in its own process), and the
 * two shipped programs create exactly what they should.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { compile, stageConverge } from "../../src/index.js";
import { plainStrings, type Registered } from "./support/mocks.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PASSWORD = "Zq8pW2xy";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfakekeymaterial\n-----END OPENSSH PRIVATE KEY-----\n";

interface ExampleRun {
  project: string;
  resources: Registered[];
  exports: Record<string, { value: unknown; secret: boolean }>;
}

function runExample(dir: string): ExampleRun {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "test/components/support/run-example.ts"), dir], {
    encoding: "utf8",
    cwd: ROOT,
    env: {
      ...process.env,
      IPVS_MOCK_CONFIG: JSON.stringify({ sshPrivateKey: PRIVATE_KEY, vrrpPassword: PASSWORD }),
      IPVS_MOCK_SECRETS: JSON.stringify(["sshPrivateKey", "vrrpPassword"]),
    },
  });
  assert.equal(r.status, 0, `${dir} failed under mocks:\n${r.stderr}`);
  return JSON.parse(r.stdout) as ExampleRun;
}

const PROGRAMS = readdirSync(join(ROOT, "examples"))
  .filter((d) => d.startsWith("pulumi-") && existsSync(join(ROOT, "examples", d, "Pulumi.yaml")))
  .sort();
const runs = new Map(PROGRAMS.map((d) => [d, runExample(join(ROOT, "examples", d))]));

const asset = (r: Registered | undefined) => (r?.inputs.source as { $asset?: string } | undefined)?.$asset;

describe("every Pulumi program under examples/ runs under mocks", () => {
  test("at least the two shipped programs exist", () => {
    assert.ok(PROGRAMS.includes("pulumi-nat-web") && PROGRAMS.includes("pulumi-ha-pair"), PROGRAMS.join(", "));
  });
  for (const [name, run] of runs) {
    test(`${name}: a cluster whose remote resources all belong to it, no secret in plain`, () => {
      assert.equal(run.project, name);
      const clusters = run.resources.filter((r) => r.type === "ipvs:index:IpvsCluster");
      assert.ok(clusters.length >= 1);
      for (const r of run.resources.filter((x) => x.custom)) {
        assert.ok(clusters.some((c) => r.name.startsWith(`${c.name}-`)), `${r.name} is not named under a cluster`);
        for (const p of plainStrings(r.inputs)) {
          assert.ok(!p.text.includes(PASSWORD) && !p.text.includes("fakekeymaterial"), `${r.name}.${p.path} holds a secret in plain`);
        }
      }
      for (const [key, out] of Object.entries(run.exports)) {
        if (!out.secret) assert.ok(!JSON.stringify(out.value).includes(PASSWORD), `export ${key} holds the password in plain`);
      }
    });
  }
});

describe("examples/pulumi-nat-web", () => {
  const run = runs.get("pulumi-nat-web")!;
  const byName = (n: string) => run.resources.find((r) => r.name === n);

  test("one director: its copies, the prepare and the converge, nothing secret to stage", () => {
    assert.deepEqual(run.resources.map((r) => r.name).sort(), [
      "nat-web", "nat-web-lb1", "nat-web-lb1-apply-script", "nat-web-lb1-converge", "nat-web-lb1-desired-keepalived-rules",
      "nat-web-lb1-desired-rules", "nat-web-lb1-keepalived-conf", "nat-web-lb1-manifest-sha256", "nat-web-lb1-owned",
      "nat-web-lb1-params", "nat-web-lb1-prepare", "nat-web-lb1-sysctl-conf",
    ]);
    assert.equal(byName("nat-web-lb1-converge")!.inputs.stdin, undefined);
  });

  test("the rules, the staged files and the command", () => {
    assert.equal(run.exports.ipvsadmRules!.value, [
      "-A -t 203.0.113.10:80 -s wlc",
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 10",
      "-a -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 10",
      "-a -t 203.0.113.10:80 -r 192.0.2.13:8080 -m -w 5 -x 2000 -y 1500",
      "-A -t 203.0.113.10:9100 -s rr",
      "-a -t 203.0.113.10:9100 -r 192.0.2.11:9100 -m -w 1",
      "-a -t 203.0.113.10:9100 -r 192.0.2.12:9100 -m -w 1",
      "",
    ].join("\n"));
    assert.equal(asset(byName("nat-web-lb1-keepalived-conf")), run.exports.keepalivedConf!.value);
    assert.match(run.exports.keepalivedConf!.value as string, /^\s*HTTP_GET \{$/m);
    assert.equal(asset(byName("nat-web-lb1-params")), 'OWNER=nat-web\nKCONF_DIR=/etc/keepalived\nDRAIN_TIMEOUT=60\nMANAGED=yes\nSECRET_FILES=""\n');
    assert.equal(asset(byName("nat-web-lb1-owned")), "owner nat-web\nservice metrics tcp/203.0.113.10:9100 applier\nservice web tcp/203.0.113.10:80 keepalived\n");
    assert.match(byName("nat-web-lb1-converge")!.inputs.create as string, /^sh \/var\/lib\/ipvsc\/apply\.sh converge \/var\/lib\/ipvsc\/stage\/nat-web [0-9a-f]{64}$/);
  });
});

describe("examples/pulumi-ha-pair", () => {
  const run = runs.get("pulumi-ha-pair")!;
  const byName = (n: string) => run.resources.find((r) => r.name === n);

  test("two directors rolled out backup first, each with a secret VRRP include", () => {
    assert.deepEqual(run.exports.rolloutOrder!.value, ["lb2", "lb1"]);
    for (const d of ["lb1", "lb2"]) {
      const include = byName(`edge-${d}-secret-vrrp-auth-VI_WEB`)!;
      assert.deepEqual(include.inputs.source, { $secret: { $asset: `auth_pass ${PASSWORD}\n` } });
      assert.equal(include.inputs.remotePath, "/var/lib/ipvsc/stage/edge/secrets/vrrp-auth-VI_WEB.conf");
      const stdin = byName(`edge-${d}-converge`)!.inputs.stdin as { $secret: string };
      assert.match(stdin.$secret, /^[0-9a-f]{64} {2}secrets\/vrrp-auth-VI_WEB\.conf\n$/);
    }
    assert.equal(run.exports.vrrpIncludes!.secret, true);
    assert.equal((byName("edge-lb2-converge")!.inputs.connection as { $secret: { host: string } }).$secret.host, "198.51.100.12");
  });

  test("the staged files are the ones stageConverge makes from compile() of the same spec", () => {
    const out = compile({
      directors: [
        { name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11" },
        { name: "lb2", interfaces: ["eth0", "eth1"], address: "198.51.100.12" },
      ],
      vrrp: {
        instances: [{
          name: "VI_WEB", interface: "eth1", virtualRouterId: 51, priority: 150, vips: ["203.0.113.100/32"],
          authType: "PASS", authPassword: PASSWORD, unicast: true, trackInterfaces: [{ name: "eth0" }], trackScripts: [{ name: "chk_sshd" }],
        }],
        scripts: [{ name: "chk_sshd", command: ["/usr/bin/pgrep", "-x", "sshd"], interval: 2, fall: 2, rise: 2 }],
      },
      syncDaemon: { interface: "eth1", instance: "VI_WEB", syncId: 51 },
      services: [
        {
          name: "web", protocol: "tcp", address: "203.0.113.100", port: 80, scheduler: "wrr",
          pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.111", weight: 3 }, { address: "203.0.113.112", weight: 1 }], healthChecks: [{ type: "http", urls: [{ path: "/", statusCode: [200] }] }] },
        },
        {
          name: "quic", protocol: "udp", address: "203.0.113.100", port: 443, scheduler: "mh", schedulerFlags: ["mh-fallback", "mh-port"],
          pool: { forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 6080, tunnelChecksum: "remcsum" }, servers: [{ address: "198.51.100.21" }, { address: "198.51.100.22" }] },
        },
      ],
    });
    assert.ok(out.ok);
    assert.equal(run.exports.ipvsadmRules!.value, out.output.ipvsadmRules);
    for (const [i, d] of out.output.model.directors.entries()) {
      const staged = stageConverge({
        director: d, keepalivedConf: out.output.directors[i]!.keepalivedConf, secretFiles: out.output.directors[i]!.secretFiles,
        sysctlConf: out.output.sysctlConf, keepalivedConfigDir: "/etc/keepalived", owner: "edge", drainTimeoutSeconds: 30,
      });
      for (const f of staged.files.filter((x) => !x.secret)) {
        const copy = run.resources.find((r) => r.name.startsWith(`edge-${d.name}-`) && r.inputs.remotePath === f.path);
        assert.equal(asset(copy), f.content, `${d.name} ${f.path}`);
      }
      assert.equal(byName(`edge-${d.name}-converge`)!.inputs.create, staged.command);
      assert.deepEqual(byName(`edge-${d.name}-converge`)!.inputs.stdin, { $secret: staged.stdin });
    }
  });
});
