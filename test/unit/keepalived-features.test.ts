/**
 * keepalived features beyond one list of checks per pool (issue #16): per-real-server
 * checks and settings; the virtual-server settings of keepalived 2.2 (quorum, alpha/omega,
 * ha_suspend, sorry server, virtualhost, per-check retry, MISC_CHECK); ... For each: the rendered keepalived.conf says exactly what the
 * spec says, ownership stays per service, the real `keepalived -t -e` accepts the config
 * (rc 0, empty stderr; skipped loudly without root/keepalived/ip netns), and importing the
 * rendered config gives a spec that compiles to the same files.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile, type CompileOutput } from "../../src/compile.js";
import { importKeepalivedConf } from "../../src/import/import-keepalived-conf.js";
import { findingKey } from "../../src/import/import-findings.js";
import { formatIssues, formatPath } from "../../src/issues.js";
import { normalize } from "../../src/model/normalize.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { validate } from "../../src/validate/validate.js";
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

/** Renders a spec that parses but that validate() refuses, the way keepalived would get it without our rules. */
function renderedUnvalidated(spec: SpecInput): { model: ReturnType<typeof normalize>; issues: string[] } {
  const parsed = parseSpec(spec);
  assert.ok(parsed.ok, formatIssues(parsed.issues));
  return { model: normalize(parsed.spec), issues: validate(parsed.spec).filter((i) => i.severity === "error").map((i) => `${i.code} ${formatPath(i.path)}`) };
}

describe("virtual-server settings of keepalived 2.2: quorum, alpha/omega, ha_suspend, sorry server, virtualhost, per-check retry, MISC_CHECK", () => {
  const spec = (): SpecInput => ({
    directors: [director],
    services: [{
      name: "web", protocol: "tcp", address: "192.0.2.10", port: 80, virtualhost: "www.example.org",
      pool: {
        servers: [{ address: "203.0.113.1", weight: 2 }, { address: "203.0.113.2", weight: 2 }],
        healthChecks: [
          { type: "http", retry: 4, delayBeforeRetry: 2, urls: [{ path: "/", statusCode: [200, "301-302"] }] },
          { type: "command", command: ["/bin/true", "check"], timeout: 3, dynamic: true, retry: 1 },
        ],
        quorum: 3, hysteresis: 1, quorumUp: ["/bin/true", "up"], quorumDown: ["/bin/true", "down"],
        alpha: true, omega: true, haSuspend: true,
        sorryServer: { address: "203.0.113.9", port: 8080, inhibit: true, forwarding: "nat" },
      },
    }],
  });
  const out = compiled(spec());
  const conf = out.directors[0]!.keepalivedConf;

  test("each setting is rendered where keepalived reads it", () => {
    const vs = block(conf, "virtual_server 192.0.2.10 80");
    for (const line of [
      "virtualhost www.example.org", "quorum 3", "hysteresis 1", 'quorum_up "/bin/true up"', 'quorum_down "/bin/true down"',
      "alpha", "omega", "ha_suspend", "sorry_server 203.0.113.9 8080", "sorry_server_inhibit", "sorry_server_lvs_method NAT",
    ]) assert.ok(vs.includes(line), `${line} missing from\n${vs.join("\n")}`);
    assert.deepEqual(block(conf, "real_server 203.0.113.1 80"), [
      "weight 2",
      "HTTP_GET {", "retry 4", "delay_before_retry 2", "url {", "path /", "status_code 200 301-302", "}", "}",
      "MISC_CHECK {", "retry 1", 'misc_path "/bin/true check"', "misc_timeout 3", "misc_dynamic", "}",
    ]);
  });

  test("keepalived -t -e accepts the rendered config", { skip }, async () => {
    await assertKeepalivedAccepts(out);
  });

  test("importing the rendered config gives a spec that compiles to the same files", () => {
    const { again, findings } = reimported(out);
    assert.deepEqual(findings, []);
    assert.equal(again.directors[0]!.keepalivedConf, conf);
    assert.equal(again.ipvsadmRules, out.ipvsadmRules);
  });

  // validation matches keepalived's own rules: what validate() refuses, keepalived -t refuses too
  const refused: Array<{ name: string; mutate: (s: SpecInput) => void; issue: string; keepalivedSays: RegExp }> = [
    {
      name: "ha_suspend on a fwmark service",
      mutate: (s) => {
        const svc = s.services[0]!;
        delete svc.protocol; delete svc.address; delete svc.port; delete svc.virtualhost;
        svc.fwmark = 7;
        svc.pool.healthChecks = [{ type: "tcp", connectPort: 80 }];
        delete svc.pool.sorryServer;
      },
      issue: "keepalived-incompatible services[0].pool.haSuspend",
      keepalivedSays: /cannot use ha_suspend with fwmarks/,
    },
    {
      name: "hysteresis not below quorum",
      mutate: (s) => { s.services[0]!.pool.hysteresis = 3; },
      issue: "hysteresis-not-below-quorum services[0].pool.hysteresis",
      keepalivedSays: /hysteresis 3 >= quorum 3/,
    },
  ];
  for (const r of refused) {
    test(`refused by validate() and by keepalived -t alike: ${r.name}`, { skip }, async () => {
      const s = spec();
      r.mutate(s);
      const { model, issues } = renderedUnvalidated(s);
      assert.deepEqual(issues, [r.issue]);
      const k = await checkDirector(model, model.directors[0]!);
      assert.notEqual(k.code, 0, k.conf);
      assert.match(k.stderr, r.keepalivedSays);
    });
  }
});

describe("independent VRRP instances and several sync groups", () => {
  const lb2 = { name: "lb2", interfaces: ["eth0", "eth1"] };
  const spec = (): SpecInput => ({
    directors: [{ name: "lb1", interfaces: ["eth0", "eth1"] }, lb2],
    services: [],
    vrrp: {
      instances: [
        // on its own: tracking with weights, garp delay, its own notify scripts
        {
          name: "VI_A", interface: "eth0", virtualRouterId: 10, vips: ["192.0.2.10/32"], garpMasterDelay: 2,
          trackInterfaces: [{ name: "eth1", weight: -20 }], trackScripts: [{ name: "chk", weight: 10 }],
          notifyMaster: ["/bin/true", "a", "master"], notifyBackup: ["/bin/true", "a", "backup"], notifyFault: ["/bin/true", "a", "fault"],
          notifyStop: ["/bin/true", "a", "stop"], notify: ["/bin/true", "a"],
        },
        { name: "VI_B", interface: "eth0", virtualRouterId: 11, vips: ["192.0.2.11/32"] },
        { name: "VI_C", interface: "eth1", virtualRouterId: 12, vips: ["192.0.2.12/32"], trackScripts: [{ name: "chk" }] },
        // on its own, never taking the VIP back
        { name: "VI_D", interface: "eth1", virtualRouterId: 13, vips: ["192.0.2.13/32"], nopreempt: true },
        // preempting after a delay: every director starts as BACKUP
        { name: "VI_E", interface: "eth1", virtualRouterId: 14, vips: ["192.0.2.14/32"], preemptDelay: 30 },
      ],
      scripts: [{ name: "chk", command: ["/bin/true"] }],
      syncGroups: [{ name: "G1", instances: ["VI_C", "VI_B"], notifyMaster: ["/bin/true", "g1", "master"], notify: ["/bin/true", "g1"] }],
    },
  });
  const withBackupStart = (s: SpecInput): SpecInput => {
    s.directors[0]!.vrrp = { VI_E: { state: "BACKUP" } };
    return s;
  };
  const out = compiled(withBackupStart(spec()));
  const conf = out.directors[0]!.keepalivedConf;

  test("only the listed group is rendered, with its notify scripts; the others are instances on their own", () => {
    assert.deepEqual(block(conf, "vrrp_sync_group G1"), [
      "group {", "VI_B", "VI_C", "}", 'notify_master "/bin/true g1 master"', 'notify "/bin/true g1"',
    ]);
    assert.equal(conf.match(/vrrp_sync_group/g)?.length, 1);
    const a = block(conf, "vrrp_instance VI_A");
    for (const line of [
      "garp_master_delay 2", "eth1 weight -20", "chk weight 10", 'notify_master "/bin/true a master"', 'notify_backup "/bin/true a backup"',
      'notify_fault "/bin/true a fault"', 'notify_stop "/bin/true a stop"', 'notify "/bin/true a"',
    ]) assert.ok(a.includes(line), `${line} missing from\n${a.join("\n")}`);
    assert.ok(block(conf, "vrrp_instance VI_D").includes("nopreempt"));
    assert.ok(block(conf, "vrrp_instance VI_E").includes("preempt_delay 30"));
  });

  test("without syncGroups the spec keeps its one group of every instance (the default is unchanged)", () => {
    const s = spec();
    delete s.vrrp!.syncGroups;
    for (const inst of s.vrrp!.instances!) {
      delete inst.trackInterfaces; delete inst.trackScripts;
    }
    const c = compiled(withBackupStart(s)).directors[0]!.keepalivedConf;
    assert.deepEqual(block(c, "vrrp_sync_group SG_IPVS"), ["group {", "VI_A", "VI_B", "VI_C", "VI_D", "VI_E", "}"]);
  });

  test("keepalived -t -e accepts both directors' configs", { skip }, async () => {
    await assertKeepalivedAccepts(out);
  });

  test("importing the rendered config gives a spec that compiles to the same keepalived.conf", () => {
    const { again, findings } = reimported(out);
    assert.deepEqual(findings, []);
    assert.equal(again.directors[0]!.keepalivedConf, conf);
  });

  // what validate() refuses about groups, keepalived -t refuses (warns about) too
  const refused: Array<{ name: string; mutate: (s: SpecInput) => void; issues: string[]; keepalivedSays: RegExp }> = [
    {
      name: "a tracking weight of an instance in a sync group",
      mutate: (s) => { s.vrrp!.syncGroups![0]!.instances.push("VI_A"); },
      issues: [
        "keepalived-incompatible vrrp.instances[0].trackInterfaces[0].weight",
        "keepalived-incompatible vrrp.instances[0].trackScripts[0].weight",
      ],
      keepalivedSays: /ignoring eth1 tracked interface weight due to SYNC group/,
    },
    {
      name: "a script weight tracked by an instance in a sync group",
      mutate: (s) => { s.vrrp!.scripts![0]!.weight = 5; },
      issues: ["keepalived-incompatible vrrp.scripts[0].weight"],
      keepalivedSays: /\(VI_C\) ignoring tracked script chk with weights due to SYNC group/,
    },
    {
      name: "an instance in two sync groups",
      mutate: (s) => { s.vrrp!.syncGroups!.push({ name: "G2", instances: ["VI_B", "VI_D"] }); },
      issues: ["keepalived-incompatible vrrp.syncGroups[1].instances", "keepalived-incompatible vrrp.syncGroups[1].instances[0]"],
      keepalivedSays: /cannot exist in more than one sync group/,
    },
  ];
  for (const r of refused) {
    test(`refused by validate() and by keepalived -t alike: ${r.name}`, { skip }, async () => {
      const s = withBackupStart(spec());
      r.mutate(s);
      const { model, issues } = renderedUnvalidated(s);
      assert.deepEqual(issues.sort(), r.issues);
      const k = await checkDirector(model, model.directors[0]!);
      assert.notEqual(k.code, 0, k.conf);
      assert.match(k.stderr, r.keepalivedSays);
    });
  }
});

describe("virtual_server_group: a group service", () => {
  const spec = (): SpecInput => ({
    directors: [director],
    services: [
      {
        name: "web", protocol: "tcp", scheduler: "rr",
        group: { members: [{ address: "203.0.113.1", port: 80 }, { address: "203.0.113.3", last: 5, port: 80 }, { fwmark: 1 }] },
        pool: {
          forwarding: { method: "dr" },
          servers: [{ address: "192.0.2.21" }, { address: "192.0.2.22", weight: 2 }],
          healthChecks: [{ type: "tcp", connectPort: 80 }],
        },
      },
      {
        name: "dns6", protocol: "udp",
        group: { members: [{ address: "2001:db8::1", last: 10, port: 53 }] },
        pool: { servers: [{ address: "2001:db8:1::1", port: 5353 }], healthChecks: [{ type: "command", command: ["/bin/true"] }] },
      },
      {
        // without checks: the applier's, and still one service per member
        name: "plain", protocol: "tcp",
        group: { members: [{ address: "203.0.113.9", port: 443 }, { address: "203.0.113.9", port: 8443 }] },
        pool: { servers: [{ address: "192.0.2.31", port: 443 }] },
      },
    ],
  });
  const out = compiled(spec());
  const conf = out.directors[0]!.keepalivedConf;

  test("each member is a service of its own: the model, the ipvsadm rules (ranges expanded)", () => {
    assert.deepEqual(out.model.services.map((s) => `${s.name} ${s.owner}`).sort(), [
      "dns6.1 keepalived", "dns6.10 keepalived", "dns6.2 keepalived", "dns6.3 keepalived", "dns6.4 keepalived", "dns6.5 keepalived",
      "dns6.6 keepalived", "dns6.7 keepalived", "dns6.8 keepalived", "dns6.9 keepalived",
      "plain.1 applier", "plain.2 applier",
      "web.1 keepalived", "web.2 keepalived", "web.3 keepalived", "web.4 keepalived", "web.5 keepalived",
    ]);
    const rules = out.ipvsadmRules.split("\n");
    for (const line of [
      "-A -t 203.0.113.1:80 -s rr", "-A -t 203.0.113.3:80 -s rr", "-A -t 203.0.113.4:80 -s rr", "-A -t 203.0.113.5:80 -s rr", "-A -f 1 -s rr",
      "-a -t 203.0.113.4:80 -r 192.0.2.22:80 -g -w 2", "-a -f 1 -r 192.0.2.22:0 -g -w 2",
      "-A -u [2001:db8::a]:53 -s wlc", "-a -u [2001:db8::a]:53 -r [2001:db8:1::1]:5353 -m -w 1",
      "-A -t 203.0.113.9:8443 -s wlc", "-a -t 203.0.113.9:8443 -r 192.0.2.31:443 -m -w 1",
    ]) assert.ok(rules.includes(line), `${line} missing from\n${out.ipvsadmRules}`);
  });

  test("keepalived gets one virtual_server_group and one virtual_server group block per group service", () => {
    assert.deepEqual(block(conf, "virtual_server_group web"), ["203.0.113.1 80", "203.0.113.3-5 80", "fwmark 1"]);
    assert.deepEqual(block(conf, "virtual_server_group dns6"), ["2001:db8::1-a 53"]);
    const web = block(conf, "virtual_server group web");
    assert.ok(web.includes("protocol TCP") && web.includes("lvs_method DR"), web.join("\n"));
    // DR servers of a group carry no port: keepalived gives them each entry's own
    assert.ok(web.includes("real_server 192.0.2.22 {"), web.join("\n"));
    assert.equal(conf.match(/virtual_server group web/g)?.length, 1);
    assert.doesNotMatch(conf, /plain|203\.0\.113\.9/);
  });

  test("keepalived -t -e accepts the rendered config", { skip }, async () => {
    await assertKeepalivedAccepts(out);
  });

  test("importing the rendered config gives a spec that compiles to the same files", () => {
    const own = spec();
    own.services = own.services.filter((s) => s.name !== "plain");
    const first = compiled(own);
    const { again, findings } = reimported(first);
    assert.deepEqual(findings, []);
    assert.equal(again.directors[0]!.keepalivedConf, first.directors[0]!.keepalivedConf);
    assert.equal(again.ipvsadmRules, first.ipvsadmRules);
  });
});
