#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner (TypeScript through tsx):
// first everything but the lab, then the lab (test/lab/, real kernels under QEMU), and
// prints how long each part took. Lab tests decide for themselves whether the lab is
// available (IPVS_LAB=required makes an unavailable lab fail them).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function collect(dir) {
  const out = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (entry.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

function run(files) {
  if (files.length === 0) return { status: 0, seconds: 0 };
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
    { stdio: "inherit" },
  );
  return { status: result.status ?? 1, seconds: (Date.now() - started) / 1000 };
}

const filter = process.argv.slice(2);
let files = collect("test");
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
const isLab = (f) => f.startsWith(join("test", "lab"));
const core = run(files.filter((f) => !isLab(f)));
const lab = run(files.filter(isLab));
console.log(`test files: ${files.length}; core suite ${core.seconds.toFixed(1)} s, lab suite ${lab.seconds.toFixed(1)} s`);
process.exit(core.status !== 0 ? core.status : lab.status);
