/**
 * Issue #17, point 1, on real kernels: one spec, two lab directors that share nothing (each
 * carries its own service), rolled out by `ipvsc apply --parallel 2`. Each plan drains a real
 * server that served a request a moment before (IPVS counts its connection in TIME_WAIT, so
 * the drain runs to its deadline): each director is busy for seconds after its "applying"
 * line, and both directors' "applying" lines arriving before either ends proves the two ran
 * at the same time. The output: each director's log one block, the summary in rollout order,
 * plain progress lines on stderr; both tables read back as the spec says.
 *
 * Run: IPVS_LAB=required node --import tsx --test test/lab/fleet-apply.test.ts
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { bootDirectors, clientRequests, labStatus, requireLabOrSkip, setupLabNetwork, VIP_V4, type LabDirector } from "./lab.js";
import { LAB_INTERFACES, liveRules, natRules, natService, resetDirector, rsAddress, RolloutWorkspace } from "./support/rollout-harness.js";

const NAMES = ["lab-a", "lab-b"] as const;
const VIPS = [VIP_V4(20), VIP_V4(21)];

describe("ipvsc apply --parallel on two lab directors", { timeout: 420_000 }, () => {
  let dirs: LabDirector[] = [];
  const ws = new RolloutWorkspace();
  before(async () => {
    if (!labStatus().available) return;
    dirs = await bootDirectors(2);
    await Promise.all(dirs.map((d) => setupLabNetwork(d)));
  }, { timeout: 300_000 });
  after(async () => {
    await Promise.all(dirs.map((d) => d.close()));
    ws.cleanup();
  });

  it("two independent directors apply side by side; output grouped per director, summary in rollout order", { timeout: 180_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const spec: SpecInput = {
      targetKernel: "6.1",
      directors: dirs.map((d, i) => ({
        name: NAMES[i]!,
        interfaces: LAB_INTERFACES,
        ssh: { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey, privateKeyPath: d.privateKeyPath },
      })),
      // each director its own service: nothing shared, two groups
      services: dirs.map((_, i) => ({ ...natService({ name: `web-${i}`, vip: VIPS[i]!, scheduler: "rr", servers: [{ rs: 2 }, { rs: 3 }] }), directors: [NAMES[i]!] })),
    };
    const file = ws.writeSpec("fleet", spec);
    // before: rs1 and rs2; the spec drops rs1 (drained) and adds rs3
    const old = (i: number) => natRules(VIPS[i]!, 80, "rr", [{ address: rsAddress(1), weight: 1 }, { address: rsAddress(2), weight: 1 }]);
    await Promise.all(dirs.map((d, i) => resetDirector(d, old(i))));
    // a request to each: rs1 keeps a connection entry (TIME_WAIT) for longer than the drain timeout
    for (const [i, d] of dirs.entries()) {
      const r = await clientRequests(d, { addr: VIPS[i]!, port: 80, count: 4 });
      assert.equal(r.failures, 0, r.stderr);
      assert.ok(r.servers.includes("rs1"), `rs1 served on ${NAMES[i]}: ${r.servers.join(",")}`);
    }

    const applied = await ws.cli(["apply", file, "--yes", "--parallel", "2", "--drain-timeout", "4"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    for (const [i, d] of dirs.entries()) {
      assert.equal(await liveRules(d), natRules(VIPS[i]!, 80, "rr", [{ address: rsAddress(2), weight: 1 }, { address: rsAddress(3), weight: 1 }]), NAMES[i]);
    }

    // concurrency, from the progress on stderr (one plain line per phase: not a terminal)
    const progress = applied.err.split("\n").filter((l) => l.startsWith("["));
    const at = (line: RegExp) => {
      const i = progress.findIndex((l) => line.test(l));
      assert.ok(i >= 0, `no ${line} in:\n${progress.join("\n")}`);
      return i;
    };
    for (const [a, b] of [NAMES, [...NAMES].reverse()] as const) {
      assert.ok(at(new RegExp(`^\\[${b}\\] applying \\d+ change\\(s\\)$`)) < at(new RegExp(`^\\[${a}\\] applied in \\d+\\.\\d s$`)),
        `${b} was applying before ${a} ended:\n${progress.join("\n")}`);
    }
    for (const n of NAMES) at(new RegExp(`^\\[${n}\\] reading state$`));

    // stdout: each director's log one block; the drain ran to its deadline on both
    const logLines = applied.out.split("\n").filter((l) => /^\[lab-[ab]\] /.test(l));
    const owners = logLines.map((l) => l.slice(1, 6));
    assert.deepEqual(owners.filter((o, i) => i === 0 || owners[i - 1] !== o).sort(), [...NAMES], `one block per director:\n${logLines.join("\n")}`);
    for (const n of NAMES) assert.ok(logLines.includes(`[${n}] ipvsc: drain deadline of 4 s reached with 1 real server(s) still busy; removing them`), logLines.join("\n"));
    const summary = applied.out.slice(applied.out.lastIndexOf("\n\n") + 2).split("\n").filter((l) => l !== "");
    assert.deepEqual(summary.map((l) => l.replace(/ \(\d+\.\d s\)$/, "")), [
      "lab-a: applied; the director is in its NEW state",
      "lab-b: applied; the director is in its NEW state",
      "summary: 2 applied, 0 FAILED, 0 not attempted, of 2 director(s)",
    ]);
    const took = summary.slice(0, 2).map((l) => Number(/\((\d+\.\d) s\)$/.exec(l)![1]));
    console.log(`fleet apply: lab-a ${took[0]} s, lab-b ${took[1]} s, the whole apply ${(applied.ms / 1000).toFixed(1)} s (one after the other: at least ${(took[0]! + took[1]!).toFixed(1)} s)`);
    assert.ok(applied.ms / 1000 < took[0]! + took[1]!, "the whole apply took less than the two applies one after the other");
  });
});
