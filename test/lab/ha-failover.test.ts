/**
 * An HA pair of real directors (Debian 6.1 under QEMU, see lab.ts) on one shared link,
 * configured only by this project: keepalived.conf rendered by our compiler (unicast VRRP
 * with PASS authentication, lvs_sync_daemon on eth1), installed by `ipvsc apply`.
 *
 *   1. the pair comes up: the VIP on the preferred master only, sync daemons master/backup,
 *      DR traffic from a client outside both directors;
 *   2. the master's keepalived is stopped: the VIP moves to the backup within a bound while
 *      HTTP traffic continues, and a long-lived TCP connection opened before the failover
 *      keeps working after it (the sync daemon had copied its entry to the backup), while
 *      the same kind of connection that the backup never received breaks (the control);
 *   3. `ipvsc apply` brings the failed director back (keepalived restarted, it preempts);
 *      the rollout order puts the live master (lb-b at that moment) last;
 *   4. a rollout of a spec change (a real server added, weights changed) under continuous
 *      traffic: the plan and the apply go backup first, master last; no request is lost.
 *
 * Three VMs on the shared segment: dir1 and dir2 are the directors, dir3 holds the client
 * and the real servers (see support/ha-lab.ts). The tests run in order and share state.
 * Run: IPVS_LAB=required node --import tsx --test test/lab/ha-failover.test.ts
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bootDirectors, labStatus, requireLabOrSkip, tally, type LabDirector } from "./lab.js";
import { RolloutWorkspace, sortedRules, Traffic, waitFor } from "./support/rollout-harness.js";
import {
  connectionsFrom, ECHO_PORT, EchoConnection, HA_PASSWORD, HA_VIP, haRealServer, haSpec, holdsVip, keepalivedPidOf,
  parseEcho, setupHaWorld, syncDaemons, waitForVipOn,
} from "./support/ha-lab.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();

/** The bound asserted on the VIP's move after the master's keepalived stops. */
const FAILOVER_BOUND_SEC = 10;

/** `ipvsadm -S -n` lines of one DR service, written out independently of the renderer. */
function drRules(port: number, scheduler: string, weights: Partial<Record<1 | 2 | 3, number>>): string[] {
  const sel = `-t ${HA_VIP}:${port}`;
  return [
    `-A ${sel} -s ${scheduler}`,
    ...([1, 2, 3] as const).filter((i) => weights[i] !== undefined).map((i) => `-a ${sel} -r ${haRealServer(i)}:${port} -g -w ${weights[i]!}`),
  ];
}

/** Index of the first line of `text` matching `re`, -1 when none. */
function firstLine(text: string, re: RegExp): number {
  return text.split("\n").findIndex((l) => re.test(l));
}

describe("HA pair on real directors: VRRP failover, connection sync, HA-safe rollout", { timeout: 300_000 }, () => {
  let a: LabDirector | undefined; // lb-a, the preferred master
  let b: LabDirector | undefined; // lb-b
  let world: LabDirector | undefined; // client and real servers
  const ws = new RolloutWorkspace();
  const v1 = { web: { 1: 1, 2: 1 }, echo: { 1: 1, 2: 1 } } as const;
  const v2 = { web: { 1: 2, 2: 1, 3: 1 }, echo: { 1: 1, 2: 3, 3: 1 } } as const;
  let specV1 = "";
  let specV2 = "";

  const pair = (): [LabDirector, LabDirector, LabDirector] => {
    if (!a || !b || !world) throw new Error("lab not booted");
    return [a, b, world];
  };

  before(async () => {
    if (!labStatus().available) return;
    [a, b, world] = await bootDirectors(3, { sharedLink: true });
    await setupHaWorld(world!);
    specV1 = ws.writeSpec("ha-v1", haSpec(a!, b!, v1));
    specV2 = ws.writeSpec("ha-v2", haSpec(a!, b!, v2));
    console.log(`ha lab: 3 VMs booted and the world built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, { timeout: 200_000 });

  after(async () => {
    await Promise.all([a, b, world].map((d) => d?.close()));
    ws.cleanup();
    console.log(`ha lab: total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("comes up from the rendered configs: VIP on the preferred master only, sync daemons, DR traffic", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [da, db, w] = pair();
    const applied = await ws.cli(["apply", specV1, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    // nobody holds the VIP yet: spec order
    assert.match(applied.out, /^Rollout order: lb-a -> lb-b$/m);
    assert.match(applied.out, /^lb-a: applied/m);
    assert.match(applied.out, /^lb-b: applied/m);
    assert.doesNotMatch(applied.out + applied.err, new RegExp(HA_PASSWORD), "the VRRP password never shows");

    // the installed configs are ours: MASTER 150 on lb-a, BACKUP 140 on lb-b, the secret apart
    const confA = await da.run("cat /etc/keepalived/keepalived.conf");
    const confB = await db.run("cat /etc/keepalived/keepalived.conf");
    assert.match(confA, /state MASTER\n\s+interface eth1\n\s+virtual_router_id 51\n\s+priority 150\n/);
    assert.match(confB, /state BACKUP\n\s+interface eth1\n\s+virtual_router_id 51\n\s+priority 140\n/);
    assert.match(confA, /lvs_sync_daemon eth1 VI_LAB id 51/);
    assert.doesNotMatch(confA + confB, new RegExp(HA_PASSWORD));
    assert.equal((await da.run("stat -c '%a' /etc/keepalived/vrrp-auth-VI_LAB.conf")).trim(), "600");
    // and nowhere else: the run directories keep no copy once the apply is over
    for (const d of [da, db]) {
      assert.equal((await d.run(`grep -rl -F '${HA_PASSWORD}' /var/lib/ipvsc 2>/dev/null || true`)).trim(), "", `${d.name}: a password copy left in /var/lib/ipvsc`);
    }

    assert.ok(await waitForVipOn(da, 15), "the VIP comes up on lb-a");
    assert.equal(await holdsVip(db), false, "and not on lb-b");
    assert.ok(await waitFor(async () => (await syncDaemons(da)).includes("master") && (await syncDaemons(db)).includes("backup"), 10_000),
      `sync daemons: lb-a ${JSON.stringify(await syncDaemons(da))}, lb-b ${JSON.stringify(await syncDaemons(db))}`);

    const expected = sortedRules([...drRules(80, "wrr", v1.web), ...drRules(ECHO_PORT, "rr", v1.echo)].join("\n"));
    for (const d of [da, db]) {
      assert.ok(await waitFor(async () => sortedRules(await d.run("ipvsadm -S -n")) === expected, 15_000), `${d.name}: ${await d.run("ipvsadm -S -n")}`);
    }
    const r = await w.exec(`/lab/req.sh -n 8 -t 3 ${HA_VIP} 80`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(tally(r.stdout.split("\n").filter((l) => l !== ""))).sort(), ["rs1", "rs2"]);
  });

  it(`fails over within ${FAILOVER_BOUND_SEC} s when the master's keepalived stops; traffic resumes and a synced connection survives`, { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [da, db, w] = pair();
    const echo = await EchoConnection.open(w);
    // the master copies an entry to the backup from its third packet on
    assert.ok(await waitFor(async () => (await connectionsFrom(db, ECHO_PORT, echo.port)).length > 0, 15_000),
      `the echo connection is synced to lb-b: ${await db.run("ipvsadm -L -n -c")}`);
    // the control: a second connection opened while lb-b's sync thread is stopped, so lb-b
    // never learns it (keepalived starts the master thread on lb-b when it takes over)
    await db.run("ipvsadm --stop-daemon backup");
    const control = await EchoConnection.open(w);
    await sleep(1_000);
    assert.deepEqual(await connectionsFrom(db, ECHO_PORT, control.port), [], "the control connection is not on lb-b");
    const traffic = await Traffic.start(w, { addr: HA_VIP, port: 80, timeoutSec: 1 });

    const pid = await keepalivedPidOf(da);
    assert.ok(pid !== undefined, "keepalived runs on lb-a");
    const worldKill = await echo.now();
    await traffic.mark("kill");
    const waiting = waitForVipOn(db, FAILOVER_BOUND_SEC + 5);
    const killedAt = Date.now();
    await da.run(`kill ${pid}`);
    const moved = await waiting;
    const failoverSec = (Date.now() - killedAt) / 1000;
    await traffic.mark("vip-moved");
    assert.ok(moved, `the VIP reached lb-b within ${FAILOVER_BOUND_SEC + 5} s`);
    assert.ok(await waitFor(async () => !(await holdsVip(da)), 5_000, 200), "lb-a released the VIP");

    await sleep(3_000);
    await traffic.mark("end");
    const seen = await traffic.stop();
    const echoLines = await echo.close();
    const { answers, failures: echoFailures } = parseEcho(echoLines);
    const controlLines = await control.close();
    const controlEcho = parseEcho(controlLines);

    const during = seen.between("kill", "vip-moved");
    const afterwards = seen.between("vip-moved", "end");
    const before = answers.filter((x) => x.t < worldKill);
    const later = answers.filter((x) => x.t > worldKill + failoverSec + 0.5);
    let gap = 0;
    for (let i = 1; i < answers.length; i++) gap = Math.max(gap, answers[i]!.t - answers[i - 1]!.t);
    console.log(
      `failover: VIP on lb-b ${failoverSec.toFixed(2)} s after lb-a's keepalived was stopped (bound ${FAILOVER_BOUND_SEC} s); ` +
        `HTTP requests (1 s timeout) failed during the switch: ${seen.failed} of ${seen.ok + seen.failed} ` +
        `(${during.length} requests between the kill and the VIP's arrival, ${afterwards.length} after); ` +
        `long-lived connection: ${answers.length} answers, longest gap ${gap.toFixed(2)} s, failures ${echoFailures.length}; ` +
        `the same connection not synced: ${controlEcho.failures.join("; ") || "no failure"}`,
    );
    for (const f of seen.failures) console.log(`  failed request: ${f}`);

    assert.ok(failoverSec <= FAILOVER_BOUND_SEC, `failover took ${failoverSec.toFixed(2)} s`);
    assert.ok(afterwards.length >= 3, `service resumed after the failover: ${JSON.stringify(afterwards)}`);
    assert.ok(afterwards.slice(-3).every((e) => e.startsWith("rs")), `the last requests succeed: ${JSON.stringify(afterwards)}`);
    assert.ok((await syncDaemons(db)).includes("master"), "lb-b's sync daemon turned master");

    assert.deepEqual(echoFailures, [], `the long-lived connection broke: ${echoLines.slice(-5).join(" | ")}`);
    assert.ok(before.length >= 3, "answers before the failover");
    assert.ok(later.length >= 3, `answers after the failover (through lb-b): ${echoLines.slice(-5).join(" | ")}`);
    assert.equal(new Set(answers.map((x) => x.server)).size, 1, "one real server for the whole connection");
    assert.ok(answers.every((x, i) => x.seq === i + 1 && x.echoed === `seq ${i + 1}`), "every line echoed in order");
    // without its synced entry the same kind of connection does not survive the failover
    assert.equal(controlEcho.failures.length, 1, `the unsynced connection broke at the failover: ${controlLines.slice(-3).join(" | ")}`);
    assert.ok(controlEcho.answers.length >= 3, "the unsynced connection worked before the failover");
    assert.ok(Number(controlEcho.failures[0]!.split(" ")[2]) >= worldKill, `it broke after the kill: ${controlEcho.failures[0]!}`);
  });

  it("ipvsc apply restarts keepalived on the failed director (backup first: the live master lb-b goes last)", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [da, db] = pair();
    const plan = await ws.cli(["plan", specV1]);
    assert.equal(plan.code, 0, plan.out + plan.err);
    assert.match(plan.out, /^Rollout order: lb-a -> lb-b$/m, "the live master (lb-b) last");
    assert.match(plan.out, /director lb-a: [\s\S]*~ keepalived: start/);
    assert.match(plan.out, /director lb-b: no changes/);

    const applied = await ws.cli(["apply", specV1, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    assert.ok((await keepalivedPidOf(da)) !== undefined, "keepalived runs on lb-a again");
    // priority 150 over 140, preemption on: lb-a takes the VIP back
    assert.ok(await waitForVipOn(da, 15), "lb-a took the VIP back");
    assert.ok(await waitFor(async () => !(await holdsVip(db)), 10_000, 200), "lb-b released it");
    assert.ok(await waitFor(async () => (await syncDaemons(da)).includes("master") && (await syncDaemons(db)).includes("backup"), 10_000),
      `sync daemons back: lb-a ${JSON.stringify(await syncDaemons(da))}, lb-b ${JSON.stringify(await syncDaemons(db))}`);
  });

  it("rolls a change out under traffic: backup first, the master last, one at a time, no request lost", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [da, db, w] = pair();
    assert.ok(await holdsVip(da), "lb-a is the master");
    const plan = await ws.cli(["plan", specV2]);
    assert.equal(plan.code, 0, plan.out + plan.err);
    // lb-a comes first in the spec; the live state makes it last
    assert.match(plan.out, /^Rollout order: lb-b -> lb-a$/m);

    const echo = await EchoConnection.open(w);
    const traffic = await Traffic.start(w, { addr: HA_VIP, port: 80, timeoutSec: 3 });
    await traffic.mark("apply-start");
    const applied = await ws.cli(["apply", specV2, "--yes"]);
    await traffic.mark("apply-end");
    await sleep(1_500);
    const seen = await traffic.stop();
    const echoLines = await echo.close();
    const { answers, failures: echoFailures } = parseEcho(echoLines);
    console.log(
      `rollout: ${(applied.ms / 1000).toFixed(1)} s; ${seen.failed} of ${seen.ok + seen.failed} requests failed; ` +
        `served ${JSON.stringify(tally(seen.between("apply-end")))} after it; long-lived connection ${answers.length} answers, ${echoFailures.length} failures`,
    );

    assert.equal(applied.code, 0, applied.out + applied.err);
    assert.match(applied.out, /^Rollout order: lb-b -> lb-a$/m);
    const firstB = firstLine(applied.out, /^\[lb-b\] /);
    const firstA = firstLine(applied.out, /^\[lb-a\] /);
    const doneB = firstLine(applied.out, /^lb-b: applied/);
    const doneA = firstLine(applied.out, /^lb-a: applied/);
    assert.ok(firstB >= 0 && firstA >= 0 && doneB >= 0 && doneA >= 0, applied.out);
    const lastB = applied.out.split("\n").map((l, i) => (l.startsWith("[lb-b] ") ? i : -1)).reduce((m, i) => Math.max(m, i), -1);
    assert.ok(lastB < firstA, "lb-b (the backup) finished before lb-a (the master) started");
    assert.ok(doneB < doneA, "lb-b reported before lb-a");
    assert.match(applied.out, /\[lb-b\] ipvsc: result 0/);
    assert.match(applied.out, /\[lb-a\] ipvsc: result 0/);

    assert.deepEqual(seen.failures, [], `requests failed during the rollout: ${seen.failures.join("; ")}`);
    assert.deepEqual(echoFailures, [], `the long-lived connection broke: ${echoLines.slice(-5).join(" | ")}`);
    assert.ok(seen.between("apply-end").includes("rs3"), "the new real server serves after the rollout");
    assert.ok(await holdsVip(da), "the rollout did not move the VIP");
    const expected = sortedRules([...drRules(80, "wrr", v2.web), ...drRules(ECHO_PORT, "rr", v2.echo)].join("\n"));
    for (const d of [da, db]) {
      assert.ok(await waitFor(async () => sortedRules(await d.run("ipvsadm -S -n")) === expected, 10_000), `${d.name}: ${await d.run("ipvsadm -S -n")}`);
    }
    const drift = await ws.cli(["drift", specV2]);
    assert.equal(drift.code, 0, drift.out + drift.err);
  });
});
