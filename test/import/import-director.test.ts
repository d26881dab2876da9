/**
 * The pure half of `ipvsc import --director` (src/import/import-director.ts): which include
 * files to read next, which live services keepalived declares, the interface list, and the
 * one spec assembled from keepalived.conf and the table, which plans against the same live
 * state as an adoption without a single operation.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import {
  importLiveDirector, includesToRead, keepalivedServiceKeys, liveInterfaces, liveKeepalivedConfPath, type LiveDirectorSource,
} from "../../src/import/import-director.js";
import { parseKeepalivedConf } from "../../src/import/parse-keepalived-conf.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { parseOwnershipRecord, type LiveState } from "../../src/state/live-state.js";
import { applyIpvsadmCommands, parseIpvsadmCommands } from "../../src/state/parse-ipvsadm-save.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDx6bBb7z3BFEtkFmmMTeC0mWR03giiZPwwpdENRTHap";
const SSH = { host: "192.0.2.10", port: 2222, user: "root", hostKey: HOST_KEY, privateKeyPath: "/home/ops/.ssh/id_ed25519" };

/** A live table from rule text (thresholds included, as read-state merges them). */
function tableOf(rules: string): LiveState["table"] {
  const parsed = parseIpvsadmCommands(rules);
  assert.deepEqual(parsed.issues, []);
  const applied = applyIpvsadmCommands({ services: [] }, parsed.commands);
  assert.deepEqual(applied.issues, []);
  return applied.table;
}

const ADDRESSES = [
  { interface: "lo", address: "127.0.0.1/8" },
  { interface: "eth0", address: "192.0.2.10/24" },
  { interface: "eth1", address: "198.51.100.1/24" },
  { interface: "eth1", address: "2001:db8:1::1/64" },
];

const POOL = `virtual_server 203.0.113.10 443 {
  delay_loop 5
  lb_algo wlc
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.21 443 {
    weight 3
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 198.51.100.22 443 {
    weight 1
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
`;

const KEEPALIVED_CONF = `! hand-written
global_defs {
  router_id lb-east
}
vrrp_instance VI_1 {
  state MASTER
  interface eth1
  virtual_router_id 42
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass Hx7pq2
  }
  virtual_ipaddress {
    203.0.113.10/32
  }
}
include pools/*.conf
`;

/** keepalived's pool live (rs .21 and .22), plus two services loaded with ipvsadm, one recorded by another owner. */
const RULES = [
  "-A -t 203.0.113.10:443 -s wlc",
  "-a -t 203.0.113.10:443 -r 198.51.100.21:443 -m -w 3",
  "-a -t 203.0.113.10:443 -r 198.51.100.22:443 -m -w 1",
  "-A -t 203.0.113.10:80 -s wrr",
  "-a -t 203.0.113.10:80 -r 198.51.100.21:80 -m -w 2 -x 500 -y 100",
  "-a -t 203.0.113.10:80 -r 198.51.100.22:80 -m -w 1",
  "-A -u 203.0.113.10:53 -s rr",
  "-a -u 203.0.113.10:53 -r 198.51.100.23:53 -m -w 1",
].join("\n");

function source(overrides: Partial<LiveDirectorSource> = {}, live: Partial<LiveDirectorSource["live"]> = {}): LiveDirectorSource {
  return {
    name: "lb1",
    ssh: SSH,
    live: {
      table: tableOf(RULES),
      keepalivedConf: KEEPALIVED_CONF,
      keepalivedRunning: true,
      ownership: [{ owner: "dns-stack", services: { dns: "udp/203.0.113.10:53 applier" } }],
      addresses: ADDRESSES,
      ...live,
    },
    includes: new Map([["/etc/keepalived/pools/web.conf", POOL]]),
    globs: new Map([["/etc/keepalived/pools/*.conf", ["/etc/keepalived/pools/web.conf"]]]),
    ...overrides,
  };
}

/** The LiveState planDirector needs, from a source. */
function liveStateOf(s: LiveDirectorSource): LiveState {
  return {
    director: s.name, fingerprint: "f".repeat(64), connections: new Map(), vrrpStates: {}, syncDaemons: [], issues: [],
    ...s.live,
  } as LiveState;
}

describe("includesToRead", () => {
  test("asks for the files and globs the parser meets, nested ones once their parent is known", () => {
    const file = liveKeepalivedConfPath();
    assert.equal(file, "/etc/keepalived/keepalived.conf");
    const text = "include extra.conf\ninclude /etc/keepalived/pools/*.conf\n";
    const first = includesToRead(text, file, new Map(), new Map());
    assert.deepEqual(first, { files: ["/etc/keepalived/extra.conf"], globs: ["/etc/keepalived/pools/*.conf"] });
    const includes = new Map<string, string | undefined>([["/etc/keepalived/extra.conf", "include nested/more.conf\n"]]);
    const globs = new Map([["/etc/keepalived/pools/*.conf", ["/etc/keepalived/pools/a.conf"]]]);
    assert.deepEqual(includesToRead(text, file, includes, globs), { files: ["/etc/keepalived/nested/more.conf", "/etc/keepalived/pools/a.conf"], globs: [] });
    includes.set("/etc/keepalived/nested/more.conf", undefined); // unreadable: asked once, then reported by the import
    includes.set("/etc/keepalived/pools/a.conf", "");
    assert.deepEqual(includesToRead(text, file, includes, globs), { files: [], globs: [] });
  });

  test("a config directory with a trailing slash", () => {
    assert.equal(liveKeepalivedConfPath("/srv/keepalived/"), "/srv/keepalived/keepalived.conf");
  });
});

describe("keepalivedServiceKeys", () => {
  test("address services with their protocol (UDP when none is named), fwmarks, group members", () => {
    const conf = `virtual_server_group G {
  203.0.113.20 8080
  fwmark 9
}
virtual_server 203.0.113.10 443 { protocol TCP }
virtual_server 2001:DB8::0:10 53 { lb_algo rr }
virtual_server fwmark 7 { protocol TCP }
virtual_server group G { protocol SCTP }
`;
    const keys = keepalivedServiceKeys(parseKeepalivedConf(conf, "k.conf").nodes);
    assert.deepEqual([...keys].sort(), ["fwmark/7", "fwmark/9", "sctp/203.0.113.20:8080", "tcp/203.0.113.10:443", "udp/[2001:db8::10]:53"]);
  });
});

describe("liveInterfaces", () => {
  test("interfaces with an address, without lo, once each, sorted; odd names left out", () => {
    assert.deepEqual(liveInterfaces([...ADDRESSES, { interface: "veth0@if3", address: "10.0.0.1/30" }, { interface: "bad name!", address: "x" }]), ["eth0", "eth1", "veth0"]);
  });
});

describe("importLiveDirector", () => {
  test("keepalived's services from keepalived.conf, the rest from the table, the director from the command line and the live interfaces", () => {
    const r = importLiveDirector(source());
    assert.deepEqual(r.specIssues.filter((i) => i.severity === "error"), []);
    assert.deepEqual(r.fromKeepalived, ["tcp-203.0.113.10-443"]);
    assert.deepEqual(r.fromTable, ["tcp-203.0.113.10-80"]);
    assert.deepEqual(r.files, ["/etc/keepalived/keepalived.conf", "/etc/keepalived/pools/web.conf"]);
    const d = r.spec.directors[0]!;
    assert.equal(d.name, "lb1");
    assert.equal(d.routerId, "lb-east");
    assert.deepEqual(d.ssh, SSH);
    assert.deepEqual(d.interfaces, ["eth0", "eth1"]);
    // the health-checked pool keeps its checks; the table's pool keeps its thresholds
    const [checked, plain] = r.spec.services;
    assert.equal(checked!.pool.healthChecks?.[0]?.type, "tcp");
    assert.equal(plain!.pool.healthChecks, undefined);
    assert.deepEqual(plain!.pool.servers.map((s) => [s.address, s.weight, s.upperThreshold, s.lowerThreshold]), [
      ["198.51.100.21", 2, 500, 100], ["198.51.100.22", 1, undefined, undefined],
    ]);
    assert.equal(r.spec.vrrp?.instances?.[0]?.authPassword, "Hx7pq2");
    // the service another owner records stays out, and says so
    assert.ok(!r.spec.services.some((s) => s.port === 53));
    assert.match(r.findings.map((f) => f.message).join("\n"), /udp\/203\.0\.113\.10:53 on lb1 is recorded as owned by dns-stack \(another spec\): not imported/);
    // the rendered keepalived.conf is another text with the same meaning
    assert.deepEqual(r.keepalivedConf, { status: "equivalent", differences: [] });
    assert.ok(r.notes.some((n) => n.path.join(".") === "vrrp.instances.0.authPassword"), "the password is marked as a secret");
  });

  test("plans against the same live state as an adoption: no operation, every service adopted", () => {
    const s = source();
    const r = importLiveDirector(s);
    const compiled = compile(r.spec);
    assert.ok(compiled.ok, compiled.ok ? "" : formatIssues(compiled.issues));
    const model = compiled.output.model.directors[0]!;
    const plan = planDirector({ model, keepalivedConf: compiled.output.directors[0]!.keepalivedConf }, liveStateOf(s), { owner: "ipvsc" });
    assert.deepEqual(plan.operations, []);
    assert.deepEqual(plan.batches, { apply: [], drain: [], finalize: [], rollback: [], removedSelectors: [] });
    assert.deepEqual(plan.foreign.map((f) => [f.serviceKey, f.ownedBy]), [["udp/203.0.113.10:53", "dns-stack"]]);
    assert.deepEqual([...(plan.adopting ?? [])].sort(), ["tcp-203.0.113.10-443", "tcp-203.0.113.10-80"]);
    assert.equal(plan.empty, false, "the ownership record is still to be written");
    // once recorded, nothing is left to adopt
    const record = parseOwnershipRecord(plan.ownershipRecord)!;
    const recorded = { ...liveStateOf(s), ownership: [...s.live.ownership, record] };
    const again = planDirector({ model, keepalivedConf: compiled.output.directors[0]!.keepalivedConf }, recorded, { owner: "ipvsc" });
    assert.deepEqual(again.adopting, []);
  });

  test("the owner's own records do not hide services, and a name clash between the two sources is resolved", () => {
    const conf = `virtual_server 203.0.113.10 80 {\n  protocol UDP\n  real_server 198.51.100.21 80 {\n    TCP_CHECK {\n    }\n  }\n}\n`;
    const r = importLiveDirector(source({ owner: "dns-stack", includes: new Map(), globs: new Map() }, {
      keepalivedConf: conf,
      table: tableOf("-A -t 203.0.113.10:80 -s rr\n-a -t 203.0.113.10:80 -r 198.51.100.22:80 -m -w 1\n-A -u 203.0.113.10:53 -s rr\n-A -u 203.0.113.10:80 -s wlc\n-a -u 203.0.113.10:80 -r 198.51.100.21:80 -m -w 1"),
    }));
    // udp :80 is keepalived's (from the config), tcp :80 and udp :53 come from the table
    assert.deepEqual(r.fromKeepalived, ["udp-203.0.113.10-80"]);
    assert.deepEqual(r.fromTable.sort(), ["tcp-203.0.113.10-80", "udp-203.0.113.10-53"]);
    assert.equal(new Set(r.spec.services.map((s) => s.name)).size, r.spec.services.length);
  });

  test("a director without keepalived: the table only, no keepalived.conf to compare", () => {
    const r = importLiveDirector(source({ keepalivedConfigDir: "/srv/keepalived" }, { keepalivedConf: undefined, keepalivedRunning: false, ownership: [] }));
    assert.deepEqual(r.fromKeepalived, []);
    assert.deepEqual(r.fromTable, ["tcp-203.0.113.10-80", "tcp-203.0.113.10-443", "udp-203.0.113.10-53"], "numeric order");
    assert.deepEqual(r.keepalivedConf, { status: "absent", differences: [] });
    assert.equal(r.spec.keepalived?.configDir, "/srv/keepalived");
    assert.equal(r.spec.directors[0]!.routerId, undefined);
    const compiled = compile(r.spec);
    assert.ok(compiled.ok, compiled.ok ? "" : formatIssues(compiled.issues));
  });

  test("keepalived running without a keepalived.conf, and a keepalived.conf without keepalived, are findings", () => {
    const running = importLiveDirector(source({}, { keepalivedConf: undefined, keepalivedRunning: true, ownership: [] }));
    assert.match(running.findings.map((f) => f.message).join("\n"), /keepalived runs on lb1 but \/etc\/keepalived\/keepalived\.conf does not exist/);
    const stopped = importLiveDirector(source({}, { keepalivedRunning: false }));
    assert.match(stopped.findings.map((f) => f.message).join("\n"), /keepalived is not running on lb1: .* the first apply starts keepalived/);
  });

  test("a live keepalived.conf that is the rendered one byte for byte", () => {
    const first = importLiveDirector(source({ includes: new Map(), globs: new Map() }, { keepalivedConf: KEEPALIVED_CONF.replace("include pools/*.conf\n", POOL) }));
    const compiled = compile(first.spec);
    assert.ok(compiled.ok);
    const rendered = compiled.output.directors[0]!.keepalivedConf;
    const secrets = new Map(compiled.output.directors[0]!.secretFiles.map((f) => [f.path, f.content]));
    const again = importLiveDirector(source({ includes: secrets, globs: new Map() }, { keepalivedConf: rendered }));
    assert.deepEqual(again.keepalivedConf, { status: "identical", differences: [] });
    assert.equal(again.spec.vrrp?.instances?.[0]?.authPassword, "Hx7pq2", "the password read from the secret include");
  });
});
