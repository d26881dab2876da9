/**
 * Cross-director consistency of HA pairs (src/validate/validate-ha-pairs.ts), as catalogue
 * cases on the catalogue's base spec (test/invalid/cases.ts: lb1 and lb2, unicast VRRP
 * instance VI_1 with VIPs 192.0.2.10 and .11, the sync daemon): each case is one mutation
 * and the issue it must produce; look-alikes must produce none. Also: a spec with such an
 * error never renders.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compile.js";
import { formatIssues, formatPath, type Issue, type IssueCode, type Severity } from "../../src/issues.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { validate } from "../../src/validate/validate.js";
import { BASE_PASSWORD, baseSpec } from "../invalid/cases.js";

interface HaCase {
  name: string;
  mutate: (s: SpecInput) => void;
  code: IssueCode;
  path: string;
  message: string;
  severity?: Severity;
  hint?: string;
}

function check(spec: SpecInput): Issue[] {
  const parsed = parseSpec(spec);
  assert.ok(parsed.ok, formatIssues(parsed.issues));
  return validate(parsed.spec);
}

function mutated(mutate: (s: SpecInput) => void): SpecInput {
  const s = baseSpec();
  mutate(s);
  return s;
}

const svc = (s: SpecInput, i: number) => s.services[i]!;
const inst = (s: SpecInput) => s.vrrp!.instances![0]!;
/** A third director on the VRRP link (the base spec's unicast peers come from addresses). */
const addLb3 = (s: SpecInput) => {
  s.directors.push({ name: "lb3", interfaces: ["eth0", "eth1"], address: "192.0.2.4" });
};

const CASES: HaCase[] = [
  // ---- who carries a VIP's services
  {
    name: "a VIP service on one director of the pair",
    mutate: (s) => { svc(s, 0).directors = ["lb1"]; },
    code: "vrrp-pair-mismatch", path: "services[0].directors",
    message: 'service "web" (tcp/192.0.2.10:80) is on 192.0.2.10, a VIP of VRRP instance VI_1, which every director runs, but only lb1 carries it: when lb2 becomes master',
    hint: "drop 'directors' or list them all",
  },
  {
    name: "a VIP service on two of three directors",
    mutate: (s) => { addLb3(s); svc(s, 1).directors = ["lb1", "lb2"]; },
    code: "vrrp-pair-mismatch", path: "services[1].directors",
    message: "only lb1 and lb2 carry it: when lb3 becomes master",
  },
  {
    name: "an excluded (unadvertised) VIP counts as a VIP",
    mutate: (s) => { svc(s, 2).directors = ["lb2"]; },
    code: "vrrp-pair-mismatch", path: "services[2].directors",
    message: "only lb2 carries it: when lb1 becomes master",
  },
  {
    name: "the same identity on disjoint directors that leave one out",
    mutate: (s) => {
      addLb3(s);
      svc(s, 0).directors = ["lb1"];
      s.services.push({ name: "web-lb2", protocol: "tcp", address: "192.0.2.10", port: 80, directors: ["lb2"], pool: { servers: [{ address: "203.0.113.12", port: 8080 }] } });
    },
    code: "vrrp-pair-mismatch", path: "services[0].directors",
    message: "only lb1 and lb2 carry it: when lb3 becomes master",
  },
  // ---- VIPs and director addresses
  {
    name: "one VIP in two instances",
    mutate: (s) => { s.vrrp!.instances!.push({ name: "VI_2", interface: "eth1", virtualRouterId: 52, vips: ["192.0.2.11/32"], unicast: true }); },
    code: "vrrp-pair-mismatch", path: "vrrp.instances[1].vips[0]",
    message: "VIP 192.0.2.11 of instance VI_2 is also a VIP of instance VI_1 (vrrp.instances[0])",
  },
  {
    name: "one VIP twice in an instance, written differently",
    mutate: (s) => { inst(s).vips = ["192.0.2.10/32", "192.0.2.11/32", "192.0.2.10"]; },
    code: "invalid-value", path: "vrrp.instances[0].vips[2]",
    message: "VIP 192.0.2.10 is listed twice in instance VI_1",
  },
  {
    name: "two directors with one address",
    mutate: (s) => { s.directors[1]!.address = "192.0.2.2"; },
    code: "invalid-value", path: "directors[1].address",
    message: "director lb2 has the address 192.0.2.2 of director lb1",
  },
  {
    name: "a director address that is a VIP",
    mutate: (s) => { s.directors[0]!.address = "192.0.2.11"; },
    code: "invalid-value", path: "directors[0].address",
    message: "director lb1's own address 192.0.2.11 is a VIP of VRRP instance VI_1",
  },
  // ---- priorities and initial states
  {
    name: "a backup with the master's priority",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { priority: 150 } }; },
    code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.priority", severity: "warning",
    message: "directors lb1 and lb2 have the same priority 150 in instance VI_1: the election is decided by the higher IP address",
  },
  {
    name: "nopreempt with the same priority everywhere",
    mutate: (s) => {
      inst(s).nopreempt = true;
      s.directors[0]!.vrrp = { VI_1: { priority: 100 } };
      s.directors[1]!.vrrp = { VI_1: { priority: 100 } };
    },
    code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.priority", severity: "warning",
    message: "same priority 100",
  },
  {
    name: "a second MASTER below the first",
    mutate: (s) => { s.directors[1]!.vrrp = { VI_1: { state: "MASTER" } }; },
    code: "vrrp-pair-mismatch", path: "directors[1].vrrp.VI_1.state", severity: "warning",
    message: "director lb2 starts instance VI_1 as MASTER with priority 140, but lb1 has 150 and preempts",
  },
  {
    name: "the MASTER's priority lowered below the backup's",
    mutate: (s) => { s.directors[0]!.vrrp = { VI_1: { priority: 100 } }; },
    code: "vrrp-pair-mismatch", path: "directors[0].vrrp.VI_1", severity: "warning",
    message: "director lb1 starts instance VI_1 as MASTER with priority 100, but lb2 has 140",
    hint: "start lb1 as BACKUP, or give it the highest priority",
  },
  // ---- sync daemon
  {
    name: "a sync daemon group that is not multicast",
    mutate: (s) => { s.syncDaemon = { interface: "eth1", instance: "VI_1", group: "192.0.2.50" }; },
    code: "invalid-value", path: "syncDaemon.group",
    message: "sync daemon group 192.0.2.50 is not a multicast address",
  },
];

const VALID: { name: string; mutate: (s: SpecInput) => void }[] = [
  { name: "the base pair", mutate: () => {} },
  { name: "three directors, every service on every director", mutate: addLb3 },
  { name: "a non-VIP service on one director", mutate: (s) => { s.services.push({ name: "local", protocol: "tcp", address: "198.51.100.77", port: 80, directors: ["lb1"], pool: { servers: [{ address: "203.0.113.12", port: 8080 }] } }); } },
  { name: "a fwmark service on one director", mutate: (s) => { svc(s, 3).directors = ["lb1"]; } },
  {
    name: "the same identity on disjoint directors covering all three",
    mutate: (s) => {
      addLb3(s);
      svc(s, 0).directors = ["lb1", "lb3"];
      s.services.push({ name: "web-lb2", protocol: "tcp", address: "192.0.2.10", port: 80, directors: ["lb2"], pool: { servers: [{ address: "203.0.113.12", port: 8080 }] } });
    },
  },
  { name: "services listing every director explicitly", mutate: (s) => { for (const x of s.services) x.directors = ["lb2", "lb1"]; } },
  {
    name: "nopreempt: all BACKUP, distinct derived priorities",
    mutate: (s) => { inst(s).nopreempt = true; },
  },
  {
    name: "distinct per-director priorities, the MASTER highest",
    mutate: (s) => { addLb3(s); s.directors[0]!.vrrp = { VI_1: { priority: 200 } }; s.directors[2]!.vrrp = { VI_1: { priority: 199 } }; },
  },
  { name: "a multicast sync group", mutate: (s) => { s.syncDaemon = { interface: "eth1", instance: "VI_1", group: "239.1.2.3" }; } },
  {
    name: "stateless HA: services on some directors are the routers' business",
    mutate: (s) => {
      s.ha = { mode: "stateless" };
      s.sysctl = { sloppyTcp: true };
      delete s.syncDaemon;
      s.services = [{ ...s.services[2]!, directors: ["lb1"] }];
    },
  },
];

describe("HA pairs: cross-director rules", () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.code} at ${c.path}`, () => {
      const issues = check(mutated(c.mutate));
      const issue = issues.find((i) => i.code === c.code && formatPath(i.path) === c.path);
      assert.ok(issue, `no ${c.code} at ${c.path}; got:\n${formatIssues(issues)}`);
      assert.ok(issue.message.includes(c.message), `message ${JSON.stringify(issue.message)} lacks ${JSON.stringify(c.message)}`);
      assert.equal(issue.severity, c.severity ?? "error");
      if (c.hint !== undefined) assert.ok(issue.hint?.includes(c.hint), `hint ${JSON.stringify(issue.hint)} lacks ${JSON.stringify(c.hint)}`);
      for (const i of issues) assert.ok(!i.message.includes(BASE_PASSWORD) && !(i.hint ?? "").includes(BASE_PASSWORD), `secret in ${i.code}`);
    });
  }

  test("each case reports its finding once", () => {
    for (const c of CASES) {
      const issues = check(mutated(c.mutate)).filter((i) => i.code === c.code && formatPath(i.path) === c.path);
      assert.equal(issues.length, 1, `${c.name}:\n${formatIssues(issues)}`);
    }
  });

  for (const v of VALID) {
    test(`valid: ${v.name}`, () => {
      const issues = check(mutated(v.mutate));
      assert.deepEqual(issues, [], formatIssues(issues));
    });
  }

  test("a VIP service missing on a director stops compile: nothing renders", () => {
    const r = compile(mutated((s) => { svc(s, 0).directors = ["lb1"]; }));
    assert.equal(r.ok, false);
    assert.ok(r.issues.some((i) => i.code === "vrrp-pair-mismatch" && i.severity === "error"));
    assert.ok(!("output" in r));
  });

  test("every finding at once: coverage, addresses and priorities in one spec", () => {
    const issues = check(mutated((s) => {
      svc(s, 0).directors = ["lb1"];
      s.directors[1]!.address = "192.0.2.2";
      s.directors[1]!.vrrp = { VI_1: { priority: 150 } };
    }));
    const found = issues.map((i) => `${i.code} ${formatPath(i.path)}`).sort();
    assert.deepEqual(found, [
      "invalid-value directors[1].address",
      "vrrp-pair-mismatch directors[1].vrrp.VI_1.priority",
      "vrrp-pair-mismatch services[0].directors",
    ]);
  });
});
