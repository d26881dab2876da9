/**
 * Lab benchmark (real 6.1 kernel under QEMU TCG): one weight changed in a table of each
 * size in --services (2,000 and 10,000 services of 4 real servers by default), planned and
 * applied by ipvsc end to end (the CLI in-process: compile, read over SSH, plan; upload,
 * apply, verify), against a bare `ipvsadm -S -n` on the same director (over SSH, its output
 * brought to the host, as any planner needs it; and inside the guest alone) and against
 * the naive reload (ipvsadm -C then ipvsadm -R of the whole table). The plan is saved
 * (`plan --out`), applied by `ipvsc apply` end to end right after (its read finds the
 * digests the plan's read kept), taken back end to end (the first read after a change joins
 * and hashes), and applied again as `apply --plan` (no read: a reviewed plan rolled out). readLiveState's
 * digest read (with no kept digests, then with the ones it kept) and full read are timed
 * side by side. Then --directors lab directors (8) with
 * --fleet-services services each, planned by `ipvsc plan --parallel N` against one
 * director alone (`--director`). Emulated CPUs are slow and this machine is noisy, so the
 * figures that matter are the ratios, measured in one run (medians of --runs).
 *
 *   npx tsx bench/lab-apply.ts [--services 2000,10000] [--runs 3] [--directors 8]
 *     [--fleet-services 1000] [--profile]
 *
 * --profile traces each apply (IPVSC_TRACE=1, src/ssh/trace.ts) and prints the median time
 * of every step: host steps on the host's clock, the director's on its /proc/uptime.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compile } from "../src/compile.js";
import type { SpecInput } from "../src/schema/spec-schema.js";
import { readLiveState } from "../src/ssh/director-client.js";
import { SshSession } from "../src/ssh/ssh-session.js";
import { setTraceSink, type TraceEvent } from "../src/ssh/trace.js";
import { bootDirectors, labStatus, type LabDirector } from "../test/lab/lab.js";
import { LAB_INTERFACES, labSpec, RolloutWorkspace, resetDirector } from "../test/lab/support/rollout-harness.js";

const { values } = parseArgs({
  options: {
    services: { type: "string", default: "2000,10000" },
    runs: { type: "string", default: "3" },
    directors: { type: "string", default: "8" },
    "fleet-services": { type: "string", default: "1000" },
    profile: { type: "boolean", default: false },
  },
});
const SIZES = values.services.split(",").filter((x) => x !== "").map(Number).filter((n) => n > 0);
const RUNS = Number(values.runs);
const FLEET = Number(values.directors);
const FLEET_SERVICES = Number(values["fleet-services"]);
const SERVERS = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** `count` NAT services on documentation-range VIPs, SERVERS real servers each; `bump` changes one weight. */
function services(bump: number, count: number): SpecInput["services"] {
  return Array.from({ length: count }, (_, i) => ({
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

let events: TraceEvent[] = [];

/** The medians of one size, for the summary. */
interface SizeResult {
  services: number;
  bareSsh: number;
  bareGuest: number;
  readDigest: number;
  readKept: number;
  applySaved: number;
  applyKept: number;
  readFull: number;
  plan: number;
  apply: number;
  ops: number;
  oursKernel: number;
  naive: number;
  naiveKernel: number;
}

const ratio = (a: number, b: number) => `${(a / Math.max(1, b)).toFixed(2)}x`;

/** One size on director `d`: bare read, reads, plan, apply, naive reload; `RUNS` times each. */
async function benchSize(d: LabDirector, count: number): Promise<SizeResult> {
  const ws = new RolloutWorkspace();
  const profiles: [string, number][][] = [];
  try {
    const specs = [1, 2].map((w) => labSpec(d, services(w, count)));
    const files = specs.map((s, i) => ws.writeSpec(`s${i}`, s));
    const compiled = specs.map((s) => {
      const r = compile(s);
      if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 3)));
      return r.output;
    });
    const rules = compiled.map((o) => o.ipvsadmRules);
    // the starting state as a first apply leaves it (the table, this owner's record), loaded
    // with ipvsadm -R: a first ipvsc apply of 10,000 services takes minutes under TCG and is
    // not what is measured here
    await resetDirector(d);
    await d.run("cat > /tmp/start.rules && ipvsadm -R < /tmp/start.rules", { stdin: rules[0]!, timeoutMs: 600_000 });
    const adopt = await ws.cli(["plan", files[0]!, "--format", "json"]);
    const record = (JSON.parse(adopt.out) as { directors: { ownershipRecord: string }[] }).directors[0]!.ownershipRecord;
    await d.run("mkdir -p /var/lib/ipvsc/owners && cat > /var/lib/ipvsc/owners/ipvsc.owned", { stdin: record });

    // busybox date has no %N: /proc/uptime has 10 ms resolution, enough for these commands
    const guestMs = async (cmd: string): Promise<number> => {
      const out = await d.run(`s=$(cut -d' ' -f1 /proc/uptime); ${cmd}; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"`, { timeoutMs: 600_000 });
      const [s, e] = out.trim().split(/\s+/).slice(-2).map(Number);
      return Math.round(((e ?? 0) - (s ?? 0)) * 1000);
    };
    const target = { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey, privateKeyPath: d.privateKeyPath };
    const m = {
      bareSsh: [] as number[], bareGuest: [] as number[], readDigest: [] as number[], readKept: [] as number[], readFull: [] as number[], plan: [] as number[],
      apply: [] as number[], applyKept: [] as number[], applySaved: [] as number[], oursKernel: [] as number[], naive: [] as number[], naiveKernel: [] as number[],
      snapSorted: [] as number[], snapPlain: [] as number[],
    };
    let ops = 0;
    // every run starts from table 0 and changes one weight (table 1): planned and saved;
    // applied end to end right after (its read finds the digests the plan kept); back to table
    // 0 end to end (the first read after a change); the saved plan applied (no read: what a
    // reviewed plan costs to roll out); then the naive reload of table 0
    const next = 1;
    const targetFile = files[next]!;
    const savedPlan = join(ws.dir, "saved-plan.json");
    for (let run = 0; run < RUNS; run++) {
      // the bare read: over SSH with its output on the host, and inside the guest alone
      let t0 = Date.now();
      await d.run("ipvsadm -S -n", { timeoutMs: 600_000 });
      m.bareSsh.push(Date.now() - t0);
      m.bareGuest.push(await guestMs("ipvsadm -S -n > /dev/null"));
      // the apply worker's snapshot + fingerprint passes, before (sorted again) and after (issue #17, point 4)
      m.snapSorted.push(await guestMs("ipvsadm -S -n | LC_ALL=C sort > /tmp/snap; cat /tmp/snap | sha256sum > /dev/null"));
      m.snapPlain.push(await guestMs("ipvsadm -S -n > /tmp/snap; cat /tmp/snap | sha256sum > /dev/null"));
      // readLiveState alone (one connection each, as a plan makes): the digest read and the full read
      const dm = compiled[next]!.model.directors[0]!;
      const expected = { table: dm.table, rules: compiled[next]!.directors[0]!.ipvsadmRules };
      // the digest read first with no kept digests (each service hashed: the first read after
      // the table changed), then again (the digests the first one kept), then the full read
      await d.run("rm -f /var/lib/ipvsc/kept-digests");
      for (const [read, into] of [["digest", m.readDigest], ["digest", m.readKept], ["full", m.readFull]] as const) {
        t0 = Date.now();
        const session = await SshSession.connect(target);
        try {
          await readLiveState(session, dm.name, "/etc/keepalived", expected, { read });
        } finally {
          session.close();
        }
        into.push(Date.now() - t0);
      }
      const plan = await ws.cli(["plan", targetFile, "--format", "json", "--out", savedPlan]);
      if (plan.code !== 0 && plan.code !== 2) throw new Error(plan.out + plan.err);
      m.plan.push(plan.ms);
      const parsed = JSON.parse(plan.out) as { directors: { batches: { apply: string[]; finalize: string[] } }[] };
      ops = parsed.directors[0]!.batches.apply.length + parsed.directors[0]!.batches.finalize.length;
      // every run makes the same two changes: without the earlier runs' directories the apply
      // script takes each for a new plan, as it does in use (a rerun of one plan first checks
      // whether the director went back to the state the plan was made for: one more read)
      await d.run("rm -rf /var/lib/ipvsc/runs");
      // apply end to end of the same change, right after the plan: its read finds the digests
      // the plan's read kept (the table has not changed since: plan in review, apply on merge)
      const appliedKept = await ws.cli(["apply", targetFile, "--yes"]);
      if (appliedKept.code !== 0) throw new Error(appliedKept.out + appliedKept.err);
      m.applyKept.push(appliedKept.ms);
      // back to table 0 end to end: the first read after a change joins and hashes
      events = [];
      const started = Date.now();
      const applied = await ws.cli(["apply", files[0]!, "--yes"]);
      if (applied.code !== 0) throw new Error(applied.out + applied.err);
      m.apply.push(applied.ms);
      if (values.profile) {
        profiles.push(stepTimes(events, started, started + applied.ms));
        for (const e of events) console.error(`trace ${count} run ${run}: ${e.clock} ${e.ms} ${e.step}`);
      }
      // the saved plan was made on table 0, where the director is again
      await d.run("rm -rf /var/lib/ipvsc/runs");
      const appliedSaved = await ws.cli(["apply", targetFile, "--plan", savedPlan, "--yes"]);
      if (appliedSaved.code !== 0) throw new Error(appliedSaved.out + appliedSaved.err);
      m.applySaved.push(appliedSaved.ms);
      // the kernel-side cost alone: the same one-line batch, timed inside the guest
      const line = parsed.directors[0]!.batches.apply[0] ?? "";
      m.oursKernel.push(await guestMs(`echo '${line}' | ipvsadm -R`));
      console.log(`run ${run} at ${count}: bare -S over SSH ${m.bareSsh.at(-1)} ms (guest ${m.bareGuest.at(-1)}), digest read ${m.readDigest.at(-1)} (kept digests ${m.readKept.at(-1)}), full read ${m.readFull.at(-1)}, plan ${plan.ms}, apply after the plan ${appliedKept.ms}, apply after a change ${applied.ms}, apply of the saved plan ${appliedSaved.ms}; snapshot+fingerprint sorted ${m.snapSorted.at(-1)} / plain ${m.snapPlain.at(-1)} ms`);

      await d.run(`cat > /tmp/full.rules`, { stdin: rules[0]! });
      t0 = Date.now();
      m.naiveKernel.push(await guestMs("ipvsadm -C; ipvsadm -R < /tmp/full.rules"));
      m.naive.push(Date.now() - t0);
    }
    const r: SizeResult = {
      services: count, ops, bareSsh: median(m.bareSsh), bareGuest: median(m.bareGuest), readDigest: median(m.readDigest), readKept: median(m.readKept), readFull: median(m.readFull),
      plan: median(m.plan), apply: median(m.apply), applyKept: median(m.applyKept), applySaved: median(m.applySaved), oursKernel: median(m.oursKernel), naive: median(m.naive), naiveKernel: median(m.naiveKernel),
    };
    const naiveOps = 1 + count * (1 + SERVERS);
    console.log(`\n### ${count} services x ${SERVERS} real servers, one weight changed, ${RUNS} runs (medians)`);
    console.log(`| | ms | vs bare \`ipvsadm -S -n\` over SSH |`);
    console.log(`|---|---:|---:|`);
    console.log(`| bare \`ipvsadm -S -n\` over SSH (output to the host) | ${r.bareSsh} | 1x |`);
    console.log(`| bare \`ipvsadm -S -n\` inside the guest | ${r.bareGuest} | ${ratio(r.bareGuest, r.bareSsh)} |`);
    console.log(`| readLiveState, digest read, each service hashed (connect + read-state + parse) | ${r.readDigest} | ${ratio(r.readDigest, r.bareSsh)} |`);
    console.log(`| readLiveState, digest read, kept digests | ${r.readKept} | ${ratio(r.readKept, r.bareSsh)} |`);
    console.log(`| readLiveState, full read | ${r.readFull} | ${ratio(r.readFull, r.bareSsh)} |`);
    console.log(`| \`ipvsc plan\` end to end (compile, read, plan) | ${r.plan} | ${ratio(r.plan, r.bareSsh)} |`);
    console.log(`| \`ipvsc apply --plan\` of the saved plan (compile, load the plan, upload, apply, verify; no read) | ${r.applySaved} | ${ratio(r.applySaved, r.bareSsh)} |`);
    console.log(`| \`ipvsc apply\` end to end, right after a plan (compile, read with kept digests, plan, upload, apply, verify) | ${r.applyKept} | ${ratio(r.applyKept, r.bareSsh)} |`);
    console.log(`| \`ipvsc apply\` end to end, the first read after a change (compile, read: join + hash, plan, upload, apply, verify) | ${r.apply} | ${ratio(r.apply, r.bareSsh)} |`);
    console.log(`| naive \`ipvsadm -C\` + \`-R\` (${naiveOps} kernel operations; in the guest ${r.naiveKernel} ms) | ${r.naive} | ${ratio(r.naive, r.bareSsh)} |`);
    console.log(`ipvsc's kernel operations: ${ops}, ${r.oursKernel} ms in the guest; digest read / full read ${ratio(r.readDigest, r.readFull)}`);
    console.log(`apply worker's snapshot + fingerprint in the guest: sorted again (before) ${median(m.snapSorted)} ms, as ipvsadm prints it (after) ${median(m.snapPlain)} ms`);
    if (profiles.length > 0) {
      // the steps of the first run, in order; a step a run lacks counts 0 there
      console.log(`\nper-step profile of \`ipvsc apply\` at ${count} services (medians of ${profiles.length} runs; director steps on its own clock, inside the host step that waits for them)`);
      console.log("| step | ms |");
      console.log("|---|---:|");
      const names = [...new Set(profiles.flatMap((p) => p.map(([n]) => n)))];
      for (const n of names) {
        const per = profiles.map((p) => p.filter(([x]) => x === n).reduce((a, [, ms]) => a + ms, 0));
        console.log(`| ${n} | ${median(per)} |`);
      }
    }
    return r;
  } finally {
    ws.cleanup();
  }
}

/**
 * FLEET directors with FLEET_SERVICES services each, applied once; then one weight change
 * planned on all of them with --parallel FLEET, and on one of them alone.
 */
async function benchFleet(): Promise<void> {
  const ds = await bootDirectors(FLEET);
  const ws = new RolloutWorkspace();
  try {
    const spec = (bump: number): SpecInput => ({
      ...labSpec(ds[0]!, services(bump, FLEET_SERVICES)),
      directors: ds.map((d, k) => ({
        name: `lab${k + 1}`,
        interfaces: LAB_INTERFACES,
        ssh: { host: "127.0.0.1", port: d.sshPort, user: "root" as const, hostKey: d.hostKey, privateKeyPath: d.privateKeyPath },
      })),
    });
    const files = [1, 2].map((w) => ws.writeSpec(`fleet${w}`, spec(w)));
    await Promise.all(ds.map((d) => resetDirector(d)));
    const first = await ws.cli(["apply", files[0]!, "--yes", "--parallel", String(FLEET)]);
    if (first.code !== 0) throw new Error(first.out + first.err);
    // one plan of every director first, untimed: each then reads with the digests it kept, as
    // every later plan of an unchanged fleet does (the first read after a change joins and hashes)
    const warm = await ws.cli(["plan", files[1]!, "--parallel", String(FLEET)]);
    if (warm.code !== 0 && warm.code !== 2) throw new Error(warm.out + warm.err);
    const widths = [...new Set([FLEET, 2, 1])];
    const one: number[] = [];
    const at = new Map<number, number[]>(widths.map((w) => [w, []]));
    const plan = async (args: string[]): Promise<number> => {
      const r = await ws.cli(["plan", files[1]!, ...args]);
      if (r.code !== 0 && r.code !== 2) throw new Error(r.out + r.err);
      return r.ms;
    };
    for (let run = 0; run < RUNS; run++) {
      one.push(await plan(["--director", "lab1"]));
      for (const w of widths) at.get(w)!.push(await plan(["--parallel", String(w)]));
      console.log(`fleet run ${run}: one ${one.at(-1)} ms, ${widths.map((w) => `--parallel ${w} ${at.get(w)!.at(-1)} ms`).join(", ")}`);
    }
    console.log(`\n### ${FLEET} lab directors x ${FLEET_SERVICES} services, one weight changed, \`ipvsc plan\` (${RUNS} runs, medians)`);
    console.log("| | ms | vs one director |");
    console.log("|---|---:|---:|");
    console.log(`| one director (\`--director lab1\`) | ${median(one)} | 1x |`);
    for (const w of widths) console.log(`| ${FLEET} directors, \`--parallel ${w}\` | ${median(at.get(w)!)} | ${ratio(median(at.get(w)!), median(one))} |`);
  } finally {
    ws.cleanup();
    await Promise.all(ds.map((d) => d.close()));
  }
}

async function main(): Promise<void> {
  if (values.profile) {
    process.env.IPVSC_TRACE = "1";
    setTraceSink((e) => events.push(e));
  }
  const status = labStatus();
  if (!status.available) throw new Error(`lab unavailable: ${status.reason}`);
  const started = Date.now();
  console.log(`lab benchmark, ${new Date().toISOString()}, ${RUNS} runs per figure`);
  const results: SizeResult[] = [];
  if (SIZES.length > 0) {
    const [d] = await bootDirectors(1);
    try {
      for (const size of SIZES) results.push(await benchSize(d!, size));
      await resetDirector(d!);
    } finally {
      await d!.close();
    }
  }
  if (results.length > 0) {
    console.log("\n### Summary (targets: plan <= 2x a bare `ipvsadm -S -n`, apply <= 3x)");
    console.log("| services | bare -S over SSH | digest read (hashed / kept) | plan | plan / bare | apply --plan | apply --plan / bare | apply after a plan | / bare | apply after a change | / bare | naive reload |");
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
      console.log(`| ${r.services} | ${r.bareSsh} | ${r.readDigest} / ${r.readKept} | ${r.plan} | ${ratio(r.plan, r.bareSsh)} | ${r.applySaved} | ${ratio(r.applySaved, r.bareSsh)} | ${r.applyKept} | ${ratio(r.applyKept, r.bareSsh)} | ${r.apply} | ${ratio(r.apply, r.bareSsh)} | ${r.naive} |`);
    }
  }
  if (FLEET > 1) await benchFleet();
  console.log(`\nwhole benchmark: ${Math.round((Date.now() - started) / 1000)} s`);
}

await main();
