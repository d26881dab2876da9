/**
 * Lab benchmark (real 6.1 kernel under QEMU TCG): one weight changed in a 2,000-service
 * table, applied by ipvsc (plan + delta apply over SSH) and the naive way (ipvsadm -C then
 * ipvsadm -R of the whole table). Emulated CPUs are slow and this machine is noisy, so the
 * figures that matter are the ratios and the kernel operation counts, measured in one run.
 *
 *   npx tsx bench/lab-apply.ts [--services 2000] [--runs 5] [--profile]
 *
 * --profile traces each apply (IPVSC_TRACE=1, src/ssh/trace.ts) and prints the median time
 * of every step: host steps on the host's clock, the director's on its /proc/uptime.
 */
import { parseArgs } from "node:util";
import { compile } from "../src/compile.js";
import type { SpecInput } from "../src/schema/spec-schema.js";
import { setTraceSink, type TraceEvent } from "../src/ssh/trace.js";
import { bootDirectors, labStatus } from "../test/lab/lab.js";
import { labSpec, RolloutWorkspace, resetDirector } from "../test/lab/support/rollout-harness.js";

const { values } = parseArgs({
  options: { services: { type: "string", default: "2000" }, runs: { type: "string", default: "5" }, profile: { type: "boolean", default: false } },
});
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

/**
 * The steps of one traced apply and what each took: a stamp's step took the time since the
 * stamp before it on the same clock (host: the CLI's start; director: the script's start).
 */
function stepTimes(events: TraceEvent[], startedMs: number, endedMs: number): [string, number][] {
  const out: [string, number][] = [];
  let hostPrev = startedMs, hostFirst = true, guestPrev: number | undefined;
  for (const e of events) {
    if (e.clock === "host") {
      out.push([hostFirst ? `host: CLI start .. ${e.step} (load, validate, compile the spec)` : `host: ${e.step}`, e.ms - hostPrev]);
      hostPrev = e.ms;
      hostFirst = false;
    } else if (/: start$/.test(e.step)) {
      guestPrev = e.ms;
    } else {
      out.push([`  director: ${e.step}`, guestPrev === undefined ? 0 : e.ms - guestPrev]);
      guestPrev = e.ms;
    }
  }
  out.push(["host: .. CLI end (report)", endedMs - hostPrev]);
  return out;
}

async function main(): Promise<void> {
  let events: TraceEvent[] = [];
  if (values.profile) {
    process.env.IPVSC_TRACE = "1";
    setTraceSink((e) => events.push(e));
  }
  const profiles: [string, number][][] = [];
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
      events = [];
      const started = Date.now();
      const applied = await ws.cli(["apply", target, "--yes"]);
      if (applied.code !== 0) throw new Error(applied.out + applied.err);
      ours.push(applied.ms);
      if (values.profile) {
        profiles.push(stepTimes(events, started, started + applied.ms));
        for (const e of events) console.error(`trace run ${run}: ${e.clock} ${e.ms} ${e.step}`);
      }
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
    if (profiles.length > 0) {
      // the steps of the first run, in order; a step a run lacks counts 0 there
      console.log(`\nper-step profile of \`ipvsc apply\` (medians of ${profiles.length} runs; director steps on its own clock, inside the host step that waits for them)`);
      console.log("| step | ms |");
      console.log("|---|---:|");
      const names = [...new Set(profiles.flatMap((p) => p.map(([n]) => n)))];
      for (const n of names) {
        const per = profiles.map((p) => p.filter(([m]) => m === n).reduce((a, [, ms]) => a + ms, 0));
        console.log(`| ${n} | ${median(per)} |`);
      }
    }
  } finally {
    ws.cleanup();
    await d!.close();
  }
}

await main();
