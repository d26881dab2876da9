/**
 * The apply's check of its starting point under the lock, when the plan touches few services
 * (issue #17, points 3 and 4): the touched services listed one by one must read exactly as the
 * plan saw them (before.rules, rendered from the plan's read), and keepalived.conf and the
 * ownership records must be unchanged (context.fingerprint); otherwise the whole table's
 * fingerprint decides, as before. Two halves:
 * - planDirector puts in before.rules exactly the live blocks of the services its batches
 *   touch, and nothing without a context fingerprint (an older director's read);
 * - the script's as_planned, under sh and busybox with an ipvsadm stand-in: which reads it
 *   makes and when it says yes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { applyScriptHarness, ipvsadmCalls, writeLiveTable, type HarnessShell } from "../support/apply-script-harness.js";
import { stageApply } from "../../src/apply-script/stage-files.js";
import { compile } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";

const svc = (name: string, address: string, servers: { address: string; weight: number }[]) => ({
  name, protocol: "tcp", address, port: 80, scheduler: "wrr",
  pool: { forwarding: { method: "nat" }, servers: servers.map((s) => ({ ...s, port: 8080 })) },
});

const LIVE_SAVE = [
  "-A -t 203.0.113.10:80 -s wrr",
  "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
  "-A -t 203.0.113.11:80 -s wrr",
  "-a -t 203.0.113.11:80 -r 192.0.2.21:8080 -m -w 1",
  "-A -t 203.0.113.12:80 -s wrr",
  "-a -t 203.0.113.12:80 -r 192.0.2.31:8080 -m -w 1",
].join("\n");
const OWNED = "owner ipvsc\nservice web tcp/203.0.113.10:80 applier\nservice api tcp/203.0.113.11:80 applier\nservice old tcp/203.0.113.12:80 applier\n--";

function dump(context: string | undefined): string {
  return [
    "==ipvsc:fingerprint==", "f1ngerprint",
    ...(context === undefined ? [] : ["==ipvsc:context-fingerprint==", context]),
    "==ipvsc:save==", LIVE_SAVE, "==ipvsc:thresholds==", "",
    "==ipvsc:keepalived-running==", "no", "==ipvsc:owners==", OWNED, "==ipvsc:addresses==", "", "==ipvsc:end==", "",
  ].join("\n");
}

describe("planDirector: the touched services as the plan saw them", () => {
  // web changes a weight, api stays, old is deleted
  const r = compile({
    directors: [{ name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11", ssh: { host: "127.0.0.1", hostKey: HOST_KEY } }],
    services: [svc("web", "203.0.113.10", [{ address: "192.0.2.11", weight: 5 }]), svc("api", "203.0.113.11", [{ address: "192.0.2.21", weight: 1 }])],
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  const desired = { model: r.output.model.directors[0]!, keepalivedConf: r.output.directors[0]!.keepalivedConf };

  test("before.rules holds the live blocks of the edited and the deleted service, not the untouched one", () => {
    const p = planDirector(desired, parseLiveState("lb1", dump("c0ntext")), { owner: "ipvsc" });
    assert.equal(p.contextFingerprint, "c0ntext");
    assert.deepEqual(p.beforeSelectors, ["-t 203.0.113.10:80", "-t 203.0.113.12:80"]);
    assert.equal(p.beforeRules, [
      "-A -t 203.0.113.10:80 -s wrr",
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1",
      "-A -t 203.0.113.12:80 -s wrr",
      "-a -t 203.0.113.12:80 -r 192.0.2.31:8080 -m -w 1",
      "",
    ].join("\n"));
    const staged = stageApply({ plan: p, keepalivedConf: "", secretFiles: [], sysctlConf: "", keepalivedConfigDir: "/etc/keepalived", drainTimeoutSeconds: 1 });
    const file = (name: string) => staged.files.find((f) => f.path.endsWith(`/${name}`))!.content;
    assert.equal(file("before.rules"), p.beforeRules);
    assert.equal(file("context.fingerprint"), "c0ntext\n");
    assert.equal(file("before.selectors"), "-t 203.0.113.10:80\n-t 203.0.113.12:80\n");
  });

  test("a service the plan adopts (live, not yet in the record) is checked as it was read too", () => {
    const unowned = dump("c0ntext").replace("service api tcp/203.0.113.11:80 applier\n", "");
    const p = planDirector(desired, parseLiveState("lb1", unowned), { owner: "ipvsc" });
    assert.deepEqual(p.adopting, ["api"]);
    assert.deepEqual(p.beforeSelectors, ["-t 203.0.113.10:80", "-t 203.0.113.11:80", "-t 203.0.113.12:80"]);
    assert.match(p.beforeRules!, /^-a -t 203\.0\.113\.11:80 -r 192\.0\.2\.21:8080 -m -w 1$/m);
  });

  test("a read without a context fingerprint stages none: the whole table decides", () => {
    const p = planDirector(desired, parseLiveState("lb1", dump(undefined)), { owner: "ipvsc" });
    assert.equal(p.contextFingerprint, undefined);
    assert.equal(p.beforeRules, undefined);
    const staged = stageApply({ plan: p, keepalivedConf: "", secretFiles: [], sysctlConf: "", keepalivedConfigDir: "/etc/keepalived", drainTimeoutSeconds: 1 });
    assert.equal(staged.files.find((f) => f.path.endsWith("/context.fingerprint"))!.content, "");
  });
});

// the script's functions, then as_planned with the state and keepalived directories of the case
const { work, harness, shells: SHELLS } = applyScriptHarness("as-planned", 'D=$1\nSTATE=$1/state\nKCONF_DIR=$1/keepalived\nas_planned\necho "as_planned=$?"\n',
  ["awk", "sh", "cat", "sed", "sort", "grep", "cmp", "cut", "sha256sum", "rm", "printf"]);

const HEAD = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
const service = (i: number, weight = 1) => ({
  selector: `-t 10.0.0.${i}:80`,
  listing: `${HEAD}TCP  10.0.0.${i}:80 wrr\n  -> 192.168.1.${i}:8080            Masq    n/a           ${weight}      3          0         \n`,
  save: `-A -t 10.0.0.${i}:80 -s wrr\n-a -t 10.0.0.${i}:80 -r 192.168.1.${i}:8080 -m -w ${weight}\n`,
});
type Service = ReturnType<typeof service>;

const KCONF = "global_defs {\n}\n";
const OWNER_RECORD = "owner ipvsc\nservice web tcp/10.0.0.1:80 applier\n";

let seq = 0;
interface Case {
  live: Service[];
  /** before.rules: the touched services as the plan saw them */
  before: string;
  batch: string;
  removed?: string[];
  /** before.selectors: the services the host adds to the batches' (adopted ones) */
  adopted?: string[];
  /** context.fingerprint staged; default: the one of KCONF and OWNER_RECORD in this case's directory */
  context?: string;
  /** keepalived.conf on the director now (default KCONF) */
  kconf?: string;
}
function run(shell: HarnessShell, c: Case): { ok: boolean; calls: string[] } {
  const dir = join(work, `case-${++seq}`);
  mkdirSync(join(dir, "state/owners"), { recursive: true });
  mkdirSync(join(dir, "keepalived"));
  writeFileSync(join(dir, "keepalived/keepalived.conf"), c.kconf ?? KCONF);
  writeFileSync(join(dir, "state/owners/ipvsc.owned"), OWNER_RECORD);
  // what the read-state script hashes, computed here: keepalived.conf, then each record's path and text
  const context = createHash("sha256").update(`==keepalived\n${KCONF}==owners\n${dir}/state/owners/ipvsc.owned\n${OWNER_RECORD}`).digest("hex");
  writeFileSync(join(dir, "context.fingerprint"), c.context ?? `${context}\n`);
  writeLiveTable(dir, c.live);
  writeFileSync(join(dir, "before.rules"), c.before);
  writeFileSync(join(dir, "apply.batch"), c.batch);
  writeFileSync(join(dir, "finalize.batch"), "");
  if (c.removed) writeFileSync(join(dir, "removed.selectors"), c.removed.map((s) => `${s}\n`).join(""));
  if (c.adopted) writeFileSync(join(dir, "before.selectors"), c.adopted.map((s) => `${s}\n`).join(""));
  const r = spawnSync(shell.sh, [harness, dir], { encoding: "utf8", env: { PATH: shell.path, D: dir } });
  assert.equal(r.status, 0, r.stderr);
  const m = /as_planned=(\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  return { ok: m[1] === "0", calls: ipvsadmCalls(dir) };
}

for (const shell of SHELLS) {
  describe(`apply: the starting point of a plan that touches few services (${shell.name})`, () => {
    const [a, b, c] = [service(1), service(2), service(3)];

    test("the touched services as planned: yes, from their listings alone (another service may differ)", () => {
      const r = run(shell, { live: [a, service(2, 9), c], before: c.save + a.save, batch: "-e -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 4\n-D -t 10.0.0.3:80\n", removed: ["-t 10.0.0.3:80"] });
      assert.ok(r.ok);
      assert.deepEqual(r.calls, ["-L -n --tun-info -t 10.0.0.1:80", "-L -n --tun-info -t 10.0.0.3:80"]);
    });

    test("a touched service changed since the plan: no (the whole table then decides)", () => {
      const r = run(shell, { live: [service(1, 7), b], before: a.save, batch: "-e -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 4\n" });
      assert.equal(r.ok, false);
    });

    test("a service the plan adds that appeared since: no; still absent: yes", () => {
      const batch = "-A -t 10.0.0.2:80 -s wrr\n-a -t 10.0.0.2:80 -r 192.168.1.2:8080 -m -w 1\n";
      assert.equal(run(shell, { live: [a, b], before: "", batch }).ok, false);
      assert.ok(run(shell, { live: [a], before: "", batch }).ok);
    });

    test("a service the plan adopts is listed too: as read, yes; changed since, no", () => {
      const ok = run(shell, { live: [a, b], before: b.save, batch: "", adopted: [b.selector] });
      assert.ok(ok.ok);
      assert.deepEqual(ok.calls, ["-L -n --tun-info -t 10.0.0.2:80"]);
      assert.equal(run(shell, { live: [a, service(2, 3)], before: b.save, batch: "", adopted: [b.selector] }).ok, false);
    });

    test("keepalived.conf changed since the plan: no, before any listing", () => {
      const r = run(shell, { live: [a], before: a.save, batch: "-E -t 10.0.0.1:80 -s rr\n", kconf: "global_defs {\n  router_id x\n}\n" });
      assert.equal(r.ok, false);
      assert.deepEqual(r.calls, []);
    });

    test("a plan without a context fingerprint (saved by an older ipvsc): no, nothing read", () => {
      const r = run(shell, { live: [a], before: a.save, batch: "-E -t 10.0.0.1:80 -s rr\n", context: "" });
      assert.equal(r.ok, false);
      assert.deepEqual(r.calls, []);
    });

    test("nothing touched (a keepalived-only change): yes, without any ipvsadm call", () => {
      const r = run(shell, { live: [a], before: "", batch: "" });
      assert.ok(r.ok);
      assert.deepEqual(r.calls, []);
    });

    test("more services than LISTED_MAX: no, without a listing each", () => {
      const max = Number(/^LISTED_MAX=(\d+)$/m.exec(APPLY_SCRIPT)![1]);
      const many = Array.from({ length: max + 1 }, (_, i) => service(i + 1));
      const all = many.map((s) => s.save).join("");
      const r = run(shell, { live: many, before: all, batch: all.replace(/^-A/gm, "-E") });
      assert.equal(r.ok, false);
      assert.deepEqual(r.calls, []);
      const fewer = many.slice(0, max).map((s) => s.save).join("");
      const ok = run(shell, { live: many, before: fewer, batch: fewer.replace(/^-A/gm, "-E") });
      assert.ok(ok.ok);
      assert.equal(ok.calls.length, max);
    });
  });
}
