/**
 * Two specs sharing a director (issue #14, point 6): services another owner records are never
 * an operation of this owner's plan (prune or not, and even when this owner's old record names
 * them too), and `drift` counts only this owner's differences and services no owner records;
 * another owner's services are information, unless strict.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compile.js";
import { driftOf } from "../../src/cli/rollout.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { formatPlanJson, formatPlanMarkdown, formatPlanText } from "../../src/plan/format-plan.js";
import type { DirectorPlan, Plan } from "../../src/plan/plan-types.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

const WEB = "tcp/203.0.113.10:80";
const DNS = "udp/203.0.113.20:53";
const STRAY = "tcp/203.0.113.99:80";

/** Owner A declares web; owner B's record names dns. */
const specA = {
  directors: [{ name: "lb1", interfaces: ["eth0"] }],
  services: [{
    name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: "wrr",
    pool: { forwarding: { method: "nat" }, servers: [{ address: "192.0.2.11", port: 80, weight: 1 }] },
  }],
};
const WEB_LIVE = ["-A -t 203.0.113.10:80 -s wrr", "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1"];
const DNS_LIVE = ["-A -u 203.0.113.20:53 -s rr", "-a -u 203.0.113.20:53 -r 192.0.2.53:53 -m -w 1"];
const RECORD_A = `owner A\nservice web ${WEB} applier\n--`;
const RECORD_B = `owner B\nservice dns ${DNS} applier\n--`;

function dump(save: string[], owners: string[]): string {
  return [
    "==ipvsc:fingerprint==", "fp", "==ipvsc:save==", ...save, "==ipvsc:thresholds==", "", "==ipvsc:timeouts==", "", "==ipvsc:daemon==", "",
    "==ipvsc:keepalived-running==", "no", "==ipvsc:owners==", ...owners, "==ipvsc:addresses==", "", "==ipvsc:end==", "",
  ].join("\n");
}

function planA(value: unknown, save: string[], owners: string[], prune = false): DirectorPlan {
  const r = compile(value);
  assert.ok(r.ok, JSON.stringify(r.issues));
  const d = r.output.model.directors[0]!;
  return planDirector({ model: d, keepalivedConf: r.output.directors[0]!.keepalivedConf }, parseLiveState("lb1", dump(save, owners)), { owner: "A", prune });
}

const planOf = (dp: DirectorPlan): Plan => ({ version: 1, order: [dp.director], directors: [dp] });
const noBatches = (dp: DirectorPlan) => [...dp.batches.apply, ...dp.batches.finalize, ...dp.batches.drain.map((d) => d.selector)];

describe("another owner's services in this owner's plan", () => {
  test("are never an operation, with or without prune; they show as information", () => {
    for (const prune of [false, true]) {
      const p = planA(specA, [...WEB_LIVE, ...DNS_LIVE], [RECORD_A, RECORD_B], prune);
      assert.deepEqual(p.operations, [], `prune ${prune}`);
      assert.deepEqual(noBatches(p), []);
      assert.equal(p.empty, true);
      assert.deepEqual(p.foreign, [{ serviceKey: DNS, realServers: 1, ownedBy: "B", pruned: false }]);
      assert.match(formatPlanText(planOf(p)), new RegExp(`^  i service ${DNS} \\(1 real server\\) is owned by B: not ours, left alone$`, "m"));
      assert.match(formatPlanMarkdown(planOf(p)), /`udp\/203\.0\.113\.20:53` — owned by B, not ours, left alone/);
    }
  });

  test("prune removes only what no owner records", () => {
    const stray = ["-A -t 203.0.113.99:80 -s rr"];
    const p = planA(specA, [...WEB_LIVE, ...DNS_LIVE, ...stray], [RECORD_A, RECORD_B], true);
    assert.deepEqual(p.operations.map((o) => `${o.action} ${o.serviceKey}`), [`remove-service ${STRAY}`]);
    assert.deepEqual(p.batches.finalize, ["-D -t 203.0.113.99:80"]);
    assert.deepEqual(p.foreign.map((f) => [f.serviceKey, f.ownedBy, f.pruned]), [[STRAY, undefined, true], [DNS, "B", false]]);
  });

  test("a service both records name and this spec no longer declares is left to the other owner", () => {
    const both = `owner A\nservice web ${WEB} applier\nservice dns ${DNS} applier\n--`;
    const p = planA(specA, [...WEB_LIVE, ...DNS_LIVE], [both, RECORD_B]);
    assert.deepEqual(p.operations, [], "not drained, not removed");
    assert.deepEqual(noBatches(p), []);
    assert.deepEqual(p.foreign, [{ serviceKey: DNS, realServers: 1, ownedBy: "B", pruned: false }]);
    assert.doesNotMatch(p.ownershipRecord, /dns/, "and it leaves our record");
    // without B's record it is ours alone and goes
    const ours = planA(specA, [...WEB_LIVE, ...DNS_LIVE], [both]);
    assert.deepEqual(ours.operations.map((o) => o.action), ["remove-service", "drain-real-server"]);
  });

  test("several other owners are named together", () => {
    const c = `owner C\nservice dns2 ${DNS} applier\n--`;
    const p = planA(specA, [...WEB_LIVE, ...DNS_LIVE], [RECORD_A, c, RECORD_B]);
    assert.equal(p.foreign[0]?.ownedBy, "B, C");
  });

  test("a service this spec declares that another owner records too is contested (the plan says so; JSON gains the field only then)", () => {
    const shared = `owner B\nservice www ${WEB} applier\n--`;
    const p = planA(specA, WEB_LIVE, [RECORD_A, shared]);
    assert.deepEqual(p.contested, [{ service: "web", serviceKey: WEB, ownedBy: "B" }]);
    assert.match(formatPlanText(planOf(p)), /! service web \(tcp\/203\.0\.113\.10:80\) is also recorded by B: both specs manage it/);
    assert.match(formatPlanJson(planOf(p)), /"contested": \[/);
    const alone = planA(specA, WEB_LIVE, [RECORD_A, RECORD_B]);
    assert.equal(alone.contested, undefined);
    assert.doesNotMatch(formatPlanJson(planOf(alone)), /contested/);
  });
});

describe("drift is per owner", () => {
  test("another owner's services are information; with strict they are drift", () => {
    const p = planA(specA, [...WEB_LIVE, ...DNS_LIVE], [RECORD_A, RECORD_B]);
    const r = driftOf(p);
    assert.deepEqual(r.drift, []);
    assert.deepEqual(r.info, [`service ${DNS} (1 real server) is owned by B: not ours, left alone`]);
    const strict = driftOf(p, { strict: true });
    assert.deepEqual(strict.drift, r.info);
    assert.deepEqual(strict.info, []);
  });

  test("a service no owner records is drift, strict or not", () => {
    const p = planA(specA, [...WEB_LIVE, "-A -t 203.0.113.99:80 -s rr"], [RECORD_A]);
    for (const strict of [false, true]) {
      assert.deepEqual(driftOf(p, { strict }).drift, [`foreign service ${STRAY}: no owner records it`]);
    }
  });

  test("a difference in our own service is drift; another owner's edited service is not ours to judge", () => {
    const edited = planA(specA, ["-A -t 203.0.113.10:80 -s wrr", "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 7", ...DNS_LIVE], [RECORD_A, RECORD_B]);
    assert.deepEqual(driftOf(edited).drift, [`edit-real-server web 192.0.2.11:80: weight 7 -> 1`]);
    const theirsEdited = planA(specA, [...WEB_LIVE, "-A -u 203.0.113.20:53 -s rr", "-a -u 203.0.113.20:53 -r 192.0.2.53:53 -m -w 9"], [RECORD_A, RECORD_B]);
    assert.deepEqual(driftOf(theirsEdited).drift, []);
  });

  test("a pruned service is counted once, as its removal", () => {
    const p = planA(specA, [...WEB_LIVE, "-A -t 203.0.113.99:80 -s rr"], [RECORD_A], true);
    assert.deepEqual(driftOf(p).drift, [`remove-service ${STRAY}`]);
  });

  test("a contested service is information, and drift under strict", () => {
    const p = planA(specA, WEB_LIVE, [RECORD_A, `owner B\nservice www ${WEB} applier\n--`]);
    assert.deepEqual(driftOf(p).drift, []);
    assert.equal(driftOf(p).info.length, 1);
    assert.equal(driftOf(p, { strict: true }).drift.length, 1);
  });
});
