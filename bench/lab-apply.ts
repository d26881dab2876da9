/**
 * Lab benchmark (real 6.1 kernel under QEMU TCG): one weight changed in a 2,000-service
 * table, applied by ipvsc (plan + delta apply over SSH) and the naive way (ipvsadm -C then
 * ipvsadm -R of the whole table). Emulated CPUs are slow and this machine is noisy, so the
 * figures that matter are the ratios and the kernel operation counts, measured in one run.
 *
 *   npx tsx bench/lab-apply.ts [--services 2000] [--runs 5]
 */
import { parseArgs } from "node:util";
import { compile } from "../src/compile.js";
import type { SpecInput } from "../src/schema/spec-schema.js";
import { bootDirectors, labStatus } from "../test/lab/lab.js";
import { labSpec, RolloutWorkspace, resetDirector } from "../test/lab/support/rollout-harness.js";

const { values } = parseArgs({ options: { services: { type: "string", default: "2000" }, runs: { type: "string", default: "5" } } });
const SERVICES = Number(values.services);
const RUNS = Number(values.runs);
const SERVERS = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** SERVICES NAT services on documentation-range VIPs, SERVERS real servers each; `bump` changes one weight. */
function services(bump: number): SpecInput["services"] {
  return Array.from({ length: SERVICES }, (_, i) => ({
    name: `svc${i}`,
    protocol: "tcp" as const,
    address: `203.0.113.${128 + (i % 64)}`,
    port: 1000 + Math.floor(i / 64),
    scheduler: "wlc" as const,
    pool: {
      forwarding: { method: "nat" as const },
      servers: Array.from({ length: SERVERS }, (_, k) => ({ address: `192.0.2.${10 + k}`, port: 8080, weight: i === 0 && k === 0 ? bump : 1 })),
    },
  }));
}

async function main(): Promise<void> {
  const status = labStatus();
  if (!status.available) throw new Error(`lab unavailable: ${status.reason}`);
  const [d] = await bootDirectors(1);
  const ws = new RolloutWorkspace();
  try {
    const specs = [1, 2].map((w) => labSpec(d!, services(w)));
    const files = specs.map((s, i) => ws.writeSpec(`s${i}`, s));
    const rules = specs.map((s) => {
      const r = compile(s);
      if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 3)));
      return r.output.ipvsadmRules;
    });
    await resetDirector(d!);
    const first = await ws.cli(["apply", files[0]!, "--yes"]);
    if (first.code !== 0) throw new Error(first.out + first.err);

    // busybox date has no %N: /proc/uptime has 10 ms resolution, enough for these commands
    const guestMs = async (cmd: string): Promise<number> => {
      const out = await d!.run(`s=$(cut -d' ' -f1 /proc/uptime); ${cmd}; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"`);
      const [s, e] = out.trim().split(/\s+/).slice(-2).map(Number);
      return Math.round(((e ?? 0) - (s ?? 0)) * 1000);
    };
    const ours: number[] = [], oursKernel: number[] = [], naive: number[] = [], naiveKernel: number[] = [];
    let ops = 0;
    for (let run = 0; run < RUNS; run++) {
      const target = files[(run + 1) % 2]!;
      const plan = await ws.cli(["plan", target, "--format", "json"]);
      const parsed = JSON.parse(plan.out) as { directors: { batches: { apply: string[]; finalize: string[] } }[] };
      ops = parsed.directors[0]!.batches.apply.length + parsed.directors[0]!.batches.finalize.length;
      const applied = await ws.cli(["apply", target, "--yes"]);
      if (applied.code !== 0) throw new Error(applied.out + applied.err);
      ours.push(applied.ms);
      // the kernel-side cost alone: the same one-line batch, timed inside the guest
      const line = parsed.directors[0]!.batches.apply[0] ?? "";
      oursKernel.push(await guestMs(`echo '${line}' | ipvsadm -R`));

      await d!.run(`cat > /tmp/full.rules`, { stdin: rules[(run + 1) % 2]! });
      const t0 = Date.now();
      naiveKernel.push(await guestMs("ipvsadm -C; ipvsadm -R < /tmp/full.rules"));
      naive.push(Date.now() - t0);
    }
    const naiveOps = 1 + SERVICES * (1 + SERVERS);
    console.log(`lab apply benchmark: ${SERVICES} services x ${SERVERS} real servers, one weight changed, ${RUNS} runs (medians)`);
    console.log(`| | kernel operations | kernel-side time (in guest) | end to end |`);
    console.log(`|---|---:|---:|---:|`);
    console.log(`| ipvsc delta (plan + apply over SSH) | ${ops} | ${median(oursKernel)} ms | ${median(ours)} ms |`);
    console.log(`| ipvsadm -C + -R | ${naiveOps} | ${median(naiveKernel)} ms | ${median(naive)} ms |`);
    console.log(`kernel-side ratio naive/delta: ${(median(naiveKernel) / Math.max(1, median(oursKernel))).toFixed(1)}x; operations ratio ${(naiveOps / Math.max(1, ops)).toFixed(0)}x`);
    console.log("end to end includes ipvsc's plan read over SSH, upload, lock, verify; the naive path has no plan, no verify and drops traffic (see the zero-drop lab test)");
  } finally {
    ws.cleanup();
    await d!.close();
  }
}

await main();
