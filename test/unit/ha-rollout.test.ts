/**
 * HA-safe rollout: the order (directors without the VIPs first in spec order, the current
 * master last, the master read from the live addresses), the plan showing it, and the
 * rollout applying one director at a time and stopping at the first failure (a fake
 * director stands in for SSH). Also the apply script's keepalived check on a fresh
 * director, whose VRRP secrets are only staged (a bug the HA lab test found).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { applyPlan, planAgainst, type RolloutOptions, type StagedApplyRunner } from "../../src/cli/rollout.js";
import { compile, type CompileOutput } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import { formatPlanText } from "../../src/plan/format-plan.js";
import { holdsVips, rolloutOrder } from "../../src/plan/plan.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import type { LiveState } from "../../src/state/live-state.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";
import { checkKeepalivedConf, interfacesOf, keepalivedSkip } from "../support/keepalived-check.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const skip = await keepalivedSkip();

/** lb1..lbN on 192.0.2.(n+1), ssh port 2200+n; VIPs 192.0.2.100 and (excluded) 2001:db8::100. */
function spec(count: number, password?: string): SpecInput {
  const directors = Array.from({ length: count }, (_, i) => ({
    name: `lb${i + 1}`,
    interfaces: ["eth0", "eth1"],
    address: `192.0.2.${i + 2}`,
    ssh: { host: "127.0.0.1", port: 2201 + i, hostKey: HOST_KEY },
  }));
  return {
    directors,
    services: [{
      name: "web", protocol: "tcp", address: "192.0.2.100", port: 80, scheduler: "wrr",
      pool: { forwarding: { method: "dr" }, servers: [{ address: "203.0.113.10" }, { address: "203.0.113.11", weight: 2 }] },
    }],
    vrrp: {
      instances: [{
        name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["192.0.2.100/32"], excludedVips: ["2001:db8::100/128"], unicast: true,
        ...(password ? { authType: "PASS" as const, authPassword: password } : {}),
      }],
    },
    syncDaemon: { interface: "eth1", instance: "VI_1" },
  };
}

function compiled(value: SpecInput): CompileOutput {
  const r = compile(value);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output;
}

/** A live-state dump as the read-state script prints it: an empty table, these addresses. */
function live(director: string, addresses: string[]): LiveState {
  const text = [
    "==ipvsc:fingerprint==", `fp-${director}`,
    "==ipvsc:save==", "", "==ipvsc:thresholds==", "", "==ipvsc:list==", "",
    "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300", "==ipvsc:daemon==", "",
    "==ipvsc:keepalived-running==", "no", "==ipvsc:owners==", "",
    "==ipvsc:addresses==", "lo 127.0.0.1/8", `eth1 192.0.2.${Number(director.slice(2)) + 1}/24`, ...addresses.map((a) => `eth1 ${a}`),
    "==ipvsc:end==", "",
  ].join("\n");
  return parseLiveState(director, text);
}

/** Live states of lb1..lbN; `holder` (if any) has `vip` on eth1. */
function lives(count: number, holder?: string, vip = "192.0.2.100/32"): Map<string, LiveState> {
  return new Map(Array.from({ length: count }, (_, i) => {
    const name = `lb${i + 1}`;
    return [name, live(name, name === holder ? [vip] : [])];
  }));
}

const OPTS: RolloutOptions = { owner: "ipvsc", prune: false, drainTimeoutSeconds: 5 };

describe("rolloutOrder: backups first, the live master last", () => {
  test("nobody holds the VIP (a fresh pair): spec order", () => {
    assert.deepEqual(rolloutOrder(compiled(spec(2)).model, lives(2)), ["lb1", "lb2"]);
  });

  test("the preferred master holds it: it goes last", () => {
    assert.deepEqual(rolloutOrder(compiled(spec(2)).model, lives(2, "lb1")), ["lb2", "lb1"]);
  });

  test("after a failover the backup holds it: the order follows the live state, not the spec", () => {
    assert.deepEqual(rolloutOrder(compiled(spec(2)).model, lives(2, "lb2")), ["lb1", "lb2"]);
  });

  test("three directors, the middle one is master: the others in spec order, then it", () => {
    assert.deepEqual(rolloutOrder(compiled(spec(3)).model, lives(3, "lb2")), ["lb1", "lb3", "lb2"]);
  });

  test("the VIP with another prefix length, or only the excluded IPv6 VIP in another form, still marks the master", () => {
    const m = compiled(spec(2)).model;
    assert.deepEqual(rolloutOrder(m, lives(2, "lb1", "192.0.2.100/24")), ["lb2", "lb1"]);
    assert.deepEqual(rolloutOrder(m, lives(2, "lb1", "2001:db8:0:0::100/128")), ["lb2", "lb1"]);
    assert.equal(holdsVips(m.directors[1]!, live("lb2", ["192.0.2.101/32"])), false, "a neighbour address is not the VIP");
  });

  test("the plan is ordered the same way and says so", () => {
    const out = compiled(spec(3));
    const plan = planAgainst(out, lives(3, "lb1"), OPTS);
    assert.deepEqual(plan.order, ["lb2", "lb3", "lb1"]);
    assert.deepEqual(plan.directors.map((d) => d.director), ["lb2", "lb3", "lb1"]);
    const text = formatPlanText(plan);
    assert.match(text, /^Rollout order: lb2 -> lb3 -> lb1$/m);
    assert.ok(text.indexOf("director lb2:") < text.indexOf("director lb3:") && text.indexOf("director lb3:") < text.indexOf("director lb1:"));
  });

  test("a director that was not read (not selected) is left out of the plan", () => {
    const all = lives(3, "lb1");
    all.delete("lb3");
    assert.deepEqual(planAgainst(compiled(spec(3)), all, OPTS).order, ["lb2", "lb1"]);
  });
});

/** A fake director per SSH port: records the call and answers with the scripted exit code. */
function fakeDirectors(codes: Record<number, number>): { run: StagedApplyRunner; calls: number[]; concurrent: () => number } {
  const calls: number[] = [];
  let active = 0, most = 0;
  const run: StagedApplyRunner = async (target, staged, onLog) => {
    active++;
    most = Math.max(most, active);
    calls.push(target.port);
    assert.ok(staged.files.some((f) => f.path.endsWith("/keepalived.conf")), "the staged files include keepalived.conf");
    await new Promise((r) => setTimeout(r, 5));
    const code = codes[target.port] ?? 0;
    onLog(`ipvsc: result ${code}\n`);
    active--;
    return { code, state: code === 0 ? "new" : code === 10 || code === 11 ? "old" : "unknown", log: "" };
  };
  return { run, calls, concurrent: () => most };
}

describe("applyPlan: one director at a time, stop at the first failure", () => {
  const out = compiled(spec(3));
  const plan = planAgainst(out, lives(3, "lb1"), OPTS); // lb2 -> lb3 -> lb1

  test("all succeed: every director, in the plan's order, never two at once", async () => {
    const fake = fakeDirectors({});
    const logs: string[] = [];
    const results = await applyPlan(out, plan, OPTS, (d, text) => logs.push(`${d}: ${text}`), fake.run);
    assert.deepEqual(fake.calls, [2202, 2203, 2201]);
    assert.deepEqual(results.map((r) => [r.director, r.outcome.code]), [["lb2", 0], ["lb3", 0], ["lb1", 0]]);
    assert.equal(fake.concurrent(), 1);
    assert.deepEqual(logs, ["lb2: ipvsc: result 0\n", "lb3: ipvsc: result 0\n", "lb1: ipvsc: result 0\n"]);
  });

  test("the first backup fails (rolled back): neither the other backup nor the master is touched", async () => {
    const fake = fakeDirectors({ 2202: 11 });
    const results = await applyPlan(out, plan, OPTS, () => {}, fake.run);
    assert.deepEqual(fake.calls, [2202]);
    assert.deepEqual(results.map((r) => [r.director, r.outcome.code, r.outcome.state]), [["lb2", 11, "old"]]);
  });

  test("the second backup ends in an unknown state: the master is not touched", async () => {
    const fake = fakeDirectors({ 2203: 12 });
    const results = await applyPlan(out, plan, OPTS, () => {}, fake.run);
    assert.deepEqual(fake.calls, [2202, 2203]);
    assert.deepEqual(results.map((r) => r.outcome.state), ["new", "unknown"]);
  });

  test("a plan made for another keepalived.conf is refused before any director is touched", async () => {
    const other = compiled({ ...spec(3), services: [{ ...spec(3).services[0]!, scheduler: "rr", pool: { ...spec(3).services[0]!.pool, healthChecks: [{ type: "tcp" }] } }] });
    const fake = fakeDirectors({});
    await assert.rejects(applyPlan(other, plan, OPTS, () => {}, fake.run), /made for another keepalived\.conf/);
    assert.deepEqual(fake.calls, []);
  });
});

describe("the apply script's keepalived check on a fresh director", () => {
  /** The script's lines that build keepalived.check.conf (a sed over the staged config). */
  function checkSedLines(): string {
    const lines = APPLY_SCRIPT.split("\n");
    const start = lines.findIndex((l) => /^\s*sed .*vrrp-auth-/.test(l));
    assert.ok(start >= 0, "the script rewrites the secrets includes with sed");
    let end = start;
    while (!lines[end]!.includes("keepalived.check.conf")) end++;
    return lines.slice(start, end + 1).join("\n");
  }

  test("the config is checked against the staged secrets, for includea (what the renderer writes)", async () => {
    const out = compiled(spec(2, "s3cr3tPw"));
    const conf = out.directors[0]!.keepalivedConf;
    assert.match(conf, /includea \/etc\/keepalived\/vrrp-auth-VI_1\.conf/);
    const dir = await mkdtemp(join(tmpdir(), "ha-rollout-"));
    try {
      const { writeFile, readFile } = await import("node:fs/promises");
      await writeFile(join(dir, "keepalived.conf"), conf);
      const script = `KCONF_DIR=/etc/keepalived\nD=${dir}\n${checkSedLines()}\n`;
      await promisify(execFile)("bash", ["-c", script]);
      const checked = await readFile(join(dir, "keepalived.check.conf"), "utf8");
      assert.match(checked, new RegExp(`includea ${dir}/secrets/vrrp-auth-VI_1\\.conf`));
      assert.doesNotMatch(checked, /\/etc\/keepalived\/vrrp-auth-/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("keepalived -t accepts the rewritten config with only the staged secret present", { skip }, async () => {
    const out = compiled(spec(2, "s3cr3tPw"));
    const d = out.model.directors[0]!;
    const secret = out.directors[0]!.secretFiles[0]!;
    const dir = await mkdtemp(join(tmpdir(), "ha-rollout-kt-"));
    try {
      const { writeFile, readFile, mkdir } = await import("node:fs/promises");
      await writeFile(join(dir, "keepalived.conf"), out.directors[0]!.keepalivedConf);
      await mkdir(join(dir, "secrets"));
      await promisify(execFile)("bash", ["-c", `KCONF_DIR=/etc/keepalived\nD=${dir}\n${checkSedLines()}\n`]);
      const checked = await readFile(join(dir, "keepalived.check.conf"), "utf8");
      const r = await checkKeepalivedConf(checked, {
        dir,
        interfaces: interfacesOf(out.model, d),
        extraFiles: [{ path: join(dir, "secrets", "vrrp-auth-VI_1.conf"), content: secret.content }],
      });
      assert.equal(r.stderr, "", r.stderr);
      assert.equal(r.code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("no install(1) in the scripts: busybox directors lack it", () => {
    assert.doesNotMatch(APPLY_SCRIPT, /^[^#\n]*\binstall -m/m);
  });
});
