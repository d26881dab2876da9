/**
 * Faults during ipvsc apply on a real director (see lab.ts). Each case ends with the
 * director in exactly its old or exactly its new state (the sorted `ipvsadm -S -n` compared
 * with the expected rule text) and the CLI saying which:
 *   - the SSH connection dies mid-apply: the detached worker finishes, the CLI reattaches;
 *   - the kernel rejects a line of the batch: rolled back;
 *   - keepalived -t rejects the new keepalived.conf: refused, the running keepalived untouched;
 *   - a saved plan gone stale: refused;
 *   - two applies at once: the lock lets one through.
 *
 * One director for the whole file; each test starts from resetDirector() (most with a
 * hand-loaded old table).
 * Run: IPVS_LAB=required node --import tsx --test test/lab/apply-faults.test.ts
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientRequests, requireLabOrSkip, VIP_V4, type LabDirector } from "./lab.js";
import {
  keepalivedPid, labSpec, LAB_INTERFACES, liveRules, natRules, natService, quickHttpCheck, resetDirector,
  rsAddress, waitFor, type CliRun,
  useLabDirector,
} from "./support/rollout-harness.js";

const VIP = VIP_V4(10);
const OLD_RULES = natRules(VIP, 80, "wrr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 1 }]);
const OWNERS = "cat /var/lib/ipvsc/owners/*.owned 2>/dev/null; true";

/** The sshd processes carrying the CLI's apply session (walking up from the `apply.sh run` follower), and its run directory. */
const FIND_APPLY_SESSION = String.raw`
f=
for p in $(pidof sh); do
  case "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" in "sh /var/lib/ipvsc/apply.sh run "*) f=$p; break ;; esac
done
[ -n "$f" ] || { echo "no apply.sh run process" >&2; exit 3; }
ppid_of() { pp=; while read -r k v _; do [ "$k" = PPid: ] && pp=$v; done < /proc/$1/status; echo "$pp"; }
echo "dir $(tr '\0' ' ' < /proc/$f/cmdline | sed 's#^sh /var/lib/ipvsc/apply.sh run ##; s# *$##')"
p=$f
while :; do
  pp=$(ppid_of "$p")
  [ -n "$pp" ] && [ "$pp" -gt 1 ] || break
  read -r comm < /proc/$pp/comm
  if [ "$comm" = sshd ]; then
    # a per-connection sshd (its parent is sshd too), never the listener
    ppp=$(ppid_of "$pp")
    read -r pcomm < /proc/$ppp/comm
    [ "$pcomm" = sshd ] || break
    echo "sshd $pp"
  fi
  p=$pp
done
`;

describe("ipvsc apply faults on a real director", { timeout: 240_000 }, () => {
  const { director, ws } = useLabDirector();
  /** the starting point of most cases, loaded by hand: VIP on rs1 + rs2, weight 1 each */
  const loadOld = async (lab: LabDirector): Promise<void> => {
    await resetDirector(lab, OLD_RULES);
    assert.equal(await liveRules(lab), OLD_RULES);
  };
  /** a recent request leaves rs1 with InActConn > 0 for minutes: a drain of rs1 waits for its deadline */
  const makeRs1Busy = async (lab: LabDirector): Promise<void> => {
    const r = await clientRequests(lab, { addr: VIP, port: 80, count: 4 });
    assert.equal(r.failures, 0, r.stderr);
    assert.ok(r.servers.includes("rs1"), `rs1 answered: ${r.servers.join(",")}`);
  };
  const assertOld = (r: CliRun, code: number): void => {
    assert.equal(r.code, code, r.out + r.err);
    assert.match(r.out, /the director is in its OLD state/);
    assert.doesNotMatch(r.out, /NEW state|UNKNOWN/);
  };


  it("the SSH connection dies mid-apply: the worker finishes, the CLI reattaches and reports the NEW state", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await loadOld(lab);
    await makeRs1Busy(lab);
    const spec = ws.writeSpec("cut-new", labSpec(lab, [natService({ name: "web", vip: VIP, scheduler: "rr", servers: [{ rs: 2, weight: 2 }, { rs: 3 }] })]));
    const newRules = natRules(VIP, 80, "rr", [{ address: rsAddress(2), weight: 2 }, { address: rsAddress(3), weight: 1 }]);

    let cut: Promise<{ dir: string; killed: number[] }> | undefined;
    const applied = await ws.cli(["apply", spec, "--yes", "--drain-timeout", "6"], (text) => {
      // the batch is in; the worker now drains rs1 for 6 s: cut the CLI's connection here
      if (cut === undefined && /ipvsc: applying/.test(text)) {
        cut = (async () => {
          const found = await lab.run(FIND_APPLY_SESSION);
          const dir = /^dir (\S+)$/m.exec(found)?.[1] ?? "";
          const killed = [...found.matchAll(/^sshd (\d+)$/gm)].map((m) => Number(m[1]));
          if (killed.length > 0) await lab.run(`kill -9 ${killed.join(" ")}`);
          return { dir, killed };
        })();
        cut.catch(() => {}); // awaited below; keeps an early failure from being "unhandled"
      }
    });
    assert.ok(cut, `the apply started: ${applied.out}`);
    const { dir, killed } = await cut;
    assert.ok(killed.length > 0, "found the sshd session of the apply");
    assert.match(dir, /^\/var\/lib\/ipvsc\/runs\//);

    assert.equal(applied.code, 0, applied.out + applied.err);
    // the log printed twice: once before the cut, once in full after reattaching
    assert.equal(applied.out.match(/ipvsc: applying/g)?.length, 2, applied.out);
    assert.match(applied.out, /drain deadline of 6 s reached/);
    assert.match(applied.out, /lab1: applied; the director is in its NEW state/);
    assert.equal(await liveRules(lab), newRules);

    // any later reattach tells the same
    const again = await lab.exec(`sh /var/lib/ipvsc/apply.sh wait ${dir}`);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /result 0: applied: the director is in its NEW state/);
  });

  it("the kernel rejects one line (a broadcast address as real server): rolled back to the OLD state", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await loadOld(lab);
    const owners = await lab.run(OWNERS);
    // 203.0.113.31 is the broadcast address of rs1's /28: the spec is valid, the kernel says no
    const spec = ws.writeSpec("bcast", labSpec(lab, [natService({
      name: "web", vip: VIP, scheduler: "wrr", servers: [{ rs: 1, weight: 5 }, { rs: 2 }, { rs: 1, address: "203.0.113.31" }],
    })]));
    const r = await ws.cli(["apply", spec, "--yes"]);
    assertOld(r, 1);
    assert.match(r.out, /ipvsadm rejected part of apply\.batch/);
    assert.match(r.out, /the change failed and was rolled back/);
    assert.equal(await liveRules(lab), OLD_RULES, "the weight edit that did succeed is undone");
    assert.equal(await lab.run(OWNERS), owners, "ownership record unchanged");
  });

  it("the kernel lacks a scheduler the spec allows (twos with targetKernel 6.2): rolled back to the OLD state", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await loadOld(lab);
    const spec = ws.writeSpec("twos", labSpec(lab, [
      natService({ name: "web", vip: VIP, scheduler: "wrr", servers: [{ rs: 1, weight: 3 }, { rs: 2 }] }),
      natService({ name: "two", vip: VIP_V4(11), scheduler: "twos", servers: [{ rs: 3 }] }),
    ], { targetKernel: "6.2" }));
    const r = await ws.cli(["apply", spec, "--yes"]);
    assertOld(r, 1);
    assert.match(r.out, /Scheduler or persistence engine not found/);
    assert.equal(await liveRules(lab), OLD_RULES);
  });

  it("keepalived -t rejects the new config (VRRP on an interface the director lacks): refused, keepalived untouched", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const vip = VIP_V4(12);
    const services = [natService({ name: "checked", vip, scheduler: "rr", servers: [{ rs: 1 }, { rs: 2 }], healthChecks: [quickHttpCheck()] })];
    const good = ws.writeSpec("ka-good", labSpec(lab, services));
    const first = await ws.cli(["apply", good, "--yes"]);
    assert.equal(first.code, 0, first.out + first.err);
    const rules = natRules(vip, 80, "rr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 1 }]);
    assert.ok(await waitFor(async () => (await liveRules(lab)) === rules, 10_000), "keepalived loaded its service");
    const conf = await lab.run("cat /etc/keepalived/keepalived.conf");
    const pid = await keepalivedPid(lab);
    assert.ok(pid !== undefined);

    const bad = ws.writeSpec("ka-bad", labSpec(lab, services, {
      interfaces: [...LAB_INTERFACES, "eth9"],
      vrrp: { instances: [{ name: "VI_1", interface: "eth9", virtualRouterId: 51, vips: ["192.0.2.150/32"] }] },
    }));
    const r = await ws.cli(["apply", bad, "--yes"]);
    assertOld(r, 1);
    assert.match(r.out, /keepalived -t rejected the new configuration; the running one is untouched/);
    assert.equal(await lab.run("cat /etc/keepalived/keepalived.conf"), conf, "keepalived.conf untouched");
    assert.equal(await keepalivedPid(lab), pid, "the same keepalived still runs");
    assert.equal(await liveRules(lab), rules);
  });

  it("a saved plan gone stale (the table changed by hand since): refused, the hand-changed state stays", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await loadOld(lab);
    const spec = ws.writeSpec("stale-new", labSpec(lab, [natService({ name: "web", vip: VIP, scheduler: "rr", servers: [{ rs: 2 }, { rs: 3 }] })]));
    const plan = await ws.cli(["plan", spec, "--out", "stale-plan.json"]);
    assert.equal(plan.code, 0, plan.err);
    await lab.run(`ipvsadm -e -t ${VIP}:80 -r ${rsAddress(2)}:80 -m -w 7`);
    const handChanged = await liveRules(lab);
    assert.notEqual(handChanged, OLD_RULES);

    const r = await ws.cli(["apply", spec, "--plan", "stale-plan.json", "--yes"]);
    assertOld(r, 1);
    assert.match(r.out, /stale plan: the director changed since the plan was computed/);
    assert.equal(await liveRules(lab), handChanged);
  });

  it("two applies at once: the lock lets exactly one through", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await loadOld(lab);
    const specA = ws.writeSpec("race-a", labSpec(lab, [natService({ name: "web", vip: VIP, scheduler: "rr", servers: [{ rs: 2 }, { rs: 3 }] })]));
    const specB = ws.writeSpec("race-b", labSpec(lab, [natService({ name: "web", vip: VIP, scheduler: "wrr", servers: [{ rs: 2, weight: 3 }, { rs: 3, weight: 2 }] })]));
    const rulesA = natRules(VIP, 80, "rr", [{ address: rsAddress(2), weight: 1 }, { address: rsAddress(3), weight: 1 }]);
    const rulesB = natRules(VIP, 80, "wrr", [{ address: rsAddress(2), weight: 3 }, { address: rsAddress(3), weight: 2 }]);

    // two CLIs at once, both draining busy rs1 for 5 s: whoever locks first holds the lock
    // while the other's worker starts
    await makeRs1Busy(lab);
    const [a, b] = await Promise.all([
      ws.cli(["apply", specA, "--yes", "--drain-timeout", "5"]),
      ws.cli(["apply", specB, "--yes", "--drain-timeout", "5"]),
    ]);
    const winners = [a, b].filter((r) => r.code === 0);
    assert.equal(winners.length, 1, `exactly one apply succeeded:\n--- A\n${a.out}${a.err}\n--- B\n${b.out}${b.err}`);
    const [winner, loser, winnerRules] = a.code === 0 ? [a, b, rulesA] : [b, a, rulesB];
    assert.match(winner.out, /the director is in its NEW state/);
    assertOld(loser, 1);
    assert.match(loser.out, /refused: another apply holds the lock on this director/);
    assert.equal(await liveRules(lab), winnerRules, "the director is in the winner's state");
  });
});
