#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner (TypeScript through tsx).
// Lab tests live in test/lab/ and decide for themselves whether the lab is available.
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

const filter = process.argv.slice(2);
let files = collect("test");
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { stdio: "inherit" },
);
console.log(`test files: ${files.length}, wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
