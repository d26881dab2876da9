import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { APPLY_SCRIPT, READ_STATE_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { stageApply, type StageInputs } from "../../src/apply-script/stage-files.js";
import type { DirectorPlan } from "../../src/plan/plan-types.js";

function syntaxCheck(shell: string, script: string): { status: number | null; stderr: string } {
  const r = spawnSync(shell, ["-n"], { input: script, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

const plan: DirectorPlan = {
  director: "lb1", fingerprint: "abc", owner: "ipvsc", operations: [], foreign: [],
  keepalived: { managed: true, configChanged: true, diff: "", action: "reload" },
  batches: { apply: ["-A -t 203.0.113.10:80 -s rr"], drain: [{ selector: "-f 8 -6", realServer: "[2001:db8::1]:0" }], finalize: [], rollback: ["-D -t 203.0.113.10:80"], removedSelectors: [] },
  expectedRules: "-A -t 203.0.113.10:80 -s rr\n", ownershipRecord: "owner ipvsc\n", keepalivedConfSha256: "x", empty: false,
};

const inputs: StageInputs = {
  plan, keepalivedConf: "global_defs {\n}\n", sysctlConf: "net.ipv4.vs.expire_nodest_conn = 1\n",
  secretFiles: [{ path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: "auth_pass Zq8pW2xy\n" }],
  keepalivedConfigDir: "/etc/keepalived", drainTimeoutSeconds: 30,
};

describe("the director scripts", () => {
  for (const shell of ["sh", "bash"]) {
    test(`parse under ${shell} -n`, () => {
      for (const script of [APPLY_SCRIPT, READ_STATE_SCRIPT]) {
        const r = syntaxCheck(shell, script);
        assert.equal(r.status, 0, r.stderr);
      }
    });
  }

  test("staging is deterministic and content-addressed", () => {
    const a = stageApply(inputs), b = stageApply(inputs);
    assert.deepEqual(a, b);
    const c = stageApply({ ...inputs, drainTimeoutSeconds: 31 });
    assert.notEqual(a.dir, c.dir);
    assert.match(a.dir, /^\/var\/lib\/ipvsc\/runs\/ipvsc-[0-9a-f]{16}$/);
    assert.equal(a.command, `sh /var/lib/ipvsc/apply.sh run ${a.dir}`);
  });

  test("secrets are staged as secret files and never appear in commands", () => {
    const s = stageApply(inputs);
    const secret = s.files.filter((f) => f.secret);
    assert.deepEqual(secret.map((f) => f.path), [`${s.dir}/secrets/vrrp-auth-VI_1.conf`]);
    for (const f of s.files.filter((x) => !x.secret)) assert.ok(!f.content.includes("Zq8pW2xy"), f.path);
    assert.ok(!s.command.includes("Zq8pW2xy") && !s.waitCommand.includes("Zq8pW2xy"));
  });

  test("the run directory changes with a password but cannot be recomputed from a guessed one", () => {
    const a = stageApply(inputs);
    const b = stageApply({ ...inputs, secretFiles: [{ path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: "auth_pass Other123\n" }] });
    assert.notEqual(a.dir, b.dir);
    // what an attacker could compute from the staged plain files plus a guessed password
    const guess = createHash("sha256");
    for (const f of a.files.filter((x) => x.path.startsWith(`${a.dir}/`))) {
      guess.update(`${f.path.slice(a.dir.length + 1)}\0${f.content}\0`);
    }
    assert.ok(!a.dir.endsWith(guess.digest("hex").slice(0, 16)));
  });

  test("the drain list keeps IPv6 fwmark selectors whole", () => {
    const s = stageApply(inputs);
    assert.equal(s.files.find((f) => f.path.endsWith("/drain.list"))?.content, "-f 8 -6 [2001:db8::1]:0\n");
  });

  test("without keepalived, no keepalived files are staged", () => {
    const s = stageApply({ ...inputs, plan: { ...plan, keepalived: { ...plan.keepalived, action: "none" } } });
    assert.ok(!s.files.some((f) => f.path.endsWith("keepalived.conf") || f.secret));
  });
});
