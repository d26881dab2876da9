/**
 * Two specs sharing one real director (issue #14, point 6; see lab.ts): spec A applied with
 * `--owner team-a`, spec B (other services) with `--owner team-b`. Drift is per owner: each
 * spec's drift check is clean while the other's services are shown as information; --strict
 * counts them; a hand edit of an A service is drift for A only; a service no owner records
 * is drift for both; `plan --prune` and `apply --prune` of A never touch B's services.
 * Run: IPVS_LAB=required node --import tsx --test test/lab/two-owners.test.ts
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requireLabOrSkip, VIP_V4 } from "./lab.js";
import type { Plan } from "../../src/plan/plan-types.js";
import { labSpec, liveRules, natRules, natService, resetDirector, rsAddress, unionRules, useLabDirector } from "./support/rollout-harness.js";

const VIP_A = VIP_V4(40);
const VIP_B = VIP_V4(41);
const VIP_STRAY = VIP_V4(42);
const A = ["--owner", "team-a"];
const B = ["--owner", "team-b"];

describe("two owners on one director", { timeout: 240_000 }, () => {
  const { director, ws } = useLabDirector();

  it("drift and plan are per owner: the other owner's services are information, never drift or an operation", { timeout: 180_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const specA = ws.writeSpec("owner-a", labSpec(lab, [natService({ name: "web", vip: VIP_A, scheduler: "wrr", servers: [{ rs: 1, weight: 1 }, { rs: 2, weight: 2 }] })]));
    const specB = ws.writeSpec("owner-b", labSpec(lab, [natService({ name: "api", vip: VIP_B, scheduler: "rr", servers: [{ rs: 3 }] })]));
    const rulesA = natRules(VIP_A, 80, "wrr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 2 }]);
    const rulesB = natRules(VIP_B, 80, "rr", [{ address: rsAddress(3), weight: 1 }]);
    const infoB = `info: service tcp/${VIP_B}:80 (1 real server) is owned by team-b: not ours, left alone`;
    const infoA = `info: service tcp/${VIP_A}:80 (2 real servers) is owned by team-a: not ours, left alone`;
    const cli = async (args: string[], code: number) => {
      const r = await ws.cli(args);
      assert.equal(r.code, code, `ipvsc ${args.join(" ")}:\n${r.out}${r.err}`);
      return r;
    };

    // both specs applied, each under its owner
    await cli(["apply", specA, ...A, "--yes"], 0);
    const appliedB = await cli(["apply", specB, ...B, "--yes"], 0);
    assert.match(appliedB.out, new RegExp(`i service tcp/${VIP_A}:80 \\(2 real servers\\) is owned by team-a: not ours, left alone`));
    assert.equal(await liveRules(lab), unionRules(rulesA, rulesB));

    // each owner's drift check is clean; the other's services are information
    const driftA = await cli(["drift", specA, ...A], 0);
    assert.match(driftA.out, /^lab1: in sync$/m);
    assert.ok(driftA.out.includes(infoB), driftA.out);
    assert.doesNotMatch(driftA.out, /drift:/);
    const driftB = await cli(["drift", specB, ...B], 0);
    assert.ok(driftB.out.includes(infoA), driftB.out);
    // --strict counts everything that is not ours
    const strict = await cli(["drift", specA, ...A, "--strict"], 3);
    assert.ok(strict.out.includes(`drift: service tcp/${VIP_B}:80 (1 real server) is owned by team-b`), strict.out);

    // a hand edit of an A service: drift for A, not for B
    await lab.run(`ipvsadm -e -t ${VIP_A}:80 -r ${rsAddress(2)}:80 -m -w 7`);
    const editedA = await cli(["drift", specA, ...A], 3);
    assert.match(editedA.out, new RegExp(`drift: edit-real-server web ${rsAddress(2)}:80: weight 7 -> 2`));
    assert.doesNotMatch(editedA.out, new RegExp(`drift: .*${VIP_B}`));
    await cli(["drift", specB, ...B], 0);

    // plan --prune of A: the repair is the only operation; B's service is information
    const planned = await cli(["plan", specA, ...A, "--prune", "--format", "json"], 0);
    const plan = JSON.parse(planned.out) as Plan;
    const dp = plan.directors[0]!;
    assert.deepEqual(dp.operations.map((o) => `${o.action} ${o.serviceKey}`), [`edit-real-server tcp/${VIP_A}:80`]);
    assert.deepEqual(dp.foreign, [{ serviceKey: `tcp/${VIP_B}:80`, realServers: 1, ownedBy: "team-b", pruned: false }]);
    assert.ok(![...dp.batches.apply, ...dp.batches.finalize].some((l) => l.includes(VIP_B)), "no batch line names B's service");

    // a service no owner records: drift for both owners
    await lab.run(`ipvsadm -A -t ${VIP_STRAY}:80 -s rr`);
    const strayA = await cli(["drift", specA, ...A], 3);
    assert.ok(strayA.out.includes(`drift: foreign service tcp/${VIP_STRAY}:80: no owner records it`), strayA.out);
    const strayB = await cli(["drift", specB, ...B], 3);
    assert.ok(strayB.out.includes(`drift: foreign service tcp/${VIP_STRAY}:80: no owner records it`), strayB.out);
    assert.ok(strayB.out.includes(infoA), "A's edited service is still only information for B");

    // plan --prune of A removes the unowned service, never B's
    const prunePlan = JSON.parse((await cli(["plan", specA, ...A, "--prune", "--format", "json"], 0)).out) as Plan;
    const ops = prunePlan.directors[0]!.operations;
    assert.ok(ops.some((o) => o.action === "remove-service" && o.serviceKey === `tcp/${VIP_STRAY}:80`), JSON.stringify(ops));
    assert.ok(!ops.some((o) => o.serviceKey === `tcp/${VIP_B}:80`), "B's service is never an operation");

    // and applied: A repaired, the unowned service gone, B's untouched; both in sync again
    const pruned = await cli(["apply", specA, ...A, "--prune", "--yes"], 0);
    assert.match(pruned.out, /lab1: applied; the director is in its NEW state/);
    assert.equal(await liveRules(lab), unionRules(rulesA, rulesB));
    await cli(["drift", specA, ...A], 0);
    await cli(["drift", specB, ...B], 0);
  });
});
