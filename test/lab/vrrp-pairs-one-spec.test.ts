/**
 * Several VRRP pairs in ONE spec (`vrrp.instances[].directors`, docs/ha.md "Several pairs in
 * one spec") on real kernels and real keepalived: four lab directors on one shared link
 * (bootDirectors(4, { sharedLink: true }): eth1 192.0.2.11 .. .14), two sites in one spec:
 *
 *   site a  VI_A  directors [a-dir1, a-dir2]  (lab dir1, dir2)  VIP 192.0.2.101  DR service :80
 *   site b  VI_B  directors [b-dir4, b-dir3]  (lab dir4, dir3)  VIP 192.0.2.102  DR service :80
 *
 * Both instances use unicast VRRP (peers from the directors' `address`es) and the SAME
 * virtual_router_id 51 on the same L2 segment: accepted because their director sets are
 * disjoint (the control: an instance set sharing a director is refused, duplicate-vrid).
 * Site b lists its directors in the reverse of the top-level order, so its preferred master
 * is b-dir4: roles must come from the instance's own list, not the spec's director order.
 * The sync daemon follows each director's own instance. Each service names its site's pair.
 *
 *   1. `ipvsc apply --yes` of the whole spec, one run, default --parallel: all four applied,
 *      the two pairs side by side; each director's keepalived.conf holds only its site's
 *      instance (MASTER 150 / BACKUP 140, its own peer only); each VIP on exactly its
 *      first-listed director and on no other (nor the other site's); each IPVS table only
 *      its site's service; sync daemons master/backup per pair.
 *   2. a change to both sites with both masters live: the rollout order puts each site's
 *      backup first and its master last, and in each pair the backup's apply ends before the
 *      master's starts (progress lines on stderr), the pairs side by side.
 *   3. site a's master loses VRRP (its keepalived stopped): VIP a moves to a-dir2 within a
 *      bound while VIP b never leaves b-dir4 (watched in the guests the whole time).
 *   4. `ipvsc apply` of the first spec restores a-dir1 (keepalived started; the live masters
 *      a-dir2 and b-dir4 last); a-dir1 takes VIP a back, VIP b never moved.
 *
 * Run: IPVS_LAB=required node --import tsx --test test/lab/vrrp-pairs-one-spec.test.ts
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compile } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { bootDirectors, labStatus, requireLabOrSkip, type LabDirector } from "./lab.js";
import { RolloutWorkspace, sortedRules, waitFor, type CliRun } from "./support/rollout-harness.js";

const started = Date.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Names in spec order: lab director k is NAMES[k - 1]. */
const NAMES = ["a-dir1", "a-dir2", "b-dir3", "b-dir4"] as const;
type Name = (typeof NAMES)[number];
const VRID = 51;

interface Site {
  instance: string;
  /** the instance's `directors`, in order: the first is the preferred master */
  pair: readonly [Name, Name];
  vip: string;
  /** real servers of the site's DR service (only rules, no traffic: any address will do) */
  servers: string[];
  scheduler: "wrr" | "rr";
}

const SITES: Record<"a" | "b", Site> = {
  a: { instance: "VI_A", pair: ["a-dir1", "a-dir2"], vip: "192.0.2.101", servers: ["192.0.2.21", "192.0.2.22"], scheduler: "wrr" },
  // reversed against the top-level order: b-dir4 is the preferred master
  b: { instance: "VI_B", pair: ["b-dir4", "b-dir3"], vip: "192.0.2.102", servers: ["192.0.2.31", "192.0.2.32"], scheduler: "rr" },
};
const siteOf = (n: Name): Site => (n.startsWith("a-") ? SITES.a : SITES.b);
const otherSite = (s: Site): Site => (s === SITES.a ? SITES.b : SITES.a);

/** The bound asserted on VIP a's move after its master's keepalived stops. */
const FAILOVER_BOUND_SEC = 10;
/** Bound on a VIP arriving where it belongs after an apply (a BACKUP waits ~3 adverts; preemption). */
const SETTLE_SEC = 20;

/** Weights per site's servers; v2 changes a weight at site a and adds a server at site b. */
type Weights = Record<"a" | "b", Record<string, number>>;
const V1: Weights = { a: { "192.0.2.21": 1, "192.0.2.22": 1 }, b: { "192.0.2.31": 1, "192.0.2.32": 1 } };
const V2: Weights = { a: { "192.0.2.21": 3, "192.0.2.22": 1 }, b: { "192.0.2.31": 1, "192.0.2.32": 1, "192.0.2.33": 2 } };

function spec(dirs: readonly LabDirector[], w: Weights): SpecInput {
  return {
    targetKernel: "6.1",
    directors: dirs.map((d, i) => ({
      name: NAMES[i]!,
      address: d.linkV4!,
      interfaces: ["eth0", "eth1"],
      ssh: { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey, privateKeyPath: d.privateKeyPath },
    })),
    vrrp: {
      instances: (["a", "b"] as const).map((k) => ({
        name: SITES[k].instance,
        directors: [...SITES[k].pair],
        interface: "eth1",
        virtualRouterId: VRID, // reused by both sites: disjoint director sets
        advertInterval: 1,
        vips: [`${SITES[k].vip}/32`],
        unicast: true,
      })),
    },
    // no syncDaemon.instance: each director follows its own site's instance
    syncDaemon: { interface: "eth1", syncId: VRID },
    services: (["a", "b"] as const).map((k) => ({
      name: `${k}-web`,
      directors: [...SITES[k].pair],
      protocol: "tcp" as const,
      address: SITES[k].vip,
      port: 80,
      scheduler: SITES[k].scheduler,
      pool: { forwarding: { method: "dr" as const }, servers: Object.entries(w[k]).map(([address, weight]) => ({ address, weight })) },
    })),
  };
}

/** `ipvsadm -S -n` of a site's DR service, written out independently of the renderer. */
function siteRules(k: "a" | "b", w: Weights): string {
  const sel = `-t ${SITES[k].vip}:80`;
  return sortedRules([`-A ${sel} -s ${SITES[k].scheduler}`, ...Object.entries(w[k]).map(([a, wt]) => `-a ${sel} -r ${a}:80 -g -w ${wt}`)].join("\n"));
}
const keyOf = (n: Name): "a" | "b" => (n.startsWith("a-") ? "a" : "b");

/** Waits in the guest (no SSH round trip per probe) until `d` holds (`held`) or lacks `vip`. */
async function waitVip(d: LabDirector, vip: string, held: boolean, timeoutSec: number): Promise<boolean> {
  const test = `ip -o -4 addr show | grep -q ' ${vip}/'`;
  const r = await d.exec(
    `i=0; while [ $i -lt ${timeoutSec * 20} ]; do if ${test}; then [ ${held ? 1 : 0} = 1 ] && exit 0; else [ ${held ? 1 : 0} = 0 ] && exit 0; fi; sleep 0.05; i=$((i+1)); done; exit 1`,
    { timeoutMs: (timeoutSec + 30) * 1000 },
  );
  return r.code === 0;
}

/**
 * Samples in the guest every 100 ms for `sec` seconds whether `d` holds `vip`; resolves to
 * the counts of samples with and without it.
 */
async function watchVip(d: LabDirector, vip: string, sec: number): Promise<{ held: number; missing: number }> {
  const out = await d.run(
    `h=0; m=0; i=0; while [ $i -lt ${sec * 10} ]; do if ip -o -4 addr show | grep -q ' ${vip}/'; then h=$((h+1)); else m=$((m+1)); fi; sleep 0.1; i=$((i+1)); done; echo "$h $m"`,
    { timeoutMs: (sec + 30) * 1000 },
  );
  const [held, missing] = out.trim().split(" ").map(Number);
  return { held: held!, missing: missing! };
}

/** PID of the director's keepalived (ipvsc's pid file), or undefined. */
async function keepalivedPid(d: LabDirector): Promise<number | undefined> {
  const r = await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"");
  const n = Number(r.stdout.trim());
  return r.code === 0 && n > 0 ? n : undefined;
}

/** Sync threads running on `d` ("master", "backup"). */
async function syncDaemons(d: LabDirector): Promise<string[]> {
  return [...(await d.run("ipvsadm -L -n --daemon")).matchAll(/^(master|backup) sync daemon/gm)].map((m) => m[1]!);
}

/** The stderr progress lines ("[director] phase"), in order. */
function progressOf(run: CliRun): string[] {
  return run.err.split("\n").filter((l) => l.startsWith("["));
}
function lineIndex(lines: readonly string[], re: RegExp): number {
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `no ${String(re)} in:\n${lines.join("\n")}`);
  return i;
}
const startOf = (lines: readonly string[], n: Name) => lineIndex(lines, new RegExp(`^\\[${n}\\] starting the apply$`));
const endOf = (lines: readonly string[], n: Name) => lineIndex(lines, new RegExp(`^\\[${n}\\] applied in \\d+\\.\\d s$`));

/** The summary block (the apply's last lines), times stripped. */
function summaryOf(run: CliRun): string[] {
  return run.out.slice(run.out.lastIndexOf("\n\n") + 2).split("\n").filter((l) => l !== "").map((l) => l.replace(/ \(\d+\.\d s\)$/, ""));
}
const appliedSummary = (order: readonly Name[]) => [
  ...order.map((n) => `${n}: applied; the director is in its NEW state`),
  `summary: ${order.length} applied, 0 FAILED, 0 not attempted, of ${order.length} director(s)`,
];

describe("several VRRP pairs in one spec on four real directors (vrrp.instances[].directors)", { timeout: 300_000 }, () => {
  let dirs: LabDirector[] = [];
  const ws = new RolloutWorkspace();
  let specV1 = "";
  let specV2 = "";
  const by = (n: Name): LabDirector => {
    const d = dirs[NAMES.indexOf(n)];
    if (!d) throw new Error("lab not booted");
    return d;
  };

  /** Which directors hold each site's VIP, read from all four. */
  async function holders(): Promise<Record<"a" | "b", Name[]>> {
    const addrs = await Promise.all(NAMES.map((n) => by(n).run("ip -o -4 addr show")));
    const on = (vip: string) => NAMES.filter((_, i) => addrs[i]!.includes(` ${vip}/`));
    return { a: on(SITES.a.vip), b: on(SITES.b.vip) };
  }
  /** Polls until site a's VIP is exactly on `a` and site b's exactly on `b`. */
  async function settled(a: Name, b: Name): Promise<void> {
    const want = JSON.stringify({ a: [a], b: [b] });
    const ok = await waitFor(async () => JSON.stringify(await holders()) === want, SETTLE_SEC * 1000, 300);
    assert.ok(ok, `VIP holders: want ${want}, have ${JSON.stringify(await holders())}`);
  }
  async function assertTables(w: Weights): Promise<void> {
    for (const n of NAMES) {
      const want = siteRules(keyOf(n), w);
      assert.ok(await waitFor(async () => sortedRules(await by(n).run("ipvsadm -S -n")) === want, 15_000),
        `${n}: the table holds only site ${keyOf(n)}'s service:\nwant\n${want}\nhave\n${await by(n).run("ipvsadm -S -n")}`);
    }
  }

  before(async () => {
    if (!labStatus().available) return;
    dirs = await bootDirectors(4, { sharedLink: true });
    specV1 = ws.writeSpec("pairs-v1", spec(dirs, V1));
    specV2 = ws.writeSpec("pairs-v2", spec(dirs, V2));
    console.log(`vrrp pairs: 4 VMs booted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, { timeout: 200_000 });

  after(async () => {
    await Promise.all(dirs.map((d) => d.close()));
    ws.cleanup();
    console.log(`vrrp pairs: total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("one apply of the whole spec: each director only its site's instance, each VIP on its first-listed director only, each table only its site's service", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    // VRID 51 on both sites is accepted (disjoint director sets); the control: the same
    // instances sharing a director are refused
    const s = spec(dirs, V1);
    const ok = compile(s);
    assert.ok(ok.ok, formatIssues(ok.issues));
    assert.deepEqual(ok.issues.filter((i) => i.severity === "error"), []);
    const clash = structuredClone(s);
    clash.vrrp!.instances![1]!.directors = ["b-dir4", "b-dir3", "a-dir2"];
    const refused = compile(clash);
    assert.ok(!refused.ok && refused.issues.some((i) => i.code === "duplicate-vrid"), `a shared director with one VRID is refused: ${formatIssues(refused.issues)}`);
    const validated = await ws.cli(["validate", specV1]);
    assert.equal(validated.code, 0, validated.out + validated.err);

    const applied = await ws.cli(["apply", specV1, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    // nobody holds a VIP yet: spec order (docs/ha.md), one group per pair
    assert.match(applied.out, /^Rollout order: a-dir1 -> a-dir2 -> b-dir3 -> b-dir4$/m);
    assert.deepEqual(summaryOf(applied), appliedSummary(NAMES), applied.out);
    const progress = progressOf(applied);
    // the pairs side by side: both groups' first director started before either ended
    const firstEnd = Math.min(...NAMES.map((n) => endOf(progress, n)));
    assert.ok(startOf(progress, "a-dir1") < firstEnd && startOf(progress, "b-dir3") < firstEnd, `the pairs side by side:\n${progress.join("\n")}`);
    // within a pair one at a time, in the plan's order
    assert.ok(endOf(progress, "a-dir1") < startOf(progress, "a-dir2"), progress.join("\n"));
    assert.ok(endOf(progress, "b-dir3") < startOf(progress, "b-dir4"), progress.join("\n"));
    console.log(`vrrp pairs: first apply of 4 directors in ${(applied.ms / 1000).toFixed(1)} s`);

    // keepalived.conf: only the director's own site's instance, role from the instance's order
    for (const n of NAMES) {
      const site = siteOf(n);
      const conf = await by(n).run("cat /etc/keepalived/keepalived.conf");
      const master = site.pair[0] === n;
      const peer = site.pair[master ? 1 : 0];
      const instances = [...conf.matchAll(/^vrrp_instance (\S+) \{$/gm)].map((m) => m[1]);
      assert.deepEqual(instances, [site.instance], `${n}: only ${site.instance}:\n${conf}`);
      assert.match(conf, new RegExp(
        `state ${master ? "MASTER" : "BACKUP"}\\n\\s+interface eth1\\n\\s+virtual_router_id ${VRID}\\n\\s+priority ${master ? 150 : 140}\\n`), `${n}:\n${conf}`);
      assert.match(conf, new RegExp(`unicast_src_ip ${by(n).linkV4!.replace(/\./g, "\\.")}\\n\\s+unicast_peer \\{\\n\\s+${by(peer).linkV4!.replace(/\./g, "\\.")}\\n\\s+\\}`), `${n}: its peer only:\n${conf}`);
      assert.match(conf, new RegExp(`lvs_sync_daemon eth1 ${site.instance} id ${VRID}`), `${n}:\n${conf}`);
      assert.doesNotMatch(conf, /vrrp_sync_group/, `${n}: one instance, no group`);
      const other = otherSite(site);
      assert.ok(!conf.includes(other.vip) && !conf.includes(other.instance), `${n}: nothing of the other site:\n${conf}`);
      for (const o of other.pair) assert.ok(!conf.includes(`${by(o).linkV4!}\n`), `${n}: no peer of the other site:\n${conf}`);
    }

    // VIPs: each on its first-listed director only, never on the other site
    await settled(SITES.a.pair[0], SITES.b.pair[0]);
    await assertTables(V1);
    for (const [n, role] of [["a-dir1", "master"], ["a-dir2", "backup"], ["b-dir4", "master"], ["b-dir3", "backup"]] as const) {
      assert.ok(await waitFor(async () => JSON.stringify(await syncDaemons(by(n))) === JSON.stringify([role]), 15_000),
        `${n}: sync daemon ${role}, have ${JSON.stringify(await syncDaemons(by(n)))}`);
    }
    const drift = await ws.cli(["drift", specV1]);
    assert.equal(drift.code, 0, drift.out + drift.err);
  });

  it("a change to both sites with both masters live: each site's backup first, its master last, the pairs side by side", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await settled("a-dir1", "b-dir4");
    const applied = await ws.cli(["apply", specV2, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    // directors without a VIP first (spec order), the live masters last
    const order: Name[] = ["a-dir2", "b-dir3", "a-dir1", "b-dir4"];
    assert.match(applied.out, new RegExp(`^Rollout order: ${order.join(" -> ")}$`, "m"));
    assert.deepEqual(summaryOf(applied), appliedSummary(order), applied.out);
    const progress = progressOf(applied);
    for (const k of ["a", "b"] as const) {
      const [master, backup] = SITES[k].pair;
      assert.ok(endOf(progress, backup) < startOf(progress, master), `site ${k}: ${backup} (backup) ended before ${master} (master) started:\n${progress.join("\n")}`);
    }
    const firstEnd = Math.min(...NAMES.map((n) => endOf(progress, n)));
    assert.ok(startOf(progress, "a-dir2") < firstEnd && startOf(progress, "b-dir3") < firstEnd, `both backups started before any director ended:\n${progress.join("\n")}`);
    console.log(`vrrp pairs: change apply of 4 directors in ${(applied.ms / 1000).toFixed(1)} s`);
    await assertTables(V2);
    await settled("a-dir1", "b-dir4");
  });

  it(`site a's master loses VRRP: VIP a moves to its backup within ${FAILOVER_BOUND_SEC} s, VIP b never leaves b-dir4; ipvsc apply restores`, { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await settled("a-dir1", "b-dir4");
    const pid = await keepalivedPid(by("a-dir1"));
    assert.ok(pid !== undefined, "keepalived runs on a-dir1");
    const WATCH_SEC = FAILOVER_BOUND_SEC + 5;
    // site b watched in its guests for the whole window: b-dir4 always holds VIP b, b-dir3
    // never, nor the site a directors
    const watching = Promise.all([
      watchVip(by("b-dir4"), SITES.b.vip, WATCH_SEC),
      watchVip(by("b-dir3"), SITES.b.vip, WATCH_SEC),
      watchVip(by("a-dir2"), SITES.b.vip, WATCH_SEC),
    ]);
    await sleep(500);
    const waiting = waitVip(by("a-dir2"), SITES.a.vip, true, FAILOVER_BOUND_SEC + 5);
    const killedAt = Date.now();
    await by("a-dir1").run(`kill ${pid}`);
    const moved = await waiting;
    const failoverSec = (Date.now() - killedAt) / 1000;
    assert.ok(moved, `VIP a reached a-dir2 (have ${JSON.stringify(await holders())})`);
    assert.ok(await waitVip(by("a-dir1"), SITES.a.vip, false, 5), "a-dir1 released VIP a");
    const [b4, b3, a2] = await watching;
    console.log(`vrrp pairs: VIP a on a-dir2 ${failoverSec.toFixed(2)} s after a-dir1's keepalived was stopped (bound ${FAILOVER_BOUND_SEC} s); ` +
      `VIP b on b-dir4 in ${b4.held} of ${b4.held + b4.missing} samples, on b-dir3 in ${b3.held}, on a-dir2 in ${a2.held}`);
    assert.ok(failoverSec <= FAILOVER_BOUND_SEC, `failover took ${failoverSec.toFixed(2)} s`);
    assert.equal(b4.missing, 0, "VIP b never left b-dir4");
    assert.equal(b3.held, 0, "VIP b never on b-dir3");
    assert.equal(a2.held, 0, "VIP b never on a-dir2");
    assert.deepEqual(await holders(), { a: ["a-dir2"], b: ["b-dir4"] });
    assert.ok(await waitFor(async () => (await syncDaemons(by("a-dir2"))).includes("master"), 10_000), "a-dir2's sync daemon turned master");
    assert.deepEqual(await syncDaemons(by("b-dir4")), ["master"], "site b's sync daemon untouched");

    // restore: back to the first spec; a-dir1 (keepalived down, no VIP) and b-dir3 first,
    // the live masters a-dir2 and b-dir4 last
    const plan = await ws.cli(["plan", specV1]);
    assert.equal(plan.code, 0, plan.out + plan.err);
    const order: Name[] = ["a-dir1", "b-dir3", "a-dir2", "b-dir4"];
    assert.match(plan.out, new RegExp(`^Rollout order: ${order.join(" -> ")}$`, "m"));
    assert.match(plan.out, /director a-dir1: [\s\S]*~ keepalived: start/);
    const applied = await ws.cli(["apply", specV1, "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    assert.match(applied.out, new RegExp(`^Rollout order: ${order.join(" -> ")}$`, "m"));
    assert.deepEqual(summaryOf(applied), appliedSummary(order), applied.out);
    const progress = progressOf(applied);
    assert.ok(endOf(progress, "a-dir1") < startOf(progress, "a-dir2"), progress.join("\n"));
    assert.ok(endOf(progress, "b-dir3") < startOf(progress, "b-dir4"), progress.join("\n"));
    assert.ok((await keepalivedPid(by("a-dir1"))) !== undefined, "keepalived runs on a-dir1 again");
    // priority 150 over 140, preemption: a-dir1 takes VIP a back; VIP b where it was
    await settled("a-dir1", "b-dir4");
    await assertTables(V1);
    assert.ok(await waitFor(async () => JSON.stringify(await syncDaemons(by("a-dir1"))) === '["master"]' && JSON.stringify(await syncDaemons(by("a-dir2"))) === '["backup"]', 15_000),
      `sync daemons of site a back: a-dir1 ${JSON.stringify(await syncDaemons(by("a-dir1")))}, a-dir2 ${JSON.stringify(await syncDaemons(by("a-dir2")))}`);
    const drift = await ws.cli(["drift", specV1]);
    assert.equal(drift.code, 0, drift.out + drift.err);
  });
});
