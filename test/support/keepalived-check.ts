/**
 * Runs the real `keepalived -t -e` against a rendered config. keepalived refuses interface
 * names that do not exist where it runs, so each check gets a throwaway network namespace
 * with one veth per interface name; the namespace and the temp directory are removed in
 * `finally`. Needs root, `ip` (iproute2) and `keepalived` on PATH.
 *
 * Invocation: `ip netns exec NS keepalived -t -e -f FILE`. On 2.2.7 every parse error and
 * warning of `-t` goes to stderr without `-l`/`-D`, so a clean config is rc 0 AND empty
 * stderr; rc 5 = any error or warning, rc 6 = missing file (with `-e`) or script security.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { promisify } from "node:util";
import type { DirectorModel, Model } from "../../src/model/model.js";
import { renderKeepalivedConf } from "../../src/render/render-keepalived-conf.js";
import { renderVrrpAuthFiles } from "../../src/render/render-vrrp-auth.js";

const run = promisify(execFile);

export interface KeepalivedCheckResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KeepalivedCheckOptions {
  /** interface names the config mentions; each becomes a veth in the namespace */
  interfaces: string[];
  /** files the config includes; relative paths are taken from `dir`, absolute ones must lie inside it */
  extraFiles?: { path: string; content: string }[];
  /** directory to write into, made by makeKeepalivedDir() @default a fresh temp dir */
  dir?: string;
}

let counter = 0;

/** A fresh temp directory for a config and its includes. */
export async function makeKeepalivedDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "ipvs-kt-"));
}

/** `model` with keepalived.configDir replaced, so includes resolve inside `dir`. */
export function withConfigDir(model: Model, dir: string): Model {
  return { ...model, keepalived: { ...model.keepalived, configDir: dir } };
}

async function exec(cmd: string, args: string[], timeoutMs = 20_000): Promise<KeepalivedCheckResult> {
  try {
    const r = await run(cmd, args, { timeout: timeoutMs, encoding: "utf8" });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; signal?: string; stdout?: string; stderr?: string; message: string };
    if (typeof err.code === "string") return { code: -1, stdout: "", stderr: err.message }; // spawn failed, e.g. ENOENT
    const code = typeof err.code === "number" ? err.code : err.signal ? 128 + signalNumber(err.signal) : -1;
    return { code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

function signalNumber(signal: string): number {
  const table: Record<string, number> = { SIGSEGV: 11, SIGTERM: 15, SIGKILL: 9, SIGABRT: 6 };
  return table[signal] ?? 0;
}

async function mustRun(cmd: string, args: string[]): Promise<void> {
  const r = await exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}

/** Checks `conf` with `keepalived -t -e` in a throwaway namespace that has `interfaces`. */
export async function checkKeepalivedConf(conf: string, opts: KeepalivedCheckOptions): Promise<KeepalivedCheckResult> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await makeKeepalivedDir());
  const ns = `ipvs-kt-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  let nsCreated = false;
  try {
    for (const f of opts.extraFiles ?? []) {
      const path = isAbsolute(f.path) ? f.path : join(dir, f.path);
      const rel = relative(dir, path);
      if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`extra file ${f.path} lies outside ${dir}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.content, { mode: 0o600 });
    }
    const file = join(dir, "keepalived.conf");
    await writeFile(file, conf, { mode: 0o600 });
    await mustRun("ip", ["netns", "add", ns]);
    nsCreated = true;
    const names = [...new Set(opts.interfaces)].filter((n) => n !== "lo");
    for (const [i, name] of names.entries()) {
      await mustRun("ip", ["-n", ns, "link", "add", name, "type", "veth", "peer", "name", `ktpeer${i}`]);
    }
    return await exec("ip", ["netns", "exec", ns, "keepalived", "-t", "-e", "-f", file]);
  } finally {
    if (nsCreated) await exec("ip", ["netns", "del", ns]);
    if (ownDir) await rm(dir, { recursive: true, force: true });
  }
}

/** Every interface name a director's keepalived.conf can mention. */
export function interfacesOf(model: Model, director: DirectorModel): string[] {
  const names = new Set(director.interfaces);
  for (const inst of director.vrrpInstances) {
    names.add(inst.interface);
    for (const t of inst.trackInterfaces) names.add(t.name);
  }
  if (model.syncDaemon) names.add(model.syncDaemon.interface);
  return [...names].sort();
}

/** Renders `director` with configDir in a temp dir, writes the auth includes, runs the check. */
export async function checkDirector(model: Model, director: DirectorModel): Promise<KeepalivedCheckResult & { conf: string }> {
  const dir = await makeKeepalivedDir();
  try {
    const local = withConfigDir(model, dir);
    const conf = renderKeepalivedConf(local, director);
    const result = await checkKeepalivedConf(conf, {
      dir,
      interfaces: interfacesOf(model, director),
      extraFiles: renderVrrpAuthFiles(local, director),
    });
    return { ...result, conf };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why the real-binary checks cannot run here, or undefined when they can. */
export async function keepalivedUnavailableReason(): Promise<string | undefined> {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root (network namespaces need it)";
  const v = await exec("keepalived", ["-v"]);
  if (v.code !== 0) return `keepalived not runnable: ${v.stderr.trim() || `exit ${v.code}`}`;
  const ip = await exec("ip", ["netns", "list"]);
  if (ip.code !== 0) return `ip netns not usable: ${ip.stderr.trim()}`;
  return undefined;
}

/** True when `keepalived -t` checks can run (root, keepalived and ip netns available). */
export async function keepalivedAvailable(): Promise<boolean> {
  return (await keepalivedUnavailableReason()) === undefined;
}

/**
 * The `skip` option for tests that need the binary: false when it is available; a loud
 * reason otherwise. Under CI=true or IPVS_LAB=required a missing binary is a failure, not
 * a skip: throws.
 */
export async function keepalivedSkip(): Promise<string | false> {
  const reason = await keepalivedUnavailableReason();
  if (reason === undefined) return false;
  const required = process.env["CI"] === "true" || process.env["IPVS_LAB"] === "required";
  if (required) throw new Error(`keepalived -t checks are required here (CI/IPVS_LAB=required) but cannot run: ${reason}`);
  const msg = `SKIPPING keepalived -t checks: ${reason}`;
  console.warn(`\n*** ${msg} ***\n`);
  return msg;
}
