/**
 * The Pulumi components' converge, run for real: the files and the command `stageDirector`
 * returns (exactly what IpvsDirector pushes with remote.CopyToRemote and runs with
 * remote.Command) go to a lab director over SSH the way the component sends them (the same
 * `prepare` command, every file written with the mode an SFTP upload leaves, 0644), then the
 * exact command string runs with the exact stdin. Checks: the first run applies and starts
 * keepalived, an identical run changes nothing, a changed spec converges (a real server
 * added, one drained and removed, weights changed) while a hand-made foreign service
 * survives, tampered staged files are refused with the table untouched, and no secret is in
 * the command or readable by anyone but root.
 *
 * One director for the whole file; the steps build on each other.
 * Run: IPVS_LAB=required node --import tsx --test test/lab/component-command.test.ts
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stageDirector } from "../../components/index.js";
import type { StagedConverge } from "../../src/apply-script/stage-files.js";
import { compile, type CompileOutput } from "../../src/compile.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { SshSession, type ExecResult } from "../../src/ssh/ssh-session.js";
import { bootDirectors, labStatus, requireLabOrSkip, setupLabNetwork, VIP_V4, type LabDirector } from "./lab.js";
import {
  DIRECTOR_NAME, keepalivedPid, labSpec, liveRules, liveRulesBytes, natRules, natService, quickHttpCheck, resetDirector,
  rsAddress, sortedRules, unionRules, waitFor,
} from "./support/rollout-harness.js";

/** The owner an IpvsCluster would pass (defaultOwner: project.stack.name). */
const OWNER = "labproj.dev.lb";
const PASSWORD = "Vr9p:x7q";
const WEB_VIP = VIP_V4(40);
const API_VIP = VIP_V4(41);
const VRRP_VIP = "198.51.100.200";
const OWNED = `/var/lib/ipvsc/owners/${OWNER}.owned`;

/** web: applier-owned NAT pool; api: health-checked (keepalived-owned); one VRRP instance with a password. */
function specOf(lab: LabDirector, web: { rs: 1 | 2 | 3; weight: number }[], api: (1 | 2 | 3)[]): SpecInput {
  return labSpec(lab, [
    natService({ name: "web", vip: WEB_VIP, scheduler: "wrr", servers: web }),
    natService({ name: "api", vip: API_VIP, port: 8080, scheduler: "rr", servers: api.map((rs) => ({ rs })), healthChecks: [quickHttpCheck()] }),
  ], {
    vrrp: { instances: [{ name: "VI_1", interface: "vc0", virtualRouterId: 51, vips: [`${VRRP_VIP}/32`], authType: "PASS", authPassword: PASSWORD }] },
  });
}

function compiled(spec: SpecInput): CompileOutput {
  const r = compile(spec);
  if (!r.ok) throw new Error(`spec does not compile: ${JSON.stringify(r.issues)}`);
  return r.output;
}

/** The rule lines of a staged rule file (it opens with a comment line). */
function ruleLines(staged: StagedConverge, name: string): string {
  const f = staged.files.find((x) => x.path === `${staged.dir}/${name}`);
  if (!f) throw new Error(`no staged ${name}`);
  return sortedRules(f.content.split("\n").filter((l) => !l.startsWith("#")).join("\n"));
}

function stagedFile(staged: StagedConverge, name: string): string {
  const f = staged.files.find((x) => x.path === `${staged.dir}/${name}`);
  if (!f) throw new Error(`no staged ${name}`);
  return f.content;
}

/** The live rules whose service selector is one of `selectors` ("-t 203.0.113.168:80"), sorted. */
function rulesOf(rules: string, selectors: string[]): string {
  return sortedRules(rules.split("\n").filter((l) => selectors.some((s) => l.startsWith(`-A ${s} `) || l.startsWith(`-a ${s} `))).join("\n"));
}

describe("the components' converge command on a real director", { timeout: 170_000 }, () => {
  let d: LabDirector | undefined;
  let ssh: SshSession | undefined;
  const director = (): LabDirector => {
    if (!d) throw new Error("director not booted");
    return d;
  };
  const session = (): SshSession => {
    if (!ssh) throw new Error("no ssh session");
    return ssh;
  };

  before(async () => {
    if (!labStatus().available) return;
    const [booted] = await bootDirectors(1);
    d = booted;
    await setupLabNetwork(director());
    await resetDirector(director());
    const lab = director();
    ssh = await SshSession.connect({ host: "127.0.0.1", port: lab.sshPort, user: "root", hostKey: lab.hostKey, privateKeyPath: lab.privateKeyPath });
  }, { timeout: 120_000 });

  after(async () => {
    ssh?.close();
    if (d) {
      await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill \"$p\"").catch(() => undefined);
      await d.close();
    }
  });

  /** What IpvsDirector does: `prepare`, one CopyToRemote per file (SFTP: mode 0644), then the converge command with its stdin. */
  async function push(staged: StagedConverge): Promise<void> {
    const prepare = await session().exec(`mkdir -p ${staged.dir}/secrets && chmod 700 ${staged.dir} ${staged.dir}/secrets`);
    assert.equal(prepare.code, 0, prepare.stderr);
    await session().writeFiles(staged.files.map((f) => ({ path: f.path, content: f.content, mode: 0o644 })));
  }

  async function converge(staged: StagedConverge): Promise<ExecResult> {
    const r = await session().exec(staged.command, { stdin: staged.stdin, timeoutMs: 90_000 });
    if (process.env.IPVS_LAB_VERBOSE === "1") process.stderr.write(`converge: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r;
  }

  const stage = (spec: SpecInput) => stageDirector(compiled(spec), DIRECTOR_NAME, { owner: OWNER, drainTimeoutSeconds: 3 });
  const webSel = `-t ${WEB_VIP}:80`;
  const apiSel = `-t ${API_VIP}:8080`;
  const foreign = `-A -u ${WEB_VIP}:53 -s rr\n-a -u ${WEB_VIP}:53 -r ${rsAddress(3)}:53 -m -w 1`;
  let v1: StagedConverge | undefined;

  it("first run: applies the applier-owned rules, starts keepalived, keeps the secret out of the command", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const spec = specOf(lab, [{ rs: 1, weight: 1 }, { rs: 2, weight: 2 }], [1, 2, 3]);
    const staged = stage(spec);
    v1 = staged;
    // the command and its stdin carry no secret; the secret files are flagged
    assert.match(staged.command, /^sh \/var\/lib\/ipvsc\/apply\.sh converge \/var\/lib\/ipvsc\/stage\/labproj\.dev\.lb [0-9a-f]{64}$/);
    assert.ok(!staged.command.includes(PASSWORD) && !staged.stdin.includes(PASSWORD), "no password in the command or its stdin");
    const secrets = staged.files.filter((f) => f.secret);
    assert.deepEqual(secrets.map((f) => f.path), [`${staged.dir}/secrets/vrrp-auth-VI_1.conf`]);
    assert.ok(staged.files.filter((f) => !f.secret).every((f) => !f.content.includes(PASSWORD)), "no password in a plain staged file");

    await push(staged);
    const r = await converge(staged);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /keepalived: start/);
    assert.match(r.stdout, /ipvsc: result 0: applied/);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), "no password in the log");

    // the applier-owned share equals the staged (compiled) rules, and an independent rendering of them
    const live = await liveRules(lab);
    assert.equal(rulesOf(live, [webSel]), ruleLines(staged, "desired.rules"));
    assert.equal(ruleLines(staged, "desired.rules"), natRules(WEB_VIP, 80, "wrr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 2 }]));
    // keepalived runs and loads its pool: the whole table is the compiled one (all servers healthy)
    assert.ok((await keepalivedPid(lab)) !== undefined, "keepalived runs");
    const whole = sortedRules(compiled(spec).directors[0]!.ipvsadmRules);
    assert.ok(await waitFor(async () => (await liveRules(lab)) === whole, 15_000), `keepalived loaded its pool: ${await liveRules(lab)}`);
    assert.equal(await lab.run(`cat ${OWNED}`), stagedFile(staged, "owned"), "ownership record written");

    // secrets: 0600 wherever they lie (the staged copies were uploaded 0644, as SFTP leaves them)
    const modes = await lab.run(
      `stat -c '%a %n' ${staged.dir} ${staged.dir}/secrets ${staged.dir}/secrets/vrrp-auth-VI_1.conf /etc/keepalived/vrrp-auth-VI_1.conf ` +
        `$(ls -1d /var/lib/ipvsc/runs/converge-${OWNER}-*/secrets/vrrp-auth-VI_1.conf)`,
    );
    const lines = modes.trim().split("\n");
    assert.equal(lines[0], `700 ${staged.dir}`);
    assert.equal(lines[1], `700 ${staged.dir}/secrets`);
    for (const l of lines.slice(2)) assert.match(l, /^600 /, `secret file mode: ${l}`);
    assert.equal(lines.length, 5, modes);
    assert.equal((await lab.run("cat /etc/keepalived/vrrp-auth-VI_1.conf")).trim(), `auth_pass ${PASSWORD}`);
  });

  it("an identical second run changes nothing: same table bytes, same ownership record, same keepalived", { timeout: 40_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const again = stage(specOf(lab, [{ rs: 1, weight: 1 }, { rs: 2, weight: 2 }], [1, 2, 3]));
    assert.deepEqual(again, v1, "the same spec stages the same files, command and stdin");
    const bytes = await liveRulesBytes(lab);
    const record = await lab.run(`cat ${OWNED}`);
    const pid = await keepalivedPid(lab);
    await push(again);
    const r = await converge(again);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /plan: 0 change\(s\), 0 drain\(s\), 0 delete\(s\); keepalived: none/);
    assert.equal(await liveRulesBytes(lab), bytes, "table bytes unchanged");
    assert.equal(await lab.run(`cat ${OWNED}`), record, "ownership record unchanged");
    assert.equal(await keepalivedPid(lab), pid, "keepalived not restarted");
  });

  it("a changed spec converges (server added, one drained and removed, weights changed); a foreign service survives", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await lab.run(`ipvsadm -R <<'EOF'\n${foreign}\nEOF`);
    const pid = await keepalivedPid(lab);
    // web: rs1 goes, rs2 2 -> 5, rs3 joins; api (keepalived): rs3 goes
    const spec = specOf(lab, [{ rs: 2, weight: 5 }, { rs: 3, weight: 1 }], [1, 2]);
    const staged = stage(spec);
    assert.equal(staged.dir, v1?.dir, "one staging directory per owner");
    assert.notEqual(staged.command, v1?.command);
    await push(staged);
    const r = await converge(staged);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /plan: 4 change\(s\), 2 drain\(s\), 1 delete\(s\); keepalived: reload/);
    assert.match(r.stdout, /ipvsc: (drained|drain deadline)/);
    const wantWeb = natRules(WEB_VIP, 80, "wrr", [{ address: rsAddress(2), weight: 5 }, { address: rsAddress(3), weight: 1 }]);
    assert.equal(ruleLines(staged, "desired.rules"), wantWeb);
    assert.equal(rulesOf(await liveRules(lab), [webSel]), wantWeb, "the applier-owned share is the new one");
    const whole = unionRules(compiled(spec).directors[0]!.ipvsadmRules, foreign);
    assert.ok(await waitFor(async () => (await liveRules(lab)) === whole, 15_000), `new table with the foreign service: ${await liveRules(lab)}`);
    assert.equal(rulesOf(await liveRules(lab), [apiSel]), natRules(API_VIP, 8080, "rr", [1, 2].map((i) => ({ address: rsAddress(i as 1 | 2), weight: 1 }))));
    assert.equal(await keepalivedPid(lab), pid, "keepalived reloaded in place, not restarted");
    assert.equal(await lab.run(`cat ${OWNED}`), stagedFile(staged, "owned"));
  });

  it("refuses tampered staged files and a stale command (exit 10), the table untouched", { timeout: 40_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const current = stage(specOf(lab, [{ rs: 2, weight: 5 }, { rs: 3, weight: 1 }], [1, 2]));
    const bytes = await liveRulesBytes(lab);
    const record = await lab.run(`cat ${OWNED}`);
    const installedSecret = await lab.run("cat /etc/keepalived/vrrp-auth-VI_1.conf");

    // a plain staged file edited after the upload
    await push(current);
    await lab.run(`echo '-a ${webSel} -r ${rsAddress(1)}:80 -m -w 9' >> ${current.dir}/desired.rules`);
    const plain = await converge(current);
    assert.equal(plain.code, 10, plain.stdout + plain.stderr);
    assert.match(plain.stderr, /refused: .*desired\.rules is not the staged version/);

    // a secret file replaced (its checksum comes on stdin)
    await push(current);
    await lab.run(`printf 'auth_pass other99\\n' > ${current.dir}/secrets/vrrp-auth-VI_1.conf`);
    const secret = await converge(current);
    assert.equal(secret.code, 10, secret.stdout + secret.stderr);
    assert.match(secret.stderr, /refused: .*vrrp-auth-VI_1\.conf is not the staged version/);

    // the previous spec's command against the current staged files: its manifest is gone
    await push(current);
    const stale = await converge(v1!);
    assert.equal(stale.code, 10, stale.stdout + stale.stderr);
    assert.match(stale.stderr, /not the one this command was made for/);

    assert.equal(await liveRulesBytes(lab), bytes, "table bytes unchanged");
    assert.equal(await lab.run(`cat ${OWNED}`), record, "ownership record unchanged");
    assert.equal(await lab.run("cat /etc/keepalived/vrrp-auth-VI_1.conf"), installedSecret, "installed secret unchanged");
  });
});
