/**
 * One benchmark case, run by bench/run.ts in a fresh `node --import tsx` child so that
 * every sample starts cold and its peak RSS belongs to it alone. Prints one JSON line.
 *
 *   case.ts setup SIZE DIR          writes DIR/spec-SIZE.yaml, desired-SIZE.json, live-SIZE.dump,
 *                                   keepalived-SIZE/keepalived.conf
 *   case.ts compile yaml|ts SIZE DIR  times compileText() on the YAML file, or compile() on the value
 *   case.ts plan SIZE DIR           times parseLiveState() + planDirector() for director lb1
 *
 * Only the call being measured is inside the timer: generating, reading and writing inputs
 * are not.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, compileText, type CompileOutput } from "../src/compile.js";
import { planDirector, type DesiredDirector } from "../src/plan/compute-plan.js";
import { renderKeepalivedConf } from "../src/render/render-keepalived-conf.js";
import { parseLiveState } from "../src/state/parse-live-state.js";
import { withConfigDir } from "../test/support/keepalived-check.js";
import { generateSpec, previousSpec, realServerCount, renderLiveDump, specToYaml } from "./generate.js";

/** The director the plan and keepalived benchmarks look at, and the owner name of its record. */
export const BENCH_DIRECTOR = "lb1";
export const BENCH_OWNER = "bench";

const MB = 1024 * 1024;

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

/** CPU time (user + system, all threads: GC helpers included) since `start`, in ms. */
function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function mustCompile(value: unknown, what: string): CompileOutput {
  const r = compile(value);
  if (!r.ok) throw new Error(`${what} does not compile: ${JSON.stringify(r.issues.slice(0, 3))}`);
  return r.output;
}

/** Input file names of one size. */
export function inputFiles(dir: string, size: number) {
  return {
    yaml: join(dir, `spec-${size}.yaml`),
    desired: join(dir, `desired-${size}.json`),
    dump: join(dir, `live-${size}.dump`),
    keepalivedDir: join(dir, `keepalived-${size}`),
  };
}

function setup(size: number, dir: string): Record<string, unknown> {
  const files = inputFiles(dir, size);
  const spec = generateSpec({ services: size });
  const yaml = specToYaml(spec);
  writeFileSync(files.yaml, yaml);
  const desired = mustCompile(spec, "the generated spec");
  const director = desired.model.directors.find((d) => d.name === BENCH_DIRECTOR)!;
  const artifacts = desired.directors.find((d) => d.name === BENCH_DIRECTOR)!;
  // with the director's rules text, as rollout reads and plans a director with it
  const forPlan: DesiredDirector = { model: director, keepalivedConf: artifacts.keepalivedConf, ipvsadmRules: artifacts.ipvsadmRules };
  writeFileSync(files.desired, JSON.stringify(forPlan));
  const previous = previousSpec(spec);
  const dump = renderLiveDump(mustCompile(previous.spec, "the previous spec"), BENCH_DIRECTOR, BENCH_OWNER);
  writeFileSync(files.dump, dump);
  // keepalived -t reads includes relative to configDir: point it at the check directory
  mkdirSync(files.keepalivedDir, { recursive: true });
  const conf = renderKeepalivedConf(withConfigDir(desired.model, files.keepalivedDir), director);
  writeFileSync(join(files.keepalivedDir, "keepalived.conf"), conf);
  return {
    services: size,
    realServers: realServerCount(spec),
    keepalivedServices: director.services.filter((s) => s.owner === "keepalived").length,
    yamlMb: Buffer.byteLength(yaml) / MB,
    rulesLines: desired.ipvsadmRules.split("\n").length - 1,
    keepalivedConfLines: conf.split("\n").length - 1,
    keepalivedConfMb: Buffer.byteLength(conf) / MB,
    dumpMb: Buffer.byteLength(dump) / MB,
    mutation: previous.summary,
    interfaces: [...new Set([...director.interfaces, ...director.vrrpInstances.map((i) => i.interface)])].sort(),
  };
}

function timeCompile(form: string, size: number, dir: string): Record<string, unknown> {
  const files = inputFiles(dir, size);
  const text = form === "yaml" ? readFileSync(files.yaml, "utf8") : "";
  const value = form === "ts" ? generateSpec({ services: size }) : undefined;
  const rssBeforeMb = process.memoryUsage().rss / MB;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = form === "yaml" ? compileText(text, files.yaml) : compile(value);
  const ms = performance.now() - t0;
  return { ms, cpuMs: cpuMs(cpu0), ok: r.ok, issues: r.issues.length, rssBeforeMb, peakRssMb: peakRssMb() };
}

function timePlan(size: number, dir: string): Record<string, unknown> {
  const files = inputFiles(dir, size);
  const desired = JSON.parse(readFileSync(files.desired, "utf8")) as DesiredDirector & { ipvsadmRules: string };
  // compile's model holds one object per service, in both lists; JSON made two copies
  desired.model.table = { services: desired.model.services.map((s) => s.ipvs) };
  const dump = readFileSync(files.dump, "utf8");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const live = parseLiveState(BENCH_DIRECTOR, dump, { expected: { table: desired.model.table, rules: desired.ipvsadmRules } });
  const t1 = performance.now();
  const plan = planDirector(desired, live, { owner: BENCH_OWNER });
  const t2 = performance.now();
  return {
    parseMs: t1 - t0,
    planMs: t2 - t1,
    ms: t2 - t0,
    cpuMs: cpuMs(cpu0),
    liveIssues: live.issues.length,
    operations: plan.operations.length,
    applyCommands: plan.batches.apply.length,
    keepalivedAction: plan.keepalived.action,
    diffLines: plan.keepalived.diff.split("\n").length,
    peakRssMb: peakRssMb(),
  };
}

function main(argv: string[]): void {
  const [cmd, ...args] = argv;
  let out: Record<string, unknown>;
  if (cmd === "setup") out = setup(Number(args[0]), args[1]!);
  else if (cmd === "compile") out = timeCompile(args[0]!, Number(args[1]), args[2]!);
  else if (cmd === "plan") out = timePlan(Number(args[0]), args[1]!);
  else throw new Error(`usage: case.ts setup|compile|plan ...`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
