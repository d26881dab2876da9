/**
 * ipvsc plan / apply / drift against a real director (Debian 6.1 kernel under QEMU, see
 * lab.ts): zero failed requests while a change drains and removes a real server (next to
 * the naive `ipvsadm -C` + `-R`), idempotence, drift and foreign services, and a
 * keepalived-owned pool whose health check removes a dead real server.
 *
 * One director for the whole file; each test starts from resetDirector().
 * Run: IPVS_LAB=required node --import tsx --test test/lab/apply.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { clientRequests, requireLabOrSkip, tally, VIP_V4 } from "./lab.js";
import {
  DIRECTOR_NAME, keepalivedPid, labSpec, liveFingerprint, liveRules, liveRulesBytes, natRules, natService, quickHttpCheck,
  resetDirector, rsAddress, startMissingHttpd, stopHttpd, Traffic, unionRules, waitFor,
  useLabDirector,
} from "./support/rollout-harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ipvsc apply on a real director", { timeout: 240_000 }, () => {
  const { director, ws } = useLabDirector();

  it("changes a live service without failing a request (and shows what the naive -C/-R does)", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const vip = VIP_V4(0);
    // rs3 joins, rs1 drains and goes, rs2's weight and the scheduler change
    const newSpec = ws.writeSpec("zd-new", labSpec(lab, [natService({ name: "web", vip, scheduler: "rr", servers: [{ rs: 2, weight: 3 }, { rs: 3, weight: 1 }] })]));
    const oldRules = natRules(vip, 80, "wlc", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 2 }]);
    const newRules = natRules(vip, 80, "rr", [{ address: rsAddress(2), weight: 3 }, { address: rsAddress(3), weight: 1 }]);
    await resetDirector(lab, oldRules);
    assert.equal(await liveRules(lab), oldRules);

    const traffic = await Traffic.start(lab, { addr: vip, port: 80 });
    await traffic.mark("apply-start");
    const applied = await ws.cli(["apply", newSpec, "--yes", "--drain-timeout", "3"]);
    await traffic.mark("apply-end");
    await sleep(1500);
    const seen = await traffic.stop();

    assert.equal(applied.code, 0, applied.out + applied.err);
    assert.match(applied.out, /scheduler: wlc -> rr/);
    assert.match(applied.out, /weight: 2 -> 3/);
    assert.match(applied.out, /\+ add real server 203\.0\.113\.50:80/);
    assert.match(applied.out, /v drain real server 203\.0\.113\.18:80/);
    assert.match(applied.out, /ipvsc: (drained|drain deadline)/);
    assert.match(applied.out, /the director is in its NEW state/);
    assert.equal(await liveRules(lab), newRules);
    assert.deepEqual(seen.failures, [], `requests failed during the apply: ${seen.failures.join("; ")}`);
    assert.equal(seen.failed, 0);
    const during = seen.between("apply-start", "apply-end");
    assert.ok(during.includes("rs3"), `the new real server served during the apply: ${JSON.stringify(tally(during))}`);
    const afterwards = seen.between("apply-end");
    assert.ok(afterwards.length > 0, "requests after the apply");
    assert.ok(afterwards.every((s) => s === "rs2" || s === "rs3"), `only the new set after the apply: ${JSON.stringify(tally(afterwards))}`);

    // the same change, the naive way: flush, then restore the whole new table
    const newBytes = await liveRulesBytes(lab);
    await lab.run(`ipvsadm -C && ipvsadm -R <<'EOF'\n${oldRules}\nEOF`);
    assert.equal(await liveRules(lab), oldRules);
    await lab.run(`cat > /tmp/naive-new.rules <<'EOF'\n${newBytes}EOF`);
    const naiveTraffic = await Traffic.start(lab, { addr: vip, port: 80 });
    await naiveTraffic.mark("naive-start");
    await lab.run("ipvsadm -C; ipvsadm -R < /tmp/naive-new.rules");
    await naiveTraffic.mark("naive-end");
    await sleep(1500);
    const naive = await naiveTraffic.stop();
    assert.equal(await liveRules(lab), newRules);
    console.log(
      `zero-drop: ipvsc ${seen.failed} failed / naive ${naive.failed} failed of ${seen.ok + seen.failed} ` +
        `(ipvsc: ${during.length} requests during the ${(applied.ms / 1000).toFixed(1)} s apply with a 3 s drain; ` +
        `naive: ${naive.ok + naive.failed} requests, ${naive.between("naive-start", "naive-end").length} during the flush and restore)`,
    );
  });

  it("without --yes: refused when nobody can answer, nothing changed when the operator says no, applied on yes", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const spec = ws.writeSpec("ask", labSpec(lab, [natService({ name: "web", vip: VIP_V4(3), scheduler: "rr", servers: [{ rs: 1 }] })]));
    const before = await liveRulesBytes(lab);
    const noTerminal = await ws.cli(["apply", spec]);
    assert.equal(noTerminal.code, 2, noTerminal.err);
    assert.match(noTerminal.err, /refusing to change directors without --yes/);
    const questions: string[] = [];
    const no = await ws.cli(["apply", spec], undefined, async (q) => (questions.push(q), false));
    assert.equal(no.code, 1);
    assert.match(no.err, /not confirmed; nothing was changed/);
    assert.equal(await liveRulesBytes(lab), before);
    const yes = await ws.cli(["apply", spec], undefined, async (q) => (questions.push(q), true));
    assert.equal(yes.code, 0, yes.out + yes.err);
    assert.deepEqual(questions, ["apply this plan to 1 director(s)?", "apply this plan to 1 director(s)?"]);
    assert.equal(await liveRules(lab), natRules(VIP_V4(3), 80, "rr", [{ address: rsAddress(1), weight: 1 }]));
  });

  it("applies the same spec twice: the second plan is empty and the second apply runs nothing", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const spec = ws.writeSpec("idem", labSpec(lab, [
      natService({ name: "web", vip: VIP_V4(2), scheduler: "wrr", servers: [{ rs: 1, weight: 2 }, { rs: 2, weight: 1 }] }),
      natService({ name: "alt", vip: VIP_V4(2), port: 8080, scheduler: "sh", servers: [{ rs: 3 }, { rs: 1 }] }),
    ]));
    const expected = unionRules(
      natRules(VIP_V4(2), 80, "wrr", [{ address: rsAddress(1), weight: 2 }, { address: rsAddress(2), weight: 1 }]),
      natRules(VIP_V4(2), 8080, "sh", [{ address: rsAddress(3), weight: 1 }, { address: rsAddress(1), weight: 1 }]),
    );
    const first = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(first.code, 0, first.out + first.err);
    assert.equal(await liveRules(lab), expected);
    const bytes = await liveRulesBytes(lab);
    const fingerprint = await liveFingerprint(lab);
    const runs = await lab.run("ls /var/lib/ipvsc/runs | sort");

    const plan = await ws.cli(["plan", spec]);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, new RegExp(`director ${DIRECTOR_NAME}: no changes`));
    assert.doesNotMatch(plan.out, /^\s+[+~v!-] /m, "no operation listed");

    const second = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(second.code, 0, second.out + second.err);
    assert.match(second.out, /nothing to do/);
    assert.doesNotMatch(second.out, /ipvsc: /, "no apply script ran");
    assert.equal(await liveRulesBytes(lab), bytes, "table bytes unchanged");
    assert.equal(await liveFingerprint(lab), fingerprint, "fingerprint unchanged");
    assert.equal(await lab.run("ls /var/lib/ipvsc/runs | sort"), runs, "no new run directory");

    // the director is emptied by hand, back to the state the first plan was made from: the
    // same plan again must run again, not replay the first run's result
    await resetDirector(lab);
    const again = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(again.code, 0, again.out + again.err);
    assert.equal(await liveRules(lab), expected, "re-applied after the director was emptied");
  });

  it("reports drift (an edited weight, a foreign service), leaves the foreign service alone, prunes it on request", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const vip = VIP_V4(3);
    const spec = ws.writeSpec("drift", labSpec(lab, [natService({ name: "web", vip, scheduler: "wrr", servers: [{ rs: 1, weight: 1 }, { rs: 2, weight: 2 }] })]));
    const ours = natRules(vip, 80, "wrr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 2 }]);
    const foreign = `-A -u ${vip}:53 -s rr`;

    const applied = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);

    await lab.run(`ipvsadm -e -t ${vip}:80 -r ${rsAddress(2)}:80 -m -w 9 && ipvsadm -A -u ${vip}:53 -s rr`);
    const drift = await ws.cli(["drift", spec]);
    assert.equal(drift.code, 3, drift.out + drift.err);
    assert.match(drift.out, /2 difference\(s\)/);
    assert.match(drift.out, /drift: edit-real-server web 203\.0\.113\.34:80: weight 9 -> 2/);
    assert.match(drift.out, /drift: foreign service udp\/203\.0\.113\.131:53/);

    const repaired = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(repaired.code, 0, repaired.out + repaired.err);
    assert.match(repaired.out, /! foreign service udp\/203\.0\.113\.131:53 \(0 real servers\): left alone/);
    assert.equal(await liveRules(lab), unionRules(ours, foreign), "weight repaired, foreign service untouched");

    const pruned = await ws.cli(["apply", spec, "--yes", "--prune"]);
    assert.equal(pruned.code, 0, pruned.out + pruned.err);
    assert.match(pruned.out, /- prune foreign service udp\/203\.0\.113\.131:53/);
    assert.equal(await liveRules(lab), ours, "foreign service pruned");
    const synced = await ws.cli(["drift", spec]);
    assert.equal(synced.code, 0, synced.out + synced.err);
    assert.match(synced.out, new RegExp(`${DIRECTOR_NAME}: in sync`));
  });

  it("a health-checked pool: keepalived runs the rendered config and drops a dead real server", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const vip = VIP_V4(4);
    const specInput = labSpec(lab, [natService({ name: "web", vip, scheduler: "rr", servers: [{ rs: 1 }, { rs: 2 }, { rs: 3 }], healthChecks: [quickHttpCheck()] })]);
    const spec = ws.writeSpec("keepalived", specInput);
    const built = await ws.cli(["build", spec, "-o", "keepalived-build"]);
    assert.equal(built.code, 0, built.err);
    const rendered = readFileSync(join(ws.dir, "keepalived-build", "keepalived", `${DIRECTOR_NAME}.conf`), "utf8");
    const all = natRules(vip, 80, "rr", [1, 2, 3].map((i) => ({ address: rsAddress(i as 1 | 2 | 3), weight: 1 })));
    try {
      const applied = await ws.cli(["apply", spec, "--yes"]);
      assert.equal(applied.code, 0, applied.out + applied.err);
      assert.match(applied.out, /keepalived: start/);
      assert.match(applied.out, /NEW state/);
      assert.ok((await keepalivedPid(lab)) !== undefined, "keepalived runs");
      assert.equal(await lab.run("cat /etc/keepalived/keepalived.conf"), rendered, "the rendered config is installed");
      assert.ok(await waitFor(async () => (await liveRules(lab)) === all, 10_000), `keepalived loaded the service: ${await liveRules(lab)}`);
      const answers = await clientRequests(lab, { addr: vip, port: 80, count: 6 });
      assert.equal(answers.failures, 0, answers.stderr);
      assert.deepEqual(Object.keys(tally(answers.servers)).sort(), ["rs1", "rs2", "rs3"]);

      await stopHttpd(lab, "rs2", 80);
      const started = Date.now();
      const without = natRules(vip, 80, "rr", [1, 3].map((i) => ({ address: rsAddress(i as 1 | 3), weight: 1 })));
      assert.ok(await waitFor(async () => (await liveRules(lab)) === without, 15_000), `rs2 removed by its failed check: ${await liveRules(lab)}`);
      console.log(`keepalived: dead real server removed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      // a failed check is health, not drift
      const drift = await ws.cli(["drift", spec]);
      assert.equal(drift.code, 0, drift.out + drift.err);
      assert.match(drift.out, /health: add-real-server web 203\.0\.113\.34:80/);
    } finally {
      await startMissingHttpd(lab);
    }
  });
});
