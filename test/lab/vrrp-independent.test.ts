/**
 * Two VRRP instances that are in no sync group fail over independently (issue #16,
 * point 6), on two real directors sharing one link (QEMU lab, see lab.ts): keepalived runs
 * the configs we render for lb-a (dir1, priority 150) and lb-b (dir2, 140), unicast VRRP on
 * eth1, VI_1 with VIP 192.0.2.101 and VI_2 with VIP 192.0.2.102. VI_1 tracks the interface
 * trk1 (a veth made on each director): taking trk1 down on lb-a faults VI_1 there.
 *
 *   - `syncGroups: []`: VI_1's VIP moves to lb-b, VI_2's stays on lb-a (and only there);
 *     trk1 up again: VI_1 comes back to lb-a (it preempts).
 *   - the control, the default one group of every instance: the same fault on lb-a moves
 *     both VIPs to lb-b.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compile, type CompileOutput } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { bootDirectors, labStatus, requireLabOrSkip, type LabDirector } from "./lab.js";
import { startKeepalived, stopKeepalived } from "./support/keepalived-lab.js";

const VIP1 = "192.0.2.101";
const VIP2 = "192.0.2.102";
/** bound on a VIP's move (advert_int 1: the backup takes over after ~3 s) */
const MOVE_SEC = 15;

function spec(a: LabDirector, b: LabDirector, independent: boolean): SpecInput {
  return {
    directors: [
      { name: "lb-a", address: a.linkV4!, interfaces: ["eth0", "eth1", "trk1"] },
      { name: "lb-b", address: b.linkV4!, interfaces: ["eth0", "eth1", "trk1"] },
    ],
    services: [],
    vrrp: {
      instances: [
        { name: "VI_1", interface: "eth1", virtualRouterId: 61, vips: [`${VIP1}/32`], unicast: true, trackInterfaces: [{ name: "trk1" }] },
        { name: "VI_2", interface: "eth1", virtualRouterId: 62, vips: [`${VIP2}/32`], unicast: true },
      ],
      ...(independent ? { syncGroups: [] } : {}),
    },
  };
}

function compiled(s: SpecInput): CompileOutput {
  const r = compile(s);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output;
}

async function holds(d: LabDirector, vip: string): Promise<boolean> {
  return (await d.run("ip -o -4 addr show dev eth1")).includes(` ${vip}/`);
}

/** Waits in the guest until `d` holds (or, with `held` false, no longer holds) `vip`. */
async function waitVip(d: LabDirector, vip: string, held: boolean, timeoutSec: number): Promise<boolean> {
  const test = `ip -o -4 addr show dev eth1 | grep -q ' ${vip}/'`;
  const r = await d.exec(
    `i=0; while [ $i -lt ${timeoutSec * 20} ]; do if ${test}; then [ ${held ? 1 : 0} = 1 ] && exit 0; else [ ${held ? 1 : 0} = 0 ] && exit 0; fi; sleep 0.05; i=$((i+1)); done; exit 1`,
    { timeoutMs: (timeoutSec + 30) * 1000 },
  );
  return r.code === 0;
}

describe("VRRP instances outside any sync group fail over independently (two real directors)", { timeout: 400_000 }, () => {
  let a: LabDirector | undefined;
  let b: LabDirector | undefined;
  before(async () => {
    if (!labStatus().available) return;
    [a, b] = await bootDirectors(2, { sharedLink: true });
    for (const d of [a!, b!]) await d.run("ip link add trk1 type veth peer name trk1p && ip link set trk1 up && ip link set trk1p up");
  }, { timeout: 200_000 });
  after(async () => {
    for (const d of [a, b]) if (d) await stopKeepalived(d).catch(() => undefined);
    await Promise.all([a, b].map((d) => d?.close()));
  });

  async function start(independent: boolean): Promise<void> {
    const out = compiled(spec(a!, b!, independent));
    const conf = out.directors[0]!.keepalivedConf;
    assert.equal(/vrrp_sync_group/.test(conf), !independent, conf);
    await startKeepalived(a!, out.directors[0]!);
    await startKeepalived(b!, out.directors[1]!);
    for (const vip of [VIP1, VIP2]) assert.ok(await waitVip(a!, vip, true, MOVE_SEC), `${vip} comes up on lb-a`);
    for (const vip of [VIP1, VIP2]) assert.equal(await holds(b!, vip), false, `${vip} not on lb-b`);
  }

  async function stopBoth(): Promise<void> {
    for (const d of [a!, b!]) await stopKeepalived(d);
  }

  it(`syncGroups: []: a fault of VI_1 on lb-a moves VI_1's VIP to lb-b within ${MOVE_SEC} s, VI_2's stays on lb-a; VI_1 comes back`, { timeout: 150_000 }, async (t) => {
    if (!requireLabOrSkip(t) || !a || !b) return;
    await start(true);
    try {
      await a.run("ip link set trk1 down");
      const started = Date.now();
      assert.ok(await waitVip(b, VIP1, true, MOVE_SEC), "VI_1's VIP moves to lb-b");
      t.diagnostic(`VI_1 moved to lb-b ${Date.now() - started} ms after trk1 went down on lb-a`);
      assert.equal(await holds(a, VIP1), false, "and leaves lb-a");
      // VI_2 is not in VI_1's fate: still on lb-a a few adverts later, never on lb-b
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(await holds(a, VIP2), true, "VI_2's VIP stays on lb-a");
      assert.equal(await holds(b, VIP2), false, "VI_2's VIP is not on lb-b");
      await a.run("ip link set trk1 up");
      assert.ok(await waitVip(a, VIP1, true, MOVE_SEC), "VI_1 comes back to lb-a (it preempts)");
      assert.ok(await waitVip(b, VIP1, false, MOVE_SEC), "and leaves lb-b");
    } finally {
      await a.run("ip link set trk1 up");
      await stopBoth();
    }
  });

  it(`control, one sync group of both: the same fault moves both VIPs to lb-b within ${MOVE_SEC} s`, { timeout: 150_000 }, async (t) => {
    if (!requireLabOrSkip(t) || !a || !b) return;
    await start(false);
    try {
      await a.run("ip link set trk1 down");
      assert.ok(await waitVip(b, VIP1, true, MOVE_SEC), "VI_1's VIP moves to lb-b");
      assert.ok(await waitVip(b, VIP2, true, MOVE_SEC), "VI_2's VIP moves with it");
      assert.equal(await holds(a, VIP2), false, "and leaves lb-a");
    } finally {
      await a.run("ip link set trk1 up");
      await stopBoth();
    }
  });
});
