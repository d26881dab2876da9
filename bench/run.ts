/**
 * `npm run bench`: compile time and peak memory for 1k/10k/50k services x 32 real servers,
 * from YAML text and from a TypeScript value; plan time against a live dump with 1% of the
 * real servers changed; and `keepalived -t -e -f` on the same director's keepalived.conf,
 * as a ratio to our compile time. Prints markdown tables (the format of BENCHMARKS.md).
 *
 * Every sample is a fresh `node --import tsx bench/case.ts ...` child: cold JIT, its own
 * heap, and `process.resourceUsage().maxRSS` that no other size polluted. Medians, min-max.
 *
 * The 50k/10k ratio is taken from pairs: each 50k compile sample comes right after a 10k
 * sample of the same form, and the ratio is the median of the pairs' ratios. The host
 * this runs on drifts by a third within minutes; the 10k and 50k medians are taken
 * minutes apart, so their ratio measures the drift as much as the scaling. Both are shown.
 *
 * Options: --sizes 1000,10000,50000  --runs 5 (sizes < 50k)  --runs-large 3 (sizes >= 50k)
 *          --ratio 10000:50000 (the sizes sampled in pairs for the scaling ratio)
 *          --no-keepalived  --json FILE (raw samples)  --keep (keep the temp dir)
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { keepalivedUnavailableReason } from "../test/support/keepalived-check.js";
import { scalingRatio, stats, type Sample, type SizeResult, type Stats } from "./bench-stats.js";
import { inputFiles } from "./case.js";

const run = promisify(execFile);
const CASE = fileURLToPath(new URL("./case.ts", import.meta.url));

/** The targets of issue 7, on the benchmark machine. */
export const TARGETS = {
  compile10kMs: 2000,
  compile10kPeakMb: 600,
  ratio50kTo10k: 5.5,
  plan10kMs: 1000,
} as const;

interface Options {
  sizes: number[];
  runs: number;
  runsLarge: number;
  keepalived: boolean;
  /** the sizes whose compile times form the scaling ratio, sampled in pairs */
  ratio: [number, number];
  json?: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [1000, 10000, 50000], runs: 5, runsLarge: 3, keepalived: true, ratio: [10000, 50000], keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--sizes") o.sizes = next().split(",").map(Number);
    else if (a === "--runs") o.runs = Number(next());
    else if (a === "--runs-large") o.runsLarge = Number(next());
    else if (a === "--no-keepalived") o.keepalived = false;
    else if (a === "--ratio") o.ratio = next().split(":").map(Number) as [number, number];
    else if (a === "--json") o.json = next();
    else if (a === "--keep") o.keep = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function child(args: string[]): Promise<Sample> {
  const r = await run(process.execPath, ["--import", "tsx", CASE, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Sample;
}

const seconds = (ms: number) => (ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const spread = (s: Stats) => `${seconds(s.min)} – ${seconds(s.max)}`;
const mb = (x: number) => `${Math.round(x)} MB`;
const k = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

async function exec(cmd: string, args: string[], timeout = 30 * 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(cmd, args, { timeout, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? err.message };
  }
}

/**
 * `keepalived -t -e -f` on the rendered conf, `runs` times, in one throwaway namespace that
 * has the interfaces the conf names (veth pairs; deleted in `finally`).
 */
async function timeKeepalived(dir: string, interfaces: string[], runs: number): Promise<{ samples: number[]; code: number; stderr: string }> {
  const ns = `ipvs-bench-${process.pid}`;
  const file = join(dir, "keepalived.conf");
  await exec("ip", ["netns", "del", ns]); // a leftover from an interrupted run
  const add = await exec("ip", ["netns", "add", ns]);
  if (add.code !== 0) throw new Error(`ip netns add failed: ${add.stderr}`);
  try {
    for (const [i, name] of interfaces.filter((n) => n !== "lo").entries()) {
      const r = await exec("ip", ["-n", ns, "link", "add", name, "type", "veth", "peer", "name", `kbpeer${i}`]);
      if (r.code !== 0) throw new Error(`veth ${name}: ${r.stderr}`);
    }
    const samples: number[] = [];
    let code = 0, stderr = "";
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await exec("ip", ["netns", "exec", ns, "keepalived", "-t", "-e", "-f", file]);
      samples.push(performance.now() - t0);
      code = Math.max(code, r.code);
      if (r.stderr.trim() !== "") stderr = r.stderr.trim().split("\n").slice(0, 5).join("\n");
    }
    return { samples, code, stderr };
  } finally {
    await exec("ip", ["netns", "del", ns]);
  }
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function benchSize(size: number, dir: string, o: Options, keepalivedReason: string | undefined): Promise<SizeResult> {
  const runs = size >= 50000 ? o.runsLarge : o.runs;
  log(`[${k(size)}] setup`);
  const setup = await child(["setup", String(size), dir]);
  const result: SizeResult = { size, setup, compile: { yaml: [], ts: [] }, plan: [] };
  // the smaller size's inputs are in `dir` when it ran before
  const [base, large] = o.ratio;
  if (size === large && o.sizes.indexOf(base) >= 0 && o.sizes.indexOf(base) < o.sizes.indexOf(size)) result.paired = { yaml: [], ts: [] };
  // alternate the forms so a burst of machine noise hits both alike
  for (let i = 0; i < runs; i++) {
    for (const form of ["yaml", "ts"] as const) {
      if (result.paired) {
        const pair = await child(["compile", form, String(base), dir]);
        log(`[${k(size)}] compile ${form} #${i + 1}, its ${k(base)} pair: ${seconds(pair.ms)}`);
        result.paired[form].push(pair);
      }
      const s = await child(["compile", form, String(size), dir]);
      if (s["ok"] !== true) throw new Error(`${k(size)} ${form}: compile failed (${JSON.stringify(s)})`);
      log(`[${k(size)}] compile ${form} #${i + 1}: ${seconds(s.ms)}, peak ${mb(s["peakRssMb"] as number)}`);
      result.compile[form].push(s);
    }
  }
  for (let i = 0; i < runs; i++) {
    const s = await child(["plan", String(size), dir]);
    log(`[${k(size)}] plan #${i + 1}: ${seconds(s.ms)} (${String(s["operations"])} operations)`);
    result.plan.push(s);
  }
  if (o.keepalived) {
    if (keepalivedReason !== undefined) {
      result.keepalived = { skipped: keepalivedReason };
    } else {
      const files = inputFiles(dir, size);
      result.keepalived = await timeKeepalived(files.keepalivedDir, setup["interfaces"] as string[], runs);
      log(`[${k(size)}] keepalived -t: ${result.keepalived.samples.map(seconds).join(", ")} (rc ${result.keepalived.code})`);
    }
  }
  return result;
}

function report(results: SizeResult[], o: Options): string {
  const out: string[] = [];
  const compileStats = (r: SizeResult, form: "yaml" | "ts") => stats(r.compile[form].map((s) => s.ms));
  const peak = (r: SizeResult, form: "yaml" | "ts") => Math.max(...r.compile[form].map((s) => s["peakRssMb"] as number));
  const before = (r: SizeResult, form: "yaml" | "ts") => stats(r.compile[form].map((s) => s["rssBeforeMb"] as number)).median;

  out.push("### Inputs", "");
  out.push("| services | real servers | keepalived-owned services (lb1) | YAML | ipvsadm rules | keepalived.conf (lb1) | live dump | changed real servers (weight / removed / added) |");
  out.push("|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of results) {
    const s = r.setup;
    const m = s["mutation"] as { weightChanged: number; removed: number; added: number };
    out.push(`| ${k(r.size)} | ${String(s["realServers"])} | ${String(s["keepalivedServices"])} | ${(s["yamlMb"] as number).toFixed(1)} MB | ${String(s["rulesLines"])} lines | ${String(s["keepalivedConfLines"])} lines, ${(s["keepalivedConfMb"] as number).toFixed(1)} MB | ${(s["dumpMb"] as number).toFixed(1)} MB | ${m.weightChanged} / ${m.removed} / ${m.added} |`);
  }

  out.push("", "### Compile (parse, validate, normalize, render both directors)", "");
  out.push("| services | input | runs | median | min – max | CPU time (median) | peak RSS (max of runs) | RSS before compile (inputs loaded) |");
  out.push("|---:|---|---:|---:|---|---:|---:|---:|");
  for (const r of results) {
    for (const form of ["yaml", "ts"] as const) {
      const s = compileStats(r, form);
      const cpu = stats(r.compile[form].map((x) => x["cpuMs"] as number)).median;
      out.push(`| ${k(r.size)} | ${form === "yaml" ? "YAML text" : "TS value"} | ${s.n} | **${seconds(s.median)}** | ${spread(s)} | ${seconds(cpu)} | ${mb(peak(r, form))} | ${mb(before(r, form))} |`);
    }
  }

  out.push("", "### Plan (parse the live dump + plan director lb1; 1% of real servers changed)", "");
  out.push("| services | runs | parse dump (median) | plan (median) | total median | total min – max | CPU time (median) | operations | apply commands | peak RSS |");
  out.push("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
  for (const r of results) {
    const t = stats(r.plan.map((s) => s.ms));
    const p = stats(r.plan.map((s) => s["parseMs"] as number));
    const q = stats(r.plan.map((s) => s["planMs"] as number));
    const last = r.plan[r.plan.length - 1]!;
    const cpu = stats(r.plan.map((s) => s["cpuMs"] as number)).median;
    out.push(`| ${k(r.size)} | ${t.n} | ${seconds(p.median)} | ${seconds(q.median)} | **${seconds(t.median)}** | ${spread(t)} | ${seconds(cpu)} | ${String(last["operations"])} | ${String(last["applyCommands"])} | ${mb(Math.max(...r.plan.map((s) => s["peakRssMb"] as number)))} |`);
  }

  if (o.keepalived) {
    out.push("", "### keepalived 2.2.7 `-t -e -f` on the same keepalived.conf (lb1), side by side", "");
    out.push("| services | keepalived -t median | min – max | result | our compile, YAML (median) | keepalived -t / compile YAML | our compile, TS (median) | keepalived -t / compile TS |");
    out.push("|---:|---:|---|---|---:|---:|---:|---:|");
    for (const r of results) {
      const kr = r.keepalived;
      if (!kr) continue;
      if ("skipped" in kr) {
        out.push(`| ${k(r.size)} | skipped: ${kr.skipped} | | | | | | |`);
        continue;
      }
      const s = stats(kr.samples);
      const y = compileStats(r, "yaml").median, t = compileStats(r, "ts").median;
      const verdict = kr.code === 0 && kr.stderr === "" ? "clean (rc 0)" : `rc ${kr.code}: ${kr.stderr.split("\n")[0] ?? ""}`;
      out.push(`| ${k(r.size)} | ${seconds(s.median)} | ${spread(s)} | ${verdict} | ${seconds(y)} | ${(s.median / y).toFixed(2)} | ${seconds(t)} | ${(s.median / t).toFixed(2)} |`);
    }
  }

  const [baseSize, largeSize] = o.ratio;
  const small = results.find((r) => r.size === baseSize);
  const large = results.find((r) => r.size === largeSize);
  if (small && large?.paired) {
    const paired = large.paired;
    out.push("", `### Scaling (${k(largeSize)}/${k(baseSize)} compile time; each ${k(largeSize)} sample right after a ${k(baseSize)} one)`, "");
    out.push(`| input | pairs (${k(baseSize)} → ${k(largeSize)}) | median of the pairs' ratios | ratio of the medians |`);
    out.push("|---|---|---:|---:|");
    for (const form of ["yaml", "ts"] as const) {
      const r = scalingRatio(small, large, form);
      const pairs = large.compile[form].map((s, i) => `${seconds(paired[form][i]!.ms)} → ${seconds(s.ms)}`).join(", ");
      out.push(`| ${form === "yaml" ? "YAML text" : "TS value"} | ${pairs} | ${r.paired?.toFixed(2) ?? "-"} | ${r.ofMedians.toFixed(2)} |`);
    }
  }

  const r10 = results.find((r) => r.size === 10000);
  const r50 = results.find((r) => r.size === 50000);
  if (r10) {
    out.push("", "### Targets", "");
    out.push("| target | measured | met |", "|---|---|---|");
    const yes = (b: boolean) => (b ? "yes" : "**no**");
    for (const form of ["yaml", "ts"] as const) {
      const m = compileStats(r10, form).median;
      out.push(`| 10k compile (${form === "yaml" ? "YAML" : "TS value"}) median <= ${TARGETS.compile10kMs / 1000} s | ${seconds(m)} | ${yes(m <= TARGETS.compile10kMs)} |`);
      const p = peak(r10, form);
      out.push(`| 10k compile (${form === "yaml" ? "YAML" : "TS value"}) peak RSS <= ${TARGETS.compile10kPeakMb} MB | ${mb(p)} | ${yes(p <= TARGETS.compile10kPeakMb)} |`);
      if (r50) {
        const ratio = scalingRatio(r10, r50, form);
        const paired = ratio.paired === undefined ? "" : `${ratio.paired.toFixed(2)} (median of ${r50.compile[form].length} paired samples; ratio of the medians ${ratio.ofMedians.toFixed(2)})`;
        const measured = ratio.paired ?? ratio.ofMedians;
        out.push(`| 50k/10k compile time ratio (${form === "yaml" ? "YAML" : "TS value"}) <= ${TARGETS.ratio50kTo10k} | ${paired || ratio.ofMedians.toFixed(2)} | ${yes(measured <= TARGETS.ratio50kTo10k)} |`);
      }
    }
    const plan = stats(r10.plan.map((s) => s.ms)).median;
    out.push(`| 10k plan (1% changed) median <= ${TARGETS.plan10kMs / 1000} s | ${seconds(plan)} | ${yes(plan <= TARGETS.plan10kMs)} |`);
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "ipvs-bench-"));
  const started = new Date();
  const loadStart = loadavg();
  const keepalivedReason = o.keepalived ? await keepalivedUnavailableReason() : undefined;
  const results: SizeResult[] = [];
  try {
    for (const size of o.sizes) results.push(await benchSize(size, dir, o, keepalivedReason));
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else log(`inputs kept in ${dir}`);
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? "?"}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, node ${process.version}, ${started.toISOString()}; load average (1/5/15 min) at start ${load(loadStart)}, at end ${load(loadavg())}`;
  process.stdout.write(`Machine: ${machine}\n\n${report(results, o)}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ machine, options: o, results }, null, 2));
}

await main();
