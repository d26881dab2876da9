/**
 * The director scripts say what a director lacks (issue #14, point 5): apply.sh run checks
 * its tools before the lock and before any change, and exits 10 (refused, the old state)
 * with "director lacks X, Y"; read-state.sh does the same for what it needs.
 * Each case runs the real script text under the host's sh, bash and busybox sh, with a PATH
 * of stand-ins where the tools to hide are simply absent (`command -v` only looks them up).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { APPLY_SCRIPT, APPLY_TOOLS, READ_STATE_SCRIPT, READ_STATE_TOOLS } from "../../src/apply-script/scripts.sh.js";
import { stageApply } from "../../src/apply-script/stage-files.js";
import { compile } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import type { DirectorPlan } from "../../src/plan/plan-types.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

const work = mkdtempSync(join(tmpdir(), "ipvsc-tools-"));
after(() => rmSync(work, { recursive: true, force: true }));

const STATE = join(work, "state");
const script = (text: string) => text.replace("STATE=/var/lib/ipvsc", `STATE=${STATE}`);
writeFileSync(join(work, "apply.sh"), script(APPLY_SCRIPT));
writeFileSync(join(work, "read-state.sh"), script(READ_STATE_SCRIPT));

const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
/** Debian's busybox sh runs its own applets whatever PATH says: for it, an applet is never lacking. */
const APPLETS = busybox ? spawnSync(busybox, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter((a) => a !== "") : [];
interface Shell {
  name: string;
  path: string;
  args?: string[];
  applets: string[];
}
const SHELLS: Shell[] = [
  { name: "sh", path: "/bin/sh", applets: [] },
  { name: "bash", path: "/bin/bash", applets: [] },
  ...(busybox ? [{ name: "busybox sh", path: busybox, args: ["sh"], applets: APPLETS }] : []),
].filter((s) => existsSync(s.path));

/** What `shell` finds missing when `hidden` are not on PATH, in the order the script checks. */
function lacking(shell: Shell, hidden: string[]): string {
  return hidden.filter((t) => !shell.applets.includes(t)).join(", ");
}

/** Every tool the scripts check, plus what their first lines use. */
const ALL_TOOLS = [...new Set([...APPLY_TOOLS, ...READ_STATE_TOOLS, "keepalived", "cat", "rm", "mv", "sleep"])];

let seq = 0;
/** A PATH directory of stand-ins for every tool but `without`. */
function binWithout(...without: string[]): string {
  const bin = join(work, `bin-${++seq}`);
  mkdirSync(bin);
  for (const tool of ALL_TOOLS) {
    if (!without.includes(tool)) writeFileSync(join(bin, tool), "#!/bin/sh\necho \"stand-in $0 must not run\" >&2\nexit 99\n", { mode: 0o755 });
  }
  return bin;
}

function run(shell: Shell, file: string, args: string[], bin: string) {
  const r = spawnSync(shell.path, [...(shell.args ?? []), join(work, file), ...args], { encoding: "utf8", env: { PATH: bin }, timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const plan: DirectorPlan = {
  director: "lb1", fingerprint: "abc", owner: "ipvsc", operations: [], foreign: [],
  keepalived: { managed: false, configChanged: false, diff: "", action: "none" },
  batches: { apply: ["-A -t 203.0.113.10:80 -s rr"], drain: [], finalize: [], rollback: ["-D -t 203.0.113.10:80"], removedSelectors: [] },
  expectedRules: "-A -t 203.0.113.10:80 -s rr\n", ownershipRecord: "owner ipvsc\n", keepalivedConfSha256: "x", empty: false,
};

/** Writes the staged files of an apply of `p` into a fresh run directory; returns it. */
function stagedRun(p: DirectorPlan): string {
  const staged = stageApply({ plan: p, keepalivedConf: "", secretFiles: [], sysctlConf: "", keepalivedConfigDir: "/etc/keepalived", drainTimeoutSeconds: 5 });
  const dir = join(work, `run-${++seq}`);
  for (const f of staged.files) {
    if (!f.path.startsWith(`${staged.dir}/`)) continue;
    const path = join(dir, f.path.slice(staged.dir.length + 1));
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, f.content);
  }
  return dir;
}

describe("apply.sh says what the director lacks, before the lock and before any change", () => {
  for (const shell of SHELLS) {
    test(`run without flock and setsid: exit 10, "director lacks flock, setsid", no worker started (${shell.name})`, () => {
      const dir = stagedRun(plan);
      const r = run(shell, "apply.sh", ["run", dir], binWithout("flock", "setsid"));
      assert.equal(r.status, 10, r.stdout + r.stderr);
      assert.equal(r.stdout, `ipvsc: refused: director lacks ${lacking(shell, ["flock", "setsid"])}\nipvsc: result 10: nothing was changed (old state)\n`);
      assert.equal(r.stderr, "", "no stand-in ran");
      assert.deepEqual(readdirSync(dir).filter((f) => f === "log" || f === "result"), [], "no worker log, no result to replay");
      assert.ok(!existsSync(join(STATE, "lock")), "the lock was not even opened");
    });

    test(`run lists every missing tool in one message, in the order checked (${shell.name})`, () => {
      const hidden = ["ipvsadm", "flock", "sort", "sysctl"];
      const r = run(shell, "apply.sh", ["run", stagedRun(plan)], binWithout(...hidden));
      assert.equal(r.status, 10);
      assert.ok(r.stdout.startsWith(`ipvsc: refused: director lacks ${lacking(shell, hidden)}\n`), r.stdout);
    });

    test(`keepalived is required only where the spec manages it (${shell.name})`, () => {
      const bin = binWithout("flock", "keepalived");
      const unmanaged = run(shell, "apply.sh", ["run", stagedRun(plan)], bin);
      assert.match(unmanaged.stdout, /director lacks flock$/m);
      for (const keepalived of [
        { managed: true, configChanged: false, diff: "", action: "none" as const },
        { managed: true, configChanged: true, diff: "", action: "reload" as const },
        { managed: false, configChanged: false, diff: "", action: "start" as const },
      ]) {
        const r = run(shell, "apply.sh", ["run", stagedRun({ ...plan, keepalived })], bin);
        assert.equal(r.status, 10);
        assert.match(r.stdout, /director lacks flock, keepalived$/m, JSON.stringify(keepalived));
      }
    });

    test(`a health-checked spec, planned by planDirector: run without flock needs keepalived too, even with nothing to start or reload (${shell.name})`, () => {
      const out = compile({
        directors: [{ name: "lb1", interfaces: ["eth0"] }],
        services: [{ name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, pool: { servers: [{ address: "192.0.2.11" }], healthChecks: [{ type: "tcp" }] } }],
      });
      assert.ok(out.ok);
      const keepalivedConf = out.output.directors[0]!.keepalivedConf;
      const desired = { model: out.output.model.directors[0]!, keepalivedConf, ipvsadmRules: out.output.directors[0]!.ipvsadmRules };
      // a fresh director (keepalived to start), and one already running this very config (MANAGED=yes alone)
      for (const running of [false, true]) {
        const live = parseLiveState("lb1", [
          "==ipvsc:fingerprint==", "f1ngerprint", "==ipvsc:save==", "", "==ipvsc:thresholds==", "", "==ipvsc:timeouts==", "",
          "==ipvsc:daemon==", "", "==ipvsc:keepalived-running==", running ? "yes" : "no",
          ...(running ? ["==ipvsc:keepalived-conf==", keepalivedConf.trimEnd(), "==ipvsc:keepalived-conf-present==", "yes"] : []),
          "==ipvsc:owners==", "", "==ipvsc:addresses==", "", "==ipvsc:end==", "",
        ].join("\n"));
        const p = planDirector(desired, live, { owner: "edge" });
        assert.equal(p.keepalived.managed, true);
        assert.equal(p.keepalived.action, running ? "none" : "start");
        const dir = stagedRun(p);
        const r = run(shell, "apply.sh", ["run", dir], binWithout("flock", "keepalived"));
        assert.equal(r.status, 10, r.stdout + r.stderr);
        assert.equal(r.stdout, "ipvsc: refused: director lacks flock, keepalived\nipvsc: result 10: nothing was changed (old state)\n");
        assert.deepEqual(readdirSync(dir).filter((f) => f === "log" || f === "result"), [], "no worker log, no result to replay");
        assert.ok(!existsSync(join(STATE, "lock")), "the lock was not even opened");
      }
    });

    test(`the check passes when every tool is there (${shell.name})`, () => {
      // the functions without the main part, then the check alone
      const functions = APPLY_SCRIPT.slice(0, APPLY_SCRIPT.indexOf("\nUSAGE="));
      const harness = join(work, `harness-${++seq}.sh`);
      writeFileSync(harness, `${functions}\nD=$1\nrequire_tools "$D/params"\necho passed\n`);
      const dir = stagedRun({ ...plan, keepalived: { managed: true, configChanged: false, diff: "", action: "none" } });
      const r = spawnSync(shell.path, [...(shell.args ?? []), harness, dir], { encoding: "utf8", env: { PATH: binWithout() } });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, "passed\n");
    });
  }
});

describe("read-state.sh says what the director lacks", () => {
  for (const shell of SHELLS) {
    test(`without ipvsadm (and awk, sort where they are no applets): exit 10, "director lacks ..." on stderr, nothing read (${shell.name})`, () => {
      const hidden = ["ipvsadm", "awk", "sort"];
      const r = run(shell, "read-state.sh", ["/etc/keepalived"], binWithout(...hidden));
      assert.equal(r.status, 10, r.stdout + r.stderr);
      assert.equal(r.stderr, `director lacks ${lacking(shell, hidden)}\n`);
      assert.equal(r.stdout, "");
    });
  }
});

describe("the staged params say whether keepalived is managed", () => {
  test("MANAGED follows the plan", () => {
    const params = (p: DirectorPlan) => stageApply({ plan: p, keepalivedConf: "", secretFiles: [], sysctlConf: "", keepalivedConfigDir: "/etc/keepalived", drainTimeoutSeconds: 5 })
      .files.find((f) => f.path.endsWith("/params"))!.content;
    assert.match(params(plan), /^MANAGED=no$/m);
    assert.match(params({ ...plan, keepalived: { ...plan.keepalived, managed: true } }), /^MANAGED=yes$/m);
  });
});
