/** plan, apply and drift over SSH: the CLI's side of src/plan and src/apply-script. */
import { createHash } from "node:crypto";
import { stageApply, type StagedApply } from "../apply-script/stage-files.js";
import type { CompileOutput } from "../compile.js";
import type { DirectorModel } from "../model/model.js";
import { isHealthOperation } from "../plan/director-view.js";
import { contestedLine, otherOwnerLine } from "../plan/format-plan.js";
import { computePlan, rolloutGroups } from "../plan/plan.js";
import type { DirectorPlan, Plan } from "../plan/plan-types.js";
import type { LiveState } from "../state/live-state.js";
import { readLiveState, runStagedApply, type ApplyOutcome } from "../ssh/director-client.js";
import { loadPrivateKey, SshSession, type SshTargetConfig } from "../ssh/ssh-session.js";
import { traceHost } from "../ssh/trace.js";
import { messageOf } from "../system-errors.js";
import { readTextFile } from "./files.js";
import { seconds, type Progress } from "./progress.js";
import { mapBounded, runGroups } from "./schedule.js";

/** How long a director may take to answer and finish the SSH handshake, unless --connect-timeout says otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 15;
/** Most directors read or rolled out at once, unless --parallel says otherwise. */
export const DEFAULT_PARALLEL = 8;
/** Failed directors after which no director starts, unless --max-failures says otherwise. */
export const DEFAULT_MAX_FAILURES = 1;

/** Connection options the CLI adds to what the spec says. */
export interface RolloutOptions {
  identity?: string;
  owner: string;
  prune: boolean;
  drainTimeoutSeconds: number;
  /** longest wait for a director to answer and finish the handshake (default DEFAULT_CONNECT_TIMEOUT_SECONDS) */
  connectTimeoutSeconds?: number;
  directors?: string[];
  /** most directors read or rolled out at once (default DEFAULT_PARALLEL); an HA group is always one at a time */
  parallel?: number;
  /** no director starts once this many have failed (default DEFAULT_MAX_FAILURES) */
  maxFailures?: number;
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

/** Reads every selected director's live state, at most `opts.parallel` at once. */
export async function readLiveStates(output: CompileOutput, opts: RolloutOptions, progress?: Progress): Promise<Map<string, LiveState>> {
  const dirs = selected(output, opts);
  await checkKeys(dirs, opts);
  progress?.expect(dirs.map((d) => d.name));
  // every director is waited for (no connection is left behind), and every failure reported, one line each
  const settled = await mapBounded(dirs, opts.parallel ?? DEFAULT_PARALLEL, async (d) => {
    traceHost(`${d.name}: connecting`);
    progress?.phase(d.name, "reading state");
    try {
      const session = await SshSession.connect(sshTargetOf(d, opts));
      traceHost(`${d.name}: connected`);
      try {
        const rules = output.directors.find((a) => a.name === d.name)?.ipvsadmRules;
        const live = await readLiveState(session, d.name, output.model.keepalived.configDir, { table: d.table, ...(rules !== undefined ? { rules } : {}) });
        const services = live.table.services.length;
        const servers = live.table.services.reduce((n, s) => n + s.realServers.length, 0);
        progress?.phase(d.name, `read ${services} service(s), ${servers} real server(s) in ${seconds(progress.elapsed(d.name))}`);
        return live;
      } finally {
        session.close();
      }
    } catch (e) {
      progress?.phase(d.name, "reading state FAILED", { end: true, ttyOnly: true });
      throw e;
    }
  });
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

/** Reports each planned director's count of changes as a progress phase. */
export function reportPlanned(plan: Plan, progress: Progress | undefined): void {
  for (const dp of plan.directors) {
    progress?.phase(dp.director, dp.empty ? "planned: no changes" : `planned: ${dp.operations.length} change(s)${dp.keepalived.action !== "none" ? `, keepalived ${dp.keepalived.action}` : ""}`, { end: true });
  }
}

/** Runs one staged apply on one director (runStagedApply over SSH; tests pass a fake). */
export type StagedApplyRunner = (target: SshTargetConfig, staged: StagedApply, onLog: (text: string) => void) => Promise<ApplyOutcome>;

/** One director's apply: how it ended and how long it took. */
export interface DirectorApplyResult {
  director: string;
  outcome: ApplyOutcome;
  ms: number;
}

/** A rollout: the directors that ran (in the plan's order) and the ones that did not start. */
export interface RolloutResult {
  results: DirectorApplyResult[];
  /** in the plan's order */
  notAttempted: string[];
  /** why directors did not start: a failure in their HA group, or --max-failures reached */
  stoppedBy: "none" | "group-failure" | "max-failures";
  /** the groups the rollout ran side by side (each in its order) */
  groups: string[][];
}

/**
 * Why an apply failed, from its log: the last `refused:` or `failed:` line the apply script
 * printed (for a failed verification, the line saying what differs), else the last line.
 */
export function failureReason(outcome: ApplyOutcome): string | undefined {
  if (outcome.code === 0) return undefined;
  const lines = outcome.log.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const said = lines.map((l) => /^ipvsc: (?:(refused|failed): (.*)|(verification failed: .*))$/.exec(l)).filter((m) => m !== null);
  const last = said.at(-1);
  if (last) {
    if (last[1] === "failed" && last[2] === "verification") {
      const detail = said.filter((m) => m[3] !== undefined).at(-1);
      if (detail) return detail[3];
    }
    return last[3] ?? `${last[1]}: ${last[2]}`;
  }
  const tail = lines.filter((l) => !/^ipvsc: result \d+:/.test(l)).at(-1);
  return tail?.replace(/^ipvsc: /, "");
}

/** The phase an apply log line starts, for the progress display. */
function phaseOf(line: string): string | undefined {
  const applying = /^ipvsc: applying (\d+) ipvsadm change/.exec(line);
  if (applying) return `applying ${applying[1]} change(s)`;
  if (/^ipvsc: (drained|drain deadline)/.test(line)) return "drained";
  const keepalived = /^ipvsc: keepalived: (\w+)/.exec(line);
  if (keepalived) return `keepalived ${keepalived[1]}`;
  if (/^ipvsc: restoring the old state/.test(line)) return "restoring the old state";
  return undefined;
}

/** What a rollout reports to, and how it reaches a director. */
export interface RolloutHooks {
  /** a director's log as it comes */
  report: (director: string, text: string) => void;
  /** a director's apply ended (after its last report) */
  end?: (director: string, outcome: ApplyOutcome) => void;
  /** runs one staged apply (default: runStagedApply over SSH) */
  run?: StagedApplyRunner;
  progress?: Progress;
}

/**
 * Rolls a plan out. Directors that share a VRRP instance or a virtual service form a group
 * (rolloutGroups): one at a time in the plan's order (backups first, the current master
 * last), and a group stops at its first failure. Independent groups roll out side by side,
 * at most `opts.parallel` directors at once. Once `opts.maxFailures` directors have failed
 * no director starts anywhere; the running ones finish and are reported. Everything the
 * plan needs is checked before any director is touched.
 */
export async function rollOut(output: CompileOutput, plan: Plan, opts: RolloutOptions, hooks: RolloutHooks): Promise<RolloutResult> {
  const { report, run = runStagedApply, progress } = hooks;
  await checkKeys(plan.directors.flatMap((dp) => output.model.directors.filter((d) => d.name === dp.director && !dp.empty)), opts);
  // every director's plan against the spec first: a mismatch stops the rollout before any change
  const jobs = new Map<string, () => Promise<ApplyOutcome>>();
  for (const dp of plan.directors) {
    const d = output.model.directors.find((x) => x.name === dp.director);
    const artifacts = output.directors.find((x) => x.name === dp.director);
    if (d === undefined || artifacts === undefined) throw new Error(`the plan names director ${dp.director}, which the spec does not declare (plan again)`);
    const sha = createHash("sha256").update(artifacts.keepalivedConf).digest("hex");
    if (sha !== dp.keepalivedConfSha256) {
      throw new Error(`the plan for ${dp.director} was made for another keepalived.conf: the spec changed since (plan again)`);
    }
    jobs.set(dp.director, async () => {
      if (dp.empty) {
        report(dp.director, "no changes\n");
        return { code: 0, state: "new", log: "" };
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
      let partial = "";
      const onLog = (text: string) => {
        report(dp.director, text);
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          const phase = phaseOf(line);
          if (phase !== undefined) progress?.phase(dp.director, phase);
        }
      };
      try {
        return await run(sshTargetOf(d, opts), staged, onLog);
      } catch (e) {
        // the apply never started on the director (no connection, no upload): nothing changed there
        const message = e instanceof Error && e.message !== "" ? e.message : messageOf(e);
        const log = `ipvsc: failed: ${message}\n`;
        report(dp.director, log);
        return { code: 10, state: "old", log };
      }
    });
  }
  const order = plan.directors.map((dp) => dp.director);
  const groups = rolloutGroups(output.model, order);
  const ms = new Map<string, number>();
  progress?.expect(order);
  traceHost("apply: start");
  const scheduled = await runGroups(
    groups,
    { parallel: opts.parallel ?? DEFAULT_PARALLEL, maxFailures: opts.maxFailures ?? DEFAULT_MAX_FAILURES },
    async (director) => {
      const started = Date.now();
      progress?.phase(director, "starting the apply");
      const outcome = await jobs.get(director)!();
      ms.set(director, Date.now() - started);
      const took = seconds(ms.get(director)!);
      hooks.end?.(director, outcome);
      if (outcome.code === 0) progress?.phase(director, `applied in ${took}`, { end: true });
      else progress?.phase(director, `FAILED in ${took} (${outcome.state.toUpperCase()} state): ${failureReason(outcome) ?? `exit ${outcome.code}`}`, { end: true });
      return outcome;
    },
    (outcome) => outcome.code !== 0,
  );
  for (const n of scheduled.notAttempted) progress?.phase(n, "not attempted", { end: true });
  const ran = new Map(scheduled.ran.map((r) => [r.director, r.result]));
  return {
    results: order.filter((n) => ran.has(n)).map((n) => ({ director: n, outcome: ran.get(n)!, ms: ms.get(n) ?? 0 })),
    notAttempted: order.filter((n) => !ran.has(n)),
    stoppedBy: scheduled.stoppedBy,
    groups,
  };
}

/**
 * Applies a plan (see rollOut): the directors that ran, in the plan's order. With one HA
 * group (a pair) that is one director at a time, stopping at the first failure.
 */
export async function applyPlan(
  output: CompileOutput,
  plan: Plan,
  opts: RolloutOptions,
  report: (director: string, text: string) => void,
  run: StagedApplyRunner = runStagedApply,
): Promise<{ director: string; outcome: ApplyOutcome }[]> {
  return (await rollOut(output, plan, opts, { report, run })).results.map(({ director, outcome }) => ({ director, outcome }));
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
    if (isHealthOperation(op)) health.push(what);
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
