/**
 * Where the time goes: CPU time of each stage of compile and plan, in one cold process,
 * for one size. CPU time (user + system of all threads, so garbage collection counts)
 * rather than wall time, because the benchmark machine is shared and noisy; this is the
 * profile that BENCHMARKS.md's before/after rows come from.
 *
 *   npx tsx bench/stages.ts [SIZE=10000]
 *
 * Uses only entry points that exist since the first benchmarked version, so it runs on an
 * older checkout too (copy bench/ over it).
 */
import { renderModel } from "../src/compile.js";
import { normalize } from "../src/model/normalize.js";
import { planDirector } from "../src/plan/compute-plan.js";
import { loadSpecText } from "../src/schema/load-spec-file.js";
import { parseSpec } from "../src/schema/parse-spec.js";
import { splitSections } from "../src/state/live-state.js";
import { parseIpvsadmConnections } from "../src/state/parse-ipvsadm-extras.js";
import { parseIpvsadmSave } from "../src/state/parse-ipvsadm-save.js";
import { parseIpvsadmThresholds } from "../src/state/parse-ipvsadm-thresholds.js";
import { parseLiveState } from "../src/state/parse-live-state.js";
import { validate } from "../src/validate/validate.js";
import { generateSpec, previousSpec, renderLiveDump, specToYaml } from "./generate.js";

const size = Number(process.argv[2] ?? 10000);
const rows: [string, number, number][] = [];

function stage<T>(name: string, f: () => T): T {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const out = f();
  const wall = performance.now() - t0;
  const d = process.cpuUsage(cpu);
  rows.push([name, (d.user + d.system) / 1000, wall]);
  return out;
}

function must<T extends { ok: boolean }>(r: T, what: string): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`${what} failed`);
  return r as Extract<T, { ok: true }>;
}

const spec = generateSpec({ services: size });
const yaml = specToYaml(spec);
const previous = renderModel(normalize(must(parseSpec(previousSpec(spec).spec), "previous").spec));
const dump = renderLiveDump(previous, "lb1", "bench");

stage("compile: load YAML (read + schema: ajv, and zod before the fifth pass)", () => must(loadSpecText(yaml, "bench.yaml"), "YAML"));
const parsed = stage("compile: zod parse of the TS value", () => must(parseSpec(spec), "value")).spec;
stage("compile: validate", () => validate(parsed));
const model = stage("compile: normalize", () => normalize(parsed));
const output = stage("compile: render (rules, keepalived.conf x2, sysctl)", () => renderModel(model));
const sections = stage("plan: split dump sections", () => splitSections(dump));
stage("plan: parse ipvsadm -S -n", () => parseIpvsadmSave(sections["save"] ?? ""));
stage("plan: parse --thresholds listing", () => parseIpvsadmThresholds(sections["thresholds"] ?? ""));
// a dump from before the plain listing was dropped has a `list` section; this one has not
if (sections["list"] !== undefined) stage("plan: parse -L -n listing", () => parseIpvsadmConnections(sections["list"] ?? ""));
const live = stage("plan: parseLiveState (all of the above)", () => parseLiveState("lb1", dump));
const director = output.model.directors.find((d) => d.name === "lb1")!;
const keepalivedConf = output.directors.find((d) => d.name === "lb1")!.keepalivedConf;
stage("plan: planDirector", () => planDirector({ model: director, keepalivedConf }, live, { owner: "bench" }));

process.stdout.write(`| stage (${size} services) | CPU ms | wall ms |\n|---|---:|---:|\n`);
for (const [name, cpu, wall] of rows) process.stdout.write(`| ${name} | ${cpu.toFixed(0)} | ${wall.toFixed(0)} |\n`);
process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`);
