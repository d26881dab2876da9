/**
 * A director that lacks a tool the scripts need says so (issue #14, point 5), on a real
 * director (see lab.ts): with flock hidden, `ipvsc apply` is refused with "director lacks
 * flock" (not "another apply holds the lock"), exits 1 and leaves the table and the ownership
 * records as they were; with flock back, the very same apply goes through. With ipvsadm and
 * awk hidden, `ipvsc plan` names them instead of failing obscurely.
 *
 * In the lab image flock is util-linux's (/usr/bin/flock, linked from the other PATH
 * directories; Debian's busybox has no flock applet) and /bin/sh is bash, so moving every
 * PATH entry named flock away is enough: the test checks that `sh -c 'command -v flock'`
 * then fails, which is what the scripts see.
 * Run: IPVS_LAB=required node --import tsx --test test/lab/director-lacks-tools.test.ts
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requireLabOrSkip, shq, VIP_V4, type LabDirector } from "./lab.js";
import { labSpec, liveRules, natRules, natService, resetDirector, rsAddress, useLabDirector } from "./support/rollout-harness.js";

const VIP = VIP_V4(30);
const OLD_RULES = natRules(VIP, 80, "wrr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 1 }]);
const NEW_RULES = natRules(VIP, 80, "rr", [{ address: rsAddress(2), weight: 2 }, { address: rsAddress(3), weight: 1 }]);
const OWNERS = "cat /var/lib/ipvsc/owners/*.owned 2>/dev/null; true";
const PATH_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const HIDDEN = "/root/tools.hidden";

/** Moves every PATH entry named `tool` (file or link) to /root/tools.hidden; returns what the entry was. */
async function hideTool(lab: LabDirector, tool: string): Promise<string> {
  const t = shq(tool);
  return lab.run([
    `set -e`,
    `what=$(readlink -f "$(command -v ${t})")`,
    `echo "$what"`,
    ...PATH_DIRS.map((d) => `if [ -e ${d}/${t} ] || [ -L ${d}/${t} ]; then mkdir -p ${HIDDEN}${d}; mv ${d}/${t} ${HIDDEN}${d}/; fi`),
    `hash -r`,
    `if sh -c 'command -v ${tool}' > /dev/null; then echo "${tool} still found by sh: $(sh -c 'command -v ${tool}')" >&2; exit 1; fi`,
  ].join("\n"));
}

/** Puts back what hideTool moved away. */
async function restoreTool(lab: LabDirector, tool: string): Promise<void> {
  const t = shq(tool);
  await lab.run([
    ...PATH_DIRS.map((d) => `if [ -e ${HIDDEN}${d}/${t} ] || [ -L ${HIDDEN}${d}/${t} ]; then mv ${HIDDEN}${d}/${t} ${d}/; fi`),
    `sh -c 'command -v ${tool}' > /dev/null`,
  ].join("\n"));
}

describe("a director that lacks a tool says so", { timeout: 240_000 }, () => {
  const { director, ws } = useLabDirector();

  it("without flock: apply refused with \"director lacks flock\", the table untouched; with flock back the same apply succeeds", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab, OLD_RULES);
    const spec = ws.writeSpec("lacks-flock", labSpec(lab, [natService({ name: "web", vip: VIP, scheduler: "rr", servers: [{ rs: 2, weight: 2 }, { rs: 3 }] })]));
    const owners = await lab.run(OWNERS);

    const flock = await hideTool(lab, "flock");
    try {
      assert.doesNotMatch(flock, /busybox/, `flock is util-linux's here, not a busybox applet: ${flock}`);
      const r = await ws.cli(["apply", spec, "--yes"]);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.out, /^\[lab1\] ipvsc: refused: director lacks flock$/m);
      // the summary line carries the reason from the director's log
      assert.match(r.out, /^lab1: FAILED; the director is in its OLD state: refused: director lacks flock \(\d+\.\d s\)$/m);
      assert.doesNotMatch(r.out, /another apply holds the lock/);
      assert.equal(await liveRules(lab), OLD_RULES, "the live table is unchanged");
      assert.equal(await lab.run(OWNERS), owners, "no ownership record written");
      // no worker ran: the run directory has neither a log nor a result
      assert.equal((await lab.run("ls /var/lib/ipvsc/runs/*/log /var/lib/ipvsc/runs/*/result 2>/dev/null; true")).trim(), "");
    } finally {
      await restoreTool(lab, "flock");
    }

    const again = await ws.cli(["apply", spec, "--yes"]);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, /lab1: applied; the director is in its NEW state/);
    assert.equal(await liveRules(lab), NEW_RULES);
  });

  it("without ipvsadm and awk: plan and drift say what the director lacks", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab, OLD_RULES);
    const spec = ws.writeSpec("lacks-ipvsadm", labSpec(lab, [natService({ name: "web", vip: VIP, servers: [{ rs: 1 }] })]));
    await hideTool(lab, "ipvsadm");
    await hideTool(lab, "awk");
    try {
      for (const command of ["plan", "drift"]) {
        const r = await ws.cli([command, spec]);
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.err, /reading the state of lab1 failed \(exit 10\): director lacks ipvsadm, awk$/m, r.err);
      }
    } finally {
      await restoreTool(lab, "awk");
      await restoreTool(lab, "ipvsadm");
    }
    assert.equal(await liveRules(lab), OLD_RULES);
    const plan = await ws.cli(["plan", spec]);
    assert.equal(plan.code, 0, plan.out + plan.err);
  });
});
