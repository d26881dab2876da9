/**
 * Helpers for the rollout lab tests (apply.test.ts, apply-faults.test.ts): spec builders for
 * one lab director, ipvsc run in-process with captured output, director state read back
 * (sorted `ipvsadm -S -n`, fingerprint), a reset between tests, and a continuous HTTP client
 * running inside the director's client namespace.
 *
 * Works around test/lab/lab.ts only through its public helpers (owned by another helper).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { runCli, type CliIo } from "../../../src/cli/cli.js";
import type { SpecInput } from "../../../src/schema/spec-schema.js";
import { after, before } from "node:test";
import { bootDirectors, CLIENT_NS, labStatus, REAL_SERVERS, setupLabNetwork, shq, type LabDirector } from "../lab.js";

/** The director's name in every spec these tests write. */
export const DIRECTOR_NAME = "lab1";
/** Interfaces that exist on a lab director after setupLabNetwork. */
export const LAB_INTERFACES = ["eth0", "vc0", "vr1", "vr2", "vr3"];

type ServiceInput = SpecInput["services"][number];
type HealthCheckInput = NonNullable<ServiceInput["pool"]["healthChecks"]>[number];

/** Real server i (1..3) of the lab. */
export function rsAddress(i: 1 | 2 | 3): string {
  return REAL_SERVERS[i - 1]!.v4;
}

export interface NatServiceOptions {
  name: string;
  vip: string;
  port?: number;
  protocol?: "tcp" | "udp";
  scheduler?: ServiceInput["scheduler"];
  /** lab real servers 1..3 with their weights */
  servers: { rs: 1 | 2 | 3; weight?: number; address?: string }[];
  healthChecks?: HealthCheckInput[];
  pool?: Partial<ServiceInput["pool"]>;
}

/** A NAT service on the lab's real servers. */
export function natService(o: NatServiceOptions): ServiceInput {
  const port = o.port ?? 80;
  return {
    name: o.name,
    protocol: o.protocol ?? "tcp",
    address: o.vip,
    port,
    scheduler: o.scheduler ?? "wrr",
    pool: {
      forwarding: { method: "nat" },
      servers: o.servers.map((s) => ({ address: s.address ?? rsAddress(s.rs), port, weight: s.weight ?? 1 })),
      ...(o.healthChecks ? { healthChecks: o.healthChecks } : {}),
      ...(o.pool ?? {}),
    },
  };
}

/** An HTTP health check on `/` that notices a dead server within a couple of seconds. */
export function quickHttpCheck(): HealthCheckInput {
  return { type: "http", connectTimeout: 1, retry: 1, delayBeforeRetry: 1, delayLoop: 1, urls: [{ path: "/", statusCode: [200] }] };
}

/** A spec for one lab director reached over its forwarded SSH port. */
export function labSpec(d: LabDirector, services: ServiceInput[], extra: Partial<SpecInput> & { interfaces?: string[] } = {}): SpecInput {
  const { interfaces, ...rest } = extra;
  return {
    targetKernel: "6.1",
    directors: [
      {
        name: DIRECTOR_NAME,
        interfaces: interfaces ?? LAB_INTERFACES,
        ssh: { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey, privateKeyPath: d.privateKeyPath },
      },
    ],
    services,
    ...rest,
  };
}

/** The result of one in-process ipvsc run. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** A temp directory holding spec files, and ipvsc run in it with captured output. */
export class RolloutWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), "ipvsc-lab-"));

  /** Writes `spec` as YAML; returns the file name (relative to the workspace). */
  writeSpec(name: string, spec: SpecInput): string {
    const file = `${name}.yaml`;
    writeFileSync(join(this.dir, file), stringify(spec));
    return file;
  }

  /** Runs ipvsc in-process; `onOut` sees stdout as it is written (to time a fault mid-apply). */
  async cli(argv: string[], onOut?: (text: string) => void, confirm?: CliIo["confirm"]): Promise<CliRun> {
    let out = "", err = "";
    const io: CliIo = {
      ...(confirm ? { confirm } : {}),
      out: (s) => {
        out += s;
        onOut?.(s);
      },
      err: (s) => void (err += s),
      env: {},
      cwd: this.dir,
    };
    const started = Date.now();
    const code = await runCli(argv, io);
    const ms = Date.now() - started;
    if (process.env.IPVS_LAB_VERBOSE === "1") process.stderr.write(`ipvsc ${argv.join(" ")}: exit ${code} in ${ms} ms\n`);
    return { code, out, err, ms };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sorted non-empty lines: rule sets compare as sets, ipvsadm's own order is not numeric. */
export function sortedRules(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "").sort().join("\n");
}

/** The director's table, `ipvsadm -S -n`, sorted. */
export async function liveRules(d: LabDirector): Promise<string> {
  return sortedRules(await d.run("ipvsadm -S -n"));
}

/** The table as `ipvsadm -S -n` prints it (unsorted bytes). */
export async function liveRulesBytes(d: LabDirector): Promise<string> {
  return d.run("ipvsadm -S -n");
}

/** The fingerprint the apply script checks (the read-state script staged by the first ipvsc run). */
export async function liveFingerprint(d: LabDirector): Promise<string> {
  const out = await d.run("sh /var/lib/ipvsc/read-state.sh /etc/keepalived | sed -n '/^==ipvsc:fingerprint==$/{n;p;}'");
  const fp = out.trim();
  if (!/^[0-9a-f]{64}$/.test(fp)) throw new Error(`no fingerprint in read-state output: ${out}`);
  return fp;
}

/** PID of the running keepalived (from its pid file), or undefined. */
export async function keepalivedPid(d: LabDirector): Promise<number | undefined> {
  const r = await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"");
  const n = Number(r.stdout.trim());
  return r.code === 0 && n > 0 ? n : undefined;
}

/**
 * Back to an empty director in one round trip: keepalived stopped (by its pid), table
 * cleared, ipvsc's ownership records and keepalived.conf removed; then `rules` (ipvsadm -R
 * text), when given, loaded as a starting state. Past run directories stay, as on a real
 * director.
 */
export async function resetDirector(d: LabDirector, rules?: string): Promise<void> {
  const load = rules === undefined ? [] : [`ipvsadm -R <<'EOF'\n${rules.trim()}\nEOF`];
  await d.run(
    [
      "p=$(cat /run/keepalived.pid 2>/dev/null)",
      'if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p"; i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; fi',
      "rm -f /run/keepalived.pid",
      "ipvsadm -C",
      "rm -rf /var/lib/ipvsc/owners /etc/keepalived/keepalived.conf /etc/keepalived/vrrp-auth-*",
      ...load,
    ].join("\n"),
  );
}

/** The real servers' busybox httpd daemons: "rs2-80" -> pid. */
export async function httpdDaemons(d: LabDirector): Promise<Map<string, number>> {
  // pid, parent pid and command line of every httpd; the daemon is the one whose parent is
  // not an httpd (its per-request children are)
  const out = await d.run(
    `for p in $(pidof httpd); do echo "$p $(awk '/^PPid:/ {print $2}' /proc/$p/status 2>/dev/null) $(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)"; done; true`,
  );
  const rows = out.split("\n").map((l) => /^(\d+) (\d+) httpd -p (\d+) -h \/run\/lab\/rs\/(rs\d)-\d+ $/.exec(l)).filter((m) => m !== null);
  const pids = new Set(rows.map((m) => Number(m[1])));
  const daemons = new Map<string, number>();
  for (const m of rows) if (!pids.has(Number(m[2]))) daemons.set(`${m[4]}-${m[3]}`, Number(m[1]));
  return daemons;
}

/** Stops one real server's HTTP server (by pid). */
export async function stopHttpd(d: LabDirector, ns: string, port: number): Promise<void> {
  const pid = (await httpdDaemons(d)).get(`${ns}-${port}`);
  if (pid === undefined) throw new Error(`no httpd for ${ns}:${port}`);
  await d.run(`kill ${pid}`);
}

/** Starts every lab real server's HTTP servers that are not running (as net-setup.sh does). */
export async function startMissingHttpd(d: LabDirector): Promise<void> {
  const running = await httpdDaemons(d);
  const cmds: string[] = [];
  for (const rs of REAL_SERVERS) {
    for (const port of [80, 8080]) {
      if (!running.has(`${rs.ns}-${port}`)) cmds.push(`nsenter --net=/run/netns/${rs.ns} httpd -p ${port} -h /run/lab/rs/${rs.ns}-${port}`);
    }
  }
  if (cmds.length > 0) await d.run(cmds.join("\n"));
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** What a traffic run saw, in order. */
export interface TrafficResult {
  /** "rs1".."rs3" per answered request, "FAIL" per failed one, "#label" per mark */
  events: string[];
  ok: number;
  failed: number;
  /** failure lines as labnet.pl printed them */
  failures: string[];
  /** answers (and FAILs) between two marks */
  between(from: string, to?: string): string[];
}

let trafficSeq = 0;

/**
 * A client that sends HTTP GETs back to back from the client namespace until stopped (one
 * long-running labnet.pl, a fresh connection per request; a request fails after `timeoutSec`). It runs detached inside the
 * director; marks written into its output place events (an apply) in the stream.
 */
export class Traffic {
  private constructor(
    private readonly d: LabDirector,
    private readonly base: string,
  ) {}

  static async start(d: LabDirector, target: { addr: string; port: number; timeoutSec?: number }): Promise<Traffic> {
    const base = `/tmp/traffic-${process.pid}-${++trafficSeq}`;
    const t = target.timeoutSec ?? 3;
    // $$ is the client's pid: perl (setting nice 10), nsenter and labnet.pl exec in place. Output
    // is unbuffered, one line per request. Niced: on the one emulated CPU the apply under test
    // comes first (at full priority the client took most of it and tripled the apply's time)
    const client = `echo $$ > ${base}.pid; exec perl -e "setpriority(0, 0, 10); exec @ARGV or die" nsenter --net=/run/netns/${CLIENT_NS} perl /lab/labnet.pl http 1000000 ${shq(target.addr)} ${target.port} ${t} / >> ${base}.out 2>&1`;
    await d.run(`rm -f ${base}.*; : > ${base}.out; setsid sh -c ${shq(client)} < /dev/null > /dev/null 2>&1 &`);
    const traffic = new Traffic(d, base);
    // wait for the first answers so the stream is flowing before the caller acts
    const flowing = await waitFor(async () => Number((await d.run(`grep -c '^rs' ${base}.out || true`)).trim()) >= 3, 20000, 200);
    if (!flowing) throw new Error(`traffic did not start: ${await d.run(`tail -5 ${base}.out`)}`);
    return traffic;
  }

  /** Writes `#label` into the output stream at this moment (O_APPEND: lines do not interleave). */
  async mark(label: string): Promise<void> {
    await this.d.run(`echo ${shq(`#${label}`)} >> ${this.base}.out`);
  }

  /** Stops the client (by its pid; the request in flight is not counted) and parses its output. */
  async stop(): Promise<TrafficResult> {
    const p = `$(cat ${this.base}.pid)`;
    await this.d.run(`kill ${p}; i=0; while kill -0 ${p} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`);
    const text = await this.d.run(`cat ${this.base}.out; rm -f ${this.base}.*`);
    const events: string[] = [];
    const failures: string[] = [];
    for (const line of text.split("\n")) {
      if (/^rs\d$/.test(line)) events.push(line);
      else if (line.startsWith("#")) events.push(line);
      else if (/^request \d+ failed/.test(line)) {
        events.push("FAIL");
        failures.push(line);
      }
    }
    const ok = events.filter((e) => e.startsWith("rs")).length;
    return {
      events,
      ok,
      failed: failures.length,
      failures,
      between(from: string, to?: string): string[] {
        const a = events.indexOf(`#${from}`);
        const b = to === undefined ? events.length : events.indexOf(`#${to}`);
        if (a < 0 || b < 0) throw new Error(`marks ${from}/${to ?? "end"} not in the traffic output`);
        return events.slice(a + 1, b).filter((e) => !e.startsWith("#"));
      },
    };
  }
}

/**
 * The `ipvsadm -S -n` lines of one NAT TCP service, written out independently of the
 * renderer (what the kernel must read back), sorted like sortedRules.
 */
export function natRules(vip: string, port: number, scheduler: string, servers: { address: string; weight: number }[]): string {
  const sel = `-t ${vip}:${port}`;
  return sortedRules([`-A ${sel} -s ${scheduler}`, ...servers.map((s) => `-a ${sel} -r ${s.address}:${port} -m -w ${s.weight}`)].join("\n"));
}

/** Several rule texts as one sorted set. */
export function unionRules(...texts: string[]): string {
  return sortedRules(texts.join("\n"));
}

/**
 * One lab director (with the lab network) shared by the tests of a describe block, and a
 * workspace for spec files; both are torn down after the block. `beforeClose` runs first
 * (e.g. to stop a keepalived the tests started).
 */
export function useLabDirector(opts: { bootTimeoutMs?: number; beforeClose?: (d: LabDirector) => Promise<void> } = {}): {
  director: () => LabDirector;
  ws: RolloutWorkspace;
} {
  let d: LabDirector | undefined;
  const ws = new RolloutWorkspace();
  before(async () => {
    if (!labStatus().available) return;
    const [booted] = await bootDirectors(1);
    d = booted;
    await setupLabNetwork(d!);
  }, { timeout: opts.bootTimeoutMs ?? 180_000 });
  after(async () => {
    if (d) {
      await opts.beforeClose?.(d).catch(() => undefined);
      await d.close();
    }
    ws.cleanup();
  });
  return {
    director: () => {
      if (!d) throw new Error("director not booted");
      return d;
    },
    ws,
  };
}
