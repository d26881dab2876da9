/**
 * Scheduling work over many directors: a bounded map (reads) and the rollout schedule
 * (applies). Pure: the work itself is injected, so tests drive it with fakes.
 */

/**
 * `fn` over every item, at most `limit` at a time, started in the items' order; every item
 * is waited for and the results come back in the items' order, whatever finished first.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** How a rollout schedule runs. */
export interface ScheduleOptions {
  /** most directors running at once (at least 1) */
  parallel: number;
  /** no director starts once this many have failed (at least 1); running ones finish */
  maxFailures: number;
}

/** What happened to each director of a schedule. */
export interface ScheduleResult<R> {
  /** the directors that ran, with their results, in the groups' order (group by group) */
  ran: { director: string; result: R }[];
  /** the directors that did not start, in the groups' order */
  notAttempted: string[];
  /** why some did not start: their group stopped at a failure, or the failure budget ran out */
  stoppedBy: "none" | "group-failure" | "max-failures";
}

/**
 * Runs groups of directors: the groups side by side, at most `parallel` directors at once;
 * within a group one director at a time in the group's order, and a group stops at its first
 * failure (the directors after it, such as a pair's master, are not touched). Once
 * `maxFailures` directors have failed no director starts, in any group; the ones running
 * finish and are reported. Free slots go to the first group (in the given order) that can
 * start a director, so the same outcomes give the same schedule. `run` must not reject;
 * `failed` says whether its result is a failure.
 */
export function runGroups<R>(
  groups: readonly (readonly string[])[],
  opts: ScheduleOptions,
  run: (director: string) => Promise<R>,
  failed: (result: R) => boolean,
): Promise<ScheduleResult<R>> {
  const parallel = Math.max(1, Math.floor(opts.parallel));
  const maxFailures = Math.max(1, Math.floor(opts.maxFailures));
  const next = groups.map(() => 0);
  const busy = groups.map(() => false);
  const stopped = groups.map(() => false);
  const results = new Map<string, R>();
  let active = 0, failures = 0;
  return new Promise((resolve) => {
    const finish = () => {
      const ran: { director: string; result: R }[] = [];
      const notAttempted: string[] = [];
      for (const g of groups) for (const d of g) {
        if (results.has(d)) ran.push({ director: d, result: results.get(d)! });
        else notAttempted.push(d);
      }
      resolve({ ran, notAttempted, stoppedBy: notAttempted.length === 0 ? "none" : failures >= maxFailures ? "max-failures" : "group-failure" });
    };
    const pump = () => {
      while (active < parallel && failures < maxFailures) {
        const g = groups.findIndex((list, i) => !busy[i] && !stopped[i] && next[i]! < list.length);
        if (g < 0) break;
        const director = groups[g]![next[g]!++]!;
        busy[g] = true;
        active++;
        void Promise.resolve()
          .then(() => run(director))
          .then((result) => {
            results.set(director, result);
            if (failed(result)) {
              failures++;
              stopped[g] = true;
            }
          }, () => {
            // a runner that rejects broke its promise: count it as a failure all the same
            failures++;
            stopped[g] = true;
          })
          .finally(() => {
            busy[g] = false;
            active--;
            pump();
          });
      }
      if (active === 0) finish();
    };
    pump();
  });
}
