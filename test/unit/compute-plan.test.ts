import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile, type CompileOutput } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { formatPlanJson, formatPlanMarkdown, formatPlanText } from "../../src/plan/format-plan.js";
import { computePlan } from "../../src/plan/plan.js";
import type { DirectorPlan } from "../../src/plan/plan-types.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";

function spec(services: unknown[], extra: Record<string, unknown> = {}) {
  return {
    directors: [{ name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11", ssh: { host: "127.0.0.1", hostKey: HOST_KEY } }],
    services,
    ...extra,
  };
}

const web = (servers: { address: string; weight?: number; port?: number }[], more: Record<string, unknown> = {}) => ({
  name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: "wrr",
  pool: { forwarding: { method: "nat" }, servers }, ...more,
});

function compiled(value: unknown): CompileOutput {
  const r = compile(value);
  assert.ok(r.ok, JSON.stringify(r.issues));
  return r.output;
}

/** A live-state dump as the read-state script prints it. */
function dump(save: string, opts: { owners?: string; keepalived?: string; running?: boolean; addresses?: string; thresholds?: string } = {}): string {
  return [
    "==ipvsc:fingerprint==", "f1ngerprint",
    "==ipvsc:save==", save.trimEnd(),
    "==ipvsc:thresholds==", opts.thresholds ?? "", "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300",
    "==ipvsc:daemon==", "",
    "==ipvsc:keepalived-running==", opts.running ? "yes" : "no",
    ...(opts.keepalived !== undefined ? ["==ipvsc:keepalived-conf==", opts.keepalived.trimEnd(), "==ipvsc:keepalived-conf-present==", "yes"] : []),
    "==ipvsc:owners==", opts.owners ?? "",
    "==ipvsc:addresses==", opts.addresses ?? "",
    "==ipvsc:end==", "",
  ].join("\n");
}

function plan(value: unknown, live: string, prune = false): DirectorPlan {
  const out = compiled(value);
  const d = out.model.directors[0]!;
  return planDirector({ model: d, keepalivedConf: out.directors[0]!.keepalivedConf }, parseLiveState("lb1", live), { owner: "ipvsc", prune });
}

const OWNED_WEB = "owner ipvsc\nservice web tcp/203.0.113.10:80 applier\n--";

describe("planDirector", () => {
  test("an empty director gets the service and its real servers, with an undo", () => {
    const p = plan(spec([web([{ address: "192.0.2.11", port: 8080 }, { address: "192.0.2.12", port: 8080, weight: 3 }])]), dump(""));
    assert.deepEqual(p.operations.map((o) => [o.action, o.class]), [["add-service", "in-place"]]);
    assert.deepEqual(p.batches.apply, [
      "-A -t 203.0.113.10:80 -s wrr",
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-a -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 3",
    ]);
    assert.deepEqual(p.batches.rollback, ["-D -t 203.0.113.10:80"]);
    assert.equal(p.fingerprint, "f1ngerprint");
    assert.equal(p.empty, false);
    assert.match(p.ownershipRecord, /^owner ipvsc\nservice web tcp\/203\.0\.113\.10:80 applier\n$/);
  });

  test("a director that matches the spec and records it as ours needs nothing", () => {
    const live = "-A -t 203.0.113.10:80 -s wrr\n-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1\n";
    const p = plan(spec([web([{ address: "192.0.2.11", port: 8080 }])]), dump(live, { owners: OWNED_WEB }));
    assert.deepEqual(p.operations, []);
    assert.deepEqual(p.batches.apply, []);
    assert.equal(p.empty, true);
  });

  test("a record that differs in any entry is rewritten, even with nothing else to do", () => {
    const live = "-A -t 203.0.113.10:80 -s wrr\n-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1\n";
    const value = spec([web([{ address: "192.0.2.11", port: 8080 }])]);
    for (const owners of [
      "owner ipvsc\nservice web tcp/203.0.113.10:80 keepalived\n--",
      "owner ipvsc\nservice www tcp/203.0.113.10:80 applier\n--",
      "owner ipvsc\nservice web tcp/203.0.113.10:80 applier\nservice old tcp/203.0.113.99:80 applier\n--",
    ]) {
      const p = plan(value, dump(live, { owners }));
      assert.deepEqual(p.batches.apply, [], owners);
      assert.equal(p.empty, false, owners);
    }
  });

  test("edits, adds and drains in the documented order: -E, -a, -e (weight 0), then -d after the drain", () => {
    const live = [
      "-A -t 203.0.113.10:80 -s rr",
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-a -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 1",
    ].join("\n");
    const p = plan(spec([web([{ address: "192.0.2.12", port: 8080, weight: 5 }, { address: "192.0.2.13", port: 8080 }])]), dump(live, { owners: OWNED_WEB }));
    assert.deepEqual(p.operations.map((o) => `${o.action}:${o.class}:${o.realServer ?? ""}`), [
      "edit-service:in-place:",
      "edit-real-server:in-place:192.0.2.12:8080",
      "add-real-server:in-place:192.0.2.13:8080",
      "drain-real-server:draining:192.0.2.11:8080",
      "remove-real-server:draining:192.0.2.11:8080",
    ]);
    assert.deepEqual(p.batches.apply, [
      "-E -t 203.0.113.10:80 -s wrr",
      "-a -t 203.0.113.10:80 -r 192.0.2.13:8080 -m -w 1",
      "-e -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 5",
      "-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0",
    ]);
    assert.deepEqual(p.batches.drain, [{ selector: "-t 203.0.113.10:80", realServer: "192.0.2.11:8080" }]);
    assert.deepEqual(p.batches.finalize, ["-d -t 203.0.113.10:80 -r 192.0.2.11:8080"]);
    // undo runs in reverse: put the deleted server back first, the old scheduler last
    assert.deepEqual(p.batches.rollback, [
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-e -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 1",
      "-d -t 203.0.113.10:80 -r 192.0.2.13:8080",
      "-E -t 203.0.113.10:80 -s rr",
    ]);
    assert.match(p.operations[0]!.changes.map((c) => `${c.field} ${c.from}->${c.to}`).join(), /scheduler rr->wrr/);
  });

  test("expected rules hold exactly the applier-owned services the batches touch", () => {
    const api = { ...web([{ address: "192.0.2.21", port: 8080 }]), name: "api", address: "203.0.113.11" };
    const live = [
      "-A -t 203.0.113.10:80 -s wrr", "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-A -t 203.0.113.11:80 -s wrr", "-a -t 203.0.113.11:80 -r 192.0.2.21:8080 -m -w 1",
    ].join("\n");
    const owners = "owner ipvsc\nservice api tcp/203.0.113.11:80 applier\nservice web tcp/203.0.113.10:80 applier\n--";
    const p = plan(spec([web([{ address: "192.0.2.11", port: 8080, weight: 4 }]), api]), dump(live, { owners }));
    assert.deepEqual(p.batches.apply, ["-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 4"]);
    // api is untouched: the fingerprint vouches for it, the apply script verifies only web
    assert.equal(p.expectedRules, "-A -t 203.0.113.10:80 -s wrr\n-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 4\n");
    const none = plan(spec([web([{ address: "192.0.2.11", port: 8080 }]), api]), dump(live, { owners }));
    assert.equal(none.expectedRules, "");
  });

  test("a drain says how many connections the director counted on the server", () => {
    const live = ["-A -t 203.0.113.10:80 -s wrr", "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1", "-a -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 1"].join("\n");
    const thresholds = [
      "IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port",
      "TCP  203.0.113.10:80 wrr", "  -> 192.0.2.11:8080               0          0          7          1", "  -> 192.0.2.12:8080               0          0          0          0",
    ].join("\n");
    const out = compiled(spec([web([{ address: "192.0.2.12", port: 8080 }])]));
    const lives = new Map([["lb1", parseLiveState("lb1", dump(live, { owners: OWNED_WEB, thresholds }))]]);
    const full = computePlan(out.model, new Map(out.directors.map((d) => [d.name, { keepalivedConf: d.keepalivedConf, ipvsadmRules: d.ipvsadmRules }])), lives, { owner: "ipvsc" });
    // the expected rules cut from compile's rules are the ones rendered again without them
    assert.ok(full.directors[0]!.expectedRules.includes("192.0.2.12:8080"));
    assert.deepEqual(computePlan(out.model, new Map(out.directors.map((d) => [d.name, { keepalivedConf: d.keepalivedConf }])), lives, { owner: "ipvsc" }), full);
    const drain = full.directors[0]!.operations.find((o) => o.action === "drain-real-server");
    assert.equal(drain?.note, "7 active connections, 1 inactive connection when planned");
    assert.match(formatPlanText(full), /192\.0\.2\.11:8080.*\(7 active connections, 1 inactive connection when planned\)/);
  });

  test("foreign services are reported and left alone; --prune removes them after a drain", () => {
    const live = "-A -u 203.0.113.99:53 -s rr\n-a -u 203.0.113.99:53 -r 192.0.2.53:53 -m -w 1\n";
    const kept = plan(spec([]), dump(live));
    assert.deepEqual(kept.foreign, [{ serviceKey: "udp/203.0.113.99:53", realServers: 1, pruned: false }]);
    assert.deepEqual([...kept.batches.apply, ...kept.batches.finalize], []);
    const pruned = plan(spec([]), dump(live), true);
    assert.equal(pruned.foreign[0]?.pruned, true);
    assert.deepEqual(pruned.batches.apply, ["-e -u 203.0.113.99:53 -r 192.0.2.53:53 -m -w 0"]);
    assert.deepEqual(pruned.batches.finalize, ["-D -u 203.0.113.99:53"]);
    assert.deepEqual(pruned.batches.removedSelectors, ["-u 203.0.113.99:53"]);
  });

  test("--prune never removes what another owner records", () => {
    const live = "-A -u 203.0.113.99:53 -s rr\n";
    const p = plan(spec([]), dump(live, { owners: "owner other-stack\nservice dns udp/203.0.113.99:53 applier\n--" }), true);
    assert.deepEqual(p.foreign, [{ serviceKey: "udp/203.0.113.99:53", realServers: 0, ownedBy: "other-stack", pruned: false }]);
    assert.deepEqual(p.batches.finalize, []);
  });

  test("a service removed from the spec that we own is drained, then deleted", () => {
    const live = "-A -t 203.0.113.10:80 -s wrr\n-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 4\n";
    const p = plan(spec([]), dump(live, { owners: OWNED_WEB }));
    assert.deepEqual(p.operations.map((o) => o.action), ["remove-service", "drain-real-server"]);
    assert.deepEqual(p.batches.apply, ["-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0"]);
    assert.deepEqual(p.batches.finalize, ["-D -t 203.0.113.10:80"]);
  });

  test("moving a named service to another address is flagged disruptive", () => {
    const live = "-A -t 203.0.113.10:80 -s wrr\n";
    const moved = web([{ address: "192.0.2.11", port: 8080 }], { address: "203.0.113.20" });
    const p = plan(spec([moved]), dump(live, { owners: OWNED_WEB }));
    const classes = p.operations.filter((o) => o.action.endsWith("-service")).map((o) => `${o.action}:${o.class}`);
    assert.deepEqual(classes, ["add-service:disruptive", "remove-service:disruptive"]);
  });

  test("keepalived-owned pools: weights are health, new servers come from the reload, not ipvsadm", () => {
    const checked = web([{ address: "192.0.2.11", port: 8080, weight: 5 }, { address: "192.0.2.12", port: 8080 }]);
    checked.pool = { ...checked.pool, healthChecks: [{ type: "tcp" }] } as typeof checked.pool;
    const live = "-A -t 203.0.113.10:80 -s wrr\n-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0\n";
    const p = plan(spec([checked]), dump(live, { owners: "owner ipvsc\nservice web tcp/203.0.113.10:80 keepalived\n--", running: true, keepalived: "old" }));
    assert.deepEqual(p.operations.map((o) => `${o.action}:${o.owner}`), ["add-real-server:keepalived"]);
    assert.deepEqual(p.batches.apply, []);
    assert.equal(p.keepalived.action, "reload");
    assert.match(p.keepalived.diff, /^\+virtual_server 203\.0\.113\.10 80 \{$/m);
  });

  test("plans never contain a VRRP password, in any rendering", () => {
    const value = spec([web([{ address: "192.0.2.11" }])], {
      vrrp: { instances: [{ name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["203.0.113.10/32"], authPassword: "Zq8pW2xy" }] },
    });
    const out = compiled(value);
    const lives = new Map([["lb1", parseLiveState("lb1", dump(""))]]);
    const full = computePlan(out.model, new Map(out.directors.map((d) => [d.name, { keepalivedConf: d.keepalivedConf }])), lives, { owner: "ipvsc" });
    for (const text of [formatPlanJson(full), formatPlanText(full), formatPlanMarkdown(full)]) {
      assert.ok(!text.includes("Zq8pW2xy"));
    }
    assert.match(formatPlanText(full), /keepalived: start/);
  });
});

describe("rollout order", () => {
  test("the director holding the VIPs goes last", () => {
    const value = {
      directors: [
        { name: "lb1", interfaces: ["eth1"], address: "192.0.2.11" },
        { name: "lb2", interfaces: ["eth1"], address: "192.0.2.12" },
      ],
      services: [],
      vrrp: { instances: [{ name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["192.0.2.100/32"] }] },
    };
    const out = compiled(value);
    const confs = new Map(out.directors.map((d) => [d.name, { keepalivedConf: d.keepalivedConf }]));
    const withVip = (name: string) => new Map([
      ["lb1", parseLiveState("lb1", dump("", { addresses: name === "lb1" ? "eth1 192.0.2.100/32" : "eth1 192.0.2.11/24" }))],
      ["lb2", parseLiveState("lb2", dump("", { addresses: name === "lb2" ? "eth1 192.0.2.100/32" : "eth1 192.0.2.12/24" }))],
    ]);
    assert.deepEqual(computePlan(out.model, confs, withVip("lb1"), { owner: "o" }).order, ["lb2", "lb1"]);
    assert.deepEqual(computePlan(out.model, confs, withVip("lb2"), { owner: "o" }).order, ["lb1", "lb2"]);
  });
});
