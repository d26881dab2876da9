/**
 * The figures `npm run bench` reports, as pure functions of its samples (bench/run.ts
 * takes the samples; test/unit/bench-stats.test.ts checks these).
 */

/** One sample: the JSON line a bench/case.ts child prints. */
export type Sample = Record<string, unknown> & { ms: number };

/** The samples of one size. */
export interface SizeResult {
  size: number;
  setup: Record<string, unknown>;
  compile: Record<"yaml" | "ts", Sample[]>;
  /** the larger size of the scaling pair: a sample of the smaller size taken right before each compile sample, same form */
  paired?: Record<"yaml" | "ts", Sample[]>;
  plan: Sample[];
  keepalived?: { samples: number[]; code: number; stderr: string } | { skipped: string };
}

/** Median, min and max of some numbers. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median (mean of the middle two for even counts), min and max. */
export function stats(values: readonly number[]): Stats {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/**
 * The large/small compile time ratio: the median of the paired samples' ratios when the
 * large size has one pair per sample, and always the ratio of the two sizes' medians.
 */
export function scalingRatio(small: SizeResult, large: SizeResult, form: "yaml" | "ts"): { paired?: number; ofMedians: number } {
  const ofMedians = stats(large.compile[form].map((s) => s.ms)).median / stats(small.compile[form].map((s) => s.ms)).median;
  const base = large.paired?.[form];
  if (!base || base.length !== large.compile[form].length || base.length === 0) return { ofMedians };
  return { paired: stats(large.compile[form].map((s, i) => s.ms / base[i]!.ms)).median, ofMedians };
}
