/**
 * Every Pulumi program under examples/ runs under mocks (each in its own process), and the
 * two shipped programs create exactly what they should: one IpvsDirector per director and
 * one director resource (IpvsDirectorState) under each, with the inputs compile() of the
 * same spec gives, the secrets only where they belong, the rollout chain as dependencies.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { teardownKeepalivedConf } from "../../components/ipvs-director.js";
import { compile, compileText, desiredDirectorView, formatIssues } from "../../src/index.js";
import type { Registered, RegisteredOutputs } from "./support/mocks.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STATE_TYPE = "pulumi-nodejs:dynamic/ipvs:IpvsDirectorState";
const PASSWORD = "Zq8pW2xy";
const KEY_MATERIAL = "fakekeymaterial";
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_MATERIAL}\n-----END OPENSSH PRIVATE KEY-----\n`;
const HOST_KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const HOST_KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICSB+3nLXHdkc6OFyk/K4W9l1KAgZnXWu0bGdZqw/MQZ";

interface ExampleRun {
  project: string;
  resources: Registered[];
  outputs: RegisteredOutputs[];
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

/**
 * The programs by project name: examples/pulumi-NAME/ (project pulumi-NAME) and the program
 * beside an example spec, examples/NAME/pulumi/ (project pulumi-NAME).
 */
const PROGRAMS = new Map(readdirSync(join(ROOT, "examples")).flatMap((d): [string, string][] => {
  if (d.startsWith("pulumi-") && existsSync(join(ROOT, "examples", d, "Pulumi.yaml"))) return [[d, join("examples", d)]];
  if (existsSync(join(ROOT, "examples", d, "pulumi", "Pulumi.yaml"))) return [[`pulumi-${d}`, join("examples", d, "pulumi")]];
  return [];
}).sort(([a], [b]) => (a < b ? -1 : 1)));
const runs = new Map([...PROGRAMS].map(([name, dir]) => [name, runExample(join(ROOT, dir))]));

/**
 * Where `needle` occurs in the run's inputs and registered outputs, as JSON (inside secrets
 * too): `<resource>.inputs.<key>`, with " (secret)" when that input or output is a secret.
 */
function occurrences(run: ExampleRun, needle: string): string[] {
  const found: string[] = [];
  for (const r of run.resources) {
    const outputs = run.outputs.find((o) => o.urn === r.urn)?.outputs ?? {};
    for (const [kind, props] of [["inputs", r.inputs], ["outputs", outputs]] as const) {
      for (const [k, v] of Object.entries(props)) {
        if (JSON.stringify(v).includes(needle)) {
          const secret = v !== null && typeof v === "object" && "$secret" in v;
          found.push(`${r.name}.${kind}.${k}${secret ? " (secret)" : ""}`);
        }
      }
    }
  }
  return found.sort();
}

describe("every Pulumi program under examples/ runs under mocks", () => {
  test("at least the three shipped programs exist", () => {
    assert.ok(["pulumi-nat-web", "pulumi-ha-pair", "pulumi-fleet"].every((p) => PROGRAMS.has(p)), [...PROGRAMS.keys()].join(", "));
    assert.equal(PROGRAMS.get("pulumi-fleet"), join("examples", "fleet", "pulumi"));
  });
  for (const [name, run] of runs) {
    test(`${name}: a cluster whose director resources all belong to it, the private key only in their secret credentials`, () => {
      assert.equal(run.project, name);
      const clusters = run.resources.filter((r) => r.type === "ipvs:index:IpvsCluster");
      assert.ok(clusters.length >= 1);
      const custom = run.resources.filter((x) => x.custom);
      assert.ok(custom.length >= 1, "at least one director resource");
      for (const r of custom) {
        assert.equal(r.type, STATE_TYPE, `${r.name}: only director resources are custom`);
        assert.ok(clusters.some((c) => r.name.startsWith(`${c.name}-`)), `${r.name} is not named under a cluster`);
        assert.ok(run.resources.some((d) => d.type === "ipvs:index:IpvsDirector" && r.options.parent === d.urn), `${r.name}: parented to an IpvsDirector`);
      }
      assert.deepEqual(occurrences(run, KEY_MATERIAL), custom.map((r) => `${r.name}.inputs.credentials (secret)`).sort());
      for (const [key, out] of Object.entries(run.exports)) {
        if (!out.secret) assert.ok(!JSON.stringify(out.value).includes(PASSWORD), `export ${key} holds the password in plain`);
      }
    });
  }
});

describe("examples/pulumi-nat-web", () => {
  const run = runs.get("pulumi-nat-web")!;
  const byName = (n: string) => run.resources.find((r) => r.name === n)!;

  test("one director, one director resource under it", () => {
    assert.deepEqual(run.resources.map((r) => `${r.name} ${r.type}`).sort(), [
      "nat-web ipvs:index:IpvsCluster", "nat-web-lb1 ipvs:index:IpvsDirector", `nat-web-lb1-state ${STATE_TYPE}`,
    ]);
    const state = byName("nat-web-lb1-state");
    assert.equal(state.options.parent, byName("nat-web-lb1").urn);
    assert.deepEqual(state.options.dependencies, []);
    assert.equal(state.options.retainOnDelete, undefined);
  });

  test("the rules, and the director resource's inputs: the view, keepalived.conf, the teardown config, the connection", () => {
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
    const inputs = byName("nat-web-lb1-state").inputs;
    const common = { flags: "-", onePacket: false, persistence: "off", persistenceEngine: "-" };
    const nat = (weight: number) => ({ forwarding: "nat", weight, upperThreshold: 0, lowerThreshold: 0 });
    assert.deepEqual(inputs.services, {
      "metrics tcp/203.0.113.10:9100": { ...common, owner: "applier", scheduler: "rr", servers: { "192.0.2.11:9100": nat(1), "192.0.2.12:9100": nat(1) } },
      // the sorry server is keepalived's business, not a real server of the table
      "web tcp/203.0.113.10:80": { ...common, owner: "keepalived", scheduler: "wlc", servers: { "192.0.2.11:8080": {}, "192.0.2.12:8080": {}, "192.0.2.13:8080": {} } },
    });
    assert.equal(inputs.owner, "nat-web");
    assert.equal(inputs.director, "lb1");
    assert.equal(inputs.drainTimeoutSeconds, 60);
    assert.equal(inputs.keepalived, "running");
    assert.equal(inputs.keepalivedConf, run.exports.keepalivedConf!.value);
    assert.match(inputs.keepalivedConf as string, /^\s*HTTP_GET \{$/m);
    assert.match(inputs.teardownKeepalivedConf as string, /^global_defs \{$/m);
    assert.doesNotMatch(inputs.teardownKeepalivedConf as string, /virtual_server|vrrp_instance/);
    assert.deepEqual(inputs.connection, { host: "198.51.100.11", port: 22, user: "root", hostKey: HOST_KEY_1 });
    // the director's own ssh.privateKey (a config secret)
    assert.deepEqual(inputs.credentials, { $secret: { privateKey: PRIVATE_KEY } });
    assert.deepEqual(inputs.secretFiles, { $secret: [] }, "no VRRP: nothing secret to stage");
    assert.match(inputs.__provider as string, /^exports\.handler = /);
  });
});

describe("examples/pulumi-ha-pair", () => {
  const run = runs.get("pulumi-ha-pair")!;
  const byName = (n: string) => run.resources.find((r) => r.name === n)!;

  test("two directors rolled out backup first: lb1's director resource waits for lb2's", () => {
    assert.deepEqual(run.exports.rolloutOrder!.value, ["lb2", "lb1"]);
    assert.deepEqual(run.resources.map((r) => `${r.name} ${r.type}`).sort(), [
      "edge ipvs:index:IpvsCluster", "edge-lb1 ipvs:index:IpvsDirector", `edge-lb1-state ${STATE_TYPE}`,
      "edge-lb2 ipvs:index:IpvsDirector", `edge-lb2-state ${STATE_TYPE}`,
    ]);
    assert.deepEqual(byName("edge-lb2-state").options.dependencies, []);
    assert.deepEqual(byName("edge-lb1-state").options.dependencies, [byName("edge-lb2-state").urn]);
    for (const d of ["lb1", "lb2"]) assert.equal(byName(`edge-${d}-state`).options.parent, byName(`edge-${d}`).urn);
  });

  test("the VRRP password: only in the secret include files (the director resources' secretFiles and the directors' secret output)", () => {
    for (const d of ["lb1", "lb2"]) {
      assert.deepEqual(byName(`edge-${d}-state`).inputs.secretFiles,
        { $secret: [{ path: "/etc/keepalived/vrrp-auth-VI_WEB.conf", content: `auth_pass ${PASSWORD}\n` }] });
    }
    assert.deepEqual(occurrences(run, PASSWORD), [
      "edge-lb1-state.inputs.secretFiles (secret)", "edge-lb1.outputs.secretFiles (secret)",
      "edge-lb2-state.inputs.secretFiles (secret)", "edge-lb2.outputs.secretFiles (secret)",
    ].sort());
    assert.equal(run.exports.vrrpIncludes!.secret, true);
    assert.deepEqual(byName("edge-lb2-state").inputs.connection, { host: "198.51.100.12", port: 22, user: "root", hostKey: HOST_KEY_2 });
    assert.deepEqual(byName("edge-lb1-state").inputs.credentials, { $secret: { privateKey: PRIVATE_KEY } });
  });

  test("the director resources' inputs are what compile() of the same spec gives", () => {
    const out = compile({
      directors: [
        { name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11", ssh: { host: "198.51.100.11", hostKey: HOST_KEY_1 } },
        { name: "lb2", interfaces: ["eth0", "eth1"], address: "198.51.100.12", ssh: { host: "198.51.100.12", hostKey: HOST_KEY_2 } },
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
      const inputs = byName(`edge-${d.name}-state`).inputs;
      const view = desiredDirectorView(d, out.output.directors[i]!.keepalivedConf);
      assert.deepEqual(inputs.services, JSON.parse(JSON.stringify(view.services)), d.name);
      assert.deepEqual(Object.keys(inputs.services as object).sort(), ["quic udp/203.0.113.100:443", "web tcp/203.0.113.100:80"]);
      assert.equal(inputs.keepalived, "running");
      assert.equal(inputs.keepalivedConf, out.output.directors[i]!.keepalivedConf);
      assert.match(inputs.keepalivedConf as string, /^vrrp_instance VI_WEB \{$/m);
      assert.equal(inputs.teardownKeepalivedConf, teardownKeepalivedConf(out.output, d.name));
      assert.doesNotMatch(inputs.teardownKeepalivedConf as string, /virtual_server|vrrp_instance|vrrp_sync_group/);
      assert.deepEqual(inputs.model, JSON.parse(JSON.stringify({ ...d, vrrpSecrets: {} })));
      assert.ok(!JSON.stringify(inputs.model).includes(PASSWORD));
      assert.deepEqual(inputs.secretFiles, { $secret: out.output.directors[i]!.secretFiles });
      assert.equal(inputs.sysctlConf, out.output.sysctlConf);
      assert.equal(inputs.owner, "edge");
      assert.equal(inputs.drainTimeoutSeconds, 30);
    }
  });
});

describe("examples/fleet/pulumi", () => {
  const run = runs.get("pulumi-fleet")!;
  const byName = (n: string) => run.resources.find((r) => r.name === n)!;
  const SITES = ["ams", "fra", "lon"];

  test("one cluster of three VRRP pairs, each director with one director resource; a chain within a pair, none across pairs", () => {
    const expected = [
      `fleet ipvs:index:IpvsCluster`,
      ...SITES.flatMap((s) => ["lb1", "lb2"].flatMap((d) => [`fleet-${s}-${d} ipvs:index:IpvsDirector`, `fleet-${s}-${d}-state ${STATE_TYPE}`])),
    ];
    assert.deepEqual(run.resources.map((r) => `${r.name} ${r.type}`).sort(), expected.sort());
    assert.deepEqual(run.exports.rolloutOrder!.value, SITES.flatMap((s) => [`${s}-lb2`, `${s}-lb1`]));
    for (const s of SITES) {
      const lb1 = byName(`fleet-${s}-lb1-state`), lb2 = byName(`fleet-${s}-lb2-state`);
      // the backup first, then the preferred master; lb2 waits for nothing, so the three pairs start side by side
      assert.deepEqual(lb2.options.dependencies, []);
      assert.deepEqual(lb1.options.dependencies, [lb2.urn]);
      for (const d of [lb1, lb2]) {
        assert.equal(d.inputs.owner, "fleet");
        assert.deepEqual(d.inputs.credentials, { $secret: { privateKey: PRIVATE_KEY } });
      }
    }
  });

  test("every director gets what examples/fleet/fleet.yaml renders for it: its site's services and VRRP instance, keepalived.conf, sysctl", () => {
    const path = "examples/fleet/fleet.yaml";
    const out = compileText(readFileSync(join(ROOT, path), "utf8"), path);
    assert.ok(out.ok, formatIssues(out.issues));
    assert.equal(out.output.model.directors.length, 6);
    assert.equal(run.exports.ipvsadmRules!.value, out.output.ipvsadmRules);
    for (const [i, d] of out.output.model.directors.entries()) {
      const site = d.name.split("-")[0]!;
      const inputs = byName(`fleet-${d.name}-state`).inputs;
      const view = desiredDirectorView(d, out.output.directors[i]!.keepalivedConf);
      assert.deepEqual(inputs.services, JSON.parse(JSON.stringify(view.services)), d.name);
      assert.ok(Object.keys(inputs.services as object).every((k) => k.startsWith(`${site}-`)), `${d.name} carries only its site's services`);
      assert.equal(inputs.keepalivedConf, out.output.directors[i]!.keepalivedConf, d.name);
      assert.deepEqual([...(inputs.keepalivedConf as string).matchAll(/^vrrp_instance (\S+) \{$/gm)].map((m) => m[1]), [`VI_${site.toUpperCase()}`], d.name);
      assert.deepEqual(inputs.model, JSON.parse(JSON.stringify({ ...d, vrrpSecrets: {} })), d.name);
      assert.equal(inputs.sysctlConf, out.output.sysctlConf);
      assert.equal(inputs.director, d.name);
      assert.equal((inputs.connection as { host: string }).host, d.ssh!.host);
    }
    assert.equal((run.exports.siteRules!.value as Record<string, string>).lon, out.output.directors.find((x) => x.name === "lon-lb1")!.ipvsadmRules);
  });
});
