/**
 * The converge planner (awk, in apply.sh, run on the director) against the TypeScript
 * planner (src/plan/compute-plan.ts): for random (desired, live, owned) triples both must
 * give the same commands per phase, and replaying the batches must give the same table.
 * The awk runs here with the host's awk (mawk under dash) and with busybox's awk and sh,
 * which is what the directors run.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { ownershipRecordOf, stageConverge, type ConvergeInputs } from "../../src/apply-script/stage-files.js";
import { compile } from "../../src/compile.js";
import type { DirectorModel, IpvsRealServer, IpvsService, IpvsTable, SchedulerName, ServiceModel } from "../../src/model/model.js";
import { serviceKeyString } from "../../src/model/service-key.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { renderOwnershipRecord, type LiveState, type OwnershipRecord } from "../../src/state/live-state.js";
import { applyIpvsadmCommands, parseIpvsadmCommands } from "../../src/state/parse-ipvsadm-save.js";
import { arbIpvsTable, FC_SEED } from "../support/arbitraries.js";

const OWNER = "ipvsc";
const work = mkdtempSync(join(tmpdir(), "ipvsc-converge-"));
after(() => rmSync(work, { recursive: true, force: true }));

const script = join(work, "apply.sh");
writeFileSync(script, APPLY_SCRIPT);

/** A PATH directory where awk and cp are busybox's applets, as on the directors. */
function busyboxBin(): string | undefined {
  const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
  if (!busybox) return undefined;
  const bin = join(work, "busybox-bin");
  mkdirSync(bin);
  for (const applet of ["awk", "cp", "sh", "cat", "sed", "sort", "grep"]) symlinkSync(busybox, join(bin, applet));
  return bin;
}
const BUSYBOX_BIN = busyboxBin();

interface Runner {
  name: string;
  run: (dir: string) => { status: number | null; stderr: string };
}
const RUNNERS: Runner[] = [
  { name: "sh + host awk", run: (dir) => spawnSync("sh", [script, "plan-only", dir], { encoding: "utf8" }) },
];
if (BUSYBOX_BIN) {
  const bin = BUSYBOX_BIN;
  RUNNERS.push({
    name: "busybox sh + busybox awk",
    run: (dir) => spawnSync(join(bin, "sh"), [script, "plan-only", dir], { encoding: "utf8", env: { PATH: bin } }),
  });
}

// ---------------------------------------------------------------------------------------
// random triples: a universe table, and for each of its services whether (and how) it is
// desired, live and in our old ownership record

const OTHER_SCHEDULERS: readonly SchedulerName[] = ["rr", "wrr", "lc", "wlc", "sed", "nq"];

interface ServiceRoll {
  desired: boolean;
  live: boolean;
  owner: "applier" | "keepalived";
  /** our old record names it, with this owner kind */
  recorded: "no" | "applier" | "keepalived";
  /** another owner's record names it (then it is never ours to remove) */
  theirs: boolean;
  editService: boolean;
  desiredServers: boolean[];
  liveServers: boolean[];
  editServers: number[];
}

const arbRoll = fc.record({
  desired: fc.boolean(),
  live: fc.boolean(),
  owner: fc.constantFrom<"applier" | "keepalived">("applier", "applier", "keepalived"),
  recorded: fc.constantFrom<ServiceRoll["recorded"]>("no", "applier", "applier", "keepalived"),
  theirs: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  editService: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  desiredServers: fc.array(fc.integer({ min: 0, max: 4 }).map((n) => n !== 0), { minLength: 5, maxLength: 5 }),
  liveServers: fc.array(fc.integer({ min: 0, max: 4 }).map((n) => n !== 0), { minLength: 5, maxLength: 5 }),
  editServers: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 5, maxLength: 5 }),
});

/** Another valid definition of the same service (what a spec edit would produce). */
function editedService(s: IpvsService): IpvsService {
  if (s.persistence) return { ...s, persistence: { ...s.persistence, timeout: s.persistence.timeout === 1 ? 2 : s.persistence.timeout - 1 } };
  if (s.scheduler === "sh" || s.scheduler === "mh") return { ...s, flags: s.flags.length > 0 ? [] : [s.scheduler === "sh" ? "sh-port" : "mh-port"] };
  return { ...s, scheduler: OTHER_SCHEDULERS.find((x) => x !== s.scheduler)! };
}

/** Another valid definition of the same real server: weight, thresholds or weight 0. */
function editedServer(rs: IpvsRealServer, how: number): IpvsRealServer {
  switch (how) {
    case 1: return { ...rs, weight: rs.weight + 1 };
    case 2: return { ...rs, weight: 0 };
    case 3: return { ...rs, upperThreshold: rs.upperThreshold + 10, lowerThreshold: rs.upperThreshold === 0 ? 3 : rs.lowerThreshold };
    case 4: return { ...rs, upperThreshold: 0, lowerThreshold: 0 };
    default: return rs;
  }
}

interface Triple {
  desired: ServiceModel[];
  live: IpvsTable;
  record: OwnershipRecord;
  /** another owner's record on the director (none: an empty one) */
  others?: OwnershipRecord;
}

const OTHER_OWNER = "other-stack";

function tripleOf(universe: IpvsTable, rolls: ServiceRoll[]): Triple {
  const desired: ServiceModel[] = [];
  const live: IpvsService[] = [];
  const record: OwnershipRecord = { owner: OWNER, services: {} };
  const others: OwnershipRecord = { owner: OTHER_OWNER, services: {} };
  universe.services.forEach((svc, i) => {
    const roll = rolls[i]!;
    const name = `svc-${i}`;
    const pick = (mask: boolean[], edit: boolean) =>
      svc.realServers.filter((_, k) => mask[k] ?? true).map((rs, k) => (edit ? editedServer(rs, roll.editServers[k] ?? 0) : rs));
    if (roll.desired) {
      desired.push({ name, specIndex: i, owner: roll.owner, directors: ["lb1"], ipvs: { ...svc, realServers: pick(roll.desiredServers, false) } });
    }
    if (roll.live) live.push({ ...(roll.editService ? editedService(svc) : svc), realServers: pick(roll.liveServers, true) });
    if (roll.recorded !== "no") record.services[name] = `${serviceKeyString(svc.key)} ${roll.recorded}`;
    if (roll.theirs) others.services[`theirs-${i}`] = `${serviceKeyString(svc.key)} applier`;
  });
  return { desired, live: { services: live }, record, others };
}

const arbTriple = arbIpvsTable({ maxServices: 7 }).chain((universe) =>
  fc.array(arbRoll, { minLength: universe.services.length, maxLength: universe.services.length }).map((rolls) => tripleOf(universe, rolls)),
);

function directorOf(services: ServiceModel[]): DirectorModel {
  return {
    name: "lb1", order: 0, interfaces: ["eth0"], routerId: "lb1",
    table: { services: services.map((s) => s.ipvs) }, services, vrrpInstances: [], vrrpSecrets: {},
  };
}

function liveStateOf(t: Triple): LiveState {
  return {
    director: "lb1", fingerprint: "f", table: t.live, connections: new Map(), keepalivedConf: undefined,
    keepalivedRunning: false, ownership: [t.record, t.others ?? { owner: OTHER_OWNER, services: {} }], vrrpStates: {},
    syncDaemons: [], addresses: [], issues: [],
  };
}

function convergeInputs(director: DirectorModel): ConvergeInputs {
  return {
    director, keepalivedConf: "", secretFiles: [], sysctlConf: "", keepalivedConfigDir: "/etc/keepalived",
    owner: OWNER, drainTimeoutSeconds: 30,
  };
}

interface Batches {
  apply: string[];
  drain: string[];
  finalize: string[];
  rollback: string[];
  removed: string[];
}

let runCounter = 0;

/** Stages the desired state as stageConverge does, adds live.rules and owned.old, runs plan-only. */
function scriptBatches(t: Triple, runner: Runner, liveFiles?: { save: string; thresholds: string }): Batches {
  const dir = join(work, `run-${runCounter++}`);
  mkdirSync(dir);
  const staged = stageConverge(convergeInputs(directorOf(t.desired)));
  for (const f of staged.files) {
    if (!f.path.startsWith(`${staged.dir}/`)) continue;
    const rel = f.path.slice(staged.dir.length + 1);
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), f.content);
  }
  if (liveFiles) {
    writeFileSync(join(dir, "live.save"), liveFiles.save);
    writeFileSync(join(dir, "live.thresholds"), liveFiles.thresholds);
  } else {
    writeFileSync(join(dir, "live.rules"), renderIpvsadmRules(t.live));
  }
  writeFileSync(join(dir, "owned.old"), renderOwnershipRecord(t.record));
  // as converge_plan gathers them: every other owner's record, one after the other
  writeFileSync(join(dir, "others.owned"), renderOwnershipRecord(t.others ?? { owner: OTHER_OWNER, services: {} }));
  const r = runner.run(dir);
  assert.equal(r.status, 0, r.stderr);
  const read = (name: string) => readFileSync(join(dir, name), "utf8").split("\n").filter((l) => l !== "");
  const out = {
    apply: read("apply.batch"), drain: read("drain.list"), finalize: read("finalize.batch"),
    rollback: read("rollback.batch"), removed: read("removed.selectors"),
  };
  assert.equal(readFileSync(join(dir, "expected.rules"), "utf8"), renderIpvsadmRules({ services: t.desired.filter((s) => s.owner === "applier").map((s) => s.ipvs) }));
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function tsBatches(t: Triple): Batches {
  const plan = planDirector({ model: directorOf(t.desired), keepalivedConf: "" }, liveStateOf(t), { owner: OWNER });
  return {
    apply: plan.batches.apply, drain: plan.batches.drain.map((d) => `${d.selector} ${d.realServer}`),
    finalize: plan.batches.finalize, rollback: plan.batches.rollback, removed: plan.batches.removedSelectors,
  };
}

const sorted = (xs: readonly string[]) => [...xs].sort();

function replay(table: IpvsTable, lines: readonly string[]): IpvsTable {
  const parsed = parseIpvsadmCommands(lines.join("\n"));
  assert.deepEqual(parsed.issues, [], `unparsable batch:\n${lines.join("\n")}`);
  const applied = applyIpvsadmCommands(table, parsed.commands);
  assert.deepEqual(applied.issues, [], `the kernel would refuse part of:\n${lines.join("\n")}`);
  return applied.table;
}

describe("the converge planner (awk) agrees with the TypeScript planner", () => {
  for (const runner of RUNNERS) {
    test(`random desired/live/owned triples, ${runner.name}`, () => {
      fc.assert(
        fc.property(arbTriple, (t) => {
          const ts = tsBatches(t);
          const sh = scriptBatches(t, runner);
          for (const phase of ["apply", "drain", "finalize", "rollback", "removed"] as const) {
            assert.deepEqual(sorted(sh[phase]), sorted(ts[phase]), `phase ${phase}`);
          }
          // the same result after replay, and the rollback restores the live table
          const afterTs = replay(replay(t.live, ts.apply), ts.finalize);
          const afterSh = replay(replay(t.live, sh.apply), sh.finalize);
          assert.deepEqual(afterSh, afterTs);
          assert.deepEqual(replay(afterSh, sh.rollback), t.live);
          // applier-owned services end up exactly as desired
          const applierKeys = new Set(t.desired.filter((s) => s.owner === "applier").map((s) => serviceKeyString(s.ipvs.key)));
          const got = afterSh.services.filter((s) => applierKeys.has(serviceKeyString(s.key)));
          assert.equal(renderIpvsadmRules({ services: got }), renderIpvsadmRules({ services: t.desired.filter((s) => s.owner === "applier").map((s) => s.ipvs) }));
        }),
        { seed: FC_SEED, numRuns: 150 },
      );
    });
  }

  test("a worked example: edit, add, drain and delete, a removed service we owned, a foreign one untouched", () => {
    const out = compile({
      directors: [{ name: "lb1", interfaces: ["eth0"] }],
      services: [{
        name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: "wrr",
        pool: { forwarding: { method: "nat" }, servers: [{ address: "192.0.2.12", port: 8080, weight: 5 }, { address: "192.0.2.13", port: 8080, upperThreshold: 100, lowerThreshold: 50 }] },
      }],
    });
    assert.ok(out.ok);
    const t: Triple = {
      desired: out.output.model.directors[0]!.services,
      live: replay({ services: [] }, [
        "-A -t 203.0.113.10:80 -s rr", "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 1 -x 5 -y 2", "-a -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 1",
        "-A -u 203.0.113.98:53 -s rr", "-a -u 203.0.113.98:53 -r 192.0.2.54:53 -m -w 3",
        "-A -u 203.0.113.99:53 -s rr",
      ]),
      record: { owner: OWNER, services: { dns: "udp/203.0.113.98:53 applier" } },
    };
    for (const runner of RUNNERS) {
      const sh = scriptBatches(t, runner);
      assert.deepEqual(sh.apply, [
        "-E -t 203.0.113.10:80 -s wrr",
        "-a -t 203.0.113.10:80 -r 192.0.2.13:8080 -m -w 1 -x 100 -y 50",
        "-e -t 203.0.113.10:80 -r 192.0.2.12:8080 -m -w 5",
        "-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0 -x 5 -y 2",
        "-e -u 203.0.113.98:53 -r 192.0.2.54:53 -m -w 0",
      ]);
      assert.deepEqual(sh.drain, ["-t 203.0.113.10:80 192.0.2.11:8080", "-u 203.0.113.98:53 192.0.2.54:53"]);
      assert.deepEqual(sh.finalize, ["-d -t 203.0.113.10:80 -r 192.0.2.11:8080", "-D -u 203.0.113.98:53"]);
      assert.deepEqual(sh.removed, ["-u 203.0.113.98:53"]);
      assert.deepEqual(sh.rollback, tsBatches(t).rollback);
    }
  });

  test("a service another owner records is never removed here, even when our old record names it too", () => {
    // two specs declared udp/…:53 once; ours no longer does, the other owner's record still names it
    const t: Triple = {
      desired: [],
      live: replay({ services: [] }, [
        "-A -u 203.0.113.98:53 -s rr", "-a -u 203.0.113.98:53 -r 192.0.2.54:53 -m -w 3",
        "-A -t 203.0.113.10:80 -s rr", "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1",
      ]),
      record: { owner: OWNER, services: { dns: "udp/203.0.113.98:53 applier", web: "tcp/203.0.113.10:80 applier" } },
      others: { owner: OTHER_OWNER, services: { dns: "udp/203.0.113.98:53 applier" } },
    };
    const ts = tsBatches(t);
    assert.deepEqual(ts.finalize, ["-D -t 203.0.113.10:80"], "only the service no other owner records is removed");
    for (const runner of RUNNERS) {
      const sh = scriptBatches(t, runner);
      assert.deepEqual(sh, ts);
    }
  });

  test("the live table is ipvsadm -S -n with the thresholds of -L -n --thresholds put back", () => {
    // real listing formats (reference/ipvsadm.md); the kernel prints services in hash order
    const save = [
      "-A -f 8 -6 -s nq -p 100 -M 48",
      "-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gre --tun-csum",
      "-A -t 203.0.113.10:80 -s wlc",
      "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 5",
      "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -g -w 1",
      "-A --sctp-service 203.0.113.11:5060 -s rr",
      "-a --sctp-service 203.0.113.11:5060 -r 192.0.2.13:5060 -m -w 2",
      "",
    ].join("\n");
    const thresholds = [
      "IP Virtual Server version 1.2.1 (size=4096)",
      "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn",
      "  -> RemoteAddress:Port",
      "FWM  8 IPv6 nq persistent 100 mask 48",
      "  -> [2001:db8::1]:0              7          0          0          0",
      "TCP  203.0.113.10:80 wlc",
      "  -> 192.0.2.11:8080              100        50         3          1",
      "  -> 192.0.2.12:80                0          0          0          0",
      "SCTP 203.0.113.11:5060 rr",
      "  -> 192.0.2.13:5060              9          4          0          0",
      "",
    ].join("\n");
    const live = replay({ services: [] }, [
      "-A -f 8 -6 -s nq -p 100 -M 48", "-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 -x 7 -y 0 --tun-type gre --tun-csum",
      "-A -t 203.0.113.10:80 -s wlc", "-a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 5 -x 100 -y 50", "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -g -w 1",
      "-A --sctp-service 203.0.113.11:5060 -s rr", "-a --sctp-service 203.0.113.11:5060 -r 192.0.2.13:5060 -m -w 2 -x 9 -y 4",
    ]);
    // desired: the same table, all applier-owned and already ours: nothing to do
    const desired: ServiceModel[] = live.services.map((ipvs, i) => ({ name: `s${i}`, specIndex: i, owner: "applier", directors: ["lb1"], ipvs }));
    const record: OwnershipRecord = { owner: OWNER, services: {} };
    for (const s of desired) record.services[s.name] = `${serviceKeyString(s.ipvs.key)} applier`;
    for (const runner of RUNNERS) {
      const sh = scriptBatches({ desired, live, record }, runner, { save, thresholds });
      assert.deepEqual(sh, { apply: [], drain: [], finalize: [], rollback: [], removed: [] });
      // and with one threshold changed, exactly that server is edited
      const changed = structuredClone(desired);
      changed.find((s) => serviceKeyString(s.ipvs.key) === "tcp/203.0.113.10:80")!.ipvs.realServers[0]!.upperThreshold = 200;
      const edit = scriptBatches({ desired: changed, live, record }, runner, { save, thresholds });
      assert.deepEqual(edit.apply, ["-e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 5 -x 200 -y 50"]);
    }
  });
});

describe("stageConverge", () => {
  const out = compile({
    directors: [{ name: "lb1", interfaces: ["eth0"], address: "198.51.100.11" }, { name: "lb2", interfaces: ["eth0"], address: "198.51.100.12" }],
    services: [
      { name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, pool: { servers: [{ address: "192.0.2.11" }], healthChecks: [{ type: "tcp" }] } },
      { name: "dns", protocol: "udp", address: "203.0.113.10", port: 53, pool: { servers: [{ address: "192.0.2.53" }] } },
    ],
    vrrp: { instances: [{ name: "VI_1", interface: "eth0", virtualRouterId: 51, vips: ["203.0.113.10/32"], authPassword: "Zq8pW2xy" }] },
  });
  assert.ok(out.ok, JSON.stringify(out.ok ? [] : out.issues));
  const d = out.output.model.directors[0]!;
  const a = out.output.directors[0]!;
  const inputs: ConvergeInputs = {
    director: d, keepalivedConf: a.keepalivedConf, secretFiles: a.secretFiles, sysctlConf: out.output.sysctlConf,
    keepalivedConfigDir: "/etc/keepalived", owner: "edge", drainTimeoutSeconds: 30,
  };

  test("stages the desired state by owner in a stable per-owner directory, with a manifest the command names", () => {
    const s = stageConverge(inputs);
    assert.equal(s.dir, "/var/lib/ipvsc/stage/edge");
    assert.deepEqual(s.files.map((f) => f.path.replace(`${s.dir}/`, "")), [
      "/var/lib/ipvsc/apply.sh", "desired-keepalived.rules", "desired.rules", "keepalived.conf", "owned", "params", "sysctl.conf",
      "manifest.sha256", "secrets/vrrp-auth-VI_1.conf",
    ]);
    const file = (name: string) => s.files.find((f) => f.path === `${s.dir}/${name}`)!.content;
    assert.equal(file("desired.rules"), "# applier-owned services wanted on this director (ipvsadm -S -n form with -x/-y)\n-A -u 203.0.113.10:53 -s wlc\n-a -u 203.0.113.10:53 -r 192.0.2.53:53 -m -w 1\n");
    assert.equal(file("desired-keepalived.rules"), "# keepalived-owned services wanted on this director (ipvsadm -S -n form with -x/-y)\n-A -t 203.0.113.10:80 -s wlc\n-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1\n");
    for (const f of s.files) assert.notEqual(f.content, "", `${f.path} is empty: Pulumi cannot read back an empty StringAsset`);
    assert.equal(file("params"), 'OWNER=edge\nKCONF_DIR=/etc/keepalived\nDRAIN_TIMEOUT=30\nMANAGED=yes\nSECRET_FILES="secrets/vrrp-auth-VI_1.conf"\n');
    assert.equal(file("keepalived.conf"), a.keepalivedConf);
    assert.match(file("manifest.sha256"), /^[0-9a-f]{64} {2}desired-keepalived\.rules\n[0-9a-f]{64} {2}desired\.rules\n/);
    assert.ok(!file("manifest.sha256").includes("secrets/"), "secret files are not hashed in plain files");
    assert.equal(s.command, `sh /var/lib/ipvsc/apply.sh converge /var/lib/ipvsc/stage/edge ${s.manifestSha256}`);
    assert.match(s.stdin, /^[0-9a-f]{64} {2}secrets\/vrrp-auth-VI_1\.conf\n$/);
    assert.deepEqual(stageConverge(inputs), s, "deterministic");
  });

  test("the ownership record is the one planDirector writes", () => {
    const plan = planDirector({ model: d, keepalivedConf: a.keepalivedConf }, liveStateOf({ desired: [], live: { services: [] }, record: { owner: "edge", services: {} } }), { owner: "edge" });
    assert.equal(ownershipRecordOf(d, "edge"), plan.ownershipRecord);
  });

  test("the password is only in the secret file; a password change changes stdin, not the command", () => {
    const s = stageConverge(inputs);
    for (const f of s.files.filter((x) => !x.secret)) assert.ok(!f.content.includes("Zq8pW2xy"), f.path);
    assert.ok(!s.command.includes("Zq8pW2xy") && !s.stdin.includes("Zq8pW2xy"));
    const rotated = stageConverge({ ...inputs, secretFiles: [{ path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: "auth_pass N3wPass1\n" }] });
    assert.equal(rotated.command, s.command);
    assert.notEqual(rotated.stdin, s.stdin);
    const moreDrain = stageConverge({ ...inputs, drainTimeoutSeconds: 60 });
    assert.notEqual(moreDrain.command, s.command);
  });

  test("refuses an owner name that is not safe in a path and a shell word", () => {
    assert.throws(() => stageConverge({ ...inputs, owner: "a b;rm" }), /owner/);
    assert.throws(() => stageConverge({ ...inputs, owner: "../x" }), /owner/);
  });
});

// ---------------------------------------------------------------------------------------
// the whole `apply.sh converge` path on a simulated director: the real script, with
// ipvsadm replaced by the table simulator of src/state, keepalived and sysctl by stubs

/**
 * A plain-JavaScript ipvsadm stand-in (tsx would cost a second per call): the table as rule
 * lines keyed by selector, with the kernel's refusals. Faithful replay of every option is
 * the simulator's job in the property test above; this one only has to drive the script.
 */
const IPVSADM_STUB = String.raw`
import { existsSync, readFileSync, writeFileSync } from "node:fs";
const path = process.env.IPVS_STATE;
const services = new Map();
const NL = String.fromCharCode(10);
function parse(line) {
  const t = line.trim().split(/\s+/);
  let i = 1;
  const sel = [];
  while (i < t.length && t[i] !== "-s" && t[i] !== "-r") sel.push(t[i++]);
  return { cmd: t[0], sel: sel.join(" "), rs: t[i] === "-r" ? t[i + 1] : undefined, rest: t.slice(1).join(" ") };
}
function apply(line) {
  const c = parse(line);
  const svc = services.get(c.sel);
  const has = svc !== undefined && svc.servers.has(c.rs);
  switch (c.cmd) {
    case "-A": if (svc) return "Service already exists"; services.set(c.sel, { line: "-A " + c.rest, servers: new Map() }); return;
    case "-E": if (!svc) return "No such service"; svc.line = "-A " + c.rest; return;
    case "-D": if (!svc) return "No such service"; services.delete(c.sel); return;
    case "-a": if (!svc) return "No such service"; if (has) return "Destination already exists"; svc.servers.set(c.rs, "-a " + c.rest); return;
    case "-e": if (!has) return "No such destination"; svc.servers.set(c.rs, "-a " + c.rest); return;
    case "-d": if (!has) return "No such destination"; svc.servers.delete(c.rs); return;
    default: return "unknown command " + c.cmd;
  }
}
const lines = (text) => text.split(NL).filter((l) => l.trim() !== "");
if (existsSync(path)) for (const l of lines(readFileSync(path, "utf8"))) apply(l);
const save = () => [...services.values()].flatMap((s) => [s.line, ...s.servers.values()]);
const args = process.argv.slice(2);
if (args[0] === "-S") {
  // like the kernel's ipvsadm -S: no thresholds
  for (const l of save()) process.stdout.write(l.replace(/ -x \d+ -y \d+/, "") + NL);
} else if (args[0] === "-R") {
  for (const l of lines(readFileSync(0, "utf8"))) { const e = apply(l); if (e) process.stderr.write(e + NL); }
  writeFileSync(path, save().map((l) => l + NL).join(""));
} else if (args[0] === "-L" && args.includes("--thresholds")) {
  const out = ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port"];
  const proto = { "-t": "TCP", "-u": "UDP", "--sctp-service": "SCTP" };
  for (const [sel, s] of services) {
    const t = sel.split(" ");
    out.push(t[0] === "-f" ? "FWM  " + t[1] + (t[2] === "-6" ? " IPv6" : "") + " x" : proto[t[0]] + "  " + t[1] + " x");
    for (const [rs, l] of s.servers) {
      const x = / -x (\d+) -y (\d+)/.exec(l);
      out.push("  -> " + rs + "   " + (x ? x[1] : 0) + "   " + (x ? x[2] : 0) + "   0   0");
    }
  }
  process.stdout.write(out.join(NL) + NL);
} else if (args[0] === "-L") {
  // the per-service listing the drain reads: no connections anywhere
  process.stdout.write("Prot LocalAddress:Port Scheduler Flags" + NL + "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn" + NL);
}
`;

const KEEPALIVED_STUB = `#!/bin/sh
case "$1" in -t) exit 0 ;; esac
pidfile=""
while [ $# -gt 0 ]; do [ "$1" = -p ] && pidfile=$2; shift; done
sh -c 'trap "" HUP; while :; do sleep 1; done' > /dev/null 2>&1 &
echo $! > "$pidfile"
`;

interface Director {
  root: string;
  script: string;
  env: NodeJS.ProcessEnv;
  stateFile: string;
  kconf: string;
  /** writes staged files under the simulated /var/lib/ipvsc */
  stage(s: ReturnType<typeof stageConverge>): string;
  converge(s: ReturnType<typeof stageConverge>, stdin?: string): { status: number | null; out: string };
  cleanup(): void;
}

/** The tools the scripts use; on a busybox director all but flock and install are applets (Debian's busybox has neither). */
const DIRECTOR_TOOLS = [
  "sh", "awk", "sed", "grep", "cp", "mv", "rm", "mkdir", "cat", "cut", "sort", "cmp", "diff", "basename", "dirname", "date",
  "ls", "setsid", "sha256sum", "wc", "head", "sleep", "chmod", "tee",
];

function simulatedDirector(userland: "host" | "busybox"): Director {
  const root = mkdtempSync(join(work, "director-"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  if (userland === "busybox") {
    const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p))!;
    for (const tool of DIRECTOR_TOOLS) symlinkSync(busybox, join(bin, tool));
    for (const tool of ["flock", "install"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  }
  const state = join(root, "state");
  const kconf = join(root, "keepalived");
  const kpid = join(root, "keepalived.pid");
  writeFileSync(join(root, "ipvsadm-stub.mjs"), IPVSADM_STUB);
  writeFileSync(join(bin, "ipvsadm"), `#!/bin/sh\nexec "${process.execPath}" "${join(root, "ipvsadm-stub.mjs")}" "$@"\n`, { mode: 0o755 });
  if (userland === "host") symlinkSync("/bin/sh", join(bin, "sh"));
  writeFileSync(join(bin, "keepalived"), KEEPALIVED_STUB, { mode: 0o755 });
  writeFileSync(join(bin, "sysctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const script = join(root, "apply.sh");
  writeFileSync(script, APPLY_SCRIPT.replace("STATE=/var/lib/ipvsc", `STATE=${state}`).replace("KPID=/run/keepalived.pid", `KPID=${kpid}`));
  const stateFile = join(root, "ipvs.rules");
  const env = { PATH: userland === "busybox" ? bin : `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, IPVS_STATE: stateFile };
  const local = (path: string) => path.replace("/var/lib/ipvsc", state);
  return {
    root, script, env, stateFile, kconf,
    stage(s) {
      for (const f of s.files) {
        if (f.path === "/var/lib/ipvsc/apply.sh") continue;
        mkdirSync(join(local(f.path), ".."), { recursive: true });
        writeFileSync(local(f.path), f.content);
      }
      return local(s.dir);
    },
    converge(s, stdin = s.stdin) {
      const r = spawnSync(join(bin, "sh"), [script, "converge", local(s.dir), s.manifestSha256], { input: stdin, encoding: "utf8", env, timeout: 60_000 });
      return { status: r.status, out: r.stdout + r.stderr };
    },
    cleanup() {
      // stop the keepalived stand-in this test started, by its pid
      if (existsSync(kpid)) {
        try { process.kill(Number(readFileSync(kpid, "utf8").trim())); } catch { /* already gone */ }
      }
    },
  };
}

describe("apply.sh converge on a simulated director", () => {
  const spec = (servers: { address: string; port: number }[]) => ({
    directors: [{ name: "lb1", interfaces: ["eth0"], address: "198.51.100.11" }],
    services: [
      { name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, pool: { servers: [{ address: "192.0.2.11" }], healthChecks: [{ type: "tcp" }] } },
      { name: "api", protocol: "tcp", address: "203.0.113.10", port: 8443, scheduler: "wrr", pool: { servers } },
    ],
    vrrp: { instances: [{ name: "VI_1", interface: "eth0", virtualRouterId: 51, vips: ["203.0.113.10/32"], authPassword: "Zq8pW2xy" }] },
  });
  const staging = (value: unknown, kconf: string) => {
    const out = compile(value);
    assert.ok(out.ok, JSON.stringify(out.ok ? [] : out.issues));
    return stageConverge({
      director: out.output.model.directors[0]!, keepalivedConf: out.output.directors[0]!.keepalivedConf,
      secretFiles: out.output.directors[0]!.secretFiles, sysctlConf: out.output.sysctlConf, keepalivedConfigDir: kconf,
      owner: "edge", drainTimeoutSeconds: 5,
    });
  };

  for (const userland of BUSYBOX_BIN ? ["host", "busybox"] as const : ["host"] as const) {
  test(`converges an empty director, then drains and deletes a removed real server; foreign services stay (${userland} userland)`, (t) => {
    const d = simulatedDirector(userland);
    t.after(() => d.cleanup());
    writeFileSync(d.stateFile, "-A -u 203.0.113.99:53 -s rr\n-a -u 203.0.113.99:53 -r 192.0.2.53:53 -m -w 1\n");
    const first = staging(spec([{ address: "192.0.2.21", port: 8443 }, { address: "192.0.2.22", port: 8443 }]), d.kconf);
    d.stage(first);
    const r1 = d.converge(first);
    assert.equal(r1.status, 0, r1.out);
    assert.match(r1.out, /plan: 3 change\(s\), 0 drain\(s\), 0 delete\(s\); keepalived: start/);
    assert.match(r1.out, /^ {2}\+ -A -t 203\.0\.113\.10:8443 -s wrr$/m);
    assert.match(r1.out, /result 0: applied/);
    assert.ok(!r1.out.includes("Zq8pW2xy"));
    const table = (text: string) => replay({ services: [] }, text.split("\n").filter((l) => l !== ""));
    assert.deepEqual(table(readFileSync(d.stateFile, "utf8")), table([
      "-A -t 203.0.113.10:8443 -s wrr",
      "-a -t 203.0.113.10:8443 -r 192.0.2.21:8443 -m -w 1",
      "-a -t 203.0.113.10:8443 -r 192.0.2.22:8443 -m -w 1",
      "-A -u 203.0.113.99:53 -s rr",
      "-a -u 203.0.113.99:53 -r 192.0.2.53:53 -m -w 1",
    ].join("\n")));
    assert.equal(readFileSync(join(d.root, "state/owners/edge.owned"), "utf8"), ownershipRecordOf(compileDirector(spec([])), "edge"));
    assert.equal(readFileSync(join(d.kconf, "vrrp-auth-VI_1.conf"), "utf8"), "auth_pass Zq8pW2xy\n");
    assert.equal(statSync(join(d.kconf, "vrrp-auth-VI_1.conf")).mode & 0o777, 0o600);

    const second = staging(spec([{ address: "192.0.2.22", port: 8443 }]), d.kconf);
    d.stage(second);
    const r2 = d.converge(second);
    assert.equal(r2.status, 0, r2.out);
    assert.match(r2.out, /plan: 1 change\(s\), 1 drain\(s\), 1 delete\(s\); keepalived: none/);
    assert.match(r2.out, /^ {2}- -d -t 203\.0\.113\.10:8443 -r 192\.0\.2\.21:8443$/m);
    assert.doesNotMatch(readFileSync(d.stateFile, "utf8"), /192\.0\.2\.21/);

    // nothing changed: an empty plan, still verified
    const r3 = d.converge(second);
    assert.equal(r3.status, 0, r3.out);
    assert.match(r3.out, /plan: 0 change\(s\), 0 drain\(s\), 0 delete\(s\); keepalived: none/);
  });

  test(`leaves a service another owner's record names, though ours named it too (${userland} userland)`, (t) => {
    const d = simulatedDirector(userland);
    t.after(() => d.cleanup());
    const both = staging(spec([{ address: "192.0.2.21", port: 8443 }]), d.kconf);
    d.stage(both);
    assert.equal(d.converge(both).status, 0);
    // another stack declares api as well (its record names it), and this spec drops it
    writeFileSync(join(d.root, "state/owners/api-stack.owned"), "owner api-stack\nservice api tcp/203.0.113.10:8443 applier\n");
    const withoutApi = staging({ ...spec([]), services: spec([]).services.slice(0, 1) }, d.kconf);
    d.stage(withoutApi);
    const r = d.converge(withoutApi);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /plan: 0 change\(s\), 0 drain\(s\), 0 delete\(s\)/);
    assert.match(readFileSync(d.stateFile, "utf8"), /^-A -t 203\.0\.113\.10:8443 -s wrr$/m, "api is still there");
    assert.doesNotMatch(readFileSync(join(d.root, "state/owners/edge.owned"), "utf8"), /api/, "and no longer in our record");
  });

  test(`refuses staged files that are not the ones the command names, and secrets without their checksums (${userland} userland)`, (t) => {
    const d = simulatedDirector(userland);
    t.after(() => d.cleanup());
    const s = staging(spec([{ address: "192.0.2.21", port: 8443 }]), d.kconf);
    const dir = d.stage(s);
    writeFileSync(join(dir, "desired.rules"), "-A -t 203.0.113.66:80 -s rr\n");
    const tampered = d.converge(s);
    assert.equal(tampered.status, 10, tampered.out);
    assert.match(tampered.out, /desired\.rules is not the staged version/);
    d.stage(s);
    const noSums = d.converge(s, "");
    assert.equal(noSums.status, 10, noSums.out);
    assert.match(noSums.out, /no checksum on stdin for secrets\/vrrp-auth-VI_1\.conf/);
    const otherManifest = d.converge({ ...s, manifestSha256: "0".repeat(64) });
    assert.equal(otherManifest.status, 10);
    assert.match(otherManifest.out, /not the one this command was made for/);
    assert.ok(!existsSync(d.stateFile) || readFileSync(d.stateFile, "utf8") === "", "nothing applied");
  });
  }
});

function compileDirector(value: unknown): DirectorModel {
  const out = compile(value);
  assert.ok(out.ok);
  return out.output.model.directors[0]!;
}
