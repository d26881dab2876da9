/**
 * `npm run bench` itself: the figures it derives from its samples, and a run at small sizes
 * that prints every table (compile, plan, keepalived side by side when it can run here,
 * the paired scaling ratio).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { scalingRatio, stats, type Sample, type SizeResult } from "../../bench/bench-stats.js";
import { keepalivedUnavailableReason } from "../support/keepalived-check.js";

const run = promisify(execFile);

const samples = (...ms: number[]): Sample[] => ms.map((x) => ({ ms: x }));

function sizeResult(size: number, yaml: number[], paired?: number[]): SizeResult {
  const r: SizeResult = { size, setup: {}, compile: { yaml: samples(...yaml), ts: samples(...yaml) }, plan: [] };
  if (paired) r.paired = { yaml: samples(...paired), ts: samples(...paired) };
  return r;
}

describe("bench statistics", () => {
  test("median (odd and even counts), min and max", () => {
    assert.deepEqual(stats([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
    assert.deepEqual(stats([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  });

  test("the scaling ratio: the median of the pairs' ratios, and the ratio of the medians beside it", () => {
    // the host slowed down between the small size's samples and the large size's
    const small = sizeResult(10000, [1000, 1000, 1000]);
    const large = sizeResult(50000, [6000, 6600, 7200], [1500, 1500, 1600]);
    const r = scalingRatio(small, large, "yaml");
    assert.equal(r.ofMedians, 6.6);
    assert.equal(r.paired, 4.4); // 4.0, 4.4, 4.5
  });

  test("without one pair per sample there is only the ratio of the medians", () => {
    const small = sizeResult(10000, [1000]);
    assert.deepEqual(scalingRatio(small, sizeResult(50000, [5000]), "ts"), { ofMedians: 5 });
    assert.deepEqual(scalingRatio(small, sizeResult(50000, [5000, 5200], [1000]), "ts"), { ofMedians: 5.1 });
  });
});

describe("npm run bench at small sizes", () => {
  test("prints the compile, plan, keepalived and scaling tables", { timeout: 300_000 }, async () => {
    const keepalivedReason = await keepalivedUnavailableReason();
    const args = ["--import", "tsx", "bench/run.ts", "--sizes", "40,120", "--runs", "1", "--runs-large", "1", "--ratio", "40:120"];
    if (keepalivedReason !== undefined) args.push("--no-keepalived");
    const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
    assert.match(stdout, /^Machine: \d+ CPUs/m);
    for (const size of ["40", "120"]) {
      assert.match(stdout, new RegExp(`^\\| ${size} \\| YAML text \\| 1 \\| \\*\\*[\\d.]+ m?s\\*\\* \\| [\\d.]+ m?s – [\\d.]+ m?s \\| [\\d.]+ m?s \\| \\d+ MB \\|`, "m"));
      assert.match(stdout, new RegExp(`^\\| ${size} \\| TS value \\| 1 \\|`, "m"));
      assert.match(stdout, new RegExp(`^\\| ${size} \\| 1 \\| [\\d.]+ m?s \\| [\\d.]+ m?s \\| \\*\\*[\\d.]+ m?s\\*\\*`, "m"), "a plan row");
      if (keepalivedReason === undefined) assert.match(stdout, new RegExp(`^\\| ${size} \\| [\\d.]+ m?s \\| .* \\| clean \\(rc 0\\) \\|`, "m"), "keepalived -t on the same config");
    }
    assert.match(stdout, /^### Scaling \(120\/40 compile time; each 120 sample right after a 40 one\)$/m);
    assert.match(stdout, /^\| YAML text \| [\d.]+ m?s → [\d.]+ m?s \| \d+\.\d\d \| \d+\.\d\d \|$/m);
    assert.match(stdout, /^\| TS value \| [\d.]+ m?s → [\d.]+ m?s \| \d+\.\d\d \| \d+\.\d\d \|$/m);
  });
});
