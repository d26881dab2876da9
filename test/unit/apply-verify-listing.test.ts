/**
 * The apply's verify with few touched services lists each on its own (ipvsadm -L -n --tun-info)
 * instead of saving the whole table (issue #17, point 3). Under the host's sh + awk and under
 * busybox, with an ipvsadm stand-in that answers from the listings a real 1.31 printed
 * (test/lab/verify-listing.test.ts checks the conversion itself against a real kernel):
 * - a few services that read back as planned pass without any `ipvsadm -S`;
 * - a wrong weight fails, confirmed by the save;
 * - a listing the reader cannot read goes to the save, which decides (a good apply passes);
 * - a removed service must be gone; more than LISTED_MAX services, or an ipvsadm without
 *   --tun-info, read the save as before.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { applyScriptHarness, ipvsadmCalls, writeLiveTable, type HarnessShell } from "../support/apply-script-harness.js";

const { work, harness, shells: SHELLS } = applyScriptHarness("verify-listing", 'D=$1\nKEEPALIVED=none\nverify\necho "verify=$?"\n',
  ["awk", "sh", "cat", "sed", "sort", "grep", "cmp", "diff", "head", "cut", "mktemp", "rm", "printf"]);

/** Listings as ipvsadm 1.31 printed them on a 6.1 kernel (2026-12-04), and the save's lines of the same table. */
const LISTING_HEAD = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
const WEB = {
  selector: "-t 10.0.0.1:80",
  listing: `${LISTING_HEAD}TCP  10.0.0.1:80 wlc
  -> 192.168.1.10:8080            Masq    n/a           5      0          0         
  -> 192.168.1.12:80              Tunnel  ipip          1      0          0         
  -> 192.168.1.13:80              Tunnel  gue:6080:r+c  1      0          0         
`,
  save: `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5
-a -t 10.0.0.1:80 -r 192.168.1.12:80 -i -w 1 --tun-type ipip
-a -t 10.0.0.1:80 -r 192.168.1.13:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
`,
};
const MARK = {
  selector: "-f 8 -6",
  listing: `${LISTING_HEAD}FWM  8 IPv6 nq persistent 100 mask 48
  -> [2001:db8::1]:0              Tunnel  gre:+c        1      0          0         
`,
  save: `-A -f 8 -6 -s nq -p 100 -M 48
-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gre --tun-csum
`,
};
const DNS = {
  selector: "-u 10.0.0.2:53",
  listing: `${LISTING_HEAD}UDP  10.0.0.2:53 sh (sh-fallback,sh-port) ops
`,
  save: "-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port\n",
};
type Service = typeof WEB;

let seq = 0;
interface Case {
  /** services on the director, listed and saved */
  live: Service[];
  /** the rules the plan expects of the touched services (expected.rules) */
  expected: string;
  /** the batch: its lines' selectors are the touched services */
  batch: string;
  removed?: string[];
  noTunInfo?: boolean;
  /** the save differs from the listings (a listing this reader misreads) */
  save?: string;
}
function runVerify(shell: HarnessShell, c: Case): { ok: boolean; calls: string[]; out: string } {
  const dir = join(work, `case-${++seq}`);
  mkdirSync(dir);
  writeLiveTable(dir, c.live, c.save);
  writeFileSync(join(dir, "expected.rules"), c.expected);
  writeFileSync(join(dir, "apply.batch"), c.batch);
  writeFileSync(join(dir, "finalize.batch"), "");
  if (c.removed) writeFileSync(join(dir, "removed.selectors"), c.removed.map((s) => `${s}\n`).join(""));
  if (c.noTunInfo) writeFileSync(join(dir, "no-tun-info"), "");
  const r = spawnSync(shell.sh, [harness, dir], { encoding: "utf8", env: { PATH: shell.path, D: dir } });
  assert.equal(r.status, 0, r.stderr);
  const m = /verify=(\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  return { ok: m[1] === "0", calls: ipvsadmCalls(dir), out: r.stdout };
}

const saves = (calls: string[]) => calls.filter((c) => c === "-S -n").length;

for (const shell of SHELLS) {
  describe(`verify, few services (${shell.name})`, () => {
    test("services that read back as planned pass on their listings alone, no save", () => {
      const r = runVerify(shell, {
        live: [WEB, MARK, DNS],
        expected: WEB.save.replace("-w 5", "-w 5 -x 100 -y 50") + MARK.save,
        batch: "-e -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5 -x 100 -y 50\n-E -f 8 -6 -s nq -p 100 -M 48\n",
      });
      assert.ok(r.ok, r.out);
      assert.equal(saves(r.calls), 0);
      assert.deepEqual(r.calls, ["-L -n --tun-info -f 8 -6", "-L -n --tun-info -t 10.0.0.1:80"]);
    });

    test("a weight the kernel does not have fails, and the save confirms it", () => {
      const r = runVerify(shell, { live: [WEB], expected: WEB.save.replace("-w 5", "-w 7"), batch: "-e -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 7\n" });
      assert.equal(r.ok, false);
      assert.equal(saves(r.calls), 1);
      assert.match(r.out, /verification failed: the table differs from the plan/);
      assert.match(r.out, /-w 7/);
    });

    test("a listing it misreads is decided by the save: a good apply passes", () => {
      const odd = { ...WEB, listing: WEB.listing.replace("Masq    n/a", "Masq    n/a  extra") };
      const r = runVerify(shell, { live: [odd], expected: WEB.save, batch: "-E -t 10.0.0.1:80 -s wlc\n" });
      assert.ok(r.ok, r.out);
      assert.equal(saves(r.calls), 1);
    });

    test("a removed service must be gone", () => {
      const gone = runVerify(shell, { live: [DNS], expected: "", batch: "-D -t 10.0.0.1:80\n", removed: ["-t 10.0.0.1:80"] });
      assert.ok(gone.ok, gone.out);
      assert.equal(saves(gone.calls), 0);
      const still = runVerify(shell, { live: [WEB], expected: "", batch: "-D -t 10.0.0.1:80\n", removed: ["-t 10.0.0.1:80"] });
      assert.equal(still.ok, false);
      assert.equal(saves(still.calls), 1);
    });

    test("an ipvsadm without --tun-info reads the save", () => {
      const r = runVerify(shell, { live: [WEB], expected: WEB.save, batch: "-E -t 10.0.0.1:80 -s wlc\n", noTunInfo: true });
      assert.ok(r.ok, r.out);
      assert.equal(saves(r.calls), 1);
    });

    test("more services than LISTED_MAX read the save, not a listing each", () => {
      const max = Number(/^LISTED_MAX=(\d+)$/m.exec(APPLY_SCRIPT)![1]);
      const many = Array.from({ length: max + 1 }, (_, i): Service => ({
        selector: `-t 10.0.1.${i}:80`,
        listing: `${LISTING_HEAD}TCP  10.0.1.${i}:80 rr\n`,
        save: `-A -t 10.0.1.${i}:80 -s rr\n`,
      }));
      const all = many.map((s) => s.save).join("");
      const r = runVerify(shell, { live: many, expected: all, batch: all.replace(/^-A/gm, "-E") });
      assert.ok(r.ok, r.out);
      assert.deepEqual(r.calls, ["-S -n"]);
      const fewer = runVerify(shell, { live: many.slice(0, max), expected: many.slice(0, max).map((s) => s.save).join(""), batch: many.slice(0, max).map((s) => s.save).join("").replace(/^-A/gm, "-E") });
      assert.ok(fewer.ok, fewer.out);
      assert.equal(saves(fewer.calls), 0);
      assert.equal(fewer.calls.length, max);
    });
  });
}
