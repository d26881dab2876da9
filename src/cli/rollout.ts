/** plan, apply and drift over SSH: the CLI's side of src/plan and src/apply-script. */
import { createHash } from "node:crypto";
import { stageApply, type StagedApply } from "../apply-script/stage-files.js";
import type { CompileOutput } from "../compile.js";
import type { DirectorModel } from "../model/model.js";
import { contestedLine, otherOwnerLine } from "../plan/format-plan.js";
import { computePlan } from "../plan/plan.js";
import type { DirectorPlan, Plan } from "../plan/plan-types.js";
import type { LiveState } from "../state/live-state.js";
import { readLiveState, runStagedApply, type ApplyOutcome } from "../ssh/director-client.js";
import { loadPrivateKey, SshSession, type SshTargetConfig } from "../ssh/ssh-session.js";
import { traceHost } from "../ssh/trace.js";
import { messageOf } from "../system-errors.js";
import { readTextFile } from "./files.js";

/** How long a director may take to answer and finish the SSH handshake, unless --connect-timeout says otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 15;

/** Connection options the CLI adds to what the spec says. */
export interface RolloutOptions {
  identity?: string;
  owner: string;
  prune: boolean;
  drainTimeoutSeconds: number;
  /** longest wait for a director to answer and finish the handshake (default DEFAULT_CONNECT_TIMEOUT_SECONDS) */
  connectTimeoutSeconds?: number;
  directors?: string[];
}

export function sshTargetOf(d: DirectorModel, opts: RolloutOptions): SshTargetConfig {
  if (!d.ssh) throw new Error(`director ${d.name} has no ssh endpoint in the spec`);
  const t: SshTargetConfig = {
    name: d.name, host: d.ssh.host, port: d.ssh.port, user: d.ssh.user, hostKey: d.ssh.hostKey,
    readyTimeoutMs: Math.round((opts.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000),
  };
  const key = opts.identity ?? d.ssh.privateKeyPath;
  if (key !== undefined) t.privateKeyPath = key;
  return t;
}

/**
 * Reads and checks every private key file the directors need, before any director is
 * contacted: a missing, unreadable, invalid or passphrase-protected key stops the command
 * with one message naming the file, instead of failing one connection after another.
 */
async function checkKeys(dirs: readonly DirectorModel[], opts: RolloutOptions): Promise<void> {
  const paths = new Set<string>();
  for (const d of dirs) {
    const key = opts.identity ?? d.ssh?.privateKeyPath;
    if (key !== undefined) paths.add(key);
  }
  for (const path of paths) await loadPrivateKey(path);
}

function selected(output: CompileOutput, opts: RolloutOptions): DirectorModel[] {
  const all = output.model.directors;
  if (!opts.directors || opts.directors.length === 0) return all;
  const unknown = opts.directors.filter((n) => !all.some((d) => d.name === n));
  if (unknown.length > 0) throw new Error(`unknown director(s): ${unknown.join(", ")}`);
  return all.filter((d) => opts.directors!.includes(d.name));
}

/** Reads every selected director's live state (in parallel). */
export async function readLiveStates(output: CompileOutput, opts: RolloutOptions): Promise<Map<string, LiveState>> {
  const dirs = selected(output, opts);
  await checkKeys(dirs, opts);
  // every director is waited for (no connection is left behind), and every failure reported, one line each
  const settled = await Promise.allSettled(dirs.map(async (d) => {
    traceHost(`${d.name}: connecting`);
    const session = await SshSession.connect(sshTargetOf(d, opts));
    traceHost(`${d.name}: connected`);
    try {
      const rules = output.directors.find((a) => a.name === d.name)?.ipvsadmRules;
      return await readLiveState(session, d.name, output.model.keepalived.configDir, { table: d.table, ...(rules !== undefined ? { rules } : {}) });
    } finally {
      session.close();
    }
  }));
  const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error && r.reason.message !== "" ? r.reason.message : messageOf(r.reason)] : []));
  if (failures.length > 0) throw new Error(failures.join("\n"));
  const states = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  return new Map(states.map((s) => [s.director, s]));
}

/** Plans the spec against the live directors. */
export function planAgainst(output: CompileOutput, lives: Map<string, LiveState>, opts: RolloutOptions): Plan {
  const texts = new Map(output.directors.map((d) => [d.name, { keepalivedConf: d.keepalivedConf, ipvsadmRules: d.ipvsadmRules }]));
  traceHost("plan: start");
  const plan = computePlan(output.model, texts, lives, { owner: opts.owner, prune: opts.prune });
  traceHost("plan: computed");
  return plan;
}

/** Runs one staged apply on one director (runStagedApply over SSH; tests pass a fake). */
export type StagedApplyRunner = (target: SshTargetConfig, staged: StagedApply, onLog: (text: string) => void) => Promise<ApplyOutcome>;

/**
 * Applies a plan director by director in its order (backups first, the master last), one
 * at a time, stopping at the first failure: the directors after it are not touched.
 */
export async function applyPlan(
  output: CompileOutput,
  plan: Plan,
  opts: RolloutOptions,
  report: (director: string, text: string) => void,
  run: StagedApplyRunner = runStagedApply,
): Promise<{ director: string; outcome: ApplyOutcome }[]> {
  const results: { director: string; outcome: ApplyOutcome }[] = [];
  await checkKeys(plan.directors.flatMap((dp) => output.model.directors.filter((d) => d.name === dp.director && !dp.empty)), opts);
  traceHost("apply: start");
  for (const dp of plan.directors) {
    const d = output.model.directors.find((x) => x.name === dp.director);
    const artifacts = output.directors.find((x) => x.name === dp.director);
    if (d === undefined || artifacts === undefined) throw new Error(`the plan names director ${dp.director}, which the spec does not declare (plan again)`);
    const sha = createHash("sha256").update(artifacts.keepalivedConf).digest("hex");
    if (sha !== dp.keepalivedConfSha256) {
      throw new Error(`the plan for ${dp.director} was made for another keepalived.conf: the spec changed since (plan again)`);
    }
    if (dp.empty) {
      report(dp.director, "no changes\n");
      results.push({ director: dp.director, outcome: { code: 0, state: "new", log: "" } });
      continue;
    }
    const staged = stageApply({
      plan: dp,
      keepalivedConf: artifacts.keepalivedConf,
      secretFiles: artifacts.secretFiles,
      sysctlConf: output.sysctlConf,
      keepalivedConfigDir: output.model.keepalived.configDir,
      drainTimeoutSeconds: opts.drainTimeoutSeconds,
    });
    traceHost(`${dp.director}: staged`);
    const outcome = await run(sshTargetOf(d, opts), staged, (s) => report(dp.director, s));
    results.push({ director: dp.director, outcome });
    if (outcome.code !== 0) break;
  }
  return results;
}

/** Loads a saved JSON plan. */
export async function loadPlan(path: string): Promise<Plan> {
  const text = await readTextFile(path, path);
  let plan: Plan;
  try {
    plan = JSON.parse(text) as Plan;
  } catch {
    throw new Error(`${path} is not an ipvsc plan (not JSON)`);
  }
  if (typeof plan !== "object" || plan === null || plan.version !== 1 || !Array.isArray(plan.directors)) throw new Error(`${path} is not an ipvsc plan`);
  return plan;
}

/** What drift detection reports for one director. */
export interface DriftReport {
  director: string;
  /** differences: `ipvsc drift` exits 3 when any director has one */
  drift: string[];
  /** keepalived-owned real servers missing from the kernel: what a failed health check does */
  health: string[];
  /** what is not ours and not drift: services another owner records (drift under `strict`) */
  info: string[];
}

/** How strictly drift is judged. */
export interface DriftOptions {
  /**
   * Count everything not ours as drift: services other owners record, and services this spec
   * declares that another owner records too. Off: only differences in this owner's services
   * and services no owner records are drift.
   */
  strict?: boolean;
}

/**
 * Differences between the spec and a director that health checks do not explain. Drift is per
 * owner: the plan's operations (this owner's services) and services no owner records count;
 * services another owner records are information (two specs share the director), unless strict.
 */
export function driftOf(dp: DirectorPlan, opts: DriftOptions = {}): DriftReport {
  const drift: string[] = [], health: string[] = [], info: string[] = [];
  const notOurs = opts.strict === true ? drift : info;
  for (const op of dp.operations) {
    const what = `${op.action} ${op.service}${op.realServer ? ` ${op.realServer}` : ""}${op.changes.length ? `: ${op.changes.map((c) => `${c.field} ${c.from} -> ${c.to}`).join(", ")}` : ""}`;
    // a keepalived-owned real server missing from the kernel is what a failed check does
    if (op.owner === "keepalived" && op.action === "add-real-server") health.push(what);
    else drift.push(what);
  }
  if (dp.keepalived.configChanged) drift.push("keepalived.conf differs from the spec");
  if (dp.keepalived.action === "start") drift.push("keepalived is not running");
  for (const c of dp.contested ?? []) notOurs.push(contestedLine(c));
  for (const f of dp.foreign) {
    // a pruned one is a remove-service operation above already
    if (f.pruned) continue;
    if (f.ownedBy !== undefined) notOurs.push(otherOwnerLine(f));
    else drift.push(`foreign service ${f.serviceKey}: no owner records it`);
  }
  return { director: dp.director, drift, health, info };
}
