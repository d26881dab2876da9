/**
 * ipvsc: the same pipeline as the Pulumi components, without Pulumi.
 * Exit codes: 0 ok, 1 invalid spec or failed operation, 2 usage error, 3 drift found.
 */
import { resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { buildFiles, compileText, type CompileOutput, type CompileResult } from "../compile.js";
import { formatIssues, type Issue } from "../issues.js";
import { formatPlanJson, formatPlanMarkdown, formatPlanText } from "../plan/format-plan.js";
import { rolloutGroups } from "../plan/plan.js";
import type { Plan } from "../plan/plan-types.js";
import { messageOf, reasonOf } from "../system-errors.js";
import { FileError, readTextFile, writeBuildOutput, writePlanFile } from "./files.js";
import { registerImportCommand } from "./import-command.js";
import { Progress, seconds as inSeconds } from "./progress.js";
import {
  DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_MAX_FAILURES, DEFAULT_PARALLEL, driftOf, failureReason, loadPlan, planAgainst, readLiveStates, reportPlanned,
  rollOut, type RolloutOptions, type StagedApplyRunner,
} from "./rollout.js";

/** Where the CLI writes and what it may read: injected so tests run it in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** asks the operator a yes/no question; absent when nobody can answer (no terminal) */
  confirm?: (question: string) => Promise<boolean>;
  /**
   * `err` is a terminal: progress is a status row per director redrawn in place; otherwise
   * (CI logs, tests) one plain `[director] phase` line per phase
   */
  isTTY?: boolean;
  /** the terminal's height, when `isTTY`: more directors than fit get a compact status */
  rows?: number;
  /** runs one staged apply (tests pass a fake director; default: over SSH) */
  runApply?: StagedApplyRunner;
}

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_DRIFT = 3;

/** Reads and compiles a spec file; prints issues; returns the result. */
export async function compileFile(path: string, io: CliIo): Promise<CompileResult | undefined> {
  let text: string;
  try {
    text = await readTextFile(resolve(io.cwd, path), path);
  } catch (e) {
    io.err(`ipvsc: ${e instanceof FileError ? e.message : `cannot read ${path}: ${reasonOf(e)}`}\n`);
    return undefined;
  }
  const result = compileText(text, path);
  printIssues(result.issues, io);
  return result;
}

function printIssues(issues: readonly Issue[], io: CliIo): void {
  if (issues.length > 0) io.err(`${formatIssues(issues)}\n`);
}

/** One line about what a spec declares. */
export function summarize(output: CompileOutput): string {
  const services = output.model.services;
  const keepalived = services.filter((s) => s.owner === "keepalived").length;
  const servers = services.reduce((n, s) => n + s.ipvs.realServers.length, 0);
  const instances = new Set(output.model.directors.flatMap((d) => d.vrrpInstances.map((i) => i.name))).size;
  return (
    `${services.length} service${services.length === 1 ? "" : "s"} ` +
    `(${services.length - keepalived} applier-owned, ${keepalived} keepalived-owned), ` +
    `${servers} real server${servers === 1 ? "" : "s"}, ` +
    `${output.model.directors.length} director${output.model.directors.length === 1 ? "" : "s"}` +
    (instances > 0 ? `, ${instances} VRRP instance${instances === 1 ? "" : "s"}` : "")
  );
}

function errorCount(issues: readonly Issue[]): string {
  const errors = issues.filter((i) => i.severity === "error").length;
  const warnings = issues.length - errors;
  return `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
}

/** A command-line number of seconds, at least `min` (and at most `max`); a usage error otherwise. */
function seconds(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+(?:\.\d+)?\s*$/.test(value) || !(n >= min && n <= max) || (min > 0 && n === 0)) {
      throw new InvalidArgumentError(min > 0 ? `a number of seconds above 0 (at most ${max}) is expected` : "a number of seconds is expected");
    }
    return n;
  };
}

/** A whole number, at least 1: a usage error otherwise. */
function atLeastOne(value: string): number {
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError("a whole number of at least 1 is expected");
  return Number(value);
}

/**
 * The directors' logs on stdout, one `[director] ` prefix per complete line, so lines of
 * directors running at once never mix mid-line. `live`: each line as it comes; otherwise
 * each director's lines as one block when it ends (`end`).
 */
function directorLogs(write: (text: string) => void, live: boolean): { report: (director: string, text: string) => void; end: (director: string) => void } {
  const pending = new Map<string, string>();
  const blocks = new Map<string, string>();
  return {
    report: (director, text) => {
      const lines = ((pending.get(director) ?? "") + text).split("\n");
      pending.set(director, lines.pop() ?? "");
      const out = lines.map((line) => `[${director}] ${line}\n`).join("");
      if (out === "") return;
      if (live) write(out);
      else blocks.set(director, (blocks.get(director) ?? "") + out);
    },
    end: (director) => {
      const rest = pending.get(director);
      pending.delete(director);
      const out = (blocks.get(director) ?? "") + (rest ? `[${director}] ${rest}\n` : "");
      blocks.delete(director);
      if (out !== "") write(out);
    },
  };
}

/** How many groups of directors (rolloutGroups) the plan may roll out side by side. */
function rolloutGroupCount(output: CompileOutput, plan: Plan): number {
  return rolloutGroups(output.model, plan.directors.filter((d) => !d.empty).map((d) => d.director)).length;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = new Command("ipvsc")
    .description("Compile, plan and roll out Linux IPVS load balancers (ipvsadm + keepalived)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command("validate")
    .description("check a spec (YAML or JSON) and print every problem")
    .argument("<spec>", "spec file")
    .action(async (spec: string) => {
      const result = await compileFile(spec, io);
      if (!result) return void (code = EXIT_INVALID);
      if (!result.ok) {
        io.err(`${spec}: invalid (${errorCount(result.issues)})\n`);
        return void (code = EXIT_INVALID);
      }
      io.out(`${spec}: valid: ${summarize(result.output)}\n`);
    });

  program
    .command("build")
    .description("render ipvsadm.rules, keepalived/<director>.conf, secrets and sysctl.conf")
    .argument("<spec>", "spec file")
    .requiredOption("-o, --out <dir>", "output directory")
    .action(async (spec: string, opts: { out: string }) => {
      const result = await compileFile(spec, io);
      if (!result) return void (code = EXIT_INVALID);
      if (!result.ok) {
        io.err(`${spec}: invalid (${errorCount(result.issues)}); nothing written\n`);
        return void (code = EXIT_INVALID);
      }
      const files = buildFiles(result.output);
      try {
        await writeBuildOutput(resolve(io.cwd, opts.out), opts.out, files);
      } catch (e) {
        io.err(`ipvsc build: ${e instanceof FileError ? e.message : `cannot write to ${opts.out}: ${reasonOf(e)}`}\n`);
        return void (code = EXIT_INVALID);
      }
      io.out(`${spec}: ${summarize(result.output)}\n`);
      io.out(`wrote ${files.length} files to ${opts.out}: ${files.map((f) => f.path).join(", ")}\n`);
    });

  const rolloutOptions = (o: { identity?: string; owner: string; prune?: boolean; drainTimeout: number; connectTimeout: number; director?: string[]; parallel: number; maxFailures?: number }): RolloutOptions => {
    const r: RolloutOptions = {
      owner: o.owner, prune: o.prune === true, drainTimeoutSeconds: o.drainTimeout, connectTimeoutSeconds: o.connectTimeout, parallel: o.parallel,
    };
    if (o.maxFailures !== undefined) r.maxFailures = o.maxFailures;
    if (o.identity !== undefined) r.identity = resolve(io.cwd, o.identity);
    if (o.director !== undefined) r.directors = o.director;
    return r;
  };
  const withRolloutOptions = (cmd: Command) =>
    cmd
      .option("-d, --director <name...>", "only these directors")
      .option("-i, --identity <file>", "SSH private key file (default: the spec's privateKeyPath, then the agent)")
      .option("--owner <name>", "owner name recorded on the directors (two specs may share a director)", "ipvsc")
      .option("--prune", "also remove foreign services nobody owns")
      .option("--drain-timeout <seconds>", "longest wait for drained real servers", seconds(0), 300)
      .option("--connect-timeout <seconds>", "longest wait for a director to answer and finish the SSH handshake", seconds(1e-3, 86_400), DEFAULT_CONNECT_TIMEOUT_SECONDS)
      .option("--parallel <n>", "most directors read or rolled out at once (an HA pair is always one at a time)", atLeastOne, DEFAULT_PARALLEL);
  const progressOf = () => new Progress({ write: io.err, tty: io.isTTY === true, ...(io.rows !== undefined ? { maxRows: Math.max(3, io.rows - 2) } : {}) });
  /** reads every director (progress shown while it runs) and plans the spec against them */
  const readAndPlan = async (output: CompileOutput, opts: RolloutOptions): Promise<Plan> => {
    const progress = progressOf();
    try {
      const plan = planAgainst(output, await readLiveStates(output, opts, progress), opts);
      reportPlanned(plan, progress);
      return plan;
    } finally {
      progress.stop();
    }
  };

  const compiled = async (spec: string) => {
    const result = await compileFile(spec, io);
    if (!result) return undefined;
    if (!result.ok) {
      io.err(`${spec}: invalid (${errorCount(result.issues)}); no director was contacted\n`);
      return undefined;
    }
    return result.output;
  };

  /** compile the spec, then run `body` against the directors; any failure is reported, never thrown */
  type RolloutFlags = Parameters<typeof rolloutOptions>[0] & Record<string, string | boolean | string[] | undefined>;
  const rolloutAction = (name: string, body: (output: CompileOutput, opts: RolloutOptions, o: RolloutFlags) => Promise<number>) =>
    async (spec: string, o: RolloutFlags): Promise<void> => {
      const output = await compiled(spec);
      if (!output) return void (code = EXIT_INVALID);
      try {
        code = await body(output, rolloutOptions(o), o);
      } catch (e) {
        // one line per failure (readLiveStates reports every director that failed)
        const message = e instanceof Error && e.message !== "" ? e.message : messageOf(e);
        for (const line of message.split("\n")) if (line.trim() !== "") io.err(`ipvsc ${name}: ${line}\n`);
        code = EXIT_INVALID;
      }
    };

  withRolloutOptions(program.command("plan"))
    .description("show what a rollout would change on each director, read from the live kernel")
    .argument("<spec>", "spec file")
    .addOption(new Option("-f, --format <format>", "text, json or markdown").choices(["text", "json", "markdown"]).default("text"))
    .option("-o, --out <file>", "also save the plan as JSON (for apply --plan)")
    .action(rolloutAction("plan", async (output, opts, o) => {
      const plan = await readAndPlan(output, opts);
      if (o.format === "json") io.out(formatPlanJson(plan));
      else if (o.format === "markdown") io.out(formatPlanMarkdown(plan));
      else io.out(formatPlanText(plan, { color: io.env.NO_COLOR === undefined && io.env.FORCE_COLOR !== undefined }));
      if (typeof o.out === "string") await writePlanFile(resolve(io.cwd, o.out), o.out, formatPlanJson(plan));
      return EXIT_OK;
    }));

  withRolloutOptions(program.command("apply"))
    .description("roll the spec out: HA pairs backups first, the master last; independent pairs side by side (--parallel); no new director after a failure")
    .argument("<spec>", "spec file")
    .option("-y, --yes", "do not ask before changing anything")
    .option("--plan <file>", "apply exactly this saved plan (refused if a director changed since)")
    .option("--max-failures <n>", "no director starts once this many have failed (the running ones finish)", atLeastOne, DEFAULT_MAX_FAILURES)
    .action(rolloutAction("apply", async (output, opts, o) => {
      const plan = typeof o.plan === "string" ? await loadPlan(resolve(io.cwd, o.plan)) : await readAndPlan(output, opts);
      io.out(formatPlanText(plan));
      if (plan.directors.every((d) => d.empty)) {
        io.out("nothing to do\n");
        return EXIT_OK;
      }
      if (!o.yes) {
        if (!io.confirm) {
          io.err("ipvsc apply: refusing to change directors without --yes (no terminal to ask; review the plan above)\n");
          return EXIT_USAGE;
        }
        if (!(await io.confirm(`apply this plan to ${plan.directors.filter((d) => !d.empty).length} director(s)?`))) {
          io.err("ipvsc apply: not confirmed; nothing was changed\n");
          return EXIT_INVALID;
        }
      }
      const progress = progressOf();
      // directors that may run at the same time print their logs as blocks; one at a time, live
      const concurrent = (opts.parallel ?? DEFAULT_PARALLEL) > 1 && rolloutGroupCount(output, plan) > 1;
      const logs = directorLogs((text) => progress.around(() => io.out(text)), !concurrent);
      let rollout;
      try {
        rollout = await rollOut(output, plan, opts, { report: logs.report, end: logs.end, progress, ...(io.runApply ? { run: io.runApply } : {}) });
      } finally {
        progress.stop();
      }
      const { results, notAttempted, groups } = rollout;
      const failed = results.filter((r) => r.outcome.code !== 0);
      // the summary: every director in rollout order, whatever finished first
      io.out("\n");
      for (const n of plan.order) {
        const r = results.find((x) => x.director === n);
        if (r !== undefined) {
          const state = `the director is in its ${r.outcome.state.toUpperCase()} state`;
          io.out(r.outcome.code === 0
            ? `${n}: applied; ${state} (${inSeconds(r.ms)})\n`
            : `${n}: FAILED; ${state}: ${failureReason(r.outcome) ?? `exit ${r.outcome.code}`} (${inSeconds(r.ms)})\n`);
        } else if (notAttempted.includes(n)) {
          const stopper = groups.find((g) => g.includes(n))?.find((d) => failed.some((x) => x.director === d));
          io.out(`${n}: not attempted; the director is in its OLD state (${stopper !== undefined ? `its HA group stopped at ${stopper}'s failure` : `no director starts after ${failed.length} failure(s), --max-failures ${opts.maxFailures ?? DEFAULT_MAX_FAILURES}`})\n`);
        }
      }
      io.out(`summary: ${results.length - failed.length} applied, ${failed.length} FAILED, ${notAttempted.length} not attempted, of ${plan.order.length} director(s)\n`);
      return failed.length > 0 ? EXIT_INVALID : EXIT_OK;
    }));

  withRolloutOptions(program.command("drift"))
    .description("compare the live directors with this owner's spec; exit 3 when they differ (services other owners record are information)")
    .argument("<spec>", "spec file")
    .option("--strict", "count everything not ours as drift too: services other owners record, and ours that another owner records as well")
    .action(rolloutAction("drift", async (output, opts, o) => {
      const plan = await readAndPlan(output, opts);
      let drifted = false;
      for (const dp of plan.directors) {
        const r = driftOf(dp, { strict: o.strict === true });
        if (r.drift.length > 0) drifted = true;
        io.out(`${dp.director}: ${r.drift.length === 0 ? "in sync" : `${r.drift.length} difference(s)`}\n`);
        for (const line of r.drift) io.out(`  drift: ${line}\n`);
        for (const line of r.health) io.out(`  health: ${line}\n`);
        for (const line of r.info) io.out(`  info: ${line}\n`);
      }
      return drifted ? EXIT_DRIFT : EXIT_OK;
    }));

  registerImportCommand(program, io, (c) => void (code = c));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0) return EXIT_OK;
      return EXIT_USAGE;
    }
    // a failure no command reported itself: still one line, never a stack trace
    io.err(`ipvsc: ${e instanceof FileError ? e.message : messageOf(e)}\n`);
    return EXIT_INVALID;
  }
  return code;
}
