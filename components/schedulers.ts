/**
 * Typed schedulers: each factory takes only the options its scheduler has, so
 * `scheduler.wrr({ port: true })` or `scheduler.sh({ fallbak: true })` does not compile.
 */
import type { SchedulerFlag, SchedulerName } from "../src/index.js";

/** A scheduler with its flags, as a service takes it. Build one with {@link scheduler}. */
export interface Scheduler {
  readonly name: SchedulerName;
  /** `-b` flags by name, in kernel bit order */
  readonly flags: readonly SchedulerFlag[];
}

/** Options of the hashing schedulers (sh, mh). */
export interface HashSchedulerOptions {
  /** pick another real server when the hashed one is unavailable (weight 0 or over its threshold) @default false */
  fallback?: boolean;
  /** hash the source port as well as the source address @default false */
  port?: boolean;
}

const simple = <N extends SchedulerName>(name: N) => (): Scheduler => ({ name, flags: [] });

function hashed(name: "sh" | "mh", opts: HashSchedulerOptions): Scheduler {
  const flags: SchedulerFlag[] = [];
  if (opts.fallback === true) flags.push(`${name}-fallback`);
  if (opts.port === true) flags.push(`${name}-port`);
  return { name, flags };
}

/** Scheduler factories, one per kernel scheduler. */
export const scheduler = {
  /** round robin */
  rr: simple("rr"),
  /** weighted round robin */
  wrr: simple("wrr"),
  /** least connections */
  lc: simple("lc"),
  /** weighted least connections (the kernel default) */
  wlc: simple("wlc"),
  /** locality-based least connections */
  lblc: simple("lblc"),
  /** locality-based least connections with replication */
  lblcr: simple("lblcr"),
  /** destination hashing */
  dh: simple("dh"),
  /** shortest expected delay */
  sed: simple("sed"),
  /** never queue */
  nq: simple("nq"),
  /** weighted failover */
  fo: simple("fo"),
  /** weighted overflow */
  ovf: simple("ovf"),
  /** power of two choices (Linux 6.2 and later) */
  twos: simple("twos"),
  /** source hashing */
  sh: (opts: HashSchedulerOptions = {}): Scheduler => hashed("sh", opts),
  /** Maglev hashing: consistent across directors, the choice for stateless HA */
  mh: (opts: HashSchedulerOptions = {}): Scheduler => hashed("mh", opts),
} as const;
