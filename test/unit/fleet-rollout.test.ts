/**
 * Rolling out to many directors (issue #17, points 1 and 2): the schedule as a pure unit
 * (the bound on concurrency, an HA group one director at a time in its order, a failure
 * stopping new starts while the running ones finish, a report order that does not depend
 * on who finished first), the groups a spec's directors form (several VRRP pairs in one spec:
 * a group per pair, backup first, master last), rollOut on examples/fleet/fleet.yaml
 * with fake directors, and `ipvsc apply` in-process with fake directors on a plain and on a
 * fake terminal (progress, per-director blocks, the summary with each failure's reason).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli, type CliIo } from "../../src/cli/cli.js";
import { Progress } from "../../src/cli/progress.js";
import { failureReason, planAgainst, rollOut, type RolloutOptions, type StagedApplyRunner } from "../../src/cli/rollout.js";
import { mapBounded, runGroups } from "../../src/cli/schedule.js";
import { compileText, type CompileOutput } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import { formatPlanJson } from "../../src/plan/format-plan.js";
import { rolloutGroups } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/plan-types.js";
import type { ApplyOutcome } from "../../src/ssh/director-client.js";
import type { LiveState } from "../../src/state/live-state.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";
import { exampleSpecs } from "../support/example-specs.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const tick = () => new Promise((r) => setImmediate(r));

/** A runner whose directors end when the test says so; records starts and the most running at once. */
function controlled() {
  const started: string[] = [];
  const pending = new Map<string, (ok: boolean) => void>();
  let active = 0, most = 0;
  const run = (d: string) => new Promise<boolean>((resolve) => {
    started.push(d);
    active++;
    most = Math.max(most, active);
    pending.set(d, (ok) => {
      active--;
      pending.delete(d);
      resolve(ok);
    });
  });
  const finish = async (d: string, ok = true) => {
    const end = pending.get(d);
    assert.ok(end, `${d} is not running (running: ${[...pending.keys()].join(", ")})`);
    end(ok);
    await tick();
    await tick();
  };
  return { run, finish, started, running: () => [...pending.keys()].sort(), most: () => most };
}

describe("runGroups: the rollout schedule", () => {
  test("never more than --parallel directors at once, and every director runs", async () => {
    const c = controlled();
    const groups = Array.from({ length: 10 }, (_, i) => [`d${i}`]);
    const done = runGroups(groups, { parallel: 3, maxFailures: 1 }, c.run, (ok) => !ok);
    await tick();
    assert.deepEqual(c.running(), ["d0", "d1", "d2"]);
    await c.finish("d1");
    assert.deepEqual(c.running(), ["d0", "d2", "d3"], "a free slot goes to the next director");
    for (let i = 0; i < 10; i++) if (c.running().includes(`d${i}`)) await c.finish(`d${i}`);
    while (c.running().length > 0) await c.finish(c.running()[0]!);
    const r = await done;
    assert.equal(c.most(), 3);
    assert.deepEqual(r.ran.map((x) => x.director), groups.flat());
    assert.deepEqual(r.notAttempted, []);
    assert.equal(r.stoppedBy, "none");
  });

  test("an HA group runs one director at a time in its order: the master only after its backup succeeded", async () => {
    const c = controlled();
    const done = runGroups([["a-backup", "a-master"], ["b-backup", "b-master"]], { parallel: 8, maxFailures: 1 }, c.run, (ok) => !ok);
    await tick();
    assert.deepEqual(c.running(), ["a-backup", "b-backup"], "the groups side by side, their masters waiting");
    await c.finish("b-backup");
    assert.deepEqual(c.running(), ["a-backup", "b-master"]);
    await c.finish("a-backup");
    assert.deepEqual(c.running(), ["a-master", "b-master"]);
    await c.finish("a-master");
    await c.finish("b-master");
    const r = await done;
    assert.deepEqual(c.started, ["a-backup", "b-backup", "b-master", "a-master"]);
    assert.deepEqual(r.ran.map((x) => x.director), ["a-backup", "a-master", "b-backup", "b-master"], "report order: the groups' order, not the finishing order");
  });

  test("a failure starts no new director anywhere; the running ones finish and are reported", async () => {
    const c = controlled();
    const done = runGroups([["s1-a", "s1-b"], ["s2-a", "s2-b"], ["s3-a", "s3-b"], ["s4-a"]], { parallel: 3, maxFailures: 1 }, c.run, (ok) => !ok);
    await tick();
    assert.deepEqual(c.running(), ["s1-a", "s2-a", "s3-a"]);
    await c.finish("s2-a", false);
    assert.deepEqual(c.running(), ["s1-a", "s3-a"], "no director started after the failure");
    await c.finish("s1-a");
    assert.deepEqual(c.running(), ["s3-a"], "not even the next director of a healthy group");
    await c.finish("s3-a");
    const r = await done;
    assert.deepEqual(r.ran.map((x) => [x.director, x.result]), [["s1-a", true], ["s2-a", false], ["s3-a", true]]);
    assert.deepEqual(r.notAttempted, ["s1-b", "s2-b", "s3-b", "s4-a"]);
    assert.equal(r.stoppedBy, "max-failures");
  });

  test("with --max-failures 2 a failure stops only its group until the second one", async () => {
    const c = controlled();
    const done = runGroups([["a1", "a2"], ["b1", "b2"], ["c1", "c2"]], { parallel: 2, maxFailures: 2 }, c.run, (ok) => !ok);
    await tick();
    await c.finish("a1", false);
    assert.deepEqual(c.running(), ["b1", "c1"], "a2 (the failed director's master) is skipped, c1 takes the slot");
    await c.finish("b1");
    assert.deepEqual(c.running(), ["b2", "c1"]);
    await c.finish("c1", false);
    assert.deepEqual(c.running(), ["b2"], "the second failure stops new starts");
    await c.finish("b2");
    const r = await done;
    assert.deepEqual(r.notAttempted, ["a2", "c2"]);
    assert.equal(r.stoppedBy, "max-failures");
  });

  test("the report order is the groups' order whatever finishes first", async () => {
    for (const delays of [[30, 20, 10, 0], [0, 10, 20, 30], [20, 0, 30, 10]]) {
      const names = ["w", "x", "y", "z"];
      const r = await runGroups(names.map((n) => [n]), { parallel: 4, maxFailures: 1 },
        (d) => new Promise<string>((res) => setTimeout(() => res(d), delays[names.indexOf(d)])), () => false);
      assert.deepEqual(r.ran.map((x) => x.director), names);
    }
  });

  test("mapBounded: at most `limit` at once, results in the items' order, rejections kept", async () => {
    let active = 0, most = 0;
    const r = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      active++;
      most = Math.max(most, active);
      await new Promise((res) => setTimeout(res, n * 3));
      active--;
      if (n === 4) throw new Error("four");
      return n * 10;
    });
    assert.equal(most, 2);
    assert.deepEqual(r.map((x) => (x.status === "fulfilled" ? x.value : (x.reason as Error).message)), [50, 10, "four", 20, 30]);
  });
});

function example(name: string): CompileOutput {
  const path = exampleSpecs(ROOT).find((e) => e.name === name)!.path;
  const r = compileText(readFileSync(join(ROOT, path), "utf8"), path);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output;
}

/** An empty director as the read-state script prints it, holding `addresses` on eth1. */
function live(director: string, addresses: string[] = []): LiveState {
  return parseLiveState(director, [
    "==ipvsc:fingerprint==", `fp-${director}`,
    "==ipvsc:save==", "", "==ipvsc:thresholds==", "", "==ipvsc:list==", "",
    "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300", "==ipvsc:daemon==", "",
    "==ipvsc:keepalived-running==", "no", "==ipvsc:owners==", "",
    "==ipvsc:addresses==", "lo 127.0.0.1/8", ...addresses.map((a) => `eth1 ${a}`),
    "==ipvsc:end==", "",
  ].join("\n"));
}

const livesOf = (out: CompileOutput, holders: Record<string, string> = {}) =>
  new Map(out.model.directors.map((d) => [d.name, live(d.name, holders[d.name] ? [holders[d.name]!] : [])]));

describe("rolloutGroups: which directors must not change at the same time", () => {
  test("examples/fleet/fleet.yaml: one group per site (its VRRP pair), each in spec order while no director holds a VIP", () => {
    const out = example("fleet");
    const plan = planAgainst(out, livesOf(out), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
    assert.deepEqual(rolloutGroups(out.model, plan.order), [["ams-lb1", "ams-lb2"], ["fra-lb1", "fra-lb2"], ["lon-lb1", "lon-lb2"]]);
  });

  test("examples/fleet/fleet.yaml: three VRRP pairs, each its backup first and the director holding its VIP last", () => {
    const out = example("fleet");
    // ams and lon on their preferred masters, fra failed over to fra-lb2
    const holders = { "ams-lb1": "203.0.113.10/32", "fra-lb2": "203.0.113.20/32", "lon-lb1": "203.0.113.30/32" };
    const plan = planAgainst(out, livesOf(out, holders), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
    assert.deepEqual(plan.order, ["ams-lb2", "fra-lb1", "lon-lb2", "ams-lb1", "fra-lb2", "lon-lb1"]);
    assert.deepEqual(rolloutGroups(out.model, plan.order), [["ams-lb2", "ams-lb1"], ["fra-lb1", "fra-lb2"], ["lon-lb2", "lon-lb1"]]);
  });

  test("each director runs only its site's instance: lb1 MASTER 150, lb2 BACKUP 140, the other of the pair its only peer", () => {
    const out = example("fleet");
    for (const d of out.model.directors) {
      const [site, lb] = d.name.split("-") as [string, string];
      assert.deepEqual(d.vrrpInstances.map((i) => [i.name, i.state, i.priority, i.unicastPeers]),
        [[`VI_${site.toUpperCase()}`, lb === "lb1" ? "MASTER" : "BACKUP", lb === "lb1" ? 150 : 140,
          [out.model.directors.find((x) => x.name === `${site}-${lb === "lb1" ? "lb2" : "lb1"}`)!.address]]], d.name);
      assert.equal(d.syncDaemonInstance, `VI_${site.toUpperCase()}`, d.name);
    }
  });

  test("an instance on directors of two sites joins them into one group", () => {
    const text = readFileSync(join(ROOT, "examples/fleet/fleet.yaml"), "utf8")
      .replace("    - name: VI_LON\n", "    - name: VI_AMS_FRA\n      directors: [fra-lb1, ams-lb1]\n      interface: eth1\n      virtualRouterId: 52\n      vips: [203.0.113.40/32]\n    - name: VI_LON\n");
    const r = compileText(text, "fleet-shared.yaml");
    assert.ok(r.ok, formatIssues(r.issues));
    // fra-lb1 is the preferred master of the shared instance, ams-lb1 its backup
    const shared = (n: string) => r.output.model.directors.find((d) => d.name === n)!.vrrpInstances.find((i) => i.name === "VI_AMS_FRA");
    assert.deepEqual([shared("fra-lb1")?.priority, shared("ams-lb1")?.priority, shared("ams-lb2")], [150, 140, undefined]);
    assert.deepEqual(rolloutGroups(r.output.model, r.output.model.directors.map((d) => d.name)),
      [["ams-lb1", "ams-lb2", "fra-lb1", "fra-lb2"], ["lon-lb1", "lon-lb2"]]);
  });

  test("a VRRP pair is one group, its live master last", () => {
    const out = example("ha-pair");
    const plan = planAgainst(out, livesOf(out, { lb1: "203.0.113.100/32" }), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
    assert.deepEqual(rolloutGroups(out.model, plan.order), [["lb2", "lb1"]]);
  });

  test("directors sharing a virtual service are one group (an ECMP pair; the same address at two sites)", () => {
    assert.deepEqual(rolloutGroups(example("ha-stateless").model, ["edge2", "edge1"]), [["edge2", "edge1"]]);
    // three stateless sites; ams and fra serve one anycast address
    const director = (n: string) => `  - { name: ${n}, interfaces: [eth0] }\n`;
    const service = (site: string, address: string) => [
      `  - name: ${site}-web`, `    directors: [${site}-lb1, ${site}-lb2]`, "    protocol: tcp", `    address: ${address}`, "    port: 443",
      "    scheduler: mh", "    schedulerFlags: [mh-fallback, mh-port]",
      "    pool: { forwarding: { method: dr }, servers: [{ address: 192.0.2.11 }] }", "",
    ].join("\n");
    const text = ["ha: { mode: stateless }", "sysctl: { sloppyTcp: true }", "directors:", ""].join("\n")
      + ["ams", "fra", "lon"].flatMap((s) => [director(`${s}-lb1`), director(`${s}-lb2`)]).join("")
      + "services:\n" + service("ams", "203.0.113.10") + service("fra", "203.0.113.10") + service("lon", "203.0.113.30");
    const r = compileText(text, "fleet-anycast.yaml");
    assert.ok(r.ok, formatIssues(r.issues));
    assert.deepEqual(rolloutGroups(r.output.model, r.output.model.directors.map((d) => d.name)),
      [["ams-lb1", "ams-lb2", "fra-lb1", "fra-lb2"], ["lon-lb1", "lon-lb2"]]);
  });
});

/** Fake directors: each logs like the apply script (in pieces), waits `ms`, and ends with `codes[name]` (default 0). */
function fakeFleet(codes: Record<string, number> = {}, reasons: Record<string, string> = {}, ms: Record<string, number> = {}) {
  let active = 0, most = 0;
  const running = new Set<string>();
  const events: string[] = [];
  const run: StagedApplyRunner = async (target, staged, onLog) => {
    const name = target.name ?? "?";
    const site = name.split("-")[0]!;
    assert.ok(![...running].some((r) => r.startsWith(`${site}-`)), `${name} started while ${[...running].join(", ")} ran: two directors of one site at once`);
    running.add(name);
    events.push(`start ${name}`);
    active++;
    most = Math.max(most, active);
    assert.ok(staged.files.length > 0);
    const code = codes[name] ?? 0;
    onLog("ipvsc: apply");
    await new Promise((r) => setTimeout(r, 2));
    onLog("ing 3 ipvsadm change(s)\n");
    await new Promise((r) => setTimeout(r, ms[name] ?? 10));
    const log = code === 0
      ? "ipvsc: result 0: applied: the director is in its NEW state\n"
      : `${reasons[name] ?? "ipvsc: failed: ipvsadm rejected the batch\nipvsc: restoring the old state"}\nipvsc: result ${code}: nothing was changed (old state)\n`;
    onLog(log);
    active--;
    running.delete(name);
    events.push(`end ${name}`);
    return { code, state: code === 0 ? "new" : code === 12 ? "unknown" : "old", log: `ipvsc: applying 3 ipvsadm change(s)\n${log}` };
  };
  return { run, events, most: () => most };
}

describe("rollOut on examples/fleet/fleet.yaml with fake directors", () => {
  const out = example("fleet");
  const plan = planAgainst(out, livesOf(out), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
  const opts = (parallel: number, maxFailures = 1): RolloutOptions => ({ owner: "ipvsc", prune: false, drainTimeoutSeconds: 1, parallel, maxFailures });

  test("the sites side by side, at most --parallel directors, one director per site at a time, lb1 before lb2", async () => {
    const fake = fakeFleet();
    const r = await rollOut(out, plan, opts(2), { report: () => {}, run: fake.run });
    assert.equal(fake.most(), 2);
    assert.deepEqual(r.results.map((x) => x.director), plan.order);
    assert.ok(r.results.every((x) => x.outcome.code === 0 && x.ms > 0));
    for (const s of ["ams", "fra", "lon"]) assert.ok(fake.events.indexOf(`end ${s}-lb1`) < fake.events.indexOf(`start ${s}-lb2`));
    const all = await rollOut(out, plan, opts(8), { report: () => {}, run: fakeFleet().run });
    assert.deepEqual(all.notAttempted, []);
  });

  test("--parallel 1 is the old rollout: one director after the other in the plan's order", async () => {
    const fake = fakeFleet();
    await rollOut(out, plan, opts(1), { report: () => {}, run: fake.run });
    assert.equal(fake.most(), 1);
    assert.deepEqual(fake.events.filter((e) => e.startsWith("start")).map((e) => e.slice(6)), plan.order);
  });

  test("live masters: the three pairs side by side, in each the backup ends before the master starts", async () => {
    const holders = { "ams-lb1": "203.0.113.10/32", "fra-lb2": "203.0.113.20/32", "lon-lb1": "203.0.113.30/32" };
    const live = planAgainst(out, livesOf(out, holders), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
    const fake = fakeFleet();
    const r = await rollOut(out, live, opts(3), { report: () => {}, run: fake.run });
    assert.equal(fake.most(), 3, "one director of each site at once");
    assert.deepEqual(r.notAttempted, []);
    for (const [backup, master] of [["ams-lb2", "ams-lb1"], ["fra-lb1", "fra-lb2"], ["lon-lb2", "lon-lb1"]] as const) {
      assert.ok(fake.events.indexOf(`end ${backup}`) < fake.events.indexOf(`start ${master}`), `${backup} before ${master}: ${fake.events.join(", ")}`);
    }
    // the three backups start first, side by side
    assert.deepEqual(fake.events.slice(0, 3).sort(), ["start ams-lb2", "start fra-lb1", "start lon-lb2"]);
  });

  test("fra-lb1 is refused: no new director starts, ams-lb1 and lon-lb1 (running) finish, the reason is the refused line", async () => {
    const fake = fakeFleet({ "fra-lb1": 10 }, { "fra-lb1": "ipvsc: refused: director lacks flock" }, { "fra-lb1": 1, "ams-lb1": 40, "lon-lb1": 40 });
    const r = await rollOut(out, plan, opts(3), { report: () => {}, run: fake.run });
    assert.deepEqual(r.results.map((x) => [x.director, x.outcome.code, x.outcome.state]), [["ams-lb1", 0, "new"], ["fra-lb1", 10, "old"], ["lon-lb1", 0, "new"]]);
    assert.deepEqual(r.notAttempted, ["ams-lb2", "fra-lb2", "lon-lb2"]);
    assert.equal(r.stoppedBy, "max-failures");
    assert.equal(failureReason(r.results[1]!.outcome), "refused: director lacks flock");
  });

  test("a director that cannot be reached fails alone (OLD state, its error as the reason); with --max-failures 3 the other sites go on", async () => {
    const fake = fakeFleet();
    const run: StagedApplyRunner = async (t, s, l) => {
      if (t.name === "lon-lb1") throw new Error("director lon-lb1 (198.51.100.31:22): connection refused");
      return fake.run(t, s, l);
    };
    const r = await rollOut(out, plan, opts(3, 3), { report: () => {}, run });
    const lon = r.results.find((x) => x.director === "lon-lb1")!;
    assert.equal(lon.outcome.state, "old");
    assert.equal(failureReason(lon.outcome), "failed: director lon-lb1 (198.51.100.31:22): connection refused");
    assert.deepEqual(r.notAttempted, ["lon-lb2"], "the failed site stops; the other sites finish");
    assert.equal(r.stoppedBy, "group-failure");
  });
});

describe("failureReason", () => {
  const outcome = (log: string, code = 11): ApplyOutcome => ({ code, state: "old", log });
  test("the last refused:/failed: line; for a failed verification what differs; none when applied", () => {
    assert.equal(failureReason(outcome("ipvsc: refused: director lacks flock, setsid\nipvsc: result 10: nothing was changed (old state)\n", 10)), "refused: director lacks flock, setsid");
    assert.equal(failureReason(outcome("ipvsc: applying 2 ipvsadm change(s)\nipvsc: verification failed: the table differs from the plan\nipvsc: failed: verification\nipvsc: restoring the old state\nipvsc: result 11: x\n")),
      "verification failed: the table differs from the plan");
    assert.equal(failureReason(outcome("ipvsc: lost the connection and could not reattach; the apply may still be running\n", 12)), "lost the connection and could not reattach; the apply may still be running");
    assert.equal(failureReason({ code: 0, state: "new", log: "ipvsc: failed: no\n" }), undefined);
  });
});

describe("Progress", () => {
  test("not a terminal: one plain line per phase, nothing else", () => {
    let text = "";
    const p = new Progress({ write: (s) => void (text += s), tty: false, now: () => 0 });
    p.phase("lb1", "reading state");
    p.phase("lb2", "reading state");
    p.phase("lb1", "reading state FAILED", { end: true, ttyOnly: true });
    p.around(() => void (text += "other\n"));
    p.stop();
    assert.equal(text, "[lb1] reading state\n[lb2] reading state\nother\n");
  });

  test("not a terminal: a long phase gets a `still ...` line every heartbeat, an ended one none", () => {
    let text = "";
    let now = 0;
    const p = new Progress({ write: (s) => void (text += s), tty: false, now: () => now, heartbeatMs: 30_000 });
    p.phase("lb1", "applying 66000 change(s)");
    p.phase("lb2", "applying 10 change(s)");
    now = 5000;
    p.phase("lb2", "applied in 5.0 s", { end: true });
    now = 29_999;
    p.heartbeat();
    now = 30_000;
    p.heartbeat();
    now = 45_000;
    p.heartbeat();
    now = 61_000;
    p.heartbeat();
    p.stop();
    assert.equal(text, [
      "[lb1] applying 66000 change(s)", "[lb2] applying 10 change(s)", "[lb2] applied in 5.0 s",
      "[lb1] still applying 66000 change(s) (30.0 s)", "[lb1] still applying 66000 change(s) (61.0 s)", "",
    ].join("\n"));
  });

  test("a terminal: one row per director redrawn in place with its elapsed time; other output goes above the rows", () => {
    let text = "";
    let now = 1000;
    const p = new Progress({ write: (s) => void (text += s), tty: true, now: () => now, tickMs: 0 });
    p.phase("lb1", "reading state");
    now += 1500;
    p.phase("lb-two", "reading state");
    now += 500;
    p.phase("lb1", "applying 66000 change(s)");
    assert.deepEqual(p.status(), ["lb1     applying 66000 change(s)  2.0 s", "lb-two  reading state  0.5 s"]);
    now += 10_300;
    p.phase("lb1", "applied in 12.3 s", { end: true });
    now += 5000;
    assert.deepEqual(p.status(), ["lb1     applied in 12.3 s  12.3 s", "lb-two  reading state  15.8 s"], "an ended director's clock stops");
    text = "";
    p.around(() => void (text += "[lb1] ipvsc: drained\n"));
    // up over the two rows and clear them, the other output, then the rows again
    assert.equal(text, "\x1b[2F\x1b[J[lb1] ipvsc: drained\nlb1     applied in 12.3 s  12.3 s\nlb-two  reading state  15.8 s\n");
    p.stop();
    const q = new Progress({ write: () => {}, tty: true, now: () => now, tickMs: 0 });
    q.expect(["b", "a", "c"]);
    q.phase("a", "reading state");
    q.phase("c", "not attempted", { end: true });
    assert.deepEqual(q.status(), ["b  waiting", "a  reading state  0.0 s", "c  not attempted"], "rows in the expected order; no time for a director that never started");
  });

  test("a terminal with more directors than rows: a count line, then the failed and the running ones, as many as fit", () => {
    let now = 0;
    const p = new Progress({ write: () => {}, tty: true, now: () => now, tickMs: 0, maxRows: 5 });
    const names = Array.from({ length: 100 }, (_, i) => `lb${String(i).padStart(3, "0")}`);
    p.expect(names);
    for (const n of names.slice(0, 10)) p.phase(n, "applying 10 change(s)");
    now = 2000;
    for (const n of names.slice(0, 6)) p.phase(n, "applied in 2.0 s", { end: true });
    p.phase("lb007", "FAILED in 2.0 s (OLD state): refused: director lacks flock", { end: true });
    assert.deepEqual(p.status(), [
      "100 directors: 6 done, 3 running, 90 waiting, 1 FAILED",
      "lb007  FAILED in 2.0 s (OLD state): refused: director lacks flock  2.0 s",
      "lb006  applying 10 change(s)  2.0 s",
      "lb008  applying 10 change(s)  2.0 s",
      "lb009  applying 10 change(s)  2.0 s",
    ]);
    p.phase("lb010", "applying 10 change(s)");
    const shown = p.status();
    assert.equal(shown.length, 5);
    assert.equal(shown[4], "... and 2 more running");
    for (const n of names.slice(90)) p.phase(n, "not attempted", { end: true });
    assert.match(p.status()[0]!, /^100 directors: 6 done, 4 running, 79 waiting, 1 FAILED, 10 not attempted$/);
  });
});

describe("ipvsc apply on a fleet, in-process with fake directors", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipvsc-fleet-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const out = example("fleet");
  const plan: Plan = planAgainst(out, livesOf(out), { owner: "ipvsc", prune: false, drainTimeoutSeconds: 1 });
  const planFile = join(dir, "plan.json");
  writeFileSync(planFile, formatPlanJson(plan));

  async function apply(args: string[], isTTY: boolean, run: StagedApplyRunner) {
    let stdout = "", stderr = "";
    const io: CliIo = { out: (s) => void (stdout += s), err: (s) => void (stderr += s), env: {}, cwd: ROOT, isTTY, runApply: run };
    const code = await runCli(["apply", "examples/fleet/fleet.yaml", "--plan", planFile, "--yes", ...args], io);
    return { code, stdout, stderr };
  }

  test("not a terminal: each director's log as one block, the summary in rollout order, one progress line per phase on stderr", async () => {
    const r = await apply(["--parallel", "3"], false, fakeFleet({}, {}, { "ams-lb1": 30, "fra-lb1": 20, "lon-lb1": 1 }).run);
    assert.equal(r.code, 0, r.stderr);
    const logLines = r.stdout.split("\n").filter((l) => l.startsWith("["));
    const owners = logLines.map((l) => /^\[([\w-]+)\]/.exec(l)![1]!);
    // grouped: once a director's lines start, they run to its end
    const blocks = owners.filter((o, i) => i === 0 || owners[i - 1] !== o);
    assert.deepEqual([...blocks].sort(), [...plan.order].sort(), `one block per director:\n${logLines.join("\n")}`);
    assert.ok(logLines.includes("[lon-lb1] ipvsc: applying 3 ipvsadm change(s)"), "lines split mid-way by the director are joined again");
    const summary = r.stdout.slice(r.stdout.lastIndexOf("\n\n") + 2).split("\n").filter((l) => l !== "");
    assert.deepEqual(summary.map((l) => l.replace(/ \(\d+\.\d s\)$/, "")), [
      ...plan.order.map((d) => `${d}: applied; the director is in its NEW state`),
      "summary: 6 applied, 0 FAILED, 0 not attempted, of 6 director(s)",
    ]);
    const progress = r.stderr.split("\n").filter((l) => l !== "");
    assert.doesNotMatch(r.stderr, /\x1b\[/, "no terminal control sequences in a CI log");
    for (const d of plan.order) {
      const mine = progress.filter((l) => l.startsWith(`[${d}] `)).map((l) => l.slice(d.length + 3));
      assert.deepEqual(mine.map((l) => l.replace(/\d+\.\d s/, "T")), ["starting the apply", "applying 3 change(s)", "applied in T"], d);
    }
  });

  test("a failure: the summary names the reason from the director's log, the not attempted ones and why; exit 1", async () => {
    const r = await apply(["--parallel", "3"], false, fakeFleet({ "fra-lb1": 10 }, { "fra-lb1": "ipvsc: refused: director lacks flock" }, { "ams-lb1": 30, "lon-lb1": 30, "fra-lb1": 1 }).run);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^fra-lb1: FAILED; the director is in its OLD state: refused: director lacks flock \(\d+\.\d s\)$/m);
    assert.match(r.stdout, /^ams-lb1: applied; the director is in its NEW state/m);
    assert.match(r.stdout, /^fra-lb2: not attempted; the director is in its OLD state \(its HA group stopped at fra-lb1's failure\)$/m);
    assert.match(r.stdout, /^lon-lb2: not attempted; the director is in its OLD state \(no director starts after 1 failure\(s\), --max-failures 1\)$/m);
    assert.match(r.stdout, /^summary: 2 applied, 1 FAILED, 3 not attempted, of 6 director\(s\)$/m);
    const summary = r.stdout.slice(r.stdout.lastIndexOf("\n\n") + 2).split("\n").filter((l) => l !== "").map((l) => l.split(":")[0]);
    assert.deepEqual(summary, [...plan.order, "summary"], "every director in rollout order, not attempted ones included");
    assert.match(r.stderr, /^\[fra-lb1\] FAILED in \d+\.\d s \(OLD state\): refused: director lacks flock$/m);
    assert.match(r.stderr, /^\[lon-lb2\] not attempted$/m);
  });

  test("a terminal: the status rows redrawn on stderr, no plain progress lines; stdout as without a terminal", async () => {
    const r = await apply(["--parallel", "2"], true, fakeFleet().run);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\x1b\[\d+F\x1b\[J/, "rows redrawn in place");
    assert.doesNotMatch(r.stderr, /^\[[\w-]+\] /m);
    // the last drawing: every director's row, finished
    const last = r.stderr.slice(r.stderr.lastIndexOf("\x1b[J") + 3).split("\n").filter((l) => l !== "");
    assert.deepEqual(last.map((l) => l.replace(/\d+\.\d s/g, "T")), plan.order.map((d) => `${d}  applied in T  T`));
    assert.match(r.stdout, /^summary: 6 applied, 0 FAILED, 0 not attempted, of 6 director\(s\)$/m);
  });

  test("usage: --parallel and --max-failures take whole numbers of at least 1", async () => {
    for (const bad of [["--parallel", "0"], ["--parallel", "two"], ["--max-failures", "0"], ["--max-failures", "1.5"]]) {
      const r = await apply(bad, false, fakeFleet().run);
      assert.equal(r.code, 2, bad.join(" "));
      assert.match(r.stderr, /a whole number of at least 1 is expected/);
    }
  });
});
