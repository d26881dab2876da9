/**
 * Rendered keepalived.conf of HA pairs and triples: initial states and priorities derived
 * from the director order (first MASTER 150, then BACKUP at -10 each), per-director
 * overrides, nopreempt, unicast peers (derived or explicit: never a director itself), the
 * sync daemon and the sync group, the same on every director where they must be. Every
 * rendered config is also checked by the real `keepalived -t -e` when it can run here.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compile.js";
import type { Model } from "../../src/model/model.js";
import { renderKeepalivedConf } from "../../src/render/render-keepalived-conf.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { formatIssues } from "../../src/issues.js";
import { checkDirector, keepalivedSkip } from "../support/keepalived-check.js";

const skip = await keepalivedSkip();

type DirectorInput = SpecInput["directors"][number];
type InstanceInput = NonNullable<NonNullable<SpecInput["vrrp"]>["instances"]>[number];

function director(n: number, vrrp?: DirectorInput["vrrp"]): DirectorInput {
  return { name: `lb${n}`, interfaces: ["eth0", "eth1"], address: `192.0.2.${n + 1}`, ...(vrrp ? { vrrp } : {}) };
}

function instance(extra: Partial<InstanceInput> = {}): InstanceInput {
  return { name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["192.0.2.100/32"], unicast: true, ...extra };
}

function spec(directors: DirectorInput[], instances: InstanceInput[] = [instance()], extra: Partial<SpecInput> = {}): SpecInput {
  return {
    directors,
    services: [{
      name: "web", protocol: "tcp", address: "192.0.2.100", port: 80, scheduler: "wrr",
      pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.10" }, { address: "203.0.113.11" }] },
    }],
    vrrp: { instances },
    syncDaemon: { interface: "eth1", instance: instances[0]!.name, syncId: 51 },
    ...extra,
  };
}

function model(value: SpecInput): Model {
  const r = compile(value);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output.model;
}

/** keepalived.conf of every director, by name. */
function confs(m: Model): Map<string, string> {
  return new Map(m.directors.map((d) => [d.name, renderKeepalivedConf(m, d)]));
}

/** The lines of `vrrp_instance NAME { ... }` (top level only), trimmed. */
function instanceBlock(conf: string, name: string): string[] {
  const lines = conf.split("\n");
  const start = lines.indexOf(`vrrp_instance ${name} {`);
  assert.ok(start >= 0, `no vrrp_instance ${name} in:\n${conf}`);
  const end = lines.indexOf("}", start);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

/** The value of `keyword` in an instance block, e.g. state -> MASTER. */
function valueOf(block: string[], keyword: string): string | undefined {
  const line = block.find((l) => l.startsWith(`${keyword} `) || l === keyword);
  return line === undefined ? undefined : line.slice(keyword.length).trim();
}

/** The entries of a nested block such as `unicast_peer { ... }`. */
function entriesOf(block: string[], keyword: string): string[] {
  const start = block.indexOf(`${keyword} {`);
  if (start < 0) return [];
  const end = block.indexOf("}", start);
  return block.slice(start + 1, end);
}

/** [state, priority, nopreempt] of instance `name` on every director, in spec order. */
function roles(m: Model, name = "VI_1"): [string, number, boolean][] {
  return [...confs(m).values()].map((c) => {
    const b = instanceBlock(c, name);
    return [valueOf(b, "state")!, Number(valueOf(b, "priority")), b.includes("nopreempt")];
  });
}

async function assertKeepalivedAccepts(m: Model): Promise<void> {
  for (const d of m.directors) {
    const r = await checkDirector(m, d);
    assert.equal(r.stderr, "", `keepalived -t printed for ${d.name}:\n${r.stderr}\n--- config ---\n${r.conf}`);
    assert.equal(r.code, 0, `keepalived -t exit ${r.code} for ${d.name}\n--- config ---\n${r.conf}`);
  }
}

describe("HA pair (2 directors): roles from the order", () => {
  test("first MASTER 150, second BACKUP 140; each the other's unicast peer; the same VRID, advert, VIPs", () => {
    const m = model(spec([director(1), director(2)]));
    assert.deepEqual(roles(m), [["MASTER", 150, false], ["BACKUP", 140, false]]);
    const [a, b] = [...confs(m).values()].map((c) => instanceBlock(c, "VI_1"));
    assert.equal(valueOf(a!, "unicast_src_ip"), "192.0.2.2");
    assert.deepEqual(entriesOf(a!, "unicast_peer"), ["192.0.2.3"]);
    assert.equal(valueOf(b!, "unicast_src_ip"), "192.0.2.3");
    assert.deepEqual(entriesOf(b!, "unicast_peer"), ["192.0.2.2"]);
    for (const k of ["interface", "virtual_router_id", "advert_int"]) assert.equal(valueOf(a!, k), valueOf(b!, k), k);
    assert.deepEqual(entriesOf(a!, "virtual_ipaddress"), ["192.0.2.100/32 dev eth1"]);
    assert.deepEqual(entriesOf(b!, "virtual_ipaddress"), entriesOf(a!, "virtual_ipaddress"));
  });

  test("the order decides, not the names: swapping the directors swaps the roles", () => {
    const m = model(spec([director(2), director(1)]));
    assert.deepEqual(m.directors.map((d) => d.name), ["lb2", "lb1"]);
    assert.deepEqual(roles(m), [["MASTER", 150, false], ["BACKUP", 140, false]]);
  });

  test("a base priority shifts both; a per-director priority overrides one", () => {
    assert.deepEqual(roles(model(spec([director(1), director(2)], [instance({ priority: 200 })]))), [["MASTER", 200, false], ["BACKUP", 190, false]]);
    assert.deepEqual(roles(model(spec([director(1), director(2, { VI_1: { priority: 120 } })]))), [["MASTER", 150, false], ["BACKUP", 120, false]]);
  });

  test("nopreempt: both start BACKUP with nopreempt, priorities still by order", () => {
    assert.deepEqual(roles(model(spec([director(1), director(2)], [instance({ nopreempt: true })]))), [["BACKUP", 150, true], ["BACKUP", 140, true]]);
  });

  test("the sync daemon line is the same on both, naming the instance", () => {
    const all = [...confs(model(spec([director(1), director(2)]))).values()];
    for (const c of all) assert.match(c, /^ {2}lvs_sync_daemon eth1 VI_1 id 51$/m);
  });

  test("explicit unicastPeers listing both directors: each lists only the other", () => {
    const m = model(spec([director(1), director(2)], [instance({ unicastPeers: ["192.0.2.2", "192.0.2.3"] })]));
    const [a, b] = [...confs(m).values()].map((c) => instanceBlock(c, "VI_1"));
    assert.deepEqual(entriesOf(a!, "unicast_peer"), ["192.0.2.3"]);
    assert.deepEqual(entriesOf(b!, "unicast_peer"), ["192.0.2.2"]);
  });

  test("two instances: a sync group on both, each instance with the same derived roles", () => {
    const m = model(spec([director(1), director(2)], [instance(), instance({ name: "VI_2", virtualRouterId: 52, vips: ["198.51.100.100/32"] })]));
    for (const c of confs(m).values()) assert.match(c, /vrrp_sync_group SG_IPVS \{\n\s+group \{\n\s+VI_1\n\s+VI_2\n/);
    assert.deepEqual(roles(m, "VI_2"), [["MASTER", 150, false], ["BACKUP", 140, false]]);
  });

  test("keepalived -t accepts both configs (derived, overridden, nopreempt)", { skip }, async () => {
    await assertKeepalivedAccepts(model(spec([director(1), director(2)])));
    await assertKeepalivedAccepts(model(spec([director(1), director(2, { VI_1: { priority: 120 } })], [instance({ authType: "PASS", authPassword: "s3cr3tPw" })])));
    await assertKeepalivedAccepts(model(spec([director(1), director(2)], [instance({ nopreempt: true })])));
  });
});

describe("HA triple (3 directors): roles from the order", () => {
  test("MASTER 150, BACKUP 140, BACKUP 130; each director peers with the two others", () => {
    const m = model(spec([director(1), director(2), director(3)]));
    assert.deepEqual(roles(m), [["MASTER", 150, false], ["BACKUP", 140, false], ["BACKUP", 130, false]]);
    const blocks = [...confs(m).values()].map((c) => instanceBlock(c, "VI_1"));
    assert.deepEqual(blocks.map((b) => valueOf(b, "unicast_src_ip")), ["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
    assert.deepEqual(blocks.map((b) => entriesOf(b, "unicast_peer")), [
      ["192.0.2.3", "192.0.2.4"],
      ["192.0.2.2", "192.0.2.4"],
      ["192.0.2.2", "192.0.2.3"],
    ]);
  });

  test("overrides: the last director promoted to MASTER 200, the first demoted to BACKUP", () => {
    const m = model(spec([director(1, { VI_1: { state: "BACKUP" } }), director(2), director(3, { VI_1: { state: "MASTER", priority: 200 } })]));
    assert.deepEqual(roles(m), [["BACKUP", 150, false], ["BACKUP", 140, false], ["MASTER", 200, false]]);
  });

  test("nopreempt on the instance, one director opting out", () => {
    const m = model(spec([director(1), director(2, { VI_1: { nopreempt: false } }), director(3)], [instance({ nopreempt: true })]));
    // without nopreempt the second director's derived state is BACKUP (not first)
    assert.deepEqual(roles(m), [["BACKUP", 150, true], ["BACKUP", 140, false], ["BACKUP", 130, true]]);
  });

  test("explicit unicastPeers listing all three: nobody is its own peer", () => {
    const m = model(spec([director(1), director(2), director(3)], [instance({ unicastPeers: ["192.0.2.4", "192.0.2.3", "192.0.2.2"] })]));
    const blocks = [...confs(m).values()].map((c) => instanceBlock(c, "VI_1"));
    assert.deepEqual(blocks.map((b) => entriesOf(b, "unicast_peer")), [
      ["192.0.2.4", "192.0.2.3"],
      ["192.0.2.4", "192.0.2.2"],
      ["192.0.2.3", "192.0.2.2"],
    ]);
  });

  test("multicast VRRP (unicast off): no unicast lines at all", () => {
    const m = model(spec([director(1), director(2), director(3)], [instance({ unicast: false })]));
    for (const c of confs(m).values()) assert.doesNotMatch(c, /unicast_/);
  });

  test("every director carries the VIP's service and the same sync daemon", () => {
    const r = compile(spec([director(1), director(2), director(3)]));
    assert.ok(r.ok, formatIssues(r.issues));
    for (const d of r.output.directors) {
      assert.match(d.ipvsadmRules, /^-A -t 192\.0\.2\.100:80 -s wrr$/m, d.name);
      assert.match(d.keepalivedConf, /lvs_sync_daemon eth1 VI_1 id 51/, d.name);
    }
  });

  test("keepalived -t accepts all three configs (derived, overridden, explicit peers)", { skip }, async () => {
    await assertKeepalivedAccepts(model(spec([director(1), director(2), director(3)])));
    await assertKeepalivedAccepts(model(spec([director(1, { VI_1: { state: "BACKUP" } }), director(2), director(3, { VI_1: { state: "MASTER", priority: 200 } })])));
    await assertKeepalivedAccepts(model(spec([director(1), director(2), director(3)], [instance({ unicastPeers: ["192.0.2.4", "192.0.2.3", "192.0.2.2"] })])));
  });
});

describe("several VRRP pairs in one spec (vrrp.instances[].directors)", () => {
  // lb1+lb2 run VI_A and VI_A2 (lb2 listed first: its preferred master), lb3+lb4 run VI_B on
  // the same VRID; VI_ALL runs everywhere; lb5 runs no instance at all
  const web = (name: string, address: string, directors: string[]) => ({
    name, protocol: "tcp" as const, address, port: 80, directors,
    pool: { forwarding: { method: "dr" as const }, servers: [{ address: "203.0.113.10" }] },
  });
  const value: SpecInput = {
    directors: [1, 2, 3, 4, 5].map((n) => director(n)),
    services: [web("a", "192.0.2.100", ["lb1", "lb2"]), web("b", "192.0.2.110", ["lb3", "lb4"]), web("plain", "198.51.100.1", ["lb5"])],
    vrrp: {
      instances: [
        instance({ name: "VI_A", directors: ["lb2", "lb1"] }),
        instance({ name: "VI_A2", directors: ["lb2", "lb1"], virtualRouterId: 52, vips: ["192.0.2.101/32"] }),
        instance({ name: "VI_B", directors: ["lb3", "lb4"], vips: ["192.0.2.110/32"] }),
        instance({ name: "VI_ALL", virtualRouterId: 60, vips: ["192.0.2.120/32"] }),
      ],
    },
    syncDaemon: { interface: "eth1", syncId: 51 },
  };
  const m = model(value);
  const c = confs(m);
  const instancesOf = (name: string) => m.directors.find((d) => d.name === name)!.vrrpInstances;

  test("each director renders only its instances; roles follow the instance's own order", () => {
    assert.deepEqual(m.directors.map((d) => [d.name, d.vrrpInstances.map((i) => `${i.name} ${i.state} ${i.priority}`)]), [
      ["lb1", ["VI_A BACKUP 140", "VI_A2 BACKUP 140", "VI_ALL MASTER 150"]],
      ["lb2", ["VI_A MASTER 150", "VI_A2 MASTER 150", "VI_ALL BACKUP 140"]],
      ["lb3", ["VI_ALL BACKUP 130", "VI_B MASTER 150"]],
      ["lb4", ["VI_ALL BACKUP 120", "VI_B BACKUP 140"]],
      ["lb5", ["VI_ALL BACKUP 110"]],
    ]);
  });

  test("unicast peers: the instance's other directors only", () => {
    assert.deepEqual(instancesOf("lb1").find((i) => i.name === "VI_A")!.unicastPeers, ["192.0.2.3"]);
    assert.deepEqual(instancesOf("lb4").find((i) => i.name === "VI_B")!.unicastPeers, ["192.0.2.4"]);
    assert.deepEqual(instancesOf("lb5")[0]!.unicastPeers, ["192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"]);
  });

  test("the default sync group per director: the instances it runs; the sync daemon its first instance", () => {
    assert.match(c.get("lb1")!, /vrrp_sync_group SG_IPVS \{\n  group \{\n    VI_A\n    VI_A2\n    VI_ALL\n  \}/);
    assert.match(c.get("lb3")!, /vrrp_sync_group SG_IPVS \{\n  group \{\n    VI_ALL\n    VI_B\n  \}/);
    assert.doesNotMatch(c.get("lb5")!, /vrrp_sync_group/, "one instance: no group");
    assert.deepEqual(m.directors.map((d) => /lvs_sync_daemon eth1 (\S+) id 51/.exec(c.get(d.name)!)?.[1]),
      ["VI_A", "VI_A", "VI_B", "VI_B", "VI_ALL"]);
  });

  test("a director that runs no instance: no vrrp_instance, no group, no sync daemon", () => {
    const lone = model({ ...value, vrrp: { instances: value.vrrp!.instances!.slice(0, 3) } });
    assert.deepEqual(lone.directors[4]!.vrrpInstances, []);
    assert.equal(lone.directors[4]!.syncDaemonInstance, undefined);
    assert.doesNotMatch(renderKeepalivedConf(lone, lone.directors[4]!), /vrrp_|lvs_sync_daemon/);
  });

  test("keepalived -t accepts every director's config", { skip }, async () => {
    await assertKeepalivedAccepts(m);
    await assertKeepalivedAccepts(model({ ...value, vrrp: { instances: value.vrrp!.instances!.slice(0, 3) } }));
  });
});
