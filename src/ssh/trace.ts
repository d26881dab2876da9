/**
 * Step timing of a rollout, for profiling (issue #7): off unless IPVSC_TRACE=1. The host side
 * stamps its steps with Date.now(); the director's scripts, run with IPVSC_TRACE=1 in front
 * of them, stamp theirs with /proc/uptime and hand them back on stderr as
 * `ipvsc-trace <uptime> <step>` lines. Both kinds go to one sink (stderr unless a caller,
 * such as bench/lab-apply.ts, sets another).
 */

/** One trace line: where it was stamped, when (ms on that clock), what. */
export interface TraceEvent {
  clock: "host" | "guest";
  ms: number;
  step: string;
}

let sink: (e: TraceEvent) => void = (e) => {
  process.stderr.write(`ipvsc-trace ${e.clock} ${e.ms} ${e.step}\n`);
};

/** Whether rollouts are traced (IPVSC_TRACE=1 in this process's environment). */
export function tracing(): boolean {
  return process.env.IPVSC_TRACE === "1";
}

/** Sends trace events somewhere else than stderr (a benchmark collecting a profile). */
export function setTraceSink(fn: (e: TraceEvent) => void): void {
  sink = fn;
}

/** Stamps a host-side step. */
export function traceHost(step: string): void {
  if (tracing()) sink({ clock: "host", ms: Date.now(), step });
}

/** Forwards the director's `ipvsc-trace <uptime> <step>` lines found in `text`; returns the other lines. */
export function traceGuest(text: string, director: string): string {
  if (!text.includes("ipvsc-trace ")) return text;
  const rest: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^ipvsc-trace (\d+(?:\.\d+)?) (.*)$/.exec(line);
    if (m && tracing()) sink({ clock: "guest", ms: Math.round(Number(m[1]) * 1000), step: `${director}: ${m[2]}` });
    else if (!m) rest.push(line);
  }
  return rest.join("\n");
}

/** `command` with IPVSC_TRACE=1 exported first when tracing, so the director's scripts stamp their steps. */
export function tracedCommand(command: string): string {
  return tracing() ? `export IPVSC_TRACE=1; ${command}` : command;
}
